"""``make bench``: our connector and airbyte-source-bigcommerce 0.2.22 against one sandbox store, measured.

Scenarios, each on a freshly started sandbox serving the same generated store (fixed seed and anchor):

* (a) a time-compressed Standard plan, 150 requests per 3,000 ms window, and 100 ms latency;
* (b) no quota (the sandbox's "unlimited" plan) and 100 ms latency;
* (c) no quota, no latency: only CPU limits either connector;
* (d) on (b)'s sandbox: 1% of customers, orders and products updated through the admin route, then an
  incremental read from the final state of (b)'s full read;
* (e) a large store (250,000 customers, 250,000 of the preset's 1,000,000 orders, 50,000 products) read for
  the CPU rate, and for memory unless (g) reads the same streams on the same store anyway;
* (f), (g), (h) ``sync`` into DuckDB and Postgres next to a read of the same streams, on (c)'s and (e)'s
  sandboxes, and under (a)'s quota, on the medium store with a tenth of its orders, for the gaps between
  commits (:mod:`bench.sync`).

(a) to (c) read every stream with our connector ("all streams"), then the streams both connectors can read
with both (:data:`COMPARED`), so the ratio compares like with like; (c) also reads customers, products and
orders alone, the basis of the records-per-CPU-second target. Medium sandboxes start with ``--warm`` so no
connector pays for the server's first, cold rendering of a record.

Every connector run is one process measured by :mod:`bench.measure` (wall time, its own CPU and peak RSS from
``os.wait4``); requests, 429s and peak concurrency are the sandbox's own counters, reset before each run. Each
scenario runs once per ``make bench``, except (c)'s reads of customers, products and orders and of the store
alone, whose CPU is the median of :data:`CPU_REPEATS` reads: the machine is shared, so the notes give the load
average seen before each run. A complete run writes ``bench/results/run-<time>.json``, ``latest.json``,
``latest.md`` and the README's table; a partial one (``--scenarios``, ``--skip-airbyte``, another size) writes
only its ``run-<time>.json``.

    python -m bench.run [--scenarios abcdefgh] [--skip-airbyte] [--size medium] [--large-size large]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from bench import airbyte, catalogs, measure, report
from bench import sync as sync_bench
from bench.sandbox import ANCHOR, Options, Sandbox
from source_bigcommerce.config import DEFAULT_MAX_CONCURRENT_REQUESTS
from source_bigcommerce.streams import STREAMS

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"

ALL_STREAMS = tuple(spec.name for spec in STREAMS)
COMPARED = ("customers", "orders", "products", "pages", "channels", "store", "brands", "categories")
"""Streams airbyte-source-bigcommerce 0.2.22 reads correctly and within the time budget (see NOT_COMPARED)."""
NOT_COMPARED = {
    "transactions": "0.2.22 asks GET /v2/orders/{id}/transactions, which BigCommerce does not have (only "
    "/v3/...): the sandbox answers 404 and the CDK fails the stream at its first order (verified in every "
    "run, see airbyte.transactions_check).",
    "order_products": "0.2.22 reads it correctly but with one sequential request per order (10,000 on the "
    "medium store, at least 1,000 s per scenario at 100 ms latency), which does not fit the time budget of "
    "`make bench`; leaving it out favours Airbyte, since we read them inside the orders pages.",
}
CPU_STREAMS = ("customers", "products", "orders")
FIXED_COST = "store alone (fixed cost)"
"""A read of the one-record store stream: interpreter start-up, imports, config and two requests, which
every read pays once whatever it reads."""
LARGE_STREAMS = ("customers", "products", "orders", "order_products")
"""The large store without transactions, whose one request per order only tests patience; order products
come inside the orders pages, the heaviest pages a read holds in memory."""
LARGE_ORDERS = 250_000
THROTTLED_ORDERS = 1_000
"""Scenario (h)'s orders, a tenth of the medium store's: under the quota each order costs four requests
(transactions, shipments, coupons, taxes), so all 10,000 would make (h) a second 14-minute scenario (a),
and ``make bench`` would not fit its budget. A thousand still keep the orders family throttled for over a
minute, more than ten chunk intervals (sync.THROTTLED_CHUNK_SECONDS), which is what (h) measures."""
CPU_REPEATS = 5
"""Scenario (c)'s reads of customers, products and orders, and of the store alone, each run this many times
and reported by the median CPU: one read of a second's CPU varies by a quarter on this shared machine."""
TARGET_BOUND = 1.10
"""Issue 15: scenario (a)'s read of all streams within this many times its quota bound."""
TARGET_REQUESTS = 1.05
"""Issue 15: a full read of all streams sends at most this many times the minimum requests."""
TARGET_INCREMENTAL = 1.05
"""An incremental read sends at most this many times its own minimum (:func:`report.minimum_by_stream` given
the store): the streams read whole every sync (the products walk with the product children, channel listings,
customer addresses, variants, inventory items) and four requests per changed order are work no client can
skip, so a share of the full read's requests would judge the stream table, not the read."""
INCREMENTAL_TEXT = (
    f"an incremental read of all streams sends ≤ {TARGET_INCREMENTAL}× its own minimum requests (the pages of "
    "what changed, one per changed order for each per-order child, and every stream read whole each sync, the "
    "products walk at 10 a page included)"
)
CHANGED_FRACTION = 0.01
TIMEOUT_S = 1800.0
CONCURRENCY = DEFAULT_MAX_CONCURRENT_REQUESTS
AIRBYTE = f"airbyte {airbyte.VERSION}"


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    options: Options


def _ours_command() -> list[str]:
    script = Path(sys.executable).with_name("source-bigcommerce")
    return [str(script)] if script.exists() else [sys.executable, "-m", "source_bigcommerce.cli"]


def _display(command: Sequence[str]) -> str:
    """A command line as a person would type it, with paths relative to the repository."""
    shown = []
    for part in command:
        path = Path(part)
        if path.is_absolute() and ROOT in path.parents:
            part = str(path.relative_to(ROOT))
        shown.append(part)
    if shown and shown[0].endswith("bin/source-bigcommerce"):
        shown[0] = "source-bigcommerce"
    return " ".join(shown)


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Bench:
    """One ``make bench``: runs connectors against sandboxes and collects every figure."""

    def __init__(self, *, with_airbyte: bool, stamp: str) -> None:
        self.with_airbyte = with_airbyte
        self.work = WORK / stamp
        self.ours = _ours_command()
        self._catalogs: dict[str, dict[str, Any]] = {}

    # -- one connector run ------------------------------------------------------------------------------

    def read(
        self,
        sb: Sandbox,
        scenario: Scenario,
        *,
        connector: str,
        label: str,
        streams: Sequence[str],
        state: list[dict[str, Any]] | None = None,
        keep_ids: Sequence[str] = (),
        store: Mapping[str, int] | None = None,
    ) -> tuple[dict[str, Any], measure.Measured]:
        """Read ``streams`` with one connector against ``sb``; returns the run's figures and raw result.
        ``store`` (the store's records by stream) makes the minimum an incremental read's
        (:func:`report.minimum_by_stream`)."""
        slug = f"{scenario.key}-{connector.split()[0]}-{label.replace(' ', '-').replace(',', '')}"
        folder = self.work / slug
        config = catalogs.write(folder / "config.json", sb.config)
        command_prefix = self.ours if connector == "ours" else airbyte.command()
        if connector not in self._catalogs:
            self._catalogs[connector] = catalogs.discover(command_prefix, config)
        catalog = catalogs.write(
            folder / "catalog.json", catalogs.configured(self._catalogs[connector], streams)
        )
        command = [*command_prefix, "read", "--config", str(config), "--catalog", str(catalog)]
        if state is not None:
            command += ["--state", str(catalogs.write(folder / "state.json", state))]
        options = scenario.options
        if options.quota:
            time.sleep((options.window_ms or 30_000) / 1000 + 0.2)  # start on a fresh quota window
        sb.reset_stats()
        load = os.getloadavg()[0]
        _log(f"{scenario.key}) {connector}, {label}: {_display(command)}")
        measured = measure.run(
            command, stderr_path=folder / "stderr.log", timeout_s=TIMEOUT_S, keep_ids=keep_ids
        )
        stats = sb.stats()
        figures = self._figures(connector, label, streams, measured, stats, options, load, store)
        _log(
            f"   {figures['wall_s']:.1f} s, {figures['total_records']:,} records, {figures['requests']:,} "
            f"requests (min {figures['min_requests']:,}), {figures['responses_429']} 429s, "
            f"{figures['cpu_s']:.1f} CPU-s, {figures['max_rss_mb']:.0f} MB, exit {measured.exit_code}"
        )
        return figures, measured

    def _figures(
        self,
        connector: str,
        label: str,
        streams: Sequence[str],
        measured: measure.Measured,
        stats: Mapping[str, Any],
        options: Options,
        load: float,
        store: Mapping[str, int] | None,
    ) -> dict[str, Any]:
        by_stream = report.minimum_by_stream(streams, measured.records, store)
        minimum = sum(by_stream.values())
        bound_s, bound_kind = report.bound(
            minimum,
            quota=options.quota,
            window_ms=options.window_ms,
            latency_ms=options.latency_ms,
            concurrency=CONCURRENCY,
        )
        records = measured.total_records
        return {
            "connector": connector,
            "label": label,
            "streams": list(streams),
            "command": _display(measured.command),
            "exit_code": measured.exit_code,
            "errors": measured.errors[:5],
            "wall_s": round(measured.wall_s, 2),
            "user_s": round(measured.user_s, 2),
            "system_s": round(measured.system_s, 2),
            "cpu_s": round(measured.cpu_s, 2),
            "max_rss_mb": round(measured.max_rss_mb, 1),
            "records": measured.records,
            "total_records": records,
            "requests": stats["total_requests"],
            "requests_by_route": {
                route.replace("/stores/{store_hash}", ""): counts
                for route, counts in sorted(stats["requests"].items())
            },
            "responses_429": stats["responses_429"],
            "peak_concurrency": stats["peak_concurrency"],
            "min_requests": minimum,
            "min_requests_by_stream": by_stream,
            "bound_s": None if bound_s is None else round(bound_s, 2),
            "bound_kind": bound_kind,
            "ratio_to_bound": None if bound_s is None else round(measured.wall_s / bound_s, 3),
            "records_per_s": round(records / measured.wall_s) if measured.wall_s else None,
            "records_per_cpu_s": round(records / measured.cpu_s) if measured.cpu_s else None,
            "loadavg_1m_before": round(load, 2),
        }

    # -- scenarios --------------------------------------------------------------------------------------

    def scenario(self, scenario: Scenario, *, incremental: bool = False) -> dict[str, Any]:
        """(a), (b) or (c): our full read, then the compared streams with both connectors."""
        runs: list[dict[str, Any]] = []
        extra: dict[str, Any] = {}
        with self._sandbox(scenario) as sb:
            full, full_measured = self.read(
                sb, scenario, connector="ours", label=report.FULL_READ, streams=ALL_STREAMS
            )
            runs.append(full)
            runs.append(
                self.read(sb, scenario, connector="ours", label="compared streams", streams=COMPARED)[0]
            )
            if scenario.key == "c":
                for label, streams in ((", ".join(CPU_STREAMS), CPU_STREAMS), (FIXED_COST, ("store",))):
                    runs.append(self.median_read(sb, scenario, label=label, streams=streams))
            if self.with_airbyte:
                runs.append(
                    self.read(sb, scenario, connector=AIRBYTE, label="compared streams", streams=COMPARED)[0]
                )
            if incremental:
                extra["incremental"] = self.incremental(sb, scenario, full, full_measured)
        return {
            "key": scenario.key,
            "title": scenario.title,
            "sandbox": scenario.options.command(),
            "sandbox_startup_s": round(sb.startup_s, 1),
            "runs": runs,
            **extra,
        }

    def median_read(
        self, sb: Sandbox, scenario: Scenario, *, label: str, streams: Sequence[str]
    ) -> dict[str, Any]:
        """The figures of the read with the median CPU among :data:`CPU_REPEATS` identical reads, with every
        read's CPU-s beside them (``cpu_s_runs``, ascending)."""
        runs = [
            self.read(sb, scenario, connector="ours", label=label, streams=streams)[0]
            for _ in range(CPU_REPEATS)
        ]
        runs.sort(key=lambda run: float(run["cpu_s"]))
        median = dict(runs[len(runs) // 2])
        median["cpu_s_runs"] = [run["cpu_s"] for run in runs]
        return median

    def incremental(
        self, sb: Sandbox, parent: Scenario, full: dict[str, Any], full_measured: measure.Measured
    ) -> dict[str, Any]:
        """(d): change 1% of customers, orders and products, then read on from the full read's state."""
        scenario = Scenario("d", "incremental, 1% changed", parent.options)
        changed: dict[str, list[int]] = {}
        for resource in ("customers", "orders", "products"):
            count = max(1, round(full_measured.records.get(resource, 0) * CHANGED_FRACTION))
            result = sb.mutate(resource, update=count)
            changed[resource] = list(result[resource]["updated"])
        run, measured = self.read(
            sb,
            scenario,
            connector="ours",
            label="all streams, from state",
            streams=ALL_STREAMS,
            state=full_measured.state_file(),
            keep_ids=("customers", "orders", "products"),
            # The full read's records are the store's: updates add none.
            store=full_measured.records,
        )
        missing = {
            resource: sorted(set(ids) - measured.ids.get(resource, set()))[:10]
            for resource, ids in changed.items()
        }
        return {
            "key": "d",
            "title": scenario.title,
            "sandbox": f"{parent.options.command()} (scenario {parent.key}'s, after its reads)",
            "changed": {resource: len(ids) for resource, ids in changed.items()},
            "changed_ids_missing_from_read": {k: v for k, v in missing.items() if v},
            "full_read_requests": full["requests"],
            "runs": [run],
        }

    def large(self, scenario: Scenario, *, memory_read: bool) -> dict[str, Any]:
        """(e): the large store, for the CPU rate once start-up is amortised, and for memory unless
        ``memory_read`` is False: (g) then reads the same streams on the same store before it syncs them, and
        a second, identical read would only cost ``make bench`` two minutes."""
        with self._sandbox(scenario) as sb:
            label = ", ".join(CPU_STREAMS)
            runs = [self.read(sb, scenario, connector="ours", label=label, streams=CPU_STREAMS)[0]]
            if memory_read:
                label = ", ".join(LARGE_STREAMS)
                runs.append(self.read(sb, scenario, connector="ours", label=label, streams=LARGE_STREAMS)[0])
        return {
            "key": scenario.key,
            "title": scenario.title,
            "sandbox": scenario.options.command(),
            "sandbox_startup_s": round(sb.startup_s, 1),
            "runs": runs,
        }

    def transactions_check(self) -> dict[str, Any]:
        """Airbyte's transactions stream on a tiny store: which path it asks and what BigCommerce says."""
        scenario = Scenario("check", "airbyte transactions", Options(size="tiny"))
        with self._sandbox(scenario) as sb:
            run, measured = self.read(
                sb, scenario, connector=AIRBYTE, label="transactions", streams=("transactions",)
            )
        return {
            "sandbox": scenario.options.command(),
            "exit_code": measured.exit_code,
            "records": measured.total_records,
            "requests_by_route": run["requests_by_route"],
            "error": measured.errors[0] if measured.errors else None,
        }

    def _sandbox(self, scenario: Scenario) -> Sandbox:
        _log(f"{scenario.key}) starting: {scenario.options.command()}")
        return Sandbox(scenario.options, self.work / f"sandbox-{scenario.key}.log")


def _size_options(size: str, large_size: str) -> dict[str, Options]:
    return {
        "a": Options(size=size, quota=150, window_ms=3000, latency_ms=100, warm=True),
        "b": Options(size=size, latency_ms=100, warm=True),
        "c": Options(size=size, warm=True),
        # A quarter of the preset's million orders: the sandbox renders orders with line items at about
        # 3,000 a second, so a million would take the whole time budget. Without a cache, because evicting
        # from a full one is the sandbox's own bottleneck; the connector's memory does not depend on it.
        "e": Options(size=large_size, orders=LARGE_ORDERS if large_size == "large" else None, cache_mb=0),
        "f": Options(size=size, warm=True),
        "g": Options(size=large_size, orders=LARGE_ORDERS if large_size == "large" else None, cache_mb=0),
        "h": Options(
            size=size,
            orders=THROTTLED_ORDERS if size == "medium" else None,
            quota=150,
            window_ms=3000,
            latency_ms=100,
            warm=True,
        ),
    }


TITLES = {
    "a": "Standard plan ×10 speed, 100 ms",
    "b": "unlimited, 100 ms",
    "c": "no quota, no latency",
    "e": "large store",
    "f": "sync, medium store, no quota",
    "g": "sync, large store",
    "h": "sync, Standard plan ×10 speed, 100 ms",
}


def _comparisons(scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for scenario in scenarios:
        runs = {(run["connector"], run["label"]): run for run in scenario["runs"]}
        ours, theirs = runs.get(("ours", "compared streams")), runs.get((AIRBYTE, "compared streams"))
        if ours is None or theirs is None:
            continue
        rows.append(
            {
                "scenario": f"{scenario['key']}) {scenario['title']}",
                "key": scenario["key"],
                "ours_wall_s": ours["wall_s"],
                "airbyte_wall_s": theirs["wall_s"],
                "wall_speedup": round(theirs["wall_s"] / ours["wall_s"], 2),
                "ours_records_per_s": ours["records_per_s"],
                "airbyte_records_per_s": theirs["records_per_s"],
                "records_per_s_ratio": round(ours["records_per_s"] / max(theirs["records_per_s"], 1), 2),
                "same_records": ours["records"] == theirs["records"],
                "ours_records": ours["records"],
                "airbyte_records": theirs["records"],
            }
        )
    return rows


def _run(scenarios: list[dict[str, Any]], key: str, label: str) -> dict[str, Any] | None:
    for scenario in scenarios:
        if scenario["key"] == key:
            for run in scenario["runs"]:
                if run["connector"] == "ours" and run["label"] == label:
                    return dict(run)
    return None


def _targets(scenarios: list[dict[str, Any]], comparisons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target of issue 4 with the figure it is judged on; ``passed`` None when it was not measured."""
    targets: list[dict[str, Any]] = []
    full_a = _run(scenarios, "a", report.FULL_READ)
    targets.append(
        {
            "key": "a",
            "text": f"wall time ≤ {TARGET_BOUND:.2f}× quota bound, zero 429s (all streams)",
            "measured": "not run"
            if full_a is None
            else f"{full_a['ratio_to_bound']:.3f}× bound ({full_a['wall_s']:,.1f} s for "
            f"{full_a['bound_s']:,.1f} s), {full_a['responses_429']} 429s" + _exit(full_a),
            "passed": None
            if full_a is None
            else full_a["ratio_to_bound"] <= TARGET_BOUND
            and full_a["responses_429"] == 0
            and full_a["exit_code"] == 0,
        }
    )
    full = [(key, run) for key, run in report.full_reads(scenarios) if key in "abc"]
    targets.append(
        {
            "key": "a–c",
            "text": f"a full read of all streams sends ≤ {TARGET_REQUESTS}× the minimum requests (every "
            "scenario's; the minimum stream by stream in latest.md)",
            "measured": "; ".join(
                f"{key}) {run['requests']:,} for {run['min_requests']:,} "
                f"({run['requests'] / run['min_requests']:.3f}×)" + _exit(run)
                for key, run in full
            )
            or "not run",
            "passed": all(
                run["requests"] <= TARGET_REQUESTS * run["min_requests"] and run["exit_code"] == 0
                for _, run in full
            )
            if full
            else None,
        }
    )
    by_key = {row["key"]: row for row in comparisons}
    row_b = by_key.get("b")
    targets.append(
        {
            "key": "b",
            "text": "≥ 10× faster than Airbyte on the same streams (scenario b)",
            "measured": "not run" if row_b is None else f"{row_b['wall_speedup']:,.1f}× faster",
            "passed": None if row_b is None else row_b["wall_speedup"] >= 10,
        }
    )
    cpu = _run(scenarios, "c", ", ".join(CPU_STREAMS))
    steady = _run(scenarios, "e", ", ".join(CPU_STREAMS))
    fixed = _run(scenarios, "c", FIXED_COST)
    measured = "not run" if cpu is None else f"{cpu['records_per_cpu_s']:,} records/CPU-s"
    if cpu is not None and cpu.get("cpu_s_runs"):
        spread = cpu["cpu_s_runs"]
        measured += (
            f" (median of {len(spread)} reads, which ranged from "
            f"{round(cpu['total_records'] / spread[-1]):,} to {round(cpu['total_records'] / spread[0]):,})"
        )
    if cpu is not None and fixed is not None and cpu["cpu_s"] > fixed["cpu_s"]:
        measured += (
            f"; {round(cpu['total_records'] / (cpu['cpu_s'] - fixed['cpu_s'])):,} without the "
            f"{fixed['cpu_s']:.2f} CPU-s every read pays to start"
        )
    if steady is not None:
        measured += f"; large store ({steady['total_records']:,} records): {steady['records_per_cpu_s']:,}"
    targets.append(
        {
            "key": "c",
            "text": "≥ 50,000 records per CPU-second (customers, products, orders; scenario c, whole "
            "process, start-up included)",
            "measured": measured,
            "passed": None if cpu is None else cpu["records_per_cpu_s"] >= 50_000,
        }
    )
    row_c = by_key.get("c")
    targets.append(
        {
            "key": "c",
            "text": "≥ 50× Airbyte's records/s (scenario c, same streams)",
            "measured": "not run" if row_c is None else f"{row_c['records_per_s_ratio']:,.1f}×",
            "passed": None if row_c is None else row_c["records_per_s_ratio"] >= 50,
        }
    )
    incremental = next((s["incremental"] for s in scenarios if "incremental" in s), None)
    if incremental is None:
        targets.append(
            {
                "key": "d",
                "text": INCREMENTAL_TEXT,
                "measured": "not run",
                "passed": None,
            }
        )
    else:
        run = incremental["runs"][0]
        requests, minimum = run["requests"], run["min_requests"]
        complete = not incremental["changed_ids_missing_from_read"]
        targets.append(
            {
                "key": "d",
                "text": INCREMENTAL_TEXT + ", every change read",
                "measured": f"{requests:,} for {minimum:,} ({requests / minimum:.3f}×; the full read sent "
                f"{incremental['full_read_requests']:,}); "
                + ("every changed record read" if complete else "CHANGED RECORDS MISSING")
                + _exit(run),
                "passed": requests <= TARGET_INCREMENTAL * minimum and complete and run["exit_code"] == 0,
            }
        )
    ours_runs = [
        run
        for scenario in scenarios
        for run in [*scenario["runs"], *scenario.get("incremental", {}).get("runs", [])]
        # The reads, those next to a sync included; sync has its own memory target.
        if run["connector"] == "ours" and (scenario["key"] not in sync_bench.KEYS or run["label"] == "read")
    ]
    large = _large_read(scenarios)
    peak = max((run["max_rss_mb"] for run in ours_runs), default=None)
    targets.append(
        {
            "key": "e",
            "text": "peak RSS ≤ 200 MB whatever the store size (every read of ours)",
            "measured": "not run"
            if peak is None
            else f"{peak:,.0f} MB peak"
            + (
                ""
                if large is None
                else f"; large store {large['max_rss_mb']:,.0f} MB, {large['total_records']:,} records"
            ),
            "passed": None if peak is None else peak <= 200,
        }
    )
    return targets


def _large_read(scenarios: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The read of :data:`LARGE_STREAMS` on the large store, for memory: (e)'s, or (g)'s when (g) ran."""
    return _run(scenarios, "e", ", ".join(LARGE_STREAMS)) or _run(scenarios, "g", "read")


def _exit(run: Mapping[str, Any]) -> str:
    """What a target's figure must say about a read that failed (and so read less than all)."""
    return "" if run["exit_code"] == 0 else f", EXITED {run['exit_code']}"


def _notes(result: Mapping[str, Any]) -> list[str]:
    notes = [
        "Minimum requests = for each stream, from its row in streams.py: its pages of 250 (at least one); "
        "for a stream read per record of another (transactions, shipments, coupons and taxes per order, "
        "channel listings and sites per channel, price list records per list), one request per such record "
        "or its pages if more; one for a stream answered whole (the store, order statuses); none for one "
        "inside its parent's pages (order products and shipping addresses in the orders pages). "
        "bench/results/latest.md lists it stream by stream next to what each full read sent. Quota bound = "
        "minimum requests / (quota / window); latency bound = minimum requests × latency / "
        f"max_concurrent_requests ({CONCURRENCY}, our default), shown for Airbyte's rows too although it "
        "makes one request at a time. Requests are the sandbox's counters, pin-start and count requests "
        "included (per route in latest.json).",
        "Records/CPU-s divides by the connector process's own user + system CPU (os.wait4 rusage), "
        "interpreter start-up and imports included (the store-alone read shows that fixed cost), with our "
        "modules byte-compiled beforehand as a pip install leaves them (`make bytecode`); peak RSS is its "
        "ru_maxrss.",
        f"Store: `--size {result['store']['size']} --seed 1 --anchor {ANCHOR}` "
        f"({_counts(result['store']['records'])}); medium sandboxes start with `--warm`.",
    ]
    if result["airbyte"]["compared_streams"]:
        notes.append(
            "Compared with Airbyte: "
            + ", ".join(result["airbyte"]["compared_streams"])
            + ". Not compared: "
            + " ".join(f"{name}: {why}" for name, why in NOT_COMPARED.items())
        )
        check = result["airbyte"].get("transactions_check")
        if check:
            routes = "; ".join(
                f"{route} {', '.join(f'{n}× {status}' for status, n in counts['by_status'].items())}"
                for route, counts in check["requests_by_route"].items()
            )
            notes.append(
                f"Airbyte's transactions stream on a tiny store: exit {check['exit_code']}, {check['records']} "
                f"records; requests: {routes} ('unmatched' is a path the sandbox, like BigCommerce, does "
                "not have)."
            )
        # The same difference in every scenario is said once.
        differences: dict[str, list[str]] = {}
        for row in result["comparisons"]:
            differ = {
                name: (count, row["airbyte_records"].get(name, 0))
                for name, count in row["ours_records"].items()
                if row["airbyte_records"].get(name, 0) != count
            }
            if differ:
                text = ", ".join(f"{name} {ours:,} vs {theirs:,}" for name, (ours, theirs) in differ.items())
                if set(differ) == {"products"}:
                    text += (
                        " (Airbyte sends a date-only date_modified:min, to which BigCommerce appends the "
                        "current time of day on products, so products last modified on the start date before "
                        "that time are missed)"
                    )
                differences.setdefault(text, []).append(row["key"])
        for text, keys in differences.items():
            notes.append(f"Records, ours vs Airbyte, in {', '.join(f'{key})' for key in keys)}: {text}.")
    for scenario in result["scenarios"]:
        for run in [*scenario["runs"], *scenario.get("incremental", {}).get("runs", [])]:
            if run["exit_code"] != 0 or run["errors"]:
                notes.append(
                    f"{scenario['key']}) {run['connector']} {run['label']} exited {run['exit_code']}: "
                    f"{'; '.join(run['errors'])[:300]}"
                )
    incremental = next((s for s in result["scenarios"] if s["key"] == "d"), None)
    if incremental:
        notes.append(
            "d) Updated through the admin route: "
            + ", ".join(f"{count:,} {name}" for name, count in incremental["changed"].items())
            + "; the read also delivers their orders' children and every stream read whole each sync, and "
            "every changed id was checked to be in it. Its minimum counts what the stream table forces on an "
            "incremental read: the pages of what changed; one request per changed order for each per-order "
            "child; every stream read whole each sync, counted from the store (the full read's records): the "
            "whole products walk when a product child rides in it, one request per channel for listings and "
            "sites, one per price list for its records."
        )
    ran = {scenario["key"] for scenario in result["scenarios"]}
    large = _large_read(result["scenarios"])
    if large and "e" in ran:
        where = (
            "then" if _run(result["scenarios"], "e", large["label"]) else "and g) reads, on the same store,"
        )
        notes.append(
            f"e) The large preset with {LARGE_ORDERS:,} of its 1,000,000 orders (the sandbox renders orders "
            "with line items at about 3,000 a second, and a million would take the whole budget) and no "
            "record cache (`--cache-mb 0`: evicting from a full cache is the sandbox's own bottleneck). It "
            f"reads {', '.join(CPU_STREAMS)} (the CPU rate with start-up amortised), {where} "
            f"{', '.join(LARGE_STREAMS)} for memory: no transactions, whose one request per order only tests "
            "patience; order products come inside the orders pages, the heaviest pages a read holds."
        )
    if "g" in ran:
        notes.append(
            f"g) e)'s store (the large preset with {LARGE_ORDERS:,} orders, no record cache) and streams "
            f"({', '.join(LARGE_STREAMS)}): a read, then sync of the same streams into DuckDB and Postgres."
        )
    throttled = next((s for s in result["scenarios"] if s["key"] == "h"), None)
    if throttled is not None and f"--orders {THROTTLED_ORDERS}" in throttled["sandbox"]:
        notes.append(
            f"h) All streams of the medium store with {THROTTLED_ORDERS:,} of its 10,000 orders, under (a)'s "
            "quota: each order costs four requests (transactions, shipments, coupons, taxes), so all of them "
            "would repeat (a)'s 14 minutes; a thousand keep the orders family throttled for over ten chunk "
            "intervals, which is what the longest gap between commits needs. The read before the sync, under "
            "the same quota, is what its sync / read compares with: the case of a real store, whose quota sets "
            "the pace."
        )
    loads = [
        run["loadavg_1m_before"]
        for scenario in result["scenarios"]
        for run in [*scenario["runs"], *scenario.get("incremental", {}).get("runs", [])]
    ]
    if loads:
        notes.append(
            f"Load average (1 min) before the runs: {min(loads):.2f} to {max(loads):.2f} on "
            f"{os.cpu_count()} CPUs; the sandbox, the connector and this harness share them."
        )
    return notes


def _counts(records: Mapping[str, int]) -> str:
    return ", ".join(f"{count:,} {name}" for name, count in records.items())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenarios", default="abcdefgh", help="which scenarios to run (default abcdefgh)")
    parser.add_argument("--skip-airbyte", action="store_true", help="do not install or run Airbyte")
    parser.add_argument("--size", default="medium", help="store of scenarios a-d (default medium)")
    parser.add_argument("--large-size", default="large", help="store of scenario e (default large)")
    parser.add_argument(
        "--render",
        action="store_true",
        help="run nothing: rewrite latest.md and the README's table from bench/results/latest.json",
    )
    args = parser.parse_args(argv)
    if args.render:
        return _render(RESULTS / "latest.json")
    wanted = set(args.scenarios)
    started = time.monotonic()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    # Configs, catalogs and logs of earlier runs; the Airbyte virtualenv is kept.
    for old in WORK.glob("20*T*Z"):
        shutil.rmtree(old, ignore_errors=True)
    bench = Bench(with_airbyte=not args.skip_airbyte, stamp=stamp)
    options = _size_options(args.size, args.large_size)
    result: dict[str, Any] = {
        "command": "make bench"
        if argv is None and len(sys.argv) == 1
        else "python -m bench.run " + " ".join(sys.argv[1:]),
        "started_at": stamp,
        "machine": {
            "summary": f"{platform.machine()} Linux, {os.cpu_count()} CPUs, CPython {platform.python_version()}",
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "store": {"size": args.size, "seed": 1, "anchor": ANCHOR, "records": {}},
        "airbyte": {"version": airbyte.VERSION, "compared_streams": [], "not_compared": NOT_COMPARED},
        "scenarios": [],
    }
    if bench.with_airbyte:
        _log(f"installing {airbyte.PACKAGE} into {airbyte.VENV} (reused when present)")
        try:
            result["airbyte"]["install"] = airbyte.ensure_installed()
        except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
            # Our scenarios still run; the run is then partial and publishes nothing.
            _log(f"Airbyte's connector could not be installed ({exc}); running ours alone")
            result["airbyte"]["error"] = str(exc)
            bench.with_airbyte = False
    if bench.with_airbyte:
        result["airbyte"]["compared_streams"] = list(COMPARED)
        result["airbyte"]["transactions_check"] = bench.transactions_check()
    for key in "abc":
        if key in wanted or (key == "b" and "d" in wanted):
            scenario = bench.scenario(
                Scenario(key, TITLES[key], options[key]), incremental=key == "b" and "d" in wanted
            )
            result["scenarios"].append(scenario)
            if not result["store"]["records"]:
                result["store"]["records"] = scenario["runs"][0]["records"]
    if "e" in wanted:
        large = Scenario("e", TITLES["e"], options["e"])
        result["scenarios"].append(bench.large(large, memory_read="g" not in wanted))
    if "f" in wanted:
        result["scenarios"].append(
            sync_bench.versus_read(bench, Scenario("f", TITLES["f"], options["f"]), ALL_STREAMS)
        )
    if "g" in wanted:
        result["scenarios"].append(
            sync_bench.versus_read(bench, Scenario("g", TITLES["g"], options["g"]), LARGE_STREAMS)
        )
    if "h" in wanted:
        result["scenarios"].append(
            sync_bench.throttled(bench, Scenario("h", TITLES["h"], options["h"]), ALL_STREAMS)
        )
    # The incremental read is reported as a scenario of its own, after the one it continues.
    flat: list[dict[str, Any]] = []
    for scenario in result["scenarios"]:
        flat.append({k: v for k, v in scenario.items() if k != "incremental"})
        if "incremental" in scenario:
            flat.append(scenario["incremental"])
    result["comparisons"] = _comparisons(flat)
    result["targets"] = [*_targets(result["scenarios"], result["comparisons"]), *sync_bench.targets(flat)]
    result["scenarios"] = flat
    result["finished_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    result["notes"] = _notes(result)
    table = report.markdown(result, per_stream=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"run-{stamp}.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    complete = (
        wanted >= set("abcdefgh")
        and bench.with_airbyte
        and args.size == "medium"
        and args.large_size == "large"
    )
    if complete:
        _publish(result)
    print(table)
    _log(
        f"done in {result['elapsed_s'] / 60:.1f} min; results in {RESULTS.relative_to(ROOT)}/run-{stamp}.json"
    )
    return 0


def _publish(result: dict[str, Any]) -> str:
    """Write latest.json, latest.md and the README's table; returns the table."""
    table = report.markdown(result)
    (RESULTS / "latest.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    (RESULTS / "latest.md").write_text(report.markdown(result, per_stream=True))
    if report.write_readme(README, table):
        _log("README.md: results table written between the bench markers")
    else:
        _log(
            f"README.md has no {report.START} / {report.END} markers: the table is in bench/results/latest.md"
        )
    return table


def _render(path: Path) -> int:
    """Re-derive the notes and the table of a finished run (after a change to the report's wording)."""
    result: dict[str, Any] = orjson.loads(path.read_bytes())
    result["notes"] = _notes(result)
    print(_publish(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
