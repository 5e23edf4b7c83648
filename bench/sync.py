"""The sync scenarios of ``make bench``: ``sync`` next to a ``read`` of the same streams, on the same sandbox.

* (f) the medium store, no quota, no latency: a read of all streams, then ``sync`` of them into DuckDB and into
  Postgres (a fresh file, a fresh schema); each reported as sync wall / read wall, with its peak RSS. A first,
  unmeasured read warms the sandbox up, so the measured read meets it as the syncs do.
* (g) the same on the large store (scenario e's sandbox and streams), for memory at scale.
* (h) a time-compressed Standard plan (150 requests per 3 s, scenario a's) synced into DuckDB with the commit
  interval compressed alike (``--chunk-seconds 6``, a minute at ten times the speed): the longest gap between
  the start and a commit, or two commits, against that interval; and sync wall / read wall under that quota.

Each sync runs as the console script, measured like every read (:mod:`bench.measure`): wall time, its own CPU
and peak RSS (``ru_maxrss``); its ``--json`` summary gives the records it read. Postgres is the one the tests
use (``BENCH_POSTGRES_URL``, default ``postgresql://postgres@127.0.0.1:5432/test``), in a schema of its own
dropped afterwards; without one, the Postgres runs are skipped and say why.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import measure

if TYPE_CHECKING:
    from bench.run import Bench, Scenario
    from bench.sandbox import Sandbox

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
COMMITTED = "Committed chunk "
THROTTLED_CHUNK_SECONDS = 6.0
"""The commit interval of scenario (h): a minute at the ten-fold speed of its time-compressed plan."""
KEYS = "fgh"
TARGET_DUCKDB = 1.3
TARGET_POSTGRES = 2.0
TARGET_RSS_MB = 250


def postgres_missing(url: str = POSTGRES_URL) -> str | None:
    """None when the Postgres at ``url`` answers, else why not (the bench's note, the tests' skip reason)."""
    try:
        import psycopg2

        with contextlib.closing(psycopg2.connect(url, connect_timeout=3)):
            return None
    except Exception as exc:
        return f"no PostgreSQL at {url}: {type(exc).__name__}: {str(exc).strip()[:120]}"


@contextlib.contextmanager
def postgres_schema(url: str = POSTGRES_URL, prefix: str = "bench") -> Iterator[str]:
    """A unique schema name, dropped afterwards with the staging schema dlt makes beside it."""
    import psycopg2

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        with contextlib.closing(psycopg2.connect(url)) as connection:
            connection.autocommit = True
            with connection.cursor() as cursor:
                for schema in (name, f"{name}_staging"):
                    cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def sync_run(
    bench: Bench,
    sb: Sandbox,
    scenario: Scenario,
    *,
    label: str,
    streams: Sequence[str],
    target: Sequence[str],
    extra: Sequence[str] = (),
) -> dict[str, Any]:
    """One ``sync`` of ``streams`` into ``target`` (its command-line options), measured."""
    from bench import catalogs
    from bench.run import _display, _log

    folder = bench.work / f"{scenario.key}-sync-{label.replace(' ', '-')}"
    config = catalogs.write(folder / "config.json", sb.config)
    command = [
        *bench.ours,
        "sync",
        "--config",
        str(config),
        "--pipelines-dir",
        str(folder / "pipelines"),
        "--streams",
        ",".join(streams),
        "--json",
        *target,
        *extra,
    ]
    if scenario.options.quota:
        time.sleep((scenario.options.window_ms or 30_000) / 1000 + 0.2)  # start on a fresh quota window
    sb.reset_stats()
    load = os.getloadavg()[0]
    _log(f"{scenario.key}) sync, {label}: {_display(command)}")
    measured = measure.run(command, stderr_path=folder / "stderr.log", timeout_s=3600, stamp=COMMITTED)
    summary = measured.summary or {}
    records = {name: result["records"] for name, result in summary.get("streams", {}).items()}
    gaps = [later - earlier for earlier, later in zip([0.0, *measured.stamps], measured.stamps, strict=False)]
    figures = {
        "connector": "ours",
        "label": label,
        "streams": list(streams),
        "command": _display(command),
        "exit_code": measured.exit_code,
        "ok": summary.get("ok"),
        "errors": [summary["error"]] if summary.get("error") else ([] if summary else ["no summary"]),
        "wall_s": round(measured.wall_s, 2),
        "cpu_s": round(measured.cpu_s, 2),
        "max_rss_mb": round(measured.max_rss_mb, 1),
        "records": records,
        "total_records": sum(records.values()),
        "chunks": summary.get("chunks"),
        "requests": sb.stats()["total_requests"],
        "commit_times_s": [round(stamp, 1) for stamp in measured.stamps],
        "longest_commit_gap_s": round(max(gaps), 1) if gaps else None,
        "loadavg_1m_before": round(load, 2),
    }
    _log(
        f"   {figures['wall_s']:.1f} s, {figures['total_records']:,} records, {figures['cpu_s']:.1f} CPU-s, "
        f"{figures['max_rss_mb']:.0f} MB, {len(measured.stamps)} commits, exit {measured.exit_code}"
    )
    return figures


def duckdb_target(bench: Bench, scenario: Scenario, label: str) -> list[str]:
    path = bench.work / f"{scenario.key}-{label.replace(' ', '-')}.duckdb"
    for leftover in (path, Path(f"{path}.wal")):
        leftover.unlink(missing_ok=True)
    return ["--credentials", str(path)]


def versus_read(bench: Bench, scenario: Scenario, streams: Sequence[str]) -> dict[str, Any]:
    """(f) or (g): a read, then sync into DuckDB and Postgres, of the same streams on one sandbox."""
    with bench._sandbox(scenario) as sb:
        # A freshly started sandbox answers its first read of a store more slowly (medium: 10.6 s, then 8.5 s
        # and 8.4 s): the syncs, which come after the read, would be compared with a slower read than the one
        # they met. The first read is therefore not measured.
        bench.read(sb, scenario, connector="ours", label="warm-up read", streams=streams)
        read, _ = bench.read(sb, scenario, connector="ours", label="read", streams=streams)
        runs = [
            read,
            sync_run(
                bench,
                sb,
                scenario,
                label="sync duckdb",
                streams=streams,
                target=duckdb_target(bench, scenario, "duckdb"),
            ),
        ]
        missing = postgres_missing()
        if missing is None:
            with postgres_schema() as schema:
                target = ["--destination", "postgres", "--credentials", POSTGRES_URL, "--dataset", schema]
                runs.append(
                    sync_run(bench, sb, scenario, label="sync postgres", streams=streams, target=target)
                )
    read["label"] = "read"
    for run in runs[1:]:
        run["ratio_to_read"] = round(run["wall_s"] / read["wall_s"], 2) if read["wall_s"] else None
    return {
        "key": scenario.key,
        "title": scenario.title,
        "sandbox": scenario.options.command(),
        "postgres": missing or POSTGRES_URL,
        "runs": runs,
    }


def throttled(bench: Bench, scenario: Scenario, streams: Sequence[str]) -> dict[str, Any]:
    """(h): a sync under a time-compressed quota, with the commit interval compressed alike, next to a read of
    the same streams under the same quota: the case of a real store, where the quota, not the CPU, sets the
    pace."""
    with bench._sandbox(scenario) as sb:
        read, _ = bench.read(sb, scenario, connector="ours", label="read", streams=streams)
        run = sync_run(
            bench,
            sb,
            scenario,
            label="sync duckdb",
            streams=streams,
            target=duckdb_target(bench, scenario, "duckdb"),
            extra=["--chunk-seconds", f"{THROTTLED_CHUNK_SECONDS:g}"],
        )
    run["chunk_seconds"] = THROTTLED_CHUNK_SECONDS
    run["window_s"] = (scenario.options.window_ms or 30_000) / 1000
    run["latency_s"] = scenario.options.latency_ms / 1000
    run["ratio_to_read"] = round(run["wall_s"] / read["wall_s"], 2) if read["wall_s"] else None
    read["label"] = "read"
    return {
        "key": scenario.key,
        "title": scenario.title,
        "sandbox": scenario.options.command(),
        "runs": [read, run],
    }


def targets(scenarios: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Issue 14's targets, each with the figure it is judged on; ``passed`` None when not measured."""
    syncs = {s["key"]: s for s in scenarios if s["key"] in KEYS}
    found: list[dict[str, Any]] = []
    for key, store in (("f", "medium"), ("g", "large")):
        for destination, limit in (("duckdb", TARGET_DUCKDB), ("postgres", TARGET_POSTGRES)):
            run = next(
                (r for r in syncs.get(key, {}).get("runs", []) if r["label"] == f"sync {destination}"), None
            )
            found.append(
                {
                    "key": key,
                    "text": f"sync into {destination} ≤ {limit}× the read of the same streams ({store} store)",
                    "measured": "not run"
                    if run is None
                    else f"{run['ratio_to_read']:.2f}× ({run['wall_s']:.1f} s)"
                    + ("" if run["ok"] else ", FAILED"),
                    "passed": None if run is None else run["ratio_to_read"] <= limit and bool(run["ok"]),
                }
            )
    sync_runs = [
        (key, run) for key in KEYS if key in syncs for run in syncs[key]["runs"] if run["label"] != "read"
    ]
    found.append(
        {
            "key": "f–h",
            "text": f"sync's peak RSS ≤ {TARGET_RSS_MB} MB at any store size (every sync run, large included)",
            "measured": "; ".join(
                f"{key}) {run['label'].split()[-1]} {run['max_rss_mb']:.0f} MB" for key, run in sync_runs
            )
            or "not run",
            "passed": all(run["max_rss_mb"] <= TARGET_RSS_MB for _, run in sync_runs) if sync_runs else None,
        }
    )
    throttled_run = next((r for r in syncs.get("h", {}).get("runs", []) if r["label"] != "read"), None)
    text = (
        "a throttled sync commits at least every chunk interval (60 s, compressed ×10 like the quota) plus "
        "one page, which waits at most one quota window and its latency: longest gap between commits, "
        "counted from the start, ≤ "
    )
    if throttled_run is None or throttled_run["longest_commit_gap_s"] is None:
        found.append(
            {
                "key": "h",
                "text": text + "interval + window + latency",
                "measured": "not run" if throttled_run is None else "no commit",
                "passed": None if throttled_run is None else False,
            }
        )
        return found
    limit = throttled_run["chunk_seconds"] + throttled_run["window_s"] + throttled_run["latency_s"]
    found.append(
        {
            "key": "h",
            "text": text + f"{throttled_run['chunk_seconds']:g} + {throttled_run['window_s']:g} + "
            f"{throttled_run['latency_s']:g} = {limit:g} s",
            "measured": f"longest gap {throttled_run['longest_commit_gap_s']} s; "
            f"{len(throttled_run['commit_times_s'])} commits in {throttled_run['wall_s']:.0f} s",
            "passed": throttled_run["longest_commit_gap_s"] <= limit and bool(throttled_run["ok"]),
        }
    )
    return found


def markdown(scenarios: Sequence[Mapping[str, Any]]) -> list[str]:
    """The sync runs as a table of their own."""
    rows = [s for s in scenarios if s["key"] in KEYS]
    if not rows:
        return []
    lines = [
        "",
        "Sync next to a read of the same streams, same sandbox, same run:",
        "",
        "| Scenario | Run | Wall s | Sync / read | Records | CPU s | Peak RSS MB | Commits | Longest gap s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario in rows:
        for run in scenario["runs"]:
            ratio = run.get("ratio_to_read")
            lines.append(
                f"| {scenario['key']}) {scenario['title']} | {run['label']} | {run['wall_s']:.1f} "
                f"| {'–' if ratio is None else f'{ratio:.2f}×'} | {run['total_records']:,} | {run['cpu_s']:.1f} "
                f"| {run['max_rss_mb']:.0f} | {len(run.get('commit_times_s', [])) or '–'} "
                f"| {run.get('longest_commit_gap_s') or '–'} |"
            )
    return lines
