"""The orders walk against a fake v2 API that misbehaves in ways BigCommerce documents no guarantee against:
a count that disagrees with the listing, ties ordered differently on every page, a child that cannot be read.

Each misbehaviour once cost records silently (found in review); these pin that it no longer does.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

import pytest

from source_bigcommerce import engine
from source_bigcommerce.dates import from_epoch
from source_bigcommerce.errors import ConnectorError, TransientError
from source_bigcommerce.http import Client, Response
from source_bigcommerce.streams import BY_NAME

START = 1_700_000_000
TIED = START - 5


def second(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


class FakeOrders:
    """``/v2/orders`` of orders all modified in one second (or each in its own), plus their transactions.

    ``count_error`` is added to what ``/orders/count`` says; ties come in id order on page 1 and reversed
    after it (BigCommerce documents no order for them); ``broken`` orders' transactions always fail.
    """

    def __init__(
        self, orders: int, *, count_error: int = 0, broken: frozenset[int] = frozenset(), tied: bool = True
    ) -> None:
        self.modified = {i: TIED if tied else TIED - orders + i for i in range(1, orders + 1)}
        self.count_error = count_error
        self.broken = broken

    async def get(
        self,
        api: str,
        path: str,
        params: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Response:
        query = dict(params or {})
        if path == "/customers":
            await asyncio.Event().wait()  # a stream still reading when another one fails the read
        if path.endswith("/transactions"):
            order_id = int(path.split("/")[2])
            if order_id in self.broken:
                raise TransientError(f"GET /v3{path} failed after 3 attempts: HTTP 503.")
            record = {"id": order_id * 10, "order_id": str(order_id), "date_created": from_epoch(TIED)}
            return Response(200, {"data": [record], "meta": {}}, None)
        if query.get("is_deleted") == "true":
            return Response(200, {"count": 0} if path == "/orders/count" else None, None)  # none archived
        if "min_date_modified" not in query:  # the request that pins the start
            return Response(200, [], None)
        lo, hi = second(query["min_date_modified"]), second(query["max_date_modified"])
        rows = sorted((s, i) for i, s in self.modified.items() if lo <= s <= hi)
        if path == "/orders/count":
            return Response(200, {"count": max(0, len(rows) + self.count_error)}, None)
        page = int(query.get("page", "1"))
        if query.get("sort") == "id:asc":
            rows = [r for r in rows if r[1] >= int(query.get("min_id", "0"))]
        elif page > 1:
            rows.sort(key=lambda r: (r[0], -r[1]))
        limit = int(query["limit"])
        chunk = rows[(page - 1) * limit : page * limit]
        body = [{"id": i, "date_modified": from_epoch(s), "items_total": 0} for s, i in chunk]
        return Response(200 if body else 204, body or None, None)


class Sink:
    """What the engine delivered: records by stream (``got``), the last state of each, and the failures."""

    def __init__(self) -> None:
        self.got: dict[str, list[dict[str, Any]]] = {}
        self.states: dict[str, dict[str, Any]] = {}
        self.errors: dict[str, ConnectorError] = {}

    async def records(self, stream: str, batch: list[dict[str, Any]]) -> None:
        self.got.setdefault(stream, []).extend(batch)

    async def state(self, stream: str, stream_state: dict[str, Any], count: int) -> None:
        self.states[stream] = stream_state

    async def status(self, stream: str, status: str) -> None:
        pass

    async def failed(self, stream: str, error: ConnectorError) -> None:
        self.errors[stream] = error

    async def childless(self, stream: str, parents: list[Any]) -> None:
        pass

    def log(self, level: str, message: str) -> None:
        pass


def read(api: FakeOrders, streams: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> Sink:
    """An incremental read of ``streams`` from a cursor before the tied second, pages of three orders."""
    orders = dataclasses.replace(BY_NAME["orders"], page_size=3)
    monkeypatch.setattr(engine, "BY_NAME", {**BY_NAME, "orders": orders})
    sink = Sink()
    settings = engine.Settings(start_date=START - 100, api_url="http://x", store_hash="h", lookahead=2)
    reader = engine.Engine(cast(Client, api), sink, settings, lambda: START + 0.5)
    state = {"date_modified": from_epoch(START - 50)}
    selection: list[tuple[Any, engine.SyncMode]] = [(BY_NAME[name], "incremental") for name in streams]
    asyncio.run(reader.read(selection, dict.fromkeys(streams, state)))
    return sink


def ids(sink: Sink, stream: str, key: str = "id") -> list[int]:
    return sorted(int(record[key]) for record in sink.got.get(stream, []))


@pytest.mark.parametrize("count_error", [-1, -2, -3])
def test_a_count_below_the_listing_loses_no_order(count_error: int, monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeOrders(7, count_error=count_error, tied=False)
    sink = read(api, ("orders",), monkeypatch)
    assert ids(sink, "orders") == list(range(1, 8))


def test_ties_reordered_between_pages_are_repaired_without_losses(monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeOrders(6)
    sink = read(api, ("orders", "transactions"), monkeypatch)
    assert ids(sink, "orders") == list(range(1, 7))
    assert ids(sink, "transactions", "order_id") == list(range(1, 7))


def test_a_child_failing_on_a_repaired_second_fails_its_stream_and_holds_its_cursor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = FakeOrders(6, broken=frozenset({5}))
    sink = read(api, ("orders", "transactions"), monkeypatch)
    assert ids(sink, "orders") == list(range(1, 7)), "the orders themselves are unaffected"
    assert "transactions" in sink.errors, "the failure must be reported, not swallowed"
    assert "orders" not in sink.errors
    cursor = sink.states.get("transactions", {}).get("date_modified")
    assert cursor is None or second(cursor) <= TIED, "the cursor must not pass the order it could not read"


def test_a_sink_that_fails_stops_every_stream_not_just_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    class Gone(ConnectorError):
        pass

    class FailingSink(Sink):
        """The destination fails as the orders stream completes, while customers still have pages to read."""

        async def status(self, stream: str, status: str) -> None:
            if stream == "orders" and status == "COMPLETE":
                raise Gone("the destination went away")

    async def main() -> set[asyncio.Task[Any]]:
        settings = engine.Settings(start_date=START - 100, api_url="http://x", store_hash="h", lookahead=2)
        reader = engine.Engine(
            cast(Client, FakeOrders(6, tied=False)), FailingSink(), settings, lambda: START
        )
        selection: list[tuple[Any, engine.SyncMode]] = [
            (BY_NAME["orders"], "incremental"),
            (BY_NAME["customers"], "incremental"),
        ]
        with pytest.raises(Gone):
            await reader.read(selection, {})
        return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}

    assert asyncio.run(main()) == set(), "no stream may read on after the read has failed"
