"""Every bad input of tests/bad_inputs.py through the console script: its sentence, exit status, protocol
message, no traceback, and the access token nowhere (``run_cli`` searches all output for it)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
from airbyte_protocol.models import AirbyteMessage

import bad_inputs
from bad_inputs import CASES, MISSING_SCOPES, SECRET, Case, Env, matches
from bigcommerce_sandbox.app import Settings, running_sandbox
from source_bigcommerce.config import DEFAULT_API_URL
from source_bigcommerce.streams import STREAMS

from support import ALL_STREAMS, LOOPBACK_CERTIFICATE, configured_catalog, run_cli, write_json

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client refusing our certificate is the point


@contextlib.contextmanager
def untrusted_https() -> Iterator[str]:
    """An https server on loopback whose certificate no trust store holds."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(LOOPBACK_CERTIFICATE)
    server = _QuietServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def duckdb_held_open(path: Path) -> Iterator[str]:
    """A DuckDB file that another process holds open (DuckDB lets one process write a file at a time)."""
    holder = "import duckdb, sys; connection = duckdb.connect(sys.argv[1]); print('open', flush=True); sys.stdin.read()"
    with subprocess.Popen(
        [sys.executable, "-c", holder, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as child:
        assert child.stdout is not None
        assert child.stdin is not None
        assert child.stdout.readline() == b"open\n"
        try:
            yield str(path)
        finally:
            child.stdin.close()
            child.wait(30)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    scopes = tuple(scope for scope in ALL_SCOPES if scope not in MISSING_SCOPES)
    tmp = tmp_path_factory.mktemp("bad")
    with (
        running_sandbox(Settings(size="tiny", seed=2, token=SECRET)) as store,
        running_sandbox(Settings(size="tiny", seed=2, token=SECRET, scopes=scopes)) as scoped,
        untrusted_https() as tls_url,
        duckdb_held_open(tmp / "held.duckdb") as locked,
    ):
        yield Env(tmp, store, scoped, free_port(), tls_url, locked)


ALL_SCOPES = tuple(dict.fromkeys(spec.scope for spec in STREAMS))
"""The read-only scope of every stream of the table."""


def command_line(case: Case, env: Env, folder: Path) -> list[str]:
    config = case.config(env)
    path = folder / "config.json"
    if isinstance(config, bytes):
        path.write_bytes(config)
    elif config is not None:
        write_json(path, config)
    args = [case.command, "--config", str(path)]
    if case.command == "read":
        if set(case.catalog) <= set(ALL_STREAMS):
            catalog = configured_catalog(case.catalog)
        else:  # a stream discover does not know: the entry is written by hand
            entries = [{"stream": {"name": name}, "sync_mode": "full_refresh"} for name in case.catalog]
            catalog = {"streams": entries}
        args += ["--catalog", str(write_json(folder / "catalog.json", catalog))]
        if case.state is not None:
            state = folder / "state.json"
            state.write_bytes(case.state) if isinstance(case.state, bytes) else write_json(state, case.state)
            args += ["--state", str(state)]
    if case.command == "sync":
        args += ["--pipelines-dir", str(folder / "pipelines"), "--streams", ",".join(case.catalog)]
        extra = [part.format(port=env.closed_port, locked=env.locked_duckdb) for part in case.extra]
        args += extra if "--credentials" in extra else ["--credentials", str(folder / "store.duckdb"), *extra]
    return args


def protocol_messages(stdout: bytes) -> list[dict[str, Any]]:
    """stdout of a protocol command: nothing but Airbyte messages, one a line."""
    messages = [orjson.loads(line) for line in stdout.splitlines()]
    for message in messages:
        AirbyteMessage.model_validate(message)
    return messages


def assert_sentences(lines: list[str], templates: tuple[str, ...]) -> None:
    """Each line is one of the sentences, and each sentence is said once."""
    assert len(lines) == len(templates), lines
    unmatched = list(templates)
    for line in lines:
        found = [template for template in unmatched if matches(template, line)]
        assert found, f"unexpected on stderr: {line!r}"
        unmatched.remove(found[0])


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_bad_input_gets_its_sentence_exit_status_and_message_without_a_traceback(
    case: Case, env: Env, tmp_path: Path
) -> None:
    done = run_cli(*command_line(case, env, tmp_path))
    stderr = done.stderr.decode()
    assert done.returncode == case.exit, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    if case.command == "sync":
        lines = lines[-len(case.says) :]  # progress comes first
    assert_sentences(lines, case.says)
    if case.command == "sync":
        return
    messages = protocol_messages(done.stdout)
    kind, detail = case.reports.split()
    if kind == "TRACE":
        errors = [
            m["trace"]["error"] for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"
        ]
        assert any(error["failure_type"] == detail for error in errors)
        assert_sentences([error["message"] for error in errors], case.says)
        assert not any("stack_trace" in error for error in errors)
    else:
        [status] = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
        assert status["status"] == detail
        assert matches(case.says[0], status["message"])
    # Failing fast: a host that cannot be reached is not retried for minutes.
    assert len([m for m in messages if m["type"] == "LOG" and "; retry " in m["log"]["message"]]) <= 2


def test_a_read_missing_some_scopes_still_reads_every_other_stream(env: Env, tmp_path: Path) -> None:
    [case] = [case for case in CASES if case.command == "read" and "(403)" in case.problem]
    done = run_cli(*command_line(case, env, tmp_path))
    messages = protocol_messages(done.stdout)
    read_streams = {m["record"]["stream"] for m in messages if m["type"] == "RECORD"}
    assert read_streams == {"customers", "brands"}
    statuses = {
        m["trace"]["stream_status"]["stream_descriptor"]["name"]: m["trace"]["stream_status"]["status"]
        for m in messages
        if m["type"] == "TRACE" and m["trace"]["type"] == "STREAM_STATUS"
    }
    assert statuses == {
        "customers": "COMPLETE",
        "brands": "COMPLETE",
        "pages": "INCOMPLETE",
        "channels": "INCOMPLETE",
    }


def test_with_debug_the_traceback_is_shown_on_stderr_and_in_the_trace(env: Env, tmp_path: Path) -> None:
    [case] = [case for case in CASES if case.problem == "a required key is missing"]
    done = run_cli("--debug", *command_line(case, env, tmp_path))
    stderr = done.stderr.decode()
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in stderr
    assert stderr.splitlines()[-1] == case.says[0]
    [error] = [m["trace"]["error"] for m in protocol_messages(done.stdout) if m["type"] == "TRACE"]
    assert "Traceback (most recent call last)" in error["stack_trace"]


def test_the_docs_table_of_bad_inputs_is_the_one_these_tests_run() -> None:
    document = (ROOT / "docs" / "errors.md").read_text()
    assert bad_inputs.BEGIN in document
    assert bad_inputs.with_table(document) == document, "run: python tools/errors_table.py"


# -- TLS -----------------------------------------------------------------------------------------------------


def test_the_default_api_url_is_https() -> None:
    assert DEFAULT_API_URL.startswith("https://")


def test_nothing_in_the_connector_turns_certificate_verification_off() -> None:
    # The behavioural proof is the self-signed case above; this keeps every way of opting out out of the code.
    forbidden = ("ssl=False", "verify_ssl", "CERT_NONE", "check_hostname", "_create_unverified_context")
    for source in (ROOT / "src" / "source_bigcommerce").rglob("*.py"):
        text = source.read_text()
        for phrase in forbidden:
            assert phrase not in text, f"{source.name} mentions {phrase}"


def test_the_self_signed_server_is_refused_before_any_request_is_made(env: Env, tmp_path: Path) -> None:
    # The certificate is refused at the handshake: no HTTP request (and so no token) ever reaches the server.
    [case] = [case for case in CASES if case.command == "read" and "certificate" in case.problem]
    done = run_cli(*command_line(case, env, tmp_path))
    assert done.returncode == 1
    logs = [m["log"]["message"] for m in protocol_messages(done.stdout) if m["type"] == "LOG"]
    assert not [message for message in logs if "; retry " in message], "a certificate is not retried"
