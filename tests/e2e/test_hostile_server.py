"""What a hostile server sends (tests/bad_inputs.py SERVED), through the real console script: each run ends
within the test's own time limit, within :data:`bad_inputs.MAX_RSS_MB` of memory (``sync``:
:data:`bad_inputs.SYNC_MAX_RSS_MB`), with its sentence and exit status, valid JSON on every stdout line of the
protocol commands, and the access token nowhere: not in any output, nor, for ``sync``, in any table or file it
left. A sync is then run again against a server that behaves, and must load it: nothing the hostile one sent
blocks a later sync.

The child's memory is measured as its ``ru_maxrss``, read by a small wrapper process that starts it and
reports ``RUSAGE_CHILDREN``: Linux counts into a child's high-water mark the memory of the process that
spawned it (until the exec), so a child of this test process, which holds the sandbox, DuckDB and the
replies, would measure that too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from airbyte_protocol.models import AirbyteMessage

from bad_inputs import FIXED, MAX_RSS_MB, SECRET, SERVED, SYNC_MAX_RSS_MB, Served, matches
from hostile_http import always, hostile_server, v3_page
from source_bigcommerce.protocol import REDACTED
from sync_support import POSTGRES_URL, postgres_available, postgres_dataset

from support import assert_no_secret, child_env, configured_catalog, console_script, write_json

TIME_LIMIT_S = 60
"""Every case ends well within this, or the test fails; none takes more than a few seconds."""
ADDRESS_SPACE_LIMIT = {"sync": 6 << 30}
"""A hard limit on the child's address space, far above what a bounded run needs, so that a regression
fails here with a MemoryError instead of taking gigabytes from a machine other tests share: 2 GB, and for
``sync`` 6 GB (its thread stacks and the allocators of DuckDB and Arrow reserve 2.5 GB before they use any)."""
MEASURED = """
import resource, subprocess, sys
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
done = subprocess.run(sys.argv[3:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(done.returncode)
"""
"""Runs the command it is given under an address-space limit and writes its ru_maxrss (KiB) to the file named
first."""


@dataclass
class Run:
    exit: int
    stdout: bytes
    stderr: str
    max_rss_mb: float


def run_measured(args: list[str], rss_file: Path) -> Run:
    """The console script with ``args``, in a session of its own that is killed whole on the time limit."""
    limit = ADDRESS_SPACE_LIMIT.get(args[0], 2 << 30)
    command = [sys.executable, "-c", MEASURED, str(rss_file), str(limit), str(console_script()), *args]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        start_new_session=True,
    ) as child:
        try:
            stdout, stderr = child.communicate(timeout=TIME_LIMIT_S)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            pytest.fail(f"the run did not end within {TIME_LIMIT_S} s")
    return Run(child.returncode, stdout, stderr.decode(), int(rss_file.read_text()) / 1024)


def messages_of(stdout: bytes) -> list[dict[str, Any]]:
    """Every stdout line is a whole Airbyte message (a half-written line fails here)."""
    messages = [orjson.loads(line) for line in stdout.splitlines()]
    for message in messages:
        AirbyteMessage.model_validate(message)
    return messages


def command_line(case: Served, config: dict[str, Any], folder: Path, dataset: str | None = None) -> list[str]:
    args = [case.command, "--config", str(write_json(folder / "config.json", config))]
    if case.command == "read":
        args += ["--catalog", str(write_json(folder / "catalog.json", configured_catalog(case.catalog)))]
    if case.command == "sync":
        args += ["--streams", ",".join(case.catalog), "--pipelines-dir", str(folder / "pipelines")]
        if case.destination == "postgres":
            args += ["--destination", "postgres", "--credentials", POSTGRES_URL, "--dataset", str(dataset)]
        else:
            args += ["--credentials", str(folder / "store.duckdb")]
    return args


@contextlib.contextmanager
def destination_of(case: Served) -> Iterator[str | None]:
    """A fresh Postgres schema for a sync case that loads there (skipped where none answers), else None."""
    if case.destination != "postgres":
        yield None
        return
    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    with postgres_dataset() as dataset:
        yield dataset


def stored_text(case: Served, folder: Path, dataset: str | None) -> bytes:
    """Everything a sync stored: every value of every table, and every file in dlt's working directory."""
    texts: list[str] = []
    if case.destination == "postgres":
        import psycopg2

        with contextlib.closing(psycopg2.connect(POSTGRES_URL)) as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (dataset,)
            )
            for (table,) in cursor.fetchall():
                cursor.execute(f'SELECT * FROM "{dataset}"."{table}"')
                texts += [repr(row) for row in cursor.fetchall()]
    elif (folder / "store.duckdb").exists():
        import duckdb

        with duckdb.connect(str(folder / "store.duckdb"), read_only=True) as connection:
            for schema, table in connection.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
            ).fetchall():
                texts += [
                    repr(row) for row in connection.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
                ]
    files = [path.read_bytes() for path in (folder / "pipelines").rglob("*") if path.is_file()]
    return "\n".join(texts).encode() + b"".join(files)


@pytest.mark.timeout(2 * TIME_LIMIT_S + 30)
@pytest.mark.parametrize("case", SERVED, ids=[case.id for case in SERVED])
def test_whatever_the_server_sends_the_run_ends_bounded_with_one_sentence_and_no_token(
    case: Served, tmp_path: Path
) -> None:
    with destination_of(case) as dataset, hostile_server(SECRET, case.routes()) as server:
        args = command_line(case, server.config(), tmp_path, dataset)
        run = run_measured(args, tmp_path / "rss")
        if case.command == "sync":
            stored = stored_text(case, tmp_path, dataset)
            server.routes = {
                path: reply for stream in case.catalog for path, reply in FIXED[stream]().items()
            }
            again = run_measured(args, tmp_path / "rss")
            assert again.exit == 0, again.stderr
            assert_no_secret(SECRET, again.stdout, again.stderr, where="the output of the next sync")
    assert_no_secret(SECRET, run.stdout, run.stderr, where="the output")
    assert run.exit == case.exit, run.stderr
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    if case.command == "sync":
        assert_no_secret(SECRET, stored, where="the destination or dlt's files")
        # Its progress comes first; a stream's failure is said once, as it happens, and the last line sums up.
        assert [line for line in lines if line.endswith(case.says[0].split("…")[-1])] == [lines[-2]], lines
        lines = [lines[-2].removeprefix("ERROR: "), lines[-1]]
    assert len(lines) == len(case.says), lines
    for line, template in zip(lines, case.says, strict=True):
        assert matches(template, line), line
    ceiling = SYNC_MAX_RSS_MB if case.command == "sync" else MAX_RSS_MB
    assert run.max_rss_mb < ceiling, f"the run took {run.max_rss_mb:.0f} MB"
    if case.command == "sync":
        return

    messages = messages_of(run.stdout)
    if case.command == "check":
        [status] = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
        assert status["status"] == case.reports.split()[1]
        assert matches(case.says[0], status["message"])
        return
    errors = [m["trace"]["error"] for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
    assert [error["message"] for error in errors] == lines
    if case.exit:
        assert errors[0]["failure_type"] == case.reports.split()[1]
    logs = [m["log"]["message"] for m in messages if m["type"] == "LOG"]
    for expected in case.logs:
        assert [log for log in logs if matches(expected, log)], f"no LOG says {expected!r}: {logs}"
    statuses = {
        m["trace"]["stream_status"]["stream_descriptor"]["name"]: m["trace"]["stream_status"]["status"]
        for m in messages
        if m["type"] == "TRACE" and m["trace"]["type"] == "STREAM_STATUS"
    }
    delivered = {m["record"]["stream"] for m in messages if m["type"] == "RECORD"}
    for stream in case.catalog:
        complete = stream in case.completes
        assert statuses[stream] == ("COMPLETE" if complete else "INCOMPLETE"), statuses
        assert (stream in delivered) == complete


def test_a_token_quoted_in_a_record_value_is_blanked_out_of_the_sentence_on_stdout_and_stderr(
    tmp_path: Path,
) -> None:
    # A record's value can reach a sentence (an unreadable date quotes it), and the code that builds that
    # sentence has no token to redact: the writer's last line of defence blanks it on both outputs.
    record = {"id": 1, "date_modified": f"modified by {SECRET}"}
    case = Served("a date quotes the token", "read", dict, (), "-", catalog=("customers",))
    with hostile_server(SECRET, {"/v3/customers": always(v3_page([record]))}) as server:
        run = run_measured(command_line(case, server.config(), tmp_path), tmp_path / "rss")
    assert run.exit == 1
    assert SECRET.encode() not in run.stdout
    assert SECRET not in run.stderr
    [sentence, _] = run.stderr.splitlines()
    assert sentence.startswith(
        "customers record 1: field 'date_modified' holds a date that cannot be read ('modi"
    )
    assert REDACTED.decode() in sentence
    [error, _] = [
        m["trace"]["error"]
        for m in messages_of(run.stdout)
        if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"
    ]
    assert error["message"] == sentence


@pytest.mark.parametrize("command", ["read", "sync"])
@pytest.mark.parametrize("token", [SECRET, 'tok\\with"quote-Xr8Lw3Qz'])
def test_a_token_quoted_back_as_a_record_id_shows_in_no_form_on_either_output(
    tmp_path: Path, command: str, token: str
) -> None:
    # The sentence quotes the id with repr(), which doubles a backslash, and stdout's JSON escapes it again:
    # blanking the token as it is let both through, and sync's sentences were not blanked at all.
    case = Served("an id quotes the token", command, dict, (), "-", catalog=("brands",))
    with hostile_server(token, {"/v3/catalog/brands": always(v3_page([{"id": token}]))}) as server:
        run = run_measured(command_line(case, server.config(), tmp_path), tmp_path / "rss")
    assert run.exit == 1, run.stderr
    assert "a record has the id '**********', not an integer" in run.stderr
    shown = (token, repr(token)[1:-1], orjson.dumps(token).decode()[1:-1], orjson.dumps(repr(token)).decode())
    for form in shown:
        assert form not in run.stdout.decode(errors="replace"), form
        assert form not in run.stderr, form


def fragments(secret: str, text: str) -> list[str]:
    """The runs of :data:`source_bigcommerce.protocol.MIN_REDACTED` or more characters of ``secret`` in
    ``text``."""
    return sorted(
        {secret[start : start + 8] for start in range(len(secret) - 7) if secret[start : start + 8] in text}
    )


@pytest.mark.parametrize("command", ["read", "sync"])
def test_a_token_cut_short_in_a_quoted_value_shows_no_fragment_on_either_output(
    tmp_path: Path, command: str
) -> None:
    # A sentence quotes a value cut to 40 characters (repr(value)[:40]): a token after a prefix of 29 is cut
    # to its first 10 characters, which blanking the whole token let through.
    case = Served("an id quotes the token after a prefix", command, dict, (), "-", catalog=("brands",))
    value = f"prefix-0123456789-abcdefghij-{SECRET}"
    with hostile_server(SECRET, {"/v3/catalog/brands": always(v3_page([{"id": value}]))}) as server:
        run = run_measured(command_line(case, server.config(), tmp_path), tmp_path / "rss")
    assert run.exit == 1, run.stderr
    assert "a record has the id 'prefix-0123456789-abcdefghij-**********, not an integer" in run.stderr
    assert fragments(SECRET, run.stdout.decode()) == []
    assert fragments(SECRET, run.stderr) == []


def test_a_page_size_served_as_a_boolean_is_no_page_size_and_no_internal_error(tmp_path: Path) -> None:
    # isinstance(True, int) holds: per_page true was taken for a page of 1 and asked for as limit=True.
    page = {
        "data": [{"id": 1, "name": "Sagaform"}],
        "meta": {"pagination": {"total": 2, "count": 1, "per_page": True, "total_pages": 2}},
    }
    case = Served("per_page is true", "read", dict, (), "-", catalog=("brands",))
    with hostile_server(SECRET, {"/v3/catalog/brands": always(page)}) as server:
        run = run_measured(command_line(case, server.config(), tmp_path), tmp_path / "rss")
    assert run.exit == 1, run.stderr
    assert "Internal error" not in run.stderr
    assert run.stderr.splitlines() == [
        "brands: BigCommerce reports 2 records but served only 1 of them, also when read again; the stream stops "
        "there, and no saved cursor passes what is missing.",
        "These streams did not sync completely: brands.",
    ]


def test_a_server_whose_every_endpoint_fails_is_asked_the_time_on_two_of_them_only(tmp_path: Path) -> None:
    # The start is pinned to BigCommerce's clock by one request, tried endpoint after endpoint, each with its
    # retries, before any stream starts: a server that never answered kept every stream waiting an hour.
    paths = (
        "/v3/catalog/brands", "/v3/catalog/categories", "/v3/content/pages", "/v3/promotions",
        "/v3/inventory/locations", "/v3/inventory/items",
    )  # fmt: skip
    streams = ("brands", "categories", "pages", "promotions", "inventory_locations", "inventory_items")
    case = Served("every endpoint answers 503", "read", dict, (), "-", catalog=streams)
    with hostile_server(SECRET, dict.fromkeys(paths, always({}, 503))) as server:
        run = run_measured(command_line(case, server.config(max_retries=0), tmp_path), tmp_path / "rss")
        asked = list(server.requests)
    assert run.exit == 1, run.stderr
    # Two endpoints three times each (the pin's own retries), then every stream once (max_retries 0).
    assert len(asked) == 2 * 3 + len(streams), asked
