"""Coupons applied to an order, as GET /v2/orders/{id}/coupons returns them (orderCoupons_Base in
reference/orders.v2.oas2.yml)."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, record_hash
from bigcommerce_sandbox.generators.orders import order_shape, order_totals

# (type, amount): orderCoupons_Base.type is 0 per item, 1 percentage, 2 per total, 3 shipping, 4 free
# shipping; amount is "$3 returns as 3 while 5% will return as 5".
KINDS = ((1, 10), (1, 15), (2, 5), (0, 2), (3, 4), (4, 0), (1, 5), (2, 10))
CODES = ("WELCOME", "SPRING", "VIP", "FREESHIP", "BFCM", "LOYAL", "SAVE", "FLASH")


def count(basis: Basis, oid: int, index: int) -> int:
    """About one order with line items in five used a coupon."""
    h = record_hash(basis.key("orders"), oid)
    return int(order_shape(basis, oid, index).items > 0 and (h >> 24) % 5 == 0)


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    oid = rel.parent_of("order_coupons", row.rid)
    plan = rel.order_plan(oid)
    h = record_hash(basis.key("order_coupons"), row.rid)
    coupon = 1 + (h >> 8) % 40
    kind, amount = KINDS[(h >> 16) % len(KINDS)]
    if row.version:
        # An edited coupon (a new code for the same coupon, another amount).
        amount += row.version
    totals = order_totals(plan)
    worth = totals.sub_inc * amount // 100 if kind == 1 else amount * 100
    if kind in (3, 4):
        worth = totals.ship_inc if kind == 4 else min(totals.ship_inc, amount * 100)
    return {
        "id": row.rid,
        "coupon_id": coupon,
        "order_id": oid,
        "code": f"{CODES[coupon % len(CODES)]}{coupon:02d}{'-' + str(row.version) if row.version else ''}",
        "amount": amount,
        "type": kind,
        "discount": round(min(worth, totals.sub_inc) / 100, 2),
    }
