"""Paging plans, by property: every page exactly once, in order, with bounded look-ahead; and the Walker over
an in-memory v3 endpoint that changes between requests delivers every record that stayed put exactly once,
in cursor order, with every checkpoint covering what came before it."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from source_bigcommerce.dates import from_epoch
from source_bigcommerce.errors import ConnectorError
from source_bigcommerce.http import Client, Response
from source_bigcommerce.paging import Page, Walker, ordered
from source_bigcommerce.streams import BY_NAME

# -- ordered ---------------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    pages=st.integers(min_value=1, max_value=40),
    lookahead=st.integers(min_value=1, max_value=8),
    delays=st.lists(st.integers(min_value=0, max_value=4), min_size=40, max_size=40),
    stop_after=st.one_of(st.none(), st.integers(min_value=1, max_value=40)),
)
def test_ordered_yields_every_page_once_in_order_with_at_most_lookahead_in_flight(
    pages: int, lookahead: int, delays: list[int], stop_after: int | None
) -> None:
    fetched: list[int] = []
    running: set[int] = set()
    peak = 0

    async def fetch(number: int) -> Page:
        nonlocal peak
        fetched.append(number)
        running.add(number)
        peak = max(peak, len(running))
        try:
            for _ in range(delays[number - 1]):  # pages finish out of order
                await asyncio.sleep(0)
        finally:
            running.discard(number)
        return Page(records=[{"page": number}], limit=1)

    async def main() -> list[int]:
        seen: list[int] = []
        stream = ordered(fetch, Page(records=[{"page": 1}], limit=1), pages, lookahead)
        try:
            async for number, page in stream:
                assert page.records == [{"page": number}]
                seen.append(number)
                if stop_after is not None and len(seen) == stop_after:
                    break
        finally:
            await stream.aclose()
        assert not running, "stopping early must cancel the pages in flight"
        return seen

    seen = asyncio.run(main())
    expected = list(range(1, pages + 1))
    assert seen == (expected if stop_after is None else expected[:stop_after])
    assert len(fetched) == len(set(fetched)), "a page was fetched twice"
    assert set(fetched) <= set(range(2, pages + 1)), "page 1 comes with the call, never fetched again"
    assert peak <= lookahead


# -- the Walker against an endpoint that changes between requests ----------------------------------------

LATER = 10_000
"""Records modified during the walk move here: far after any start, as a modification moves them to now."""


def iso(second: int) -> str:
    return from_epoch(second)


def second_of(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp())


class ChangingProducts:
    """/v3/catalog/products in memory: the date_modified window, both sorts, id:greater, page/limit and
    meta.pagination.total, as bigcommerce-sandbox and BigCommerce answer them; after the Nth request, the
    changes planned for N are applied (a record modified moves to LATER, a deleted one goes)."""

    def __init__(self, records: dict[int, int], changes: dict[int, list[tuple[int, str]]]) -> None:
        self.records = dict(records)  # id -> date_modified second
        self.changes = changes
        self.requests = 0
        self.touched: set[int] = set()

    async def get(
        self, api: str, path: str, params: Mapping[str, str] | None = None, **options: Any
    ) -> Response:
        assert (api, path) == ("v3", "/catalog/products")
        query = dict(params or {})
        lo = second_of(query["date_modified:min"])
        hi = second_of(query["date_modified:max"])
        rows = [(second, rid) for rid, second in self.records.items() if lo <= second <= hi]
        if query.get("sort") == "id":
            rows.sort(key=lambda row: row[1])
        else:
            rows.sort()
        if "id:greater" in query:
            rows = [row for row in rows if row[1] > int(query["id:greater"])]
        limit = int(query["limit"])
        page = int(query.get("page", "1"))
        data = [
            {"id": rid, "date_modified": iso(second)}
            for second, rid in rows[(page - 1) * limit : page * limit]
        ]
        body = {"data": data, "meta": {"pagination": {"total": len(rows)}}}
        self.requests += 1
        for index, kind in self.changes.get(self.requests, []):
            ids = sorted(self.records)
            if ids:
                rid = ids[index % len(ids)]
                self.touched.add(rid)
                if kind == "modify":
                    self.records[rid] = LATER + self.requests
                else:
                    del self.records[rid]
        await asyncio.sleep(0)
        return Response(200, body, None)


@settings(max_examples=200, deadline=None)
@given(
    seconds=st.lists(st.integers(min_value=100, max_value=108), max_size=40),
    lo=st.integers(min_value=98, max_value=106),
    span=st.integers(min_value=0, max_value=12),
    page_size=st.integers(min_value=1, max_value=5),
    lookahead=st.integers(min_value=1, max_value=4),
    changes=st.dictionaries(
        st.integers(min_value=1, max_value=30),
        st.lists(
            st.tuples(st.integers(min_value=0, max_value=60), st.sampled_from(["modify", "delete"])),
            max_size=2,
        ),
        max_size=5,
    ),
)
def test_the_walker_delivers_every_record_that_stayed_put_once_in_order_and_checkpoints_only_behind_it(
    seconds: list[int],
    lo: int,
    span: int,
    page_size: int,
    lookahead: int,
    changes: dict[int, list[tuple[int, str]]],
) -> None:
    start = lo + span
    api = ChangingProducts({1000 + 7 * i: second for i, second in enumerate(seconds)}, changes)
    original = dict(api.records)
    spec = dataclasses.replace(BY_NAME["products"], page_size=page_size)
    walker = Walker(cast(Client, api), spec, normalize=lambda record: None, lookahead=lookahead)

    async def walk() -> list[tuple[list[dict[str, Any]], int | None]]:
        return [(batch.records, batch.resume) async for batch in walker.modified(lo, start)]

    batches = asyncio.run(walk())
    delivered: list[dict[str, Any]] = []
    stayed = {
        rid: second for rid, second in original.items() if rid not in api.touched and lo <= second <= start
    }
    last_resume = lo
    for records, resume in batches:
        delivered += records
        if resume is None:
            continue
        assert last_resume <= resume <= start, "a checkpoint moved backwards or past the start"
        last_resume = resume
        have = {record["id"] for record in delivered}
        behind = {rid for rid, second in stayed.items() if second < resume}
        assert behind <= have, (
            f"checkpoint {resume} passes records not yet delivered: {sorted(behind - have)}"
        )
    ids = [record["id"] for record in delivered]
    assert len(ids) == len(set(ids)), "a record was delivered twice"
    assert set(stayed) <= set(ids), f"missed: {sorted(set(stayed) - set(ids))}"
    delivered_seconds = [second_of(record["date_modified"]) for record in delivered]
    assert all(lo <= second <= start for second in delivered_seconds)
    assert delivered_seconds == sorted(delivered_seconds), "records must arrive in date_modified order"
    assert batches[-1][1] == start, "a complete walk ends with a checkpoint at the start"


# -- the id listing's sweep against a list that grows and shrinks meanwhile ------------------------------


class BusyList:
    """A v3 list in id order, page/limit and meta.pagination.total; after the Nth request, ``changes[N]``
    records are created (positive) or the lowest ids deleted (negative); ``ignore_page`` serves page 1 for
    every page."""

    def __init__(self, size: int, changes: dict[int, int], *, ignore_page: bool = False) -> None:
        self.ids = list(range(1, size + 1))
        self.changes = changes
        self.ignore_page = ignore_page
        self.requests = 0

    async def get(
        self, api: str, path: str, params: Mapping[str, str] | None = None, **options: Any
    ) -> Response:
        query = dict(params or {})
        limit = int(query["limit"])
        page = 1 if self.ignore_page else int(query.get("page", "1"))
        data = [{"id": rid} for rid in self.ids[(page - 1) * limit : page * limit]]
        body = {"data": data, "meta": {"pagination": {"total": len(self.ids)}}}
        self.requests += 1
        change = self.changes.get(self.requests, 0)
        if change > 0:
            top = max(self.ids, default=0)
            self.ids += range(top + 1, top + 1 + change)
        else:
            del self.ids[:-change]
        await asyncio.sleep(0)
        return Response(200, body, None)


def sweep(api: BusyList, page_size: int, lookahead: int) -> list[Any]:
    spec = dataclasses.replace(BY_NAME["customers"], page_size=page_size)
    walker = Walker(cast(Client, api), spec, normalize=lambda record: None, lookahead=lookahead)

    async def walk() -> list[Any]:
        return [record["id"] async for page in walker.sweep() for record in page]

    return asyncio.run(walk())


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(min_value=0, max_value=40),
    page_size=st.integers(min_value=1, max_value=6),
    lookahead=st.integers(min_value=1, max_value=4),
    created=st.dictionaries(st.integers(min_value=1, max_value=60), st.integers(1, 3), max_size=20),
)
def test_a_sweep_lists_every_record_there_before_it_however_many_are_created_meanwhile(
    size: int, page_size: int, lookahead: int, created: dict[int, int]
) -> None:
    api = BusyList(size, created)
    listed = sweep(api, page_size, lookahead)
    assert set(range(1, size + 1)) <= set(listed)
    assert set(listed) <= set(api.ids)


@settings(max_examples=100, deadline=None)
@given(
    size=st.integers(min_value=0, max_value=40),
    page_size=st.integers(min_value=1, max_value=6),
    changes=st.dictionaries(st.integers(min_value=1, max_value=60), st.integers(-3, 3), max_size=20),
)
def test_a_sweep_ends_and_lists_only_records_that_were_there(
    size: int, page_size: int, changes: dict[int, int]
) -> None:
    api = BusyList(size, changes)
    listed = sweep(api, page_size, 2)
    assert set(listed) <= set(range(1, size + 1 + 3 * len(changes)))
    assert api.requests <= math.ceil((size + 3 * len(changes)) / page_size) + 2


def test_a_sweep_of_a_list_that_ignores_page_fails() -> None:
    with pytest.raises(ConnectorError, match="answered page=2 with records it had already served"):
        sweep(BusyList(10, {}, ignore_page=True), 5, 1)
