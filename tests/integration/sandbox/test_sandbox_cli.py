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
        (["--host", "127.attacker.example"], "--allow-remote"),
        (["--page-cap", "forty"], "--page-cap"),
        (["--page-cap", "widgets=3"], "--page-cap widgets"),
        (["--page-cap", "0"], "--page-cap"),
        (["--count-lag", "-1"], "--count-lag"),
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


def test_serve_help_shows_the_defaults() -> None:
    done = subprocess.run([*SERVE, "--help"], capture_output=True, timeout=30, check=False)
    assert done.returncode == 0
    text = " ".join(done.stdout.decode().split())
    for shown in (
        "(default: 127.0.0.1)",
        "(default: 0)",
        "(default: 1)",
        "(default: tiny)",
        "(default: unlimited)",
        "(default: sandbox)",
        "(default: sandbox-token)",
        "(default: 256)",
        "3 with --strict, else 0",
    ):
        assert shown in text, shown
    assert "(default: None)" not in text
    assert "(default: False)" not in text


def test_serve_strict_with_page_caps_serves_capped_pages() -> None:
    proc = subprocess.Popen(
        [*SERVE, "--strict", "--customers", "100", "--page-cap", "40", "--page-cap", "products=7"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        config = orjson.loads(proc.stdout.readline())
        base = f"{config['api_url']}/stores/{config['store_hash']}"
        token = config["access_token"]
        customers = get_url(f"{base}/v3/customers?limit=250", token=token).json()
        assert customers["meta"]["pagination"]["per_page"] == 40
        products = get_url(f"{base}/v3/catalog/products?limit=250", token=token).json()
        assert products["meta"]["pagination"]["per_page"] == 7
        refused = get_url(f"{base}/v3/content/pages?sort=name", token=token)
        assert refused.status == 400, "--strict turns on the other options too"
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
