"""Refunds, as GET /v3/orders/payment_actions/refunds returns them (Refund in reference/orders.v3.yml):
children of refunded and partially refunded orders, rendered from the order's plan so a refund's total is
the order's refunded_amount and its payment names the order's refund transaction."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, iso_z, record_hash
from bigcommerce_sandbox.generators.orders import order_shape, order_totals, refunded_cents
from bigcommerce_sandbox.pools import GATEWAYS

REFUNDED = frozenset({4, 14})
"""Refunded and Partially Refunded."""
REASONS = ("Damaged in transit", "Wrong size", "Customer changed their mind", "Late delivery — apologies", "")


def count(basis: Basis, oid: int, index: int) -> int:
    """One refund for a generated order that is refunded or partially refunded."""
    return int(order_shape(basis, oid, index).status in REFUNDED)


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    oid = rel.parent_of("order_refunds", row.rid)
    plan = rel.order_plan(oid)
    h = record_hash(basis.key("order_refunds"), row.rid, row.version)
    totals = order_totals(plan)
    amount = refunded_cents(plan, totals.total_inc) or totals.total_inc // 4
    tax = totals.total_inc - totals.total_ex
    whole = amount >= totals.total_inc
    items: list[dict[str, Any]]
    if whole:
        items = [
            {
                "item_type": "PRODUCT",
                "item_id": li.op_id,
                "reason": REASONS[h % len(REASONS)],
                "quantity": li.quantity,
            }
            for li in plan.items
        ]
    else:
        items = [
            {
                "item_type": "ORDER",
                "item_id": oid,
                "reason": REASONS[h % len(REASONS)],
                "requested_amount": amount / 100,
            }
        ]
    refund_tx = plan.transactions[1][0] if len(plan.transactions) > 1 else 0
    offline = refund_tx == 0
    return {
        "id": row.rid,
        "order_id": oid,
        "user_id": 1 + (h >> 8) % 12,
        "created": iso_z(row.created),
        "reason": REASONS[(h >> 12) % len(REASONS)],
        "total_amount": amount / 100,
        "total_tax": round(tax * amount / max(totals.total_inc, 1)) / 100 if whole else 0,
        "uses_merchant_override_values": not whole,
        "items": items,
        "payments": [
            {
                "id": row.rid * 10 + 1,
                "provider_id": "custom" if offline else GATEWAYS[plan.h % len(GATEWAYS)][0],
                "amount": amount / 100,
                "offline": offline,
                "is_declined": False,
                "declined_message": "",
                "transaction_id": "" if offline else str(refund_tx),
            }
        ],
    }
