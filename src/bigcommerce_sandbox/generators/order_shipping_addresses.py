"""Shipping addresses of an order: the shipping consignments GET /v2/orders embeds with
``include=consignments&consignment_structure=object`` (shippingConsignment_Get in
reference/orders.v2.oas2.yml), without their line items (order_products has them) and with the order's id.
They are part of the order and change with it."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations
from bigcommerce_sandbox.generators.consignments import consignments


def records(basis: Basis, rel: Relations, oid: int) -> list[dict[str, Any]]:
    out = []
    for shipping in consignments(basis, rel.order_plan(oid), None)["shipping"]:
        del shipping["line_items"]
        out.append({"order_id": oid, **shipping})
    return out
