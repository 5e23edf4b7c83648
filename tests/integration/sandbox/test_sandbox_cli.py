"""``bigcommerce-sandbox serve`` as a user runs it: a subprocess, its first stdout line, its exit codes."""

from __future__ import annotations

import signal
import subprocess
import sys

import orjson
import pytest
from sandbox_http import get_url

SERVE = [sys.executable, "-m", "bigcommerce_sandbox.cli", "serve"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_a_ready_config_first_then_serves_until_signalled(sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [*SERVE, "--seed", "3", "--store-hash", "clistore", "--token", "t0k"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        config = orjson.loads(proc.stdout.readline())
        assert set(config) == {"api_url", "store_hash", "access_token", "start_date"}
        assert config["api_url"].startswith("http://127.0.0.1:")
        assert config["store_hash"] == "clistore"
        assert config["access_token"] == "t0k"
        reply = get_url(f"{config['api_url']}/stores/clistore/v2/store", token="t0k")
        assert reply.status == 200
        assert reply.json()["id"] == "clistore"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0
        assert out == b""
        assert b"Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--size", "huge"], "--size"),
        (["--quota", "0"], "--quota"),
        (["--faults", "503 sometimes"], "fault rule"),
        (["--host", "0.0.0.0"], "--allow-remote"),
        (["--anchor", "next tuesday"], "--anchor"),
        (["--port", "notaport"], "--port"),
        (["--scopes", ","], "--scopes"),
    ],
)
def test_bad_arguments_get_one_sentence_and_exit_2(args: list[str], fragment: str) -> None:
    done = subprocess.run([*SERVE, *args], capture_output=True, timeout=30, check=False)
    assert done.returncode == 2
    assert done.stdout == b""
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert fragment in lines[0]
    assert "Traceback" not in lines[0]
