"""The sandbox as a user runs it: ``bigcommerce-sandbox serve`` in a subprocess, and its admin routes.

The server runs in its own process so that it never shares an interpreter (or a GIL) with the connector
being measured, and so that its CPU is not counted as the connector's. Its stderr goes to a log file
under ``bench/.work/``; its first stdout line is the connector config. Admin routes are plain HTTP on
loopback (``urllib``), which the sandbox does not count as API requests.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

SERVE = [sys.executable, "-m", "bigcommerce_sandbox.cli", "serve"]
ANCHOR = "2025-06-01T00:00:00Z"
"""Fixed end of the generated history, so every scenario's sandbox serves byte-identical stores."""


@dataclass(frozen=True)
class Options:
    """How one sandbox is started: the store (size, seed, anchor) and the server's conditions."""

    size: str = "medium"
    orders: int | None = None
    """Overrides the preset's order count."""
    seed: int = 1
    quota: int | None = None
    window_ms: int | None = None
    latency_ms: int = 0
    warm: bool = False
    cache_mb: int | None = None
    include_caps: bool = True
    """Serve products 10 a page when asked for their options or modifiers, as BigCommerce does (the sandbox
    applies that documented cap whenever any page cap is on: a cap of 250 on products turns it on and cuts
    nothing else), so that a read of those streams costs what it costs against BigCommerce."""

    def argv(self) -> list[str]:
        """The ``serve`` arguments, in the order a person would type them."""
        args = ["--size", self.size]
        if self.orders is not None:
            args += ["--orders", str(self.orders)]
        args += ["--seed", str(self.seed), "--anchor", ANCHOR]
        if self.quota is not None:
            args += ["--quota", str(self.quota), "--window-ms", str(self.window_ms or 30_000)]
        if self.latency_ms:
            args += ["--latency-ms", str(self.latency_ms)]
        if self.cache_mb is not None:
            args += ["--cache-mb", str(self.cache_mb)]
        if self.include_caps:
            args += ["--page-cap", "products=250"]
        if self.warm:
            args.append("--warm")
        return args

    def command(self) -> str:
        return " ".join(["bigcommerce-sandbox", "serve", *self.argv()])


class Sandbox:
    """A running sandbox; use as a context manager so the server stops whatever happens."""

    def __init__(self, options: Options, log_path: Path) -> None:
        self.options = options
        self._log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self.config: dict[str, Any] = {}
        self.startup_s = 0.0

    def __enter__(self) -> Sandbox:
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with self._log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                [*SERVE, *self.options.argv()], stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL
            )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self._proc.wait()
            raise RuntimeError(
                f"the sandbox exited ({self._proc.returncode}) before serving; see {self._log_path}"
            )
        self.config = orjson.loads(line)
        self.startup_s = time.monotonic() - started
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc = self._proc
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    @property
    def url(self) -> str:
        return str(self.config["api_url"])

    def _call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else orjson.dumps(body)
        method = "GET" if body is None and not path.endswith("/reset") else "POST"
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=120) as response:
            raw = response.read()
        return orjson.loads(raw) if raw else None

    def stats(self) -> dict[str, Any]:
        """Requests per route and status, 429s and peak concurrency since the last reset."""
        stats: dict[str, Any] = self._call("/__sandbox/stats")
        return stats

    def reset_stats(self) -> None:
        self._call("/__sandbox/stats/reset")

    def mutate(self, resource: str, *, update: int = 0, create: int = 0, delete: int = 0) -> dict[str, Any]:
        """Change records through the admin route; returns the ids of what changed, per resource."""
        changed: dict[str, Any] = self._call(
            "/__sandbox/mutate", {"resource": resource, "update": update, "create": create, "delete": delete}
        )
        return changed
