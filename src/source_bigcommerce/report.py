"""What ``sync`` tells a person: live progress on stderr while it runs, a summary on stdout at the end.

On a terminal, progress is a live table redrawn a few times a second (one row per stream: records read,
rows committed to the destination, its state, and an ETA where BigCommerce told us the total), with the
request counters underneath. Anywhere else (a pipe, a CI log, cron) it is plain lines on stderr: one per
committed chunk, per finished stream and per warning, so a log reads as a history rather than as redraws.

The summary is the same facts either way: a table on stdout, or with ``--json`` one JSON object on one line,
so a script can read it without scraping.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

import orjson
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from source_bigcommerce.protocol import LogLevel

Clock = Callable[[], float]


@dataclass(frozen=True)
class RequestStats:
    """The HTTP side of a sync so far: what BigCommerce was asked and how it answered."""

    requests: int = 0
    rate_limited: int = 0
    """Responses with status 429."""
    retries: int = 0
    heavy_pages: int = 0
    """List pages that answered 500 or timed out and were read again as smaller pages."""
    waits: int = 0
    """Times every request was held back for the store's rate-limit window to reset."""
    wait_seconds: float = 0.0


@dataclass
class StreamResult:
    """One stream's outcome, as the summary shows it."""

    name: str
    status: str = "pending"
    """``pending``, ``running``, ``complete`` or ``failed``."""
    records: int = 0
    """Records read from BigCommerce in this sync."""
    loaded: int = 0
    """Rows written to the destination in this sync (after de-duplication within a chunk)."""
    rows: int | None = None
    """Rows in the destination table after the sync, when the destination can be queried."""
    error: str | None = None
    total: int | None = None
    """How many records BigCommerce said the stream would deliver, when it said so (for the ETA)."""


@dataclass
class Summary:
    destination: str
    location: str
    dataset: str
    streams: dict[str, StreamResult]
    requests: RequestStats = field(default_factory=RequestStats)
    chunks: int = 0
    duration_s: float = 0.0
    error: str | None = None
    """A run-level failure (the destination refused, the token was rejected); streams then stop."""

    @property
    def failed(self) -> list[str]:
        return [name for name, result in self.streams.items() if result.status == "failed"]

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "destination": self.destination,
            "location": self.location,
            "dataset": self.dataset,
            "duration_s": round(self.duration_s, 3),
            "chunks": self.chunks,
            **asdict(self.requests),
            "failed": self.failed,
            "error": self.error,
            "streams": {
                name: {
                    "status": result.status,
                    "records": result.records,
                    "loaded": result.loaded,
                    "rows": result.rows,
                    "error": result.error,
                }
                for name, result in self.streams.items()
            },
        }


class Report:
    """Progress while the sync runs. Methods are called from the event loop; the live view redraws from
    rich's own thread and only reads."""

    def __init__(
        self,
        summary: Summary,
        clock: Clock,
        *,
        live: bool | None = None,
        debug: bool = False,
        err: TextIO | None = None,
    ) -> None:
        self.summary = summary
        self._clock = clock
        self._started = clock()
        self._debug = debug
        self._err = err or sys.stderr
        self._console = Console(file=self._err, highlight=False)
        self._stats: Callable[[], RequestStats] = RequestStats
        self._lock = threading.Lock()
        use_live = self._console.is_terminal if live is None else live
        self._live = (
            Live(get_renderable=self._render, console=self._console, refresh_per_second=4, transient=False)
            if use_live
            else None
        )

    # -- the sync's events --------------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        return self._live is not None

    def start(self) -> None:
        if self._live is not None:
            self._live.start()
        else:
            self._line(f"Syncing into {self.summary.destination} {self.summary.location}.")

    def attach(self, stats: Callable[[], RequestStats]) -> None:
        """Where the request counters come from, once the HTTP client exists."""
        self._stats = stats

    def read(self, stream: str, count: int) -> None:
        result = self.summary.streams[stream]
        result.records += count
        if result.status == "pending":
            result.status = "running"

    def expect(self, stream: str, total: int) -> None:
        self.summary.streams[stream].total = total

    def committed(self, loaded: Mapping[str, int]) -> None:
        with self._lock:
            self.summary.chunks += 1
            for stream, rows in loaded.items():
                self.summary.streams[stream].loaded += rows
        if self._live is None:
            parts = ", ".join(f"{name} +{rows:,}" for name, rows in loaded.items() if rows)
            stats = self._stats()
            self._line(
                f"Committed chunk {self.summary.chunks}: {parts or 'state only'} "
                f"({stats.requests:,} requests so far, {stats.rate_limited} rate limited)."
            )

    def complete(self, stream: str) -> None:
        result = self.summary.streams[stream]
        if result.status != "failed":
            result.status = "complete"
            if self._live is None:
                self._line(f"{stream}: complete, {_count(result.records, 'record')} read.")

    def failed(self, stream: str, message: str) -> None:
        result = self.summary.streams[stream]
        result.status = "failed"
        result.error = message
        self.log("ERROR", message)

    def log(self, level: LogLevel, message: str) -> None:
        if level in ("DEBUG", "TRACE") and not self._debug:
            return
        if level == "INFO" and not self._debug and self._live is not None:
            return  # the live view shows waits and retries as counters
        prefix = "" if level == "INFO" else f"{level}: "
        if self._live is not None:
            self._live.console.print(Text(prefix + message))
        else:
            self._line(prefix + message)

    def stop(self) -> None:
        self.summary.requests = self._stats()
        self.summary.duration_s = self._clock() - self._started
        if self._live is not None:
            self._live.stop()

    def _line(self, message: str) -> None:
        print(message, file=self._err, flush=True)

    # -- the live view ------------------------------------------------------------------------------------

    def _render(self) -> Group:
        elapsed = self._clock() - self._started
        table = Table(box=None, pad_edge=False, header_style="bold")
        for name, justify in (
            ("stream", "left"),
            ("status", "left"),
            ("read", "right"),
            ("committed", "right"),
            ("eta", "right"),
        ):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for result in self.summary.streams.values():
            table.add_row(
                result.name,
                result.status,
                f"{result.records:,}",
                f"{result.loaded:,}",
                _eta(result, elapsed),
            )
        stats = self._stats()
        footer = Text(
            f"{stats.requests:,} requests · {stats.rate_limited} rate limited (429) · "
            f"{stats.waits} waits for the quota ({stats.wait_seconds:.1f} s) · {stats.retries} retries · "
            f"{self.summary.chunks} chunks committed · {elapsed:.0f} s",
            style="dim",
        )
        return Group(table, footer)


def _eta(result: StreamResult, elapsed: float) -> str:
    if result.status != "running" or not result.total or result.records <= 0 or elapsed <= 0:
        return ""
    left = max(result.total - result.records, 0)
    seconds = left / (result.records / elapsed)
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def print_summary(summary: Summary, *, as_json: bool, out: TextIO | None = None) -> None:
    """The summary on stdout: a table for a person, or one JSON object for a script."""
    out = out or sys.stdout
    if as_json:
        out.write(orjson.dumps(summary.as_json()).decode() + "\n")
        out.flush()
        return
    console = Console(file=out, highlight=False, soft_wrap=True)
    table = Table(
        title=f"{summary.destination} {summary.location} · dataset {summary.dataset}",
        title_justify="left",
    )
    table.add_column("table")
    table.add_column("status")
    table.add_column("read", justify="right")
    table.add_column("loaded", justify="right")
    table.add_column("rows", justify="right")
    for result in summary.streams.values():
        table.add_row(
            result.name,
            result.status,
            f"{result.records:,}",
            f"{result.loaded:,}",
            "" if result.rows is None else f"{result.rows:,}",
        )
    console.print(table)
    stats = summary.requests
    heavy = f"{stats.heavy_pages} heavy pages read in smaller pages, " if stats.heavy_pages else ""
    console.print(
        f"{stats.requests:,} requests, {stats.rate_limited} rate limited (429), {stats.retries} retries, {heavy}"
        f"{stats.waits} waits for the quota ({stats.wait_seconds:.1f} s); {_count(summary.chunks, 'chunk')} committed "
        f"in {summary.duration_s:.1f} s."
    )
    for name in summary.failed:
        console.print(f"FAILED {name}: {summary.streams[name].error}")
    if summary.error:
        console.print(f"FAILED: {summary.error}")
