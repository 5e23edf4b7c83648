"""Lower bounds, targets and the Markdown report of one ``make bench`` run.

The bounds say what the server allows, whoever the client is:

* minimum requests = for each selected list stream, its pages (250 records each; at least one request,
  even when empty) + for each per-parent child (streams.Fetch) or stream read ``per`` record of another
  (price list records), one request per parent record read, or its pages if more (BigCommerce has no bulk
  transactions, shipments, coupons, taxes or price list records endpoint) + one request for a stream
  answered whole (``/v2/store``). Embedded children add nothing of their own: order products and shipping
  addresses come inside the orders pages (``include=consignments.line_items``), a product's images, custom
  fields, options and modifiers inside the products pages; but with options or modifiers BigCommerce serves
  the products 10 a page (:data:`INCLUDE_PAGES`), so the products are counted in pages of 10 then, the
  fewest requests that carry those children. Every rule is read from the stream's row,
  and the report lists the minimum stream by stream next to what a connector actually sent there, from the
  sandbox's own counters.
* an incremental read's minimum follows the same rows, given the store's record counts besides the records
  the read delivered: a stream read whole every sync (full refresh) costs its pages, an incremental one the
  pages of what changed; a per-parent child that follows its parent one request per changed parent, one
  that does not (channel listings, sites) or a stream read ``per`` record (price list records) one per
  record of the store; and a child that rides in its parent's pages but does not follow it (the product
  children) makes the parent's walk read every parent: the whole products walk, 10 a page with options or
  modifiers, however few products changed.
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
from source_bigcommerce.streams import BY_NAME, STREAMS, StreamSpec

INCLUDE_PAGES = {"options": 10, "modifiers": 10}
"""Includes with which BigCommerce serves a list in smaller pages: "When you specify options or modifiers,
results are limited to 10 per page" (catalog/products_catalog.v3.yml, products' include)."""
FULL_READ = "all streams"
"""The label of our read of every stream, in each read scenario."""
OTHER = "other routes"
"""Requests to a route no selected stream lists from (``/v2/orders/count``)."""
START = "<!-- bench:start -->"
END = "<!-- bench:end -->"


def minimum_by_stream(
    streams: Iterable[str], records: Mapping[str, int], store: Mapping[str, int] | None = None
) -> dict[str, int]:
    """The fewest requests each of ``streams`` needs to deliver ``records`` (see the module docstring), in the
    stream table's order; every rule comes from the stream's row, so a new row is counted without a change.

    ``store`` is the store's count of each stream's records, for an incremental read, whose ``records`` are
    only what it delivered: what a sync reads whole is counted from it. Without it the read is a full one,
    whose records are the store's."""
    selected = set(streams)
    for name in selected - BY_NAME.keys():
        raise ValueError(f"no stream is called {name}")
    whole = records if store is None else store
    page = page_sizes(selected)
    walked = {
        spec.parent
        for spec in STREAMS
        if spec.name in selected and spec.fetch == "embedded" and not spec.follows_parent
    }
    found: dict[str, int] = {}
    for spec in STREAMS:
        if spec.name not in selected:
            continue
        pages = math.ceil(records.get(spec.name, 0) / page[spec.name])
        if spec.fetch == "embedded":
            if spec.parent not in selected:
                raise ValueError(f"{spec.name} travel in the {spec.parent} pages: select {spec.parent} too")
            found[spec.name] = 0
        elif (owner := _owner(spec)) is not None:
            # One list per parent record read: the changed ones where the child follows its parent, else
            # every one (as for ``per``: price list records per price list).
            follows = spec.per is None and spec.follows_parent
            found[spec.name] = max((records if follows else whole).get(owner, 0), pages)
        elif spec.single:
            found[spec.name] = 1
        elif spec.name in walked:
            # A child that does not follow its parent is read for every parent: the walk reads them all.
            found[spec.name] = max(1, pages, math.ceil(whole.get(spec.name, 0) / page[spec.name]))
        else:
            found[spec.name] = max(1, pages)
    return found


def minimum_requests(
    streams: Iterable[str], records: Mapping[str, int], store: Mapping[str, int] | None = None
) -> int:
    """The fewest requests that can deliver ``records`` of ``streams``: the sum of :func:`minimum_by_stream`."""
    return sum(minimum_by_stream(streams, records, store).values())


def page_sizes(streams: Iterable[str]) -> dict[str, int]:
    """The records per page of each of ``streams`` when read together: the row's page size, or less where a
    selected child travels in an include that BigCommerce serves in smaller pages (:data:`INCLUDE_PAGES`)."""
    selected = set(streams)
    page = {name: BY_NAME[name].page_size for name in selected}
    for name in selected:
        spec = BY_NAME[name]
        if spec.embedded is not None and spec.parent in page:
            for include in spec.embedded.params.get("include", "").split(","):
                page[spec.parent] = min(page[spec.parent], INCLUDE_PAGES.get(include, page[spec.parent]))
    return page


def minimum_rule(name: str, streams: Iterable[str]) -> str:
    """How :func:`minimum_by_stream` counts one stream read with ``streams``, in words, for the per-stream
    table."""
    spec = BY_NAME[name]
    page = page_sizes([*streams, name])[name]
    if spec.fetch == "embedded":
        return f"none: inside the {spec.parent} pages"
    if (owner := _owner(spec)) is not None:
        if spec.single:
            return f"one per record of {owner}"
        return f"one per record of {owner}, or its pages of {page} if more"
    if spec.single:
        return "one: answered whole"
    return f"its pages of {page}, at least one"


def _owner(spec: StreamSpec) -> str | None:
    """The stream whose every record this one costs a request for, if any."""
    return spec.per or (spec.parent if spec.fetch == "per_parent" else None)


def route_of(name: str) -> str:
    """The stream's own route as the sandbox counts it (``/v3/channels/{id}/listings``)."""
    spec = BY_NAME[name]
    return f"/{spec.api}" + re.sub(r"\{[^}]*\}", "{id}", spec.path)


def requests_by_stream(streams: Iterable[str], by_route: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """The requests a read sent, attributed to the streams whose route they went to; an embedded stream is
    given its own route only where it is not its parent's (order products' per-order fallback), and routes
    of no stream (``/v2/orders/count``, which pins an orders read) are summed under :data:`OTHER`."""
    selected = [spec for spec in STREAMS if spec.name in set(streams)]
    owners: dict[str, str] = {}
    for spec in sorted(selected, key=lambda spec: spec.fetch == "embedded"):
        owners.setdefault(route_of(spec.name), spec.name)
    found = {spec.name: 0 for spec in selected}
    for route, counts in by_route.items():
        name = owners.get(route, OTHER)
        found[name] = found.get(name, 0) + int(counts["total"])
    return found


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


def markdown(result: Mapping[str, Any], *, per_stream: bool = False) -> str:
    """The results as Markdown: runs, the comparison with Airbyte, targets, and how they were measured; with
    ``per_stream`` (latest.md, too long for the README) the requests of each full read stream by stream."""
    lines = [
        f"Measured {result['finished_at']} by `{result['command']}`{_took(result)} on "
        f"{result['machine']['summary']}; "
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
    if per_stream:
        lines += per_stream_markdown(result["scenarios"])
    return "\n".join(lines) + "\n"


def full_reads(scenarios: Iterable[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    """Our read of every stream in each read scenario, by scenario key: what the minimum is judged on."""
    return [
        (scenario["key"], run)
        for scenario in scenarios
        if scenario["key"] not in sync.KEYS
        for run in scenario["runs"]
        if run["connector"] == "ours" and run["label"] == FULL_READ
    ]


def run_minimum(run: Mapping[str, Any]) -> dict[str, int]:
    """A run's minimum per stream: as it was recorded, or (a run from before it was) from its records now."""
    recorded: dict[str, int] | None = run.get("min_requests_by_stream")
    return recorded if recorded is not None else minimum_by_stream(run["streams"], run["records"])


def per_stream_markdown(scenarios: Iterable[Mapping[str, Any]]) -> list[str]:
    """Each full read's requests stream by stream, next to the minimum and how it is counted."""
    reads = full_reads(scenarios)
    if not reads:
        return []
    minimums = {key: run_minimum(run) for key, run in reads}
    sent = {key: requests_by_stream(run["streams"], run["requests_by_route"]) for key, run in reads}
    first_key, first = reads[0]
    lines = [
        "",
        "Requests of each full read of all streams, stream by stream, next to the fewest the API allows for "
        f"the records read (the records and minimum are {first_key})'s; a read whose minimum differs shows "
        "its own):",
        "",
        "| Stream | The minimum is | Records | Minimum | "
        + " | ".join(f"{key}) sent" for key, _ in reads)
        + " |",
        "|---|---|---:|---:|" + "---:|" * len(reads),
    ]
    names = [*minimums[first_key], *(name for key, _ in reads for name in sent[key] if name == OTHER)]
    for name in dict.fromkeys(names):
        cells = []
        for key, _ in reads:
            cell = _num(sent[key].get(name, 0), 0)
            if name != OTHER and minimums[key].get(name) != minimums[first_key].get(name):
                cell += f" (min {_num(minimums[key].get(name), 0)})"
            cells.append(cell)
        other = name == OTHER
        lines.append(
            f"| {name} | {'–' if other else minimum_rule(name, first['streams']) if name in BY_NAME else '?'} "
            f"| {'–' if other else _num(first['records'].get(name, 0), 0)} "
            f"| {'–' if other else _num(minimums[first_key][name], 0)} | " + " | ".join(cells) + " |"
        )
    totals = " | ".join(
        f"{_num(run['requests'], 0)} ({_ratio_3(run['requests'], minimums[key])})" for key, run in reads
    )
    lines.append(
        f"| **all** | | {_num(first['total_records'], 0)} | {_num(sum(minimums[first_key].values()), 0)} "
        f"| {totals} |"
    )
    return lines


def _ratio_3(requests: int, minimum: Mapping[str, int]) -> str:
    total = sum(minimum.values())
    return f"{requests / total:.3f}× the minimum" if total else "no minimum"


def _took(result: Mapping[str, Any]) -> str:
    """How long the whole run took, which tells whoever runs ``make bench`` next what to expect."""
    elapsed = result.get("elapsed_s")
    return "" if elapsed is None else f" in {elapsed / 60:.0f} min"


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
