"""What sync shows a person: plain progress lines off a terminal, the live view, the summary, its JSON."""

from __future__ import annotations

import io

import orjson
from rich.console import Console

from source_bigcommerce.report import Report, RequestStats, StreamResult, Summary, print_summary


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
