"""The sandbox's HTTP face: the aiohttp application its registry's routes make, and ways to serve it.

Every request under ``/stores/`` passes the gate (gate.py) and then the route its resource's kind gives
(routes.py, orders_routes.py); the admin routes are in admin.py. ``running_sandbox(settings)`` serves a
store from a background thread for tests; cli.py serves one in the foreground. Nothing here is global:
each server owns its store, limiter, fault plan and stats (sandbox.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from bigcommerce_sandbox import admin, orders_routes
from bigcommerce_sandbox.bodies import JSON
from bigcommerce_sandbox.gate import PREFIX, admin_guard, gate
from bigcommerce_sandbox.registry import REGISTRY, Resource
from bigcommerce_sandbox.routes import Handler, list_route, object_route, per_parent_route, unknown_route
from bigcommerce_sandbox.sandbox import SANDBOX, Sandbox, make_sandbox
from bigcommerce_sandbox.settings import Settings, is_loopback

__all__ = [
    "RunningSandbox",
    "Sandbox",
    "SandboxFactory",
    "Settings",
    "base_url_of",
    "bind",
    "build_app",
    "connector_config",
    "is_loopback",
    "make_sandbox",
    "running_sandbox",
    "serve",
]


def handlers_of(entry: Resource) -> tuple[Handler, ...]:
    """The handler of each of ``entry.routes``, by the entry's kind."""
    if entry.per_parent:
        return (per_parent_route(entry),)
    if entry.kind == "orders":
        return (orders_routes.orders, orders_routes.orders_count, orders_routes.order_one)
    if entry.kind == "order_child":
        return (orders_routes.child_route(entry),)
    if entry.kind == "object":
        return (object_route(entry),)
    if entry.kind == "embedded":
        return ()
    return (list_route(entry),)


def build_app(sb: Sandbox) -> web.Application:
    app = web.Application(middlewares=[admin_guard, gate])
    app[SANDBOX] = sb
    for entry in REGISTRY:
        for path, handler in zip(entry.routes, handlers_of(entry), strict=True):
            app.router.add_get(PREFIX + path, handler, allow_head=False)
    app.router.add_route("*", "/stores/{tail:.*}", unknown_route)
    app.router.add_get("/__sandbox/health", admin.admin_health)
    app.router.add_get("/__sandbox/stats", admin.admin_stats)
    app.router.add_post("/__sandbox/stats/reset", admin.admin_stats_reset)
    app.router.add_post("/__sandbox/mutate", admin.admin_mutate)
    app.router.add_get("/__sandbox/export/{resource}", admin.admin_export)

    async def start_activity(app: web.Application) -> Any:
        task = (
            asyncio.get_running_loop().create_task(admin.activity(sb)) if sb.settings.activity > 0 else None
        )
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
