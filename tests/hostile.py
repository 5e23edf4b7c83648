"""A small BigCommerce that misbehaves on purpose, served over real HTTP on loopback.

It answers every endpoint the connector reads from an in-memory :class:`Store` a test builds and changes,
the way BigCommerce does (v3 envelopes with ``meta.pagination``, customers' cursor pagination, v2 arrays
with 204 for an empty page, ``/v2/orders/count``, the consignments include cut at 50 line items with
``__warning__``), except where its :class:`Misbehaviour` says otherwise. Each misbehaviour is one field, so a
test names exactly the fault it needs::

    with hostile_server(Store.build(customers=300), Misbehaviour(cap=40)) as server:
        output = read(server.config)
        assert server.requests["/v3/customers"] <= ...

``server.requests`` counts the requests per route, ``server.store`` is the ground truth (``export(stream)``
gives each record as its list endpoint serves it), and the store's ``update``/``create``/``archive`` change
it between reads. Only the parameters the connector sends are understood; the bigcommerce-sandbox is the
faithful fake, this one is the hostile one.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

SERVED = (
    "customers", "orders", "transactions", "pages", "products", "channels", "store", "order_products", "brands",
    "categories",
)  # fmt: skip
"""The streams this server answers: the first ten, whose misreadings it was built to provoke; the faithful
(and the strict) sandbox serves the others."""
STORE_HASH = "hostile"
TOKEN = "tok-hostile-5Jq8Rw2Zx"
V3_DATED = ("customers", "products", "channels")
V3_PLAIN = {
    "pages": "/v3/content/pages",
    "brands": "/v3/catalog/brands",
    "categories": "/v3/catalog/categories",
}
LINE_ITEMS_PER_CONSIGNMENT = 50
"""BigCommerce embeds at most this many line items in one consignment (bigcommerce/docs issue #960)."""


@dataclass(frozen=True)
class Misbehaviour:
    """What the server gets wrong; the default gets nothing wrong."""

    cap: int | None = None
    """Every list serves at most this many records a page, numbers its pages by that size, and says so in
    ``meta.pagination.per_page`` (v3), as BigCommerce does for products with ``include=options``."""
    repeat: Mapping[str, int] = field(default_factory=dict)
    """Route -> a page number answered with page 1 instead."""
    ignore_page: frozenset[str] = frozenset()
    """Routes answering every page as page 1."""
    ignore_cursor: frozenset[str] = frozenset()
    """Routes ignoring ``after``, ``id:greater`` and ``min_id``."""
    ignore_sort: frozenset[str] = frozenset()
    """Routes serving their records in id order whatever ``sort`` asks (the date filters still hold)."""
    ignore_min_date: bool = False
    """``/v2/orders`` ignores ``min_date_modified``, the lower bound of its keyset walk."""
    duplicate_data: frozenset[str] = frozenset()
    """v3 routes whose envelope ends with a second, empty ``"data"`` key (JSON parsers keep the last)."""
    bare_pagination: frozenset[str] = frozenset()
    """v3 routes whose ``meta.pagination`` says only ``count``, ``current_page`` and ``links.next`` (on every
    page but the last, whose ``links`` are empty): no ``total``, ``per_page``, ``total_pages`` nor
    ``links.current``."""
    total_short: Mapping[str, int] = field(default_factory=dict)
    """v3 route -> records left out of ``meta.pagination.total`` (its pages and links still tell the truth)."""
    count_extra: int = 0
    """Added to every ``/v2/orders/count``: a count that never reconciles with the list."""
    heavy_items: int | None = None
    """A ``/v2/orders`` page embedding more line items than this answers 500."""
    hide_archived: bool = False
    """``/v2/orders`` and its count leave archived orders out unless asked ``is_deleted=true``."""
    honour_is_deleted: bool = True
    """``is_deleted=true`` lists (and counts) archived orders only; False: the parameter is ignored."""
    archive_moves_date: bool = True
    """Archiving an order sets its ``date_modified`` to now."""
    unstable_ties: bool = False
    """Records sharing a second come back in reverse id order on every page after the first."""
    paged_transactions: int | None = None
    """``/v3/orders/{id}/transactions`` serves this many a page, numbered by ``page``, with ``links.next`` and
    ``total_pages`` but no ``total``."""
    clock_offset_s: int = 0
    """The ``Date`` header is this far from the real clock."""
    churn: Mapping[str, int] = field(default_factory=dict)
    """Route -> a page number: just before answering it (once), the list's first record is deleted and a
    record is created in the second of the first ``Date`` this server sent (the read's start, when the
    server's clock is behind the reader's): one record leaves a page already read as one arrives."""
    edited_order: int | None = None
    """An order id: just after its transactions are first answered, its last one is deleted and the order is
    modified in the second of the first ``Date`` this server sent (the read's start, when the server's clock is
    behind the reader's), so a walk that read it before reads it again in that second."""


def rfc2822(second: int) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(second))


def iso(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))


def _second(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


@dataclass
class Store:
    """The records, by stream and id. Orders carry ``items`` (line items) and ``transactions``."""

    records: dict[str, dict[int, dict[str, Any]]]
    next_id: int = 100_000

    @classmethod
    def build(
        cls,
        *,
        customers: int = 0,
        products: int = 0,
        orders: int = 0,
        channels: int = 0,
        pages: int = 0,
        brands: int = 0,
        categories: int = 0,
        tie: int = 0,
        archived: tuple[int, ...] = (),
        big_orders: tuple[int, ...] = (),
        anchor: int | None = None,
    ) -> Store:
        """Records last modified one a second from ``anchor`` (an hour ago by default), except the first
        ``tie`` of each dated stream, which share its first second. ``archived`` order ids are archived;
        ``big_orders`` ids hold 60 line items (more than a consignment embeds), the others 1 to 3."""
        base = anchor if anchor is not None else int(time.time()) - 3600
        records: dict[str, dict[int, dict[str, Any]]] = {}
        sizes = {"customers": customers, "products": products, "orders": orders, "channels": channels}
        for stream, size in sizes.items():
            records[stream] = {
                i: {"id": i, "modified": base + max(0, i - tie), "created": base - 86_400 + i}
                for i in range(1, size + 1)
            }
        for i, order in records["orders"].items():
            lines = 60 if i in big_orders else 1 + i % 3
            order["archived"] = i in archived
            order["items"] = [
                {
                    "id": i * 1000 + k,
                    "order_id": i,
                    "product_id": k,
                    "quantity": 1 + k % 2,
                    "name": f"item {k}",
                }
                for k in range(1, lines + 1)
            ]
            order["transactions"] = [
                {
                    "id": i * 10 + k,
                    "order_id": str(i),
                    "date_created": iso(order["created"]),
                    "amount": "1.00",
                }
                for k in range(1, i % 3 + 1)
            ]
        for stream, size in (("pages", pages), ("brands", brands), ("categories", categories)):
            records[stream] = {i: {"id": i, "name": f"{stream} {i}"} for i in range(1, size + 1)}
        return cls(records)

    def touch(self, stream: str, ids: list[int], now: int | None = None) -> None:
        for rid in ids:
            self.records[stream][rid]["modified"] = now or int(time.time())

    def create(self, stream: str, now: int | None = None) -> int:
        self.next_id += 1
        stamp = now or int(time.time())
        record: dict[str, Any] = {"id": self.next_id, "modified": stamp, "created": stamp}
        if stream == "orders":
            record.update(archived=False, transactions=[])
            record["items"] = [{"id": self.next_id * 1000 + 1, "order_id": self.next_id, "quantity": 1}]
        self.records[stream][self.next_id] = record
        return self.next_id

    def archive(self, order_id: int, *, moves_date: bool) -> None:
        order = self.records["orders"][order_id]
        order["archived"] = True
        if moves_date:
            order["modified"] = int(time.time())

    def render(self, stream: str, rid: int, *, expand: bool = False, base_url: str = "") -> dict[str, Any]:
        """A record as its list endpoint serves it (orders with their consignments when ``expand``)."""
        record = self.records[stream][rid]
        if stream in V3_PLAIN:
            return dict(record)
        if stream != "orders":
            return {
                "id": rid,
                "name": f"{stream} {rid}",
                "date_created": iso(record["created"]),
                "date_modified": iso(record["modified"]),
            }
        items = record["items"]
        rendered: dict[str, Any] = {
            "id": rid,
            "date_created": rfc2822(record["created"]),
            "date_modified": rfc2822(record["modified"]),
            "items_total": sum(item["quantity"] for item in items),
            "is_deleted": record["archived"],
        }
        if expand:
            consignment: dict[str, Any] = {"id": 1, "line_items": items[:LINE_ITEMS_PER_CONSIGNMENT]}
            if len(items) > LINE_ITEMS_PER_CONSIGNMENT:
                consignment["__warning__"] = "line items are cut at 50; read /orders/{id}/products"
            rendered["consignments"] = {
                "shipping": [consignment],
                "pickups": [],
                "downloads": [],
                "email": {"gift_certificates": []},
            }
        else:
            resource = f"/orders/{rid}/consignments"
            rendered["consignments"] = {
                "url": f"{base_url}/stores/{STORE_HASH}/v2{resource}",
                "resource": resource,
            }
        return rendered

    def export(self, stream: str, base_url: str = "") -> list[dict[str, Any]]:
        """Every record of a stream as the API serves it; children are those of every order."""
        if stream == "order_products":
            return [dict(item) for order in self.records["orders"].values() for item in order["items"]]
        if stream == "transactions":
            return [dict(t) for order in self.records["orders"].values() for t in order["transactions"]]
        if stream == "store":
            return [{"id": STORE_HASH, "name": "Hostile"}]
        return [self.render(stream, rid, base_url=base_url) for rid in sorted(self.records[stream])]


class Hostile:
    """The aiohttp application: the store behind the routes, through the misbehaviour."""

    def __init__(self, store: Store, misbehaviour: Misbehaviour) -> None:
        self.store = store
        self.bad = misbehaviour
        self.requests: Counter[str] = Counter()
        self.asked: list[tuple[str, dict[str, str]]] = []
        """Every request: its route and query."""
        self.lock = threading.Lock()
        self.base_url = ""
        self.first_date: int | None = None
        """The second of the first ``Date`` header sent."""
        self.churned: set[str] = set()
        self.edited = False

    def app(self) -> web.Application:
        app = web.Application()
        prefix = f"/stores/{STORE_HASH}"
        for stream in V3_DATED:
            app.router.add_get(f"{prefix}/v3/{stream}", self._v3_list(stream, f"/v3/{stream}"))
        app.router.add_get(f"{prefix}/v3/catalog/products", self._v3_list("products", "/v3/catalog/products"))
        for stream, route in V3_PLAIN.items():
            app.router.add_get(f"{prefix}{route}", self._v3_list(stream, route))
        app.router.add_get(f"{prefix}/v2/orders", self._orders)
        app.router.add_get(f"{prefix}/v2/orders/count", self._orders_count)
        app.router.add_get(f"{prefix}/v2/orders/{{id}}/products", self._order_products)
        app.router.add_get(f"{prefix}/v3/orders/{{id}}/transactions", self._transactions)
        app.router.add_get(f"{prefix}/v2/store", self._store)
        return app

    # -- the pieces every list shares ----------------------------------------------------------------

    def _count(self, route: str, query: Mapping[str, str] | None = None) -> None:
        self.requests[route] += 1
        self.asked.append((route, dict(query or {})))

    def _json(self, body: bytes, status: int = 200) -> web.Response:
        now = int(time.time() + self.bad.clock_offset_s)
        if self.first_date is None:
            self.first_date = now
        date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now))
        return web.Response(body=body, status=status, content_type="application/json", headers={"Date": date})

    def _window(self, stream: str, query: Mapping[str, str], lo_key: str, hi_key: str) -> list[int]:
        rows = self.store.records[stream]
        lo = _second(query[lo_key]) if lo_key in query else None
        hi = _second(query[hi_key]) if hi_key in query else None
        return [
            rid
            for rid, r in rows.items()
            if (lo is None or r["modified"] >= lo) and (hi is None or r["modified"] <= hi)
        ]

    def _sorted(self, stream: str, ids: list[int], by_date: bool, page: int) -> list[int]:
        rows = self.store.records[stream]
        if not by_date:
            return sorted(ids)
        flip = -1 if self.bad.unstable_ties and page > 1 else 1
        return sorted(ids, key=lambda rid: (rows[rid]["modified"], flip * rid))

    def _paging(self, route: str, query: Mapping[str, str]) -> tuple[int, int]:
        """(page, served page size) as the misbehaviour answers them."""
        limit = int(query.get("limit", "50"))
        served = min(limit, self.bad.cap) if self.bad.cap else limit
        page = int(query.get("page", "1"))
        if route in self.bad.ignore_page or self.bad.repeat.get(route) == page:
            page = 1
        return page, served

    # -- v3 ------------------------------------------------------------------------------------------

    def _v3_list(self, stream: str, route: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            with self.lock:
                self._count(route, request.query)
                return self._v3(stream, route, dict(request.query))

        return handler

    def _v3(self, stream: str, route: str, query: dict[str, str]) -> web.Response:
        if self.bad.churn.get(route) == int(query.get("page", "1")) and route not in self.churned:
            self.churned.add(route)
            del self.store.records[stream][min(self.store.records[stream])]
            self.store.create(stream, now=self.first_date)
        ignore = route in self.bad.ignore_cursor
        dated = stream in V3_DATED
        ids = (
            self._window(stream, query, "date_modified:min", "date_modified:max")
            if dated
            else sorted(self.store.records[stream])
        )
        by_date = (
            dated
            and route not in self.bad.ignore_sort
            and (
                query.get("sort") == "date_modified:asc"
                or (query.get("sort") == "date_modified" and query.get("direction") == "asc")
            )
        )
        if "id:greater" in query and not ignore:
            ids = [rid for rid in ids if rid > int(query["id:greater"])]
        page, served = self._paging(route, query)
        if "after" in query:
            after = 0 if ignore else int(query["after"])
            chosen = [rid for rid in sorted(ids) if rid > after][:served]
            meta: dict[str, Any] = {"cursor_pagination": self._cursor_meta(chosen, served, ids)}
        else:
            ordered = self._sorted(stream, ids, by_date, page)
            chosen = ordered[(page - 1) * served : page * served]
            pages = math.ceil(len(ids) / served)
            links = {"current": f"?page={page}&limit={served}"}
            if page < pages:
                links["next"] = f"?page={page + 1}&limit={served}"
            meta = {
                "pagination": {
                    "total": len(ids) - self.bad.total_short.get(route, 0),
                    "count": len(chosen),
                    "per_page": served,
                    "current_page": page,
                    "total_pages": pages,
                    "links": links,
                }
            }
            if route in self.bad.bare_pagination:
                meta["pagination"] = {
                    "count": len(chosen),
                    "current_page": page,
                    "links": {"next": links["next"]} if "next" in links else {},
                }
            if stream == "customers" and page == 1:
                meta["cursor_pagination"] = self._cursor_meta(chosen, served, ids)
        data = [self.store.render(stream, rid) for rid in chosen]
        body = orjson.dumps({"data": data, "meta": meta})
        if route in self.bad.duplicate_data:
            body = body[:-1] + b',"data":[]}'
        return self._json(body)

    @staticmethod
    def _cursor_meta(chosen: list[int], served: int, ids: list[int]) -> dict[str, Any]:
        """customers.v3.yml cursor_pagination; a cursor is the last id served (opaque to the client)."""
        meta: dict[str, Any] = {"count": len(chosen), "per_page": served, "links": {}}
        if chosen:
            meta["start_cursor"], meta["end_cursor"] = str(chosen[0]), str(chosen[-1])
            if max(ids) > chosen[-1]:
                meta["links"]["next"] = f"?after={chosen[-1]}&limit={served}"
        return meta

    # -- v2 orders -----------------------------------------------------------------------------------

    def _orders_in(self, query: Mapping[str, str], route: str) -> list[int]:
        lo_key = "ignored" if self.bad.ignore_min_date else "min_date_modified"
        ids = self._window("orders", query, lo_key, "max_date_modified")
        rows = self.store.records["orders"]
        asked = query.get("is_deleted") == "true" and self.bad.honour_is_deleted
        if asked:
            ids = [rid for rid in ids if rows[rid]["archived"]]
        elif self.bad.hide_archived:
            ids = [rid for rid in ids if not rows[rid]["archived"]]
        if "min_id" in query and route not in self.bad.ignore_cursor:
            ids = [rid for rid in ids if rid >= int(query["min_id"])]
        return ids

    async def _orders(self, request: web.Request) -> web.Response:
        route = "/v2/orders"
        query = dict(request.query)
        with self.lock:
            self._count(route, query)
            ids = self._orders_in(query, route)
            page, served = self._paging(route, query)
            by_date = query.get("sort") == "date_modified:asc" and route not in self.bad.ignore_sort
            ordered = self._sorted("orders", ids, by_date, page)
            chosen = ordered[(page - 1) * served : page * served]
            expand = query.get("include") == "consignments.line_items"
            if expand and self.bad.heavy_items is not None:
                items = sum(len(self.store.records["orders"][rid]["items"]) for rid in chosen)
                if items > self.bad.heavy_items:
                    return self._json(b'[{"status":500,"message":"Internal Server Error"}]', 500)
            rows = [self.store.render("orders", rid, expand=expand, base_url=self.base_url) for rid in chosen]
        return self._json(orjson.dumps(rows)) if rows else web.Response(status=204)

    async def _orders_count(self, request: web.Request) -> web.Response:
        with self.lock:
            self._count("/v2/orders/count", request.query)
            count = len(self._orders_in(dict(request.query), "/v2/orders/count")) + self.bad.count_extra
        return self._json(orjson.dumps({"statuses": [], "count": count}))

    async def _order_products(self, request: web.Request) -> web.Response:
        route = "/v2/orders/{id}/products"
        with self.lock:
            self._count(route, request.query)
            order = self.store.records["orders"].get(int(request.match_info["id"]))
            if order is None:
                return self._json(b'[{"status":404,"message":"The requested resource was not found."}]', 404)
            page, served = self._paging(route, request.query)
            rows = order["items"][(page - 1) * served : page * served]
        return self._json(orjson.dumps(rows)) if rows else web.Response(status=204)

    async def _transactions(self, request: web.Request) -> web.Response:
        with self.lock:
            self._count("/v3/orders/{id}/transactions")
            order_id = int(request.match_info["id"])
            order = self.store.records["orders"].get(order_id)
            rows = [] if order is None else list(order["transactions"])
            if order is not None and order_id == self.bad.edited_order and not self.edited:
                self.edited = True
                order["transactions"].pop()
                order["modified"] = self.first_date
        if not rows:
            return web.Response(status=204)
        per_page = self.bad.paged_transactions
        if per_page is None:
            meta = {"pagination": {"total": len(rows), "count": len(rows), "per_page": 50, "current_page": 1}}
            return self._json(orjson.dumps({"data": rows, "meta": meta}))
        page = int(request.query.get("page", "1"))
        pages = math.ceil(len(rows) / per_page)
        chosen = rows[(page - 1) * per_page : page * per_page]
        links = {"next": f"?page={page + 1}&limit={per_page}"} if page < pages else {}
        pagination = {"count": len(chosen), "per_page": per_page, "current_page": page, "total_pages": pages}
        return self._json(
            orjson.dumps({"data": chosen, "meta": {"pagination": {**pagination, "links": links}}})
        )

    async def _store(self, request: web.Request) -> web.Response:
        with self.lock:
            self._count("/v2/store")
        return self._json(orjson.dumps(self.store.export("store")[0]))


@dataclass
class RunningHostile:
    url: str
    config: dict[str, Any]
    server: Hostile

    @property
    def store(self) -> Store:
        return self.server.store

    @property
    def requests(self) -> Counter[str]:
        return self.server.requests

    def export(self, stream: str) -> list[dict[str, Any]]:
        with self.server.lock:
            return self.store.export(stream, self.url)

    def change(self, work: Any) -> Any:
        """Run ``work(store)`` under the server's lock (the server answers from its own thread)."""
        with self.server.lock:
            return work(self.store)


@contextlib.contextmanager
def hostile_server(store: Store, misbehaviour: Misbehaviour | None = None) -> Iterator[RunningHostile]:
    """Serve ``store`` on a free loopback port from a background thread, for the ``with`` block."""
    hostile = Hostile(store, misbehaviour or Misbehaviour())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    hostile.base_url = url
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def serve() -> None:
        runner = web.AppRunner(hostile.app(), access_log=None, handle_signals=False)
        await runner.setup()
        holder["stop"] = asyncio.Event()
        try:
            await web.SockSite(runner, sock).start()
            ready.set()
            await holder["stop"].wait()
        finally:
            await runner.cleanup()
            # A connection whose request the client cancelled can outlive the runner's cleanup (aiohttp no
            # longer tracks it); it must not outlive this loop, or it is closed by the garbage collector.
            loop = asyncio.get_running_loop()
            for stray in gc.get_objects():
                if isinstance(stray, asyncio.Transport) and getattr(stray, "_loop", None) is loop:
                    stray.abort()
            await asyncio.sleep(0)

    def run() -> None:
        loop = asyncio.new_event_loop()
        holder["loop"] = loop
        try:
            loop.run_until_complete(serve())
        finally:
            ready.set()
            loop.close()

    thread = threading.Thread(target=run, name="hostile-bigcommerce", daemon=True)
    thread.start()
    ready.wait()
    oldest = min(
        (r["modified"] for rows in store.records.values() for r in rows.values() if "modified" in r),
        default=int(time.time()) - 86_400,
    )
    config = {
        "api_url": url,
        "store_hash": STORE_HASH,
        "access_token": TOKEN,
        "start_date": iso(oldest - 86_400),
    }
    try:
        yield RunningHostile(url, config, hostile)
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(timeout=30)
        sock.close()
