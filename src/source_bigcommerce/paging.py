"""Reading a list endpoint completely and in cursor order, fast, while the store keeps changing.

Two ways to page through BigCommerce exist and each fails on its own:

* page numbers can be fetched concurrently, but a record modified mid-sync leaves its place and shifts
  every later page by one, so one record is silently skipped;
* a keyset walk (``date_modified:min`` = the last second seen, boundary duplicates dropped) never skips,
  but each page waits for the one before it.

A :class:`Walker` uses each where it is safe. The sync pins a start second ``T``. Records last modified
before ``T`` can only *leave* the range ``[lo, T-1]`` while we read it: a modification moves a record to
the present, and a deletion removes it. So if every page of that range reports the same total (v3
``meta.pagination.total``; for v2, ``/orders/count`` re-asked after each group of pages), nothing left it
between those answers, the pages are one consistent snapshot and can all be fetched at once. When a total
moves, the pages already checked stand and the walker starts a fresh pass from the last second it has
fully delivered. The second ``T`` itself, where records may still arrive, is read last by keyset.

BigCommerce does not document how it orders records that share a ``date_modified`` second. When a page
repeats a record of the previous page, the order of that second changed between requests and a record may
have been skipped; the walker then reads that second alone, in id order (:data:`streams.TieWalk`), and
delivers whatever was missing. The same id walk reads a second with more records than a page holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from source_bigcommerce.dates import api_param, to_epoch
from source_bigcommerce.errors import ConnectorError
from source_bigcommerce.http import Client
from source_bigcommerce.streams import StreamSpec

Record = dict[str, Any]
Children = dict[int, dict[str, list[Record]]]
"""Records that travel with their parent: parent id -> child stream -> records."""
Failures = dict[str, ConnectorError]
"""Child streams whose records could not all be fetched for a page, and why."""
PageHook = Callable[[list[Record]], Awaitable[tuple[Children, Failures]]]
"""Called on every page of a parent stream, inside the page's own task, to fetch its children."""
Normalize = Callable[[Record], None]

V2_GROUP_PAGES = 8
"""v2 pages carry no total, so ``/orders/count`` is asked again after this many pages (one extra request)."""
MAX_PASSES = 50
"""Reads of a stream without a cursor that may start over because its total moved."""


class UnexpectedResponse(ConnectorError):
    """BigCommerce answered 2xx with a body of the wrong shape."""


@dataclass
class Page:
    records: list[Record]
    limit: int
    total: int | None = None
    """v3 ``meta.pagination.total``: how many records matched when this page was served."""
    end_cursor: str | None = None
    """v3 ``meta.cursor_pagination.end_cursor`` (customers)."""
    children: Children = field(default_factory=dict)
    failures: Failures = field(default_factory=dict)

    @property
    def full(self) -> bool:
        return len(self.records) >= self.limit


@dataclass
class Batch:
    """Records ready to deliver, in cursor order, and the point a resumed sync may start from after them."""

    records: list[Record]
    children: Children
    resume: int | None
    """Epoch second from which a resumed read loses nothing once this batch is delivered (None: unchanged)."""
    failures: Failures = field(default_factory=dict)


def modified_at(record: Record) -> int:
    """The record's ``date_modified`` as epoch seconds (records are normalised to RFC 3339 first)."""
    return to_epoch(record["date_modified"])


def _order_key(record: Record) -> tuple[int, int]:
    return modified_at(record), record["id"]


def _in_order(records: list[Record]) -> tuple[list[Record], list[int]]:
    """The records sorted by ``(date_modified, id)``, and each one's second, every date parsed once.

    Sorting with :func:`_order_key` and then asking each record its second again parsed every date twice
    (three times for orders, see ``Engine._orders_batch``); dates were about a seventh of a read's CPU.
    """
    keys = [(to_epoch(record["date_modified"]), record["id"]) for record in records]
    order = sorted(range(len(records)), key=keys.__getitem__)
    return [records[i] for i in order], [keys[i][0] for i in order]


async def get_page(client: Client, spec: StreamSpec, params: Mapping[str, str], normalize: Normalize) -> Page:
    """One page of a list endpoint, unwrapped from its envelope and normalised."""
    limit = int(params.get("limit", "50"))
    response = await client.get(spec.api, spec.path, params)
    body = response.body
    where = f"GET /{spec.api}{spec.path}"
    if spec.api == "v2":
        # An empty v2 list is 204 with no body, a page past the end included (reference/bigcommerce-api-facts.md §0).
        if body is None:
            body = []
        if not isinstance(body, list):
            raise UnexpectedResponse(f"{where} answered with a JSON {type(body).__name__}, not a list.")
        page = Page(records=body, limit=limit)
    else:
        if body is None:
            body = {"data": []}
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise UnexpectedResponse(f"{where} answered without the v3 'data' list.")
        meta = body.get("meta") or {}
        pagination = meta.get("pagination") or {}
        cursors = meta.get("cursor_pagination") or {}
        total = pagination.get("total")
        page = Page(
            records=body["data"],
            limit=limit,
            total=total if isinstance(total, int) else None,
            end_cursor=cursors.get("end_cursor") or None,
        )
    for record in page.records:
        normalize(record)
    return page


async def ordered(
    fetch: Callable[[int], Coroutine[Any, Any, Page]], first: Page, pages: int, lookahead: int
) -> AsyncGenerator[tuple[int, Page], None]:
    """Pages ``1..pages`` in order, with up to ``lookahead`` of them in flight ahead of the consumer.

    Memory stays bounded by ``lookahead`` pages; stopping early (``aclose``) cancels what is in flight.
    """
    tasks: dict[int, asyncio.Task[Page]] = {}
    try:
        yield 1, first
        scheduled = 1
        for number in range(2, pages + 1):
            while scheduled < min(pages, number + lookahead - 1):
                scheduled += 1
                tasks[scheduled] = asyncio.create_task(fetch(scheduled))
            yield number, await tasks.pop(number)
    finally:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)


class Walker:
    """Reads one stream's records modified in ``[lo, T]`` (windowed streams) or all of it (the others)."""

    def __init__(
        self,
        client: Client,
        spec: StreamSpec,
        *,
        normalize: Normalize,
        lookahead: int,
        extra_params: Mapping[str, str] | None = None,
        on_page: PageHook | None = None,
    ) -> None:
        self._client = client
        self._spec = spec
        self._normalize = normalize
        self._lookahead = max(1, lookahead)
        self._extra = dict(extra_params or {})
        self._on_page = on_page
        self._limit = spec.page_size
        # Progress of a windowed walk: every record modified before `_cur` is delivered, and so are the
        # records of second `_cur` whose ids are in `_seen`.
        self._cur = 0
        self._seen: set[int] = set()

    # -- requests ---------------------------------------------------------------------------------------

    def _params(self, lo: int, hi: int, page: int = 1, limit: int | None = None) -> dict[str, str]:
        window = self._spec.window
        assert window is not None
        params = {
            **self._spec.params,
            **self._extra,
            **window.sort,
            window.min_param: api_param(lo, window.time_format),
            window.max_param: api_param(hi, window.time_format),
            "limit": str(limit or self._limit),
        }
        if page > 1:
            params["page"] = str(page)
        return params

    async def _fetch(self, params: Mapping[str, str], *, children: bool = True) -> Page:
        page = await get_page(self._client, self._spec, params, self._normalize)
        if children:
            await self._attach_children([page])
        return page

    async def _attach_children(self, pages: list[Page]) -> None:
        """Fetch the children of several pages at once (the page hook of a parent stream)."""
        hook = self._on_page
        if hook is None:
            return
        found = await asyncio.gather(*(hook(page.records) for page in pages if page.records))
        for page, (children, failures) in zip((p for p in pages if p.records), found, strict=True):
            page.children, page.failures = children, failures

    async def _count(self, lo: int, hi: int) -> int:
        """v2 only: how many records are in ``[lo, hi]`` now (``/orders/count`` takes the list's filters)."""
        window = self._spec.window
        assert window is not None
        params = {
            window.min_param: api_param(lo, window.time_format),
            window.max_param: api_param(hi, window.time_format),
        }
        response = await self._client.get(self._spec.api, f"{self._spec.path}/count", params)
        body = response.body
        if not isinstance(body, dict) or not isinstance(body.get("count"), int):
            raise UnexpectedResponse(
                f"GET /{self._spec.api}{self._spec.path}/count answered without a count."
            )
        count: int = body["count"]
        return count

    # -- windowed streams -------------------------------------------------------------------------------

    async def modified(self, lo: int, start: int) -> AsyncGenerator[Batch, None]:
        """Every record last modified in ``[lo, start]``, in ``date_modified`` order, each exactly once.

        ``start`` is the sync's pinned start second: ``[lo, start-1]`` is read by concurrent snapshot passes,
        the second ``start`` by keyset once those are done.
        """
        self._cur, self._seen = lo, set()
        while self._cur <= start - 1:
            finished, delivered = True, 0
            async with contextlib.aclosing(self._snapshot_pass(start - 1)) as batches:
                async for batch in batches:
                    if batch.resume is None:
                        finished = False
                        break
                    delivered += len(batch.records)
                    yield batch
            if finished:
                break
            if not delivered:
                # The store moved before one page could be checked. A keyset page needs no snapshot, so
                # taking one makes every pass progress, however busy the store.
                async with contextlib.aclosing(self._keyset(start - 1, max_pages=1)) as batches:
                    async for batch in batches:
                        yield batch
        async with contextlib.aclosing(self._keyset(start)) as batches:
            async for batch in batches:
                yield batch
        yield Batch([], {}, start)

    async def _snapshot_pass(self, hi: int) -> AsyncGenerator[Batch, None]:
        """One pass over ``[cur, hi]`` by concurrent page numbers; a batch with ``resume=None`` means the
        snapshot moved and a new pass must start from ``cur``.

        Children are fetched only for pages already checked, so a moved snapshot wastes parent pages only.
        """
        lo = self._cur
        # v2 pages carry no total, so the count is asked before the first page and again after each group:
        # equal counts bracket pages taken from one state of the store.
        counted = await self._count(lo, hi) if self._spec.api == "v2" else None
        first = await self._fetch(self._params(lo, hi), children=False)
        expected = first.total if counted is None else counted
        if expected is None:
            # No total to check against: read this range by keyset instead.
            await self._attach_children([first])
            async with contextlib.aclosing(self._keyset(hi, first=first)) as batches:
                async for batch in batches:
                    yield batch
            return
        pages = max(1, math.ceil(expected / self._limit))
        group_size = V2_GROUP_PAGES if self._spec.api == "v2" else 1
        group: list[Page] = []
        overlap_allowed = True  # a pass's first page starts at `cur`, repeating what was delivered there

        def fetch(number: int) -> Coroutine[Any, Any, Page]:
            return self._fetch(self._params(lo, hi, page=number), children=False)

        async with contextlib.aclosing(ordered(fetch, first, pages, self._lookahead)) as stream:
            async for number, page in stream:
                if self._spec.api == "v3" and page.total != expected:
                    yield Batch([], {}, None)
                    return
                group.append(page)
                last = number == pages or not page.full
                if len(group) < group_size and not last:
                    continue
                if self._spec.api == "v2" and number > 1 and await self._count(lo, hi) != expected:
                    yield Batch([], {}, None)
                    return
                await self._attach_children(group)
                for checked in group:
                    accepted = await self._accept(checked, overlap_allowed)
                    overlap_allowed = False
                    if accepted is None:
                        yield Batch([], {}, None)
                        return
                    yield accepted
                group = []
                if last:
                    break
        if page.full:
            # The planned last page came back full: the count or the total fell short of the listing (or
            # the range ends exactly on a page). Only a short page proves the end, so walk on by keyset.
            async with contextlib.aclosing(self._keyset(hi)) as batches:
                async for batch in batches:
                    yield batch
        # Everything up to `hi` is delivered: resume after it.
        self._cur, self._seen = hi + 1, set()
        yield Batch([], {}, self._cur)

    async def _accept(self, page: Page, overlap_allowed: bool) -> Batch | None:
        """Deliver a page's new records in order; None when the page contradicts what came before it."""
        records, seconds = _in_order(page.records)
        if records and seconds[0] < self._cur:
            return None  # an earlier second after a later one: the pages are not one ordering
        out: list[Record] = []
        children: Children = {}
        failures = dict(page.failures)
        repaired: int | None = None
        for second, record in zip(seconds, records, strict=True):
            ident = record["id"]
            if second == repaired:
                continue
            if second == self._cur and ident in self._seen:
                if overlap_allowed:
                    continue
                # A record of the previous page again: second `cur` was ordered differently between the two
                # requests, so another of its records may have slipped past both. Read it alone, by id.
                repaired = second
                async for batch in self._walk_second(second):
                    out.extend(batch.records)
                    children.update(batch.children)
                    failures.update(batch.failures)
                continue
            if second > self._cur:
                self._cur, self._seen = second, set()
            self._seen.add(ident)
            out.append(record)
            if ident in page.children:
                children[ident] = page.children[ident]
        return Batch(out, children, self._cur, failures)

    async def _keyset(
        self, hi: int, first: Page | None = None, max_pages: int | None = None
    ) -> AsyncGenerator[Batch, None]:
        """Walk ``[cur, hi]`` one page after another, each starting at the last second delivered."""
        page = first
        taken = 0
        while self._cur <= hi and (max_pages is None or taken < max_pages):
            taken += 1
            if page is None:
                page = await self._fetch(self._params(self._cur, hi))
            records = page.records
            if page.full and all(modified_at(r) == self._cur for r in records):
                # A whole page of one second: more records share it than a page holds.
                async with contextlib.aclosing(self._walk_second(self._cur)) as batches:
                    async for batch in batches:
                        yield batch
                self._cur, self._seen = self._cur + 1, set()
                page = None
                continue
            accepted = await self._accept(page, overlap_allowed=True)
            if accepted is None:
                raise UnexpectedResponse(
                    f"GET /{self._spec.api}{self._spec.path} returned records older than its date_modified:min."
                )
            yield accepted
            if not page.full:
                return
            page = None

    async def _walk_second(self, second: int) -> AsyncGenerator[Batch, None]:
        """Every record of one second not yet delivered, walked by id (streams.TieWalk)."""
        window = self._spec.window
        assert window is not None
        base = {
            **self._spec.params,
            **self._extra,
            window.min_param: api_param(second, window.time_format),
            window.max_param: api_param(second, window.time_format),
            "limit": str(self._limit),
        }
        last_id = 0
        after: str | None = None
        number = 1
        self._cur = second
        while True:
            params = dict(base)
            if window.tie_walk == "min_id":
                params.update({"sort": "id:asc", "min_id": str(last_id + 1)})
            elif window.tie_walk == "id_greater":
                params.update({"sort": "id", "direction": "asc", "id:greater": str(last_id)})
            elif window.tie_walk == "after_cursor":
                if after:
                    params["after"] = after
            elif number > 1:
                params["page"] = str(number)
            page = await self._fetch(params)
            out = [r for r in sorted(page.records, key=_order_key) if r["id"] not in self._seen]
            self._seen.update(r["id"] for r in out)
            children = {r["id"]: page.children[r["id"]] for r in out if r["id"] in page.children}
            yield Batch(out, children, second, dict(page.failures))
            if not page.full or (window.tie_walk == "after_cursor" and not page.end_cursor):
                return
            last_id = max(r["id"] for r in page.records)
            after = page.end_cursor
            number += 1

    # -- streams without a cursor -----------------------------------------------------------------------

    async def unsorted(self, lo: int, start: int) -> AsyncGenerator[Batch, None]:
        """Records modified in ``[lo, start]`` from an endpoint that filters by date but cannot sort by it.

        /v3/channels is such an endpoint (reference/channels.v3.yml, getChannels); a store has a handful of
        channels, so the range is read whole, checked against its total, sorted and delivered at once.
        """
        window = self._spec.window
        assert window is not None
        pages_read = [page async for page in self._consistent_pages(self._params(lo, start))]
        records = sorted((r for page in pages_read for r in page.records), key=_order_key)
        unique = list({r["id"]: r for r in records}.values())
        yield Batch(unique, {}, start)

    async def everything(self) -> AsyncGenerator[list[Record], None]:
        """All records of a stream without a cursor (pages, brands, categories), each once.

        BigCommerce offers these no date filter; they are small, so pages are fetched concurrently and the
        whole read starts over if the total moves (a record came or went and shifted the pages).
        """
        params = {**self._spec.params, **self._extra, "limit": str(self._limit)}
        delivered: set[int] = set()
        async with contextlib.aclosing(self._consistent_pages(params)) as pages:
            async for page in pages:
                fresh = [r for r in page.records if r["id"] not in delivered]
                delivered.update(r["id"] for r in fresh)
                yield fresh

    async def _consistent_pages(self, params: Mapping[str, str]) -> AsyncGenerator[Page, None]:
        """Pages of one listing, fetched concurrently; after a pass whose totals disagree, another pass.

        Pages of a disagreeing pass may already have been yielded: callers de-duplicate by id.
        """
        for _ in range(MAX_PASSES):
            first = await self._fetch(params)
            pages = math.ceil((first.total or 0) / self._limit) if first.full else 1
            moved = False
            async with contextlib.aclosing(
                ordered(lambda n: self._fetch({**params, "page": str(n)}), first, pages, self._lookahead)
            ) as stream:
                async for _number, page in stream:
                    if page.total is not None and page.total != first.total:
                        moved = True
                        break
                    yield page
            if not moved:
                return
        raise ConnectorError(f"{self._spec.name}: the record count kept changing during {MAX_PASSES} reads.")
