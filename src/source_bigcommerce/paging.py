"""Reading a list endpoint completely and in cursor order, fast, while the store keeps changing.

Two ways to page through BigCommerce exist and each fails on its own:

* page numbers can be fetched concurrently, but a record modified mid-sync leaves its place and shifts
  every later page by one, so one record is silently skipped;
* a keyset walk (``date_modified:min`` = the last second seen, boundary duplicates dropped) never skips,
  but each page waits for the one before it.

A :class:`Walker` uses each where it is safe. The sync pins a start second ``T``. Records last modified
before ``T`` can only *leave* the range ``[lo, T-1]`` while we read it: a modification moves a record to
the present, and a deletion removes it. So if every page of a v3 range reports the same
``meta.pagination.total``, nothing left it between those answers, the pages are one consistent snapshot
and can all be fetched at once. When a total moves, the pages already checked stand and the walker starts
a fresh pass from the last second it has fully delivered. The second ``T`` itself, where records may still
arrive, is read last by keyset; a list that cannot sort by date leaves it to the next read.

v2 orders are read by keyset throughout, the next page asked while a page's children are fetched. Their
pages carry no total, and ``/v2/orders/count`` lags the list briefly while the store changes (as a replica
would; the strict sandbox's ``count_lag``), so two equal counts around a group of numbered pages did not
prove that no order left a page between them, and an order could be skipped.

BigCommerce does not document how it orders records that share a ``date_modified`` second. When a page
repeats a record of the previous page, the order of that second changed between requests and a record may
have been skipped; the walker then reads that second alone, in id order (:data:`streams.TieWalk`), and
delivers whatever was missing. The same id walk reads a second with more records than a page holds.

**Completeness is checked, not assumed.** A read ends only where the API's own figures say the data ends:

* The page size is the one *served*: v3 ``meta.pagination.per_page`` (BigCommerce serves some lists in
  smaller pages than asked, and numbers them by the size it served; ``total_pages`` and ``links`` follow
  from it); on v2, a short keyset page where ``/orders/count`` says the range holds more. The walker asks
  for that size from then on, so page ``n`` means the same records whichever way the server numbers pages.
* Within a consistent v3 snapshot every page but the last must be full and the last must hold the rest of
  the total. A page that falls short is not delivered (its records would move the cursor past the ones that
  are missing); the rest of the range is re-walked by keyset instead.
* A keyset walk ends on a short page only when the API agrees nothing else is left: the page's own total
  on v3, ``/orders/count`` for the range on v2 (one request, made only where a v2 walk ends before ``T``);
  a page it contradicts is asked once more. An id walk of one second ends when a count of that second,
  taken after it (one request), is no more than what it read. When the API does not agree, the stream
  fails with :class:`Incomplete`, a sentence naming both figures, *before* the batch is delivered, so no
  checkpoint passes what is missing.
* A server that ignores ``page`` (page ``n`` repeats an earlier page of the pass across several seconds), a
  keyset's lower date bound (records older than it) or an id cursor (``after``, ``id:greater``, ``min_id``
  answered with records already read) fails the stream at the first repeated page: within
  ``lookahead + 1`` requests of a pass's start, or one request of a keyset or id walk. A list without a
  cursor (pages, brands, categories, channels) that keeps falling short of its total is read at most twice
  (:data:`MAX_SHORT_PASSES`), then fails. Memory stays bounded by the pages in flight.
* A v2 list other than orders has no count: it ends only at its empty page (204), walked by ``min_id`` where
  it has that filter (coupons), else by page number until two walks list the same records (currencies).
* A v3 envelope whose ``meta.pagination.count`` disagrees with its ``data`` (a duplicated ``"data"`` key,
  where JSON parsers keep the last) is refused as an unexpected response.

**Heavy pages.** A list page that answers 500 or times out is asked for again at once as several smaller
pages covering the same records (:func:`smaller_limit`, down to :data:`MIN_LIMIT`; below it the client's
ordinary retries take over), since BigCommerce answers 500 when a page is too expensive to render. Each
one is counted in ``ClientStats.heavy_pages`` and logged. The smaller pages are several requests, so a
numbered page split so is checked against the totals like any page, and a keyset page is replaced by its
first smaller page: the walk goes on from its end at that size for the records the heavy page would have
held, then at the full size again. A split page says nothing of the page size served.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
from collections.abc import AsyncGenerator, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from source_bigcommerce.dates import api_param, from_epoch, to_epoch
from source_bigcommerce.errors import ConnectorError
from source_bigcommerce.http import Client, HeavyPage, Log
from source_bigcommerce.streams import StreamSpec, key_of

Record = dict[str, Any]
Children = dict[int, dict[str, list[Record]]]
"""Records that travel with their parent: parent id -> child stream -> records."""
Failures = dict[str, ConnectorError]
"""Child streams whose records could not all be fetched for a page, and why."""


@dataclass(frozen=True)
class Slice:
    """The children of ``parents`` consecutive records of a page, once ``children`` is awaited."""

    parents: int
    children: asyncio.Future[tuple[Children, Failures]]


PageHook = Callable[[list[Record]], list[Slice]]
"""Called on every page of a parent stream, inside the page's own task: starts fetching its children, and gives
them in slices of consecutive records, in order."""
Normalize = Callable[[Record], None]

MAX_PASSES = 50
"""Reads of a stream without a cursor that may start over because its total moved."""
MAX_SHORT_PASSES = 2
"""Reads of a stream without a cursor that may end short of their total before the stream fails."""
MIN_LIMIT = 5
"""The smallest page a heavy page is split into."""


_BY_ID: dict[str, dict[str, str]] = {
    "min_id": {"sort": "id:asc"},
    "id_greater": {"sort": "id", "direction": "asc"},
}
"""The id order of a list whose window sorts by date, by its tie walk (streams.TieWalk); the others list by id
unasked."""


class UnexpectedResponse(ConnectorError):
    """BigCommerce answered 2xx with a body of the wrong shape."""


class Incomplete(ConnectorError):
    """The API's own figures say records exist that the read could not get; the stream stops there."""


STOPS = "the stream stops there, and no saved cursor passes what is missing"


def shortfall(
    name: str, reported: int, read: int, lo: int | None = None, hi: int | None = None, *, again: str = ""
) -> Incomplete:
    """The one sentence for a range the API says holds more records than it served (``again``: how the
    read tried once more, such as ``"also when asked again"``)."""
    where = (
        f" modified from {from_epoch(lo)} to {from_epoch(hi)}" if lo is not None and hi is not None else ""
    )
    tried = f", {again}" if again else ""
    return Incomplete(
        f"{name}: BigCommerce reports {reported} records{where} but served only {read} of them{tried}; {STOPS}."
    )


class Unsorted(Incomplete):
    """The API answered a list asked in ``date_modified`` order with records out of that order.

    Every checkpoint of a walk rests on that order (all records before the last second delivered are
    delivered), and an earlier record can show up on any later page: a checkpoint this read made already
    may pass it. So the engine sets the stream's cursor back to where the read started, and the next read
    reads the range again, rather than leave a saved cursor past what is missing.
    """


def unsorted(name: str, where: str, sort: Mapping[str, str]) -> Unsorted:
    """The one sentence for a server that answered a sorted list with records out of ``date_modified`` order."""
    asked = "&".join(f"{key}={value}" for key, value in sort.items())
    return Unsorted(
        f"{name}: {where} answered {asked} with records out of date_modified order, so it ignores that "
        "parameter; the stream stops there, and its cursor goes back to where this read started."
    )


def ignored(name: str, where: str, what: str) -> Incomplete:
    """The one sentence for a server that answered a page or cursor with records it had already served."""
    return Incomplete(
        f"{name}: {where} answered {what} with records it had already served, so it ignores that parameter; "
        f"{STOPS}."
    )


@dataclass
class Page:
    records: list[Record]
    limit: int
    """The page size as served: what was asked, or less where the API says it serves less."""
    total: int | None = None
    """v3 ``meta.pagination.total``: how many records matched when this page was served."""
    end_cursor: str | None = None
    """v3 ``meta.cursor_pagination.end_cursor`` (customers)."""
    more: bool = False
    """v3 ``meta.pagination.links.next``: the API says another page follows."""
    said_last: bool = False
    """v3 ``meta.pagination`` without ``links.next``: the API's paging says no page follows."""
    split: bool = False
    """Read as several smaller pages (a heavy page): several requests, so not one state of the store."""
    children: Children = field(default_factory=dict)
    failures: Failures = field(default_factory=dict)

    @property
    def full(self) -> bool:
        return len(self.records) >= self.limit

    @property
    def continues(self) -> bool:
        """Whether another page may follow: a full page, or one that says so (``links.next``) with records
        in it, which a server serving fewer than asked without saying ``per_page`` (nor a total) sends."""
        return self.full or (self.more and bool(self.records))


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


class _Ordered(NamedTuple):
    records: list[Record]
    """The page's records sorted by ``(date_modified, id)``."""
    seconds: list[int]
    """Each one's ``date_modified`` second."""
    as_served: bool
    """Whether the page came in ``date_modified`` order, as it was asked to: a server that ignores the sort
    serves a later record before an earlier one, and a walk that trusts the order skips records (a keyset's next
    page starts at the page's last second, a snapshot pass at the last second it delivered)."""


def _in_order(records: list[Record]) -> _Ordered:
    """The records sorted by ``(date_modified, id)``, and each one's second, every date parsed once.

    Sorting with :func:`_order_key` and then asking each record its second again parsed every date twice
    (three times for orders, see ``Engine._family_batch``); dates were about a seventh of a read's CPU.
    """
    keys = [(to_epoch(record["date_modified"]), record["id"]) for record in records]
    as_served = all(keys[i][0] <= keys[i + 1][0] for i in range(len(keys) - 1))
    order = sorted(range(len(records)), key=keys.__getitem__)
    return _Ordered([records[i] for i in order], [keys[i][0] for i in order], as_served)


def smaller_limit(limit: int) -> int | None:
    """The page size a heavy page of ``limit`` is split into: its largest divisor up to half of it (250 ->
    125 -> 25 -> 5), so that page ``n`` of ``limit`` is exactly pages ``(n-1)k+1 .. nk`` of the smaller
    size; None below :data:`MIN_LIMIT`."""
    for divisor in range(limit // 2, MIN_LIMIT - 1, -1):
        if limit % divisor == 0:
            return divisor
    return None


def _served(asked: int, *metas: Mapping[str, Any]) -> int:
    """The page size the API says it serves (``per_page``), when smaller than the one asked."""
    for meta in metas:
        per_page = meta.get("per_page")
        if type(per_page) is int and 0 < per_page < asked:  # not a bool, which is an int to isinstance
            return per_page
    return asked


def envelope_part(value: Any, where: str, name: str) -> dict[str, Any]:
    """A part of a v3 envelope (``meta``, ``meta.pagination``, ...): none is empty, and anything but an object
    is an answer of the wrong shape, said as such rather than failing as a bug of ours."""
    if not value:
        return {}
    if not isinstance(value, dict):
        raise UnexpectedResponse(
            f"{where} answered a {name} that is a JSON {type(value).__name__}, not an object."
        )
    return value


async def get_page(
    client: Client,
    spec: StreamSpec,
    params: Mapping[str, str],
    normalize: Normalize,
    *,
    shrinkable: bool = False,
) -> Page:
    """One page of a list endpoint, unwrapped from its envelope and normalised."""
    limit = int(params.get("limit", "50"))
    response = await client.get(spec.api, spec.path, params, shrinkable=shrinkable)
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
        meta = envelope_part(body.get("meta"), where, "meta")
        pagination = envelope_part(meta.get("pagination"), where, "meta.pagination")
        cursors = envelope_part(meta.get("cursor_pagination"), where, "meta.cursor_pagination")
        records: list[Record] = body["data"]
        count = pagination.get("count", cursors.get("count"))
        if type(count) is int and count != len(records):
            raise UnexpectedResponse(
                f"{where} answered {len(records)} records where its meta.pagination.count says {count}."
            )
        links = envelope_part(pagination.get("links"), where, "meta.pagination.links")
        total = pagination.get("total")
        if type(total) is int and total < 0:
            raise UnexpectedResponse(f"{where} answered a meta.pagination.total of {total}, below zero.")
        page = Page(
            records=records,
            limit=_served(limit, pagination, cursors),
            total=total if type(total) is int else None,
            end_cursor=cursors.get("end_cursor") or None,
            more=bool(links.get("next")),
            said_last=bool(pagination) and not links.get("next"),
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


def _ids(page: Page) -> list[int]:
    return [record["id"] for record in page.records]


def _spans_seconds(page: Page) -> bool:
    return len({record["date_modified"] for record in page.records}) > 1


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
        log: Log | None = None,
    ) -> None:
        self._client = client
        self._spec = spec
        self._normalize = normalize
        self._lookahead = max(1, lookahead)
        self._extra = dict(extra_params or {})
        self._on_page = on_page
        self._log: Log = log or (lambda level, message: None)
        self._key = key_of(spec)
        """A record's primary key: what tells records apart where a list is read whole (not always an id)."""
        self._limit = spec.page_size
        """The page size asked for: the stream's, until the API shows it serves fewer."""
        self._size_known = False
        """Whether the API has shown the page size it serves: a page cut to it, or a whole page of one
        request at ``_limit``."""
        # Progress of a windowed walk: every record modified before `_cur` is delivered, and so are the
        # records of second `_cur` whose ids are in `_seen`.
        self._cur = 0
        self._seen: set[int] = set()
        self._walked: int | None = None
        """A past second read whole by id (:meth:`_walk_second`): every record of it is delivered, so later
        pages holding its records in another order do not send the walker through it again."""
        self._start: int | None = None
        self.filter_ignored = False
        """Set by :meth:`archived` when the API answered ``is_deleted=true`` with orders that are not."""

    @property
    def _where(self) -> str:
        return f"GET /{self._spec.api}{self._spec.path}"

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

    async def _get(self, params: Mapping[str, str], *, numbered: bool = True) -> Page:
        """One page; a heavy one (500 or timeout) is asked for again as smaller pages of the same records.

        Page ``n`` of ``limit`` is pages ``(n-1)k+1 .. nk`` of ``limit/k``, whichever way the server numbers
        them, so the merged page is the one asked for. Those are several requests, not one state of the
        store: a record leaving the list between them shifts the next ones and one is skipped, so only a
        snapshot pass, which counts after its pages, asks for them (``numbered``). A keyset page (a date or
        id bound, or an ``after`` cursor) gets its first smaller page only, and the walk goes on from there.
        """
        limit = int(params["limit"])
        smaller = smaller_limit(limit)
        try:
            return await get_page(
                self._client, self._spec, params, self._normalize, shrinkable=smaller is not None
            )
        except HeavyPage as heavy:
            assert smaller is not None
            parts = limit // smaller if numbered and "after" not in params else 1
            self._log(
                "WARN",
                f"{heavy.message} on a page of {limit}; asking for it again as {parts} "
                f"page{'s' if parts > 1 else ''} of {smaller}.",
            )
            first = (int(params.get("page", "1")) - 1) * parts + 1
            pieces: list[Page] = []
            for number in range(first, first + parts):
                piece = await self._get(_page_of(params, number, smaller), numbered=numbered)
                if number == 1 and piece.limit < smaller and not piece.split:
                    # Page 1 as the size served (v3 per_page, or found by the pieces of a heavy page 1 below):
                    # page 1 as asked. The server numbers its pages by that size, so the pieces after it would
                    # be other records than this page's slots.
                    return piece
                pieces.append(piece)
            if first == 1 and not _tiled(pieces, self._key):
                # A piece came back with fewer records than it asked while more followed: the server caps
                # pages below that size and numbers them by the size it served (before the walker could
                # learn it), so the pieces overlap. That size is the first short piece's (a later one may be
                # the list's end), and page 1 at it is page 1 as asked.
                sizes = [len(piece.records) for piece in pieces if piece.records]
                served = next((len(p.records) for p in pieces if p.records and not p.full), min(sizes))
                return await self._get({**params, "limit": str(served)}, numbered=numbered)
            totals = {piece.total for piece in pieces}
            return Page(
                records=[record for piece in pieces for record in piece.records],
                limit=sum(piece.limit for piece in pieces),
                # Pieces that disagree are no snapshot: None fails a pass's total check, which starts over.
                total=totals.pop() if len(totals) == 1 else None,
                end_cursor=pieces[-1].end_cursor,
                more=pieces[-1].more,
                said_last=pieces[-1].said_last,
                split=True,
            )

    async def _attach_children(self, pages: list[Page]) -> None:
        """Fetch the children of several pages at once (the page hook of a parent stream)."""
        hook = self._on_page
        if hook is None:
            return
        started = [(page, hook(page.records)) for page in pages if page.records]
        try:
            for page, parts in started:
                for part in parts:
                    children, failures = await part.children
                    page.children.update(children)
                    page.failures.update(failures)
        finally:
            for _, parts in started:
                _cancel_slices(parts)

    async def _count(self, lo: int, hi: int) -> int | None:
        """How many records are in ``[lo, hi]`` now: ``/orders/count`` on v2 (it takes the list's filters),
        the ``total`` of a one-record page on v3."""
        window = self._spec.window
        assert window is not None
        params = {
            window.min_param: api_param(lo, window.time_format),
            window.max_param: api_param(hi, window.time_format),
        }
        if self._spec.api == "v2":
            return await self.count(params)
        return (await get_page(self._client, self._spec, {**params, "limit": "1"}, self._normalize)).total

    async def count(self, params: Mapping[str, str]) -> int:
        """v2 only: ``/count`` of the list with ``params``."""
        response = await self._client.get(self._spec.api, f"{self._spec.path}/count", params)
        body = response.body
        if not isinstance(body, dict) or not isinstance(body.get("count"), int) or body["count"] < 0:
            raise UnexpectedResponse(f"{self._where}/count answered without a count of zero or more.")
        count: int = body["count"]
        return count

    def _learn(self, page: Page, served: int | None = None) -> None:
        """Take the page size the API serves, ``served`` or the page's ``per_page`` (v3): BigCommerce caps
        some lists below the ``limit`` asked and numbers their pages by the size it served. Later pages are
        asked at that size, so that page ``n`` means the same records however the server numbers them. A
        page read in smaller pieces (a heavy page) says nothing of the size served."""
        if page.split:
            return
        if len(page.records) >= self._limit:
            self._size_known = True
        served = min(page.limit, served or page.limit)
        if served < self._limit:
            self._log(
                "INFO",
                f"{self._where} serves pages of {served} records where {self._limit} were asked; "
                f"reading it in pages of {served}.",
            )
            self._limit = served
            self._size_known = True
        page.limit = min(page.limit, self._limit)

    async def _unconfirmed_end(self, page: Page, lo: int, hi: int) -> int | None:
        """A walk of ``[lo, hi]`` ends on the short ``page``: the API's figure for that range when it says
        more records are there (v3: the page's own total; v2: ``/orders/count``), else None.

        A v3 page without ``meta.pagination`` (a 204, or a ``data`` list and no ``meta``, which BigCommerce's
        lists never answer) says nothing of where the list ends: taken for its end, it moved the cursor to the
        sync's start past every record it did not show. It fails the stream instead. One whose pagination has
        no total ends the walk where its ``links`` name no next page.

        Ranges reaching the sync's start are not checked: a record may still arrive there, and no cursor
        passes it.
        """
        if self._start is None or hi >= self._start:
            return None
        if self._spec.api == "v3" and page.total is None and not page.said_last:
            raise UnexpectedResponse(
                f"{self._where} answered without meta.pagination, which tells where its list ends."
            )
        reported = await self._count(lo, hi) if self._spec.api == "v2" else page.total
        return reported if reported is not None and reported > len(page.records) else None

    # -- windowed streams -------------------------------------------------------------------------------

    async def modified(self, lo: int, start: int) -> AsyncGenerator[Batch, None]:
        """Every record last modified in ``[lo, start]``, in ``date_modified`` order, each exactly once.

        ``start`` is the sync's pinned start second: ``[lo, start-1]`` is read by concurrent snapshot passes
        (v3) or by keyset (v2), the second ``start`` by keyset once those are done.
        """
        self._cur, self._seen, self._start, self._walked = lo, set(), start, None
        if self._spec.api == "v2":
            # No snapshot for v2: /orders/count lags the list while the store changes, so two equal
            # answers do not prove that no order left its page meanwhile. A keyset page cannot be shifted.
            async with contextlib.aclosing(self._keyset(start - 1)) as batches:
                async for batch in batches:
                    yield batch
            self._cur, self._seen = max(self._cur, start), set()
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
        """One pass of a v3 list over ``[cur, hi]`` by concurrent page numbers; a batch with ``resume=None``
        means the snapshot moved and a new pass must start from ``cur``.

        Children are fetched only for pages already checked, so a moved snapshot wastes parent pages only.
        """
        lo = self._cur
        first = await self._get(self._params(lo, hi))
        expected = first.total
        if expected is None:
            # No total to check against: read this range by keyset instead.
            async with contextlib.aclosing(self._keyset(hi, first=first)) as batches:
                async for batch in batches:
                    yield batch
            return
        self._learn(first)
        limit = self._limit
        pages = max(1, math.ceil(expected / limit))
        overlap_allowed = True  # a pass's first page starts at `cur`, repeating what was delivered there
        previous = _ids(first)

        def fetch(number: int) -> Coroutine[Any, Any, Page]:
            return self._get(self._params(lo, hi, page=number))

        async with contextlib.aclosing(ordered(fetch, first, pages, self._lookahead)) as stream:
            async for number, page in stream:
                if page.total != expected:
                    yield Batch([], {}, None)
                    return
                ids = _ids(page)
                if number > 1 and ids and ids == previous and _spans_seconds(page):
                    raise ignored(self._spec.name, self._where, f"page={number}")
                previous = ids
                if len(page.records) < _due(number, pages, limit, expected):
                    # The snapshot held, yet this page holds fewer records than its share of the total:
                    # the API dropped some. Delivering it would move the cursor past them; the rest of the
                    # range is read again by keyset, whose end the API must confirm (_unconfirmed_end).
                    async with contextlib.aclosing(self._keyset(hi)) as batches:
                        async for batch in batches:
                            yield batch
                    break
                accepted = await self._accept(page, overlap_allowed)
                overlap_allowed = False
                if accepted is None and number > 1:
                    # Within a snapshot, records only leave the range: a later page cannot hold a second
                    # before the last one delivered unless the list is not sorted, and a new pass from there
                    # would skip the records of the earlier seconds still to come.
                    raise self._unsorted()
                if accepted is None:
                    yield Batch([], {}, None)
                    return
                async with contextlib.aclosing(accepted) as batches:
                    async for batch in batches:
                        yield batch
                if number == pages:
                    if page.full or page.more:
                        # The planned last page came back full: the total fell short of the listing (or the
                        # range ends exactly on a page). Only a short page proves the end, so walk on by
                        # keyset.
                        async with contextlib.aclosing(self._keyset(hi)) as batches:
                            async for batch in batches:
                                yield batch
                    break
        # Everything up to `hi` is delivered: resume after it.
        self._cur, self._seen = hi + 1, set()
        yield Batch([], {}, self._cur)

    async def _accept(
        self,
        page: Page,
        overlap_allowed: bool,
        ordered: _Ordered | None = None,
    ) -> AsyncGenerator[Batch, None] | None:
        """Deliver a page's new records in order, with their children; None when the page contradicts what
        came before it. A page not served in ``date_modified`` order fails the stream (:func:`unsorted`)
        before any of it is delivered.

        Children are fetched for the records delivered only, not for those of the page already delivered
        (a pass's first page repeats second ``cur``; a second walked by id repeats on later pages).
        ``ordered`` is the page's :func:`_in_order`, when the caller has it already.
        """
        records, seconds, as_served = ordered or _in_order(page.records)
        if not as_served:
            raise self._unsorted()
        if records and seconds[0] < self._cur:
            return None  # an earlier second after a later one: the pages are not one ordering
        return self._accepted(records, seconds, overlap_allowed)

    def _unsorted(self) -> Unsorted:
        window = self._spec.window
        assert window is not None
        return unsorted(self._spec.name, self._where, window.sort)

    async def _accepted(
        self, records: list[Record], seconds: list[int], overlap_allowed: bool
    ) -> AsyncGenerator[Batch, None]:
        """:meth:`_accept`'s batches: a second walked by id as it is walked, then the page's other new records.
        The walk holds second ``cur`` only, which no other record of the page precedes, so each batch's state
        still covers everything delivered before it."""
        fresh: list[Record] = []
        for second, record in zip(seconds, records, strict=True):
            ident = record["id"]
            if second == self._walked:
                continue
            if second == self._cur and ident in self._seen:
                if overlap_allowed:
                    continue
                # A record of the previous page again: second `cur` was ordered differently between the two
                # requests, so another of its records may have slipped past both. Read it alone, by id.
                async with contextlib.aclosing(self._walk_second(second)) as batches:
                    async for batch in batches:
                        yield batch
                continue
            if second > self._cur:
                self._cur, self._seen = second, set()
            self._seen.add(ident)
            fresh.append(record)
        async with contextlib.aclosing(self._sliced(fresh)) as batches:
            async for batch in batches:
                yield batch

    async def _sliced(self, records: list[Record]) -> AsyncGenerator[Batch, None]:
        """The records in the slices the page hook fetches their children in, each delivered as soon as its
        children are in: a resumed read loses nothing from the second of a slice's last record on (records
        are in cursor order, and one sharing that second is read again)."""
        hook = self._on_page
        if hook is None or not records:
            yield Batch(records, {}, self._cur)
            return
        parts = hook(records)
        try:
            at = 0
            for index, part in enumerate(parts):
                children, failures = await part.children
                mine = records[at : at + part.parents]
                at += part.parents
                resume = self._cur if index == len(parts) - 1 else modified_at(mine[-1])
                yield Batch(mine, children, resume, failures)
        finally:
            _cancel_slices(parts)

    async def _keyset(
        self, hi: int, first: Page | None = None, max_pages: int | None = None
    ) -> AsyncGenerator[Batch, None]:
        """Walk ``[cur, hi]`` one page after another, each starting at the last second delivered.

        A record leaving the range meanwhile cannot shift a later page past another, as it can with page
        numbers. The next page is asked for while this one's children are fetched. After a heavy page the
        records it would have held are read on at the size that worked, then the full size again.
        """
        page = first
        taken = 0
        asked_again = False
        size = self._limit
        left = 0
        """Records of a heavy page still to read at ``size``."""
        ahead: tuple[int, asyncio.Task[Page]] | None = None
        try:
            while self._cur <= hi and (max_pages is None or taken < max_pages):
                taken += 1
                lo = self._cur
                asked = min(size, self._limit)
                if ahead is not None:
                    second, task = ahead
                    ahead = None
                    if page is None and second == lo:
                        page = await task
                    else:
                        await _cancel(task)
                if page is None:
                    page = await self._get(self._params(lo, hi, limit=asked), numbered=False)
                if asked == self._limit or self._spec.api != "v2":
                    # A v2 page's limit is the one asked, not one served: asked smaller (the rest of a heavy
                    # page), it says nothing of the size served, and taken for it, it hid the size a short
                    # page shows (below) and failed the stream.
                    self._learn(page)
                records = page.records
                if page.split:
                    left, size = max(left, asked) - len(records), page.limit
                else:
                    left -= len(records)
                if left <= 0:
                    size = self._limit
                # Each date parsed once a page: the second-of-a-page checks and the next page's start come from
                # the order _accept needs anyway (parsing them three times was a tenth of an orders read's CPU).
                ordered = _in_order(records)
                seconds = ordered.seconds
                if page.continues and records and seconds[0] == seconds[-1] == lo:
                    # A whole page of one second: more records share it than a page holds.
                    async with contextlib.aclosing(self._walk_second(lo)) as batches:
                        async for batch in batches:
                            yield batch
                    self._cur, self._seen = lo + 1, set()
                    page = None
                    continue
                end = not page.continues
                reported = await self._unconfirmed_end(page, lo, hi) if end else None
                if (
                    reported is not None
                    and self._spec.api == "v2"
                    and not self._size_known
                    and records
                    and not page.split
                ):
                    # A short v2 page while the count says more, and no page so far showed the size served
                    # (a heavy first page read in pieces hides it; v2 says it nowhere else): the list serves
                    # pages of that size. A keyset page has no number, so reading on at it is right even if
                    # the count merely lagged.
                    self._learn(page, len(records))
                    size, end, reported = self._limit, False, None
                if reported is not None:
                    # The API says more is there than the page ends with: ask once more, then give up.
                    if asked_again:
                        raise shortfall(
                            self._spec.name, reported, len(records), lo, hi, again="also when asked again"
                        )
                    asked_again, page, taken = True, None, taken - 1
                    continue
                if not end and (max_pages is None or taken < max_pages):
                    after = seconds[-1]
                    params = self._params(after, hi, limit=min(size, self._limit))
                    ahead = (after, asyncio.create_task(self._get(params, numbered=False)))
                accepted = await self._accept(page, overlap_allowed=True, ordered=ordered)
                if accepted is None:
                    window = self._spec.window
                    assert window is not None
                    raise ignored(self._spec.name, self._where, f"{window.min_param}={from_epoch(lo)}")
                async with contextlib.aclosing(accepted) as batches:
                    async for batch in batches:
                        yield batch
                if end:
                    return
                page = None
        finally:
            if ahead is not None:
                await _cancel(ahead[1])

    async def _walk_second(self, second: int) -> AsyncGenerator[Batch, None]:
        """Every record of one second not yet delivered, walked by id (streams.TieWalk).

        Each page must bring records the walk has not read (ids above the last one, for the id filters): a
        page that does not means the server ignores the cursor, and the stream fails at once. The walk
        reads the whole second, so at its end the API's count of that second (one more request) must not exceed
        what it read.
        """
        window = self._spec.window
        assert window is not None
        last_id = 0
        after: str | None = None
        number = 1
        read: set[int] = set()
        self._cur = second
        self._walked = None
        while True:
            params = {
                **self._spec.params,
                **self._extra,
                window.min_param: api_param(second, window.time_format),
                window.max_param: api_param(second, window.time_format),
                "limit": str(self._limit),
            }
            if window.tie_walk == "min_id":
                params.update({"sort": "id:asc", "min_id": str(last_id + 1)})
                cursor = f"min_id={last_id + 1}"
            elif window.tie_walk == "id_greater":
                params.update({"sort": "id", "direction": "asc", "id:greater": str(last_id)})
                cursor = f"id:greater={last_id}"
            elif window.tie_walk == "after_cursor":
                if after:
                    params["after"] = after
                cursor = f"after={after}"
            else:
                if number > 1:
                    params["page"] = str(number)
                cursor = f"page={number}"
            page = await self._get(params, numbered=window.tie_walk == "pages")
            ids = _ids(page)
            if number > 1 and ids and (min(ids) <= last_id if last_id else set(ids) <= read):
                raise ignored(self._spec.name, self._where, cursor)
            read.update(ids)
            # Children only for records not delivered yet: the walk repeats what earlier pages delivered.
            fresh = [r for r in sorted(page.records, key=_order_key) if r["id"] not in self._seen]
            self._seen.update(r["id"] for r in fresh)
            end = not page.continues or (window.tie_walk == "after_cursor" and not page.end_cursor)
            if end and self._start is not None and second < self._start:
                # Asked after the walk: records only ever leave a past second, so a figure taken earlier
                # may count one that left meanwhile, and this one may not.
                reported = await self._count(second, second)
                if (
                    reported is not None
                    and reported > len(read)
                    and self._spec.api == "v2"
                    and not self._size_known
                    and page.records
                    and not page.split
                ):
                    # As in the walk: a short v2 page while the count says more, and no page so far showed
                    # the size served (a heavy page read in smaller pieces before the walk came here hides
                    # it): the list serves pages of that size, and the walk by id reads on at it.
                    self._learn(page, len(page.records))
                    end = False
                elif reported is not None and reported > len(read):
                    raise shortfall(self._spec.name, reported, len(read), second, second, again="read by id")
                else:
                    self._walked = second
            # In slices like any page: a second of a thousand orders is minutes of children under a quota,
            # and each slice's state (resume at this second) lets a sync commit what it has meanwhile.
            async with contextlib.aclosing(self._sliced(fresh)) as batches:
                async for batch in batches:
                    yield batch
            if end:
                return
            if window.tie_walk in ("min_id", "id_greater"):
                last_id = max(ids)
            after = page.end_cursor
            number += 1

    # -- archived orders --------------------------------------------------------------------------------

    async def archived(
        self, keep: Callable[[Record], bool], *, first_id: int = 1
    ) -> AsyncGenerator[tuple[list[Record], Batch], None]:
        """Archived orders (``is_deleted=true``) from ``first_id`` on, walked by id: each page, and a batch of
        its orders that ``keep`` wants, with their children.

        BigCommerce's list may leave archived orders out unless asked for them, a parameter its spec does
        not document (reference/orders.v2.oas2.yml lists ``is_deleted`` on the order only). The walk goes by
        ``min_id`` to the empty page, which no page size the server serves can cut short; the caller stops
        it sooner when it has what it wanted. An API that answers with orders that are not archived ignores
        the filter: the walk stops there and sets :attr:`filter_ignored`. The batches move no cursor.
        """
        last_id = first_id - 1
        while True:
            params = {
                **self._spec.params,
                "is_deleted": "true",
                "sort": "id:asc",
                "min_id": str(last_id + 1),
                "limit": str(self._limit),
            }
            page = await self._get({**self._extra, **params}, numbered=False)
            if any(record.get("is_deleted") is not True for record in page.records):
                self.filter_ignored = True
                return
            ids = _ids(page)
            if ids and min(ids) <= last_id:
                raise ignored(self._spec.name, self._where, f"min_id={last_id + 1}")
            kept = Page([r for r in sorted(page.records, key=_order_key) if keep(r)], 0)
            await self._attach_children([kept])
            yield page.records, Batch(kept.records, kept.children, None, kept.failures)
            if not ids:
                return
            last_id = max(ids)

    # -- streams without a cursor -----------------------------------------------------------------------

    async def unsorted(self, lo: int, start: int) -> AsyncGenerator[Batch, None]:
        """Records whose cursor is in ``[lo, start - 1]`` from an endpoint that filters by it but cannot sort by
        it; the batch resumes at ``start``, which the next read takes.

        /v3/channels is such an endpoint (reference/channels.v3.yml, getChannels), and so are order refunds by
        ``created``, the metafields' batch lists and price lists: the range is read whole, checked against its
        total, sorted and delivered at once, so memory holds the whole range (a few thousand metafields on a
        store of 5,000 products; a first read of a far larger store holds more, which splitting the range by
        date would bound). The range stops before ``start``: records can only leave ``[lo, start - 1]`` while
        it is read, which its total shows, but they can also arrive in second ``start``, and one arriving as
        one read earlier leaves keeps the total while the pages shift past a record that stayed.

        An endpoint that can sort by date (products, whose changes during a walk are read so) is read here in
        id order, not the window's: records tied on a date come in no set order, so pages numbered over more
        ties than a page holds (a bulk edit of products) miss some and repeat others, and the range fails its
        total however often it is read.
        """
        window = self._spec.window
        assert window is not None
        if lo > start - 1:
            return
        params = {
            **self._spec.params,
            **self._extra,
            **_BY_ID.get(window.tie_walk, {}),
            window.min_param: api_param(lo, window.time_format),
            window.max_param: api_param(start - 1, window.time_format),
        }
        pages_read = [page async for page in self._consistent_pages(params)]
        cursor, key = self._spec.cursor or "date_modified", self._key
        records = sorted(
            (r for page in pages_read for r in page.records), key=lambda r: (to_epoch(r[cursor]), key(r))
        )
        # Children are asked for once the range is known whole, for each parent once.
        kept = Page(list({key(r): r for r in records}.values()), 0)
        await self._attach_children([kept])
        yield Batch(kept.records, kept.children, start, kept.failures)

    async def everything(self) -> AsyncGenerator[list[Record], None]:
        """All records of a stream without a cursor (pages, brands, categories, coupons...), each once.

        BigCommerce offers these no date filter; they are small, so pages are fetched concurrently and the
        whole read starts over if the total moves (a record came or went and shifted the pages). A v2 list
        with an id filter (:attr:`StreamSpec.id_floor`) is walked by id instead.
        """
        params = {**self._spec.params, **self._extra}
        delivered: set[Any] = set()
        key = self._key
        pages = self._id_floor_walk(params) if self._spec.id_floor else self._consistent_pages(params)
        async with contextlib.aclosing(pages) as found:
            async for page in found:
                fresh = [r for r in page.records if key(r) not in delivered]
                delivered.update(key(r) for r in fresh)
                yield fresh

    async def sweep(self) -> AsyncGenerator[list[Record], None]:
        """The records of one pass by page number, read to the end however the total moves meanwhile.

        For an id listing whose misses are asked for again by id (``deletes.still_there``): on a busy store
        a record comes or goes during most passes, and a listing that starts over whenever its total moves
        (:meth:`everything`) may never end. A record deleted meanwhile shifts later ones back past the pass;
        those are asked for by id. Records created meanwhile lengthen the list: the pass reads on to the last
        page of the latest total, lengthened at most :data:`MAX_PASSES` times. A page that repeats only records
        already read, under an unmoved total, means the server ignores ``page``, and fails the listing.
        """
        params = {**self._spec.params, **self._extra}
        for _ in range(MAX_PASSES):
            page = await self._get({**params, "limit": str(self._limit)})
            if page.total is not None or not page.split:
                break  # else a heavy first page asked again in pieces the store changed between: ask again
        if page.total is None:
            raise UnexpectedResponse(f"{self._where} answered without meta.pagination.total.")
        self._learn(page)
        first, latest, done = page.total, page.total, 0
        seen: set[Any] = set()
        for _ in range(MAX_PASSES):
            planned = max(done + 1, math.ceil(latest / self._limit))
            fetch = functools.partial(self._page_after, params, done)
            async with contextlib.aclosing(ordered(fetch, page, planned - done, self._lookahead)) as stream:
                async for number, got in stream:
                    ids = [self._key(record) for record in got.records]
                    if done + number > 1 and ids and got.total == first and seen.issuperset(ids):
                        raise ignored(self._spec.name, self._where, f"page={done + number}")
                    seen.update(ids)
                    yield got.records
                    latest = got.total if got.total is not None else latest
                    if len(ids) < self._limit:
                        return
            done = planned
            if latest <= done * self._limit:
                return
            page = await self._page_after(params, done, 1)
        raise ConnectorError(f"{self._spec.name}: the record count kept growing during {MAX_PASSES} reads.")

    async def _page_after(self, params: Mapping[str, str], done: int, number: int) -> Page:
        """Page ``done + number`` of the list."""
        return await self._get(_page_of(params, done + number, self._limit))

    async def _id_floor_walk(self, params: Mapping[str, str]) -> AsyncGenerator[Page, None]:
        """A v2 list in id order, asked from one past the last id read (``min_id``) until the empty page (204).

        A keyset cannot be shifted by a record deleted meanwhile, and no page size the server serves cuts it
        short; a page holding an id already read means the server ignores the filter, and the stream fails.
        """
        floor = self._spec.id_floor
        assert floor is not None
        last = 0
        while True:
            page = await self._get(
                {**params, floor: str(last + 1), "limit": str(self._limit)}, numbered=False
            )
            ids = _ids(page)
            if not ids:
                return
            if min(ids) <= last:
                raise ignored(self._spec.name, self._where, f"{floor}={last + 1}")
            yield page
            last = max(ids)

    async def _v2_passes(self, params: Mapping[str, str]) -> AsyncGenerator[Page, None]:
        """Pages of a v2 list, walked by number to the empty page (204), until two walks list the same records.

        v2 pages carry no total, so nothing in one walk shows a record that left an earlier page meanwhile
        and shifted a later one past the walk; the next walk lists that record where the first did not. A
        walk whose first page is empty has nothing to shift. A page holding only records read earlier in
        its walk means the server ignores ``page``, and fails the stream at once. Pages of every walk are
        yielded: callers de-duplicate by key.

        After a first page shorter than asked, later pages are asked at its size: it is the size the server
        serves, which v2 says nowhere (or the whole list, and the next page is empty at any size). A heavy
        page is then asked again in pieces of the records it holds; pieces of the size asked would be other
        pages of the size served, past records never read, and an empty one ended both walks alike, with
        records missing.
        """
        key = self._key
        previous: list[Any] | None = None
        for _ in range(MAX_PASSES):
            listed: list[Any] = []
            number = 1
            size = self._limit
            while True:
                page = await self._get(_page_of(params, number, size))
                keys = [key(record) for record in page.records]
                if not keys:
                    break
                if number > 1 and set(keys) <= set(listed):
                    raise ignored(self._spec.name, self._where, f"page={number}")
                if number == 1 and not page.split:
                    size = min(size, len(keys))
                listed.extend(keys)
                yield page
                number += 1
            listed.sort()
            if not listed or listed == previous:
                return
            previous = listed
        raise ConnectorError(f"{self._spec.name}: the records kept changing during {MAX_PASSES} reads.")

    async def _consistent_pages(self, params: Mapping[str, str]) -> AsyncGenerator[Page, None]:
        """Pages of one listing, fetched concurrently; after a pass whose totals disagree, another pass.

        A pass whose totals agree must hold as many distinct records as its total: one that holds fewer is
        read again once (:data:`MAX_SHORT_PASSES`), and then the stream fails; one whose last page is full
        and links to another (``links.next``) holds more than its total, and is followed a page at a time to
        the API's own last page. A first page whose pieces (a heavy page asked again smaller, :meth:`_get`)
        disagree on the total is a total that moved too. A page that repeats only records already read in its
        pass means the server ignores ``page``, and fails the stream at once. Pages of a disagreeing pass may
        already have been yielded: callers de-duplicate by key. A v2 list has no total: :meth:`_v2_passes`
        reads it.
        """
        if self._spec.api == "v2":
            async with contextlib.aclosing(self._v2_passes(params)) as walked:
                async for page in walked:
                    yield page
            return
        key = self._key
        short = 0
        for _ in range(MAX_PASSES):
            first = await self._get({**params, "limit": str(self._limit)})
            total = first.total
            if total is None and first.split:
                continue  # a heavy first page asked again in pieces the store changed between: start over
            if total is None:
                raise UnexpectedResponse(f"{self._where} answered without meta.pagination.total.")
            self._learn(first)
            limit = self._limit
            pages = max(1, math.ceil(total / limit))
            seen: set[Any] = set()
            moved = False
            last = first
            async with contextlib.aclosing(
                ordered(lambda n: self._get(_page_of(params, n, self._limit)), first, pages, self._lookahead)
            ) as stream:
                async for number, page in stream:
                    if page.total != total:
                        moved = True
                        break
                    ids = [key(record) for record in page.records]
                    if number > 1 and ids and seen.issuperset(ids):
                        raise ignored(self._spec.name, self._where, f"page={number}")
                    seen.update(ids)
                    last = page
                    yield page
                    if len(ids) < _due(number, pages, limit, total):
                        break
            number = pages
            while not moved and last.more and len(last.records) >= limit:
                # The last page the total makes links to another (meta.pagination.links.next): the total
                # falls short of the listing, and only the API's last page ends it. Read on, one at a time.
                number += 1
                last = await self._get(_page_of(params, number, self._limit))
                moved = last.total != total
                ids = [key(record) for record in last.records]
                if not moved and ids and seen.issuperset(ids):
                    raise ignored(self._spec.name, self._where, f"page={number}")
                seen.update(ids)
                if not moved:
                    yield last
            if moved:
                continue
            if len(seen) >= total:
                return
            short += 1
            if short >= MAX_SHORT_PASSES:
                raise shortfall(self._spec.name, total, len(seen), again="also when read again")
        raise ConnectorError(f"{self._spec.name}: the record count kept changing during {MAX_PASSES} reads.")


def _cancel_slices(parts: list[Slice]) -> None:
    """Stop fetching the children of slices a walk will not deliver; the failure of one already done is the
    walk's own, raised or delivered, or moot once the walk stopped."""
    for part in parts:
        if not part.children.cancel() and not part.children.cancelled():
            part.children.exception()


async def _cancel(task: asyncio.Task[Page]) -> None:
    """Stop a page asked for ahead that the walk no longer wants."""
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _tiled(pieces: list[Page], key: Callable[[Record], Any]) -> bool:
    """Whether consecutive pieces of a page are one run of records: each full up to the last one holding
    any (the list may end within the page), none repeated (by ``key``: a price list record has no id)."""
    last = max((index for index, piece in enumerate(pieces) if piece.records), default=0)
    ids = [key(record) for piece in pieces for record in piece.records]
    return all(piece.full for piece in pieces[:last]) and len(ids) == len(set(ids))


def _page_of(params: Mapping[str, str], number: int, limit: int) -> dict[str, str]:
    """``params`` asking for page ``number`` of ``limit`` records."""
    page = {**params, "limit": str(limit), "page": str(number)}
    if number == 1:
        del page["page"]
    return page


def _due(number: int, pages: int, limit: int, total: int) -> int:
    """How many records page ``number`` of ``pages`` must hold when ``total`` are served ``limit`` a page."""
    return limit if number < pages else max(0, total - (pages - 1) * limit)
