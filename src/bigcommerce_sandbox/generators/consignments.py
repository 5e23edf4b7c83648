"""The consignments object of an order (``include=consignments[.line_items]&consignment_structure=object``)."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis
from bigcommerce_sandbox.generators.orders import OrderPlan, buyer, link, shipped_qty
from bigcommerce_sandbox.pools import PLACES, STREETS

CONSIGNMENT_CAP = 50
CONSIGNMENT_WARNING = {
    "message": (
        "Not all line items of this consignment are returned with this response, only 50 are included. "
        "Please use the `/v2/orders/{order_id}/products` endpoint to fetch all line items."
    )
}


def ship_to(basis: Basis, plan: OrderPlan) -> dict[str, str]:
    """Where an order's shipping consignments go (shippingAddress_Base in reference/orders.v2.oas2.yml):
    the buyer, at the billing address's street and place."""
    h = plan.h
    place = PLACES[(h >> 23) % len(PLACES)]
    first, last, email = buyer(basis, plan)
    return {
        "first_name": first,
        "last_name": last,
        "company": "",
        "street_1": f"{(h >> 31) % 9000 + 1} {STREETS[(h >> 35) % len(STREETS)]}",
        "street_2": "",
        "city": place[0],
        "zip": place[2],
        "country": place[3],
        "country_iso2": place[4],
        "state": place[1],
        "email": email,
        "phone": "",
    }


def consignments(basis: Basis, plan: OrderPlan, line_items: list[Any] | None) -> dict[str, Any]:
    """The ``consignment_structure=object`` form (orderConsignment_Get in reference/orders.v2.oas2.yml).

    ``line_items`` holds the already-rendered order products (orjson Fragments) in plan order when
    ``include=consignments.line_items`` was asked; otherwise each line item is a ``{url, resource}`` link.
    At most 50 full line items are embedded per consignment, with the ``__warning__`` BigCommerce adds
    (bigcommerce/docs issue #960; not in the spec).
    """
    out: dict[str, Any] = {"pickups": [], "shipping": [], "downloads": [], "email": {"gift_certificates": []}}
    h = plan.h
    place = PLACES[(h >> 23) % len(PLACES)]
    email = buyer(basis, plan)[2]
    for c in plan.consignments:
        cut = line_items is not None and len(c.items) > CONSIGNMENT_CAP
        shown = c.items[:CONSIGNMENT_CAP] if line_items is not None else c.items
        if line_items is not None:
            items: list[Any] = [line_items[pos] for pos in shown]
        else:
            items = [link(basis, f"/orders/{plan.oid}/products/{plan.items[pos].op_id}") for pos in shown]
        body: dict[str, Any]
        if c.kind == "shipping":
            qty = sum(plan.items[pos].quantity for pos in c.items)
            shipped = sum(shipped_qty(plan, pos, plan.items[pos]) for pos in c.items)
            body = {
                "id": c.cid,
                **ship_to(basis, plan),
                "form_fields": [],
                "line_items": items,
                "items_total": qty,
                "items_shipped": shipped,
                "shipping_method": "Flat Rate" if (h >> 2) % 3 else "Free Shipping",
                "base_cost": 0,
                "cost_ex_tax": 0,
                "cost_inc_tax": 0,
                "cost_tax": 0,
                "cost_tax_class_id": 2,
                "base_handling_cost": 0,
                "handling_cost_ex_tax": 0,
                "handling_cost_inc_tax": 0,
                "handling_cost_tax": 0,
                "handling_cost_tax_class_id": 2,
                "shipping_zone_id": 1,
                "shipping_zone_name": place[3],
                "shipping_quotes": link(
                    basis, f"/orders/{plan.oid}/consignments/shipping/{c.cid}/shipping_quotes"
                ),
            }
        elif c.kind == "pickups":
            body = {
                "id": c.cid,
                "pickup_method_id": 1,
                "pickup_method_display_name": "Pick Up",
                "collection_instructions": "Bring your ID",
                "collection_time_description": "9am - 6pm",
                "location": {
                    "id": 1,
                    "name": "Flagship Store",
                    "code": "LOCATION-1",
                    "address_line_1": "123 Main Street",
                    "address_line_2": "Suite 101",
                    "city": "Austin",
                    "state": "Texas",
                    "postal_code": "78726",
                    "country_alpha2": "US",
                    "email": "pickup@sandbox.example.com",
                    "phone": "+1 111-111-1111",
                },
                "line_items": items,
            }
        else:
            body = {"recipient_email": email, "line_items": items}
        if cut:
            body["__warning__"] = CONSIGNMENT_WARNING
        if c.kind == "gift_certificates":
            out["email"]["gift_certificates"].append(body)
        else:
            out[c.kind].append(body)
    return out
