"""The read: every selected stream at once, records delivered in cursor order, state checkpointed as it goes.

The engine pins the sync's start ``T`` first, on BigCommerce's own clock (the ``Date`` of one request,
never later than ours), so that the incremental guarantee holds against the server's timestamps: every
record last modified at or before ``T`` is delivered, and no saved cursor passes ``T``: a saved cursor
already after ``T`` fails its stream instead of skipping what lies between, and a ``Date`` more than a day
from our clock is logged. Then each stream runs as its own task, except that a parent and its selected
children share one walk (children.py; a child that follows its parent is read for the changed parents only
in an incremental sync); the orders' walk ends with the archived orders it could not see
(:meth:`Engine._archived`). A stream that fails reports its
error and stops where its state last stood (one whose list came out of the order asked goes back to where
the read started, paging.Unsorted); the others finish.

Everything the engine produces goes to a :class:`Sink`: the Airbyte protocol writer for ``read``, the dlt
loader for ``sync``. Sink methods are coroutines so a slow destination holds the engine back instead of
letting records pile up in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from source_bigcommerce import dates, records, state
from source_bigcommerce.children import ParentChildren, parent_params
from source_bigcommerce.config import refuse_future_start
from source_bigcommerce.errors import ConfigError, ConnectorError
from source_bigcommerce.http import (
    ApiError,
    Client,
    Forbidden,
    NotFound,
    Unauthorized,
    Unreachable,
    Untrusted,
)
from source_bigcommerce.paging import Batch, Record, UnexpectedResponse, Unsorted, Walker
from source_bigcommerce.protocol import LogLevel
from source_bigcommerce.streams import BY_NAME, STREAMS, StreamSpec

SyncMode = Literal["full_refresh", "incremental"]
Status = Literal["STARTED", "RUNNING", "COMPLETE", "INCOMPLETE"]
CHILDREN: Mapping[str, tuple[StreamSpec, ...]] = {
    parent: tuple(spec for spec in STREAMS if spec.parent == parent)
    for parent in dict.fromkeys(spec.parent for spec in STREAMS if spec.parent)
}
"""Each parent's children, in the table's order: a parent and its selected children share one walk."""
ARCHIVING = "orders"
"""The parent whose list leaves archived records out unless asked (Engine._archived)."""
PIN_FAILURES = 2
"""Endpoints that may fail the request that reads BigCommerce's clock before the sync starts at ours."""
CLOCK_SKEW_S = 86_400
"""A ``Date`` header further than this from the local clock is reported: one of the two clocks is wrong."""


class Sink(Protocol):
    """Where the engine's output goes, in order per stream."""

    async def records(self, stream: str, batch: list[Record]) -> None: ...

    async def state(self, stream: str, stream_state: dict[str, Any], count: int) -> None:
        """A checkpoint of ``stream``; ``count`` is the records it has delivered so far, in all."""

    async def status(self, stream: str, status: Status) -> None: ...

    async def failed(self, stream: str, error: ConnectorError) -> None: ...

    async def childless(self, stream: str, parents: list[Any]) -> None:
        """Parents whose list of this child stream was read and found empty, delivered with the stream's records
        (the next STATE covers them): their earlier children are gone from the store, and a sink that replaces a
        parent's children by its key (``sync``'s merge on ``order_id``) gets no row to replace them by."""

    def log(self, level: LogLevel, message: str) -> None: ...


@dataclass(frozen=True)
class Settings:
    start_date: int
    """Epoch second: nothing last modified earlier is read."""
    api_url: str
    store_hash: str
    lookahead: int
    """Pages of one stream fetched ahead of delivery, concurrently (bounds memory per stream)."""


@dataclass
class Progress:
    """One selected stream's run: where it started, what it delivered, where it stands."""

    spec: StreamSpec
    mode: SyncMode
    lo: int = 0
    start: int = 0
    """The sync's start second: the cursor never passes it (state.advance)."""
    count: int = 0
    cursor: int | None = None
    stated: int = 0
    """``count`` when the last STATE was sent: the records since then wait for one to cover them."""
    error: ConnectorError | None = None
    running: bool = False
    archived: state.Archived | None = None
    """The orders family: what it knows of the archived orders it has delivered (state.Archived)."""

    @property
    def failed(self) -> bool:
        return self.error is not None


class Engine:
    def __init__(self, client: Client, sink: Sink, settings: Settings, wall: Callable[[], float]) -> None:
        self._client = client
        self._sink = sink
        self._settings = settings
        self._wall = wall

    async def read(
        self, selection: list[tuple[StreamSpec, SyncMode]], states: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, Progress]:
        """Read the selected streams; returns each stream's progress (``.failed`` tells which failed).

        A 401, an unknown store or a ``start_date`` in the future stops everything with a
        :class:`ConfigError` before any stream starts.
        """
        refuse_future_start(self._settings.start_date, self._wall())
        start = await self._pin_start([spec for spec, _ in selection])
        progress = {
            spec.name: self._plan(spec, mode, states.get(spec.name) or {}, start) for spec, mode in selection
        }
        for item in progress.values():
            await self._sink.status(item.spec.name, "STARTED")
        work = []
        for parent, children in CHILDREN.items():
            names = (parent, *(spec.name for spec in children))
            family = [progress[n] for n in names if n in progress and not progress[n].failed]
            if family:
                work.append(self._guard(family, self._family(BY_NAME[parent], family, start)))
        for item in progress.values():
            if item.failed:
                work.append(self._guard([item], _nothing()))
            elif item.spec.name not in CHILDREN and item.spec.parent is None:
                work.append(self._guard([item], self._stream(item, start)))
        # What escapes a stream's guard stops the read (the sink failed: the destination is gone); the other
        # streams must not read on for nobody.
        await _all(work)
        return progress

    def _plan(
        self, spec: StreamSpec, mode: SyncMode, stream_state: Mapping[str, Any], start: int
    ) -> Progress:
        """Where a stream starts; a saved cursor after the sync's start fails the stream (it is INCOMPLETE,
        its state untouched) rather than skip, or silently re-read, everything modified in between."""
        item = Progress(spec=spec, mode=mode, lo=self._settings.start_date, start=start)
        if not spec.incremental:
            return item
        cursor = state.cursor_of(spec, stream_state) if mode == "incremental" else None
        if mode == "incremental" and stream_state and cursor is None:
            self._sink.log(
                "WARN", f"{spec.name}: the saved state carries no date cursor; reading from start_date."
            )
        if cursor is not None and cursor > start:
            item.error = ConfigError(
                f"The state of stream {spec.name!r} has its cursor at {dates.from_epoch(cursor)}, after this "
                f"sync's start {dates.from_epoch(start)} on BigCommerce's clock, so reading from it would skip "
                "what changes until then; fix or remove that stream's state, or read the stream again from "
                "start_date (sync --full-refresh)."
            )
        item.lo = state.resume_from(self._settings.start_date, cursor, start)
        item.cursor = item.lo
        if mode == "incremental" and ARCHIVING in (spec.name, spec.parent):
            item.archived = state.Archived.from_state(stream_state.get(state.ARCHIVED))
        return item

    async def _pin_start(self, specs: list[StreamSpec]) -> int:
        """The sync's start second: our clock, or BigCommerce's if it is behind, read from one request.

        The request goes to the first selected endpoint that answers. One that keeps failing is left to
        its own stream, which retries and reports it while the others go on; only what stops every stream
        (a rejected token, an unknown store, no connection at all) ends the read here. After
        :data:`PIN_FAILURES` endpoints have failed, the sync starts at our clock: one by one, each with its
        retries, every endpoint of a server that never answers kept the streams waiting an hour.
        """
        ours = math.floor(self._wall())
        tried: set[tuple[str, str]] = set()
        failed = 0
        for spec in specs:
            if failed >= PIN_FAILURES:
                break
            target = BY_NAME[spec.parent or spec.per or spec.name]
            if (target.api, target.path) in tried:
                continue
            tried.add((target.api, target.path))
            try:
                response = await self._client.get(target.api, target.path, {"limit": "1"}, max_retries=2)
            except (Unauthorized, Unreachable, Untrusted):
                raise
            except Forbidden:
                continue  # this stream's scope is missing; it will say so itself
            except NotFound:
                raise unknown_store(self._settings.store_hash) from None
            except ConnectorError as error:
                self._sink.log("WARN", f"{error.message} Its stream will try again; the others go on.")
                failed += 1
                continue
            server = response.server_time()
            if server is None:
                return ours
            if abs(server - ours) > CLOCK_SKEW_S:
                self._sink.log(
                    "WARN",
                    f"BigCommerce's clock (the Date header of its answer, {dates.from_epoch(server)}) is "
                    f"{abs(server - ours) / 86_400:.1f} days {'behind' if server < ours else 'ahead of'} this "
                    f"machine's ({dates.from_epoch(ours)}); the sync starts at the earlier of the two, so "
                    "check this machine's clock, or a proxy that rewrites the Date header.",
                )
            return min(ours, server)
        return ours

    async def _guard(self, items: list[Progress], work: Coroutine[Any, Any, None]) -> None:
        """Run one stream's (or a parent's family's) work; a failure ends those streams only."""
        try:
            await work
        except Exception as exc:
            error = exc if isinstance(exc, ConnectorError) else _internal(exc)
            for item in items:
                if not item.failed:
                    item.error = self._explain(item.spec, error)
        for item in items:
            if item.failed:
                assert item.error is not None
                if isinstance(item.error, Unsorted) and item.cursor is not None and item.cursor != item.lo:
                    # The list was not in the order every checkpoint of this read rests on (paging.Unsorted).
                    item.cursor, item.stated = item.lo, item.count
                    await self._sink.state(item.spec.name, self._state(item), item.count)
                await self._sink.failed(item.spec.name, item.error)
                await self._sink.status(item.spec.name, "INCOMPLETE")
            else:
                await self._sink.state(item.spec.name, self._state(item), item.count)
                await self._sink.status(item.spec.name, "COMPLETE")

    def _explain(self, spec: StreamSpec, error: ConnectorError) -> ConnectorError:
        if isinstance(error, Forbidden):
            return ConfigError(
                f"Stream {spec.name} was skipped: {error.path} answered 403, so the API account lacks the "
                f"OAuth scope {_scope_for(error.path)}; grant it (read-only is enough) or deselect the stream."
            )
        return error

    def _state(self, item: Progress) -> dict[str, Any]:
        return state.state_for(item.spec, item.cursor if item.spec.incremental else None, item.archived)

    async def _deliver(self, item: Progress, batch: list[Record]) -> None:
        if not batch:
            return
        if not item.running:
            item.running = True
            await self._sink.status(item.spec.name, "RUNNING")
        item.count += len(batch)
        await self._sink.records(item.spec.name, batch)

    async def _advance(self, item: Progress, resume: int | None) -> None:
        """Checkpoint a stream after a delivered batch, by the one rule of :func:`state.advance`: when its
        cursor moved, or when records came that no STATE covers yet though it stays (the slices of a second
        walked by id); a sync commits records only with a STATE that covers them."""
        if item.failed or item.cursor is None or resume is None:
            return
        cursor = state.advance(item.cursor, resume, item.start)
        if cursor == item.cursor and item.count == item.stated:
            return
        item.cursor, item.stated = cursor, item.count
        await self._sink.state(item.spec.name, self._state(item), item.count)

    def _walker(self, spec: StreamSpec, **kwargs: Any) -> Walker:
        return Walker(
            self._client,
            spec,
            normalize=records.normalizer(spec.name),
            lookahead=self._settings.lookahead,
            log=self._sink.log,
            **kwargs,
        )

    async def _stream(self, item: Progress, start: int) -> None:
        spec = item.spec
        if spec.single:
            body = (await self._client.get(spec.api, spec.path)).body
            if not isinstance(body, (dict, list)):  # the store's object, or order statuses' list
                shape = "no body" if body is None else f"a JSON {type(body).__name__}"
                raise UnexpectedResponse(f"GET /{spec.api}{spec.path} answered with {shape}, not its object.")
            objects: list[Record] = [body] if isinstance(body, dict) else body
            normalize = records.normalizer(spec.name)
            for record in objects:
                normalize(record)
            await self._deliver(item, objects)
            return
        if spec.per is not None:
            await self._per_record(item, BY_NAME[spec.per], start)
            return
        walker = self._walker(spec)
        if spec.window is None:
            async with contextlib.aclosing(walker.everything()) as pages:
                async for batch in pages:
                    await self._deliver(item, batch)
            return
        batches = (
            walker.unsorted(item.lo, start)
            if spec.window.tie_walk == "pages"
            else walker.modified(item.lo, start)
        )
        # Closed here when the sink fails, not later by the collector in a task of its own: the walk's own
        # generators then close in order, and its pages in flight are cancelled before the read ends.
        async with contextlib.aclosing(batches) as found_batches:
            async for found in found_batches:
                await self._deliver(item, found.records)
                await self._advance(item, found.resume)

    async def _per_record(self, item: Progress, parent_spec: StreamSpec, start: int) -> None:
        """A stream read once for each record of another (:attr:`StreamSpec.per`), all of them every sync.

        The parents are listed whole first; each one's list is then read for ``[lo, start - 1]`` as a stream of
        its own, several at once within the stream's :attr:`StreamSpec.in_flight`, and delivered before its
        slot is freed (memory holds the lists in flight only). Every window ends at the same ``start``, so the
        stream's one cursor moves there only once every parent's list is delivered.
        """
        spec = item.spec
        parents: list[int] = []
        async with contextlib.aclosing(self._walker(parent_spec).everything()) as pages:
            async for page in pages:
                parents.extend(record["id"] for record in page)
        prefix, _, rest = spec.path.partition("{")
        suffix = rest.partition("}")[2]
        # As many lists at once as the stream's requests allow, each with what is left of them as lookahead:
        # many small lists go side by side, a few large ones page ahead.
        at_once = max(1, min(len(parents), spec.in_flight or self._settings.lookahead))
        lookahead = max(1, min(self._settings.lookahead, (spec.in_flight or at_once) // at_once))
        slots = asyncio.Semaphore(at_once)
        delivering = asyncio.Lock()

        async def one(parent: int) -> None:
            child = dataclasses.replace(spec, path=f"{prefix}{parent}{suffix}")
            walker = Walker(
                self._client,
                child,
                normalize=records.normalizer(spec.name),
                lookahead=lookahead,
                log=self._sink.log,
            )
            async with slots:
                try:
                    found = [r async for batch in walker.unsorted(item.lo, start) for r in batch.records]
                except NotFound:
                    # Deleted since it was listed: its records went with it.
                    self._sink.log("INFO", f"{spec.name}: {parent_spec.name} {parent} is gone; skipped.")
                    return
                async with delivering:
                    await self._deliver(item, found)

        await _all([one(parent) for parent in parents])
        await self._advance(item, start)

    async def _family(self, parent: StreamSpec, family: list[Progress], start: int) -> None:
        """One walk over a parent serves it and its selected children, each from its own cursor."""
        by_name = {item.spec.name: item for item in family}
        children = [item.spec for item in family if item.spec.parent == parent.name]
        hook = ParentChildren(
            client=self._client,
            api_url=self._settings.api_url,
            store_hash=self._settings.store_hash,
            parent=parent,
            children={spec.name: spec for spec in children},
            since={spec.name: by_name[spec.name].lo for spec in children},
            normalize={spec.name: records.normalizer(spec.name) for spec in children},
            log=self._sink.log,
        )
        walker = self._walker(
            parent, extra_params=parent_params(children), on_page=hook if children else None
        )
        assert parent.window is not None, "a parent is read by date_modified windows"
        lo = min(item.lo for item in family)
        by_pages = parent.window.tie_walk == "pages"
        batches = walker.unsorted(lo, start) if by_pages else walker.modified(lo, start)
        archived: set[int] = set()
        walked: set[int] = set()
        whole = any(not spec.follows_parent for spec in children)
        async with contextlib.aclosing(batches) as found:
            async for batch in found:
                if whole:
                    walked.update(record["id"] for record in batch.records)
                await self._family_batch(parent, by_name, batch, archived)
        if parent.name == ARCHIVING:
            await self._archived(parent, by_name, walker, archived, hook)
        if whole:
            # The first second the walk left: a walk by pages stops before the start (Walker.unsorted).
            await self._changed_meanwhile(parent, by_name, walker, start if by_pages else start + 1, walked)

    async def _changed_meanwhile(
        self, parent: StreamSpec, by_name: dict[str, Progress], walker: Walker, after: int, walked: set[int]
    ) -> None:
        """Deliver to the children read whole every sync (``follows_parent=False``) those of the parents changed
        while the walk ran.

        The walk reads the parents modified up to the sync's start; a parent edited meanwhile carries a later
        ``date_modified``, so the walk never reached it, and without this its images (or listings) would be
        missing from a stream read whole: marked deleted by ``sync --deletes``, or gone from a replaced table,
        until the next sync. One more read, of the window from ``after`` on (the first second the walk did not
        read), finds them: one request when nothing changed. The parents themselves are left to the next sync's window, so no cursor
        moves; a parent the walk delivered already keeps the children read with it.
        """
        whole = {
            name: item
            for name, item in by_name.items()
            if item.spec.parent == parent.name and not item.spec.follows_parent and not item.failed
        }
        if not whole:
            return
        hi = max(after, math.floor(self._wall())) + CLOCK_SKEW_S
        # Read whole, checked against its total (re-read if it moves): one request when nothing changed.
        async with contextlib.aclosing(walker.unsorted(after, hi)) as found:
            async for batch in found:
                fresh = [record for record in batch.records if record["id"] not in walked]
                await self._family_batch(parent, whole, dataclasses.replace(batch, records=fresh), set())

    async def _archived(
        self,
        parent: StreamSpec,
        by_name: dict[str, Progress],
        walker: Walker,
        seen: set[int],
        hook: ParentChildren,
    ) -> None:
        """Deliver, marked ``is_deleted: true``, the orders archived since the last read that the walk did not.

        BigCommerce archives a deleted order, and its list may leave archived orders out unless asked with
        ``is_deleted=true``; whether archiving moves ``date_modified`` is not documented either. So the
        walk's window cannot be trusted to hold a newly archived order. Instead, every read lists the
        archived orders' ids (by id, to the empty page: one request per 250 archived orders and one more)
        and compares their summary with the one kept in the state (:class:`state.Archived`), which tells
        exactly which were archived since. Those the walk did not deliver are read again from the first of
        them (usually one request) and delivered, with their children where their cursors want them.
        ``/orders/count`` is not asked: BigCommerce's may lag behind the list. An API that ignores the
        filter (it answers orders that are not archived) shows archived orders in its default list, which
        the walk has read.

        They come with their children whatever the children's cursors say (``hook.every_parent``): an order
        the default list leaves out is never seen by the walk, and a read that failed before this step may
        have saved a child's cursor past such an order's date without its children.
        """
        items = [item for item in by_name.values() if not item.failed]
        if not items:
            return
        saved = {item.archived for item in items}
        before = saved.pop() if len(saved) == 1 else None
        listed: set[int] = set()
        in_range: set[int] = set()  # modified at or after start_date: the others are not read at all
        try:
            async with contextlib.aclosing(walker.archived(lambda order: False)) as pages:
                async for page, _ in pages:
                    listed.update(order["id"] for order in page)
                    in_range.update(o["id"] for o in page if _modified(o) >= self._settings.start_date)
            if walker.filter_ignored:
                self._sink.log(
                    "INFO",
                    "orders: GET /v2/orders ignores is_deleted=true; archived orders come in its default list.",
                )
                return
            now = state.Archived.of(listed)
            wanted = (listed if before is None else before.news(now, listed)) & (in_range - seen)
            if wanted:
                with hook.every_parent():
                    await self._deliver_archived(parent, by_name, walker, wanted, seen)
        except ApiError as error:
            if error.status not in (400, 422):
                raise
            self._sink.log(
                "WARN",
                f"orders: {error.message} Archived orders are read from the default list only, which may "
                "leave them out.",
            )
            return
        for item in items:
            item.archived = now

    async def _deliver_archived(
        self,
        parent: StreamSpec,
        by_name: dict[str, Progress],
        walker: Walker,
        wanted: set[int],
        seen: set[int],
    ) -> None:
        """Read the archived orders ``wanted`` again, from the first of them, and deliver them."""
        pending = set(wanted)
        listing = walker.archived(lambda order: order["id"] in wanted, first_id=min(wanted))
        async with contextlib.aclosing(listing) as pages:
            async for page, batch in pages:
                await self._family_batch(parent, by_name, batch, seen, listed=True)
                pending.difference_update(order["id"] for order in page)
                if not pending:
                    break

    async def _family_batch(
        self,
        parent: StreamSpec,
        by_name: dict[str, Progress],
        batch: Batch,
        archived: set[int],
        *,
        listed: bool = False,
    ) -> None:
        """Deliver a batch of a parent's walk to each member of its family still running.

        ``archived`` gathers the ids of the archived orders delivered; a batch of the archived listing
        (``listed``) is delivered whatever its orders' dates, and moves no cursor.
        """
        for name, error in batch.failures.items():
            item = by_name.get(name)
            if item is not None and not item.failed:
                item.error = self._explain(item.spec, error)
                self._sink.log("ERROR", f"{name}: {item.error.message} The other streams go on.")
        archived.update(record["id"] for record in batch.records if record.get("is_deleted") is True)
        own = by_name.get(parent.name)
        if own is not None and not own.failed:
            found = batch.records
            # A batch is in cursor order: when its first record is in the parent's range, all of them are.
            if not listed and found and _modified(found[0]) < own.lo:
                found = [r for r in found if _modified(r) >= own.lo]
            await self._deliver(own, found)
        for child in by_name.values():
            if child.spec.parent != parent.name or child.failed:
                continue
            name = child.spec.name
            lists = [batch.children.get(parent_record["id"], {}).get(name) for parent_record in batch.records]
            await self._deliver(child, [record for found in lists if found for record in found])
            childless = [
                parent["id"] for parent, found in zip(batch.records, lists, strict=True) if found == []
            ]
            if childless:
                await self._sink.childless(name, childless)
        for item in by_name.values():
            await self._advance(item, batch.resume)


def unknown_store(store_hash: str) -> ConfigError:
    """The one sentence for a store hash BigCommerce does not know (the first request answered 404)."""
    return ConfigError(
        f"BigCommerce knows no store with the hash {store_hash!r} (HTTP 404): "
        "check store_hash (the part after /stores/ in the API path of your API account)."
    )


async def _nothing() -> None:
    """The work of a stream that failed before it started (its error is already set)."""


def _modified(record: Record) -> int:
    return dates.to_epoch(record["date_modified"])


def _scope_for(where: str) -> str:
    """The read-only scope that opens the endpoint a request went to (``GET /v2/orders/7/products``)."""
    path = where.split(" ", 1)[-1]
    for spec in sorted(BY_NAME.values(), key=lambda s: -len(s.path)):
        prefix = f"/{spec.api}{spec.path.split('{', 1)[0]}"
        suffix = spec.path.rsplit("}", 1)[-1] if "{" in spec.path else ""
        if path.startswith(prefix) and path.endswith(suffix):
            return spec.scope
    return "for that endpoint"


def _internal(exc: Exception) -> ConnectorError:
    """A bug of ours, reported as such: the type and text of the exception, which carry no secret."""
    error = ConnectorError(f"Internal error: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


async def _all(coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run the coroutines together; the first exception cancels the others, and none outlives the call."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
