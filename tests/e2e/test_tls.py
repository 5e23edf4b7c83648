"""https: the client verifies with the trust store the environment names, and importing the connector loads
no CA certificates into aiohttp's unused default contexts (tls.py)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest

from bigcommerce_sandbox.app import RunningSandbox

from support import LOOPBACK_CERTIFICATE, child_env, run_cli, write_json


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@contextlib.contextmanager
def https_in_front_of(url: str) -> Iterator[str]:
    """An https address on loopback, serving :data:`LOOPBACK_CERTIFICATE`, that forwards every connection
    to ``url``."""
    target = urlsplit(url)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(LOOPBACK_CERTIFICATE)
    ready = threading.Event()
    running: dict[str, Any] = {}

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(target.hostname, target.port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            _pipe(reader, upstream_writer), _pipe(upstream_reader, writer), return_exceptions=True
        )

    async def serve() -> None:
        async with await asyncio.start_server(forward, "127.0.0.1", 0, ssl=context) as server:
            running.update(
                loop=asyncio.get_running_loop(), stop=asyncio.Event(), port=server.sockets[0].getsockname()[1]
            )
            ready.set()
            await running["stop"].wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(timeout=10), "the https forwarder did not start"
    try:
        yield f"https://127.0.0.1:{running['port']}"
    finally:
        running["loop"].call_soon_threadsafe(running["stop"].set)
        thread.join(timeout=10)


def check_status(config: Path, env: dict[str, str]) -> str:
    done = run_cli("check", "--config", str(config), env=env)
    assert done.returncode == 0, done.stderr
    [status] = [m for m in map(orjson.loads, done.stdout.splitlines()) if m["type"] == "CONNECTION_STATUS"]
    return f"{status['connectionStatus']['status']}: {status['connectionStatus'].get('message', '')}"


def test_https_verifies_against_the_trust_store_the_environment_names(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    with https_in_front_of(sandbox.url) as url:
        config = write_json(tmp_path / "config.json", {**sandbox.config, "api_url": url})
        trusted = check_status(config, {"SSL_CERT_FILE": str(LOOPBACK_CERTIFICATE)})
        assert trusted.startswith("SUCCEEDED"), trusted
        # The same server, with the trust store this machine has: the certificate is refused.
        refused = check_status(config, {})
        assert refused.startswith("FAILED"), refused
        assert "could not be verified" in refused, refused


IMPORTED = """
import os, sys, orjson
import {module}
from aiohttp import connector
print(orjson.dumps({{
    "ca": connector._SSL_CONTEXT_VERIFIED.cert_store_stats()["x509_ca"],
    "SSL_CERT_FILE": os.environ.get("SSL_CERT_FILE"),
}}).decode())
"""


def imported(module: str, cert_file: str | None) -> dict[str, Any]:
    """What aiohttp's default verifying context holds, and SSL_CERT_FILE, after a fresh process imports
    ``module``."""
    env = {key: value for key, value in child_env().items() if key != "SSL_CERT_FILE"}
    if cert_file is not None:
        env["SSL_CERT_FILE"] = cert_file
    code = IMPORTED.format(module=module)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True)
    result: dict[str, Any] = orjson.loads(done.stdout)
    return result


@pytest.mark.parametrize("cert_file", [str(LOOPBACK_CERTIFICATE), None], ids=["SSL_CERT_FILE set", "unset"])
def test_importing_the_connector_loads_no_certificates_and_leaves_ssl_cert_file_as_it_was(
    cert_file: str | None,
) -> None:
    if cert_file is None and imported("aiohttp", None)["ca"] == 0:
        pytest.skip("this machine's default trust store is empty, so there is nothing to not load")
    assert imported("aiohttp", cert_file)["ca"] >= 1, "plain aiohttp loads the trust store at import"
    assert imported("source_bigcommerce.cli", cert_file) == {"ca": 0, "SSL_CERT_FILE": cert_file}
