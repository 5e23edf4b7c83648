"""Run one connector process and measure it: wall time, its own CPU and peak RSS, and what it emitted.

CPU and memory come from ``os.wait4``: the kernel's rusage of exactly that child (user + system seconds,
``ru_maxrss``), so neither the sandbox nor this harness is counted, and a short run cannot slip between two
samples. Wall time runs from just before the spawn to the reaping, so it includes interpreter start-up, as
a user's sync would.

Stdout is consumed as it comes (a reader thread), as an Airbyte platform would, and never stored: RECORD
lines are only counted per stream, recognised by a regular expression on their first bytes (both our
compact JSON and the Airbyte CDK's spaced JSON), so a run of millions of records costs the harness about a
microsecond a line. Every other message is parsed: the last STATE per stream (the next read's state) and
every TRACE error are kept. ``keep_ids`` also collects record ids of named streams (small reads only). A
``sync`` prints one JSON object instead, its summary, which is kept whole; and the arrival times of the stderr
lines that start with ``stamp`` (a sync's "Committed chunk" lines) are kept too.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

_RECORD = re.compile(
    rb'\{"type": ?"RECORD", ?"record": ?\{(?:"namespace": ?(?:null|"[^"]*"), ?)?"stream": ?"([^"]+)"'
)


@dataclass
class Measured:
    """One finished process: how long it took, what it cost, and what it said."""

    command: list[str]
    exit_code: int
    wall_s: float
    user_s: float
    system_s: float
    max_rss_mb: float
    records: dict[str, int]
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The last STATE message of each stream, whole (a state file is a list of them)."""
    errors: list[str] = field(default_factory=list)
    ids: dict[str, set[Any]] = field(default_factory=dict)
    summary: dict[str, Any] | None = None
    """A sync's JSON summary."""
    stamps: list[float] = field(default_factory=list)
    """Seconds from the start at which each stderr line starting with ``stamp`` arrived."""

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.system_s

    @property
    def total_records(self) -> int:
        return sum(self.records.values())

    def state_file(self) -> list[dict[str, Any]]:
        return list(self.states.values())


class _Reader(threading.Thread):
    def __init__(self, stream: IO[bytes], keep_ids: Iterable[str]) -> None:
        super().__init__(daemon=True)
        self._stream = stream
        self._keep = {name.encode() for name in keep_ids}
        self.counts: Counter[bytes] = Counter()
        self.states: dict[str, dict[str, Any]] = {}
        self.errors: list[str] = []
        self.ids: dict[str, set[Any]] = {}
        self.summary: dict[str, Any] | None = None

    def run(self) -> None:
        match = _RECORD.match
        counts = self.counts
        keep = self._keep
        for line in self._stream:
            found = match(line)
            if found is not None:
                name = found.group(1)
                counts[name] += 1
                if name in keep:
                    data = orjson.loads(line)["record"]["data"]
                    self.ids.setdefault(name.decode(), set()).add(data.get("id"))
                continue
            self._other(line)

    def _other(self, line: bytes) -> None:
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            return
        if not isinstance(message, dict):
            return
        if "ok" in message and "streams" in message:
            self.summary = message
            return
        kind = message.get("type")
        if kind == "STATE":
            stream = message.get("state", {}).get("stream") or {}
            name = (stream.get("stream_descriptor") or {}).get("name")
            if name:
                self.states[name] = message
        elif kind == "TRACE" and message.get("trace", {}).get("type") == "ERROR":
            error = message["trace"]["error"]
            self.errors.append(str(error.get("internal_message") or error.get("message")))


class _Stamper(threading.Thread):
    """Copies stderr to a file, noting when each line starting with ``prefix`` arrived."""

    def __init__(self, stream: IO[bytes], out: IO[bytes], prefix: bytes, started: float) -> None:
        super().__init__(daemon=True)
        self._stream, self._out, self._prefix, self._since = stream, out, prefix, started
        self.stamps: list[float] = []

    def run(self) -> None:
        for line in self._stream:
            if line.startswith(self._prefix):
                self.stamps.append(time.monotonic() - self._since)
            self._out.write(line)


def run(
    command: Sequence[str],
    *,
    stderr_path: Path,
    timeout_s: float,
    keep_ids: Iterable[str] = (),
    cwd: Path | None = None,
    stamp: str | None = None,
    env: dict[str, str] | None = None,
) -> Measured:
    """Run ``command`` to completion (killed after ``timeout_s``) and measure it."""
    stderr_path.parent.mkdir(parents=True, exist_ok=True)
    with stderr_path.open("wb") as stderr:
        started = time.monotonic()
        proc = subprocess.Popen(
            list(command),
            stdout=subprocess.PIPE,
            stderr=stderr if stamp is None else subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=env,
        )
        assert proc.stdout is not None
        reader = _Reader(proc.stdout, keep_ids)
        reader.start()
        stamper = None
        if stamp is not None:
            assert proc.stderr is not None
            stamper = _Stamper(proc.stderr, stderr, stamp.encode(), started)
            stamper.start()
        timer = threading.Timer(timeout_s, proc.kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        reader.join()
        proc.stdout.close()
        if stamper is not None and proc.stderr is not None:
            stamper.join()
            proc.stderr.close()
    return Measured(
        command=list(command),
        exit_code=proc.returncode,
        wall_s=wall,
        user_s=usage.ru_utime,
        system_s=usage.ru_stime,
        max_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
        records={name.decode(): count for name, count in sorted(reader.counts.items())},
        states=reader.states,
        errors=reader.errors,
        ids=reader.ids,
        summary=reader.summary,
        stamps=stamper.stamps if stamper is not None else [],
    )
