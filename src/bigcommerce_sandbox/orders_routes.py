"""The orders family's routes: /v2/orders (includes, archived orders, heavy pages), its count, one order,
and each order's line items and transactions."""

from __future__ import annotations

from dataclasses import replace

import orjson
from aiohttp import web

from bigcommerce_sandbox.bodies import SERVER_ERRORS, json_response, not_found, param_error, v2_error, v2_rows
from bigcommerce_sandbox.filters import build_query, params_of, str_set
from bigcommerce_sandbox.generators.orders import STATUSES
from bigcommerce_sandbox.query import ParamError, parse_paging
from bigcommerce_sandbox.registry import BY_NAME, Resource
from bigcommerce_sandbox.routes import Handler
from bigcommerce_sandbox.sandbox import Sandbox, sandbox_of
from bigcommerce_sandbox.selection import Query, page_ids, select
from bigcommerce_sandbox.store import Store

ORDERS = BY_NAME["orders"]


def _orders_query(sb: Sandbox, params: dict[str, str]) -> Query:
    return build_query(ORDERS, params, now=sb.settings.clock(), hide_archived=sb.strict.hide_archived)


def consignment_mode(params: dict[str, str]) -> str:
    """reference/orders.v2.oas2.yml (order_includes, consignment_structure): only the object structure
    is emulated; without ``consignment_structure=object`` the include is ignored."""
    if params.get("consignment_structure") != "object":
        return ""
    includes = str_set(params.get("include", ""))
    if "consignments.line_items" in includes:
        return "line_items"
    if "consignments" in includes:
        return "links"
    return ""


async def orders(request: web.Request) -> web.Response:
    sb = sandbox_of(request)
    store = sb.store
    params = params_of(request)
    try:
        paging = parse_paging(params, sb.strict.cap("orders"))
        q = _orders_query(sb, params)
    except ParamError as err:
        return param_error("v2", err)
    mode = consignment_mode(params)
    ids = page_ids(store, "orders", select(store, "orders", q), q, paging.offset, paging.size, sb.tie_salt())
    heavy = sb.strict.heavy_page_items
    # A page too expensive to build fails; one order a page always succeeds, so a reader that lowers its
    # limit gets through (docs/start/about/status-codes.mdx: a 500 on an expensive call means reduce limit).
    if heavy and mode == "line_items" and len(ids) > 1 and sum(map(store.line_item_count, ids)) > heavy:
        return v2_error(500, SERVER_ERRORS[500])
    return v2_rows([store.order_bytes(i, mode) for i in ids])


async def orders_count(request: web.Request) -> web.Response:
    sb = sandbox_of(request)
    store = sb.store
    try:
        q = _orders_query(sb, params_of(request))
    except ParamError as err:
        return param_error("v2", err)
    # Any order counts the same; pick the one whose index slices the filter for free.
    if q.modified_min is not None or q.modified_max is not None:
        q = replace(q, sort="date_modified", desc=False)
    elif q.created_min is not None or q.created_max is not None:
        q = replace(q, sort="date_created", desc=False)
    else:
        q = replace(q, sort="id", desc=False)
    # With count_lag, an answer trails the store for a few requests after each change of the orders.
    body = sb.counts.answer(q, store.tables["orders"].epoch, lambda: _count_body(store, q))
    return json_response(body)


def _count_body(store: Store, q: Query) -> bytes:
    ids = select(store, "orders", q).ids()
    counts: dict[int, int] = dict.fromkeys(STATUSES, 0)
    for oid in ids:
        counts[store.order_status(oid)] += 1
    statuses = [
        {
            "id": sid,
            "name": name,
            "system_label": name,
            "custom_label": name,
            "system_description": description,
            "count": counts[sid],
            "sort_order": order,
        }
        for sid, (name, description, order) in sorted(STATUSES.items(), key=lambda kv: kv[1][2])
    ]
    return orjson.dumps({"statuses": statuses, "count": len(ids)})


def _order_id(request: web.Request) -> int | None:
    raw = request.match_info["id"]
    if not raw.isdigit():
        return None
    oid = int(raw)
    return oid if sandbox_of(request).store.order_pos(oid) is not None else None


async def order_one(request: web.Request) -> web.Response:
    oid = _order_id(request)
    if oid is None:
        return not_found("v2")
    return json_response(sandbox_of(request).store.order_bytes(oid, consignment_mode(params_of(request))))


def child_route(entry: Resource) -> Handler:
    """Line items (a v2 list, paged) or transactions (v3, one page: reference/orders.v3.yml takes no
    paging parameters) of one order."""

    async def handle(request: web.Request) -> web.Response:
        oid = _order_id(request)
        if oid is None:
            return not_found(entry.version)
        sb = sandbox_of(request)
        rows = sb.store.children_bytes(entry.name, oid)
        if entry.paged:
            try:
                paging = parse_paging(params_of(request), sb.strict.cap(entry.name))
            except ParamError as err:
                return param_error(entry.version, err)
            return v2_rows(list(rows[paging.offset : paging.offset + paging.size]))
        if not rows:
            # reference/orders.v3.yml: 204 "No content found to fulfill request."
            return web.Response(status=204)
        per_page = max(50, len(rows))
        meta = {
            "pagination": {
                "total": len(rows),
                "count": len(rows),
                "per_page": per_page,
                "current_page": 1,
                "total_pages": 1,
                "links": {"current": f"?page=1&limit={per_page}"},
            }
        }
        return json_response(b'{"data":[' + b",".join(rows) + b'],"meta":' + orjson.dumps(meta) + b"}")

    return handle
