"""Every command of ``source-bigcommerce``: argument parsing and exit codes, nothing else (a config becomes a
running read in :mod:`source_bigcommerce.wiring`; ``sync`` loads in :mod:`source_bigcommerce.sync`).

The Airbyte protocol commands (``spec``, ``check``, ``discover``, ``read``) write protocol messages, one
JSON object a line, and nothing else to stdout; a failure becomes a TRACE error there and one sentence on
stderr. ``sync`` talks to a person: progress on stderr, a summary on stdout. No traceback reaches the user
unless ``--debug`` is given, and the access token appears nowhere.

Exit codes: 0 success; 1 a stream or the run failed; 2 bad command-line usage (argparse). ``--debug`` and
``--json`` go before or after the command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, BinaryIO, NoReturn
from urllib.parse import urlsplit

import orjson

from source_bigcommerce import __version__, catalog, dates, deletes, protocol
from source_bigcommerce.config import Config, load_config, refuse_future_start
from source_bigcommerce.engine import Progress, Status, SyncMode, unknown_store
from source_bigcommerce.errors import ConfigError, ConnectorError, TransientError
from source_bigcommerce.http import (
    DEFAULT_PAUSES,
    ApiError,
    Client,
    Forbidden,
    NotFound,
    Pauses,
    Unauthorized,
)
from source_bigcommerce.paging import Record
from source_bigcommerce.state import KNOWN_IDS, KNOWN_SINCE, load_state, state_for
from source_bigcommerce.streams import BY_NAME, STREAMS, StreamSpec
from source_bigcommerce.wiring import LOOKAHEAD_PAGES, with_client
from source_bigcommerce.wiring import read as read_streams

GC_THRESHOLD = (50_000, 20, 20)
"""The cyclic collector's thresholds during a read (CPython's default is 700, 10, 10); see :func:`quiet_gc`."""
CHUNK_ROWS = 200_000
"""Rows per commit. Large enough that dlt's fixed cost per load package (about 0.35 CPU-s; the loader thread
of a sync of the medium store: 6.6 CPU-s in chunks of 20,000, 6.0-7.3 in chunks of 50,000, 5.1-5.7 in chunks of
200,000, for the same peak RSS) stays small; the rows wait on disk, DuckDB streams them into load files of a few
MB each (:data:`source_bigcommerce.tables.CSV_FILE_BYTES`), and a chunk's JSON is cut at
:data:`source_bigcommerce.sink.CHUNK_BYTES` for the destinations that hold its Arrow tables at once. However
fast the reading, :data:`CHUNK_SECONDS` bounds what a kill loses."""
CHUNK_SECONDS = 60.0
"""The longest a sync goes without committing what it has read, whatever the quota lets it read."""


class Parser(argparse.ArgumentParser):
    """argparse, except that with ``--json`` anywhere on the command line a usage error is one JSON object on
    stdout too (argparse's usage and sentence still go to stderr, with exit status 2)."""

    def __init__(self, *args: Any, json_errors: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.json_errors = json_errors

    def error(self, message: str) -> NoReturn:
        if self.json_errors:
            print(orjson.dumps({"ok": False, "error": message}).decode(), flush=True)
        super().error(message)


def build_parser(*, json_errors: bool = False) -> argparse.ArgumentParser:
    parser = Parser(
        prog="source-bigcommerce",
        description="Copy a BigCommerce store's data: the Airbyte protocol, or straight into a database.",
        json_errors=json_errors,
    )
    add_global_options(parser)
    parser.add_argument("--version", action="version", version=f"source-bigcommerce {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    def command(name: str, text: str, description: str) -> Parser:
        sub = commands.add_parser(name, help=text, description=description)
        sub.json_errors = json_errors
        add_global_options(sub)
        return sub

    command(
        "spec",
        "print the connector's SPEC message",
        "Print the connector's SPEC message: the config's JSON Schema, as Airbyte asks for it.",
    )
    check = command(
        "check",
        "test the config's credentials and scopes",
        "Test the config: a CONNECTION_STATUS message says whether the token and store hash work, and which "
        "OAuth scopes are missing. Exits 0 whenever it can report a status, as Airbyte requires.",
    )
    check.add_argument("--config", required=True, help="path to the config JSON")
    discover = command(
        "discover",
        "print the CATALOG",
        "Print the CATALOG message: every stream with its JSON Schema, sync modes, primary key and cursor.",
    )
    discover.add_argument("--config", required=True, help="path to the config JSON")
    read = command(
        "read",
        "read records as Airbyte protocol messages",
        "Read the streams of a configured catalog as Airbyte messages on stdout: RECORD, per-stream STATE, "
        "STREAM_STATUS and TRACE errors, one JSON object a line.",
    )
    read.add_argument("--config", required=True, help="path to the config JSON")
    read.add_argument("--catalog", required=True, help="path to the configured catalog JSON")
    read.add_argument("--state", help="path to the state JSON of a previous read")
    sync = command(
        "sync",
        "load the store into DuckDB, Postgres or any dlt destination",
        "Load the store into a database through dlt; reruns are incremental.",
    )
    sync.add_argument("--config", help="path to the config JSON (not needed with --demo)")
    sync.add_argument(
        "--destination",
        default="duckdb",
        help="duckdb (default), postgres, or any dlt destination name",
    )
    sync.add_argument(
        "--credentials",
        help="where to load: a DuckDB file path (default ./bigcommerce.duckdb) or a connection URL "
        "such as postgresql://user@127.0.0.1:5432/db",
    )
    sync.add_argument(
        "--dataset",
        help="dataset (schema) name; default bigcommerce, and main in DuckDB (whose catalog is already called "
        "after the file), so `SELECT * FROM orders` works there as it is",
    )
    sync.add_argument("--streams", help="comma-separated streams to sync; default all")
    sync.add_argument(
        "--full-refresh", action="store_true", help="ignore saved state and replace every table"
    )
    sync.add_argument(
        "--write-disposition",
        choices=("merge", "append"),
        default="merge",
        help="incremental streams: merge on the primary key (default; tables mirror the store) or append "
        "every version",
    )
    sync.add_argument(
        "--deletes",
        choices=("mark", "remove", "ignore"),
        default="mark",
        help="rows whose records left the store (deleted, or archived orders): mark them with a "
        "_deleted_at time and keep them (default), remove them, or ignore deletions",
    )
    sync.add_argument(
        "--reconcile",
        choices=("always", "daily", "never"),
        default="daily",
        help="how often to check the ids of streams with a date cursor (customers, products, ...) against the "
        "store: one request each when nothing was deleted, one per 250 records when something was (default "
        "daily; see the README)",
    )
    sync.add_argument(
        "--chunk-rows",
        type=int,
        default=CHUNK_ROWS,
        metavar="N",
        help=f"rows per commit: a killed sync redoes at most one chunk (default {CHUNK_ROWS})",
    )
    sync.add_argument(
        "--chunk-seconds",
        type=float,
        default=CHUNK_SECONDS,
        metavar="S",
        help="commit what has been read at least this often, however slowly the quota lets it read "
        f"(default {CHUNK_SECONDS:.0f})",
    )
    sync.add_argument(
        "--pipelines-dir",
        help="dlt's working directory (default: source-bigcommerce under dlt's pipelines directory, which is "
        "$DLT_DATA_DIR/pipelines if set, /var/dlt/pipelines for root, else ~/.dlt/pipelines)",
    )
    sync.add_argument(
        "--demo",
        action="store_true",
        help="start a small bigcommerce-sandbox store on loopback and sync it (what `make demo` runs)",
    )
    return parser


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """--debug and --json, on the main parser and each command's: they go before or after the command. Left
    unset unless given (SUPPRESS), so the command's copy does not undo the main one's; :func:`main` fills in
    False."""
    parser.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks and debug logs"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="sync: print the summary, or the error, as one JSON object (the protocol commands always print "
        "JSON)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(json_errors="--json" in arguments)
    args = parser.parse_args(arguments)
    args.debug = getattr(args, "debug", False)
    args.json = getattr(args, "json", False)
    if args.command == "sync":
        if not (args.config or args.demo):
            parser.error("sync needs --config (or --demo, to try it on a local sandbox store)")
        if args.chunk_rows < 1:
            parser.error("--chunk-rows must be at least 1")
        if not args.chunk_seconds > 0:
            parser.error("--chunk-seconds must be more than 0")
    out = sys.stdout.buffer
    writer = protocol.Writer(out)
    try:
        if args.command == "spec":
            writer.message(protocol.spec_message())
            return 0
        if args.command == "sync":
            return sync_command(args)
        if args.command == "check":
            return check_file(args.config, out)
        config = load_config(args.config, on_unknown_key=warning(writer))
        writer = protocol.Writer(out, redact=[config.access_token])
        if args.command == "discover":
            writer.message(protocol.catalog_message(catalog.discover(emit_deletes=config.emit_deletes)))
            return 0
        selection = catalog.load_configured_catalog(args.catalog, warn=warning(writer))
        resumed = [spec.name for spec, mode in selection if mode == "incremental"]
        states = load_state(args.state, resumed=resumed) if args.state else {}
        quiet_gc()
        return asyncio.run(read(config, selection, states, writer, debug=args.debug))
    except ConnectorError as error:
        fail(writer, error, debug=args.debug)
        return 1
    except KeyboardInterrupt:
        if args.command == "sync" and args.json:
            print(orjson.dumps({"ok": False, "error": "Interrupted."}).decode(), flush=True)
        print("Interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Whoever read stdout closed it (`read ... | head`): nothing more can reach it. Pointing it at
        # /dev/null lets the last flush, here and at exit, succeed instead of raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("Stopped: the reader of stdout closed it before the command finished.", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.debug:
            raise
        fail(writer, ConnectorError(f"Internal error: {type(exc).__name__}: {exc}"), debug=False, exc=exc)
        return 1
    finally:
        writer.flush()


# -- sync -----------------------------------------------------------------------------------------------


def sync_command(args: argparse.Namespace) -> int:
    """``source-bigcommerce sync``: exit 0 when every stream loaded, 1 otherwise (the reason on stderr).

    Everything it prints goes through :class:`protocol.Redacting` streams, told the access token as soon as
    the config is read: its sentences quote what servers sent (a record's odd value, say), which may be the
    token itself."""
    out, err = protocol.Redacting(sys.stdout), protocol.Redacting(sys.stderr)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        return _sync(args, (out, err))


def _sync(args: argparse.Namespace, streams: tuple[protocol.Redacting, ...]) -> int:
    from source_bigcommerce import demo, report
    from source_bigcommerce.deletes import Policy
    from source_bigcommerce.destination import Target, default_dataset
    from source_bigcommerce.pipeline import hold_from_env
    from source_bigcommerce.sink import Chunking
    from source_bigcommerce.sync import sync

    try:
        for option in ("destination", "credentials", "dataset", "pipelines_dir"):
            utf8_option(option, getattr(args, option))
        readable_url(args.credentials)
        target = Target(
            args.destination,
            args.credentials,
            args.dataset or default_dataset(args.destination),
            args.pipelines_dir,
        )
        chunking = Chunking(
            streams=select_streams(args.streams),
            full_refresh=args.full_refresh or args.demo,
            write_disposition=args.write_disposition,
            chunk_rows=args.chunk_rows,
            chunk_seconds=args.chunk_seconds,
        )
        policy = Policy(args.deletes, args.reconcile)
        quiet_gc()
        if args.demo:
            return demo.run(target, chunking, as_json=args.json, debug=args.debug)
        config = load_config(args.config)
        for stream in streams:
            stream.hide(config.access_token)
        summary = asyncio.run(
            sync(config, target, chunking, policy=policy, debug=args.debug, hold=hold_from_env())
        )
    except ConnectorError as error:
        if args.debug:
            traceback.print_exc(file=sys.stderr)
        report.print_failure(error.message, as_json=args.json)
        return 1
    except Exception as exc:
        # stdout is the summary's, so a bug of ours is a sentence on stderr here, not a TRACE message.
        if args.debug:
            raise
        report.print_failure(f"Internal error: {type(exc).__name__}: {exc}", as_json=args.json)
        return 1
    report.conclude(summary, as_json=args.json)
    return 0 if summary.ok else 1


def utf8_option(name: str, value: str | None) -> None:
    """Refuse an option whose bytes are not UTF-8 (Python keeps them as lone surrogates, which no file name,
    URL or SQL identifier it hands on can be encoded from).

    Raises:
        ConfigError: naming the option, with the value as Python shows it.
    """
    if value is not None and not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise ConfigError(
                f"--{name.replace('_', '-')} {value!r} holds bytes that are not UTF-8 text; give it in UTF-8."
            ) from None


def readable_url(credentials: str | None) -> None:
    """Refuse a connection URL whose host or port cannot be read (``:notaport``, an unclosed ``[::1``), which
    failed deep in dlt as an internal error; the message quotes urllib's reason, never the URL's password.

    Raises:
        ConfigError: saying what is wrong and how such a URL is written.
    """
    if credentials is None or "://" not in credentials:
        return
    try:
        urlsplit(credentials).port  # noqa: B018 - urlsplit reads the port only when asked for it
    except ValueError as exc:
        raise ConfigError(
            f"--credentials is not a URL whose host and port can be read ({exc}); write it as "
            "postgresql://user:password@host:5432/database."
        ) from None


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


def quiet_gc() -> None:
    """Keep the cyclic garbage collector from rescanning records that reference counting frees anyway.

    Every object orjson parses is a container the collector tracks, so with CPython's default threshold
    it runs every 700 allocations, promotes the pages in flight to older generations and rescans them there
    again and again, along with every module object imported at start-up. Records hold no cycles, so that
    work finds nothing: it was 15-25% of a read's CPU (customers, products and orders of a 350,000-record
    store: 6.1-6.3 -> 4.6-4.8 CPU-s). Freezing moves what start-up built out of every later collection;
    the higher threshold still collects the few cycles asyncio makes (tasks, exceptions), every 50,000
    allocations instead of 700, which holds back at most a few megabytes.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def fail(
    writer: protocol.Writer, error: ConnectorError, *, debug: bool, exc: BaseException | None = None
) -> None:
    """A run-level failure: a TRACE error on stdout for the platform, one sentence on stderr for a person
    (after the traceback, with ``--debug``)."""
    stack = "".join(traceback.format_exception(exc or error)) if debug else None
    writer.message(protocol.trace_error(error.message, error.failure_type, stack_trace=stack))
    writer.flush()
    if stack:
        print(writer.scrub(stack), file=sys.stderr, end="")
    print(writer.scrub(error.message), file=sys.stderr)


# -- check ----------------------------------------------------------------------------------------------


def probes(specs: Iterable[StreamSpec] = STREAMS) -> dict[str, tuple[str, str, bool]]:
    """One request per distinct OAuth scope of ``specs``: scope -> (api, path, on a made-up parent).

    A scope is probed on a top-level list where one has it; else on a per-parent path with a parent id that
    cannot exist (``/v3/orders/0/transactions``): BigCommerce checks the scope before looking the parent up,
    so any answer but 403 (and 401) means the scope is granted.
    """
    found: dict[str, tuple[str, str, bool]] = {}
    for spec in sorted(specs, key=lambda spec: "{" in spec.path):  # stable: the table's order otherwise
        made_up = "{" in spec.path
        found.setdefault(spec.scope, (spec.api, re.sub(r"\{[^}]*\}", "0", spec.path), made_up))
    return found


def check_file(path: str, out: BinaryIO) -> int:
    """``check``: a config that cannot be used is a failed connection too, reported the same way."""
    writer = protocol.Writer(out)
    try:
        config = load_config(path, on_unknown_key=warning(writer))
    except ConfigError as error:
        return status(writer, False, error.message)
    return asyncio.run(check(config, protocol.Writer(out, redact=[config.access_token])))


def warning(writer: protocol.Writer) -> Callable[[str], None]:
    """What is odd but not wrong as a WARN LOG for the protocol face, not a failure: a config key the connector
    does not know (Airbyte's spec allows other keys, and a platform may add its own), or a stream configured
    incremental that has no cursor (it is read in full)."""
    return lambda sentence: writer.message(protocol.log("WARN", sentence))


async def check(config: Config, writer: protocol.Writer) -> int:
    """CONNECTION_STATUS: FAILED for a bad token, unknown store or unreachable host; missing scopes named."""
    try:
        refuse_future_start(int(config.start.timestamp()), time.time())
    except ConfigError as error:
        return status(writer, False, error.message)

    scopes = probes()

    async def probe(client: Client) -> list[str]:
        missing: list[str] = []
        for scope, (api, path, made_up) in scopes.items():
            try:
                await client.get(api, path, {"limit": "1"}, max_retries=1)
            except Forbidden:
                missing.append(scope)
            except (ApiError, TransientError) as error:
                # Past the scope check, the made-up parent may be refused in any way (404, 400, 503 from the
                # payment service): none of it says the scope is missing.
                if not made_up or isinstance(error, Unauthorized):
                    raise
        return missing

    def log(level: protocol.LogLevel, message: str) -> None:
        writer.message(protocol.log(level, message))

    try:
        missing = await with_client(config, log, probe)
    except NotFound:
        return status(writer, False, unknown_store(config.store_hash).message)
    except ConnectorError as error:
        return status(writer, False, error.message)
    if len(missing) == len(scopes):
        return status(writer, False, "The API account has none of the read scopes this connector needs.")
    if missing:
        streams = [spec.name for spec in STREAMS if spec.scope in missing or _needs_parent(spec, missing)]
        return status(
            writer,
            True,
            f"Connected, but the API account lacks the scopes {', '.join(missing)}: the streams "
            f"{', '.join(streams)} will be skipped unless they are granted.",
        )
    return status(writer, True, None)


def _needs_parent(spec: StreamSpec, missing: list[str]) -> bool:
    return spec.parent is not None and BY_NAME[spec.parent].scope in missing


def status(writer: protocol.Writer, succeeded: bool, message: str | None) -> int:
    """Report the check's verdict; the exit status is 0 either way.

    Airbyte reads a failed connection from CONNECTION_STATUS and treats a non-zero exit of ``check`` as the
    connector crashing, hiding the message behind "Check operation returned a non zero exit code"
    (airbyte-platform, airbyte-connector-sidecar ConnectorMessageProcessor.run). A person reads the same
    sentence on stderr.
    """
    writer.message(protocol.connection_status(succeeded, message))
    if message:
        print(writer.scrub(message), file=sys.stderr)
    return 0


# -- read -----------------------------------------------------------------------------------------------


class ProtocolSink:
    """The engine's output as Airbyte protocol messages on stdout.

    With ``emit_deletes`` (see :mod:`source_bigcommerce.deletes`): an archived order carries
    ``_ab_cdc_deleted_at``; the ids of the listed streams read incrementally are gathered, and their known ids,
    those delivered so far included, ride along in every STATE of theirs, so a read that stops half-way keeps
    them.
    """

    def __init__(
        self,
        writer: protocol.Writer,
        wall: Callable[[], float],
        debug: bool,
        *,
        known: dict[str, str] | None = None,
        since: int = 0,
    ) -> None:
        """``known``: the encoded known ids per stream whose deletes are told (none: deletes are not told),
        listed from ``start_date`` ``since``."""
        self._writer = writer
        self._wall = wall
        self._debug = debug
        self._known = known
        self._since = since
        self.delivered: dict[str, set[int]] = {name: set() for name in known or {}}
        self._started: dict[str, set[int]] = {}
        """The ids known when the read started, decoded once a STATE carries them with ids delivered since."""
        self._carried: dict[str, tuple[int, str, float]] = {}
        """Per stream, how many ids it had delivered when its known ids were last encoded, that text, and the
        time before which they are not encoded again."""
        self.failures: list[str] = []
        self._stated: dict[str, int] = {}
        """Each stream's record count at its previous STATE."""

    def _now_ms(self) -> int:
        return int(self._wall() * 1000)

    async def records(self, stream: str, batch: list[Record]) -> None:
        if self._known is not None:
            if stream in self.delivered:
                field = deletes.key(BY_NAME[stream])
                self.delivered[stream].update(record[field] for record in batch)
            elif deletes.archives(BY_NAME[stream]):
                for record in batch:
                    if record.get(deletes.ARCHIVED) is True:
                        record[deletes.CDC_DELETED_AT] = record.get("date_modified")
        self._writer.records(stream, batch, self._now_ms())

    async def state(self, stream: str, stream_state: dict[str, Any], count: int) -> None:
        """The STATE message, whose sourceStats count the records since the stream's previous one (the
        protocol's definition: a platform compares it with what it received, and a running total would
        look like records lost or duplicated)."""
        known = self._carried_ids(stream)
        if known is None:
            return  # left out: the stream's next STATE carries these ids too, and counts these records
        if known:
            stream_state = {**stream_state, KNOWN_IDS: known, KNOWN_SINCE: self._since}
        since, self._stated[stream] = count - self._stated.get(stream, 0), count
        self._writer.message(protocol.state_message(stream, stream_state, since))

    async def status(self, stream: str, status: Status) -> None:
        self._writer.message(protocol.stream_status(stream, status, self._now_ms()))

    async def childless(self, stream: str, parents: list[Any]) -> None:
        """Nothing to do: an Airbyte destination deduplicates children by their own key, and no message says a parent has none."""

    async def failed(self, stream: str, error: ConnectorError) -> None:
        """A stream's failure: its TRACE error and sentence; with ``--debug``, the traceback of the exception
        behind it too (an internal error's bug, which the sentence alone does not locate)."""
        self.failures.append(stream)
        cause = error.__cause__ if self._debug else None
        stack = "".join(traceback.format_exception(cause)) if cause is not None else None
        self._writer.message(
            protocol.trace_error(error.message, error.failure_type, stream=stream, stack_trace=stack)
        )
        if stack:
            print(self._writer.scrub(stack), file=sys.stderr, end="")
        print(self._writer.scrub(error.message), file=sys.stderr)

    def log(self, level: protocol.LogLevel, message: str) -> None:
        if level != "DEBUG" or self._debug:
            self._writer.message(protocol.log(level, message))

    def _carried_ids(self, stream: str) -> str | None:
        """The encoded ids a STATE of ``stream`` carries: those known when the read started and every id it has
        delivered since ("" for a stream whose deletes are not told, or while none is known); None to leave
        this STATE out.

        A read that stops half-way (a killed attempt, a failed stream) leaves the platform its last STATE. Were
        only the ids known at the start in it, a record the read delivered and the store deleted before the
        next read would be in no known set and in no listing, its delete never told: every record of a first
        read (which starts knowing none) that went before the next one, and each one created and deleted
        around a read that stopped.

        Encoding them costs time in the number of ids, and a first read of a large store checkpoints
        thousands of times, each with more of them (ids in date order, scattered: 25 ms for 125,000 at zlib's
        fastest level). So they are encoded again at most once per twenty times the last encoding took, and a
        STATE that comes sooner is left out: it would carry a cursor past ids it does not, and the next STATE
        supersedes it. A killed read then repeats at most that much more reading.
        """
        if self._known is None or stream not in self._known:
            return ""
        delivered = self.delivered[stream]
        if not delivered:
            return self._known[stream]
        size, text, not_before = self._carried.get(stream, (-1, "", 0.0))
        if size == len(delivered):
            return text
        began = self._wall()
        if began < not_before:
            return None
        if stream not in self._started:
            self._started[stream] = deletes.decode_ids(self._known[stream]) or set()
        text = deletes.encode_ids(self._started[stream] | delivered, level=1)
        ended = self._wall()
        self._carried[stream] = (len(delivered), text, ended + 20 * (ended - began))
        return text

    async def deletes(self, client: Client, progress: dict[str, Progress]) -> None:
        """After the read: each listed stream's deleted ids as records, then its state with the ids known."""
        assert self._known is not None
        now = dates.from_epoch(int(self._wall()))
        for name, delivered in self.delivered.items():
            item = progress[name]
            if item.failed:
                continue
            spec = item.spec
            known = deletes.decode_ids(self._known[name])
            try:
                gone, ids = await deletes.gone_from_known(
                    client,
                    spec,
                    known,
                    delivered,
                    start_date=self._since,
                    start=item.start,
                    lookahead=LOOKAHEAD_PAGES,
                )
            except ConnectorError as error:
                await self.failed(name, error)
                continue
            if gone:
                # The cursor too, at the deletion: a destination deduplicating by the latest cursor (Airbyte's
                # Destinations V2 order by it, nulls last) must take the delete over the record's last version.
                stamp = {deletes.CDC_DELETED_AT: now, **({spec.cursor: now} if spec.cursor else {})}
                records = [{deletes.key(spec): key, **stamp} for key in sorted(gone)]
                self._writer.records(name, records, self._now_ms())
            self._known[name] = deletes.encode_ids(ids)
            self.delivered[name] = set()  # known from now on, and those gone no longer
            await self.state(name, state_for(spec, item.cursor, item.archived), item.count + len(gone))


def _known_ids(stream_state: Mapping[str, Any], since: int) -> str:
    """The encoded known ids of a stream's state, if they were listed from ``start_date`` ``since`` (a state
    without the date is taken as listed from it); else none, and they are listed afresh, no deletes told."""
    if stream_state.get(KNOWN_SINCE, since) != since:
        return ""
    ids = stream_state.get(KNOWN_IDS, "")
    return ids if isinstance(ids, str) else ""


async def read(
    config: Config,
    selection: list[tuple[StreamSpec, SyncMode]],
    states: dict[str, dict[str, Any]],
    writer: protocol.Writer,
    *,
    debug: bool = False,
    pauses: Pauses = DEFAULT_PAUSES,
) -> int:
    told = [spec.name for spec, mode in selection if mode == "incremental" and deletes.listed(spec)]
    since = int(config.start.timestamp())
    known = (
        {name: _known_ids(states.get(name) or {}, since) for name in told} if config.emit_deletes else None
    )
    sink = ProtocolSink(writer, time.time, debug, known=known, since=since)

    async def after(client: Client, progress: dict[str, Progress]) -> None:
        await sink.deletes(client, progress)

    await read_streams(
        config, sink, selection, states, pauses=pauses, after=after if known is not None else None
    )
    if sink.failures:
        message = f"These streams did not sync completely: {', '.join(sink.failures)}."
        writer.message(protocol.trace_error(message, "system_error"))
        print(message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
