"""The children of an orders page: order products and transactions, fetched with the fewest requests.

Order products come with the orders page itself through
``include=consignments.line_items&consignment_structure=object`` (reference/orders.v2.oas2.yml,
``order_includes``): one request per 250 orders instead of one per order. The line items are flattened
across shipping, pickup, download and gift-certificate consignments. BigCommerce embeds at most 50 line
items per consignment and marks a cut consignment with an undocumented ``__warning__`` (bigcommerce/docs
issue #960); such an order, and any order whose line-item quantities do not add up to its
``items_total``, is read from ``/v2/orders/{id}/products`` instead, page by page until the quantities add
up (or an empty page), at the page size the API serves, each page bringing products not read yet.

Transactions have no bulk endpoint: ``/v3/orders/{id}/transactions`` is asked once per order, all orders
of a page at once (the client's concurrency limit and the rate governor pace them). 204 means the order
has none (reference/orders.v3.yml, getOrderTransactions).

An order that disappears between its page and its children's request (404) is skipped with a log line;
any other failure fails that child stream only, and the orders and the other child keep going. A child
stream that has failed is asked nothing more: its requests still queued are cancelled and later pages
skip it. While one of its requests retries, the others wait for its verdict (:class:`http.Breaker`), so a
payment service that is down (503 on every transactions request) costs one request's retries and the
requests already in flight, not retries for every order of the page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from source_bigcommerce.errors import ConnectorError
from source_bigcommerce.http import Breaker, Client, Log, NotFound
from source_bigcommerce.paging import (
    STOPS,
    Children,
    Failures,
    Incomplete,
    Normalize,
    Record,
    UnexpectedResponse,
    ignored,
    modified_at,
)

CONSIGNMENT_INCLUDE: Mapping[str, str] = {
    "include": "consignments.line_items",
    # The default array structure is legacy and may be dropped (reference/bigcommerce-api-facts.md §2).
    "consignment_structure": "object",
}
CONSIGNMENT_KINDS = ("shipping", "pickups", "downloads")


def line_items(order: Record) -> list[Record] | None:
    """The order's products from its expanded consignments; None when they cannot be trusted whole."""
    consignments = order.get("consignments")
    if not isinstance(consignments, dict):
        return None
    groups: list[Any] = [consignments.get(kind) or [] for kind in CONSIGNMENT_KINDS]
    email = consignments.get("email")
    groups.append(email.get("gift_certificates") or [] if isinstance(email, dict) else [])
    items: dict[int, Record] = {}
    for group in groups:
        if not isinstance(group, list):
            return None
        for consignment in group:
            if not isinstance(consignment, dict) or "__warning__" in consignment:
                return None
            for item in consignment.get("line_items") or []:
                if not isinstance(item, dict) or "id" not in item:
                    return None  # links instead of objects: the include was not honoured
                items.setdefault(item["id"], item)
    quantity = sum(int(item.get("quantity") or 0) for item in items.values())
    if quantity != int(order.get("items_total") or 0):
        return None
    return list(items.values())


@dataclass
class OrderChildren:
    """The page hook of the orders walk (see paging.PageHook)."""

    client: Client
    api_url: str
    store_hash: str
    since: Mapping[str, int]
    """Child stream -> first ``date_modified`` second whose orders need their children read."""
    normalize: Mapping[str, Normalize]
    log: Log
    failed: dict[str, ConnectorError] = field(default_factory=dict)
    """Child streams that have failed, and why: every later page reports them failed too."""
    breakers: dict[str, Breaker] = field(
        default_factory=lambda: {"order_products": Breaker(), "transactions": Breaker()}
    )
    """One per child stream: its requests retry one at a time and give up together (http.Breaker)."""
    _pending: dict[str, set[asyncio.Future[list[Record]]]] = field(default_factory=dict)

    def _start(self, stream: str, work: Coroutine[Any, Any, list[Record]]) -> asyncio.Future[list[Record]]:
        job = asyncio.ensure_future(work)
        pending = self._pending.setdefault(stream, set())
        pending.add(job)
        job.add_done_callback(lambda done: self._finished(stream, done))
        return job

    def _finished(self, stream: str, job: asyncio.Future[list[Record]]) -> None:
        self._pending[stream].discard(job)
        if job.cancelled():
            return
        error = job.exception()
        if isinstance(error, ConnectorError) and not isinstance(error, NotFound):
            self.failed.setdefault(stream, error)
            for other in self._pending[stream]:
                other.cancel()

    def _link(self, order_id: int) -> dict[str, str]:
        resource = f"/orders/{order_id}/consignments"
        return {"url": f"{self.api_url}/stores/{self.store_hash}/v2{resource}", "resource": resource}

    async def __call__(self, orders: list[Record]) -> tuple[Children, Failures]:
        children: Children = {}
        jobs: list[tuple[str, int, asyncio.Future[list[Record]]]] = []
        wanted = {name: since for name, since in self.since.items() if name not in self.failed}
        for order in orders:
            order_id = order["id"]
            modified = modified_at(order)
            expanded = "order_products" in self.since and isinstance(order.get("consignments"), dict)
            items = line_items(order) if expanded else None
            if expanded:
                # The orders stream carries the link, as /v2/orders answers without the include.
                order["consignments"] = self._link(order_id)
            if "order_products" in wanted and modified >= wanted["order_products"]:
                if items is not None:
                    try:
                        for item in items:
                            self.normalize["order_products"](item)
                    except ConnectorError as error:  # an unreadable date: that child stream fails alone
                        self.failed.setdefault("order_products", error)
                        wanted.pop("order_products", None)
                    else:
                        children.setdefault(order_id, {})["order_products"] = items
                else:
                    products = self._products(order_id, int(order.get("items_total") or 0))
                    jobs.append(("order_products", order_id, self._start("order_products", products)))
            if "transactions" in wanted and modified >= wanted["transactions"]:
                jobs.append(
                    ("transactions", order_id, self._start("transactions", self._transactions(order_id)))
                )
        results = await asyncio.gather(*(job for _, _, job in jobs), return_exceptions=True)
        for (stream, order_id, _), result in zip(jobs, results, strict=True):
            if isinstance(result, NotFound):
                self.log("INFO", f"{stream}: order {order_id} no longer exists; its {stream} are skipped.")
            elif isinstance(result, ConnectorError):
                self.failed.setdefault(stream, result)
            elif isinstance(result, asyncio.CancelledError):
                continue  # cancelled because its stream failed: in self.failed, reported below
            elif isinstance(result, BaseException):
                raise result
            else:
                children.setdefault(order_id, {})[stream] = result
        # A child stream that failed here, or on another page, is failed on this page too: its records
        # here may be incomplete, and its cursor must not move past them.
        failures: Failures = {name: error for name, error in self.failed.items() if name in self.since}
        return children, failures

    async def _products(self, order_id: int, items_total: int) -> list[Record]:
        """All of an order's products, page by page.

        The list ends at an empty page (204, as on every v2 list), or at a short page once the quantities
        read add up to the order's ``items_total``. A short first page that does not add up is the page size
        the API serves, and the next pages are asked at that size. Each page must bring products not read
        yet (else the API ignores ``page`` and the stream fails), and no order holds more lines than items,
        which bounds what one order may hold in memory.
        """
        path = f"/orders/{order_id}/products"
        records: list[Record] = []
        seen: set[int] = set()
        quantity = 0
        limit = 250
        page = 1
        while True:
            params = {"limit": str(limit), **({"page": str(page)} if page > 1 else {})}
            response = await self.client.get("v2", path, params, breaker=self.breakers["order_products"])
            batch = response.body or []
            if not isinstance(batch, list):
                raise UnexpectedResponse(
                    f"GET /v2{path} answered with a JSON {type(batch).__name__}, not a list."
                )
            ids = [item["id"] for item in batch]
            if ids and seen.issuperset(ids):
                raise ignored("order_products", f"GET /v2{path}", f"page={page}")
            seen.update(ids)
            records.extend(batch)
            quantity += sum(int(item.get("quantity") or 0) for item in batch)
            if not batch or (len(batch) < limit and quantity >= items_total):
                break
            if len(records) > items_total + limit:
                raise Incomplete(
                    f"order_products: GET /v2{path} served {len(records)} products for an order of "
                    f"{items_total} items and still had more; {STOPS}."
                )
            if page == 1 and len(batch) < limit:
                limit = len(batch)
            page += 1
        normalize = self.normalize["order_products"]
        for record in records:
            normalize(record)
        return records

    async def _transactions(self, order_id: int) -> list[Record]:
        """An order's transactions: one request, unless ``meta.pagination`` says more pages follow.

        reference/orders.v3.yml documents no paging parameters for this endpoint; should BigCommerce page it
        anyway, its ``total`` is followed with ``page`` and the ``per_page`` it served, each page bringing
        transactions not read yet.
        """
        path = f"/orders/{order_id}/transactions"
        records: list[Record] = []
        seen: set[int] = set()
        params: dict[str, str] | None = None
        page = 1
        while True:
            response = await self.client.get("v3", path, params, breaker=self.breakers["transactions"])
            body = response.body if isinstance(response.body, dict) else {}
            data: list[Record] = body.get("data") or []
            ids = [record["id"] for record in data]
            if ids and seen.issuperset(ids):
                raise ignored("transactions", f"GET /v3{path}", f"page={page}")
            seen.update(ids)
            records.extend(data)
            pagination = (body.get("meta") or {}).get("pagination") or {}
            total = pagination.get("total")
            if not data or not isinstance(total, int) or len(records) >= total:
                break
            page += 1
            params = {"page": str(page), "limit": str(pagination.get("per_page") or len(data))}
        normalize = self.normalize["transactions"]
        for record in records:
            normalize(record)
        return records
