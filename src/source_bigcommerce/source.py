"""The dlt source: one resource per stream, the same tables and state whether a user's pipeline runs it or ``sync``.

A user composes it like any dlt source::

    import dlt
    from source_bigcommerce import bigcommerce_source

    pipeline = dlt.pipeline("bigcommerce", destination="duckdb", dataset_name="main")
    pipeline.run(bigcommerce_source({"store_hash": "...", "access_token": "...", "start_date": "2024-01-01"}))

:func:`bigcommerce_source` reads with the same engine as ``read`` and ``sync`` (one walk of the orders serves
them and their children; the store's quota is shared by every stream) and gives each stream's rows to its
resource as Arrow tables typed as below. ``sync`` commits the same resources chunk by chunk
(:func:`stream_resource`), so a pipeline of this source and a ``sync`` write the same tables and can take turns
on them: each continues from the state the other committed, when they use the same pipeline name
(``bigcommerce_<store hash>``, :func:`source_bigcommerce.pipeline.pipeline_name`) and dataset.

**Tables.** One table per stream, named after it, one row per record: nested objects and arrays (addresses,
consignments, images, custom fields...) are JSON columns (``max_table_nesting=0``) rather than dlt's child
tables, because

* a row is the API object, so a table can be read next to BigCommerce's documentation;
* merging stays one statement per table, with no child rows to delete and re-insert;
* JSON columns behave the same on DuckDB (``JSON``) and Postgres (``jsonb``): ``billing_address->>'email'``
  works on both, where child tables would name dozens of tables after nesting paths;
* a nested field BigCommerce adds tomorrow lands inside its JSON value instead of spawning tables.

Column types come from the streams' JSON Schemas (:mod:`source_bigcommerce.columns`); rows reach dlt as Arrow
tables typed that way (:mod:`source_bigcommerce.tables`).

**Write dispositions.** Incremental streams merge on their primary key (the newest version wins, so the table
mirrors the store; a record hard-deleted in BigCommerce stays until a full refresh). The children of an order
read again (order products, transactions) replace all of its earlier ones, by the order's id alone: an order
is always read with every child it has, so a line item removed from an edited order leaves the table too (and
the delete is a hash join, where matching on the child's id as well would compare every pair of rows). With
``write_disposition="append"`` they keep every version as a new row instead. Full-refresh streams (pages,
store, brands, categories) replace their table.

**State** is the engine's per-stream state (the Airbyte shape ``read`` writes), kept in dlt's source state under
``sources.bigcommerce.streams.<stream>``, which dlt stores in the destination in the same load package as the
rows it covers. A resource sets it after the rows it covers, so a failed run commits neither. A stream that
fails (a missing OAuth scope, retries exhausted) raises from its resource, which fails the pipeline's run as
any dlt resource error does: nothing of that run is committed, and the next run starts where the last one
committed. Select streams with ``streams=``, or with dlt's ``with_resources``: only the selected ones are read.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import dlt

from source_bigcommerce import tables, wiring
from source_bigcommerce.columns import column_hints, prepare_batch, preparer
from source_bigcommerce.config import Config, load_config, parse_config
from source_bigcommerce.engine import Status
from source_bigcommerce.errors import ConfigError, ConnectorError
from source_bigcommerce.paging import Record
from source_bigcommerce.protocol import LogLevel
from source_bigcommerce.streams import BY_NAME, STREAMS, StreamSpec

if TYPE_CHECKING:
    from dlt.extract import DltResource

SOURCE = "bigcommerce"
"""The source's name: dlt files the tables' schema and the state under it."""
Disposition = Literal["merge", "append", "replace"]


def table_hints(
    spec: StreamSpec, disposition: Disposition, inferred: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The stream's table for dlt: its name, columns, write disposition and merge keys."""
    from dlt.common.schema.utils import dlt_id_column

    columns = column_hints(spec.name)
    columns.update(inferred or {})
    columns[tables.DLT_ID] = dict(dlt_id_column())
    hints: dict[str, Any] = {
        "name": spec.name,
        "table_name": spec.name,
        "write_disposition": disposition,
        "columns": columns,
    }
    if disposition == "merge":
        if spec.parent_key is not None and spec.incremental:
            # dlt's delete-insert deletes the rows whose merge key is in the chunk, then inserts it. Children
            # read whole are merged only under --deletes mark, on their own key: the rows the sync did not
            # write are to be marked, not removed (source_bigcommerce.deletes).
            hints["merge_key"] = spec.parent_key
            for key in spec.primary_key:
                columns[key] = {**columns[key], "primary_key": False}
        else:
            hints["primary_key"] = list(spec.primary_key)
            for key in spec.primary_key:
                columns[key] = {**columns[key], "nullable": False}
    return hints


def stream_resource(
    spec: StreamSpec,
    disposition: Disposition,
    data: Any,
    stream_state: dict[str, Any],
    *,
    inferred: dict[str, dict[str, Any]] | None = None,
    file_format: str | None = None,
    commit: dict[str, Any] | None = None,
) -> DltResource:
    """A resource that yields ``data`` (an Arrow table, a list of records, an iterator of those, or None), then
    records the state that covers it (and ``commit``, the chunk's place in the sync's chain) in the source state."""

    def rows_then_state() -> Iterator[Any]:
        if isinstance(data, Iterator):
            yield from data
        elif data is not None:
            yield data
        # Set during extraction, so dlt writes it into this package next to the rows.
        source_state = dlt.current.source_state()
        source_state.setdefault("streams", {})[spec.name] = stream_state
        if commit is not None:
            source_state["commit"] = commit

    hints = table_hints(spec, disposition, inferred)
    if file_format:
        hints["file_format"] = file_format
    resource: DltResource = cast(Any, dlt.resource)(rows_then_state(), **hints)
    return resource


ROWS_PER_TABLE = 20_000
"""Rows of a stream gathered (on disk) before they go to dlt as one Arrow table, with the state that covers them."""
BYTES_PER_TABLE = 64 << 20
"""The same in JSON, whatever the number of rows: the Arrow table is built in memory."""
QUEUED_BATCHES = 8
"""Batches of one stream that may wait for its resource: the engine waits beyond that, so memory stays small."""


@dlt.source(name=SOURCE, max_table_nesting=0)
def bigcommerce_source(
    config: Config | Mapping[str, Any] | str | Path,
    streams: Sequence[str] | None = None,
    *,
    write_disposition: Literal["merge", "append"] = "merge",
    full_refresh: bool = False,
) -> list[DltResource]:
    """BigCommerce as a dlt source: one resource per stream, incremental from the state dlt keeps.

    Args:
        config: the connector's config (the keys of ``source-bigcommerce spec``), as a dict, a validated
            :class:`~source_bigcommerce.config.Config`, or the path of a JSON file.
        streams: the streams to read (default all of them, in the streams table's order).
        write_disposition: how incremental streams are written: ``merge`` on the primary key (the table mirrors
            the store), or ``append`` of every version.
        full_refresh: ignore the saved state and replace each table.

    Raises:
        ConfigError: the config is not usable, or ``streams`` names a stream the connector does not have.
    """
    if isinstance(config, (str, Path)):
        config = load_config(config)
    elif not isinstance(config, Config):
        config = parse_config(dict(config))
    specs = _selected(streams)
    saved = {} if full_refresh else dict(dlt.current.source_state().get("streams", {}))
    feed = _Feed(config, saved)
    resources = []
    for spec in specs:
        disposition: Disposition = "replace" if full_refresh or not spec.incremental else write_disposition
        hints = table_hints(spec, disposition)
        resource: DltResource = cast(Any, dlt.resource)(feed.rows(spec, disposition), **hints)
        resources.append(resource)
    return resources


def _selected(streams: Sequence[str] | None) -> tuple[StreamSpec, ...]:
    if streams is None:
        return STREAMS
    unknown = [name for name in streams if name not in BY_NAME]
    if unknown:
        valid = ", ".join(spec.name for spec in STREAMS)
        raise ConfigError(
            f"streams names {unknown[0]!r}, which this connector does not have; use any of {valid}."
        )
    return tuple(spec for spec in STREAMS if spec.name in streams)


class _Feed:
    """One engine read for every selected resource of a pipeline's run; each stream's output on its own queue.

    dlt runs async resources as tasks in an event loop of its own. The read runs in a thread with its own loop
    instead (:class:`_Reader`), because dlt gives a resource no time to clean up in its loop: when it stops
    extracting early (a resource failed, a later step raised, the run was interrupted), it cancels the
    resources' tasks and stops its loop a step or two later, before a task could close the read's HTTP session
    or a cancelled read could end; they were left pending, and only the garbage collector cleaned up the spool.
    So a resource awaits only its queue and its conversions, and the last one to end, however it ends, stops the
    read and waits for its thread (whose loop cancels and awaits every task it started), waits for the
    conversions and removes the spool, all without awaiting anything.
    """

    def __init__(self, config: Config, saved: Mapping[str, Any]) -> None:
        self._config = config
        self._saved = saved
        self._queues: dict[str, asyncio.Queue[tuple[str, Any]]] = {}
        self._reader: _Reader | None = None
        self._converter: ThreadPoolExecutor | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._open = 0

    async def rows(self, spec: StreamSpec, disposition: Disposition) -> AsyncIterator[Any]:
        """The resource of one stream: its rows as Arrow tables (dicts where a value does not fit), each
        followed by the state that covers them."""
        self._open += 1
        spool: tables.Spool | None = None
        try:
            reader, converter, folder = self._start()
            key = spec.primary_key if disposition == "merge" else None
            # The parent's key too: a parent read again keeps only its latest read's rows (Rows.superseded).
            spool = tables.Spool(folder, spec.name, key, parent_key=spec.parent_key if key else None)
            queue = self._queues[spec.name]
            covered: dict[str, Any] | None = None
            while True:
                kind, value = await queue.get()
                if kind == "rows":
                    reader.taken(spec.name)
                    spool.add(value[0], misfit=value[1])
                    continue
                if kind == "childless":
                    spool.childless(value)
                    continue
                if kind == "state":
                    spool.cover()
                    covered = value
                    if spool.ready.rows < ROWS_PER_TABLE and spool.ready.bytes < BYTES_PER_TABLE:
                        continue
                elif kind == "failed":
                    raise value
                if spool.ready.rows:
                    load_id = dlt.current.load_package_state()["load_id"]
                    # In a worker thread: DuckDB works outside the GIL, so the engine reads on.
                    yield await asyncio.wrap_future(converter.submit(_convert, spec, spool.take(), load_id))
                if covered is not None:
                    dlt.current.source_state().setdefault("streams", {})[spec.name] = covered
                    covered = None
                if kind == "done":
                    return
        finally:
            if spool is not None:
                spool.discard()  # what was not yielded: the run fails, or dlt stopped reading this resource
            self._open -= 1
            if self._open == 0:
                self._stop()

    def _start(self) -> tuple[_Reader, ThreadPoolExecutor, Path]:
        if self._reader is None or self._converter is None or self._folder is None:
            selected = [name for name in dlt.current.source().selected_resources if name in BY_NAME]
            specs = tuple(spec for spec in STREAMS if spec.name in selected)
            self._queues = {spec.name: asyncio.Queue() for spec in specs}
            self._folder = tempfile.TemporaryDirectory(prefix="bigcommerce-")
            self._converter = ThreadPoolExecutor(thread_name_prefix="bigcommerce-convert")
            loop, queues = asyncio.get_running_loop(), self._queues

            def deliver(stream: str, item: tuple[str, Any]) -> None:
                loop.call_soon_threadsafe(queues[stream].put_nowait, item)

            self._reader = _Reader(self._config, self._saved, specs, deliver)
        return self._reader, self._converter, Path(self._folder.name)

    def _stop(self) -> None:
        """End the read and the conversions, then remove the spool; blocks (see the class docstring)."""
        if self._reader is not None:
            self._reader.stop()
        if self._converter is not None:
            self._converter.shutdown(wait=True, cancel_futures=True)
        if self._folder is not None:
            self._folder.cleanup()


Deliver = Callable[[str, tuple[str, Any]], None]
"""Puts an item on a stream's queue, from the read's thread."""


class _Reader:
    """The engine's read of :class:`_Feed`'s streams, in a thread with an event loop of its own."""

    def __init__(
        self, config: Config, saved: Mapping[str, Any], specs: tuple[StreamSpec, ...], deliver: Deliver
    ) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        """The read's loop while it runs: what :meth:`taken` and :meth:`stop` reach it through."""
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._sink = _QueueSink(deliver, tuple(spec.name for spec in specs))
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._read(config, saved, specs),), name="bigcommerce-read"
        )
        self._thread.start()

    async def _read(self, config: Config, saved: Mapping[str, Any], specs: tuple[StreamSpec, ...]) -> None:
        with self._lock:
            if self._stopped:
                return
            self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
        try:
            await wiring.read(config, self._sink, wiring.selection(specs), saved)
        except asyncio.CancelledError:
            pass  # stop(): wiring.read closed what it opened
        except Exception as error:
            # A read that stopped them all (a rejected token, an unknown store) fails every stream still open.
            self._sink.fail_all(error if isinstance(error, ConnectorError) else _internal(error))
        finally:
            with self._lock:
                self._loop = None

    def taken(self, stream: str) -> None:
        """A batch of ``stream`` left its queue: the engine may deliver another."""
        with self._lock:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._sink.taken, stream)

    def stop(self) -> None:
        """Cancel the read if it still runs, and wait until its thread has ended."""
        with self._lock:
            self._stopped = True
            if self._loop is not None and self._task is not None:
                self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join()


class _QueueSink:
    """The engine's sink for :class:`_Reader`: each stream's records (checked as ``sync`` checks them), states,
    end and failure, in order, on the stream's queue; at most :data:`QUEUED_BATCHES` batches waiting in each."""

    def __init__(self, deliver: Deliver, streams: tuple[str, ...]) -> None:
        self._deliver = deliver
        self._streams = streams
        self._room = {name: asyncio.Semaphore(QUEUED_BATCHES) for name in streams}
        self._prepare = {name: preparer(name) for name in streams}

    async def records(self, stream: str, batch: list[Record]) -> None:
        plain = prepare_batch(self._prepare[stream], batch)
        await self._room[stream].acquire()
        self._deliver(stream, ("rows", (batch, not plain)))

    def taken(self, stream: str) -> None:
        self._room[stream].release()

    async def state(self, stream: str, stream_state: dict[str, Any], count: int) -> None:
        self._deliver(stream, ("state", dict(stream_state)))

    async def status(self, stream: str, status: Status) -> None:
        if status == "COMPLETE":
            self._deliver(stream, ("done", None))

    async def childless(self, stream: str, parents: list[Any]) -> None:
        """To the spool, which leaves out these parents' rows read before (a parent read again); dlt cannot be
        told to remove the rows of a parent that has none left, which stay in its table."""
        self._deliver(stream, ("childless", parents))

    async def failed(self, stream: str, error: ConnectorError) -> None:
        self._deliver(stream, ("failed", error))

    def fail_all(self, error: ConnectorError) -> None:
        for stream in self._streams:
            self._deliver(stream, ("failed", error))

    def log(self, level: LogLevel, message: str) -> None:
        from dlt.common import logger

        if level in ("ERROR", "FATAL"):
            logger.error(message)
        elif level == "WARN":
            logger.warning(message)
        else:
            logger.info(message)


def _internal(error: BaseException) -> ConnectorError:
    return ConnectorError(f"Internal error: {error!r}")


def _convert(spec: StreamSpec, rows: tables.Rows, load_id: str) -> Any:
    """Rows as Arrow typed as the schema declares, or as dicts where a value does not fit."""
    connection = tables.connect()
    try:
        converted = tables.to_arrow(connection, spec.name, rows, load_id=load_id)
        if converted is not None:
            return converted[0]
        return [record for batch in tables.to_records(spec.name, rows) for record in batch]
    finally:
        connection.close()
        rows.remove()
