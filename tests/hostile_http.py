"""A hostile BigCommerce on loopback: each route answers whatever a test scripts, however wrong.

The sandbox answers as BigCommerce does; this server answers as an attacker, a broken proxy or a buggy
gateway might: rate-limit headers that never reset, bodies that never end, gzip that expands a thousand
fold, records nested a thousand deep, error bodies that quote the token back. A test gives each API path
(``/v3/catalog/brands``, the part after ``/stores/{store_hash}``) a :data:`Reply`; a path nobody scripted
answers 404 as BigCommerce does. It runs aiohttp in a thread of its own, so the connector under test can
be the real console script in a child process.

Every request is recorded (:attr:`Hostile.requests`), so a test can say how many requests a case cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
import zlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

STORE_HASH = "hostile"
Reply = Callable[[web.Request], Awaitable[web.StreamResponse]]
"""What one request to a scripted path gets."""


@dataclass
class Hostile:
    url: str
    token: str
    routes: dict[str, Reply] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    """The API path of every request received, in order."""

    def config(self, **changes: Any) -> dict[str, Any]:
        """A connector config for this server."""
        return {
            "api_url": self.url,
            "store_hash": STORE_HASH,
            "access_token": self.token,
            "start_date": "2024-01-01",
            **changes,
        }


@contextlib.contextmanager
def hostile_server(token: str, routes: Mapping[str, Reply] = {}) -> Iterator[Hostile]:
    """Serve ``routes`` on a free loopback port until the block ends."""
    hostile = Hostile(url="", token=token, routes=dict(routes))
    prefix = f"/stores/{STORE_HASH}"

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.path.removeprefix(prefix)
        hostile.requests.append(path)
        reply = hostile.routes.get(path)
        if not request.path.startswith(prefix) or reply is None:
            return json_reply({"status": 404, "title": "Not Found"}, status=404)
        return await reply(request)

    loop = asyncio.new_event_loop()
    started = threading.Event()
    runner: web.AppRunner | None = None

    async def start() -> None:
        nonlocal runner
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handle)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        hostile.url = f"http://127.0.0.1:{port}"

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield hostile
    finally:
        if runner is not None:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


# -- replies -------------------------------------------------------------------------------------------------


def json_reply(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def v3_page(records: list[Any], total: int | None = None) -> dict[str, Any]:
    """A v3 list envelope; ``total`` defaults to the records given (one page)."""
    count = len(records)
    pages = {"total": count if total is None else total, "count": count, "per_page": 250, "current_page": 1}
    return {"data": records, "meta": {"pagination": {**pages, "total_pages": 1, "links": {}}}}


def always(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
    """The same JSON answer to every request."""

    async def reply(request: web.Request) -> web.StreamResponse:
        return json_reply(body, status, headers)

    return reply


def in_turn(*replies: Reply) -> Reply:
    """The first request gets the first reply, the next the next; the last repeats."""
    served = 0

    async def reply(request: web.Request) -> web.StreamResponse:
        nonlocal served
        chosen = replies[min(served, len(replies) - 1)]
        served += 1
        return await chosen(request)

    return reply


def raw_reply(body: bytes, headers: Mapping[str, str], status: int = 200) -> Reply:
    """``body`` sent as it is, with ``headers`` (a ``Content-Encoding``, say)."""

    async def reply(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, status=status, headers={"Content-Type": "application/json", **headers})

    return reply


def endless(chunk: bytes = b" " * 65536) -> Reply:
    """A chunked body that never ends: ``chunk`` after ``chunk`` until the client hangs up."""

    async def reply(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await response.write(b'{"data": [')
            while True:
                await response.write(chunk)
        return response

    return reply


def big_records(count: int, size: int, total: int) -> Reply:
    """A v3 page of ``count`` records of ``size`` bytes each, claiming ``total`` records in all: written as
    it is sent, so the server holds none of it."""

    async def reply(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        padding = b"x" * size
        with contextlib.suppress(ConnectionError, RuntimeError):
            await response.write(b'{"data": [')
            for number in range(count):
                separator = b"," if number else b""
                await response.write(separator + b'{"id": %d, "name": "' % (number + 1) + padding + b'"}')
            meta = {"pagination": {"total": total, "count": count, "per_page": 250, "current_page": 1}}
            await response.write(b'], "meta": ' + orjson.dumps(meta) + b"}")
            await response.write_eof()
        return response

    return reply


def gzip_bomb(gib: int = 2) -> bytes:
    """A valid gzip stream of ``gib`` GiB of zeros in about ``gib`` MB: one MiB of zeros compressed with a
    full flush (so each block stands alone) repeated, then the gzip trailer of the whole."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    mib = bytes(1 << 20)
    for _ in range(gib << 10):
        crc = zlib.crc32(mib, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    final = b"\x03\x00"  # an empty last block
    return header + block * (gib << 10) + final + struct.pack("<II", crc, (gib << 30) & 0xFFFFFFFF)


def deep_page(depth: int) -> bytes:
    """A v3 page whose one record holds a value ``depth`` lists deep: written by hand, as orjson itself
    refuses to write more than 254 levels."""
    record = b'{"id": 1, "name": "deep", "nested": ' + b"[" * depth + b"]" * depth + b"}"
    return b'{"data": [' + record + b'], "meta": {"pagination": {"total": 1, "count": 1, "per_page": 250}}}'


def windowed(records: list[dict[str, Any]]) -> Reply:
    """A v3 list that honours ``date_modified:min``/``:max`` and ``id:greater``, as the connector's incremental
    windows ask (records are given oldest first, with RFC 3339 ``Z`` dates, which compare as text)."""

    async def reply(request: web.Request) -> web.StreamResponse:
        lo = request.query.get("date_modified:min", "")
        hi = request.query.get("date_modified:max", "~")
        after = int(request.query.get("id:greater", "-1"))
        chosen = [r for r in records if lo <= r["date_modified"] <= hi and r["id"] > after]
        return json_reply(v3_page(chosen))

    return reply
