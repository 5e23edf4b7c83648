"""The benchmark's arithmetic and plumbing, which decide what its table claims (no timing is asserted)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from bench import measure, report
from bench import sync as sync_bench


def test_minimum_requests_counts_pages_transactions_and_the_store() -> None:
    records = {
        "customers": 20_000,
        "orders": 10_000,
        "products": 5_000,
        "pages": 50,
        "order_products": 26_496,
    }
    streams = ["customers", "orders", "products", "pages", "order_products", "transactions", "store"]
    # 80 + 40 + 20 pages, 1 page of pages, no request for order products, 10,000 transactions, the store.
    assert report.minimum_requests(streams, records) == 80 + 40 + 20 + 1 + 10_000 + 1


def test_price_list_records_cost_a_request_per_price_list_or_their_pages_if_more() -> None:
    # price_list_records is read per price list (StreamSpec.per): 8 lists of few records cost 8 requests.
    few = {"price_lists": 8, "price_list_records": 1_000}
    assert report.minimum_requests(["price_lists", "price_list_records"], few) == 1 + 8
    many = {"price_lists": 8, "price_list_records": 12_600}
    assert report.minimum_requests(["price_lists", "price_list_records"], many) == 1 + 51


def test_products_with_options_or_modifiers_cost_pages_of_ten_and_their_other_children_nothing() -> None:
    records = {"products": 5_000, "product_images": 8_443, "product_options": 2_005}
    # products_catalog.v3.yml: with options or modifiers "results are limited to 10 per page".
    assert report.minimum_requests(["products", "product_options"], records) == 500
    assert report.minimum_requests(["products", "product_images", "product_modifiers"], records) == 500
    assert report.minimum_requests(["products", "product_images", "product_custom_fields"], records) == 20
    assert report.minimum_requests(["products"], records) == 20
    with pytest.raises(ValueError, match="products"):
        report.minimum_requests(["product_options"], records)


def test_an_empty_stream_still_costs_one_request() -> None:
    assert report.minimum_requests(["channels", "brands"], {"channels": 0}) == 2


def test_order_products_without_orders_is_refused() -> None:
    with pytest.raises(ValueError, match="orders"):
        report.minimum_requests(["order_products"], {})


def test_quota_bound_is_requests_over_the_rate() -> None:
    seconds, kind = report.bound(10_146, quota=150, window_ms=3000, latency_ms=0, concurrency=16)
    assert kind == "quota"
    assert seconds == pytest.approx(202.92)


def test_latency_bound_divides_by_concurrency() -> None:
    seconds, kind = report.bound(160, quota=None, window_ms=None, latency_ms=100, concurrency=16)
    assert kind == "latency"
    assert seconds == pytest.approx(1.0)


def test_the_larger_bound_wins_and_no_limits_means_no_bound() -> None:
    assert report.bound(300, quota=150, window_ms=3000, latency_ms=100, concurrency=16)[1] == "quota"
    assert report.bound(300, quota=None, window_ms=None, latency_ms=0, concurrency=16) == (None, "none")


def test_readme_table_goes_between_the_markers_only(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{report.START}\nold table\n{report.END}\n\nAfter.\n")
    assert report.write_readme(readme, "| new |\n")
    assert readme.read_text() == f"# Title\n\n{report.START}\n| new |\n{report.END}\n\nAfter.\n"


def test_readme_without_markers_is_left_alone(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n")
    assert not report.write_readme(readme, "| new |\n")
    assert readme.read_text() == "# Title\n"


@pytest.mark.parametrize(
    "line",
    [
        b'{"type":"RECORD","record":{"stream":"orders","data":{"id":1},"emitted_at":1}}\n',
        b'{"type": "RECORD", "record": {"stream": "orders", "data": {"id": 1}, "emitted_at": 1.0}}\n',
        b'{"type": "RECORD", "record": {"namespace": null, "stream": "orders", "data": {}}}\n',
    ],
)
def test_record_lines_of_both_connectors_are_counted_by_stream(line: bytes) -> None:
    found = measure._RECORD.match(line)
    assert found is not None
    assert found.group(1) == b"orders"


def test_a_state_line_is_not_a_record() -> None:
    assert measure._RECORD.match(b'{"type":"STATE","state":{"type":"STREAM"}}\n') is None


def sync_run(
    label: str, wall: float, rss: float, *, ratio: float | None = None, **more: object
) -> dict[str, object]:
    return {"label": label, "wall_s": wall, "max_rss_mb": rss, "ratio_to_read": ratio, "ok": True, **more}


def test_sync_targets_judge_each_destinations_ratio_the_peak_rss_and_the_longest_gap() -> None:
    scenarios = [
        {
            "key": "f",
            "runs": [
                sync_run("read", 4.0, 130),
                sync_run("sync duckdb", 5.0, 240, ratio=1.25),
                sync_run("sync postgres", 9.0, 260, ratio=2.25),
            ],
        },
        {
            "key": "h",
            "runs": [
                sync_run(
                    "sync duckdb",
                    200.0,
                    200,
                    commit_times_s=[5.0, 11.0],
                    longest_commit_gap_s=6.0,
                    chunk_seconds=6.0,
                )
            ],
        },
    ]
    found = {target["text"].split(" ≤")[0]: target for target in sync_bench.targets(scenarios)}
    assert found["sync into duckdb"]["passed"] is True
    assert found["sync into postgres"]["passed"] is False
    assert found["sync's peak RSS"]["passed"] is False  # 260 MB, the Postgres run's
    assert (
        found["a throttled sync commits at least every interval once rows are covered (longest gap"]["passed"]
        is True
    )


def test_the_stderr_lines_a_sync_commits_with_are_timed_as_they_come(tmp_path: Path) -> None:
    script = "import sys, time\nfor n in range(3):\n    print(f'Committed chunk {n}', file=sys.stderr, flush=True)\n"
    measured = measure.run(
        [sys.executable, "-c", script],
        stderr_path=tmp_path / "err.log",
        timeout_s=60,
        stamp="Committed chunk ",
    )
    assert len(measured.stamps) == 3
    assert measured.stamps == sorted(measured.stamps)
    assert (tmp_path / "err.log").read_text().count("Committed chunk") == 3
