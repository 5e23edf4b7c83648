"""Shipments of an order, as GET /v2/orders/{id}/shipments returns them (orderShipment in
reference/orders.v2.oas2.yml); rendered from the order's plan, so a shipment carries the order's line
items and addresses."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, money4, record_hash, rfc2822
from bigcommerce_sandbox.generators.consignments import ship_to
from bigcommerce_sandbox.generators.orders import billing_address, order_shape

SHIPPED = frozenset({2, 3, 10})
"""Shipped, Partially Shipped and Completed orders have shipped something."""
# (shipping_provider, tracking_carrier, display name, tracking link prefix): the spec's standard
# providers (orderShipment.shipping_provider) and a custom one, whose provider is "".
CARRIERS = (
    ("usps", "usps", "USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels="),
    ("fedex", "fedex", "FedEx", "https://www.fedex.com/fedextrack/?trknbr="),
    ("ups", "ups", "UPS", "https://www.ups.com/track?tracknum="),
    ("auspost", "australia-post", "Australia Post", "https://auspost.com.au/mypost/track/#/details/"),
    ("", "dhl", "DHL Express", "https://www.dhl.com/en/express/tracking.html?AWB="),
)


def count(basis: Basis, oid: int, index: int) -> int:
    """One shipment for a generated order that has shipped, none for the others."""
    shape = order_shape(basis, oid, index)
    return int(shape.items > 0 and shape.status in SHIPPED)


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    oid = rel.parent_of("order_shipments", row.rid)
    plan = rel.order_plan(oid)
    h = record_hash(basis.key("order_shipments"), row.rid, row.version)
    shipping = [c for c in plan.consignments if c.kind == "shipping"]
    # A shipment goes to one shipping address (the first, or the second for every other shipment of an
    # order with two); an order without one ships its items to the buyer all the same.
    consignment = shipping[row.rid % len(shipping)] if shipping else None
    positions = consignment.items if consignment is not None else tuple(range(len(plan.items)))
    provider, carrier, display, tracking_url = CARRIERS[h % len(CARRIERS)]
    tracking = f"{(h >> 8) % 10**12:012d}" if (h >> 50) % 8 else ""
    return {
        "id": row.rid,
        "order_id": oid,
        "customer_id": plan.customer_id,
        "order_address_id": consignment.cid if consignment is not None else 0,
        "date_created": rfc2822(row.created),
        "tracking_number": tracking,
        "merchant_shipping_cost": money4((h >> 20) % 2000),
        "shipping_method": "Flat Rate" if (plan.h >> 2) % 3 else "Free Shipping",
        "shipping_provider": provider,
        "tracking_carrier": carrier,
        "tracking_link": f"{tracking_url}{tracking}" if tracking else "",
        "generated_tracking_link": f"{tracking_url}{tracking}" if tracking else "",
        "shipping_provider_display_name": display,
        "comments": "" if (h >> 40) % 4 else "Left with the neighbour — signed for.",
        "billing_address": {k: v for k, v in billing_address(basis, plan).items() if k != "form_fields"},
        "shipping_address": ship_to(basis, plan),
        "items": [
            {
                "order_product_id": plan.items[pos].op_id,
                "product_id": plan.items[pos].product_id,
                "quantity": plan.items[pos].quantity,
            }
            for pos in positions
        ],
    }
