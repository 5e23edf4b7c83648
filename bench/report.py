"""Lower bounds, targets and the Markdown report of one ``make bench`` run.

The bounds say what the server allows, whoever the client is:

* minimum requests = for each selected list stream, its pages of 250 (at least one request, even when
  empty) + for each per-parent child (streams.Fetch) or stream read ``per`` record of another (price list
  records), one request per parent record read, or its pages if more (BigCommerce has no bulk transactions,
  shipments, coupons, taxes or price list records endpoint) + one request for a stream answered whole
  (``/v2/store``). Embedded children add nothing of their own: order products and shipping addresses come
  inside the orders pages (``include=consignments.line_items``), a product's images, custom fields, options
  and modifiers inside the products pages; but with options or modifiers BigCommerce serves the products 10
  a page (:data:`INCLUDE_PAGES`), so the products are counted in pages of 10 then, the fewest requests that
  carry those children. What a connector actually sent, route by route, is reported next to it from the
  sandbox's own counters.
* quota bound = minimum requests / (quota / window): the store's steady request rate.
* latency bound = minimum requests x latency / max_concurrent_requests: every request waits the latency and
  at most ``max_concurrent_requests`` (our default, 16) are in flight. The same figure is shown for Airbyte's
  rows, which make one request at a time, so the bound is the workload's, not the client's.

Where both apply the larger one is the bound; with neither (no quota, no latency) there is none and the
CPU figures are the ones that matter.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bench import sync
from source_bigcommerce.streams import BY_NAME

PAGE = 250
INCLUDE_PAGES = {"options": 10, "modifiers": 10}
"""Includes with which BigCommerce serves a list in smaller pages: "When you specify options or modifiers,
results are limited to 10 per page" (catalog/products_catalog.v3.yml, products' include)."""
START = "<!-- bench:start -->"
END = "<!-- bench:end -->"


def minimum_requests(streams: Iterable[str], records: Mapping[str, int]) -> int:
    """The fewest requests that can deliver ``records`` of ``streams`` (see the module docstring)."""
    selected = set(streams)
    page = dict.fromkeys(selected, PAGE)
    for name in selected:
        spec = BY_NAME[name]
        if spec.embedded is not None and spec.parent in page:
            for include in spec.embedded.params.get("include", "").split(","):
                page[spec.parent] = min(page[spec.parent], INCLUDE_PAGES.get(include, PAGE))
    total = 0
    for name in selected:
        spec = BY_NAME[name]
        if spec.fetch == "embedded":
            if spec.parent not in selected:
                raise ValueError(f"{name} travel in the {spec.parent} pages: select {spec.parent} too")
        elif (owner := spec.per or (spec.parent if spec.fetch == "per_parent" else None)) is not None:
            # One list per parent record (or per record of ``per``: price list records per price list).
            total += max(records.get(owner, 0), math.ceil(records.get(name, 0) / PAGE))
        elif spec.single:
            total += 1
        else:
            total += max(1, math.ceil(records.get(name, 0) / page[name]))
    return total


def bound(
    min_requests: int, *, quota: int | None, window_ms: int | None, latency_ms: int, concurrency: int
) -> tuple[float | None, str]:
    """The lower bound on wall time (seconds) and which limit sets it; ``(None, "none")`` without limits."""
    candidates: list[tuple[float, str]] = []
    if quota:
        candidates.append((min_requests / (quota / ((window_ms or 30_000) / 1000)), "quota"))
    if latency_ms:
        candidates.append((min_requests * latency_ms / 1000 / concurrency, "latency"))
    if not candidates:
        return None, "none"
    return max(candidates)


def mark(passed: bool | None) -> str:
    return "n/a" if passed is None else ("✅ pass" if passed else "❌ miss")


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def markdown(result: Mapping[str, Any]) -> str:
    """The results as Markdown: runs, the comparison with Airbyte, targets, and how they were measured."""
    lines = [
        f"Measured {result['finished_at']} by `{result['command']}` on {result['machine']['summary']}; "
        "one run per scenario on a shared machine whose speed drifts from hour to hour, so absolute rates "
        "differ between runs by more than within one; ratios measured in the same run are steadier.",
        "",
        "| Scenario | Connector | Streams | Wall s | Requests (min) | 429s | Bound s | Wall / bound "
        "| Records | Records/s | Records/CPU-s | Peak RSS MB |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario in result["scenarios"]:
        if scenario["key"] in sync.KEYS:
            continue
        for run in scenario["runs"]:
            lines.append(
                f"| {scenario['key']}) {scenario['title']} | {run['connector']} | {run['label']} "
                f"| {_num(run['wall_s'])} | {_num(run['requests'], 0)} ({_num(run['min_requests'], 0)}) "
                f"| {run['responses_429']} | {_num(run['bound_s'])} | {_ratio(run['ratio_to_bound'])} "
                f"| {_num(run['total_records'], 0)} | {_num(run['records_per_s'], 0)} "
                f"| {_num(run['records_per_cpu_s'], 0)} | {_num(run['max_rss_mb'], 0)} |"
            )
    if result.get("comparisons"):
        lines += [
            "",
            f"Against airbyte-source-bigcommerce {result['airbyte']['version']} on the same streams "
            f"({', '.join(result['airbyte']['compared_streams'])}), same sandbox, same run:",
            "",
            "| Scenario | Ours wall s | Airbyte wall s | Faster by | Ours records/s | Airbyte records/s | Ratio |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for row in result["comparisons"]:
            lines.append(
                f"| {row['scenario']} | {_num(row['ours_wall_s'])} | {_num(row['airbyte_wall_s'])} "
                f"| {_ratio(row['wall_speedup'])} | {_num(row['ours_records_per_s'], 0)} "
                f"| {_num(row['airbyte_records_per_s'], 0)} | {_ratio(row['records_per_s_ratio'])} |"
            )
    lines += sync.markdown(result["scenarios"])
    lines += ["", "| Target | Measured | Result |", "|---|---|---|"]
    for target in result["targets"]:
        lines.append(
            f"| {target['key']}) {target['text']} | {target['measured']} | {mark(target['passed'])} |"
        )
    lines += ["", *(f"* {note}" for note in result["notes"])]
    return "\n".join(lines) + "\n"


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}×" if value < 10 else f"{value:,.0f}×"


def write_readme(readme: Path, table: str) -> bool:
    """Put ``table`` between the bench markers of the README; False when the markers are not there."""
    if not readme.exists():
        return False
    text = readme.read_text()
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        return False
    readme.write_text(pattern.sub(lambda _m: f"{START}\n{table}{END}", text, count=1))
    return True
