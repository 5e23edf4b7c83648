"""The sandbox's HTTP face: BigCommerce's routes, auth, scopes, paging, envelopes, errors and admin routes.

Every request under ``/stores/`` passes the same gate, in BigCommerce's order: unknown store hash (404),
then the ``X-Auth-Token`` (401), then the OAuth scope of the route (403), then the store's rate limit
(429), latency and injected faults, and only then the route itself. Errors raised by the gateway (401,
403, 429) have one JSON object shape on v2 and v3 alike; errors raised by a versioned API (404, 400, 413,
422, 5xx) are an array of ``{status, message}`` on v2 and ``{status, title, type}`` on v3, as the specs'
examples show.

``running_sandbox(settings)`` serves a store from a background thread for tests; cli.py serves one in
the foreground. Nothing here is global: each server owns its store, limiter, fault plan and stats.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import random
import socket
import struct
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import orjson
from aiohttp import web

from bigcommerce_sandbox import records as rec
from bigcommerce_sandbox.faults import FaultPlan, FaultRule, parse_faults
from bigcommerce_sandbox.limits import PLANS, FixedWindowLimiter
from bigcommerce_sandbox.query import (
    MAX_LIMIT,
    Paging,
    ParamError,
    decode_cursor,
    encode_cursor,
    lower_bound,
    parse_direction,
    parse_instant,
    parse_int,
    parse_int_list,
    parse_paging,
    parse_sort_v2,
    upper_bound,
    with_time_of_day,
)
from bigcommerce_sandbox.store import PRESETS, RESOURCES, Query, Selection, Store, sizes_for
from bigcommerce_sandbox.strict import (
    ENCODED_DATES_REFUSED,
    PAGED,
    STRICT_COUNT_LAG,
    STRICT_HEAVY_PAGE_ITEMS,
    SUPPORTED_PARAMS,
    LaggingAnswers,
    Strictness,
    resolve_page_caps,
)

ERROR_TYPE = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
JSON = "application/json"
READ_SCOPES = (
    "store_v2_customers_read_only",
    "store_v2_orders_read_only",
    "store_v2_transactions_read_only",
    "store_v2_content_read_only",
    "store_v2_products_read_only",
    "store_channel_settings_read_only",
    "store_v2_information_read_only",
)


@dataclass(frozen=True)
class Settings:
    """How a sandbox is generated and behaves. Every field has a CLI flag of the same name (cli.py;
    ``page_cap`` and ``page_caps`` share ``--page-cap N|RESOURCE=N``).

    ``clock`` gives the wall time used for "now" (mutations, the products date quirk); ``monotonic``
    drives the rate-limit windows. Both are injectable so tests need no sleeping.

    ``strict`` turns on every stingy option of strict.py; each option left at None follows it, and any
    set explicitly wins (``Settings(strict=True, shuffle_ties=False)``).
    """

    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 1
    size: str = "tiny"
    customers: int | None = None
    orders: int | None = None
    products: int | None = None
    brands: int | None = None
    categories: int | None = None
    channels: int | None = None
    pages: int | None = None
    tie_cluster: int | None = None
    anchor: int | None = None
    plan: str = "unlimited"
    quota: int | None = None
    window_ms: int | None = None
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    faults: str = ""
    scopes: tuple[str, ...] | None = None
    activity: float = 0.0
    store_hash: str = "sandbox"
    token: str = "sandbox-token"
    allow_remote: bool = False
    cache_mb: int = 256
    warm: bool = False
    strict: bool = False
    page_cap: int | None = None
    page_caps: Mapping[str, int] | None = None
    shuffle_ties: bool | None = None
    count_lag: int | None = None
    heavy_page_items: int | None = None
    hide_archived: bool | None = None
    reject_encoded_dates: bool | None = None
    reject_unknown_params: bool | None = None
    fill_rare_dates: bool | None = None
    clock: Callable[[], float] = field(default=time.time, compare=False)
    monotonic: Callable[[], float] = field(default=time.monotonic, compare=False)

    def validate(self) -> None:
        """Raise ValueError with one sentence naming what to fix."""
        if self.size not in PRESETS:
            raise ValueError(f"--size must be one of {', '.join(PRESETS)}, not {self.size!r}")
        if self.plan not in PLANS:
            raise ValueError(f"--plan must be one of {', '.join(PLANS)}, not {self.plan!r}")
        for name in (
            "customers",
            "orders",
            "products",
            "brands",
            "categories",
            "channels",
            "pages",
            "tie_cluster",
        ):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be zero or more, not {value}")
        if self.quota is not None and self.quota < 1:
            raise ValueError(f"--quota must be at least 1, not {self.quota}")
        if self.window_ms is not None and self.window_ms < 1:
            raise ValueError(f"--window-ms must be at least 1, not {self.window_ms}")
        if self.latency_ms < 0 or self.jitter_ms < 0:
            raise ValueError("--latency-ms and --jitter-ms must be zero or more")
        if self.cache_mb < 0:
            raise ValueError(f"--cache-mb must be zero or more, not {self.cache_mb}")
        if self.activity < 0:
            raise ValueError(f"--activity must be zero or more, not {self.activity}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"--port must be between 0 and 65535, not {self.port}")
        if not self.store_hash or "/" in self.store_hash:
            raise ValueError("--store-hash must be a non-empty name without slashes")
        if not self.token:
            raise ValueError("--token must not be empty")
        if self.anchor is not None and self.anchor < rec.TS_BASE + 5 * 365 * 86400:
            raise ValueError("--anchor must be after 2005-01-01 so four years of history fit after 2000")
        if not self.allow_remote and not is_loopback(self.host):
            raise ValueError(
                f"refusing to bind {self.host!r}: the sandbox has no real security, so it listens on loopback "
                "only unless --allow-remote is given"
            )
        if self.page_cap is not None and self.page_cap < 1:
            raise ValueError(f"--page-cap must be at least 1, not {self.page_cap}")
        for resource, cap in (self.page_caps or {}).items():
            if resource not in PAGED:
                raise ValueError(f"--page-cap {resource}=... names no list; use one of {', '.join(PAGED)}")
            if cap < 1:
                raise ValueError(f"--page-cap {resource}={cap} must be at least 1")
        for name in ("count_lag", "heavy_page_items"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be zero or more, not {value}")
        parse_faults(self.faults)

    def strictness(self) -> Strictness:
        def on(value: bool | None) -> bool:
            return self.strict if value is None else value

        def amount(value: int | None, strict_value: int) -> int:
            return (strict_value if self.strict else 0) if value is None else value

        return Strictness(
            page_caps=resolve_page_caps(self.strict, self.page_cap, self.page_caps),
            shuffle_ties=on(self.shuffle_ties),
            count_lag=amount(self.count_lag, STRICT_COUNT_LAG),
            heavy_page_items=amount(self.heavy_page_items, STRICT_HEAVY_PAGE_ITEMS),
            hide_archived=on(self.hide_archived),
            reject_encoded_dates=on(self.reject_encoded_dates),
            reject_unknown_params=on(self.reject_unknown_params),
            fill_rare_dates=on(self.fill_rare_dates),
        )


def is_loopback(host: str | None) -> bool:
    """Whether a host name or address is this machine's loopback: ``localhost`` or an address in
    127.0.0.0/8 or ::1, parsed as an address (``127.attacker.example`` is a name, not loopback)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# ------------------------------------------------------------------------------------------- stats


@dataclass
class Stats:
    """Requests per route template and status, 429s served and peak concurrency (admin routes excluded)."""

    routes: dict[str, dict[str, int]] = field(default_factory=dict)
    total: int = 0
    responses_429: int = 0
    rate_limited: int = 0
    in_flight: int = 0
    peak_concurrency: int = 0

    def record(self, route: str, status: int) -> None:
        by_status = self.routes.setdefault(route, {})
        key = str(status)
        by_status[key] = by_status.get(key, 0) + 1
        self.total += 1
        if status == 429:
            self.responses_429 += 1

    def as_json(self) -> dict[str, Any]:
        return {
            "total_requests": self.total,
            "requests": {
                route: {"total": sum(counts.values()), "by_status": dict(sorted(counts.items()))}
                for route, counts in sorted(self.routes.items())
            },
            "responses_429": self.responses_429,
            "rate_limited": self.rate_limited,
            "peak_concurrency": self.peak_concurrency,
            "in_flight": self.in_flight,
        }

    def reset(self) -> None:
        self.routes = {}
        self.total = self.responses_429 = self.rate_limited = 0
        self.peak_concurrency = self.in_flight


# --------------------------------------------------------------------------------------- the server


@dataclass
class Sandbox:
    """One running sandbox: its settings, store and the per-server state the gate needs."""

    settings: Settings
    store: Store
    base_url: str
    limiter: FixedWindowLimiter
    faults: FaultPlan
    granted: frozenset[str]
    strict: Strictness = field(default_factory=lambda: Strictness(page_caps={}))
    counts: LaggingAnswers = field(default_factory=lambda: LaggingAnswers(0))
    stats: Stats = field(default_factory=Stats)
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    served: int = 0
    """API requests handed to a route so far (never reset): with the seed, it salts shuffled ties."""

    def now(self) -> int:
        return int(self.settings.clock())

    def tie_salt(self) -> int | None:
        """The order of tied records for this request, or None when ties keep id order."""
        if not self.strict.shuffle_ties:
            return None
        return rec.record_hash(self.store.basis.key("times"), self.served)


def build_store(settings: Settings, base_url: str) -> Store:
    sizes = sizes_for(
        settings.size,
        customers=settings.customers,
        orders=settings.orders,
        products=settings.products,
        brands=settings.brands,
        categories=settings.categories,
        channels=settings.channels,
        pages=settings.pages,
        tie_cluster=settings.tie_cluster,
    )
    anchor = settings.anchor if settings.anchor is not None else int(settings.clock())
    basis = rec.make_basis(
        seed=settings.seed,
        anchor=anchor,
        store_hash=settings.store_hash,
        api_base=base_url,
        counts=sizes.counts(),
        tie_cluster=sizes.tie_cluster,
        rare_dates=settings.strictness().fill_rare_dates,
    )
    store = Store(basis, cache_bytes=settings.cache_mb * 1024 * 1024)
    if settings.warm:
        store.warm()
    return store


def granted_scopes(scopes: tuple[str, ...] | None) -> frozenset[str]:
    """Scopes a token holds; a modify scope such as store_v2_orders grants its read-only variant."""
    if scopes is None:
        return frozenset(READ_SCOPES)
    out = set()
    for scope in scopes:
        out.add(scope)
        if not scope.endswith("_read_only"):
            out.add(scope + "_read_only")
    return frozenset(out)


def make_sandbox(settings: Settings, base_url: str) -> Sandbox:
    quota, window = PLANS[settings.plan]
    if settings.quota is not None:
        quota = settings.quota
    if settings.window_ms is not None:
        window = settings.window_ms
    strict = settings.strictness()
    return Sandbox(
        settings=settings,
        store=build_store(settings, base_url),
        base_url=base_url,
        limiter=FixedWindowLimiter(quota, window, clock=settings.monotonic),
        faults=FaultPlan(parse_faults(settings.faults), settings.seed),
        granted=granted_scopes(settings.scopes),
        strict=strict,
        counts=LaggingAnswers(strict.count_lag),
        rng=random.Random(settings.seed),
    )


SANDBOX = web.AppKey("sandbox", Sandbox)

# The read-only OAuth scope each route needs (docs/start/authentication/api-accounts.mdx, the specs'
# securitySchemes descriptions).
_SCOPES: dict[str, str] = {
    "/v3/customers": "store_v2_customers_read_only",
    "/v2/orders": "store_v2_orders_read_only",
    "/v2/orders/count": "store_v2_orders_read_only",
    "/v2/orders/{id}": "store_v2_orders_read_only",
    "/v2/orders/{id}/products": "store_v2_orders_read_only",
    "/v3/orders/{id}/transactions": "store_v2_transactions_read_only",
    "/v3/content/pages": "store_v2_content_read_only",
    "/v3/catalog/products": "store_v2_products_read_only",
    "/v3/catalog/brands": "store_v2_products_read_only",
    "/v3/catalog/categories": "store_v2_products_read_only",
    "/v3/catalog/trees/categories": "store_v2_products_read_only",
    "/v3/channels": "store_channel_settings_read_only",
    "/v2/store": "store_v2_information_read_only",
}
_PREFIX = "/stores/{store_hash}"
_SCOPE_BY_TEMPLATE = {_PREFIX + path: scope for path, scope in _SCOPES.items()}


# ------------------------------------------------------------------------------------------ bodies


def _json(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=body, status=status, content_type=JSON, headers=headers)


def v2_error(status: int, message: str, details: dict[str, Any] | None = None) -> web.Response:
    item: dict[str, Any] = {"status": status, "message": message}
    if details is not None:
        item["details"] = details
    return _json(orjson.dumps([item]), status)


def v3_error(status: int, title: str, *, errors: bool = True) -> web.Response:
    body: dict[str, Any] = {"status": status, "title": title, "type": ERROR_TYPE}
    if errors:
        body["errors"] = {}
    return _json(orjson.dumps(body), status)


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


_UNAUTHORIZED = orjson.dumps(
    {
        "status": 401,
        # reference/webhooks.v3.yml, 401_Unauthorized.
        "title": "Unauthorized - the v3 Auth client ID or token in the request are not a valid combination for this store.",
        "type": "/api-docs/getting-started/api-status-codes",
    }
)
_FORBIDDEN = orjson.dumps(
    {
        "status": 403,
        # [3rd-party] the missing-scope body observed in space48/bigcommerce-token-validator, nango#7026.
        "title": "You don't have a required scope to access the endpoint",
        "type": ERROR_TYPE,
        "errors": {},
    }
)
_TOO_MANY = orjson.dumps({"status": 429, "title": "Too many requests", "type": ERROR_TYPE})
_SERVER_ERRORS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


# ------------------------------------------------------------------------------------- admin guard


def _admin_refusal(request: web.Request, sb: Sandbox) -> web.Response | None:
    """Why an admin request is refused, if it is: the routes have no auth, so a web page the user visits
    must not reach them. A browser names the page's site in ``Origin`` on every cross-site POST, and a
    page cannot send a JSON body (or any custom header) cross-site without a CORS preflight, which the
    sandbox never grants; a ``Host`` other than loopback means DNS rebinding."""
    if not sb.settings.allow_remote and not is_loopback(urlsplit("//" + request.host).hostname):
        return _json(orjson.dumps({"status": 403, "title": "admin routes answer loopback hosts only"}), 403)
    if request.method != "POST":
        return None
    origin = request.headers.get("Origin")
    if origin is not None and not is_loopback(urlsplit(origin).hostname):
        return _json(orjson.dumps({"status": 403, "title": "cross-site requests are refused"}), 403)
    authorised = request.headers.get("X-Auth-Token") == sb.settings.token
    if request.can_read_body and request.content_type != JSON and not authorised:
        title = "send the body as application/json (or with the X-Auth-Token header)"
        return _json(orjson.dumps({"status": 415, "title": title}), 415)
    return None


@web.middleware
async def admin_guard(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path.startswith("/__sandbox/"):
        refusal = _admin_refusal(request, request.app[SANDBOX])
        if refusal is not None:
            return refusal
    return await handler(request)


# -------------------------------------------------------------------------------------------- gate


def _version_of(path: str) -> str:
    parts = path.split("/", 4)
    return parts[3] if len(parts) > 3 and parts[3] in ("v2", "v3") else "v3"


@web.middleware
async def gate(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    path = request.path
    if not path.startswith("/stores/"):
        return await handler(request)
    sb = request.app[SANDBOX]
    stats = sb.stats
    stats.in_flight += 1
    if stats.in_flight > stats.peak_concurrency:
        stats.peak_concurrency = stats.in_flight
    template = (
        request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    )
    if template not in _SCOPE_BY_TEMPLATE:
        template = "unmatched"
    status = 500
    try:
        response = await _gated(request, handler, sb, path, template)
        status = response.status
        return response
    finally:
        stats.in_flight -= 1
        stats.record(template, status)


async def _gated(
    request: web.Request,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    sb: Sandbox,
    path: str,
    template: str,
) -> web.StreamResponse:
    settings = sb.settings
    version = _version_of(path)
    parts = path.split("/", 3)
    response: web.StreamResponse | None = None
    limit_headers: dict[str, str] | None = None
    fault: FaultRule | None = None
    if len(parts) < 3 or parts[2] != settings.store_hash:
        response = not_found(version)
    elif request.headers.get("X-Auth-Token") != settings.token:
        response = _json(_UNAUTHORIZED, 401)
    elif template in _SCOPE_BY_TEMPLATE and _SCOPE_BY_TEMPLATE[template] not in sb.granted:
        response = _json(_FORBIDDEN, 403)
    else:
        verdict = sb.limiter.acquire()
        limit_headers = verdict.headers
        if not verdict.allowed:
            sb.stats.rate_limited += 1
            response = _json(_TOO_MANY, 429)
        else:
            fault = sb.faults.decide(path[len(parts[0]) + len(parts[1]) + len(parts[2]) + 2 :])
    if limit_headers is None:
        limit_headers = sb.limiter.peek()
    delay = settings.latency_ms + (sb.rng.random() * settings.jitter_ms if settings.jitter_ms else 0.0)
    if delay > 0:
        await asyncio.sleep(delay / 1000)
    if response is None:
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay_ms / 1000)
            fault = None
        if fault is not None and fault.kind == "429":
            # Platform load: a 429 without the rate-limit headers (api-rate-limits.mdx).
            return _json(_TOO_MANY, 429)
        if fault is not None and fault.kind.isdigit():
            code = int(fault.kind)
            response = versioned_error(version, code, _SERVER_ERRORS[code])
        else:
            sb.served += 1
            response = await handler(request)
    response.headers.update(limit_headers)
    if fault is not None and fault.kind in ("reset", "truncate", "badjson"):
        return await _broken(request, response, fault.kind)
    return response


async def _broken(request: web.Request, response: web.StreamResponse, kind: str) -> web.StreamResponse:
    """A damaged answer: invalid JSON, a body cut short, or a connection reset mid-body."""
    body = response.body if isinstance(response, web.Response) and isinstance(response.body, bytes) else b""
    if not body:
        body = b'{"data":[],"meta":{}}'
    if kind == "badjson":
        out = _json(body[: max(1, len(body) // 2)] + b"\x00<html>", 200)
        out.headers.update({k: v for k, v in response.headers.items() if k.startswith("X-Rate-Limit")})
        return out
    stream = web.StreamResponse(
        status=200, headers={k: v for k, v in response.headers.items() if k.startswith("X-")}
    )
    stream.content_type = JSON
    stream.content_length = len(body)
    await stream.prepare(request)
    await stream.write(body[: max(1, len(body) // 2)])
    transport = request.transport
    if transport is not None:
        if kind == "reset":
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()
    return stream


# ------------------------------------------------------------------------------------------ paging


def _params(request: web.Request) -> dict[str, str]:
    return dict(request.query.items())


def _links_query(params: dict[str, str], first: tuple[tuple[str, str], ...]) -> str:
    """A page link as BigCommerce writes it: ``?page=2&limit=250`` then the request's other parameters."""
    skip = {"page", "limit", "before", "after"}
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
    links = {"current": _links_query(params, (("page", str(paging.page)), ("limit", size)))}
    if paging.page > 1:
        links["previous"] = _links_query(
            params, (("page", str(min(paging.page - 1, max(pages, 1)))), ("limit", size))
        )
    if paging.page < pages:
        links["next"] = _links_query(params, (("page", str(paging.page + 1)), ("limit", size)))
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


def v3_list(sb: Sandbox, resource: str, query: Query, params: dict[str, str], paging: Paging) -> web.Response:
    """One page of a v3 list: the selection's records for ``paging`` in the v3 envelope."""
    store = sb.store
    sel = store.select(resource, query)
    ids = store.page_ids(resource, sel, query, paging.offset, paging.size, sb.tie_salt())
    rows = [store.record_bytes(resource, i) for i in ids]
    return _json(v3_page(params, sel, paging, rows))


def v2_rows(rows: list[bytes]) -> web.Response:
    if not rows:
        # An empty v2 page is 204 with no body, a page past the end included (see the facts file, §0).
        return web.Response(status=204)
    return _json(b"[" + b",".join(rows) + b"]")


def _bool(name: str, raw: str) -> bool:
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise ParamError(f'Query parameter "{name}" must be true or false. For input string: "{raw}".')


def _str_set(raw: str) -> frozenset[str]:
    return frozenset(p.strip() for p in raw.split(",") if p.strip())


@dataclass
class _Filters:
    """Accumulates a Query from v3-style parameters."""

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

    def ids_in(self, values: frozenset[int]) -> None:
        self.id_in = values if self.id_in is None else self.id_in & values

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


def _v3_sort(params: dict[str, str], allowed: Collection[str]) -> tuple[str, bool]:
    """``sort`` (default ``id``) checked against the endpoint's fields, and whether ``direction`` is desc."""
    sort = params.get("sort", "id")
    if sort not in allowed:
        raise ParamError(f'Query parameter "sort" value is invalid. For input string: "{sort}".')
    return sort, parse_direction(params.get("direction"))


def _id_family(params: dict[str, str], f: _Filters, prefix: str = "id") -> None:
    if prefix in params:
        value = parse_int(prefix, params[prefix])
        f.lower_id(value)
        f.upper_id(value)
    if f"{prefix}:in" in params:
        f.ids_in(parse_int_list(f"{prefix}:in", params[f"{prefix}:in"]))
    if f"{prefix}:not_in" in params:
        f.id_not_in = f.id_not_in | parse_int_list(f"{prefix}:not_in", params[f"{prefix}:not_in"])
    if f"{prefix}:min" in params:
        f.lower_id(parse_int(f"{prefix}:min", params[f"{prefix}:min"]))
    if f"{prefix}:max" in params:
        f.upper_id(parse_int(f"{prefix}:max", params[f"{prefix}:max"]))
    if f"{prefix}:greater" in params:
        f.lower_id(parse_int(f"{prefix}:greater", params[f"{prefix}:greater"]) + 1)
    if f"{prefix}:less" in params:
        f.upper_id(parse_int(f"{prefix}:less", params[f"{prefix}:less"]) - 1)


def _v3_dates(
    params: dict[str, str], f: _Filters, *, quirk_now: float | None = None, created: bool = True
) -> None:
    """``date_modified[:min|:max]`` and ``date_created[...]``, inclusive; a date alone is a whole day."""
    fields = ("date_modified", "date_created") if created else ("date_modified",)
    for name in fields:
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


def _v2_dates(params: dict[str, str], f: _Filters) -> None:
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


def _encoded_date(request: web.Request, sb: Sandbox, resource: str) -> web.Response | None:
    """A 400 for a date filter whose value arrived percent-encoded, where the list refuses those."""
    if not sb.strict.reject_encoded_dates or resource not in ENCODED_DATES_REFUSED:
        return None
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


# -------------------------------------------------------------------------------------- API routes


def _sb(request: web.Request) -> Sandbox:
    return request.app[SANDBOX]


async def customers(request: web.Request) -> web.Response:
    sb = _sb(request)
    params = _params(request)
    refused = _encoded_date(request, sb, "customers")
    if refused is not None:
        return refused
    try:
        paging = parse_paging(params, sb.strict.cap("customers"))
        f = _Filters()
        if "id:in" in params:
            f.ids_in(parse_int_list("id:in", params["id:in"]))
        _v3_dates(params, f)
        if "email:in" in params:
            f.where.append(("email", "in", _str_set(params["email:in"])))
        if "customer_group_id:in" in params:
            f.where.append(
                (
                    "customer_group_id",
                    "in",
                    parse_int_list("customer_group_id:in", params["customer_group_id:in"]),
                )
            )
        if "company:in" in params:
            f.where.append(("company", "in", _str_set(params["company:in"])))
        sort, desc = "id", False
        if "sort" in params:
            allowed = ("date_created", "date_modified", "last_name")
            field_name, _, direction = params["sort"].partition(":")
            if field_name not in allowed or direction not in ("asc", "desc"):
                raise ParamError(
                    f'Query parameter "sort" value is invalid. For input string: "{params["sort"]}".'
                )
            sort, desc = field_name, direction == "desc"
        after = decode_cursor("after", params["after"]) if "after" in params else None
        before = decode_cursor("before", params["before"]) if "before" in params else None
    except ParamError as err:
        return param_error("v3", err)
    store = sb.store
    if after is not None or before is not None:
        return _customers_by_cursor(sb, params, f, paging.size, after, before)
    query = f.query(sort, desc)
    sel = store.select("customers", query)
    ids = store.page_ids("customers", sel, query, paging.offset, paging.size, sb.tie_salt())
    rows = [store.record_bytes("customers", i) for i in ids]
    extra = None
    if paging.page == 1:
        # customers.v3.yml:3317: the first page carries both pagination and cursor_pagination.
        extra = {
            "cursor_pagination": _cursor_meta(
                params, ids, paging.size, has_prev=False, has_next=sel.total > len(ids)
            )
        }
    return _json(v3_page(params, sel, paging, rows, extra))


def _cursor_meta(
    params: dict[str, str], ids: list[int], limit: int, *, has_prev: bool, has_next: bool
) -> dict[str, Any]:
    links: dict[str, str] = {}
    meta: dict[str, Any] = {"count": len(ids), "per_page": limit}
    if ids:
        start, end = encode_cursor(ids[0]), encode_cursor(ids[-1])
        meta["start_cursor"] = start
        meta["end_cursor"] = end
        if has_prev:
            links["previous"] = _links_query(params, (("limit", str(limit)), ("before", start)))
        if has_next:
            links["next"] = _links_query(params, (("limit", str(limit)), ("after", end)))
    current = [("limit", str(limit))]
    for key in ("after", "before"):
        if key in params:
            current.append((key, params[key]))
    links["current"] = _links_query(params, tuple(current))
    meta["links"] = links
    return meta


def _customers_by_cursor(
    sb: Sandbox, params: dict[str, str], f: _Filters, limit: int, after: int | None, before: int | None
) -> web.Response:
    """``after``: ids above the cursor in ascending order; ``before``: the page just below it."""
    store = sb.store
    # One id-ordered selection serves every cursor page of the same filters (it is memoised), and a
    # cursor is found in it by bisection.
    sel = store.select("customers", replace(f.query(), sort="id", desc=False))
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
    rows = [store.record_bytes("customers", i) for i in ids]
    # customers.v3.yml:3317: with before or after, only cursor_pagination is returned.
    meta = {"cursor_pagination": _cursor_meta(params, ids, limit, has_prev=has_prev, has_next=has_next)}
    return _json(b'{"data":[' + b",".join(rows) + b'],"meta":' + orjson.dumps(meta) + b"}")


_ORDER_SORTS = (
    "id",
    "customer_id",
    "date_created",
    "date_modified",
    "status_id",
    "channel_id",
    "external_id",
)


def _order_query(params: dict[str, str], hide_archived: bool) -> Query:
    f = _Filters()
    if "min_id" in params:
        f.lower_id(parse_int("min_id", params["min_id"]))
    if "max_id" in params:
        f.upper_id(parse_int("max_id", params["max_id"]))
    _v2_dates(params, f)
    for name in ("customer_id", "status_id", "channel_id"):
        if name in params:
            f.where.append((name, "eq", parse_int(name, params[name])))
    if "cart_id" in params:
        f.where.append(("cart_id", "eq", params["cart_id"]))
    if "payment_method" in params:
        f.where.append(("payment_method", "eq", params["payment_method"]))
    sort, desc = ("id", False)
    if "sort" in params:
        sort, desc = parse_sort_v2(params["sort"], _ORDER_SORTS)
    # Not in reference/orders.v2.oas2.yml, yet the way to list archived orders where they are hidden
    # (bigcommerce/docs PR #360 notes the parameter as missing from the docs); a filter either way.
    archived: bool | None = False if hide_archived else None
    if "is_deleted" in params:
        archived = _bool("is_deleted", params["is_deleted"])
    return replace(f.query(sort, desc), archived=archived)


def _consignment_mode(params: dict[str, str]) -> str:
    """reference/orders.v2.oas2.yml (order_includes, consignment_structure): only the object structure
    is emulated; without ``consignment_structure=object`` the include is ignored."""
    if params.get("consignment_structure") != "object":
        return ""
    includes = _str_set(params.get("include", ""))
    if "consignments.line_items" in includes:
        return "line_items"
    if "consignments" in includes:
        return "links"
    return ""


async def orders(request: web.Request) -> web.Response:
    sb = _sb(request)
    store = sb.store
    params = _params(request)
    try:
        paging = parse_paging(params, sb.strict.cap("orders"))
        q = _order_query(params, sb.strict.hide_archived)
    except ParamError as err:
        return param_error("v2", err)
    mode = _consignment_mode(params)
    ids = store.page_ids("orders", store.select("orders", q), q, paging.offset, paging.size, sb.tie_salt())
    heavy = sb.strict.heavy_page_items
    # A page too expensive to build fails; one order a page always succeeds, so a reader that lowers its
    # limit gets through (docs/start/about/status-codes.mdx: a 500 on an expensive call means reduce limit).
    if heavy and mode == "line_items" and len(ids) > 1 and sum(map(store.line_item_count, ids)) > heavy:
        return v2_error(500, _SERVER_ERRORS[500])
    return v2_rows([store.order_bytes(i, mode) for i in ids])


async def orders_count(request: web.Request) -> web.Response:
    sb = _sb(request)
    store = sb.store
    params = _params(request)
    try:
        q = _order_query(params, sb.strict.hide_archived)
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
    return _json(body)


def _count_body(store: Store, q: Query) -> bytes:
    ids = store.select("orders", q).ids()
    counts: dict[int, int] = dict.fromkeys(rec.STATUSES, 0)
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
        for sid, (name, description, order) in sorted(rec.STATUSES.items(), key=lambda kv: kv[1][2])
    ]
    return orjson.dumps({"statuses": statuses, "count": len(ids)})


def _order_id(request: web.Request) -> int | None:
    raw = request.match_info["id"]
    if not raw.isdigit():
        return None
    oid = int(raw)
    return oid if _sb(request).store.order_pos(oid) is not None else None


async def order_one(request: web.Request) -> web.Response:
    oid = _order_id(request)
    if oid is None:
        return not_found("v2")
    return _json(_sb(request).store.order_bytes(oid, _consignment_mode(_params(request))))


async def order_products(request: web.Request) -> web.Response:
    oid = _order_id(request)
    if oid is None:
        return not_found("v2")
    try:
        paging = parse_paging(_params(request), _sb(request).strict.cap("order_products"))
    except ParamError as err:
        return param_error("v2", err)
    rows = _sb(request).store.order_products_bytes(oid)
    return v2_rows(list(rows[paging.offset : paging.offset + paging.size]))


async def transactions(request: web.Request) -> web.Response:
    oid = _order_id(request)
    if oid is None:
        return not_found("v3")
    rows = list(_sb(request).store.transactions_bytes(oid))
    if not rows:
        # reference/orders.v3.yml: 204 "No content found to fulfill request."
        return web.Response(status=204)
    # The endpoint takes no paging parameters (reference/orders.v3.yml); one page holds them all.
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
    return _json(b'{"data":[' + b",".join(rows) + b'],"meta":' + orjson.dumps(meta) + b"}")


async def pages(request: web.Request) -> web.Response:
    sb = _sb(request)
    store = sb.store
    params = _params(request)
    unsupported = sorted(set(params) - SUPPORTED_PARAMS["pages"])
    if sb.strict.reject_unknown_params and unsupported:
        # reference/pages.v3.yml: 400, application/problem+json (ResponseErrorDetailed).
        problem = {
            "status": 400,
            "title": f"The query parameter {unsupported[0]!r} is not supported by this endpoint.",
            "type": ERROR_TYPE,
            "detail": f"Supported: {', '.join(sorted(SUPPORTED_PARAMS['pages']))}.",
        }
        return web.Response(body=orjson.dumps(problem), status=400, content_type="application/problem+json")
    try:
        paging = parse_paging(params, sb.strict.cap("pages"))
        f = _Filters()
        if "id:in" in params:
            f.ids_in(parse_int_list("id:in", params["id:in"]))
        if "channel_id" in params:
            f.where.append(("channel_id", "eq", parse_int("channel_id", params["channel_id"])))
        if "name" in params:
            f.where.append(("name", "eq", params["name"]))
        if "name:like" in params:
            f.where.append(("name", "like", params["name:like"]))
    except ParamError as err:
        return param_error("v3", err)
    body = "body" in _str_set(params.get("include", ""))
    sel = store.select("pages", f.query())
    rows = [store.record_bytes("pages", i, body=body) for i in sel.ids(paging.offset, paging.size)]
    return _json(v3_page(params, sel, paging, rows))


_PRODUCT_SORTS = (
    "id", "name", "sku", "price", "date_modified", "date_last_imported", "inventory_level", "is_visible",
    "total_sold", "calculated_price",
)  # fmt: skip


async def products(request: web.Request) -> web.Response:
    sb = _sb(request)
    params = _params(request)
    try:
        paging = parse_paging(params, sb.strict.cap("products", _str_set(params.get("include", ""))))
        f = _Filters()
        _id_family(params, f)
        # products_catalog.v3.yml: a date-only date_modified:min/:max gets the request's time of day.
        _v3_dates(params, f, quirk_now=sb.settings.clock(), created=False)
        for name in ("name", "sku", "type", "upc", "mpn"):
            if name in params:
                f.where.append((name, "eq", params[name]))
        if "brand_id" in params:
            f.where.append(("brand_id", "eq", parse_int("brand_id", params["brand_id"])))
        for name in ("is_visible", "is_featured", "is_free_shipping"):
            if name in params:
                f.where.append((name, "eq", _bool(name, params[name])))
        if "categories:in" in params:
            wanted = parse_int_list("categories:in", params["categories:in"])
            f.where.append(("categories", "any_in", wanted))
        sort, desc = _v3_sort(params, _PRODUCT_SORTS)
    except ParamError as err:
        return param_error("v3", err)
    return v3_list(sb, "products", f.query(sort, desc), params, paging)


async def brands(request: web.Request) -> web.Response:
    sb = _sb(request)
    params = _params(request)
    try:
        paging = parse_paging(params, sb.strict.cap("brands"))
        f = _Filters()
        _id_family(params, f)
        for name in ("name", "page_title"):
            if name in params:
                f.where.append((name, "eq", params[name]))
        if "name:like" in params:
            f.where.append(("name", "like", params["name:like"]))
        sort, desc = _v3_sort(params, ("id", "name"))
    except ParamError as err:
        return param_error("v3", err)
    return v3_list(sb, "brands", f.query(sort, desc), params, paging)


async def categories(request: web.Request) -> web.Response:
    sb = _sb(request)
    params = _params(request)
    try:
        paging = parse_paging(params, sb.strict.cap("categories"))
        f = _Filters()
        _id_family(params, f)
        if "name" in params:
            f.where.append(("name", "eq", params["name"]))
        if "name:like" in params:
            f.where.append(("name", "like", params["name:like"]))
        if "parent_id" in params:
            f.where.append(("parent_id", "eq", parse_int("parent_id", params["parent_id"])))
        if "parent_id:in" in params:
            f.where.append(("parent_id", "in", parse_int_list("parent_id:in", params["parent_id:in"])))
        if "is_visible" in params:
            f.where.append(("is_visible", "eq", _bool("is_visible", params["is_visible"])))
        sort, desc = _v3_sort(params, ("id", "name", "parent_id", "sort_order"))
    except ParamError as err:
        return param_error("v3", err)
    return v3_list(sb, "categories", f.query(sort, desc), params, paging)


async def tree_categories(request: web.Request) -> web.Response:
    sb = _sb(request)
    params = _params(request)
    try:
        paging = parse_paging(params, sb.strict.cap("trees"))
        f = _Filters()
        _id_family(params, f, prefix="category_id")
        for name in ("tree_id", "parent_id"):
            if f"{name}:in" in params:
                f.where.append((name, "in", parse_int_list(f"{name}:in", params[f"{name}:in"])))
            if f"{name}:not_in" in params:
                f.where.append((name, "not_in", parse_int_list(f"{name}:not_in", params[f"{name}:not_in"])))
        if "name" in params:
            f.where.append(("name", "eq", params["name"]))
        if "name:like" in params:
            f.where.append(("name", "like", params["name:like"]))
        if "is_visible" in params:
            f.where.append(("is_visible", "eq", _bool("is_visible", params["is_visible"])))
    except ParamError as err:
        return param_error("v3", err)
    return v3_list(sb, "trees", f.query(), params, paging)


async def channels(request: web.Request) -> web.Response:
    sb = _sb(request)
    params = _params(request)
    refused = _encoded_date(request, sb, "channels")
    if refused is not None:
        return refused
    try:
        paging = parse_paging(params, sb.strict.cap("channels"))
        f = _Filters()
        _v3_dates(params, f)
        for name in ("status", "type", "platform"):
            if f"{name}:in" in params:
                f.where.append((name, "in", _str_set(params[f"{name}:in"])))
    except ParamError as err:
        return param_error("v3", err)
    # reference/channels.v3.yml documents no sort: channels come in id order.
    return v3_list(sb, "channels", f.query(), params, paging)


async def store_info(request: web.Request) -> web.Response:
    return _json(_sb(request).store.store_bytes())


async def unknown_route(request: web.Request) -> web.Response:
    version = _version_of(request.path)
    if request.method not in ("GET", "HEAD"):
        return versioned_error(version, 405, "The sandbox is read-only; this method is not allowed.")
    return not_found(version)


# ----------------------------------------------------------------------------------------- admin


async def admin_health(request: web.Request) -> web.Response:
    return _json(b'{"status":"ok"}')


async def admin_stats(request: web.Request) -> web.Response:
    return _json(orjson.dumps(_sb(request).stats.as_json()))


async def admin_stats_reset(request: web.Request) -> web.Response:
    _sb(request).stats.reset()
    return _json(b'{"status":"ok"}')


_MUTATE_COUNTS = ("update", "create", "delete", "archive")


async def admin_mutate(request: web.Request) -> web.Response:
    sb = _sb(request)
    try:
        payload = orjson.loads(await request.read())
        if not isinstance(payload, dict):
            raise ValueError("the body must be a JSON object")
        unknown = sorted(set(payload) - {"resource", "bump_date_modified", *_MUTATE_COUNTS})
        if unknown:
            raise ValueError(f"unknown field {unknown[0]!r}; use resource, {', '.join(_MUTATE_COUNTS)}")
        resource = str(payload.get("resource", ""))
        counts = {k: payload.get(k, 0) for k in _MUTATE_COUNTS}
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts.values()):
            raise ValueError("update, create, delete and archive must be integers")
        bump = payload.get("bump_date_modified", True)
        if not isinstance(bump, bool):
            raise ValueError("bump_date_modified must be true or false")
        result = sb.store.mutate(resource, now=sb.now(), bump_date_modified=bump, **counts)
    except (ValueError, orjson.JSONDecodeError) as err:
        return _json(orjson.dumps({"status": 400, "title": str(err)}), 400)
    return _json(orjson.dumps(result))


async def admin_export(request: web.Request) -> web.StreamResponse:
    sb = _sb(request)
    resource = request.match_info["resource"]
    if resource not in RESOURCES:
        return _json(orjson.dumps({"status": 404, "title": f"unknown resource {resource!r}"}), 404)
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    batch: list[bytes] = []
    for line in sb.store.export(resource):
        batch.append(line)
        if len(batch) >= 500:
            await response.write(b"\n".join(batch) + b"\n")
            batch = []
    if batch:
        await response.write(b"\n".join(batch) + b"\n")
    await response.write_eof()
    return response


# ------------------------------------------------------------------------------------- activity

_ACTIVITY_RESOURCES = (
    "customers", "orders", "products", "order_products", "orders", "transactions", "customers", "channels",
)  # fmt: skip


async def _activity(sb: Sandbox) -> None:
    """``--activity N``: N changes per second spread over resources, mostly updates, some creates."""
    budget = 0.0
    tick = 0.1
    step = 0
    while True:
        await asyncio.sleep(tick)
        budget += sb.settings.activity * tick
        while budget >= 1:
            budget -= 1
            step += 1
            resource = _ACTIVITY_RESOURCES[step % len(_ACTIVITY_RESOURCES)]
            roll = step % 20
            if resource == "channels" and roll >= 19:
                roll = 0
            sb.store.mutate(
                resource,
                now=sb.now(),
                update=int(roll < 16),
                create=int(16 <= roll < 19),
                delete=int(roll >= 19),
            )


# ------------------------------------------------------------------------------------------ app


def build_app(sb: Sandbox) -> web.Application:
    app = web.Application(middlewares=[admin_guard, gate])
    app[SANDBOX] = sb
    handlers: dict[str, Callable[[web.Request], Awaitable[web.Response]]] = {
        "/v3/customers": customers,
        "/v2/orders": orders,
        "/v2/orders/count": orders_count,
        "/v2/orders/{id}": order_one,
        "/v2/orders/{id}/products": order_products,
        "/v3/orders/{id}/transactions": transactions,
        "/v3/content/pages": pages,
        "/v3/catalog/products": products,
        "/v3/catalog/brands": brands,
        "/v3/catalog/categories": categories,
        "/v3/catalog/trees/categories": tree_categories,
        "/v3/channels": channels,
        "/v2/store": store_info,
    }
    for path, handler in handlers.items():
        app.router.add_get(_PREFIX + path, handler, allow_head=False)
    app.router.add_route("*", "/stores/{tail:.*}", unknown_route)
    app.router.add_get("/__sandbox/health", admin_health)
    app.router.add_get("/__sandbox/stats", admin_stats)
    app.router.add_post("/__sandbox/stats/reset", admin_stats_reset)
    app.router.add_post("/__sandbox/mutate", admin_mutate)
    app.router.add_get("/__sandbox/export/{resource}", admin_export)

    async def start_activity(app: web.Application) -> Any:
        task = asyncio.get_running_loop().create_task(_activity(sb)) if sb.settings.activity > 0 else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.cleanup_ctx.append(start_activity)
    return app


def bind(settings: Settings) -> socket.socket:
    """Bind the listening socket first, so the port (and so the links in records) is known up front."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


def base_url_of(sock: socket.socket, host: str) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = "127.0.0.1"
    return f"http://{shown}:{port}"


def connector_config(sb: Sandbox) -> dict[str, str]:
    """A ready config for source-bigcommerce: everything in the store was modified after start_date."""
    return {
        "api_url": sb.base_url,
        "store_hash": sb.settings.store_hash,
        "access_token": sb.settings.token,
        "start_date": time.strftime("%Y-%m-%d", time.gmtime(sb.store.basis.opened)),
    }


async def serve(sb: Sandbox, sock: socket.socket, stop: asyncio.Event, ready: Callable[[], None]) -> None:
    """Serve on an already bound socket until ``stop`` is set; ``ready`` runs once requests are accepted."""
    runner = web.AppRunner(build_app(sb), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        ready()
        await stop.wait()
    finally:
        await runner.cleanup()


# ------------------------------------------------------------------------------ running_sandbox


@dataclass
class RunningSandbox:
    """A sandbox served from a background thread; helpers talk to it over real HTTP."""

    url: str
    config: dict[str, str]
    settings: Settings

    def _call(self, path: str, payload: dict[str, Any] | None = None) -> bytes:
        data = None if payload is None else orjson.dumps(payload)
        req = urllib.request.Request(self.url + path, data=data, method="GET" if data is None else "POST")
        if data is not None:
            req.add_header("Content-Type", JSON)
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.read()  # type: ignore[no-any-return]

    def stats(self) -> dict[str, Any]:
        return orjson.loads(self._call("/__sandbox/stats"))  # type: ignore[no-any-return]

    def reset_stats(self) -> None:
        self._call("/__sandbox/stats/reset", {})

    def mutate(
        self,
        resource: str,
        update: int = 0,
        create: int = 0,
        delete: int = 0,
        archive: int = 0,
        bump_date_modified: bool = True,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"resource": resource, "update": update, "create": create, "delete": delete}
        if archive:
            body.update(archive=archive, bump_date_modified=bump_date_modified)
        return orjson.loads(self._call("/__sandbox/mutate", body))  # type: ignore[no-any-return]

    def export(self, resource: str) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.export_lines(resource)]

    def export_lines(self, resource: str) -> list[bytes]:
        return [line for line in self._call(f"/__sandbox/export/{resource}").split(b"\n") if line]

    def health(self) -> dict[str, Any]:
        return orjson.loads(self._call("/__sandbox/health"))  # type: ignore[no-any-return]


SandboxFactory = Callable[..., RunningSandbox]
"""The type of the ``sandbox_factory`` test fixture: Settings overrides in, a running sandbox out."""


@contextlib.contextmanager
def running_sandbox(settings: Settings | None = None) -> Iterator[RunningSandbox]:
    """Serve a sandbox on 127.0.0.1 (a free port unless ``settings.port`` says otherwise) in a background
    thread with its own event loop, for the length of the ``with`` block."""
    settings = settings or Settings()
    settings.validate()
    sock = bind(settings)
    base_url = base_url_of(sock, settings.host)
    ready = threading.Event()
    failure: list[BaseException] = []
    holder: dict[str, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()
        holder["loop"], holder["stop"] = loop, stop
        try:
            sb = make_sandbox(settings, base_url)
            holder["sb"] = sb
            loop.run_until_complete(serve(sb, sock, stop, ready.set))
        except BaseException as err:
            failure.append(err)
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="bigcommerce-sandbox", daemon=True)
    thread.start()
    ready.wait()
    if failure:
        sock.close()
        raise failure[0]
    handle = RunningSandbox(url=base_url, config=connector_config(holder["sb"]), settings=settings)
    try:
        yield handle
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(timeout=30)
        sock.close()
