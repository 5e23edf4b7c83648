"""The API routes every registry entry gets by its kind: a list (v3 ``{data, meta}`` or a v2 array), a
list read per parent record (``/v2/orders/{id}/shipments``), or one object. The orders family has its own
(orders_routes.py).

A list route does, in order: the stingy refusals (``--strict``), paging (the page cap), the query the
entry's filters and sort describe, the selection, the page (ties shuffled under ``--strict``), and the
envelope of its API version. Customers also page by ``before``/``after`` cursors (customers.v3.yml). An
``include`` naming an embedded resource (products' ``images``, ``variants``...) adds its records to each
parent record as an array. ``include_fields`` cuts each record of the lists that take it
(:data:`INCLUDE_FIELDS`) down to its id and the fields named.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, cast

import orjson
from aiohttp import web

from bigcommerce_sandbox.bodies import (
    cursor_meta,
    json_response,
    not_found,
    param_error,
    v2_rows,
    v3_page,
    versioned_error,
)
from bigcommerce_sandbox.filters import build_query, params_of, refusal, str_set
from bigcommerce_sandbox.gate import version_of
from bigcommerce_sandbox.query import Paging, ParamError, decode_cursor, parse_paging
from bigcommerce_sandbox.registry import EMBEDDED, Resource
from bigcommerce_sandbox.sandbox import Sandbox, sandbox_of
from bigcommerce_sandbox.selection import Query, Selection, page_ids, select
from bigcommerce_sandbox.store import Store

Handler = Callable[[web.Request], Awaitable[web.Response]]

INCLUDE_FIELDS = frozenset({"products", "brands", "categories"})
"""The lists that take ``include_fields``: "The ID and the specified fields will be returned"
(reference/catalog/products_catalog.v3.yml, brands_catalog.v3.yml, categories_catalog.v3.yml)."""


def list_route(entry: Resource) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        return await serve_list(request, entry)

    return handle


def object_route(entry: Resource) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        return json_response(sandbox_of(request).store.object_bytes(entry.name))

    return handle


def per_parent_route(entry: Resource) -> Handler:
    """A list of one parent's children (registry.Parent or registry.Owned): 404 for a parent that does
    not exist (or an empty list, where the spec says so), then the list route over that parent's
    children; or the parent's one child as an object (Parent.single)."""
    parent_resource = cast(str, entry.parent_resource)
    missing = entry.parent.missing if entry.parent is not None else 404
    single = entry.parent is not None and entry.parent.single

    async def handle(request: web.Request) -> web.Response:
        raw = request.match_info["id"]
        pid = int(raw) if raw.isdigit() else -1
        store = sandbox_of(request).store
        known = store.tables[parent_resource].position(pid) is not None
        if not known and (missing == 404 or pid < 0):
            return not_found(entry.version)
        if single:
            child = store.children_of(entry.name, pid)[:1] if known else []
            if not child:
                return not_found(entry.version)
            return json_response(b'{"data":' + store.record_bytes(entry.name, child[0]) + b',"meta":{}}')
        return await serve_list(request, entry, pid)

    return handle


def _within(store: Store, entry: Resource, pid: int, query: Query) -> Query:
    """``query`` narrowed to one parent's children."""
    if entry.owned is not None:
        # Owned children are one range of ids: bounds keep the selection a free slice.
        lo, hi = entry.owned.ids.id(pid, 1), entry.owned.ids.id(pid, entry.owned.ids.slots)
        return replace(
            query,
            id_min=lo if query.id_min is None else max(lo, query.id_min),
            id_max=hi if query.id_max is None else min(hi, query.id_max),
        )
    children = frozenset(store.children_of(entry.name, pid))
    return replace(query, id_in=children if query.id_in is None else query.id_in & children)


async def serve_list(request: web.Request, entry: Resource, parent: int | None = None) -> web.Response:
    """A list, or with ``parent`` that parent's children of a resource read per parent."""
    sb = sandbox_of(request)
    store = sb.store
    if entry.parent is not None:
        store.family(entry.name)  # children of other records: built on first use
    params = params_of(request)
    refused = refusal(request, entry, sb.strict, params)
    if refused is not None:
        return refused
    includes = str_set(params.get("include", ""))
    try:
        paging = parse_paging(params, sb.strict.cap(entry.name, includes))
        query = build_query(entry, params, now=sb.settings.clock())
        after = decode_cursor("after", params["after"]) if entry.cursors and "after" in params else None
        before = decode_cursor("before", params["before"]) if entry.cursors and "before" in params else None
    except ParamError as err:
        return param_error(entry.version, err)
    if parent is not None:
        query = _within(store, entry, parent, query)
    if after is not None or before is not None:
        return _by_cursor(sb, entry, params, query, paging.size, after, before)
    sel = select(store, entry.name, query)
    ids = page_ids(store, entry.name, sel, query, paging.offset, paging.size, sb.tie_salt())
    variant = ",".join(sorted(entry.variants & includes))
    rows = _embedded([store.record_bytes(entry.name, i, variant) for i in ids], store, entry, ids, includes)
    if entry.name in INCLUDE_FIELDS and "include_fields" in params:
        rows = _fields(rows, str_set(params["include_fields"]))
    if entry.version == "v2":
        return v2_rows(rows)
    if parent is not None and not sel.total and entry.parent is not None and entry.parent.empty == 204:
        return web.Response(status=204)
    return json_response(v3_page(params, sel, paging, rows, _first_cursor(entry, params, sel, paging, ids)))


def _first_cursor(
    entry: Resource, params: dict[str, str], sel: Selection, paging: Paging, ids: list[int]
) -> dict[str, Any] | None:
    """customers.v3.yml:3317: the first page of a list with cursors carries both pagination and
    cursor_pagination (price_lists.v3.yml says the same of a request with only a limit)."""
    if not entry.cursors or paging.page != 1:
        return None
    return {
        "cursor_pagination": cursor_meta(
            params, ids, paging.size, has_prev=False, has_next=sel.total > len(ids)
        )
    }


def _embedded(
    rows: list[bytes], store: Store, entry: Resource, ids: list[int], includes: frozenset[str]
) -> list[bytes]:
    """Each record with the children its ``include`` asks embedded (registry.Resource.embed), at most
    ``embed_cap`` of them in id order, as the record's last field."""
    for child in EMBEDDED.get(entry.name, ()):
        if child.embed not in includes:
            continue
        head = b',"' + str(child.embed).encode() + b'":['
        rows = [
            row[:-1]
            + head
            + b",".join(
                store.record_bytes(child.name, cid)
                for cid in store.children_of(child.name, rid)[: child.embed_cap]
            )
            + b"]}"
            for row, rid in zip(rows, ids, strict=True)
        ]
    return rows


def _fields(rows: list[bytes], fields: frozenset[str]) -> list[bytes]:
    """Each record cut down to its id and ``fields``, in the record's own order."""
    kept = fields | {"id"}
    cut = []
    for row in rows:
        record = orjson.loads(row)
        cut.append(orjson.dumps({name: value for name, value in record.items() if name in kept}))
    return cut


def _by_cursor(
    sb: Sandbox,
    entry: Resource,
    params: dict[str, str],
    query: Query,
    limit: int,
    after: int | None,
    before: int | None,
) -> web.Response:
    """``after``: ids above the cursor in ascending order; ``before``: the page just below it."""
    store = sb.store
    # One id-ordered selection serves every cursor page of the same filters (it is memoised), and a
    # cursor is found in it by bisection.
    sel = select(store, entry.name, replace(query, sort="id", desc=False))
    if after is not None:
        start = sel.offset_of(after, after=True)
        stop = sel.total if before is None else max(start, sel.offset_of(before, after=False))
        ids = sel.ids(start, min(limit, stop - start))
        has_prev = start > 0
        has_next = start + len(ids) < sel.total
    else:
        assert before is not None
        stop = sel.offset_of(before, after=False)
        start = max(0, stop - limit)
        ids = sel.ids(start, stop - start)
        has_prev = start > 0
        has_next = stop < sel.total
    includes = str_set(params.get("include", ""))
    rows = _embedded([store.record_bytes(entry.name, i) for i in ids], store, entry, ids, includes)
    # customers.v3.yml:3317: with before or after, only cursor_pagination is returned.
    meta = {"cursor_pagination": cursor_meta(params, ids, limit, has_prev=has_prev, has_next=has_next)}
    return json_response(b'{"data":[' + b",".join(rows) + b'],"meta":' + orjson.dumps(meta) + b"}")


async def unknown_route(request: web.Request) -> web.Response:
    version = version_of(request.path)
    if request.method not in ("GET", "HEAD"):
        return versioned_error(version, 405, "The sandbox is read-only; this method is not allowed.")
    return not_found(version)
