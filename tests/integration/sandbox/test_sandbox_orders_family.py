"""The orders family's children agree with their orders, over real HTTP: shipping addresses are the
shipping consignments the orders embed, shipments carry their order's line items, taxes add up to the
order's tax, refunds to its refunded amount, and order statuses are BigCommerce's fixed set. The generic
checks of children (walks, mutations, 404s) are in test_sandbox_per_parent.py.
"""

from __future__ import annotations

import time
import urllib.error
from typing import Any

import pytest
from sandbox_http import get

from bigcommerce_sandbox.app import RunningSandbox, SandboxFactory
from conftest import STRICT_STORE


@pytest.fixture(params=["default", "strict"])
def served(request: pytest.FixtureRequest, sandbox_factory: SandboxFactory) -> RunningSandbox:
    if request.param == "strict":
        return sandbox_factory(strict=True, **STRICT_STORE)
    return sandbox_factory(size="tiny", seed=1)


def _by_order(records: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for record in records:
        out.setdefault(int(record["order_id"]), []).append(record)
    return out


def _embedded_shipping(sb: RunningSandbox, oid: int) -> list[dict[str, Any]]:
    """The order's shipping consignments as a reader of the orders page gets them (line items in full),
    turned into shipping-address records: without line items or the cut warning, with the order's id."""
    query = "include=consignments.line_items&consignment_structure=object"
    order = get(sb, f"/v2/orders/{oid}?{query}").json()
    return [
        {"order_id": oid, **{k: v for k, v in c.items() if k not in ("line_items", "__warning__")}}
        for c in order["consignments"]["shipping"]
    ]


def test_shipping_addresses_are_the_shipping_consignments_the_orders_embed(served: RunningSandbox) -> None:
    exported = served.export("order_shipping_addresses")
    embedded = [a for o in served.export("orders") for a in _embedded_shipping(served, o["id"])]
    assert exported == embedded
    # Orders with two shipping addresses and orders with none (digital, pickups) are both there.
    counts = {len(v) for v in _by_order(exported).values()}
    assert 1 in counts
    assert len(_by_order(exported)) < len(served.export("orders"))


def test_shipping_addresses_change_with_their_orders_line_items(sandbox: RunningSandbox) -> None:
    before = sandbox.export("order_shipping_addresses")
    sandbox.mutate("order_products", create=30, delete=5)
    after = sandbox.export("order_shipping_addresses")
    assert after != before
    assert after == [a for o in sandbox.export("orders") for a in _embedded_shipping(sandbox, o["id"])]
    with pytest.raises(urllib.error.HTTPError) as refused:
        sandbox.mutate("order_shipping_addresses", update=1)
    with refused.value:
        assert refused.value.code == 400
        assert b"part of their orders" in refused.value.read()


def _shipped_items(sb: RunningSandbox, order_id: int, address_id: int) -> list[int]:
    """Line-item ids of one shipping consignment, from the links ``include=consignments`` gives."""
    order = get(sb, f"/v2/orders/{order_id}?include=consignments&consignment_structure=object").json()
    consignment = next(c for c in order["consignments"]["shipping"] if c["id"] == address_id)
    return [int(link["resource"].rsplit("/", 1)[1]) for link in consignment["line_items"]]


def test_shipments_carry_their_orders_line_items_even_after_the_items_change(sandbox: RunningSandbox) -> None:
    """A shipment renders from its order's current plan: read once (cached), then the order's line items
    change, and the shipment read again names the new ones."""
    assert sandbox.export("order_shipments")
    sandbox.mutate("order_products", create=40)
    shipments = sandbox.export("order_shipments")
    orders = {o["id"]: o for o in sandbox.export("orders")}
    products = _by_order(sandbox.export("order_products"))
    for shipment in shipments:
        order = orders[shipment["order_id"]]
        assert shipment["customer_id"] == order["customer_id"]
        assert order["status_id"] in (2, 3, 10)
        items = [i["order_product_id"] for i in shipment["items"]]
        if shipment["order_address_id"]:
            assert items == _shipped_items(sandbox, order["id"], shipment["order_address_id"])
        else:
            assert items == [p["id"] for p in products[order["id"]]]
        quantities = {p["id"]: p["quantity"] for p in products[order["id"]]}
        assert all(i["quantity"] == quantities[i["order_product_id"]] for i in shipment["items"])


def _cents(text: str) -> int:
    return round(float(text) * 100)


def test_taxes_add_up_to_the_orders_tax(served: RunningSandbox) -> None:
    orders = {o["id"]: o for o in served.export("orders")}
    taxed = _by_order(served.export("order_taxes"))
    assert taxed
    for oid, lines in taxed.items():
        order = orders[oid]
        items = [line for line in lines if line["line_item_type"] == "item"]
        shipping = [line for line in lines if line["line_item_type"] == "shipping"]
        assert sum(_cents(line["line_amount"]) for line in items) == _cents(order["subtotal_tax"])
        assert sum(_cents(line["line_amount"]) for line in shipping) == _cents(order["shipping_cost_tax"])
        products = [p["id"] for p in served.export("order_products") if p["order_id"] == oid]
        assert [int(line["order_product_id"]) for line in items] == products
    untaxed = [o for o in orders.values() if o["id"] not in taxed]
    assert untaxed
    assert all(_cents(o["total_tax"]) == 0 for o in untaxed)


def test_refunds_are_for_refunded_orders_and_their_refunded_amount(served: RunningSandbox) -> None:
    orders = {o["id"]: o for o in served.export("orders")}
    refunds = served.export("order_refunds")
    assert refunds
    transactions = _by_order(served.export("transactions"))
    for refund in refunds:
        order = orders[refund["order_id"]]
        assert order["status_id"] in (4, 14)
        assert round(refund["total_amount"] * 100) == _cents(order["refunded_amount"])
        payment = refund["payments"][0]
        if not payment["offline"]:
            refunded = [t for t in transactions[order["id"]] if t["event"] == "refund"]
            assert payment["transaction_id"] == str(refunded[0]["id"])
    refunded_orders = {o["id"] for o in orders.values() if o["status_id"] in (4, 14)}
    assert {r["order_id"] for r in refunds} == refunded_orders


def test_a_created_refund_moves_its_order_and_is_found_by_created_min(
    sandbox_factory: SandboxFactory,
) -> None:
    now = 1_750_003_600
    sb = sandbox_factory(size="tiny", seed=1, anchor=1_750_000_000, clock=lambda: float(now))
    created = sb.mutate("order_refunds", create=2)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    refunds = get(sb, f"/v3/orders/payment_actions/refunds?created:min={stamp}").json()["data"]
    assert sorted(r["id"] for r in refunds) == sorted(created["order_refunds"]["created"])
    assert all(r["created"] == stamp for r in refunds)
    assert sorted(created["orders"]["updated"]) == sorted({r["order_id"] for r in refunds})


def test_order_statuses_are_the_fixed_set_the_order_count_names(sandbox: RunningSandbox) -> None:
    statuses = get(sandbox, "/v2/order_statuses").json()
    counted = get(sandbox, "/v2/orders/count").json()["statuses"]
    assert sorted((s["id"], s["name"]) for s in statuses) == sorted((s["id"], s["name"]) for s in counted)
    assert [s["id"] for s in statuses] == list(range(15))
    renamed = sandbox.mutate("order_statuses", update=2)["order_statuses"]["updated"]
    after = {s["id"]: s for s in sandbox.export("order_statuses")}
    assert all(after[sid]["custom_label"] != after[sid]["system_label"] for sid in renamed)
    for create, delete in ((1, 0), (0, 1)):
        with pytest.raises(urllib.error.HTTPError) as refused:
            sandbox.mutate("order_statuses", create=create, delete=delete)
        with refused.value:
            assert refused.value.code == 400


def test_a_refund_stays_as_it_was_created_when_its_order_changes(sandbox: RunningSandbox) -> None:
    # A refund renders from its order's plan; it re-rendered with every change to the order's line items
    # (its amounts, items and payments moved, its `created` did not), which orders.v3.yml gives no way to do
    # to a refund.
    before = {r["id"]: r for r in sandbox.export("order_refunds")}
    items = len(sandbox.export("order_products"))
    sandbox.mutate("order_products", update=items, create=20, delete=20)
    sandbox.mutate("transactions", create=20)
    assert {r["id"]: r for r in sandbox.export("order_refunds")} == before
