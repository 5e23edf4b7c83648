"""Completeness against a BigCommerce that misbehaves (tests/hostile.py), over real HTTP, with the real engine.

Where the API serves its records in an unexpected way that still lets them all be read (capped pages,
heavy pages), the read equals the store. Where it makes them unreadable (repeated pages, ignored cursors,
a duplicated ``data`` key, a count that never reconciles, a cursor after BigCommerce's clock), the stream
ends INCOMPLETE with one sentence, the exit is non-zero, its cursor does not pass a record it did not
deliver, and the requests it made stay within a small bound: nothing is reported COMPLETE with records
missing. Archived orders arrive with ``is_deleted: true`` whether the list shows them or not, and whether
archiving moves ``date_modified`` or not.
"""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

import pytest

from hostile import SERVED, Misbehaviour, RunningHostile, Store, hostile_server
from source_bigcommerce import dates, engine
from source_bigcommerce.config import parse_config
from source_bigcommerce.errors import ConnectorError
from source_bigcommerce.http import Client
from source_bigcommerce.streams import BY_NAME
from source_bigcommerce.wiring import engine_settings, with_client

from support import Output, by_id, expected_record, read, settle

LOOKAHEAD = 4
"""wiring.LOOKAHEAD_PAGES: pages of one stream in flight, which bounds the requests a repeat can cost."""


def full_store() -> Store:
    """Every stream, each several pages of 40, the first 60 customers in one second, two orders with more
    line items than a consignment embeds, and two archived orders."""
    return Store.build(
        customers=300,
        products=300,
        orders=260,
        channels=3,
        pages=90,
        brands=90,
        categories=90,
        tie=60,
        big_orders=(5, 77),
        archived=(12, 200),
    )


def assert_equals_store(output: Output, server: RunningHostile, streams: tuple[str, ...] = SERVED) -> None:
    for stream in streams:
        export = server.export(stream)
        got = by_id(output.records[stream])
        assert len(got) == len(output.records[stream]), f"{stream} delivered a record twice"
        assert sorted(got) == sorted(record["id"] for record in export), stream
        for record in export:
            assert got[record["id"]] == expected_record(stream, record), f"{stream} {record['id']}"


def stream_errors(output: Output) -> dict[str, str]:
    return {e["stream_descriptor"]["name"]: e["message"] for e in output.errors if "stream_descriptor" in e}


def assert_incomplete(output: Output, stream: str, *phrases: str) -> str:
    """``stream`` alone failed, said so in one sentence holding ``phrases``, and the read exited 1."""
    assert output.exit_code == 1
    errors = stream_errors(output)
    assert stream in errors, errors
    assert output.statuses[stream][-1] == "INCOMPLETE"
    message = errors[stream]
    assert message.count(". ") == 0, f"one sentence: {message}"
    assert message.endswith("."), message
    for phrase in phrases:
        assert phrase in message, message
    return message


def assert_cursor_behind_what_is_missing(output: Output, server: RunningHostile, stream: str) -> None:
    """No STATE of ``stream`` passes a record it did not deliver (a full-refresh stream emits none)."""
    delivered = set(output.ids(stream))
    missing = [r for r in server.export(stream) if r["id"] not in delivered]
    assert missing, "the fault should have cost records"
    states = output.states.get(stream, [])
    cursors = [s["stream"]["stream_state"].get("date_modified") for s in states]
    if BY_NAME[stream].cursor is None:
        assert not states, "a failed full-refresh stream has nothing to checkpoint"
        return
    first_missing = min(dates.to_epoch(r["date_modified"]) for r in missing)
    for cursor in cursors:
        assert cursor is None or dates.to_epoch(cursor) <= first_missing, (
            cursor,
            dates.from_epoch(first_missing),
        )


# -- what can still be read completely -------------------------------------------------------------------


def test_with_every_list_capped_at_40_a_full_read_equals_the_store_and_an_incremental_read_the_changes() -> (
    None
):
    with hostile_server(full_store(), Misbehaviour(cap=40)) as server:
        first = read(server.config, SERVED)
        assert first.exit_code == 0, first.errors
        assert_equals_store(first, server)
        assert any("serves pages of 40 records where 250 were asked" in log["message"] for log in first.logs)

        time.sleep(1.1)  # the changes land after the first read's start second

        def change(store: Store) -> dict[str, set[int]]:
            store.touch("customers", [3, 61, 250])
            store.touch("products", [1, 200])
            store.touch("channels", [2])
            store.touch("orders", [5, 40, 259])
            return {
                "customers": {3, 61, 250, store.create("customers")},
                "products": {1, 200, store.create("products")},
                "channels": {2},
                "orders": {5, 40, 259, store.create("orders")},
            }

        changed = server.change(change)
        settle()
        second = read(server.config, SERVED, state=first.final_state())
    assert second.exit_code == 0, second.errors
    for stream, ids in changed.items():
        assert sorted(second.ids(stream)) == sorted(ids), stream
    children = {
        stream: {r["id"] for r in server.export(stream) if int(r["order_id"]) in changed["orders"]}
        for stream in ("order_products", "transactions")
    }
    assert len(children["order_products"]) > 60, "order 5 holds 60 line items, read through capped pages"
    for stream, ids in children.items():
        assert sorted(second.ids(stream)) == sorted(ids), stream
    for stream in ("pages", "brands", "categories", "store"):
        assert len(second.records[stream]) == len(server.export(stream)), stream


def test_a_list_that_cannot_sort_by_date_skips_no_record_when_one_leaves_as_another_arrives_in_the_start_second() -> (
    None
):
    # Channels filter by date but cannot sort by it: read by page number, checked by their total. A channel
    # deleted from page 1 as one is created in the read's start second leaves a range that ends there at the
    # same total, while page 2 on shift by one: channel 41 moved to page 1, read before, and was never seen.
    # The server's clock is behind, so the read starts in the second its first Date header gives.
    misbehaviour = Misbehaviour(cap=40, clock_offset_s=-30, churn={"/v3/channels": 2})
    with hostile_server(Store.build(channels=120), misbehaviour) as server:
        output = read(server.config, ["channels"])
        start = server.server.first_date
        store = server.store.records["channels"]
    assert output.exit_code == 0, output.errors
    assert start is not None
    before_start = {rid for rid, record in store.items() if record["modified"] < start}
    assert len(before_start) == 119, "one channel deleted, one created in the start second"
    assert before_start <= set(output.ids("channels"))


@pytest.mark.parametrize("short", [1, 40])
def test_a_total_short_of_the_listing_ends_no_read_while_the_last_page_links_to_another(short: int) -> None:
    # 81 brands in pages of 40, a total of 80 (or 41): the pages the total makes end full, with links.next.
    # The read took the total's word and ended COMPLETE without brand 81.
    misbehaviour = Misbehaviour(cap=40, total_short={"/v3/catalog/brands": short})
    with hostile_server(Store.build(brands=81), misbehaviour) as server:
        output = read(server.config, ["brands"])
        assert output.exit_code == 0, output.errors
        assert_equals_store(output, server, ("brands",))
        assert server.requests["/v3/catalog/brands"] == 4, "the pin, then pages 1 to 3"


def test_transactions_in_pages_that_link_to_the_next_but_carry_no_total_are_read_to_the_last_page() -> None:
    # One transaction a page, links.next on every page but the last, no total: the first page was taken for
    # all of an order's transactions, and the read ended COMPLETE without the others.
    with hostile_server(Store.build(orders=30), Misbehaviour(paged_transactions=1)) as server:
        output = read(server.config, ["orders", "transactions"])
        assert output.exit_code == 0, output.errors
        assert_equals_store(output, server, ("transactions",))
        assert any(len(order["transactions"]) > 1 for order in server.store.records["orders"].values())


def test_pages_cut_short_without_a_total_or_per_page_are_read_on_while_they_link_to_the_next() -> None:
    # Pages of 40 where 250 were asked, saying neither total nor per_page, only links.next: a short page was
    # taken for the end of a keyset walk, and the read ended COMPLETE with 79 of 300 products. The first 60
    # share one second, more than a page of 40 holds: that second is walked by id, on links.next too.
    routes = frozenset({"/v3/catalog/products", "/v3/customers"})
    with hostile_server(
        Store.build(products=300, customers=300, tie=60), Misbehaviour(cap=40, bare_pagination=routes)
    ) as server:
        output = read(server.config, ["products", "customers"])
        assert output.exit_code == 0, output.errors
        assert_equals_store(output, server, ("products", "customers"))


def test_an_orders_count_below_zero_fails_the_orders_stream_with_a_sentence() -> None:
    # An impossible figure is no proof of an end: it was taken for "nothing more", and orders COMPLETE.
    with hostile_server(Store.build(orders=30), Misbehaviour(count_extra=-1000)) as server:
        output = read(server.config, ["orders"])
    assert output.exit_code == 1
    messages = [error["message"] for error in output.errors]
    assert any("/v2/orders/count answered without a count of zero or more." in m for m in messages), messages


def test_a_heavy_page_is_read_again_in_smaller_pages_and_the_read_equals_the_store() -> None:
    # 250 orders embed about 500 line items, 125 about 250: over 200 the server answers 500.
    with hostile_server(full_store(), Misbehaviour(heavy_items=200)) as server:
        output = read(server.config, ["orders", "order_products"])
        requests = server.requests["/v2/orders"]
    assert output.exit_code == 0, output.errors
    assert_equals_store(output, server, ("orders", "order_products"))
    heavy = [log["message"] for log in output.logs if "asking for it again as" in log["message"]]
    # Orders are walked by keyset: a heavy page is replaced by its first smaller page, and the walk reads on
    # at the size that worked for the rest of the records the heavy page would have held.
    assert "GET /v2/orders: HTTP 500 on a page of 250; asking for it again as 1 page of 125." in heavy
    assert "GET /v2/orders: HTTP 500 on a page of 125; asking for it again as 1 page of 25." in heavy
    assert not [log for log in output.logs if "; retry " in log["message"]], (
        "a heavy page is not retried as is"
    )
    # The first page of 250 becomes 2 failed pages + 10 pages of 25 (one each for the 250 it would have held,
    # a page repeating the second it starts at), then one page of 250 holds the rest, plus the pin and the
    # archived list.
    assert requests <= 20, requests


# -- what cannot: a named INCOMPLETE stream, bounded requests, the cursor before the gap ------------------

UNREADABLE = [
    pytest.param(
        "pages",
        Misbehaviour(repeat={"/v3/content/pages": 2}),
        "/v3/content/pages",
        ("answered page=2",),
        id="page-2-repeats-page-1",
    ),
    pytest.param(
        "pages",
        Misbehaviour(ignore_page=frozenset({"/v3/content/pages"})),
        "/v3/content/pages",
        ("answered page=2",),
        id="pages-ignores-page",
    ),
    pytest.param(
        "products",
        Misbehaviour(ignore_page=frozenset({"/v3/catalog/products"})),
        "/v3/catalog/products",
        ("answered page=2",),
        id="products-ignores-page",
    ),
    pytest.param(
        "orders",
        Misbehaviour(ignore_min_date=True),
        "/v2/orders",
        ("answered min_date_modified=",),
        id="orders-ignore-min-date-modified",
    ),
    pytest.param(
        "customers",
        Misbehaviour(ignore_cursor=frozenset({"/v3/customers"}), unstable_ties=True),
        "/v3/customers",
        ("answered after=",),
        id="customers-ignore-after",
    ),
    pytest.param(
        "products",
        Misbehaviour(ignore_cursor=frozenset({"/v3/catalog/products"}), unstable_ties=True),
        "/v3/catalog/products",
        ("id:greater=",),
        id="products-ignore-id-greater",
    ),
    pytest.param(
        "orders",
        Misbehaviour(ignore_cursor=frozenset({"/v2/orders"}), unstable_ties=True),
        "/v2/orders",
        ("min_id=",),
        id="orders-ignore-min-id",
    ),
    pytest.param(
        "order_products",
        Misbehaviour(cap=40, ignore_page=frozenset({"/v2/orders/{id}/products"})),
        "/v2/orders/{id}/products",
        ("GET /v2/orders/5/products answered page=2",),
        id="order-products-ignore-page",
    ),
    pytest.param(
        "pages",
        Misbehaviour(duplicate_data=frozenset({"/v3/content/pages"})),
        "/v3/content/pages",
        ("answered 0 records where its meta.pagination.count says",),
        id="pages-duplicated-data-key",
    ),
    pytest.param(
        "customers",
        Misbehaviour(duplicate_data=frozenset({"/v3/customers"})),
        "/v3/customers",
        ("answered 0 records where its meta.pagination.count says",),
        id="customers-duplicated-data-key",
    ),
    pytest.param(
        "orders",
        Misbehaviour(count_extra=350),
        "/v2/orders",
        ("BigCommerce reports", "but served only", "also when asked again"),
        id="orders-count-never-reconciles",
    ),
]


@pytest.mark.parametrize(("stream", "misbehaviour", "route", "phrases"), UNREADABLE)
def test_an_unreadable_list_fails_its_stream_by_name_within_bounded_requests_and_keeps_its_cursor(
    stream: str, misbehaviour: Misbehaviour, route: str, phrases: tuple[str, ...]
) -> None:
    # Ties reordered between pages make the walker read a second by id, where the id cursors are used.
    tie = 300 if misbehaviour.unstable_ties else 0
    store = Store.build(
        customers=600, products=600, orders=600, pages=600, brands=30, tie=tie, big_orders=(5,)
    )
    family = ("orders", "order_products") if stream == "order_products" else ()
    streams = (stream, "brands", *family)
    with hostile_server(store, misbehaviour) as server:
        output = read(server.config, streams)
        asked = server.requests[route]
        message = assert_incomplete(output, stream, *phrases)
        assert "stream stops there" in message or "meta.pagination.count" in message
        assert output.statuses["brands"][-1] == "COMPLETE", "the other streams finish"
        assert_cursor_behind_what_is_missing(output, server, stream)
    # Bounded: the pin, a pass's pages in flight, a re-walk, a repaired second; 600 records are 3 pages of
    # 250 (15 of 40), so an unbounded walk would show at once.
    bound = {"/v2/orders/{id}/products": 2 + LOOKAHEAD}.get(route, 4 * (LOOKAHEAD + 2))
    assert asked <= bound, (asked, bound)


@pytest.mark.parametrize(
    ("stream", "route", "touched"),
    [
        pytest.param("products", "/v3/catalog/products", 5, id="products-within-a-page"),
        pytest.param("products", "/v3/catalog/products", 40, id="products-across-pages"),
        pytest.param("orders", "/v2/orders", 5, id="orders-within-a-page"),
    ],
)
def test_a_list_served_out_of_date_order_fails_its_stream_and_sets_its_cursor_back_to_where_the_read_started(
    stream: str, route: str, touched: int
) -> None:
    # The server ignores the sort: records come in id order, and one modified later than the others (touched)
    # comes before older ones. Trusted, that order moved the walk past the older records on later pages: a
    # snapshot pass started over from the touched record's second, and the read ended COMPLETE with 40 of 200.
    # Touched as the last record of page 1, page 1 itself looks sorted and is delivered and checkpointed before
    # page 2 shows the fault: the cursor must then go back, or the next read starts past what is missing.
    anchor = int(time.time()) - 3600
    store = Store.build(products=200, orders=200, brands=30, anchor=anchor)
    store.touch(stream, [touched], now=anchor + 1000)
    saved = dates.from_epoch(anchor - 60)
    with hostile_server(store, Misbehaviour(cap=40, ignore_sort=frozenset({route}))) as server:
        output = read(server.config, (stream, "brands"), state={stream: {"date_modified": saved}})
        assert_incomplete(
            output, stream, "with records out of date_modified order", "goes back to where this read"
        )
        assert output.statuses["brands"][-1] == "COMPLETE", "the other streams finish"
        assert len(set(output.ids(stream))) < 200
        assert server.requests[route] <= 4 * (LOOKAHEAD + 2)
    states = output.states.get(stream, [])
    assert not states or states[-1]["stream"]["stream_state"]["date_modified"] == saved, states[-1]


def test_a_cursor_after_bigcommerces_clock_fails_its_stream_and_a_far_date_header_is_reported() -> None:
    # BigCommerce's clock two days behind ours: a cursor saved an hour ago (by our clock) is in its future.
    with hostile_server(full_store(), Misbehaviour(clock_offset_s=-2 * 86_400)) as server:
        an_hour_ago = dates.from_epoch(int(time.time()) - 3600)
        state = {
            "customers": {"date_modified": an_hour_ago},
            "products": {"date_modified": "2020-01-01T00:00:00Z"},
        }
        output = read(server.config, ["customers", "products"], state=state)
    assert_incomplete(
        output, "customers", f"has its cursor at {an_hour_ago}, after this sync's start", "--full-refresh"
    )
    assert not output.records["customers"]
    assert "customers" not in output.states
    assert output.statuses["products"][-1] == "COMPLETE"
    [warning] = [log for log in output.logs if "Date header" in log["message"]]
    assert warning["level"] == "WARN"
    assert "is 2.0 days behind this machine's" in warning["message"]


# -- archived orders ---------------------------------------------------------------------------------------

WORLDS = [
    pytest.param(Misbehaviour(hide_archived=hidden, archive_moves_date=moves), id=f"{name}-{moved}")
    for hidden, name in ((False, "listed"), (True, "hidden"))
    for moves, moved in ((True, "date-moves"), (False, "date-stays"))
]


@pytest.mark.parametrize("world", WORLDS)
def test_an_archived_order_arrives_marked_deleted_in_full_and_incremental_reads(world: Misbehaviour) -> None:
    store = Store.build(orders=300, archived=(12, 200))
    streams = ("orders", "order_products", "transactions")
    with hostile_server(store, world) as server:
        first = read(server.config, streams)
        assert first.exit_code == 0, first.errors
        assert_equals_store(first, server, streams)
        assert {r["id"] for r in first.records["orders"] if r["is_deleted"]} == {12, 200}

        time.sleep(1.1)
        server.change(lambda s: s.archive(7, moves_date=world.archive_moves_date))
        before = len(server.server.asked)
        second = read(server.config, streams, state=first.final_state())
        spent = server.server.asked[before:]
        # Nothing archived since: the count kept in the state says so.
        before = len(server.server.asked)
        third = read(server.config, streams, state=second.final_state())
        idle = server.server.asked[before:]
    assert second.exit_code == 0, second.errors
    assert third.exit_code == 0, third.errors
    orders = by_id(second.records["orders"])
    assert list(orders) == [7], "the newly archived order, and no other"
    assert orders[7]["is_deleted"] is True
    assert set(third.ids("orders")) <= ({7} if world.archive_moves_date else set())
    for states in third.states.values():
        buckets = states[-1]["stream"]["stream_state"]["archived_orders"]["buckets"]
        assert sum(number for _, number, _, _ in buckets) == 3
    # What archived orders cost: their ids listed on every read (a page, and the empty page after it), and
    # the newly archived order read again unless the walk delivered it.
    listing = ["/v2/orders", "/v2/orders"]
    walk_saw_it = world.archive_moves_date and not world.hide_archived
    assert [r for r, query in spent if "is_deleted" in query] == listing + (
        [] if walk_saw_it else ["/v2/orders"]
    )
    assert [r for r, query in idle if "is_deleted" in query] == listing


def test_archived_orders_delivered_again_come_with_their_children_whatever_the_childrens_cursors() -> None:
    # A read that failed before listing the archived orders saved no summary of them, but may have saved the
    # children's cursors past orders the default list leaves out (hidden): the next read delivers every
    # archived order again, and must bring their line items and transactions too, or they are lost for good.
    store = Store.build(orders=300, archived=(12, 200))
    streams = ("orders", "order_products", "transactions")
    with hostile_server(store, Misbehaviour(hide_archived=True)) as server:
        first = read(server.config, streams)
        assert first.exit_code == 0, first.errors
        state = copy.deepcopy(first.final_state())
        for message in state:
            del message["state"]["stream"]["stream_state"]["archived_orders"]
        again = read(server.config, streams, state=state)
    assert again.exit_code == 0, again.errors
    assert set(again.ids("orders")) == {12, 200}
    archived = [store.records["orders"][order] for order in (12, 200)]
    assert set(again.ids("order_products")) == {item["id"] for order in archived for item in order["items"]}
    assert set(again.ids("transactions")) == {t["id"] for order in archived for t in order["transactions"]}


# -- checkpoints under per-order children (issue 14) -------------------------------------------------------


class CheckpointSink:
    """Records, at each orders checkpoint, how many transactions requests the server had answered."""

    def __init__(self, server: RunningHostile) -> None:
        self.server = server
        self.at_checkpoint: list[tuple[int, int]] = []
        self.delivered = 0
        self.errors: dict[str, ConnectorError] = {}

    async def records(self, stream: str, batch: list[dict[str, Any]]) -> None:
        if stream == "orders":
            self.delivered += len(batch)

    async def state(self, stream: str, stream_state: dict[str, Any], count: int) -> None:
        if stream == "orders":
            self.at_checkpoint.append((self.delivered, self.server.requests["/v3/orders/{id}/transactions"]))

    async def status(self, stream: str, status: str) -> None:
        pass

    async def failed(self, stream: str, error: ConnectorError) -> None:
        self.errors[stream] = error

    async def childless(self, stream: str, parents: list[Any]) -> None:
        pass

    def log(self, level: str, message: str) -> None:
        pass


@pytest.mark.parametrize("tie", [0, 600], ids=["one order a second", "600 orders in one second"])
def test_orders_with_per_order_children_are_checkpointed_after_each_page_not_after_a_group(tie: int) -> None:
    # Under a Standard-plan quota a transactions request per order is 5 a second: a group of 8 pages of
    # 250 orders held every checkpoint back for 400 s, and one page 50 s. Each slice of a page
    # (children.SLICE_PARENTS orders) must be delivered once its own children are in, and checkpointed before
    # the next page's children are asked for; so must the slices of a second too full for one page, walked by
    # id, although their checkpoints all resume at that second.
    from source_bigcommerce.children import SLICE_PARENTS

    with hostile_server(Store.build(orders=1000, tie=tie)) as server:
        sink = CheckpointSink(server)
        config = parse_config(server.config)

        async def run(client: Client) -> None:
            selection: list[tuple[Any, engine.SyncMode]] = [
                (BY_NAME["orders"], "incremental"),
                (BY_NAME["transactions"], "incremental"),
            ]
            await engine.Engine(client, sink, engine_settings(config), time.time).read(selection, {})

        asyncio.run(with_client(config, sink.log, run))
    assert not sink.errors
    assert sink.delivered == 1000, "every order once, the walked second's included"
    checkpoints = [(orders, asked) for orders, asked in sink.at_checkpoint if orders < 1000]
    delivered = [orders for orders, _ in checkpoints]
    steps = [after - before for before, after in zip([0, *delivered], delivered, strict=False)]
    assert len(steps) >= 15, sink.at_checkpoint
    assert all(0 < step <= SLICE_PARENTS for step in steps), sink.at_checkpoint
    for orders, asked in checkpoints:
        # The later slices of the page are asked for at once; a keyset page brings up to 250 new orders.
        assert orders <= asked < orders + 250, "a checkpoint waited for the children of a later page"
