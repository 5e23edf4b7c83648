"""Response bodies as BigCommerce writes them: envelopes, page links, cursors and error bodies.

Errors raised by the gateway (401, 403, 429) have one JSON object shape on v2 and v3 alike; errors raised
by a versioned API (404, 400, 413, 422, 5xx) are an array of ``{status, message}`` on v2 and
``{status, title, type}`` on v3, as the specs' examples show.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

import orjson
from aiohttp import web

from bigcommerce_sandbox.query import MAX_LIMIT, Paging, ParamError, encode_cursor
from bigcommerce_sandbox.selection import Selection

ERROR_TYPE = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
JSON = "application/json"


def json_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=body, status=status, content_type=JSON, headers=headers)


def v2_error(status: int, message: str, details: dict[str, Any] | None = None) -> web.Response:
    item: dict[str, Any] = {"status": status, "message": message}
    if details is not None:
        item["details"] = details
    return json_response(orjson.dumps([item]), status)


def v3_error(status: int, title: str, *, errors: bool = True) -> web.Response:
    body: dict[str, Any] = {"status": status, "title": title, "type": ERROR_TYPE}
    if errors:
        body["errors"] = {}
    return json_response(orjson.dumps(body), status)


def versioned_error(version: str, status: int, text: str) -> web.Response:
    if version == "v2":
        return v2_error(status, text)
    return v3_error(status, text, errors=status == 422)


def not_found(version: str) -> web.Response:
    if version == "v2":
        # reference/orders.v2.oas2.yml, the 404 example of PUT /orders/{id}/shipping_addresses/{id}.
        return v2_error(404, "The requested resource was not found.")
    # reference/customers.v3.yml, the 404 example of the metafield routes.
    return v3_error(404, "The resource at that URL is not found.", errors=False)


def param_error(version: str, err: ParamError) -> web.Response:
    if err.status == 413:
        if version == "v2":
            # [3rd-party] bigcommerce-api-python issue #59.
            return v2_error(413, err.message, {"max_limit": MAX_LIMIT})
        return v3_error(413, err.message)
    if version == "v2":
        return v2_error(400, err.message)
    return v3_error(422, err.message)


UNAUTHORIZED = orjson.dumps(
    {
        "status": 401,
        # reference/webhooks.v3.yml, 401_Unauthorized.
        "title": "Unauthorized - the v3 Auth client ID or token in the request are not a valid combination for this store.",
        "type": "/api-docs/getting-started/api-status-codes",
    }
)
FORBIDDEN = orjson.dumps(
    {
        "status": 403,
        # [3rd-party] the missing-scope body observed in space48/bigcommerce-token-validator, nango#7026.
        "title": "You don't have a required scope to access the endpoint",
        "type": ERROR_TYPE,
        "errors": {},
    }
)
TOO_MANY = orjson.dumps({"status": 429, "title": "Too many requests", "type": ERROR_TYPE})
SERVER_ERRORS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def links_query(params: dict[str, str], first: tuple[tuple[str, str], ...], *, cursors: bool = True) -> str:
    """A page link as BigCommerce writes it: ``?page=2&limit=250`` then the request's other parameters;
    ``before``/``after`` too unless they are the cursors the link replaces (not on page links, where
    ``after`` can be a filter: channel listings')."""
    skip = {"page", "limit", "before", "after"} if cursors else {"page", "limit"}
    rest = [(k, v) for k, v in params.items() if k not in skip]
    return "?" + urlencode(list(first) + rest)


def v3_page(
    params: dict[str, str],
    sel: Selection,
    paging: Paging,
    rows: list[bytes],
    extra: dict[str, Any] | None = None,
) -> bytes:
    total = sel.total
    size = str(paging.size)
    pages = math.ceil(total / paging.size) if total else 0
    links = {"current": links_query(params, (("page", str(paging.page)), ("limit", size)), cursors=False)}
    if paging.page > 1:
        links["previous"] = links_query(
            params, (("page", str(min(paging.page - 1, max(pages, 1)))), ("limit", size)), cursors=False
        )
    if paging.page < pages:
        links["next"] = links_query(params, (("page", str(paging.page + 1)), ("limit", size)), cursors=False)
    meta: dict[str, Any] = {
        "pagination": {
            "total": total,
            "count": len(rows),
            "per_page": paging.size,
            "current_page": paging.page,
            "total_pages": pages,
            "links": links,
        }
    }
    if extra:
        meta.update(extra)
    return b'{"data":[' + b",".join(rows) + b'],"meta":' + orjson.dumps(meta) + b"}"


def v2_rows(rows: list[bytes]) -> web.Response:
    if not rows:
        # An empty v2 page is 204 with no body, a page past the end included (see the facts file, §0).
        return web.Response(status=204)
    return json_response(b"[" + b",".join(rows) + b"]")


def cursor_meta(
    params: dict[str, str], ids: list[int], limit: int, *, has_prev: bool, has_next: bool
) -> dict[str, Any]:
    links: dict[str, str] = {}
    meta: dict[str, Any] = {"count": len(ids), "per_page": limit}
    if ids:
        start, end = encode_cursor(ids[0]), encode_cursor(ids[-1])
        meta["start_cursor"] = start
        meta["end_cursor"] = end
        if has_prev:
            links["previous"] = links_query(params, (("limit", str(limit)), ("before", start)))
        if has_next:
            links["next"] = links_query(params, (("limit", str(limit)), ("after", end)))
    current = [("limit", str(limit))]
    for key in ("after", "before"):
        if key in params:
            current.append((key, params[key]))
    links["current"] = links_query(params, tuple(current))
    meta["links"] = links
    return meta
