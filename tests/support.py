"""Helpers for connector tests: run ``read`` in-process against a sandbox and look at what it said.

The expected values are built here independently of the connector's own code: timestamps are normalised
with the standard library (``email.utils`` for RFC 2822, ``datetime.fromisoformat`` for ISO 8601), so a
bug in the connector's fast date paths cannot hide behind the same bug in the test.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import orjson

from source_bigcommerce import catalog, cli, protocol
from source_bigcommerce.config import parse_config
from source_bigcommerce.state import parse_state
from source_bigcommerce.streams import schema

ALL_STREAMS = (
    "customers",
    "orders",
    "transactions",
    "pages",
    "products",
    "channels",
    "store",
    "order_products",
    "brands",
    "categories",
)
INCREMENTAL = ("customers", "orders", "transactions", "products", "channels", "order_products")


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
) -> Output:
    """Run the connector's ``read`` in this process (the sandbox serves from its own thread)."""
    out = io.BytesIO()
    writer = protocol.Writer(out)
    selection = catalog.parse_configured_catalog(configured_catalog(streams, mode))
    states = parse_state(state) if state is not None else {}
    code = asyncio.run(cli.read(parse_config(dict(config)), selection, states, writer))
    writer.flush()
    return Output([orjson.loads(line) for line in out.getvalue().splitlines()], code)


def run_cli(
    *args: str, input_bytes: bytes | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    """The installed console script in a child process, as a user or Airbyte runs it."""
    script = Path(sys.executable).with_name("source-bigcommerce")
    return subprocess.run(
        [str(script), *args],
        input=input_bytes,
        capture_output=True,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        check=False,
    )


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


def normalised(value: Any, empty_dates: frozenset[str] = frozenset(), key: str | None = None) -> Any:
    """The export's record as the connector must deliver it: every timestamp in RFC 3339 UTC, and an
    empty string in a date field (``empty_dates``) as null. Nothing else changes."""
    if isinstance(value, dict):
        return {k: normalised(v, empty_dates, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalised(v, empty_dates) for v in value]
    if isinstance(value, str):
        if value == "" and key in empty_dates:
            return None
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
