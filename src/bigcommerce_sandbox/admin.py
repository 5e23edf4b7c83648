"""The admin routes (no auth, not rate limited; guarded against other sites by gate.admin_guard) and the
background ``--activity``: health, request statistics, mutations and the export."""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

from bigcommerce_sandbox.bodies import json_response
from bigcommerce_sandbox.mutations import mutate
from bigcommerce_sandbox.registry import EXPORTED
from bigcommerce_sandbox.sandbox import Sandbox, sandbox_of


async def admin_health(request: web.Request) -> web.Response:
    return json_response(b'{"status":"ok"}')


async def admin_stats(request: web.Request) -> web.Response:
    return json_response(orjson.dumps(sandbox_of(request).stats.as_json()))


async def admin_stats_reset(request: web.Request) -> web.Response:
    sandbox_of(request).stats.reset()
    return json_response(b'{"status":"ok"}')


_MUTATE_COUNTS = ("update", "create", "delete", "archive")


async def admin_mutate(request: web.Request) -> web.Response:
    sb = sandbox_of(request)
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
        result = mutate(sb.store, resource, now=sb.now(), bump_date_modified=bump, **counts)
    except (ValueError, orjson.JSONDecodeError) as err:
        return json_response(orjson.dumps({"status": 400, "title": str(err)}), 400)
    return json_response(orjson.dumps(result))


async def admin_export(request: web.Request) -> web.StreamResponse:
    sb = sandbox_of(request)
    resource = request.match_info["resource"]
    if resource not in EXPORTED:
        return json_response(orjson.dumps({"status": 404, "title": f"unknown resource {resource!r}"}), 404)
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


async def activity(sb: Sandbox) -> None:
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
            mutate(
                sb.store,
                resource,
                now=sb.now(),
                update=int(roll < 16),
                create=int(16 <= roll < 19),
                delete=int(roll >= 19),
            )
