"""The engine's sink for ``sync``: records buffered per stream, cut into chunks at STATE boundaries, committed.

A chunk holds, for each stream, the rows its latest STATE covers and that STATE; the rows a stream delivered
after its latest STATE wait for the next one, so the state committed with a chunk covers exactly its rows.
A chunk is cut once :attr:`Chunking.chunk_rows` rows or :attr:`Chunking.chunk_bytes` of their JSON are covered
(for destinations other than DuckDB and Postgres the loader holds a chunk's Arrow tables in memory: 50,000
records of 1 MB would be 50 GB), and, whatever the
pace of reading, at least every :attr:`Chunking.chunk_seconds` once some rows (or states) are covered: a timer
cuts it when no STATE arrives to, so a sync held back by a tight quota still commits what it has. A killed sync
therefore loses at most the last interval of reading, plus the chunk whose load it interrupted.

Records are checked and serialised the moment they arrive (:func:`~source_bigcommerce.columns.preparer`,
:class:`~source_bigcommerce.tables.Spool`): a record no column could hold (money that is not an amount, a whole
number beyond 64 bits, JSON nested too deep to write, a NUL character on Postgres) fails its own stream here, in
the engine's guard, with its cursor left before it; in the loader it would fail the load, which holds every
stream's rows, and every later sync would try that load again. Records wait on disk, not in memory, whether a
STATE covers them yet or not (but for the last :data:`~source_bigcommerce.tables.PENDING_BYTES` of those it does
not). The loader thread converts and loads one chunk while the engine reads the next; when the next is due
before the previous one is loaded, the engine waits, so at most one chunk is ever in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from source_bigcommerce.columns import prepare_batch, preparer
from source_bigcommerce.deletes import read_whole
from source_bigcommerce.destination import DestinationError
from source_bigcommerce.engine import Status
from source_bigcommerce.errors import ConnectorError
from source_bigcommerce.paging import Record
from source_bigcommerce.pipeline import Loader, Part
from source_bigcommerce.protocol import LogLevel
from source_bigcommerce.report import Report
from source_bigcommerce.source import Disposition
from source_bigcommerce.streams import BY_NAME, StreamSpec
from source_bigcommerce.tables import Spool

CHUNK_BYTES = 128 << 20
"""JSON per chunk, whatever the number of rows: for destinations other than DuckDB and Postgres, the loader
converts a chunk to Arrow in memory."""
T = TypeVar("T")
Call = Callable[[Callable[[], T]], Awaitable[T]]
"""Runs a function in the loader thread."""
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Chunking:
    """When a chunk is cut (``--chunk-rows``, ``--chunk-seconds``); what to write, in what way."""

    streams: tuple[StreamSpec, ...]
    chunk_rows: int
    chunk_seconds: float
    chunk_bytes: int = CHUNK_BYTES
    full_refresh: bool = False
    write_disposition: Disposition = "merge"
    merge_whole: bool = False
    """Streams read whole every sync are merged rather than replaced (``--deletes mark``): the rows whose
    records left the store stay, to be marked (:mod:`source_bigcommerce.deletes`)."""


@dataclass
class _Buffer:
    spool: Spool
    state: dict[str, Any] | None = None
    """The latest STATE: it covers ``spool.ready``."""
    touched: bool = False
    """A STATE arrived since the last chunk."""


class LoadSink:
    """The engine's :class:`~source_bigcommerce.engine.Sink` for ``sync``: hands chunks to the loader thread."""

    def __init__(
        self,
        call: Callable[[Callable[[], Any]], Awaitable[Any]],
        loader: Loader,
        chunking: Chunking,
        report: Report,
        clock: Callable[[], float],
        spool: Path,
        sleep: Sleep = asyncio.sleep,
        *,
        refuse_nul: bool = False,
    ) -> None:
        """``spool`` is an empty directory for the records covered by a STATE until their chunk is loaded;
        ``refuse_nul`` fails a stream whose record holds a NUL character, which Postgres cannot store."""
        self._call = call
        self._loader = loader
        self._chunking = chunking
        self._report = report
        self._clock = clock
        self._sleep = sleep
        merged = chunking.write_disposition == "merge"
        kept = {
            spec.name
            for spec in chunking.streams
            if chunking.merge_whole and not chunking.full_refresh and read_whole(spec)
        }
        self._kept = kept
        """Streams read whole and merged (``merge_whole``), whatever ``write_disposition`` says."""
        self._buffers = {
            spec.name: _Buffer(
                Spool(
                    spool,
                    spec.name,
                    spec.primary_key if (merged and spec.incremental) or spec.name in kept else None,
                    parent_key=spec.parent_key if merged and spec.incremental else None,
                    refuse_nul=refuse_nul,
                )
            )
            for spec in chunking.streams
        }
        self._prepare = {spec.name: preparer(spec.name) for spec in chunking.streams}
        self._replace = {
            spec.name
            for spec in chunking.streams
            if chunking.full_refresh or not (spec.incremental or spec.name in kept)
        }
        self._loading: asyncio.Task[None] | None = None
        self._timer: asyncio.Task[None] | None = None
        self._cutting = asyncio.Lock()
        self._open = asyncio.Event()
        self._open.set()
        self._last_cut = clock()
        self.fatal: DestinationError | None = None

    def start(self) -> None:
        """Start the timer that cuts a chunk when no STATE arrives to (see the module docstring)."""
        self._timer = asyncio.ensure_future(self._tick())

    async def _pass(self) -> None:
        """Wait while a chunk is being handed over; stop every stream once the destination failed."""
        await self._open.wait()
        if self.fatal is not None:
            raise self.fatal

    async def records(self, stream: str, batch: list[Record]) -> None:
        """Check and serialise a stream's records: one no column could hold fails its own stream (the engine's
        guard catches it), where in the loader it would stop the whole sync (see the module docstring)."""
        await self._pass()
        plain = prepare_batch(self._prepare[stream], batch)
        self._buffers[stream].spool.add(batch, misfit=not plain)
        self._report.read(stream, len(batch))

    async def state(self, stream: str, stream_state: dict[str, Any], count: int) -> None:
        await self._pass()
        buffer = self._buffers[stream]
        buffer.spool.cover()
        buffer.state = dict(stream_state)
        buffer.touched = True
        if self._due():
            await self._cut()

    async def childless(self, stream: str, parents: list[Any]) -> None:
        await self._pass()
        self._buffers[stream].spool.childless(parents)

    async def status(self, stream: str, status: Status) -> None:
        if status == "COMPLETE":
            self._report.complete(stream)

    async def failed(self, stream: str, error: ConnectorError) -> None:
        self._buffers[stream].spool.drop_pending()
        if not isinstance(error, DestinationError):
            self._report.failed(stream, error.message)

    def log(self, level: LogLevel, message: str) -> None:
        self._report.log(level, message)

    async def finish(self) -> None:
        """Commit everything covered by a STATE and wait for the last load."""
        await self._stop_timer()
        if self.fatal is not None:
            raise self.fatal
        await self._cut()
        await self._wait_loading()

    async def close(self) -> None:
        """Stop the timer and wait for a load in flight, whatever happened (its failure is in ``fatal``); drop
        the records no chunk took."""
        await self._stop_timer()
        if self._loading is not None:
            await asyncio.gather(self._loading, return_exceptions=True)
        for buffer in self._buffers.values():
            buffer.spool.discard()

    async def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)
            self._timer = None

    async def _tick(self) -> None:
        while True:
            wait = self._last_cut + self._chunking.chunk_seconds - self._clock()
            if wait > 0:
                await self._sleep(wait)
            elif self._due():
                await self._cut()
            else:
                # Nothing covered yet: the STATE that covers something cuts the chunk itself.
                await self._sleep(self._chunking.chunk_seconds)
            if self.fatal is not None:
                return

    def _due(self) -> bool:
        ready = [buffer.spool.ready for buffer in self._buffers.values()]
        if sum(rows.rows for rows in ready) >= self._chunking.chunk_rows:
            return True
        if sum(rows.bytes for rows in ready) >= self._chunking.chunk_bytes:
            return True
        touched = any(buffer.touched for buffer in self._buffers.values())
        return touched and self._clock() - self._last_cut >= self._chunking.chunk_seconds

    async def _cut(self) -> None:
        """Hand the chunk to the loader thread once the previous one is loaded; the engine waits meanwhile."""
        async with self._cutting:
            self._open.clear()
            try:
                await self._wait_loading()
                parts = self._take()
                if not parts:
                    return
                self._last_cut = self._clock()
                self._loading = asyncio.ensure_future(self._commit(parts))
            finally:
                self._open.set()

    def _take(self) -> list[Part]:
        parts: list[Part] = []
        for name, buffer in self._buffers.items():
            if not buffer.touched or buffer.state is None:
                continue
            spec = BY_NAME[name]
            disposition: Disposition = "merge" if name in self._kept else self._chunking.write_disposition
            if name in self._replace:
                disposition = "replace"
                if spec.incremental:
                    self._replace.discard(name)
            parts.append(Part(spec, buffer.spool.take(), buffer.state, disposition))
            buffer.touched = False
        return parts

    async def _commit(self, parts: list[Part]) -> None:
        """Convert, extract and load one chunk, a task beside the reading. Its failure is kept in ``fatal``
        only, where every stream meets it: raised from a task no one awaited, asyncio would print it with its
        traceback ("Task exception was never retrieved") when the task is collected."""
        try:
            loaded = await self._guarded(lambda: self._loader.extract(parts))
            await self._guarded(self._loader.load)
            if not self._cutting.locked():
                # No chunk is waiting for this one: free the destination until the next is due.
                await self._guarded(self._loader.release)
        except ConnectorError:
            return
        self._report.committed(loaded)

    async def _wait_loading(self) -> None:
        """Wait for the chunk in flight. Shielded: the timer waits here too, and stopping the timer (when
        reading ends) must not cancel the load it was waiting for, which :meth:`finish` then waits for."""
        if self._loading is not None:
            await asyncio.shield(self._loading)
            self._loading = None
        if self.fatal is not None:
            raise self.fatal

    async def _guarded(self, work: Callable[[], T]) -> T:
        try:
            return await self._call(work)  # type: ignore[no-any-return]
        except DestinationError as error:
            self.fatal = error
            raise
        except ConnectorError as error:
            self.fatal = DestinationError(error.message)
            raise self.fatal from error
