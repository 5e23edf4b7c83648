"""What ``sync`` tells a person: live progress on stderr while it runs, a summary on stdout at the end.

On a terminal, progress is a live table redrawn a few times a second (one row per stream: records read,
rows committed to the destination, its state, and an ETA where BigCommerce told us the total), with the
request counters underneath. Anywhere else (a pipe, a CI log, cron) it is plain lines on stderr: one per
committed chunk, per finished stream, per wait for the quota and per warning, so a log reads as a history
rather than as redraws.

Waiting for the store's rate-limit window is said as such, with the seconds until it resets; the time spent
waiting is wall time (requests waiting side by side count once). An ETA is the slower of what the pace so far
and the store's quota allow: a first window spent in one second does not promise the rest at that speed.

The summary is the same facts either way: a table on stdout, or with ``--json`` one JSON object on one line,
so a script can read it without scraping. A run that stopped before reading anything (a rejected token, an
unreachable host) prints its one sentence and no table of streams that never started.
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
    """Times requests were held back for the store's rate-limit window to reset (or after a 429)."""
    wait_seconds: float = 0.0
    """Wall time during which requests were held back."""
    resets_in: float | None = None
    """While requests are held back: the seconds until they may go again."""
    quota: int | None = None
    """The store's requests per window, once BigCommerce said it."""
    window_s: float = 30.0

    @property
    def quota_rate(self) -> float | None:
        """Requests per second the quota allows, if there is one."""
        return self.quota / self.window_s if self.quota and self.window_s > 0 else None


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
    deleted: int = 0
    """Rows this sync found gone from the store (or archived) and marked or removed (``--deletes``)."""
    total: int | None = None
    """How many records BigCommerce said the stream would deliver, when it said so (for the ETA)."""
    requests_per_record: float = 0.0
    """Requests the stream makes per record it delivers (a page's share, and a transactions request per
    order when transactions are read): what is left of the stream in requests, for the quota's ETA."""


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
    def started(self) -> bool:
        """Whether any stream got going: if not, the run stopped before reading anything."""
        return self.chunks > 0 or any(result.status != "pending" for result in self.streams.values())

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
            **{key: value for key, value in asdict(self.requests).items() if key != "resets_in"},
            "failed": self.failed,
            "error": self.error,
            "streams": {
                name: {
                    "status": result.status,
                    "records": result.records,
                    "loaded": result.loaded,
                    "rows": result.rows,
                    "deleted": result.deleted,
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
        # Transient: the summary that follows says the same, and a run that stopped before reading leaves
        # no table of streams that never started.
        self._live = (
            Live(get_renderable=self._render, console=self._console, refresh_per_second=4, transient=True)
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

    def expect(self, stream: str, total: int, requests_per_record: float = 0.0) -> None:
        result = self.summary.streams[stream]
        result.total = total
        result.requests_per_record = requests_per_record

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
                f"({_count(stats.requests, 'request')} so far, {stats.rate_limited} rate limited)."
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
        stats = self._stats()
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
                _duration(_eta(result, elapsed, stats.quota_rate)),
            )
        lines = [
            f"{_count(stats.requests, 'request')} · {stats.rate_limited} rate limited (429) · "
            f"{_waits(stats)} · {_count(stats.retries, 'retry', 'retries')} · "
            f"{_count(self.summary.chunks, 'chunk')} committed · {elapsed:.0f} s"
        ]
        left = _left(self.summary, elapsed, stats.quota_rate)
        if left is not None:
            lines.append(f"about {_duration(left)} left{_quota(stats)}")
        footer = Text("\n".join(lines), style="dim")
        if stats.resets_in is not None:
            waiting = Text(
                f"Waiting for the store's quota: the window resets in {stats.resets_in:.0f} s.", style="bold"
            )
            return Group(table, waiting, footer)
        return Group(table, footer)


def _eta(result: StreamResult, elapsed: float, quota_rate: float | None) -> float | None:
    """Seconds until the stream is read: the slower of its pace so far and what the quota allows it."""
    if result.status != "running" or not result.total or result.records <= 0 or elapsed <= 0:
        return None
    left = max(result.total - result.records, 0)
    seconds = left / (result.records / elapsed)
    if quota_rate:
        seconds = max(seconds, left * result.requests_per_record / quota_rate)
    return seconds


def _left(summary: Summary, elapsed: float, quota_rate: float | None) -> float | None:
    """Seconds until every stream with a known total is read; with a quota, all of them share it."""
    etas = [_eta(result, elapsed, quota_rate) for result in summary.streams.values()]
    known = [eta for eta in etas if eta is not None]
    if not known:
        return None
    longest = max(known)
    if quota_rate:
        requests = sum(
            max(result.total - result.records, 0) * result.requests_per_record
            for result, eta in zip(summary.streams.values(), etas, strict=True)
            if eta is not None and result.total
        )
        longest = max(longest, requests / quota_rate)
    return longest


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _quota(stats: RequestStats) -> str:
    if not stats.quota:
        return ""
    return f" at the store's quota of {stats.quota} requests per {stats.window_s:g} s"


def _waits(stats: RequestStats) -> str:
    """The waits for the quota: how many, and the wall time they took."""
    return f"waited for the quota {_count(stats.waits, 'time')} ({stats.wait_seconds:.1f} s)"


def _count(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


class PipedConsole(Console):
    """rich's Console for stdout, except that a reader who closed it (``sync | head -1``) raises
    BrokenPipeError, which the CLI reports in a sentence: rich's own handling exits with status 1 and says
    nothing."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError("the reader of stdout closed it")


def print_summary(summary: Summary, *, as_json: bool, out: TextIO | None = None) -> None:
    """The summary on stdout: a table for a person, or one JSON object for a script. A run that stopped
    before any stream started gets no table: its error (on stderr, see :func:`conclude`) is all there is."""
    out = out or sys.stdout
    if as_json:
        out.write(orjson.dumps(summary.as_json()).decode() + "\n")
        out.flush()
        return
    if summary.error and not summary.started:
        return
    console = PipedConsole(file=out, highlight=False, soft_wrap=True)
    table = Table(
        title=f"{summary.destination} {summary.location} · dataset {summary.dataset}",
        title_justify="left",
    )
    table.add_column("table")
    table.add_column("status")
    table.add_column("read", justify="right")
    table.add_column("loaded", justify="right")
    table.add_column("rows", justify="right")
    table.add_column("deleted", justify="right")
    for result in summary.streams.values():
        table.add_row(
            result.name,
            result.status,
            f"{result.records:,}",
            f"{result.loaded:,}",
            "" if result.rows is None else f"{result.rows:,}",
            f"{result.deleted:,}" if result.deleted else "",
        )
    console.print(table)
    stats = summary.requests
    heavy = f"{_count(stats.heavy_pages, 'heavy page')} read in smaller pages, " if stats.heavy_pages else ""
    console.print(
        f"{_count(stats.requests, 'request')}, {stats.rate_limited} rate limited (429), "
        f"{_count(stats.retries, 'retry', 'retries')}, {heavy}{_waits(stats)}; "
        f"{_count(summary.chunks, 'chunk')} committed in {summary.duration_s:.1f} s."
    )
    for name in summary.failed:
        console.print(f"FAILED {name}: {summary.streams[name].error}")
    if summary.error:
        console.print(f"FAILED: {summary.error}")


def conclude(summary: Summary, *, as_json: bool) -> None:
    """The summary on stdout, and on stderr the one sentence that says why the run did not load everything."""
    print_summary(summary, as_json=as_json)
    if summary.error:
        print(summary.error, file=sys.stderr)
    elif summary.failed:
        print(f"These streams did not load completely: {', '.join(summary.failed)}.", file=sys.stderr)


def print_failure(message: str, *, as_json: bool) -> None:
    """A run that stopped before there was a summary (a bad config, a destination that refused): its
    sentence on stderr, and with ``--json`` one JSON object on stdout all the same."""
    if as_json:
        print(orjson.dumps({"ok": False, "error": message}).decode(), flush=True)
    print(message, file=sys.stderr)
