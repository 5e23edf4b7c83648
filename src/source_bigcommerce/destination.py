"""Where a sync loads: the target, dlt's destination for it, and one sentence for whatever goes wrong there.

**Postgres** is loaded with ``COPY ... FROM STDIN`` in CSV, which is several times faster than dlt's INSERT
statements. dlt's own CSV job adds ``FORCE_NULL`` on every nullable column, which reads a quoted empty string
as NULL; :class:`_PostgresClient` copies without it, so the CSV that DuckDB writes for it
(:func:`source_bigcommerce.tables.to_csv`: an empty string quoted, a null an empty unquoted field) keeps an
empty string and a NULL apart, as the API did.

**DuckDB** takes the same CSV files, which :func:`_duckdb_factory`'s job inserts with DuckDB's ``read_csv``
(``allow_quoted_nulls = false``: a quoted "" is the empty string, an empty field NULL), one file at a time.
dlt would otherwise write Parquet from an Arrow table, which cost a medium store's sync a third of its CPU
and 100 MB of peak RSS.

**Working directory.** dlt keeps its packages under ``<pipelines dir>/<destination>-<digest>/bigcommerce_<store
hash>``, where the pipelines dir is ``--pipelines-dir`` or dlt's default plus ``source-bigcommerce``: that is
``~/.dlt/pipelines``, or ``$DLT_DATA_DIR/pipelines``, except for root, whose default is
``/var/dlt/pipelines``. The digest names the destination, its location and the dataset: two targets never
share pending packages.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from source_bigcommerce.errors import ConnectorError
from source_bigcommerce.tables import DLT_ID, DLT_LOAD_ID

if TYPE_CHECKING:
    from dlt.common.destination import Destination

DEFAULT_DUCKDB = "bigcommerce.duckdb"
DUCKDB_SETTINGS: dict[str, str | int] = {"memory_limit": "64MB", "threads": 1}
"""The destination file's connection while a sync holds it: DuckDB caches the file's blocks up to its memory
limit (80% of the machine's memory by default) and spills beyond it, and with one thread it needs the least
memory for the loads, which run beside the reading anyway (medium store: peak RSS 515 -> 432 MB). 64 MB, not
128: the large store's sync peaked at 325-331 MB with 128 (inserting a chunk's orders, then checkpointing them),
274 MB with 64; what one INSERT holds until it commits is bounded by its file (tables.CSV_FILE_BYTES). Lower
limits fail: out of memory at 16 and 32 MB when a chunk's table was one file, and with files of 4 MB the large
store's checkpoint of its orders at 32 MB (DuckDB's FATAL "failed to pin block"; 48 MB passed)."""

DUCKDB_INSERT_BYTES = 64 << 10
"""SQL per statement of an ``insert_values`` file for DuckDB (dlt's default: 16 MB). DuckDB holds about 150 times
a statement's size while it parses and plans it, memory its limit does not bound: the small store's 2,000 orders
as dicts peaked at 319 MB RSS in statements of 1 MB, 198 MB in statements of 256 KB, 175 MB in statements of this
size (168 MB through the CSV files)."""


class DestinationError(ConnectorError):
    """The destination refused or failed: the whole sync stops (a rerun resumes from the last commit)."""


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

    @property
    def stores_nul(self) -> bool:
        """Whether text and JSON columns hold a NUL character: Postgres stores none in text or jsonb."""
        return self.destination != "postgres"

    def file_format(self) -> str | None:
        """The load file format of the rows DuckDB types: CSV that DuckDB writes and this module's jobs load as
        it is, for DuckDB and Postgres (see the module docstring); else None, for Arrow tables dlt writes as it
        likes."""
        return "csv" if self.destination in ("duckdb", "postgres") else None

    def load_workers(self) -> int:
        """The load jobs dlt runs at once (its default is 20). One for DuckDB: each job is a query of its own
        on the file's connection, with its own reading buffers, and DuckDB writes one file at a time anyway
        (medium store: peak RSS 321 -> 311 MB in one measurement)."""
        return 1 if self.destination == "duckdb" else 20

    def dicts_format(self) -> str | None:
        """The load file format for rows that go to dlt as dicts: ``INSERT`` statements, which the table's own
        column types read, so a value lands as dlt typed it.

        Not JSONL for DuckDB: dlt loads a JSONL file with one ``INSERT ... SELECT * FROM read_json(file)``,
        which guesses each column's type from the file's values (text that looks like a timestamp became an
        instant, cast back to text in UTC) and reads the whole file at once, beyond the held connection's
        memory limit for a few MB of orders (:data:`DUCKDB_SETTINGS`). The statements go in pieces of
        :data:`DUCKDB_INSERT_BYTES`, and a NUL in text as ``chr(0)`` (:func:`_duckdb_literal`).
        """
        return "insert_values" if self.destination in ("duckdb", "postgres") else None


def default_dataset(destination: str) -> str:
    """``bigcommerce``; in DuckDB ``main``, its default schema.

    DuckDB names a file's catalog after the file, so ``bigcommerce.duckdb`` holding a schema ``bigcommerce``
    makes every ``bigcommerce.orders`` ambiguous (DuckDB's binder refuses it, dlt's own statements included).
    In ``main`` the tables need no prefix at all: ``SELECT * FROM orders``.
    """
    return "main" if destination == "duckdb" else "bigcommerce"


PASSWORD_SETTING = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&#']*)", re.IGNORECASE)
"""A password given as a setting: in a URL's query (``?password=...``, which libpq takes) or in a libpq keyword
string (``host=db password=...``)."""


def redact(url: str) -> str:
    """A connection URL without its password, wherever it is given (and the path of a plain file as it is)."""
    url = PASSWORD_SETTING.sub(r"\1***", url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "(unparseable URL)"
    if not parts.scheme or parts.password is None:
        return url
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    netloc = f"{parts.username or ''}:***@{host}" + (f":{port}" if port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def passwords(credentials: str) -> set[str]:
    """Every password ``credentials`` holds, as given and percent-decoded: what a driver's message may quote."""
    found = {match.group(2).strip("'") for match in PASSWORD_SETTING.finditer(credentials)}
    if "://" in credentials:
        with contextlib.suppress(ValueError):
            found.add(urlsplit(credentials).password or "")
    return {shown for value in found if value for shown in (value, unquote(value))}


def dlt_destination(target: Target, connection: Any = None) -> Destination[Any, Any]:
    """dlt's destination for the target; for DuckDB, ``connection`` is an open connection to its file (see
    :func:`open_duckdb`) rather than one dlt opens and closes for each load."""
    from dlt.common.destination import Destination

    if target.destination == "duckdb":
        target.duckdb_path().parent.mkdir(parents=True, exist_ok=True)
        return _duckdb_factory()(credentials=connection or str(target.duckdb_path()))
    if target.destination == "postgres":
        credentials: Any = None
        if target.credentials:
            from dlt.destinations.impl.postgres.configuration import PostgresCredentials

            credentials = PostgresCredentials(target.credentials)
            if credentials.password is None:
                credentials.password = ""  # dlt insists on one; trust and peer authentication need none
        return _postgres_factory()(credentials=credentials)
    extra = {"credentials": target.credentials} if target.credentials else {}
    found = Destination.from_reference(target.destination, **extra)
    assert found is not None  # a name always gives a destination, or raises
    return found


def open_duckdb(target: Target) -> Any:
    """A connection to the target's DuckDB file, or None for other destinations.

    dlt opens and closes the file for every load, and DuckDB writes everything the load added into the file
    when the last connection closes (a checkpoint): over a sync of many chunks that is most of the loading's
    work again. A connection held while chunks follow each other checkpoints only as its log grows.
    """
    if target.destination != "duckdb":
        return None
    import duckdb

    target.duckdb_path().parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(target.duckdb_path()), config=dict(DUCKDB_SETTINGS))


@functools.cache
def _duckdb_factory() -> type[Destination[Any, Any]]:
    """dlt's duckdb destination, taking CSV files too, which it inserts with DuckDB's own CSV reader (built on
    first use, because dlt is imported only when a sync starts; once, though a sync asks for it every chunk)."""
    from dlt.common.destination import DestinationCapabilitiesContext
    from dlt.common.destination.client import HasFollowupJobs, RunnableLoadJob
    from dlt.common.storages import ParsedLoadJobFileName
    from dlt.destinations.impl.duckdb.duck import DuckDbClient
    from dlt.destinations.impl.duckdb.factory import duckdb
    from dlt.destinations.insert_job_client import InsertValuesLoadJob

    class CsvInsertJob(RunnableLoadJob, HasFollowupJobs):
        """``INSERT`` of a CSV file whose first line names the columns; "" stays "", an empty field is NULL.

        Every field is read as text and cast by the insert to its column's type: the file holds what DuckDB
        wrote from those types (:func:`source_bigcommerce.tables.to_csv`), so the text reads back exactly.
        """

        def __init__(self, file_path: str, restored: bool = False) -> None:
            super().__init__(file_path)
            self._job_client: DuckDbClient = None  # type: ignore[assignment]
            self._restored = restored

        def run(self) -> None:
            sql_client = self._job_client.sql_client
            with open(self._file_path, encoding="utf-8", newline="") as data:
                names = _csv_header(data.readline())
            columns = ", ".join(sql_client.escape_column_name(name, quote=True) for name in names)
            types = ", ".join(f"{_sql_literal(name)}: 'VARCHAR'" for name in names)
            table = sql_client.make_qualified_table_name(self.load_table_name)
            if self._restored and _inserted(sql_client, table, self._file_path):
                return
            sql_client.execute_sql(
                f"INSERT INTO {table} ({columns}) SELECT * FROM read_csv({_sql_literal(self._file_path)}, "
                f"header = true, auto_detect = false, columns = {{{types}}}, delim = ',', quote = '\"', "
                "escape = '\"', nullstr = '', allow_quoted_nulls = false, max_line_size = 1073741824)"
            )

    class RestoredInsertJob(InsertValuesLoadJob):
        """dlt's ``INSERT`` statements of a file (the rows that go as dicts), restored after a kill: run again in
        one transaction, rolled back when they repeated a row's ``_dlt_id``, made for that row alone: the file's
        rows were in already (see :func:`_inserted`)."""

        def run(self) -> None:
            sql_client = self._sql_client = self._job_client.sql_client
            table = sql_client.make_qualified_table_name(self.load_table_name)
            try:
                with sql_client.begin_transaction():
                    for fragments in self._insert(table, self._file_path):
                        sql_client.execute_fragments(fragments)
                    with sql_client.execute_query(
                        f"SELECT 1 FROM {table} WHERE {DLT_LOAD_ID} = %s GROUP BY {DLT_ID} HAVING count(*) > 1 "
                        "LIMIT 1",
                        self._load_id,
                    ) as cursor:
                        if cursor.fetchone() is not None:
                            raise _InAlready
            except _InAlready:
                pass

    class _DuckDbClient(DuckDbClient):
        def create_load_job(self, table: Any, file_path: str, load_id: str, restore: bool = False) -> Any:
            file_format = ParsedLoadJobFileName.parse(file_path).file_format
            if file_format == "csv":
                return CsvInsertJob(file_path, restore)
            if file_format == "insert_values" and restore:
                return RestoredInsertJob(file_path)
            return super().create_load_job(table, file_path, load_id, restore)

    class _DuckDb(duckdb):
        def _raw_capabilities(self) -> DestinationCapabilitiesContext:
            caps = super()._raw_capabilities()
            caps.supported_loader_file_formats = [*caps.supported_loader_file_formats, "csv"]
            caps.max_query_length = 2 * DUCKDB_INSERT_BYTES  # dlt's insert job cuts at half of it
            caps.escape_literal = _duckdb_literal
            return caps

        @property
        def destination_type(self) -> str:
            return "dlt.destinations.duckdb"  # the same destination to dlt, its state and its config

        @property
        def client_class(self) -> type[DuckDbClient]:
            return _DuckDbClient

    return _DuckDb


def _duckdb_literal(value: Any) -> Any:
    """dlt's DuckDB literal of a value in an ``insert_values`` file, with a NUL in text kept as ``chr(0)``: dlt
    drops it, because DuckDB would end the statement's text there."""
    from dlt.common.data_writers.escape import escape_duckdb_literal

    if isinstance(value, str) and "\x00" in value:
        return " || chr(0) || ".join(escape_duckdb_literal(part) for part in value.split("\x00"))
    return escape_duckdb_literal(value)


class _InAlready(Exception):
    """The rows of a restored job's file were in its table already: its transaction is rolled back."""


def _inserted(sql_client: Any, table: str, path: str) -> bool:
    """Whether the rows of a CSV file are in ``table`` already: a job dlt restores (it had started when a sync
    was killed) may have committed them, in the one statement or transaction that loads its file, before dlt
    noted it done. Told by the file's first row's ``_dlt_id``, made for that row alone
    (:mod:`source_bigcommerce.tables`); loading the file again would repeat its rows in an appended table, and
    in Postgres fail on ``_dlt_id``'s unique index at every later sync."""
    with open(path, encoding="utf-8", newline="") as data:
        reader = csv.reader(data)
        header = next(reader, [])
        first = next(reader, None)
    if first is None or DLT_ID not in header:
        return False
    with sql_client.execute_query(
        f"SELECT 1 FROM {table} WHERE {DLT_ID} = %s LIMIT 1", first[header.index(DLT_ID)]
    ) as cursor:
        return cursor.fetchone() is not None


def _repeats_dlt_id(error: Exception) -> bool:
    """Whether Postgres refused a row for a ``_dlt_id`` the table holds already (dlt makes the column unique,
    and the constraint is named ``<table>__dlt_id_key``)."""
    import psycopg2.errors

    if not isinstance(error, psycopg2.errors.UniqueViolation):
        return False
    return (error.diag.constraint_name or "").endswith(f"_{DLT_ID}_key")


def _csv_header(line: str) -> list[str]:
    """The column names of a CSV file's first line, as DuckDB wrote them (quoted where they need it)."""
    return next(csv.reader([line]))


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@functools.cache
def _postgres_factory() -> type[Destination[Any, Any]]:
    """dlt's postgres destination, with :class:`_PostgresClient`'s COPY for CSV files (built on first use,
    because dlt is imported only when a sync starts)."""
    from dlt.common.destination.client import HasFollowupJobs, RunnableLoadJob
    from dlt.common.storages import ParsedLoadJobFileName
    from dlt.common.storages.file_storage import FileStorage
    from dlt.destinations.exceptions import DatabaseTerminalException
    from dlt.destinations.impl.postgres.factory import postgres
    from dlt.destinations.impl.postgres.postgres import PostgresClient
    from dlt.destinations.insert_job_client import InsertValuesLoadJob

    class CsvCopyJob(RunnableLoadJob, HasFollowupJobs):
        """``COPY`` of a CSV file whose first line names the columns; "" stays "", an empty field is NULL."""

        def __init__(self, file_path: str, restored: bool = False) -> None:
            super().__init__(file_path)
            self._job_client: PostgresClient = None  # type: ignore[assignment]
            self._restored = restored

        def run(self) -> None:
            sql_client = self._job_client.sql_client
            table = sql_client.make_qualified_table_name(self.load_table_name)
            if self._restored and _inserted(sql_client, table, self._file_path):
                return
            with FileStorage.open_zipsafe_ro(self._file_path, "rb") as data:
                header = _csv_header(data.readline().decode("utf-8"))
                columns = ",".join(sql_client.escape_column_name(name, quote=True) for name in header)
                copy = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT CSV, NULL '', ENCODING 'UTF8')"
                with sql_client.begin_transaction(), sql_client.native_connection.cursor() as cursor:
                    cursor.copy_expert(copy, data, size=1 << 20)

    class RestoredInsertJob(InsertValuesLoadJob):
        """dlt's ``INSERT`` statements of a file (the rows that go as dicts), restored after a kill: they run in
        one transaction, so when one of the file's rows is there already (its ``_dlt_id``, unique in the
        table), they all are, and the job is done (see :func:`_inserted`)."""

        def run(self) -> None:
            try:
                super().run()
            except DatabaseTerminalException as error:
                if not _repeats_dlt_id(error.dbapi_exception):
                    raise

    class _PostgresClient(PostgresClient):
        def create_load_job(self, table: Any, file_path: str, load_id: str, restore: bool = False) -> Any:
            file_format = ParsedLoadJobFileName.parse(file_path).file_format
            if file_format == "csv":
                return CsvCopyJob(file_path, restore)
            if file_format == "insert_values" and restore:
                return RestoredInsertJob(file_path)
            return super().create_load_job(table, file_path, load_id, restore)

    class _Postgres(postgres):
        @property
        def destination_type(self) -> str:
            return "dlt.destinations.postgres"  # the same destination to dlt, its state and its config

        @property
        def client_class(self) -> type[PostgresClient]:
            return _PostgresClient

    return _Postgres


def describe(exc: BaseException, target: Target) -> str:
    """One sentence for a destination failure, without credentials.

    Chosen by the type of the innermost cause (through dlt's step and job wrappers), never by words in its
    message, which each driver words as it likes: DuckDB's "failed to pin block" holds "lock" and is about
    memory. psycopg2 raises its plain ``OperationalError`` when the connection fails or breaks, and
    subclasses of it (a deadlock, a cancelled statement) for failures of a statement.
    """
    from dlt.common.configuration.exceptions import ConfigFieldMissingException
    from dlt.common.destination.exceptions import InvalidDestinationReference, UnknownDestinationModule

    # A driver's exception exists only once its module is imported: none is imported here to ask.
    duckdb, psycopg2 = sys.modules.get("duckdb"), sys.modules.get("psycopg2")
    root = _root(exc)
    text = str(root).strip().splitlines()[0] if str(root).strip() else type(root).__name__
    if target.credentials:
        # The longest first: a password may hold another's percent-decoded form.
        for password in sorted(passwords(target.credentials), key=len, reverse=True):
            text = text.replace(password, "***")
        text = PASSWORD_SETTING.sub(r"\1***", text)
    text = text.rstrip(".")
    where = f"{target.destination} {target.location}"
    if isinstance(root, (UnknownDestinationModule, InvalidDestinationReference)):
        return (
            f"dlt has no destination {target.destination!r}; use duckdb, postgres or a destination name "
            "from https://dlthub.com/docs/dlt-ecosystem/destinations."
        )
    if isinstance(root, ConfigFieldMissingException):
        return (
            f"The {target.destination} destination needs credentials: pass --credentials (for postgres a URL "
            "such as postgresql://user:password@host:5432/database) or set them in dlt's configuration."
        )
    if psycopg2 is not None and type(root) is psycopg2.OperationalError:
        return f"Cannot connect to {where}: {text}; check --credentials and that the server is running."
    if duckdb is not None and isinstance(root, duckdb.IOException):
        return (
            f"The DuckDB file {target.location} could not be opened or written ({text}); if another process "
            "has it open, close that process, then run the sync again."
        )
    if duckdb is not None and isinstance(root, duckdb.OutOfMemoryException):
        return (
            f"DuckDB ran out of memory loading into {target.location} ({text}); the sync resumes from the last "
            "commit when run again."
        )
    return f"Loading into {where} failed: {type(root).__name__}: {text}."


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
