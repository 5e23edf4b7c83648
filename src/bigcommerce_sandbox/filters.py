"""From a request's query string to a Query, as the resource's registry entry says: filters, dates, sort.

Also the refusals ``--strict`` adds before a list reads its parameters: percent-encoded date values
where BigCommerce refuses them, and parameters a list does not support where its spec says that is a 400.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote

import orjson
from aiohttp import web

from bigcommerce_sandbox.bodies import ERROR_TYPE, v3_error
from bigcommerce_sandbox.query import (
    ParamError,
    lower_bound,
    parse_direction,
    parse_instant,
    parse_int,
    parse_int_list,
    parse_sort_v2,
    upper_bound,
    with_time_of_day,
)
from bigcommerce_sandbox.registry import Filter, Resource
from bigcommerce_sandbox.selection import Query
from bigcommerce_sandbox.strict import Strictness


def params_of(request: web.Request) -> dict[str, str]:
    return dict(request.query.items())


def parse_bool(name: str, raw: str) -> bool:
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise ParamError(f'Query parameter "{name}" must be true or false. For input string: "{raw}".')


def str_set(raw: str) -> frozenset[str]:
    return frozenset(p.strip() for p in raw.split(",") if p.strip())


def _value(flt: Filter, raw: str) -> Any:
    if flt.kind == "int":
        return parse_int(flt.param, raw)
    if flt.kind == "ints":
        return parse_int_list(flt.param, raw)
    if flt.kind == "bool":
        return parse_bool(flt.param, raw)
    if flt.kind == "strs":
        return str_set(raw)
    return raw


@dataclass
class QueryBuilder:
    """Accumulates a Query from a list's parameters."""

    id_min: int | None = None
    id_max: int | None = None
    id_in: frozenset[int] | None = None
    id_not_in: frozenset[int] = frozenset()
    modified_min: int | None = None
    modified_max: int | None = None
    created_min: int | None = None
    created_max: int | None = None
    where: list[tuple[str, str, Any]] = field(default_factory=list)

    def lower_id(self, value: int) -> None:
        self.id_min = value if self.id_min is None else max(self.id_min, value)

    def upper_id(self, value: int) -> None:
        self.id_max = value if self.id_max is None else min(self.id_max, value)

    def add(self, flt: Filter, raw: str) -> None:
        value = _value(flt, raw)
        op = flt.op
        if op == "id_eq":
            self.lower_id(value)
            self.upper_id(value)
        elif op == "id_in":
            self.id_in = value if self.id_in is None else self.id_in & value
        elif op == "id_not_in":
            self.id_not_in = self.id_not_in | value
        elif op in ("id_min", "id_greater"):
            self.lower_id(value + (op == "id_greater"))
        elif op in ("id_max", "id_less"):
            self.upper_id(value - (op == "id_less"))
        else:
            self.where.append((flt.field, op, value))

    def query(self, sort: str = "id", desc: bool = False) -> Query:
        return Query(
            id_min=self.id_min,
            id_max=self.id_max,
            id_in=self.id_in,
            id_not_in=self.id_not_in,
            modified_min=self.modified_min,
            modified_max=self.modified_max,
            created_min=self.created_min,
            created_max=self.created_max,
            where=tuple(self.where),
            sort=sort,
            desc=desc,
        )


def build_query(entry: Resource, params: dict[str, str], *, now: float, hide_archived: bool = False) -> Query:
    """The Query a list request asks for; raises ParamError for a value BigCommerce would refuse."""
    f = QueryBuilder()
    for flt in entry.filters:
        if flt.param in params:
            f.add(flt, params[flt.param])
    if entry.dates:
        _v3_dates(params, f, entry.dates, quirk_now=now if entry.date_quirk else None)
    if entry.v2_dates:
        _v2_dates(params, f)
    sort, desc = _sort(entry, params)
    query = f.query(sort, desc)
    if entry.deletes == "archive":
        # Not in reference/orders.v2.oas2.yml, yet the way to list archived orders where they are hidden
        # (bigcommerce/docs PR #360 notes the parameter as missing from the docs); a filter either way.
        archived: bool | None = False if hide_archived else None
        if "is_deleted" in params:
            archived = parse_bool("is_deleted", params["is_deleted"])
        query = replace(query, archived=archived)
    return query


def _sort(entry: Resource, params: dict[str, str]) -> tuple[str, bool]:
    """The sort field (``id`` by default) and whether it descends, in the list's own syntax."""
    if not entry.sorts or ("sort" not in params and entry.sort_style != "direction"):
        return "id", False
    if entry.sort_style == "v2":
        return parse_sort_v2(params["sort"], entry.sorts)
    if entry.sort_style == "colon":
        name, _, direction = params["sort"].partition(":")
        if name not in entry.sorts or direction not in ("asc", "desc"):
            raise ParamError(
                f'Query parameter "sort" value is invalid. For input string: "{params["sort"]}".'
            )
        return name, direction == "desc"
    sort = params.get("sort", "id")
    if sort not in entry.sorts:
        raise ParamError(f'Query parameter "sort" value is invalid. For input string: "{sort}".')
    return sort, parse_direction(params.get("direction"))


def _v3_dates(
    params: dict[str, str], f: QueryBuilder, names: tuple[str, ...], *, quirk_now: float | None
) -> None:
    """``date_modified[:min|:max]`` and ``date_created[...]``, inclusive; a date alone is a whole day."""
    for name in names:
        lo_hi: list[int | None] = [None, None]
        if name in params:
            inst = parse_instant(name, params[name])
            lo_hi = [lower_bound(inst), upper_bound(inst) + (86399 if inst.date_only else 0)]
        for suffix, slot in ((":min", 0), (":max", 1)):
            key = name + suffix
            if key in params:
                inst = parse_instant(key, params[key])
                if quirk_now is not None and name == "date_modified":
                    inst = with_time_of_day(inst, quirk_now)
                bound = lower_bound(inst) if slot == 0 else upper_bound(inst)
                current = lo_hi[slot]
                if current is None:
                    lo_hi[slot] = bound
                else:
                    lo_hi[slot] = max(current, bound) if slot == 0 else min(current, bound)
        if name == "date_modified":
            f.modified_min, f.modified_max = lo_hi
        else:
            f.created_min, f.created_max = lo_hi


def _v2_dates(params: dict[str, str], f: QueryBuilder) -> None:
    for name, attr in (
        ("min_date_modified", "modified_min"),
        ("max_date_modified", "modified_max"),
        ("min_date_created", "created_min"),
        ("max_date_created", "created_max"),
    ):
        if name in params:
            inst = parse_instant(name, params[name])
            setattr(f, attr, lower_bound(inst) if name.startswith("min") else upper_bound(inst))


_DATE_FILTERS = frozenset(
    f"{name}{suffix}" for name in ("date_modified", "date_created") for suffix in ("", ":min", ":max")
)


def refusal(
    request: web.Request, entry: Resource, strict: Strictness, params: dict[str, str]
) -> web.Response | None:
    """The 400 a stingy list gives before reading its parameters, if it gives one."""
    if strict.reject_unknown_params and entry.supported_params is not None:
        unsupported = sorted(set(params) - entry.supported_params)
        if unsupported:
            # reference/pages.v3.yml: 400, application/problem+json (ResponseErrorDetailed).
            problem = {
                "status": 400,
                "title": f"The query parameter {unsupported[0]!r} is not supported by this endpoint.",
                "type": ERROR_TYPE,
                "detail": f"Supported: {', '.join(sorted(entry.supported_params))}.",
            }
            return web.Response(
                body=orjson.dumps(problem), status=400, content_type="application/problem+json"
            )
    if strict.reject_encoded_dates and entry.refuse_encoded_dates:
        _path, _, query = request.raw_path.partition("?")
        for part in query.split("&"):
            key, _, value = part.partition("=")
            if "%" in value and unquote(key) in _DATE_FILTERS:
                return v3_error(
                    400,
                    f'Query parameter "{unquote(key)}" value must be a date. For input string: "{value}".',
                    errors=False,
                )
    return None
