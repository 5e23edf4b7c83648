"""Taxes of an order, as GET /v2/orders/{id}/taxes returns them (orderTaxes_Base in
reference/orders.v2.oas2.yml): one line per line item, and one for shipping when the order pays for it;
rendered from the order's plan, so the amounts add up to the order's tax."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, money4, record_hash
from bigcommerce_sandbox.generators.orders import line_money, order_shape, order_totals, tax_rate_bp

# (name, class, sales_tax_id) by tax rate in basis points.
RATES = {
    500: ("State Tax", "Default Tax Class", "ST-5"),
    825: ("Sales Tax", "Default Tax Class", "SALES-8.25"),
    1000: ("GST", "Default Tax Class", "GST-10"),
    2000: ("VAT", "Default Tax Class", "VAT-20"),
}


def count(basis: Basis, oid: int, index: int) -> int:
    """A taxed order has a tax line per line item and, when it charges shipping, one for shipping."""
    h = record_hash(basis.key("orders"), oid)
    items = order_shape(basis, oid, index).items
    if not items or not tax_rate_bp(h):
        return 0
    return items + int((h >> 2) % 3 != 0)


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    oid = rel.parent_of("order_taxes", row.rid)
    plan = rel.order_plan(oid)
    k = rel.children_of("order_taxes", oid).index(row.rid)
    bp = tax_rate_bp(plan.h) or 500
    name, tax_class, sales_tax_id = RATES[bp]
    if k < len(plan.items):
        li = plan.items[k]
        _inc, t_ex, t_inc = line_money(li)
        kind, amount, product = "item", t_inc - t_ex, str(li.op_id)
    else:
        totals = order_totals(plan)
        kind, amount, product = "shipping", totals.ship_inc - totals.ship_ex, ""
    if row.version:
        # A corrected tax line (an adjustment of a cent per edit).
        amount += row.version
    return {
        "id": row.rid,
        "order_id": oid,
        "order_address_id": next((c.cid for c in plan.consignments if c.kind == "shipping"), 0),
        "tax_rate_id": 1 + list(RATES).index(bp),
        "sales_tax_id": sales_tax_id,
        "tax_class_id": 0 if kind == "item" else 2,
        "name": name,
        "class": tax_class if kind == "item" else "Shipping",
        "rate": f"{bp / 100:.4f}",
        "priority": 0,
        "priority_amount": money4(amount),
        "line_amount": money4(amount),
        "order_pickup_method_id": 0,
        "order_product_id": product,
        "line_item_type": kind,
    }
