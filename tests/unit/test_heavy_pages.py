"""Heavy pages: the smaller page sizes a failed page is split into, and the figure the sync summary shows."""

from __future__ import annotations

import io

import orjson
from hypothesis import given
from hypothesis import strategies as st

from source_bigcommerce.paging import MIN_LIMIT, smaller_limit
from source_bigcommerce.report import RequestStats, StreamResult, Summary, print_summary


def test_a_page_of_250_is_split_into_125_then_25_then_5_then_no_further() -> None:
    assert [smaller_limit(n) for n in (250, 125, 25, 5)] == [125, 25, 5, None]
    assert [smaller_limit(n) for n in (40, 20, 10)] == [20, 10, 5]


@given(st.integers(min_value=1, max_value=1000))
def test_a_smaller_page_divides_the_page_so_its_numbers_cover_exactly_the_same_records(limit: int) -> None:
    smaller = smaller_limit(limit)
    if smaller is None:
        assert not any(limit % d == 0 for d in range(MIN_LIMIT, limit // 2 + 1))
    else:
        assert limit % smaller == 0
        assert MIN_LIMIT <= smaller <= limit // 2


def test_the_sync_summary_counts_heavy_pages_when_there_were_any() -> None:
    summary = Summary(
        destination="duckdb", location="x.duckdb", dataset="main", streams={"orders": StreamResult("orders")}
    )
    summary.requests = RequestStats(requests=40, heavy_pages=3)
    table = io.StringIO()
    print_summary(summary, as_json=False, out=table)
    assert "3 heavy pages read in smaller pages" in table.getvalue()
    out = io.StringIO()
    print_summary(summary, as_json=True, out=out)
    assert orjson.loads(out.getvalue())["heavy_pages"] == 3
    summary.requests = RequestStats(requests=40)
    quiet = io.StringIO()
    print_summary(summary, as_json=False, out=quiet)
    assert "heavy" not in quiet.getvalue()
