"""The dlt pipeline of one target and store: opening it, committing chunks, and finishing what a kill left.

**Commits.** Each chunk becomes one dlt load package holding its rows and the state that covers them
(:func:`source_bigcommerce.source.stream_resource`): extract, normalize, load. Every method runs in the one
loader thread (dlt's context is thread-affine).

**Resumption.** On every start, a package a killed sync left behind is loaded first when it continues what the
destination holds; then the local working directory is dropped and the state is read back from the destination,
which is the truth: a deleted DuckDB file or dropped schema means a full sync, never a cursor without its data.
Each chunk's state names the chunk it follows, and a left-behind package is loaded only when it follows the
destination's latest commit (see :meth:`Loader._continues_destination`). Merged tables end equal to the store
whatever the moment of the kill; appended ones may hold a killed chunk twice, because dlt re-runs a table's load
job it had not recorded as done, except on DuckDB and Postgres, where a job run again leaves the rows of its file
as they are when they are in already (:mod:`source_bigcommerce.destination`).

**Appending while a table holds only this sync's rows.** A merge loads a chunk into a staging table, deletes the
rows it replaces and inserts it, scanning the whole table each time: the first sync of a large store would pay
for every row once per chunk. A table that was missing or empty when the sync started holds only what this
sync wrote (it holds the store's working directory alone), so a chunk none of whose keys an earlier chunk of
this sync delivered is appended instead; the keys delivered are kept in the conversion's DuckDB to tell. A
chunk that does repeat a key, or any chunk of a table that had rows, is merged as always.

**One sync at a time.** One sync holds a store's working directory (an exclusive ``flock`` on
``bigcommerce_<store hash>.lock`` beside it, released when the process ends, however it ends): a second one
started meanwhile, say by an hourly cron while the first sync of a large store still runs, would load or drop
the first one's package in flight, so it stops at once with one sentence instead. A sync into a DuckDB file also
holds the file (``<file>.sync.lock`` beside it), whatever its working directory: the file is closed between
chunks, so a second sync from another working directory (another user's, or another ``--pipelines-dir``) could
load between them, and each would append every row to the tables it found empty. On Postgres, a sync also holds
its dataset, whatever the working directory or machine it runs from (a session-level advisory lock, which
Postgres releases when the connection ends): two syncs into one dataset would share dlt's staging tables, each
replace a full-refresh table with its own rows while the other did (doubling them), and each append to a table it
found empty (see above); the second one stops at once with one sentence instead.

dlt never sees the access token: it gets records and state only. Its anonymous telemetry is switched off
(``RUNTIME__DLTHUB_TELEMETRY=false``) unless the environment says otherwise.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import shutil
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar, cast

from source_bigcommerce import tables
from source_bigcommerce.deletes import Deletes, Tables
from source_bigcommerce.destination import DestinationError, Target, describe, dlt_destination, open_duckdb
from source_bigcommerce.errors import ConfigError, ConnectorError
from source_bigcommerce.source import SOURCE, Disposition, stream_resource
from source_bigcommerce.streams import StreamSpec

HOLD_ENV = "SOURCE_BIGCOMMERCE_TEST_HOLD"
"""Test-only: ``extracted:N``, ``normalized:N`` or ``loaded:N`` makes the loader print ``test hold: PHASE N``
on stderr once chunk N reaches that phase and then wait forever, so a test can ``kill -9`` the sync at an
exact point of a commit. Never set it otherwise."""
HOLD_PHASES = ("extracted", "normalized", "loaded")
T = TypeVar("T")

_DLT_SETTINGS = {
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    # dlt's default, truncate-and-insert, empties a replaced table before its rows load, so readers see it
    # empty meanwhile and a failed load leaves it so. This loads the staging dataset first, then swaps the
    # rows in one transaction.
    "DESTINATION__REPLACE_STRATEGY": "insert-from-staging",
    # Arrow tables get dlt's load id too, so every table has it whichever path its rows took; their _dlt_id
    # comes with them (source_bigcommerce.tables), so dlt imports their Parquet files as they are.
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID": "true",
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID": "false",
    # dlt gzips its CSV and JSONL load files, which live on this machine for a moment: compressing them, and
    # reading them back through Python's gzip for Postgres' COPY, was a quarter of a Postgres sync's CPU.
    "DATA_WRITER__DISABLE_COMPRESSION": "true",
}
"""dlt settings, given as environment variables (dlt's own mechanism) unless the environment sets them."""


def configure_dlt(*, debug: bool) -> None:
    """Put :data:`_DLT_SETTINGS` in place. dlt reads its settings once, when it is first used (finding the
    default working directory included), so this runs before anything of dlt does."""
    for key, value in _DLT_SETTINGS.items():
        os.environ.setdefault(key, value)
    # Not ERROR without --debug: dlt logs a failed load job at that level with its traceback, and the sync
    # says what failed in a sentence of its own (destination.describe).
    level = os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING" if debug else "CRITICAL")
    if not isinstance(logging.getLevelName(level), int):  # the number of a name it knows
        # dlt hands it to logging as it is, whose ValueError ("Unknown level") surfaced as an internal error.
        raise ConfigError(
            f"The environment sets RUNTIME__LOG_LEVEL to {level!r}, which is not a log level dlt knows; use one "
            "of CRITICAL, ERROR, WARNING, INFO or DEBUG, or unset it."
        )


def pipeline_name(store_hash: str) -> str:
    """What dlt files the state under in the destination, so each store keeps its own cursors."""
    return "bigcommerce_" + (re.sub(r"[^a-z0-9_]+", "_", store_hash.lower()) or "store")


@dataclass
class Part:
    """One stream's share of a chunk: rows covered by ``state``, and how they are written."""

    spec: StreamSpec
    rows: tables.Rows
    state: dict[str, Any]
    disposition: Disposition


class Loader:
    """The dlt pipeline of one target and store. Not thread-safe: call it from one thread only."""

    def __init__(
        self, target: Target, store_hash: str, *, hold: tuple[str, int] | None = None, debug: bool = False
    ) -> None:
        self._target = target
        self._name = pipeline_name(store_hash)
        self._hold_at = hold
        self._debug = debug
        self._pipeline: Any = None
        self._duckdb: Any = None
        """The conversion's in-memory DuckDB."""
        self._held: Any = None
        """The destination's DuckDB file, open while chunks follow each other (see :meth:`release`)."""
        self._dataset_lock: Any = None
        """The Postgres connection holding the dataset's advisory lock (see the module docstring)."""
        self._fresh: set[str] = set()
        """Tables that held no row when this sync started (see the module docstring)."""
        self._chunk = 0
        self._types: dict[str, dict[str, str]] = {}
        """The column types dlt had made when the current chunk's extract began (:meth:`_read_column_types`)."""
        self._repeated = False
        self._commit: str | None = None
        """The last chunk committed (or extracted, in this run): the next chunk's package continues it."""
        self.resumed = False
        """True when a package a killed sync left behind was loaded first."""
        self.load_ids: list[str] = []
        """The loads of this sync's chunks (``_dlt_load_id``), which tell the rows this sync wrote."""
        configure_dlt(debug=debug)

    def spool(self) -> Path:
        """An empty directory for the records of the chunks to come (what a killed sync left there is
        dropped: its records are read again)."""
        folder = self._target.working_dir() / f"{self._name}.spool"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold this store's working directory for one sync, and a DuckDB file (see the module docstring).

        Raises:
            ConnectorError: another sync of the same store into the same target holds it.
        """
        folder = self._target.working_dir()
        with _flock(
            folder / f"{self._name}.lock",
            f"Another sync of this store into {self._target.location}",
            lambda reason: (
                f"dlt's working directory {folder} cannot be used ({reason}); pass --pipelines-dir "
                "with a directory this user can write, or fix DLT_DATA_DIR."
            ),
        ):
            if self._target.destination != "duckdb":
                yield
                return
            # Held apart from the working directory, which another user's or --pipelines-dir's sync does not share.
            database = self._target.duckdb_path()
            with _flock(
                database.with_name(f"{database.name}.sync.lock"),
                f"Another sync into {database}",
                lambda reason: (
                    f"The directory of the DuckDB file {database} cannot be used ({reason}); give "
                    "--credentials a path in a directory this user can write."
                ),
            ):
                yield

    def open(self) -> dict[str, dict[str, Any]]:
        """Finish what a killed sync left, then read the state back from the destination; per stream."""
        with self._errors():
            import dlt

            pipeline = dlt.pipeline(
                pipeline_name=self._name,
                pipelines_dir=str(self._target.working_dir()),
                destination=dlt_destination(self._target),
                dataset_name=self._target.dataset,
            )
            self._lock_dataset(pipeline)
            if pipeline.has_pending_data and self._continues_destination(pipeline):
                _finish_normalize_commit(pipeline)
                pipeline.normalize()
                pipeline.load(workers=self._target.load_workers())
                self.resumed = True
            pipeline = pipeline.drop()
            pipeline.sync_destination()
            self._pipeline = pipeline
            self._fresh = self._empty_tables()
            ours = pipeline.state.get("sources", {}).get(SOURCE, {})
            self._commit = ours.get("commit", {}).get("id")
            saved = ours.get("streams", {})
            return {name: dict(value) for name, value in saved.items() if isinstance(value, Mapping)}

    def extract(self, parts: list[Part]) -> dict[str, int]:
        """Write a chunk into a load package on disk, its state included; rows per stream after de-duplication.

        Each part is converted while dlt extracts it (:meth:`_rows`): DuckDB streams it into a CSV file, or,
        for other destinations, one stream's Arrow table is in memory at a time, not the whole chunk's.
        """
        with self._errors():
            import dlt

            self._chunk += 1
            self._types = self._read_column_types()
            if self._duckdb is None:
                self._duckdb = tables.connect()
            self._remove_childless(parts)
            commit = {"id": uuid.uuid4().hex, "after": self._commit}
            loaded: dict[str, int] = {}
            resources = []
            for part in parts:
                inferred, file_format = self._hints(part)
                resources.append(
                    stream_resource(
                        part.spec,
                        self._disposition(part),
                        self._rows(part, loaded),
                        part.state,
                        inferred=inferred,
                        file_format=file_format,
                        commit=commit,
                    )
                )

            @dlt.source(name=SOURCE, max_table_nesting=0)
            def bigcommerce() -> list[Any]:
                return resources

            self._pipeline.extract(bigcommerce())
            for part in parts:
                part.rows.remove()
            self._commit = commit["id"]
            self._hold("extracted")
            return loaded

    def _remove_childless(self, parts: list[Part]) -> None:
        """Remove the rows of the parents read with none of a child stream's records (:attr:`tables.Rows.
        childless`): a merge on the parent's key replaces a parent's children by those the chunk holds, and it
        holds none of these. Done before the chunk's package is written, so a kill in between leaves those
        rows removed, as they are in the store, and the records read again. A table that holds only this
        sync's rows can hold those of the parents an earlier chunk delivered only (the keys noted in the
        conversion's DuckDB), which spares a first sync a scan of the table for every child stream's chunk."""
        wanted: dict[StreamSpec, list[Any]] = {}
        for part in parts:
            if part.disposition == "replace":
                continue  # the table is replaced by the chunk's rows
            parents = list(part.rows.childless)
            if parents and part.spec.name in self._fresh:
                parents = self._delivered_before(part.spec.name, parents)
            if parents:
                wanted[part.spec] = parents
        if wanted:
            with self._pipeline.sql_client() as client:
                found = Tables(client, "remove", datetime.now(timezone.utc))
                for spec, parents in wanted.items():
                    found.drop_children(spec, parents)

    def _delivered_before(self, name: str, keys: list[Any]) -> list[Any]:
        """Those of ``keys`` that earlier chunks of this sync delivered (see :meth:`_note_keys`)."""
        import duckdb

        # Compared as text, as the rows are (deletes.Tables.drop_children): a transaction's order_id is text,
        # the order's id a number, and DuckDB compares the two no other way.
        try:
            rows = self._duckdb.execute(
                f'SELECT DISTINCT CAST(k AS VARCHAR) FROM "seen_{name}" '
                "WHERE CAST(k AS VARCHAR) IN (SELECT unnest(?))",
                [[str(key) for key in keys]],
            ).fetchall()
        except duckdb.CatalogException:
            return []  # no earlier chunk delivered any
        except duckdb.Error:
            return keys  # keys DuckDB cannot compare: all of them
        found = {row[0] for row in rows}
        return [key for key in keys if str(key) in found]

    def _hints(self, part: Part) -> tuple[dict[str, dict[str, Any]], str | None]:
        """The hints of the part's undeclared columns and its load file format: those of its Arrow table, unless
        its records are known not to fit one (then they go as dicts, which dlt types itself)."""
        name = part.spec.name
        extra = tables.undeclared_kinds(part.rows, self._column_types(name))
        if part.rows.misfit or extra is None:
            return {}, self._target.dicts_format()
        inferred = tables.hints(extra, self._column_types(name))
        if self._target.file_format() == "csv":
            # The CSV file dlt imports as it is carries dlt's load id, which dlt adds to the table only
            # when it writes a file itself.
            from dlt.common.schema.utils import dlt_load_id_column

            inferred[tables.DLT_LOAD_ID] = dict(dlt_load_id_column())
        return inferred, self._target.file_format()

    def _rows(self, part: Part, loaded: dict[str, int]) -> Iterator[Any]:
        """The part's rows for dlt, converted as dlt takes them: a CSV file DuckDB wrote (DuckDB and Postgres),
        a typed Arrow table (other destinations), or dicts when a value does not fit its column (with their
        file format); their number goes into ``loaded``."""
        import dlt

        name = part.spec.name
        loaded[name] = 0
        if not part.rows.rows:
            return
        if self._target.file_format() == "csv":
            folder = part.rows.files[0].with_suffix(".csv")
            load_id = dlt.current.load_package_state()["load_id"]
            written = tables.to_csv(
                self._duckdb, name, part.rows, folder, known=self._column_types(name), load_id=load_id
            )
            if written is not None:
                part.rows.files.append(folder)  # removed with the JSON files once extracted
                loaded[name], files = written
                for index, path in enumerate(files):
                    # dlt counts an imported file's rows for its metrics only: the table's, on its first file.
                    yield dlt.mark.with_file_import(str(path), "csv", loaded[name] if index == 0 else 0)
                return
        else:
            converted = tables.to_arrow(self._duckdb, name, part.rows, known=self._column_types(name))
            if converted is not None:
                loaded[name] = converted[0].num_rows
                yield converted[0]
                return
        # A value DuckDB cannot type exactly (to_csv and to_arrow run the same query): dlt types the dicts.
        hints = dlt.mark.make_hints(file_format=cast(Any, self._target.dicts_format()))
        for records in tables.to_records(name, part.rows):
            loaded[name] += len(records)
            yield dlt.mark.with_hints(records, hints)

    def _disposition(self, part: Part) -> Disposition:
        """``append`` for a merged part of a table that holds only this sync's rows, none with its keys; else
        the part's own (see the module docstring). A replacing part's keys are noted too: in a full refresh,
        a stream's first chunk replaces its table and the later ones merge, and a later chunk that repeats
        one of those keys (a record modified during the sync) must not be appended beside it."""
        name = part.spec.name
        if part.disposition == "replace":
            self._fresh.add(name)  # from this load on, the table holds only this sync's rows
        if part.disposition == "append" or name not in self._fresh or not part.rows.rows:
            return part.disposition
        rows, spec = part.rows, part.spec
        fields: tuple[str, ...] = spec.primary_key
        if spec.parent_key is not None:
            fields = (spec.parent_key,)
            keys = rows.parents if rows.parent_key == spec.parent_key else None
        else:
            keys = rows.keys if rows.key == spec.primary_key else None
        if keys is None or not self._note_keys(name, list(keys), len(fields)):
            # Keys the spool did not track, or that DuckDB cannot compare with an earlier chunk's (another
            # type): merging is always right, and from now on the table is told apart by no keys.
            self._fresh.discard(name)
            return part.disposition
        if part.disposition == "replace":
            return "replace"
        return "merge" if self._repeated else "append"

    def _note_keys(self, name: str, keys: list[Any], width: int) -> bool:
        """Whether an earlier chunk delivered any of ``keys`` (in ``_repeated``); False when DuckDB cannot
        compare them with the earlier ones.

        The keys go to DuckDB as list parameters, one per field of the key (a composite key's values are
        tuples of ``width``), made one struct column that DuckDB compares field by field. DuckDB gives values
        of mixed types a common one (1 and "1" become the text "1"), which can only find a repeat where there
        is none: the chunk is then merged, which is always right.
        """
        import duckdb

        seen = f'"seen_{name}"'
        if width == 1:
            chunk = "(SELECT unnest(?) AS k)"
            parameters: list[Any] = [keys]
        else:
            fields = ", ".join(f"unnest(?) AS f{i}" for i in range(width))
            struct = ", ".join(f"'f{i}': f{i}" for i in range(width))
            chunk = f"(SELECT {{{struct}}} AS k FROM (SELECT {fields}))"
            parameters = [[key[i] for key in keys] for i in range(width)]
        try:
            self._duckdb.execute(f"CREATE TEMP TABLE chunk_keys AS SELECT k FROM {chunk}", parameters)
            self._duckdb.execute(
                f"CREATE TABLE IF NOT EXISTS {seen} AS SELECT k FROM chunk_keys LIMIT 0"
            ).fetchall()
            [(repeated,)] = self._duckdb.execute(
                f"SELECT count(*) FROM chunk_keys WHERE k IN (SELECT k FROM {seen})"
            ).fetchall()
            self._duckdb.execute(f"INSERT INTO {seen} SELECT k FROM chunk_keys").fetchall()
        except (duckdb.Error, TypeError, ValueError, OverflowError):  # a value DuckDB takes no parameter of
            return False
        finally:
            with suppress(duckdb.Error):
                self._duckdb.execute("DROP TABLE IF EXISTS chunk_keys").fetchall()
        self._repeated = bool(repeated)
        return True

    def _empty_tables(self) -> set[str]:
        """The stream tables that are missing in the destination or hold no row, asked of the destination
        itself (its information schema, then one row of each); none when it cannot be asked, or a question
        fails: then every chunk merges, as it always may."""
        from source_bigcommerce.streams import STREAMS

        names = [spec.name for spec in STREAMS]
        try:
            with self._pipeline.destination_client() as client:
                existing = [name for name, columns in client.get_storage_tables(names) if columns]
                empty = set(names) - set(existing)
                for name in existing:
                    qualified = client.sql_client.make_qualified_table_name(name)
                    with client.sql_client.execute_query(f"SELECT 1 FROM {qualified} LIMIT 1") as cursor:
                        if cursor.fetchone() is None:
                            empty.add(name)
        except Exception:
            return set()
        return empty

    def _column_types(self, table: str) -> dict[str, str]:
        """The data type of each column dlt had made for ``table`` when this chunk's extract began."""
        return self._types.get(table, {})

    def _read_column_types(self) -> dict[str, dict[str, str]]:
        """The data type of each column dlt already made, per table (read back from the destination).

        Read once per chunk: each look at the pipeline's schema makes dlt hash the whole schema again, under the
        GIL the reading needs (medium store: 171 looks, 2.4 CPU-s a sync).
        """
        schemas = self._pipeline.schemas
        if SOURCE not in schemas:
            return {}
        return {
            table: {
                name: column["data_type"]
                for name, column in schema.get("columns", {}).items()
                if "data_type" in column
            }
            for table, schema in schemas[SOURCE].tables.items()
        }

    def load(self) -> None:
        """Normalize and load the package :meth:`extract` wrote; its state is committed with it. A DuckDB
        file stays open for the next load until :meth:`release`."""
        with self._errors():
            self._pipeline.normalize()
            self._hold("normalized")
            self._hold_destination()
            info = self._pipeline.load(workers=self._target.load_workers())
            self.load_ids.extend(info.loads_ids)
            if self._held is not None:
                # DuckDB keeps the rows it inserted in memory, uncompressed, until a checkpoint writes them
                # into the file; it checkpoints by itself only once its log passes 16 MB, and not while the
                # load's other statements are open: a medium store's chunk left 55-80 MB there, which the
                # next chunk's load added to (peak RSS 306-310 -> 281 MB, 0.2-1 s a chunk). The load is committed
                # by now: a checkpoint DuckDB refuses (a transaction still open) only leaves the rows in memory.
                import duckdb

                with suppress(duckdb.TransactionException):
                    self._held.execute("CHECKPOINT").fetchall()
            self._hold("loaded")

    def release(self) -> None:
        """Close the destination's DuckDB file until the next load, writing what the loads added into it: the
        file is then free for other processes to read while this sync waits for its next chunk."""
        if self._held is not None:
            held, self._held = self._held, None
            self._pipeline.destination = dlt_destination(self._target)
            with self._errors():
                held.close()

    def _hold_destination(self) -> None:
        if self._held is None:
            self._held = open_duckdb(self._target)
            if self._held is not None:
                self._pipeline.destination = dlt_destination(self._target, self._held)

    def with_tables(self, mode: Deletes, now: datetime, work: Callable[[Tables], T]) -> T:
        """``work`` with the destination's tables, for the deletes (:mod:`source_bigcommerce.deletes`)."""
        with self._errors(), self._pipeline.sql_client() as client:
            return work(Tables(client, mode, now))

    def counts(self, names: list[str]) -> dict[str, int]:
        """Rows per table in the destination; tables it cannot count are left out."""
        found: dict[str, int] = {}
        try:
            client_cm = self._pipeline.sql_client()
        except Exception:
            return found  # not a SQL destination
        try:
            with client_cm as client:
                for table in names:
                    try:
                        qualified = client.make_qualified_table_name(table)
                        with client.execute_query(f"SELECT COUNT(*) FROM {qualified}") as cursor:
                            found[table] = int(cursor.fetchone()[0])
                    except Exception:
                        continue
        except Exception:
            return found
        return found

    def close(self) -> None:
        """Free the conversion's DuckDB and release the destination, and the dataset's lock."""
        if self._duckdb is not None:
            self._duckdb.close()
            self._duckdb = None
        self.release()
        if self._dataset_lock is not None:
            lock, self._dataset_lock = self._dataset_lock, None
            with self._errors():
                lock.close_connection()

    def _lock_dataset(self, pipeline: Any) -> None:
        """On Postgres, hold the dataset for this sync (see the module docstring).

        Raises:
            ConnectorError: another sync holds it.
        """
        if self._target.destination != "postgres":
            return
        client = pipeline.sql_client()
        client.open_connection()
        try:
            rows = client.execute_sql(
                "SELECT pg_try_advisory_lock(%s)", dataset_lock_key(self._target.dataset)
            )
        except BaseException:
            client.close_connection()
            raise
        if not rows or not rows[0][0]:
            client.close_connection()
            raise ConnectorError(
                f"Another sync into the dataset {self._target.dataset} of {self._target.location} is still "
                "running (it holds the dataset's lock in Postgres); let it finish, or stop it, then sync again."
            )
        self._dataset_lock = client

    def _continues_destination(self, pipeline: Any) -> bool:
        """Whether the pending package was cut right after what the destination last committed.

        Every chunk's state names the chunk it follows (``commit.after``). A package left by a killed sync
        is loaded only when it follows the destination's latest commit: then loading it completes that sync,
        including a first chunk whose tables were half committed. One that another sync has overtaken (a
        different working directory, another machine) would write older rows over newer ones, so it is
        dropped and its records are read again from the destination's state.
        """
        from dlt.common.destination.exceptions import DestinationUndefinedEntity
        from dlt.pipeline.state_sync import load_pipeline_state_from_destination

        pending = pipeline.state.get("sources", {}).get(SOURCE, {}).get("commit", {})
        try:
            with pipeline.destination_client() as client:
                remote = load_pipeline_state_from_destination(self._name, client)
        except DestinationUndefinedEntity:
            remote = None
        committed = (remote or {}).get("sources", {}).get(SOURCE, {}).get("commit", {}).get("id")
        return bool(pending) and pending.get("after") == committed

    def _hold(self, phase: str) -> None:
        if self._hold_at == (phase, self._chunk):
            print(f"test hold: {phase} {self._chunk}", file=sys.stderr, flush=True)
            threading.Event().wait()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except ConnectorError:
            raise
        except Exception as exc:
            if self._debug:
                traceback.print_exc(file=sys.stderr)
            raise DestinationError(describe(exc, self._target)) from exc


@contextmanager
def _flock(path: Path, holder: str, unusable: Callable[[str], str]) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (its directory made) until the block ends (or the process does,
    however it ends).

    Raises:
        ConnectorError: another process holds it; ``holder`` starts the sentence that says so.
        ConfigError: the file cannot be made: ``unusable`` of the system's reason.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
    except OSError as exc:
        raise ConfigError(unusable(exc.strerror or type(exc).__name__)) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConnectorError(
                f"{holder} is still running (it holds {path}); let it finish, or stop it, then sync again."
            ) from None
        yield


def dataset_lock_key(dataset: str) -> int:
    """The advisory lock of a dataset: a signed 64-bit number of the connector's own."""
    digest = hashlib.sha256(f"source-bigcommerce\0{dataset}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def hold_from_env() -> tuple[str, int] | None:
    """The test-only hold point (:data:`HOLD_ENV`), if set."""
    value = os.environ.get(HOLD_ENV, "")
    phase, _, number = value.partition(":")
    if phase in HOLD_PHASES and number.isdigit():
        return phase, int(number)
    return None


def _finish_normalize_commit(pipeline: Any) -> None:
    """Complete the commit of a normalized package that a kill interrupted between its two steps.

    dlt commits one by renaming it into ``load/normalized``, then deleting its extracted original; it defers
    SIGINT and SIGTERM across the two, but a SIGKILL (or a power cut) between them leaves both, and from then
    on every normalize fails renaming onto the package already there ("Directory not empty"): no sync of the
    store could run again. The renamed package is whole (the rename is the commit), so the original is what
    dlt would have deleted next.
    """
    committed = {*pipeline.list_normalized_load_packages(), *pipeline.list_completed_load_packages()}
    twice = [load_id for load_id in pipeline.list_extracted_load_packages() if load_id in committed]
    if twice:
        extracted = pipeline._get_normalize_storage().extracted_packages  # no public call deletes just one
        for load_id in twice:
            extracted.delete_package(load_id)
