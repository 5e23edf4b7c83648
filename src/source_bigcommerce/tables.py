"""Records to typed Arrow tables, for dlt: the loader's one CPU-heavy step, done in C++ off the event loop.

The sink serialises each batch of records to JSON the moment it arrives (:class:`Spool`; orjson writes a
page in about a millisecond), and what a STATE covers goes to files of about :data:`FILE_BYTES` on disk, out of
the process's memory. When a chunk is cut, the loader thread has an in-process DuckDB read those files, typing
every column as :mod:`source_bigcommerce.columns` declares (:func:`to_arrow`); DuckDB works outside the GIL,
so the engine keeps reading meanwhile, and it parses a file at a time, so its memory stays small. For DuckDB
and Postgres, DuckDB writes a CSV file (:func:`to_csv`), which dlt imports as it is and the destination reads
with its own CSV reader (:mod:`source_bigcommerce.destination`): no Arrow table is built and no row passes
through Python. Other destinations get an Arrow table, which dlt writes as their file format wants.

DuckDB reads a string into a number column, or a number into a text column, as that value; it would round
1.5 into a bigint, and read true as 1, so number columns are read as JSON and a fraction in a whole-number
column, or a boolean in any number column, is refused. A record whose
value cannot be typed exactly (a fraction in a whole-number column, an amount not written plainly, a date
that does not parse) sends its stream's share of the chunk to dlt as dicts instead (:func:`to_records`), and
dlt keeps the odd value in a variant column (``customer_group_id__v_double``): nothing is rounded or dropped.

A field the schema does not declare keeps the type an earlier chunk gave it (``known``: the table's column
types in dlt's schema); a new one gets the type its values show (nested ones JSON, mixed scalars text, as are
fractions beside a whole number a double would round); one holding only nulls gets no column yet, as dlt does.
Merged streams keep one row per primary key, the last one read (dlt would keep any one).
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from source_bigcommerce.columns import BIGINT, Kind, beyond_bigint, decimal, kinds
from source_bigcommerce.errors import ConnectorError
from source_bigcommerce.paging import Record
from source_bigcommerce.protocol import Unwritable
from source_bigcommerce.streams import key_of

if TYPE_CHECKING:
    import duckdb
    import pyarrow

FILE_BYTES = 1 << 20
"""JSON per file DuckDB reads: its memory grows with the file it parses (about 7x for orders), not the chunk."""

CSV_FILE_BYTES = 4 << 20
"""CSV per file of a chunk's table: each file is one load job, one INSERT (or COPY) committed on its own, and
DuckDB holds what an INSERT adds in memory until it commits (10,000 orders at once: 85 MB more peak RSS; in
files of this size: 50 MB)."""

PENDING_BYTES = 256 << 10
"""JSON of the records after a stream's latest STATE kept in memory; the rest waits on disk. A stream whose
STATE comes only at its end (a full refresh) would otherwise hold all its records: a sync of all streams held
29 MB of them at once (medium store)."""
RECORDS_BATCH = 5_000
"""Records per list handed to dlt on its own typing's path (:func:`to_records`): the chunk's records are read
from their files a batch at a time, so memory holds a batch of dicts, not the chunk's (a medium store's 10,000
orders as one list of dicts: 100 MB more peak RSS)."""


_READ_AS: Mapping[str, str] = {
    "bigint": "JSON",
    "double": "JSON",
    "bool": "BOOLEAN",
    "text": "VARCHAR",
    "timestamp": "TIMESTAMPTZ",
    "decimal": "VARCHAR",
    "json": "JSON",
}
"""How DuckDB reads each column type from the JSON (see :func:`_typed` for what follows)."""
EXACT_DOUBLE = 1 << 53
"""The whole numbers a double holds exactly are those up to this, either sign: a field the schema lacks whose
whole numbers pass it gets a double column only without fractions beside them (else text)."""
DLT_ID = "_dlt_id"
DLT_LOAD_ID = "_dlt_load_id"
_DLT_ID = f"CAST(gen_random_uuid() AS VARCHAR) AS {DLT_ID}"
"""dlt's row id, which dlt gives the rows it gets as dicts: made here, so that dlt need not rewrite each Parquet
file to add it, and every row has one whichever way it went."""
_VALUE_KINDS: Mapping[type, str] = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    dict: "json",
    list: "json",
}


@dataclass
class Rows:
    """Records of one stream, as JSON array files, and what :func:`to_arrow` must know of them."""

    key: tuple[str, ...] | None = None
    """The primary key's fields, tracked to tell whether a record came twice (merged streams only)."""
    files: list[Path] = field(default_factory=list)
    rows: int = 0
    bytes: int = 0
    """The size of the records as JSON."""
    undeclared: dict[str, set[str]] = field(default_factory=dict)
    """Each field the schema does not declare, with the kinds of value it held (``int``, ``str``, ``json``...;
    ``wide`` for a whole number a double would round, see :data:`EXACT_DOUBLE`, ``huge`` for one beyond 64
    bits, which only a text or JSON column takes)."""
    misfit: bool = False
    """A record holds a value that only dlt's own typing takes exactly (see :func:`source_bigcommerce.columns.
    preparer`)."""
    keys: set[Any] = field(default_factory=set)
    duplicated: bool = False
    parent_key: str | None = None
    """A child stream's key of its parent (``order_id``), tracked alongside ``key``."""
    parents: set[Any] = field(default_factory=set)
    """The values of ``parent_key``: the loader tells by them whether a chunk repeats an earlier one's rows."""
    childless: set[Any] = field(default_factory=set)
    """Parents read with none of these records (tracked with ``parent_key``): the loader removes their rows."""
    superseded: dict[str, int] = field(default_factory=dict)
    """Parents read again (tracked with ``parent_key``, as text: a transaction's order_id is text, the order's
    id that tells it has none a number), each with the number of rows before its latest read:
    its rows among those are left out (:func:`_typed_query`, :func:`to_records`). A parent modified in the
    sync's start second after the walk read it is read again in that second (paging.Walker.modified); each
    read delivers all of its records in one batch, and a merge on the parent's key replaces its rows by the
    chunk's, so the rows of the earlier read would bring back a record deleted in between."""
    read: set[str] = field(default_factory=set)
    """:attr:`parents` as text, which :attr:`superseded` compares."""

    def note(
        self, stream: str, batch: list[Record], declared: frozenset[str], seen: dict[str, set[str]]
    ) -> None:
        """Count a batch in, with its fields the schema lacks and its keys; ``seen`` gathers the kinds of value
        of the fields the schema lacks over the whole sync.

        Raises:
            ConnectorError: a field the schema lacks holds a whole number beyond the 64 bits of a bigint
                column, and has held no text or JSON this sync, which would make its column text or JSON.
        """
        key, keys = (None if self.key is None else key_of(self.key)), self.keys
        low, high = BIGINT
        huge: list[tuple[Record, str, int]] = []
        for record in batch:
            if not declared.issuperset(record):
                for name in record.keys() - declared:
                    value = record[name]
                    if value is not None:
                        kind = _VALUE_KINDS.get(value.__class__, "str")
                        if kind == "int" and not -EXACT_DOUBLE <= value <= EXACT_DOUBLE:
                            kind = "wide" if low <= value <= high else "huge"
                            if kind == "huge":
                                huge.append((record, name, value))
                        self.undeclared.setdefault(name, set()).add(kind)
                        seen.setdefault(name, set()).add(kind)
            if key is not None:
                value = key(record)
                if value in keys:
                    self.duplicated = True
                keys.add(value)
        for record, name, value in huge:
            if not seen[name] & {"str", "json"}:
                raise beyond_bigint(stream, record, name, value)
        if self.parent_key is not None:
            parent = self.parent_key
            found = {record.get(parent) for record in batch}
            self.parents |= found
            texts = _texts(found)
            self._read_again(texts & self.read)
            self.read |= texts
        self.rows += len(batch)

    def lose(self, parents: list[Any]) -> None:
        """Parents read with none of these records (see :attr:`childless`)."""
        self._read_again(_texts(parents) & self.read)
        self.childless.update(parents)

    def _read_again(self, parents: set[str]) -> None:
        for parent in parents:
            self.superseded[parent] = self.rows

    def absorb(self, other: Rows) -> None:
        """Take ``other``'s counts in (its records follow these)."""
        self._read_again((other.read | _texts(other.childless)) & self.read)
        for parent, before in other.superseded.items():
            self.superseded[parent] = self.rows + before
        self.read |= other.read
        self.rows += other.rows
        self.bytes += other.bytes
        for name, seen in other.undeclared.items():
            self.undeclared.setdefault(name, set()).update(seen)
        self.misfit |= other.misfit
        self.duplicated |= other.duplicated or not self.keys.isdisjoint(other.keys)
        self.keys |= other.keys
        self.parents |= other.parents
        self.childless |= other.childless

    def records(self) -> Iterator[Record]:
        for path in self.files:
            yield from orjson.loads(path.read_bytes())

    def remove(self) -> None:
        for path in self.files:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)


class Spool:
    """One stream's records since the last chunk: those its latest STATE covers on disk, in JSON array files of
    about :data:`FILE_BYTES` (out of the process's memory, and the size DuckDB reads in little memory); those
    after it, until a STATE covers them or the stream fails, in memory up to :data:`PENDING_BYTES` and beyond
    it in a file of their own."""

    def __init__(
        self,
        folder: Path,
        stream: str,
        key: tuple[str, ...] | None,
        *,
        parent_key: str | None = None,
        refuse_nul: bool = False,
    ) -> None:
        """``key`` and ``parent_key``: tracked in :class:`Rows`; ``refuse_nul``: a record with a NUL character
        fails its stream (see :func:`_refuse_nul`)."""
        self._folder = folder
        self._stream = stream
        self._refuse_nul = refuse_nul
        self._declared = declared_fields(stream)
        self._seen: dict[str, set[str]] = {}
        """The kinds of value each field the schema lacks held this sync (see :meth:`Rows.note`)."""
        self._key = key
        self._parent_key = parent_key
        self._files = 0
        self._out: BinaryIO | None = None
        self.ready = self._rows()
        """Covered by the latest STATE."""
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._spilled: BinaryIO | None = None
        """The batches after the latest STATE that came before ``_pending``, beyond :data:`PENDING_BYTES`."""
        self._spilled_sizes: list[int] = []
        self._pending_rows = self._rows()

    def _rows(self) -> Rows:
        return Rows(self._key, parent_key=self._parent_key)

    def add(self, batch: list[Record], *, misfit: bool = False) -> None:
        """Records after the latest STATE.

        Raises:
            ConnectorError: a record cannot be written as JSON (:class:`~source_bigcommerce.protocol.Unwritable`),
                or loaded (see :meth:`Rows.note` and :func:`_refuse_nul`); the stream fails, and its records
                after the latest STATE are dropped.
        """
        try:
            blob = orjson.dumps(batch)
        except orjson.JSONEncodeError as error:
            raise _unwritable(self._stream, batch, error) from None
        if self._refuse_nul and b"\\u0000" in blob:
            _refuse_nul(self._stream, batch)
        self._pending_rows.note(self._stream, batch, self._declared, self._seen)
        self._pending_rows.misfit |= misfit
        self._pending_rows.bytes += len(blob)
        if len(blob) > 2:
            self._pending.append(blob)
            self._pending_bytes += len(blob)
            if self._pending_bytes > PENDING_BYTES:
                self._spill()

    def childless(self, parents: list[Any]) -> None:
        """Parents after the latest STATE that have none of these records (see :attr:`Rows.childless`)."""
        if self._parent_key is not None:
            self._pending_rows.lose(parents)

    def _spill(self) -> None:
        if self._spilled is None:
            self._spilled = self._spilled_path().open("w+b")
        for blob in self._pending:
            self._spilled.write(blob)
            self._spilled_sizes.append(len(blob))
        self._pending, self._pending_bytes = [], 0

    def cover(self) -> None:
        """A STATE arrived: the records after the previous one are covered, and join the files a chunk loads."""
        if self._spilled is not None:
            self._spilled.seek(0)
            for size in self._spilled_sizes:
                self._append(self._spilled.read(size))
        for blob in self._pending:
            self._append(blob)
        self.ready.absorb(self._pending_rows)
        self.drop_pending()

    def _append(self, blob: bytes) -> None:
        """One batch's JSON array into the current file, or a new one once it would pass :data:`FILE_BYTES`."""
        out = self._out
        if out is not None and out.tell() + len(blob) > FILE_BYTES:
            self._close()
            out = None
        if out is None:
            self._files += 1
            path = self._folder / f"{self._stream}.{self._files}.json"
            self.ready.files.append(path)
            out = self._out = path.open("wb")
            out.write(b"[")
        else:
            out.write(b",")
        out.write(memoryview(blob)[1:-1])

    def drop_pending(self) -> None:
        """The records after the latest STATE are covered, or will not be (the stream failed)."""
        if self._spilled is not None:
            self._spilled.close()
            self._spilled = None
            self._spilled_path().unlink()
        self._spilled_sizes, self._pending, self._pending_bytes = [], [], 0
        self._pending_rows = self._rows()

    def take(self) -> Rows:
        """The covered records, handed over whole; the spool starts afresh."""
        self._close()
        taken, self.ready = self.ready, self._rows()
        return taken

    def discard(self) -> None:
        """Drop everything (the sync is over): what was not committed is read again next time."""
        self.drop_pending()
        self.take().remove()

    def _spilled_path(self) -> Path:
        return self._folder / f"{self._stream}.pending"

    def _close(self) -> None:
        if self._out is not None:
            self._out.write(b"]")
            self._out.close()
            self._out = None


def _unwritable(stream: str, batch: list[Record], error: orjson.JSONEncodeError) -> Unwritable:
    """The error of the first record of ``batch`` that cannot be written (nested deeper than orjson writes)."""
    for record in batch:
        try:
            orjson.dumps(record)
        except orjson.JSONEncodeError as found:
            return Unwritable(stream, record, found)
    return Unwritable(stream, None, error)


def _refuse_nul(stream: str, batch: list[Record]) -> None:
    """Postgres stores no NUL character in text or jsonb, and its load would fail with every later sync's.

    Called when the batch's JSON holds ``\\u0000``, which a string holding the six characters ``\\u0000``
    also does: this finds an actual NUL, or returns.

    Raises:
        ConnectorError: a record holds a NUL character, in a value or a key at any depth.
    """
    for record in batch:
        for name, value in record.items():
            if _holds_nul(name) or _holds_nul(value):
                raise ConnectorError(
                    f"{stream} record {repr(record.get('id'))[:40]}: field {name!r} holds a NUL character "
                    "(\\u0000), which Postgres cannot store in text or jsonb; the stream stops before it."
                )


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(inner) for key, inner in value.items())
    if isinstance(value, list):
        return any(_holds_nul(inner) for inner in value)
    return False


def declared_fields(stream: str) -> frozenset[str]:
    return frozenset(kinds(stream))


def undeclared_kinds(rows: Rows, known: Mapping[str, str]) -> dict[str, str] | None:
    """The column type of each field the schema lacks: the one dlt gave it, or the one its values show.
    None when dlt's type is one this module does not read, or when dlt would give the field's column another
    name (``someField`` becomes ``some_field``) than the one a typed file heads it with: dlt then takes the
    dicts, and renames it."""
    found: dict[str, str] = {}
    for name, seen in sorted(rows.undeclared.items()):
        if _column_name(name) != name:
            return None
        if name in known:
            if known[name] not in _READ_AS:
                return None
            found[name] = known[name]
        elif "json" in seen:
            found[name] = "json"
        elif seen == {"bool"}:
            found[name] = "bool"
        elif seen <= {"int", "wide"}:
            found[name] = "bigint"
        elif seen <= {"int", "float"}:
            found[name] = "double"
        else:
            found[name] = "text"
    return found


@functools.cache
def _column_name(field_name: str) -> str:
    """The column dlt makes of a field (its default naming convention, snake_case, which sync uses)."""
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    return NamingConvention().normalize_identifier(field_name)


def to_arrow(
    connection: duckdb.DuckDBPyConnection,
    stream: str,
    rows: Rows,
    *,
    known: Mapping[str, str] | None = None,
    load_id: str | None = None,
) -> tuple[pyarrow.Table, dict[str, dict[str, Any]]] | None:
    """The records as one Arrow table typed from the schema, and hints for the columns the schema lacks.

    None when a value cannot be typed exactly (see the module docstring): the caller loads
    :func:`to_records` instead. ``load_id`` adds dlt's ``_dlt_load_id`` column, which dlt adds itself to the
    rows it gets as dicts (and to Arrow tables only when configured to).
    """
    import duckdb

    known = known or {}
    extra = undeclared_kinds(rows, known)
    query = _typed_query(stream, rows, extra, load_id)
    if query is None or extra is None:
        return None
    try:
        table = connection.query(query).to_arrow_table()
    except (duckdb.DataError, duckdb.InvalidInputException):
        # A value that does not fit (a cast that fails, or the error() of _typed); any other DuckDB error is
        # a bug of ours, and stops the sync rather than slowing every later chunk.
        return None
    return table, hints(extra, known)


def to_csv(
    connection: duckdb.DuckDBPyConnection,
    stream: str,
    rows: Rows,
    folder: Path,
    *,
    known: Mapping[str, str],
    load_id: str,
) -> tuple[int, list[Path]] | None:
    """The records typed as :func:`to_arrow` types them, written by DuckDB straight into CSV files of about
    :data:`CSV_FILE_BYTES` in ``folder``, each with a header (an empty string quoted, a null an empty field: what
    Postgres' ``COPY ... NULL ''`` tells apart); the number of rows and the files, or None (and no file) when a
    value cannot be typed exactly.

    No Arrow table is built and dlt writes no file of its own: DuckDB streams the rows from the JSON files
    into the CSV, so a chunk's memory is a few of DuckDB's vectors, whatever its size.
    """
    import duckdb

    query = _typed_query(stream, rows, undeclared_kinds(rows, known), load_id)
    if query is None:
        return None
    try:
        [(count, files)] = connection.execute(
            f"COPY ({query}) TO {_literal(str(folder))} "
            f"(FORMAT CSV, HEADER, FILE_SIZE_BYTES {CSV_FILE_BYTES}, RETURN_FILES)"
        ).fetchall()
    except (duckdb.DataError, duckdb.InvalidInputException):
        shutil.rmtree(folder, ignore_errors=True)  # as in to_arrow
        return None
    return int(count), [Path(name) for name in files]


def _typed_query(stream: str, rows: Rows, extra: Mapping[str, str] | None, load_id: str | None) -> str | None:
    """The query that reads the rows' files typed from the schema and ``extra`` (the undeclared columns'
    types); None when a record is known not to fit (see :func:`to_arrow`)."""
    if rows.misfit or not rows.files or extra is None:
        return None
    columns: dict[str, str] = {**kinds(stream), **extra}
    files = "[" + ", ".join(_literal(str(path)) for path in rows.files) + "]"
    types = "{" + ", ".join(f"{_literal(name)}: '{_READ_AS[kind]}'" for name, kind in columns.items()) + "}"
    dlt_columns = [_DLT_ID] if load_id is None else [_DLT_ID, f"{_literal(load_id)} AS _dlt_load_id"]
    selects = ", ".join(
        [*(f"{_typed(name, kind)} AS {_quote(name)}" for name, kind in columns.items()), *dlt_columns]
    )
    source = f"read_json({files}, format = 'array', columns = {types})"
    deduplicate = rows.duplicated and rows.key is not None
    if not (deduplicate or rows.superseded):
        return f"SELECT {selects} FROM {source}"
    # DuckDB reads the files in order with one thread: the row number is the order of arrival.
    query = (
        f"SELECT * EXCLUDE (_arrival) FROM (SELECT {selects}, row_number() OVER () AS _arrival FROM {source})"
    )
    if rows.superseded and rows.parent_key is not None:
        # Compared as text, as the loader compares parents (a transaction's order_id is text).
        before = ", ".join(f"({_literal(parent)}, {count})" for parent, count in rows.superseded.items())
        query += (
            " WHERE _arrival > coalesce((SELECT max(_again_before) FROM (VALUES "
            f"{before}) AS read_again(_again_parent, _again_before) "
            f"WHERE _again_parent = CAST({_quote(rows.parent_key)} AS VARCHAR)), 0)"
        )
    if deduplicate:
        assert rows.key is not None
        query += (
            f" QUALIFY row_number() OVER (PARTITION BY {', '.join(map(_quote, rows.key))} "
            "ORDER BY _arrival DESC) = 1"
        )
    return query


def hints(extra: Mapping[str, str], known: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """dlt's hints for the undeclared columns ``extra`` (:func:`undeclared_kinds`) that dlt does not know yet."""
    return {name: {"data_type": kind, "nullable": True} for name, kind in extra.items() if name not in known}


def to_records(stream: str, rows: Rows) -> Iterator[list[Record]]:
    """The records as dicts, money as exact decimals, for dlt to type itself, in lists of :data:`RECORDS_BATCH`;
    the last row of each key (found by a first pass over the files that keeps the keys only)."""
    money = tuple(name for name, kind in kinds(stream).items() if kind == "decimal")
    key = key_of(rows.key) if rows.key is not None and rows.duplicated else None
    last = {key(record): index for index, record in _current(rows)} if key is not None else {}
    batch: list[Record] = []
    for index, record in _current(rows):
        if key is not None and last[key(record)] != index:
            continue
        for name in money:
            if name in record:
                record[name] = decimal(record[name])
        batch.append(record)
        if len(batch) == RECORDS_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _current(rows: Rows) -> Iterator[tuple[int, Record]]:
    """The records with their order of arrival, but those of a parent's earlier read (:attr:`Rows.superseded`)."""
    parent, superseded = rows.parent_key, rows.superseded
    for index, record in enumerate(rows.records()):
        if parent is None or index >= superseded.get(str(record.get(parent)), 0):
            yield index, record


def _texts(parents: Iterable[Any]) -> set[str]:
    """Parents as text, as the loader compares them (:attr:`Rows.superseded`); a missing one is none."""
    return {str(parent) for parent in parents if parent is not None}


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for the conversion: one thread (it reads the files in order), UTC, so timestamps
    come out as UTC instants."""
    import duckdb

    connection = duckdb.connect(config={"threads": 1})
    connection.execute("SET TimeZone = 'UTC'").fetchall()
    return connection


def _typed(name: str, kind: Kind | str) -> str:
    """The SQL that types one column as read by :data:`_READ_AS`; ``error()`` for a value that does not fit."""
    column = _quote(name)
    if kind == "bigint":
        refused = _literal(f"{name}: a fraction or a boolean in a whole-number column")
        return (
            f"CASE WHEN json_type({column}) IN ('DOUBLE', 'BOOLEAN') THEN error({refused}) "
            f"ELSE CAST({column} AS BIGINT) END"
        )
    if kind == "double":
        refused = _literal(f"{name}: a boolean in a number column")
        return f"CASE WHEN json_type({column}) = 'BOOLEAN' THEN error({refused}) ELSE CAST({column} AS DOUBLE) END"
    if kind == "decimal":
        return f"CAST({column} AS DECIMAL(38, 9))"
    if kind == "json":
        return f"CAST({column} AS VARCHAR)"
    return column


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
