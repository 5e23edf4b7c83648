"""What a hostile server sends (tests/bad_inputs.py SERVED), through the real console script: each run ends
within the test's own time limit, within :data:`bad_inputs.MAX_RSS_MB` of memory, with its sentence and exit
status, valid JSON on every stdout line, and the access token nowhere.

The child's memory is measured as its ``ru_maxrss``, read by a small wrapper process that starts it and
reports ``RUSAGE_CHILDREN``: Linux counts into a child's high-water mark the memory of the process that
spawned it (until the exec), so a child of this test process, which holds the sandbox, DuckDB and the
replies, would measure that too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from airbyte_protocol.models import AirbyteMessage

from bad_inputs import MAX_RSS_MB, SECRET, SERVED, Served, matches
from hostile_http import always, hostile_server, v3_page
from source_bigcommerce.protocol import REDACTED

from support import assert_no_secret, child_env, configured_catalog, console_script, write_json

TIME_LIMIT_S = 60
"""Every case ends well within this, or the test fails; none takes more than a few seconds."""
ADDRESS_SPACE_LIMIT = 2 << 30
"""A hard limit on the child's address space, far above what a bounded run needs, so that a regression
fails here with a MemoryError instead of taking gigabytes from a machine other tests share."""
MEASURED = f"""
import resource, subprocess, sys
resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE_LIMIT}, {ADDRESS_SPACE_LIMIT}))
done = subprocess.run(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(done.returncode)
"""
"""Runs the command it is given and writes its ru_maxrss (KiB) to the file named first."""


@dataclass
class Run:
    exit: int
    stdout: bytes
    stderr: str
    max_rss_mb: float


def run_measured(args: list[str], rss_file: Path) -> Run:
    """The console script with ``args``, in a session of its own that is killed whole on the time limit."""
    command = [sys.executable, "-c", MEASURED, str(rss_file), str(console_script()), *args]
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


def command_line(case: Served, config: dict[str, Any], folder: Path) -> list[str]:
    args = [case.command, "--config", str(write_json(folder / "config.json", config))]
    if case.command == "read":
        args += ["--catalog", str(write_json(folder / "catalog.json", configured_catalog(case.catalog)))]
    return args


@pytest.mark.timeout(TIME_LIMIT_S + 30)
@pytest.mark.parametrize("case", SERVED, ids=[case.id for case in SERVED])
def test_whatever_the_server_sends_the_run_ends_bounded_with_one_sentence_and_no_token(
    case: Served, tmp_path: Path
) -> None:
    with hostile_server(SECRET, case.routes()) as server:
        run = run_measured(command_line(case, server.config(), tmp_path), tmp_path / "rss")
    assert_no_secret(SECRET, run.stdout, run.stderr, where="the output")
    assert run.exit == case.exit, run.stderr
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == len(case.says), lines
    for line, template in zip(lines, case.says, strict=True):
        assert matches(template, line), line
    assert run.max_rss_mb < MAX_RSS_MB, f"the read took {run.max_rss_mb:.0f} MB"

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
