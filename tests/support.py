"""Helpers for connector tests: run ``read`` in-process against a sandbox and look at what it said.

The expected values are built here independently of the connector's own code: timestamps are normalised
with the standard library (``email.utils`` for RFC 2822, ``datetime.fromisoformat`` for ISO 8601), so a
bug in the connector's fast date paths cannot hide behind the same bug in the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import re
import subprocess
import sys
import time
import traceback
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import orjson

from bigcommerce_sandbox.app import RunningSandbox
from bigcommerce_sandbox.registry import BY_NAME as SANDBOX
from source_bigcommerce import catalog, cli, errors, protocol
from source_bigcommerce.config import parse_config
from source_bigcommerce.http import DEFAULT_PAUSES, Pauses
from source_bigcommerce.state import parse_state
from source_bigcommerce.streams import BY_NAME, STREAMS, schema
from source_bigcommerce.streams import key_of as key_reader

ALL_STREAMS = tuple(spec.name for spec in STREAMS)
INCREMENTAL = tuple(spec.name for spec in STREAMS if spec.incremental)
STORE_FAMILY = (
    "customer_groups",
    "customer_attributes",
    "customer_attribute_values",
    "subscribers",
    "customer_addresses",
    "coupons",
    "gift_certificates",
    "promotions",
    "currencies",
    "tax_classes",
    "inventory_locations",
    "inventory_items",
)
"""Issue 15's customers, marketing and store settings lists (docs/streams/store.md)."""
STORE_INCREMENTAL = tuple(name for name in STORE_FAMILY if BY_NAME[name].incremental)
BEYOND_TINY = tuple(
    spec.name
    for spec in STREAMS
    if not (spec.parent == "orders" and spec.fetch == "per_parent" and spec.name != "transactions")
)
"""The streams read by tests of stores of hundreds of orders or more: every stream but the per-order children
besides transactions, which cost one request per order each and are read the way transactions are; the tests
of tiny stores read them all."""
LOOPBACK_CERTIFICATE = Path(__file__).parent / "e2e" / "selfsigned-loopback.pem"


def _find_specs() -> Path:
    """``shared/bigcommerce-api-specs`` beside the checkout or beside any folder above it, so a git worktree
    nested deeper than the main checkout finds the same specs; where there are none, the place they belong."""
    checkout = Path(__file__).resolve().parents[1]
    for folder in checkout.parents:
        candidate = folder / "shared" / "bigcommerce-api-specs"
        if (candidate / "reference").is_dir():
            return candidate
    return checkout.parent / "shared" / "bigcommerce-api-specs"


SPECS = _find_specs()
"""BigCommerce's official OpenAPI files (their ``reference/`` folder holds the YAML); tests that need them skip
with a visible reason where they are absent."""
"""A self-signed CA certificate and its key for 127.0.0.1 and localhost, made for the tests (valid until
2126)."""
SEVERAL_CHUNKS: dict[str, Any] = {"size": "tiny", "seed": 3, "customers": 600, "orders": 500, "products": 300}
"""A sandbox store (``sandbox_factory(**SEVERAL_CHUNKS)``) still quick to read whose output fills several
pages, several 200-row sync chunks and more than a pipe holds."""


@dataclass
class Output:
    """Everything one read printed, sorted by kind."""

    messages: list[dict[str, Any]]
    exit_code: int
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    states: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    errors: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    stderr: str = ""
    """What the run printed to stderr (one sentence per failure)."""

    def __post_init__(self) -> None:
        for message in self.messages:
            kind = message["type"]
            if kind == "RECORD":
                self.records[message["record"]["stream"]].append(message["record"]["data"])
            elif kind == "STATE":
                stream = message["state"]["stream"]
                self.states[stream["stream_descriptor"]["name"]].append(message["state"])
            elif kind == "TRACE" and message["trace"]["type"] == "STREAM_STATUS":
                status = message["trace"]["stream_status"]
                self.statuses[status["stream_descriptor"]["name"]].append(status["status"])
            elif kind == "TRACE" and message["trace"]["type"] == "ERROR":
                self.errors.append(message["trace"]["error"])
            elif kind == "LOG":
                self.logs.append(message["log"])

    def final_state(self) -> list[dict[str, Any]]:
        """The last STATE message of each stream, as a state file the next read accepts."""
        return [{"type": "STATE", "state": states[-1]} for states in self.states.values()]

    def ids(self, stream: str) -> list[Any]:
        return [record["id"] for record in self.records.get(stream, [])]


def mutate_every_stream(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    """Updates and creations in every incremental stream of the table (and deletions of children), and two
    archived orders, one with
    its ``date_modified`` moved and one without (no hard deletes: an incremental read cannot see those), a
    second after the read that came before and a second before the next one (:func:`settle`)."""
    time.sleep(1.1)  # mutations land in a later second than the previous read's start
    results = [
        sandbox.mutate(
            spec.name,
            update=2 if SANDBOX[spec.name].updates else 0,
            create=1,
            # A child's parent is read again with all of its children: one deleted is seen gone.
            delete=1 if spec.parent is not None else 0,
        )
        for spec in STREAMS
        if spec.incremental and spec.fetch != "embedded"  # embedded children change with their parent
    ]
    results.append(sandbox.mutate("orders", archive=1))
    results.append(sandbox.mutate("orders", archive=1, bump_date_modified=False))
    settle()
    return results


def settle() -> None:
    """Wait until the changes just made lie before the second the next read starts in: a list that cannot
    sort by date reads up to the second before its start only (paging.Walker.unsorted), and leaves that
    second to the read after."""
    time.sleep(1.1)


def changed_ids(results: list[dict[str, Any]], resource: str) -> set[Any]:
    """The keys the mutations changed; a composite key (a price list record's) comes as a list."""
    return {
        tuple(rid) if isinstance(rid, list) else rid
        for result in results
        for ids in result.get(resource, {}).values()
        for rid in ids
    }


def assert_exactly_the_changes(
    sandbox: RunningSandbox, output: Output, results: list[dict[str, Any]]
) -> None:
    """An incremental read after :func:`mutate_every_stream` delivered exactly what changed, each once, as it
    is now: streams with a cursor of their own, their records changed; children, those of parents with a
    new ``date_modified`` and of the archived orders (the last one archived without one: an archived order
    comes with its children, whatever their cursors); the other streams, all of their records. The
    archived orders arrive marked deleted."""
    export = {spec.name: sandbox.export(spec.name) for spec in STREAMS}
    expected = {spec.name: changed_ids(results, spec.name) for spec in STREAMS if spec.cursor}
    for spec in STREAMS:
        key = key_reader(spec)
        if spec.parent is not None and spec.parent_key is not None and spec.follows_parent:
            parents = {str(pid) for pid in changed_ids(results, spec.parent)}
            parent_key = spec.parent_key
            expected[spec.name] = {key(r) for r in export[spec.name] if str(r[parent_key]) in parents}
        elif spec.cursor is None:
            expected[spec.name] = {key(r) for r in export[spec.name]}
    assert expected["transactions"], "the changed orders should have transactions"
    assert expected["order_refunds"], "refunds were created"
    for spec in STREAMS:
        key = key_reader(spec)
        got = [key(record) for record in output.records[spec.name]]
        assert len(got) == len(set(got)), f"{spec.name} delivered a record twice"
        assert set(got) == expected[spec.name], spec.name
        current = {key(r): r for r in export[spec.name]}
        for record in output.records[spec.name]:
            assert record == expected_record(spec.name, current[key(record)]), spec.name
    for result in results[-2:]:
        [archived] = result["orders"]["archived"]
        assert by_id(output.records["orders"])[archived]["is_deleted"] is True


def configured_catalog(streams: Iterable[str] = ALL_STREAMS, mode: str = "incremental") -> dict[str, Any]:
    """A configured catalog built from discover: incremental where supported (unless told otherwise)."""
    wanted = set(streams)
    entries = []
    for stream in catalog.discover()["streams"]:
        if stream["name"] not in wanted:
            continue
        sync_mode = mode if mode in stream["supported_sync_modes"] else "full_refresh"
        entries.append({"stream": stream, "sync_mode": sync_mode, "destination_sync_mode": "append"})
    return {"streams": entries}


def read(
    config: Mapping[str, Any],
    streams: Iterable[str] = ALL_STREAMS,
    *,
    mode: str = "incremental",
    state: Any = None,
    pauses: Pauses = DEFAULT_PAUSES,
) -> Output:
    """Run the connector's ``read`` in this process (the sandbox serves from its own thread).

    Everything the run says (stdout, stderr, Python logging, an escaping exception) is searched for the
    access token before the output is returned: no test of a read can pass while the token leaks. The
    writer here blanks nothing, so a leak shows as the token itself.
    """
    out = io.BytesIO()
    err = io.StringIO()
    writer = protocol.Writer(out)
    selection = catalog.parse_configured_catalog(configured_catalog(streams, mode))
    states = parse_state(state) if state is not None else {}
    token = str(config.get("access_token", ""))
    with capture_logging() as logged, contextlib.redirect_stderr(err):
        try:
            code = asyncio.run(cli.read(parse_config(dict(config)), selection, states, writer, pauses=pauses))
        except BaseException as exc:
            assert_no_secret(token, "".join(traceback.format_exception(exc)), where="the exception")
            raise
        finally:
            writer.flush()
    assert_no_secret(token, out.getvalue(), where="stdout")
    assert_no_secret(token, err.getvalue(), *logged, where="stderr or logging")
    output = Output([orjson.loads(line) for line in out.getvalue().splitlines()], code)
    output.stderr = err.getvalue()
    return output


@contextlib.contextmanager
def capture_logging() -> Iterator[list[str]]:
    """Every Python log record emitted meanwhile (aiohttp's, asyncio's, ours), formatted with tracebacks."""
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def assert_no_secret(secret: str, *texts: bytes | str, where: str) -> None:
    """``secret`` (an access token) appears in none of ``texts``, and nothing was blanked in its place.

    A blanked token (``protocol.REDACTED``) means the writer's last line of defence had to act, which is
    itself a leak in the code that built the message. Tokens shorter than ``errors.MIN_REDACTED`` are
    not searched: a one-letter test token appears in every JSON key.
    """
    if len(secret) < errors.MIN_REDACTED:
        return
    for text in texts:
        data = text.encode() if isinstance(text, str) else text
        assert secret.encode() not in data, f"the access token leaked into {where}"
        assert protocol.REDACTED not in data, f"the access token had to be blanked out of {where}"


def run_cli(
    *args: str, input_bytes: bytes | None = None, timeout: float = 120, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """The installed console script in a child process, as a user or Airbyte runs it, with ``env`` added to
    this process's environment.

    Its stdout and stderr are searched for the access token of the ``--config`` it was given.
    """
    done = subprocess.run(
        [str(console_script()), *args],
        input=input_bytes,
        capture_output=True,
        timeout=timeout,
        env={**child_env(), **(env or {})},
        check=False,
    )
    token = config_token(args)
    assert_no_secret(token, done.stdout, where="stdout")
    assert_no_secret(token, done.stderr, where="stderr")
    return done


def console_script() -> Path:
    return Path(sys.executable).with_name("source-bigcommerce")


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONWARNINGS": "ignore"}


def config_token(args: Sequence[str]) -> str:
    """The access token in the config file a command line names, or "" when there is none to read."""
    if "--config" not in args or args.index("--config") + 1 >= len(args):
        return ""
    try:
        config = orjson.loads(Path(args[args.index("--config") + 1]).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return ""
    token = config.get("access_token") if isinstance(config, dict) else None
    return token if isinstance(token, str) else ""


class FakeTime:
    """A clock that moves only when someone sleeps: retries, holds and windows cost nothing real.

    Sleeping still yields to the event loop, so concurrent tasks interleave as they would.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class SteppedClock:
    """A clock the test moves; sleepers wake when it passes their time, so waits overlap as they would."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, woken))
        await woken

    def advance(self, to: float) -> None:
        self.now = to
        for wake, woken in self._sleepers:
            if wake <= to and not woken.done():
                woken.set_result(None)


def write_json(path: Path, value: Any) -> Path:
    path.write_bytes(orjson.dumps(value))
    return path


# -- the documented normalisations, implemented independently --------------------------------------------

_RFC2822 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def canonical_time(value: str) -> str:
    """RFC 2822 or ISO 8601 -> RFC 3339 UTC with Z, by the standard library."""
    if _RFC2822.match(value):
        moment = parsedate_to_datetime(value)
    else:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    moment = moment.astimezone(timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


_ZONELESS = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
"""Customer groups' dates, UTC without a zone (reference/customers.v2.yml examples)."""


def normalised(value: Any, date_keys: frozenset[str] = frozenset(), key: str | None = None) -> Any:
    """The export's record as the connector must deliver it: every timestamp in RFC 3339 UTC, and an
    empty string in a date field (``date_keys``) as null. Nothing else changes.

    In a date field, a zone-less ``2023-07-17 06:30:41`` is UTC and a string of digits Unix seconds (gift
    certificates, reference/marketing.v2.yml)."""
    if isinstance(value, dict):
        return {k: normalised(v, date_keys, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalised(v, date_keys) for v in value]
    if isinstance(value, str):
        if key in date_keys:
            if value == "":
                return None
            if value.isdigit():
                return datetime.fromtimestamp(int(value), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            if _ZONELESS.match(value):
                return canonical_time(value.replace(" ", "T") + "+00:00")
        if _RFC2822.match(value) or _ISO.match(value):
            return canonical_time(value)
    return value


def date_fields(node: Any) -> frozenset[str]:
    """Names of every property a schema declares as a date-time, at any depth."""
    found: set[str] = set()

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for key, sub in (item.get("properties") or {}).items():
                if isinstance(sub, dict) and sub.get("format") == "date-time":
                    found.add(key)
            for sub in item.values():
                walk(sub)
        elif isinstance(item, list):
            for sub in item:
                walk(sub)

    walk(node)
    return frozenset(found)


def expected_record(stream: str, record: dict[str, Any]) -> Any:
    """An export record as the stream must deliver it (empty strings become null in its date fields)."""
    return normalised(record, date_fields(schema(stream)))


def by_id(records: Iterable[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {record["id"]: record for record in records}


def key_of(stream: str, record: Mapping[str, Any]) -> Any:
    """The record's key in its stream (``streams.key_of``): one value, or a tuple of several."""
    return key_reader(BY_NAME[stream])(record)


def by_key(stream: str, records: Iterable[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """Records by their key in the stream, nested (``identity.variant_id``) or within the parent's."""
    return {key_of(stream, record): record for record in records}
