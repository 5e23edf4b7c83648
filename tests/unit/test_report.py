"""What sync shows a person: plain progress lines off a terminal, the live view, the summary, its JSON."""

from __future__ import annotations

import asyncio
import io

import orjson
from rich.console import Console

from source_bigcommerce.ratelimit import RESET_MARGIN_S, Governor
from source_bigcommerce.report import Report, RequestStats, StreamResult, Summary, print_summary

from support import SteppedClock


def summary() -> Summary:
    return Summary(
        destination="duckdb",
        location="/data/bigcommerce.duckdb",
        dataset="main",
        streams={name: StreamResult(name) for name in ("customers", "pages")},
    )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_off_a_terminal_progress_is_plain_lines_per_commit_and_stream() -> None:
    err = io.StringIO()
    clock = Clock()
    report = Report(summary(), clock, live=False, err=err)
    report.start()
    report.attach(lambda: RequestStats(requests=12, rate_limited=1))
    report.read("customers", 250)
    report.committed({"customers": 250})
    report.complete("customers")
    report.failed("pages", "Stream pages was skipped: grant store_v2_content_read_only.")
    report.log("DEBUG", "not shown without --debug")
    clock.now = 103.5
    report.stop()
    assert err.getvalue().splitlines() == [
        "Syncing into duckdb /data/bigcommerce.duckdb.",
        "Committed chunk 1: customers +250 (12 requests so far, 1 rate limited).",
        "customers: complete, 250 records read.",
        "ERROR: Stream pages was skipped: grant store_v2_content_read_only.",
    ]
    assert report.summary.duration_s == 3.5
    assert report.summary.requests.requests == 12


def test_the_live_view_shows_each_stream_and_an_eta_once_the_total_is_known() -> None:
    clock = Clock()
    report = Report(summary(), clock, live=False, err=io.StringIO())
    report.read("customers", 250)
    report.expect("customers", 1000)
    clock.now = 110.0  # 250 records in 10 s: 750 more take 30 s
    console = Console(file=io.StringIO(), width=120, record=True)
    console.print(report._render())
    text = console.export_text()
    assert "customers" in text
    assert "30 s" in text
    assert "requests" in text


def test_the_summary_is_a_table_with_rows_per_table_or_one_json_object() -> None:
    result = summary()
    result.streams["customers"].status = "complete"
    result.streams["customers"].records = 1500
    result.streams["customers"].rows = 1500
    result.streams["pages"].status = "failed"
    result.streams["pages"].error = "Stream pages was skipped."
    result.requests = RequestStats(requests=42, rate_limited=3)
    table = io.StringIO()
    print_summary(result, as_json=False, out=table)
    assert "1,500" in table.getvalue()
    assert "42 requests, 3 rate limited (429)" in table.getvalue()
    assert "FAILED pages: Stream pages was skipped." in table.getvalue()
    out = io.StringIO()
    print_summary(result, as_json=True, out=out)
    assert out.getvalue().count("\n") == 1
    parsed = orjson.loads(out.getvalue())
    assert parsed["ok"] is False
    assert parsed["failed"] == ["pages"]
    assert parsed["streams"]["customers"]["rows"] == 1500
    assert parsed["rate_limited"] == 3


def test_requests_waiting_side_by_side_for_the_quota_count_their_wall_time_once() -> None:
    async def main() -> None:
        clock = SteppedClock()
        governor = Governor(clock, clock.sleep)
        governor.observe(
            0.0,
            0.0,
            {
                "X-Rate-Limit-Requests-Left": "0",
                "X-Rate-Limit-Time-Reset-Ms": "5000",
                "X-Rate-Limit-Requests-Quota": "150",
                "X-Rate-Limit-Time-Window-Ms": "6000",
            },
        )
        waiting = [asyncio.ensure_future(governor.acquire()) for _ in range(3)]
        await asyncio.sleep(0)
        clock.advance(2.0)
        held, resets_in = governor.held()
        assert held == 2.0
        assert resets_in is not None
        assert abs(resets_in - (3.0 + RESET_MARGIN_S)) < 1e-9
        clock.advance(5.0 + RESET_MARGIN_S)
        await asyncio.gather(*waiting)
        held, resets_in = governor.held()
        assert resets_in is None
        assert held == 5.0 + RESET_MARGIN_S  # three requests waited 5 s side by side: 5 s, not 15
        assert governor.stats.holds == 1
        assert governor.stats.wait_seconds > 3 * 5.0  # the old sum, kept for what it is

    asyncio.run(main())


def rendered(report: Report) -> str:
    console = Console(file=io.StringIO(), width=140, record=True)
    console.print(report._render())
    return console.export_text()


def test_the_live_view_says_it_waits_for_the_quota_and_until_when() -> None:
    report = Report(summary(), Clock(), live=False, err=io.StringIO())
    report.attach(lambda: RequestStats(requests=150, waits=2, wait_seconds=41.5, resets_in=12.3, quota=150))
    text = rendered(report)
    assert "Waiting for the store's quota: the window resets in 12 s." in text
    assert "waited for the quota 2 times (41.5 s)" in text
    report.attach(lambda: RequestStats(requests=151, waits=2, wait_seconds=41.5, quota=150))
    assert "Waiting for the store's quota" not in rendered(report)


def test_the_eta_is_the_slower_of_the_pace_so_far_and_what_the_quota_allows() -> None:
    clock = Clock()
    report = Report(summary(), clock, live=False, err=io.StringIO())
    report.read("customers", 250)
    report.expect("customers", 10_000, requests_per_record=1 / 250)
    clock.now = 110.0  # 250 records in 10 s: 9,750 more would take 390 s at that pace
    report.attach(lambda: RequestStats(requests=150, quota=1500, window_s=30.0))  # 39 requests at 50/s: 1 s
    assert "390 s" not in rendered(report)  # 390 s is shown as 6 min
    assert "6 min" in rendered(report)
    # At 150 requests per 30 s, 39 requests take 8 s, still quicker than the pace; but each order's
    # transactions cost a request of their own: 9,750 orders need 9,789 requests, 33 minutes of quota.
    report.expect("customers", 10_000, requests_per_record=1 / 250 + 1)
    report.attach(lambda: RequestStats(requests=150, quota=150, window_s=30.0))
    text = rendered(report)
    assert "33 min" in text
    assert "at the store's quota of 150 requests per 30 s" in text


def test_the_json_summary_carries_the_waits_as_wall_time_and_the_quota() -> None:
    result = summary()
    result.requests = RequestStats(requests=10, waits=3, wait_seconds=61.2, quota=150, window_s=30.0)
    out = io.StringIO()
    print_summary(result, as_json=True, out=out)
    parsed = orjson.loads(out.getvalue())
    assert (parsed["waits"], parsed["wait_seconds"], parsed["quota"], parsed["window_s"]) == (
        3,
        61.2,
        150,
        30.0,
    )
    assert "resets_in" not in parsed


def test_one_of_anything_is_singular() -> None:
    result = summary()
    result.chunks = 1
    result.requests = RequestStats(requests=1, retries=1, waits=1)
    out = io.StringIO()
    print_summary(result, as_json=False, out=out)
    assert (
        "1 request, 0 rate limited (429), 1 retry, waited for the quota 1 time (0.0 s); 1 chunk committed"
        in (out.getvalue())
    )
