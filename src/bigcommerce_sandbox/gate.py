"""The gate every API request passes, in BigCommerce's order, and the guard of the admin routes.

Unknown store hash (404), then the ``X-Auth-Token`` (401), then the OAuth scope of the route (403), then
the store's rate limit (429), latency and injected faults, and only then the route itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from bigcommerce_sandbox.bodies import (
    FORBIDDEN,
    JSON,
    SERVER_ERRORS,
    TOO_MANY,
    UNAUTHORIZED,
    json_response,
    not_found,
    versioned_error,
)
from bigcommerce_sandbox.faults import FaultRule
from bigcommerce_sandbox.registry import ROUTE_SCOPES
from bigcommerce_sandbox.sandbox import SANDBOX, Sandbox
from bigcommerce_sandbox.settings import is_loopback

PREFIX = "/stores/{store_hash}"
SCOPE_BY_TEMPLATE = {PREFIX + path: scope for path, scope in ROUTE_SCOPES.items()}


def _admin_refusal(request: web.Request, sb: Sandbox) -> web.Response | None:
    """Why an admin request is refused, if it is: the routes have no auth, so a web page the user visits
    must not reach them. A browser names the page's site in ``Origin`` on every cross-site POST, and a
    page cannot send a JSON body (or any custom header) cross-site without a CORS preflight, which the
    sandbox never grants; a ``Host`` other than loopback means DNS rebinding."""
    if not sb.settings.allow_remote and not is_loopback(urlsplit("//" + request.host).hostname):
        return json_response(
            orjson.dumps({"status": 403, "title": "admin routes answer loopback hosts only"}), 403
        )
    if request.method != "POST":
        return None
    origin = request.headers.get("Origin")
    if origin is not None and not is_loopback(urlsplit(origin).hostname):
        return json_response(orjson.dumps({"status": 403, "title": "cross-site requests are refused"}), 403)
    authorised = request.headers.get("X-Auth-Token") == sb.settings.token
    if request.can_read_body and request.content_type != JSON and not authorised:
        title = "send the body as application/json (or with the X-Auth-Token header)"
        return json_response(orjson.dumps({"status": 415, "title": title}), 415)
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


def version_of(path: str) -> str:
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
    if template not in SCOPE_BY_TEMPLATE:
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
    version = version_of(path)
    parts = path.split("/", 3)
    response: web.StreamResponse | None = None
    limit_headers: dict[str, str] | None = None
    fault: FaultRule | None = None
    if len(parts) < 3 or parts[2] != settings.store_hash:
        response = not_found(version)
    elif request.headers.get("X-Auth-Token") != settings.token:
        response = json_response(UNAUTHORIZED, 401)
    elif template in SCOPE_BY_TEMPLATE and SCOPE_BY_TEMPLATE[template] not in sb.granted:
        response = json_response(FORBIDDEN, 403)
    else:
        verdict = sb.limiter.acquire()
        limit_headers = verdict.headers
        if not verdict.allowed:
            sb.stats.rate_limited += 1
            response = json_response(TOO_MANY, 429)
        else:
            fault = sb.faults.decide(path[len(parts[0]) + len(parts[1]) + len(parts[2]) + 2 :], request.query)
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
            return json_response(TOO_MANY, 429)
        if fault is not None and fault.kind.isdigit():
            code = int(fault.kind)
            response = versioned_error(version, code, SERVER_ERRORS[code])
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
        out = json_response(body[: max(1, len(body) // 2)] + b"\x00<html>", 200)
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
