"""Reads of a sandbox as stingy as BigCommerce, one stingy option at a time: each test pins a connector bug
the strict sandbox found (the whole read suite also runs against the strict sandbox: tests/conftest.py
``world``)."""

from __future__ import annotations

from typing import Any

from support import read

SandboxFactory = Any
TRANSACTIONS = "/stores/{store_hash}/v3/orders/{id}/transactions"


def test_a_tied_second_reordered_across_several_pages_is_walked_once_and_each_orders_children_asked_once(
    sandbox_factory: SandboxFactory,
) -> None:
    # 150 orders share one second, shuffled on every request and served 60 a page: several pages repeat
    # records of that second. It used to be walked by id again for each of them, and the children of orders
    # already delivered asked for again on every walk.
    sb = sandbox_factory(
        size="tiny", seed=5, orders=200, tie_cluster=150, shuffle_ties=True, page_caps={"orders": 60}
    )
    output = read(sb.config, ["orders", "transactions"])
    assert output.exit_code == 0, output.errors
    orders = sb.export("orders")
    assert sorted(output.ids("orders")) == sorted(order["id"] for order in orders)
    assert sb.stats()["requests"][TRANSACTIONS]["total"] == len(orders)


def test_a_heavy_first_page_of_a_list_capped_below_its_pieces_is_read_at_the_size_served(
    sandbox_factory: SandboxFactory,
) -> None:
    # Orders served 60 a page and a page of their line items over 200 failing with 500: the first page of
    # 250 is split into 125s before the cap is known; a 125 that is not heavy comes back as the second page
    # of 60, overlapping the first. It used to be merged as is and its length taken as the page size served,
    # and the read failed with "BigCommerce reports ... but served only 60".
    sb = sandbox_factory(size="tiny", seed=1, orders=400, page_caps={"orders": 60}, heavy_page_items=200)
    output = read(sb.config, ["orders", "order_products"])
    assert output.exit_code == 0, output.errors
    for stream in ("orders", "order_products"):
        got = output.ids(stream)
        assert len(got) == len(set(got)), stream
        assert sorted(got) == sorted(record["id"] for record in sb.export(stream)), stream
