"""Helpers for ``sync`` tests: run a sync, read a destination's tables back, compare them with the export.

Values are compared after the documented normalisations (``support.expected_record``) and the documented
types: a decimal column holds ``Decimal(str(x))`` of the API's money, a timestamp column the RFC 3339 instant,
a JSON column the API's nested value as it was, a text column of a "string or number" field the JSON text.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from bench.sync import postgres_missing, postgres_schema

from source_bigcommerce.cli import CHUNK_ROWS, CHUNK_SECONDS, select_streams
from source_bigcommerce.columns import column_hints
from source_bigcommerce.config import parse_config
from source_bigcommerce.deletes import Policy
from source_bigcommerce.destination import Target
from source_bigcommerce.pipeline import HOLD_ENV
from source_bigcommerce.report import Summary
from source_bigcommerce.sink import Chunking
from source_bigcommerce.streams import BY_NAME, key_of
from source_bigcommerce.sync import DEFAULT_POLICY, sync
from source_bigcommerce.tables import Rows, Spool

from support import canonical_time, expected_record

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"

DUCKDB_TYPES = {
    "decimal": "DECIMAL(38,9)",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "bigint": "BIGINT",
    "bool": "BOOLEAN",
    "double": "DOUBLE",
    "text": "VARCHAR",
    "json": "JSON",
}
POSTGRES_TYPES = {
    "decimal": "numeric(38,9)",
    "timestamp": "timestamp with time zone",
    "bigint": "bigint",
    "bool": "boolean",
    "double": "double precision",
    "text": "character varying",
    "json": "jsonb",
}


def run_sync(
    config: Mapping[str, Any],
    target: Target,
    streams: str | None = None,
    *,
    live: bool = False,
    policy: Policy = DEFAULT_POLICY,
    **options: Any,
) -> Summary:
    """The sync in this process (the sandbox serves from its own thread), plain progress lines by default."""
    options = {"chunk_rows": CHUNK_ROWS, "chunk_seconds": CHUNK_SECONDS, **options}
    chunking = Chunking(streams=select_streams(streams), **options)
    return asyncio.run(sync(parse_config(dict(config)), target, chunking, live=live, policy=policy))


def spooled(*records: dict[str, Any], stream: str = "customers") -> Rows:
    """Records as the sink hands them to the loader (covered by a STATE), for driving the loader directly."""
    spool = Spool(Path(tempfile.mkdtemp(prefix="spool-")), stream, None)
    spool.add(list(records))
    spool.cover()
    return spool.take()


def duckdb_target(tmp_path: Path, dataset: str = "main") -> Target:
    return Target("duckdb", str(tmp_path / "store.duckdb"), dataset, str(tmp_path / "pipelines"))


# -- reading tables back ---------------------------------------------------------------------------------------


def duckdb_rows(target: Target, table: str) -> list[dict[str, Any]]:
    import duckdb

    with duckdb.connect(str(target.duckdb_path()), read_only=True) as connection:
        cursor = connection.execute(f'SELECT * FROM "{target.dataset}"."{table}"')
        names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def duckdb_types(target: Target, table: str) -> dict[str, str]:
    import duckdb

    with duckdb.connect(str(target.duckdb_path()), read_only=True) as connection:
        rows = connection.execute(f'DESCRIBE "{target.dataset}"."{table}"').fetchall()
        return {row[0]: row[1] for row in rows}


def postgres_rows(target: Target, table: str) -> list[dict[str, Any]]:
    import psycopg2

    with contextlib.closing(psycopg2.connect(POSTGRES_URL)) as connection, connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{target.dataset}"."{table}"')
        names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def postgres_types(target: Target, table: str) -> dict[str, str]:
    import psycopg2

    query = (
        "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s"
    )
    with contextlib.closing(psycopg2.connect(POSTGRES_URL)) as connection, connection.cursor() as cursor:
        cursor.execute(query, (target.dataset, table))
        found = {}
        for name, kind, precision, scale in cursor.fetchall():
            found[name] = f"numeric({precision},{scale})" if kind == "numeric" else kind
        return found


def postgres_available() -> str | None:
    """None when the test Postgres answers, else why not (for the skip reason)."""
    return postgres_missing(POSTGRES_URL)


def postgres_dataset() -> contextlib.AbstractContextManager[str]:
    """A unique schema name, dropped afterwards."""
    return postgres_schema(POSTGRES_URL, "bc_test")


# -- comparing ---------------------------------------------------------------------------------------------------


def _db_value(value: Any, kind: str | None) -> Any:
    """A value read from the destination, in the terms of the API's JSON."""
    if value is None:
        return None
    if kind == "timestamp" and isinstance(value, datetime):
        return canonical_time(value.isoformat())
    if kind == "json" and isinstance(value, str):
        return orjson.loads(value)
    if kind == "decimal":
        return Decimal(value)
    return value


def _api_value(value: Any, kind: str | None) -> Any:
    """An expected (normalised export) value, in the column's documented type."""
    if value is None:
        return None
    if kind == "decimal":
        return None if value == "" else Decimal(str(value))
    if kind == "text" and not isinstance(value, str):
        return orjson.dumps(value).decode()
    if kind == "double":
        return float(value)
    return value


def assert_table_equals_export(rows: list[dict[str, Any]], export: list[dict[str, Any]], stream: str) -> None:
    """Same primary keys, each once, and every field of every record equal after the normalisations.

    A key nested in an object (``identity.variant_id``) is read from that object's JSON column."""
    spec = BY_NAME[stream]
    key = key_of(spec)
    hints = column_hints(stream)
    objects = {path[0] for path in spec.key_paths if len(path) > 1}

    def row_key(row: Mapping[str, Any]) -> Any:
        return key({**row, **{name: _db_value(row[name], hints[name]["data_type"]) for name in objects}})

    ids = [row_key(row) for row in rows]
    assert len(ids) == len(set(ids)), f"{stream}: duplicate primary keys in the table"
    assert sorted(ids, key=str) == sorted((key(record) for record in export), key=str), stream
    by_key = dict(zip(ids, rows, strict=True))
    for record in export:
        expected = expected_record(stream, record)
        row = by_key[key(record)]
        for name, value in expected.items():
            kind = hints.get(name, {}).get("data_type")
            if name not in row:
                # A field the schema does not declare gets a column once it holds a value (dlt infers
                # types from values); until then it has none, and a null is all it could hold.
                assert name not in hints, f"{stream}: no column {name}"
                assert value is None, f"{stream}: no column {name} for {value!r}"
                continue
            got = _db_value(row[name], kind)
            want = _api_value(value, kind)
            assert got == want, f"{stream} {key(record)} {name}: {got!r} != {want!r}"


def assert_declared_types(found: Mapping[str, str], stream: str, types: Mapping[str, str]) -> None:
    for name, hint in column_hints(stream).items():
        assert found.get(name) == types[hint["data_type"]], f"{stream}.{name}: {found.get(name)}"


# -- the CLI in a child process, for kill -9 ---------------------------------------------------------------------


@dataclass
class Held:
    """A sync process stopped at its test hold point."""

    process: subprocess.Popen[bytes]
    line: str
    seen: list[str]
    """Every stderr line up to and including the hold."""


def cli_command(config_path: Path, target: Target, *extra: str) -> list[str]:
    script = Path(sys.executable).with_name("source-bigcommerce")
    return [
        str(script),
        "sync",
        "--config",
        str(config_path),
        "--destination",
        target.destination,
        "--credentials",
        str(target.credentials),
        "--dataset",
        target.dataset,
        "--pipelines-dir",
        str(target.pipelines_dir),
        *extra,
    ]


def run_until_hold(
    command: list[str], hold: str | None, timeout: float = 120, *, says: str = "test hold:"
) -> Held:
    """Start the sync with ``SOURCE_BIGCOMMERCE_TEST_HOLD=hold`` and return once it says it holds there.

    With ``hold=None`` the command holds by its own means (it prints ``test hold:`` all the same), or the test
    waits for a line of its own progress that starts with ``says`` (and the sync runs on meanwhile).
    """
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if hold is not None:
        env[HOLD_ENV] = hold
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert process.stderr is not None
    seen: list[str] = []
    with _deadline(process, timeout):
        for raw in process.stderr:
            line = raw.decode(errors="replace").strip()
            seen.append(line)
            if line.startswith(says):
                return Held(process, line, seen)
    process.wait()
    process.stderr.close()
    pytest.fail(f"the sync never reached {hold} (exit {process.returncode}): {seen[-5:]}")


def kill(held: Held) -> None:
    held.process.send_signal(signal.SIGKILL)
    held.process.wait(timeout=30)
    if held.process.stderr is not None:
        held.process.stderr.close()
    assert held.process.returncode == -signal.SIGKILL


@contextlib.contextmanager
def _deadline(process: subprocess.Popen[bytes], seconds: float) -> Iterator[None]:
    """Kill the child if it has not held by then, so a broken hook fails the test instead of hanging it."""
    import threading

    timer = threading.Timer(seconds, process.kill)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
