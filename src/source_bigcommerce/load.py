"""The dlt pipeline behind ``sync``: the engine's records and state, loaded into DuckDB, Postgres or any dlt
destination, with the state committed together with the data it covers.

**Tables.** One table per stream, named after it, in the dataset (schema) ``bigcommerce`` by default (``main``
in DuckDB: see :func:`default_dataset`). One row per record: nested objects and arrays (addresses, consignments links, images, custom fields...) are JSON
columns (``max_table_nesting=0``) rather than dlt's default child tables, because

* a row is the API object, so a table can be read next to BigCommerce's documentation;
* merging on the primary key stays one statement per table, with no child rows to delete and re-insert;
* JSON columns behave the same on DuckDB (``JSON``) and Postgres (``jsonb``): ``billing_address->>'email'``
  works on both, where child tables would name dozens of tables after nesting paths;
* a nested field BigCommerce adds tomorrow lands inside its JSON value instead of spawning tables.

**Types** come from the streams' JSON Schemas (top-level properties), never from guessing: ``format:
date-time`` is a timestamp with time zone; ``x-money`` a decimal (38, 9), converted with ``Decimal(str(x))``
so neither v2's strings (``"10.0000"``) nor v3's JSON numbers pass through a binary float; integers are
bigint, other numbers double, booleans bool, strings text, objects and arrays JSON. A field the API types as
"string or number" is text (a number there is written as its JSON text). A field the schema does not know
still lands: its type is inferred from its values (schema evolution), and a nested one becomes JSON.

**Arrow.** Each chunk reaches dlt as Arrow tables built with those types (:func:`to_arrow`), which skips dlt's
row-by-row normalisation: a medium sandbox store loads into DuckDB in about half the time dicts took. A chunk
with a value that does not fit its declared type goes to dlt as dicts instead, and dlt keeps the value in a
variant column. Postgres is loaded with INSERT statements: dlt's CSV route for Arrow reads an empty string as
NULL.

**Write dispositions.** Incremental streams merge on their primary key (the newest version wins, so the table
mirrors the store; a record hard-deleted in BigCommerce stays until a ``--full-refresh``); the children of an
order read again (order products, transactions) replace all of its earlier ones, since an order is always read
with every child it has, so a line item removed from an edited order leaves the table too. With
``--write-disposition append`` they keep every version as a new row instead. Full-refresh streams (pages,
store, brands, categories) replace their table, atomically per sync: they are buffered whole and loaded in one
chunk, first into the staging dataset, then moved into the table in one transaction (dlt's
``insert-from-staging``), so readers never see the table empty and a failure leaves the previous table
untouched. ``--full-refresh`` ignores the saved state and replaces each selected table with its stream's first
chunk.

**State and resumption.** The engine's per-stream state goes into dlt's source state (``sources.bigcommerce
.streams.<stream>``), which dlt stores in the destination (``_dlt_pipeline_state``) in the same load package
as the rows it covers. A sync commits in chunks of about :data:`CHUNK_ROWS` rows or :data:`CHUNK_SECONDS`
seconds, cut at STATE boundaries: the rows of a stream after its latest STATE wait for the next chunk. The
engine reads in the asyncio loop while the previous chunk is normalized and loaded in one worker thread (all
dlt calls happen there: dlt's context is thread-affine); the engine pauses while a chunk is written to dlt's
package on disk and waits for the previous load before handing over the next, so memory holds about one chunk
and at most one chunk is ever lost to a crash. On every start, a package a killed sync left behind is loaded
first (when the destination holds this pipeline's state, i.e. the package continues what is there), then the
local working directory is dropped and the state is read back from the destination, which is the truth: a
deleted DuckDB file or dropped schema means a full sync, never a cursor without its data. Each chunk's state
names the chunk it follows, and a left-behind package is loaded only when it follows the destination's
latest commit (see ``Loader._continues_destination``). Merged tables end equal to the store whatever the
moment of the kill; appended ones may hold a killed chunk twice, because dlt re-runs a table's load job it
had not recorded as done.

**Working directory.** dlt keeps its packages under ``<pipelines dir>/<destination>-<digest>/bigcommerce_<store
hash>``, where the pipelines dir is ``--pipelines-dir`` or dlt's default (``~/.dlt/pipelines``, or
``$DLT_DATA_DIR/pipelines``) plus ``source-bigcommerce``, and the digest names the destination, its location and
the dataset: two targets never share pending packages. The pipeline name ``bigcommerce_<store hash>`` is what
dlt files the state under in the destination, so each store keeps its own cursors. One sync at a time holds a
store's working directory (an exclusive ``flock`` on ``bigcommerce_<store hash>.lock`` beside it, released
when the process ends, however it ends): a second one started meanwhile, say by an hourly cron while the first
sync of a large store still runs, would load or drop the first one's package in flight, so it stops at once
with one sentence instead.

dlt never sees the access token: it gets records and state only. Its anonymous telemetry is switched off
(``RUNTIME__DLTHUB_TELEMETRY=false``) unless the environment says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import hashlib
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import orjson

from source_bigcommerce import dates, state
from source_bigcommerce.cli import engine_settings, with_client
from source_bigcommerce.config import Config, load_config
from source_bigcommerce.engine import Engine, Status, SyncMode
from source_bigcommerce.errors import ConfigError, ConnectorError
from source_bigcommerce.http import Client
from source_bigcommerce.paging import Record
from source_bigcommerce.protocol import LogLevel
from source_bigcommerce.report import Report, RequestStats, StreamResult, Summary, print_summary
from source_bigcommerce.streams import BY_NAME, STREAMS, StreamSpec, schema

T = TypeVar("T")
WriteDisposition = Literal["merge", "append"]
Disposition = Literal["merge", "append", "replace"]

CHUNK_ROWS = 20_000
"""Rows per commit. Large enough that dlt's fixed cost per load package (a few tenths of a second) stays
small, small enough that a chunk of wide order rows stays within a few hundred MB of memory."""
CHUNK_SECONDS = 60.0
"""A chunk is also cut after this long, so a sync paced by a tight quota still commits every minute."""
SOURCE = "bigcommerce"
DEFAULT_DUCKDB = "bigcommerce.duckdb"
HOLD_ENV = "SOURCE_BIGCOMMERCE_TEST_HOLD"
"""Test-only: ``extracted:N``, ``normalized:N`` or ``loaded:N`` makes the loader print ``test hold: PHASE N``
on stderr once chunk N reaches that phase and then wait forever, so a test can ``kill -9`` the sync at an
exact point of a commit. Never set it otherwise."""
HOLD_PHASES = ("extracted", "normalized", "loaded")


_DLT_SETTINGS = {
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    # dlt's default, truncate-and-insert, empties a replaced table before its rows load, so readers see it
    # empty meanwhile and a failed load leaves it so. This loads the staging dataset first, then swaps the
    # rows in one transaction.
    "DESTINATION__REPLACE_STRATEGY": "insert-from-staging",
    # Arrow tables get dlt's two bookkeeping columns too, so every table has them whichever path its rows took.
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID": "true",
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID": "true",
}
"""dlt settings, given as environment variables (dlt's own mechanism) unless the environment sets them."""


class DestinationError(ConnectorError):
    """The destination refused or failed: the whole sync stops (a rerun resumes from the last commit)."""


# -- what to sync, and where ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where to load: a dlt destination, its credentials, the dataset, and dlt's working directory."""

    destination: str = "duckdb"
    credentials: str | None = None
    """A DuckDB file path, a connection URL, or None for the destination's default (dlt's config)."""
    dataset: str = "bigcommerce"
    pipelines_dir: str | None = None

    @property
    def location(self) -> str:
        """Where the data goes, for people: the DuckDB file, or the URL without its password."""
        if self.destination == "duckdb":
            return str(self.duckdb_path())
        if self.credentials:
            return redact(self.credentials)
        return "(credentials from dlt's configuration)"

    def duckdb_path(self) -> Path:
        return Path(self.credentials or DEFAULT_DUCKDB).expanduser().resolve()

    def working_dir(self) -> Path:
        """dlt's pipelines dir for this target (see the module docstring)."""
        if self.pipelines_dir:
            base = Path(self.pipelines_dir).expanduser()
        else:
            from dlt.common.pipeline import get_dlt_pipelines_dir

            base = Path(get_dlt_pipelines_dir()) / "source-bigcommerce"
        digest = hashlib.sha256(f"{self.destination}\0{self.location}\0{self.dataset}".encode()).hexdigest()
        return base / f"{self.destination}-{digest[:12]}"


@dataclass(frozen=True)
class Options:
    streams: tuple[StreamSpec, ...] = STREAMS
    full_refresh: bool = False
    write_disposition: WriteDisposition = "merge"
    chunk_rows: int = CHUNK_ROWS
    chunk_seconds: float = CHUNK_SECONDS


def default_dataset(destination: str) -> str:
    """``bigcommerce``; in DuckDB ``main``, its default schema.

    DuckDB names a file's catalog after the file, so ``bigcommerce.duckdb`` holding a schema ``bigcommerce``
    makes every ``bigcommerce.orders`` ambiguous (DuckDB's binder refuses it, dlt's own statements included).
    In ``main`` the tables need no prefix at all: ``SELECT * FROM orders``.
    """
    return "main" if destination == "duckdb" else "bigcommerce"


def select_streams(text: str | None) -> tuple[StreamSpec, ...]:
    """The streams ``--streams a,b`` names, in the streams table's order; all of them for None."""
    if text is None:
        return STREAMS
    names = [name.strip() for name in text.split(",") if name.strip()]
    valid = ", ".join(spec.name for spec in STREAMS)
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        raise ConfigError(
            f"--streams names {listed}, which this connector does not have; use any of {valid}."
        )
    if not names:
        raise ConfigError(f"--streams names no stream; use any of {valid}.")
    return tuple(spec for spec in STREAMS if spec.name in names)


def redact(url: str) -> str:
    """A connection URL without its password (and the path of a plain file path as it is)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable URL)"
    if not parts.scheme or parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


# -- types from the JSON Schemas ----------------------------------------------------------------------------


def _types(node: Mapping[str, Any]) -> set[str]:
    kinds = node.get("type", [])
    found = {kinds} if isinstance(kinds, str) else set(kinds)
    for branch in node.get("anyOf", ()):
        found |= _types(branch)
    return found - {"null"}


def _kind(node: Mapping[str, Any]) -> str:
    """The dlt data type of a top-level property."""
    if node.get("x-money") is True:
        return "decimal"
    if node.get("format") == "date-time":
        return "timestamp"
    kinds = _types(node)
    if not kinds or kinds & {"object", "array"}:
        return "json"
    if kinds == {"integer"}:
        return "bigint"
    if kinds == {"boolean"}:
        return "bool"
    if kinds <= {"integer", "number"}:
        return "double"
    return "text"


def column_hints(stream: str) -> dict[str, dict[str, Any]]:
    """dlt column hints for every property the stream's schema declares, in the schema's order."""
    hints: dict[str, dict[str, Any]] = {}
    for name, node in schema(stream).get("properties", {}).items():
        kind = _kind(node)
        hint: dict[str, Any] = {"data_type": kind, "nullable": True}
        if kind == "timestamp":
            hint["timezone"] = True
        hints[name] = hint
    return hints


def converter(stream: str) -> Callable[[Record], None]:
    """Rewrites, in place, what dlt must not coerce itself: money to Decimal, numbers in text columns to text.

    Raises:
        ConnectorError: a money field holds something that is not an amount.
    """
    hints = column_hints(stream)
    money = tuple(name for name, hint in hints.items() if hint["data_type"] == "decimal")
    texts = tuple(
        name
        for name, node in schema(stream).get("properties", {}).items()
        if hints[name]["data_type"] == "text" and len(_types(node)) > 1
    )

    def convert(record: Record) -> None:
        for name in money:
            value = record.get(name)
            if value is None or value.__class__ is Decimal:
                continue
            record[name] = _decimal(stream, record, name, value)
        for name in texts:
            value = record.get(name)
            if value is not None and value.__class__ is not str:
                record[name] = orjson.dumps(value).decode()

    return convert


def _decimal(stream: str, record: Record, name: str, value: Any) -> Decimal | None:
    if isinstance(value, str):
        if not value.strip():
            return None
        text = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        text = str(value)  # the shortest repr: 12.99 stays 12.99, never 12.9900000000000002131628...
    else:
        text = ""
    try:
        amount = Decimal(text)
        if amount.is_finite():
            return amount
    except InvalidOperation:
        pass
    raise ConnectorError(
        f"{stream} record {record.get('id')!r}: field {name!r} holds {str(value)[:40]!r}, which is not an amount."
    )


# -- the dlt side: every method runs in the one loader thread -------------------------------------------------


@dataclass
class Part:
    """One stream's share of a chunk: rows covered by ``state``, and how they are written."""

    spec: StreamSpec
    rows: list[Record]
    state: dict[str, Any]
    disposition: Disposition


class Loader:
    """The dlt pipeline of one target and store. Not thread-safe: call it from one thread only."""

    def __init__(
        self, target: Target, store_hash: str, *, hold: tuple[str, int] | None = None, debug: bool = False
    ) -> None:
        self._target = target
        self._name = "bigcommerce_" + (re.sub(r"[^a-z0-9_]+", "_", store_hash.lower()) or "store")
        self._hold_at = hold
        self._debug = debug
        self._pipeline: Any = None
        self._chunk = 0
        self._commit: str | None = None
        """The last chunk committed (or extracted, in this run): the next chunk's package continues it."""
        self.resumed = False
        """True when a package a killed sync left behind was loaded first."""
        # dlt reads its settings once, when it is first used (finding the default working directory
        # included), so they go into the environment before anything of dlt runs.
        for key, value in _DLT_SETTINGS.items():
            os.environ.setdefault(key, value)
        os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING" if debug else "ERROR")

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold this store's working directory for one sync (see the module docstring).

        Raises:
            ConnectorError: another sync of the same store into the same target holds it.
        """
        folder = self._target.working_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self._name}.lock"
        with path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ConnectorError(
                    f"Another sync of this store into {self._target.location} is still running (it holds "
                    f"{path}); let it finish, or stop it, then sync again."
                ) from None
            yield

    def open(self) -> dict[str, dict[str, Any]]:
        """Finish what a killed sync left, then read the state back from the destination; per stream."""
        with self._errors():
            import dlt

            pipeline = dlt.pipeline(
                pipeline_name=self._name,
                pipelines_dir=str(self._target.working_dir()),
                destination=self._destination(),
                dataset_name=self._target.dataset,
            )
            if pipeline.has_pending_data and self._continues_destination(pipeline):
                _finish_normalize_commit(pipeline)
                pipeline.normalize()
                pipeline.load()
                self.resumed = True
            pipeline = pipeline.drop()
            pipeline.sync_destination()
            self._pipeline = pipeline
            ours = pipeline.state.get("sources", {}).get(SOURCE, {})
            self._commit = ours.get("commit", {}).get("id")
            saved = ours.get("streams", {})
            return {name: dict(value) for name, value in saved.items() if isinstance(value, Mapping)}

    def extract(self, parts: list[Part]) -> dict[str, int]:
        """Write a chunk into a load package on disk, its state included; rows per stream after de-duplication."""
        with self._errors():
            import dlt

            self._chunk += 1
            commit = {"id": uuid.uuid4().hex, "after": self._commit}
            loaded: dict[str, int] = {}
            resources = []
            for part in parts:
                rows = _prepare(part)
                loaded[part.spec.name] = len(rows)
                known = self._column_types(part.spec.name)
                resources.append(
                    _resource(part, rows, commit, known, duckdb=self._target.destination == "duckdb")
                )

            @dlt.source(name=SOURCE, max_table_nesting=0)
            def bigcommerce() -> list[Any]:
                return resources

            # dlt turns Arrow into CSV for Postgres by default, and its COPY reads an empty string as NULL.
            file_format = "insert_values" if self._target.destination == "postgres" else None
            self._pipeline.extract(bigcommerce(), loader_file_format=file_format)
            self._commit = commit["id"]
            self._hold("extracted")
            return loaded

    def _column_types(self, table: str) -> dict[str, str]:
        """The data type of each column dlt already made for ``table`` (read back from the destination)."""
        schemas = self._pipeline.schemas
        if SOURCE not in schemas:
            return {}
        columns = schemas[SOURCE].tables.get(table, {}).get("columns", {})
        return {name: column["data_type"] for name, column in columns.items() if "data_type" in column}

    def load(self) -> None:
        """Normalize and load the package :meth:`extract` wrote; its state is committed with it."""
        with self._errors():
            self._pipeline.normalize()
            self._hold("normalized")
            self._pipeline.load()
            self._hold("loaded")

    def counts(self, tables: list[str]) -> dict[str, int]:
        """Rows per table in the destination; tables it cannot count are left out."""
        found: dict[str, int] = {}
        try:
            client_cm = self._pipeline.sql_client()
        except Exception:
            return found  # not a SQL destination
        try:
            with client_cm as client:
                for table in tables:
                    try:
                        name = client.make_qualified_table_name(table)
                        with client.execute_query(f"SELECT COUNT(*) FROM {name}") as cursor:
                            found[table] = int(cursor.fetchone()[0])
                    except Exception:
                        continue
        except Exception:
            return found
        return found

    def _destination(self) -> Any:
        import dlt
        from dlt.common.destination.reference import Destination

        target = self._target
        if target.destination == "duckdb":
            target.duckdb_path().parent.mkdir(parents=True, exist_ok=True)
            return dlt.destinations.duckdb(credentials=str(target.duckdb_path()))
        if target.destination == "postgres" and target.credentials:
            from dlt.destinations.impl.postgres.configuration import PostgresCredentials

            credentials = PostgresCredentials(target.credentials)
            if credentials.password is None:
                credentials.password = ""  # dlt insists on one; trust and peer authentication need none
            return dlt.destinations.postgres(credentials=credentials)
        if target.credentials:
            return Destination.from_reference(target.destination, credentials=target.credentials)
        return Destination.from_reference(target.destination)

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


def _prepare(part: Part) -> list[Record]:
    """When merging, keep the newest version of each key (dlt would keep any one)."""
    if part.disposition != "merge":
        return part.rows
    key = part.spec.primary_key
    return list({row.get(key): row for row in part.rows}.values())


def _resource(
    part: Part, rows: list[Record], commit: dict[str, Any], known: Mapping[str, str], *, duckdb: bool
) -> Any:
    import dlt

    name, state = part.spec.name, part.state
    hints: dict[str, Any] = column_hints(name)
    table, inferred = to_arrow(name, rows, known) if rows else (None, {})
    hints.update(inferred)
    extra: dict[str, Any] = {}
    if table is None and duckdb:
        # dlt's default for dicts into DuckDB, one INSERT of literal values per file, is far slower.
        extra["file_format"] = "jsonl"
    if part.disposition == "merge":
        key = part.spec.primary_key
        hints[key] = {**hints[key], "nullable": False}
        extra["primary_key"] = key
        if part.spec.parent_key is not None:
            # dlt's delete-insert deletes the rows matching the primary key or this merge key, then inserts.
            extra["merge_key"] = part.spec.parent_key

    def rows_then_state() -> Iterator[Any]:
        if rows:
            yield rows if table is None else table
        # Set during extraction, so dlt writes it into this chunk's package next to the rows.
        source_state = dlt.current.source_state()
        source_state.setdefault("streams", {})[name] = state
        source_state["commit"] = commit

    return dlt.resource(
        rows_then_state,
        name=name,
        table_name=name,
        write_disposition=part.disposition,
        columns=hints,
        **extra,
    )


_FITS: dict[str, Callable[[Any], bool]] = {
    "bigint": lambda value: value.__class__ is int,
    "double": lambda value: value.__class__ is int or value.__class__ is float,
    "bool": lambda value: value.__class__ is bool,
    "text": lambda value: value.__class__ is str,
    "timestamp": lambda value: value.__class__ is str,
    "decimal": lambda value: value.__class__ is Decimal and _scale_fits(value),
    "json": lambda value: True,
}


def _scale_fits(amount: Decimal) -> bool:
    """At most 9 decimal places, what decimal(38, 9) holds without rounding (BigCommerce uses 4)."""
    exponent = amount.as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -9


def to_arrow(
    stream: str, rows: list[Record], known: Mapping[str, str] | None = None
) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The rows as one Arrow table typed from the schema, and hints for the columns the schema does not declare.

    Handing dlt Arrow rather than dicts skips its row-by-row normalisation, which was most of a sync's CPU
    (about 2,000 rows/s against 5,000 this way, measured on wide order rows). Returns ``(None, {})`` when a
    value does not fit its declared type (an integer column holding 1.5, a date Arrow cannot read): dlt then
    gets the dicts and decides, with a variant column if it must, so nothing is ever truncated or dropped.
    A column the schema does not declare keeps the type an earlier chunk gave it (``known``, the table's
    column types in dlt's schema): a value that does not fit it goes the dicts' way too, for the destination
    would round 5.5 into a bigint column that a first chunk of whole numbers made. A new one gets the type
    its values show (nested ones JSON, mixed scalars text); one that holds only nulls gets no column yet, as
    dlt does.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    columns: dict[str, Any] = {}
    inferred: dict[str, dict[str, Any]] = {}
    kinds = {name: hint["data_type"] for name, hint in column_hints(stream).items()}
    for name in {key for row in rows for key in row}.difference(kinds):
        if known and name in known:
            if known[name] not in _FITS:
                return None, {}
            kinds[name] = known[name]
            continue
        kind = _infer([row.get(name) for row in rows])
        if kind is not None:
            kinds[name] = kind
            inferred[name] = {"data_type": kind, "nullable": True}
    for name, kind in kinds.items():
        values = [row.get(name) for row in rows]
        fits = _FITS[kind]
        if not all(value is None or fits(value) for value in values):
            if name not in inferred or kind != "text":
                return None, {}
            values = [_text(value) for value in values]
        if kind == "json":
            values = [None if value is None else orjson.dumps(value).decode() for value in values]
        try:
            if kind == "timestamp":
                column = pc.cast(pa.array(values, pa.string()), pa.timestamp("us", tz="UTC"))
            else:
                column = pa.array(values, _arrow_type(pa, kind))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            return None, {}
        columns[name] = column
    return pa.table(columns), inferred


def _infer(values: list[Any]) -> str | None:
    """The column type of a field the schema does not declare, from its values; None if all are null."""
    seen = {value.__class__ for value in values if value is not None}
    if not seen:
        return None
    if seen & {dict, list}:
        return "json"
    for kind in ("bool", "bigint", "double", "text"):
        fits = _FITS[kind]
        if all(fits(value) for value in values if value is not None):
            return kind
    return "text"


def _arrow_type(pa: Any, kind: str) -> Any:
    if kind == "decimal":
        return pa.decimal128(38, 9)
    return {"bigint": pa.int64, "double": pa.float64, "bool": pa.bool_}.get(kind, pa.string)()


def _text(value: Any) -> str | None:
    return value if value is None or value.__class__ is str else orjson.dumps(value).decode()


def describe(exc: BaseException, target: Target) -> str:
    """One sentence for a destination failure, without credentials."""
    root = _root(exc)
    text = str(root).strip().splitlines()[0] if str(root).strip() else type(root).__name__
    if target.credentials:
        password = urlsplit(target.credentials).password if "://" in target.credentials else None
        if password:
            text = text.replace(password, "***")
    kind = type(root).__name__
    where = f"{target.destination} {target.location}"
    if kind in (
        "UnknownDestinationModule",
        "InvalidDestinationReference",
        "DestinationTypeResolutionException",
    ):
        return (
            f"dlt has no destination {target.destination!r}; use duckdb, postgres or a destination name "
            "from https://dlthub.com/docs/dlt-ecosystem/destinations."
        )
    if kind == "ConfigFieldMissingException":
        return (
            f"The {target.destination} destination needs credentials: pass --credentials (for postgres a URL "
            "such as postgresql://user:password@host:5432/database) or set them in dlt's configuration."
        )
    if kind == "OperationalError" and target.destination == "postgres":
        return f"Cannot connect to {where}: {text.rstrip('.')}; check --credentials and that the server is running."
    if "lock" in text.lower() and target.destination == "duckdb":
        return f"The DuckDB file {target.location} is in use by another process; close it and run the sync again."
    return f"Loading into {where} failed: {kind}: {text.rstrip('.')}."


def _root(exc: BaseException) -> BaseException:
    """The innermost cause, through dlt's step and job wrappers."""
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "exception", None) or exc.__cause__ or exc.__context__
        if not isinstance(inner, BaseException):
            break
        exc = inner
    return exc


# -- the engine's sink: buffers per stream, chunks cut at STATE boundaries -------------------------------------


@dataclass
class _Buffer:
    ready: list[Record] = field(default_factory=list)
    """Rows covered by ``state``."""
    pending: list[Record] = field(default_factory=list)
    """Rows after the latest STATE: they wait for the next one."""
    state: dict[str, Any] | None = None
    touched: bool = False
    """A STATE arrived since the last chunk."""


Call = Callable[[Callable[[], T]], Awaitable[T]]


class LoadSink:
    """The engine's :class:`~source_bigcommerce.engine.Sink` for ``sync``: hands chunks to the loader thread."""

    def __init__(
        self,
        call: Callable[[Callable[[], Any]], Awaitable[Any]],
        loader: Loader,
        options: Options,
        report: Report,
        clock: Callable[[], float],
    ) -> None:
        self._call = call
        self._loader = loader
        self._options = options
        self._report = report
        self._clock = clock
        self._buffers = {spec.name: _Buffer() for spec in options.streams}
        self._converters = {spec.name: converter(spec.name) for spec in options.streams}
        self._replace = {
            spec.name for spec in options.streams if options.full_refresh or not spec.incremental
        }
        self._loading: asyncio.Task[None] | None = None
        self._cutting = asyncio.Lock()
        self._open = asyncio.Event()
        self._open.set()
        self._last_cut = clock()
        self.fatal: DestinationError | None = None

    async def _pass(self) -> None:
        """Wait while a chunk is being written to disk; stop every stream once the destination failed."""
        await self._open.wait()
        if self.fatal is not None:
            raise self.fatal

    async def records(self, stream: str, batch: list[Record]) -> None:
        """Buffer a stream's records, converted for dlt here: a money value that is not an amount fails its
        own stream (the engine's guard catches it), where in the loader it would stop the whole sync."""
        await self._pass()
        convert = self._converters[stream]
        for row in batch:
            convert(row)
        self._buffers[stream].pending.extend(batch)
        self._report.read(stream, len(batch))

    async def state(self, stream: str, stream_state: dict[str, Any], count: int) -> None:
        await self._pass()
        buffer = self._buffers[stream]
        buffer.ready.extend(buffer.pending)
        buffer.pending = []
        buffer.state = dict(stream_state)
        buffer.touched = True
        await self._cut(force=False)

    async def status(self, stream: str, status: Status) -> None:
        if status == "COMPLETE":
            self._report.complete(stream)

    async def failed(self, stream: str, error: ConnectorError) -> None:
        self._buffers[stream].pending = []
        if not isinstance(error, DestinationError):
            self._report.failed(stream, error.message)

    def log(self, level: LogLevel, message: str) -> None:
        self._report.log(level, message)

    async def finish(self) -> None:
        """Commit everything covered by a STATE and wait for the last load."""
        if self.fatal is not None:
            raise self.fatal
        await self._cut(force=True)
        await self._wait_loading()

    def _due(self) -> bool:
        ready = sum(len(buffer.ready) for buffer in self._buffers.values())
        if ready >= self._options.chunk_rows:
            return True
        touched = any(buffer.touched for buffer in self._buffers.values())
        return touched and self._clock() - self._last_cut >= self._options.chunk_seconds

    async def _cut(self, *, force: bool) -> None:
        async with self._cutting:
            if not force and not self._due():
                return
            self._open.clear()
            try:
                await self._wait_loading()
                parts = self._take()
                if not parts:
                    return
                self._last_cut = self._clock()
                loaded = await self._guarded(lambda: self._loader.extract(parts))
                self._loading = asyncio.ensure_future(self._load(loaded))
            finally:
                self._open.set()

    def _take(self) -> list[Part]:
        parts: list[Part] = []
        for name, buffer in self._buffers.items():
            if not buffer.touched or buffer.state is None:
                continue
            spec = BY_NAME[name]
            disposition: Disposition = self._options.write_disposition
            if name in self._replace:
                disposition = "replace"
                if spec.incremental:
                    self._replace.discard(name)
            parts.append(Part(spec, buffer.ready, buffer.state, disposition))
            buffer.ready = []
            buffer.touched = False
        return parts

    async def _load(self, loaded: dict[str, int]) -> None:
        """The load of one chunk, a task beside the reading. Its failure is kept in ``fatal`` only, where
        every stream meets it: raised from a task no one awaited, asyncio would print it with its traceback
        ("Task exception was never retrieved") when the task is collected."""
        try:
            await self._guarded(self._loader.load)
        except ConnectorError:
            return
        self._report.committed(loaded)

    async def _wait_loading(self) -> None:
        if self._loading is not None:
            loading, self._loading = self._loading, None
            await loading
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


# -- the whole sync ---------------------------------------------------------------------------------------------


def request_stats(client: Client) -> RequestStats:
    governor = client.governor.stats
    return RequestStats(
        requests=client.stats.requests,
        rate_limited=client.stats.statuses.get(429, 0),
        retries=client.stats.retries,
        heavy_pages=client.stats.heavy_pages,
        waits=governor.waits,
        wait_seconds=governor.wait_seconds,
    )


async def estimate_totals(
    client: Client,
    specs: tuple[StreamSpec, ...],
    states: Mapping[str, Mapping[str, Any]],
    start: int,
    report: Report,
) -> None:
    """Ask BigCommerce how many records each stream will deliver, for the live view's ETA only.

    One cheap request per stream (``limit=1`` for the v3 total, ``/orders/count`` on v2) with the filter the
    engine will start from; children and single objects have no total. Any failure just leaves the ETA
    blank: the engine reports real problems itself.
    """

    async def one(spec: StreamSpec) -> None:
        if spec.parent is not None or spec.single:
            return
        params = {"limit": "1", **spec.params}
        if spec.window is not None:
            cursor = state.cursor_of(spec, states.get(spec.name) or {})
            lo = start if cursor is None else max(start, cursor)
            params[spec.window.min_param] = dates.api_param(lo, spec.window.time_format)
        if spec.api == "v2":
            body = (await client.get(spec.api, f"{spec.path}/count", params, max_retries=0)).body
            total = body.get("count") if isinstance(body, dict) else None
        else:
            body = (await client.get(spec.api, spec.path, params, max_retries=0)).body
            meta = body.get("meta") if isinstance(body, dict) else None
            total = ((meta or {}).get("pagination") or {}).get("total")
        if isinstance(total, int):
            report.expect(spec.name, total)

    await asyncio.gather(*(one(spec) for spec in specs), return_exceptions=True)


async def sync(
    config: Config,
    target: Target,
    options: Options,
    *,
    debug: bool = False,
    live: bool | None = None,
    hold: tuple[str, int] | None = None,
    wall: Callable[[], float] = time.time,
    clock: Callable[[], float] = time.monotonic,
) -> Summary:
    """Read the selected streams and load them; the summary says what happened.

    Raises:
        ConnectorError: the destination cannot be opened (nothing was read); failures after that are in
            ``Summary.error`` and the streams' results.
    """
    summary = Summary(
        destination=target.destination,
        location=target.location,
        dataset=target.dataset,
        streams={spec.name: StreamResult(spec.name) for spec in options.streams},
    )
    loop = asyncio.get_running_loop()
    loader = Loader(target, config.store_hash, hold=hold, debug=debug)
    with loader.exclusive(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="dlt-loader") as executor:

        def call(work: Callable[[], Any]) -> Awaitable[Any]:
            return loop.run_in_executor(executor, work)

        saved = await call(loader.open)
        states = {} if options.full_refresh else saved
        report = Report(summary, clock, live=live, debug=debug)
        sink = LoadSink(call, loader, options, report, clock)
        selection: list[tuple[StreamSpec, SyncMode]] = [
            (spec, "incremental" if spec.incremental else "full_refresh") for spec in options.streams
        ]
        if loader.resumed:
            report.log("INFO", "Loaded the chunk an interrupted sync had left pending.")

        async def work(client: Client) -> None:
            report.attach(lambda: request_stats(client))
            settings = engine_settings(config)
            if report.live:
                totals = asyncio.ensure_future(
                    estimate_totals(client, options.streams, states, settings.start_date, report)
                )
            await Engine(client, sink, settings, wall).read(selection, states)
            if report.live:
                await totals

        report.start()
        try:
            await with_client(config, sink.log, work)
            await sink.finish()
        except ConnectorError as error:
            summary.error = (sink.fatal or error).message
        finally:
            report.stop()
        if sink.fatal is not None:
            summary.error = sink.fatal.message
        for name, rows in (await call(lambda: loader.counts(list(summary.streams)))).items():
            summary.streams[name].rows = rows
    return summary


def hold_from_env() -> tuple[str, int] | None:
    """The test-only hold point (:data:`HOLD_ENV`), if set."""
    value = os.environ.get(HOLD_ENV, "")
    phase, _, number = value.partition(":")
    if phase in HOLD_PHASES and number.isdigit():
        return phase, int(number)
    return None


def run(args: argparse.Namespace) -> int:
    """``source-bigcommerce sync``: exit 0 when every stream loaded, 1 otherwise (the reason on stderr)."""
    try:
        target = Target(
            args.destination,
            args.credentials,
            args.dataset or default_dataset(args.destination),
            args.pipelines_dir,
        )
        options = Options(
            streams=select_streams(args.streams),
            full_refresh=args.full_refresh,
            write_disposition=args.write_disposition,
            chunk_rows=args.chunk_rows,
        )
        if args.demo:
            from source_bigcommerce import demo

            return demo.run(target, replace(options, full_refresh=True), as_json=args.json, debug=args.debug)
        config = load_config(args.config)
        summary = asyncio.run(sync(config, target, options, debug=args.debug, hold=hold_from_env()))
    except ConnectorError as error:
        if args.debug:
            traceback.print_exc(file=sys.stderr)
        print(error.message, file=sys.stderr)
        return 1
    except Exception as exc:
        # stdout is the summary's, so a bug of ours is a sentence on stderr here, not a TRACE message.
        if args.debug:
            raise
        print(f"Internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return finish(summary, as_json=args.json)


def finish(summary: Summary, *, as_json: bool) -> int:
    """Print the summary; the exit status says whether everything loaded."""
    print_summary(summary, as_json=as_json)
    if summary.error:
        print(summary.error, file=sys.stderr)
    elif summary.failed:
        print(f"These streams did not load completely: {', '.join(summary.failed)}.", file=sys.stderr)
    return 0 if summary.ok else 1
