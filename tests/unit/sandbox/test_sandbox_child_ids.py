"""Sandbox store: a child id is never handed out twice, whichever way children come into being."""

from __future__ import annotations

import orjson
import pytest

from bigcommerce_sandbox.app import Settings, make_sandbox
from bigcommerce_sandbox.mutations import mutate


@pytest.mark.parametrize("resource", ["transactions", "order_products"])
def test_children_created_before_an_order_is_created_keep_ids_of_their_own(resource: str) -> None:
    store = make_sandbox(Settings(size="tiny", seed=1), "http://127.0.0.1:1").store
    created = mutate(store, resource, create=3, now=2_000_000_000)[resource]["created"]
    orders = mutate(store, "orders", create=5, now=2_000_000_001)["orders"]["created"]
    records = [orjson.loads(line) for line in store.export(resource)]
    ids = [record["id"] for record in records]
    assert len(ids) == len(set(ids)), "two children share an id"
    # The new orders' children come after every id handed out before them.
    new_children = [r["id"] for r in records if int(r["order_id"]) in orders]
    assert new_children
    assert min(new_children) > max(created)
