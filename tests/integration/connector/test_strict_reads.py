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
