"""Order products (line items), as GET /v2/orders/{id}/products returns them (orderProducts in
reference/orders.v2.oas2.yml); they are rendered per order, from its plan."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, dims4, iso_date, mix, money4
from bigcommerce_sandbox.generators.orders import OrderPlan, line_money, shipped_qty
from bigcommerce_sandbox.pools import OPTION_TYPES


def order_product(basis: Basis, plan: OrderPlan, pos: int) -> dict[str, Any]:
    """One element of GET /v2/orders/{id}/products (orderProducts: additionalProperties false)."""
    li = plan.items[pos]
    inc, total_ex, total_inc = line_money(li)
    cons = plan.consignments[li.consignment] if li.consignment >= 0 else None
    refunded = plan.status == 4 or (plan.status == 14 and pos == 0)
    oh = li.option_seed
    options: list[dict[str, Any]] = []
    if li.ptype == "physical" and oh % 5 == 0:
        for k in range(1 + (oh >> 3) % 2):
            display, otype, style, values = OPTION_TYPES[(oh >> (5 + k)) % len(OPTION_TYPES)]
            value = values[(oh >> (9 + k)) % len(values)]
            options.append(
                {
                    "id": li.op_id * 4 + k,
                    "option_id": 18 + k,
                    "order_product_id": li.op_id,
                    "product_option_id": 120 + k,
                    "display_name": display,
                    "display_name_customer": display,
                    "display_name_merchant": display,
                    "display_value": value,
                    "display_value_customer": value,
                    "display_value_merchant": value,
                    "value": value,
                    "type": otype,
                    "name": display,
                    "display_style": style,
                }
            )
    discounted = total_inc if oh % 7 else total_inc - total_inc // 20
    weight = "0.0000" if li.ptype != "physical" else dims4(50 + (oh >> 12) % 2000)
    event_name: str | None = None
    event_date: str | None = None
    if basis.rare_dates and mix(oh ^ 0xE7) % 8 == 0:
        # orders.v2.oas2.yml, orderProducts.event_date: "format: date", a date and not a timestamp.
        event_name = "Delivery Date"
        event_date = iso_date(plan.created + (3 + mix(oh ^ 0xE8) % 28) * 86400)
    return {
        "id": li.op_id,
        "order_id": plan.oid,
        "product_id": li.product_id,
        "variant_id": li.product_id * 3 + 1 if li.product_id else 0,
        "order_pickup_method_id": cons.cid if cons is not None and cons.kind == "pickups" else 0,
        "order_address_id": cons.cid if cons is not None and cons.kind == "shipping" else 0,
        "name": li.name,
        "name_customer": li.name,
        "name_merchant": li.name,
        "sku": li.sku,
        "upc": "",
        "type": li.ptype,
        "base_price": money4(li.price),
        "price_ex_tax": money4(li.price),
        "price_inc_tax": money4(inc),
        "price_tax": money4(inc - li.price),
        "base_total": money4(total_ex),
        "total_ex_tax": money4(total_ex),
        "total_inc_tax": money4(total_inc),
        "total_tax": money4(total_inc - total_ex),
        "weight": weight,
        "width": "1.0000",
        "height": "1.0000",
        "depth": "1.0000",
        "quantity": li.quantity,
        "base_cost_price": money4(li.price * 55 // 100),
        "cost_price_inc_tax": money4(li.price * 55 // 100),
        "cost_price_ex_tax": money4(li.price * 55 // 100),
        "cost_price_tax": "0.0000",
        "is_refunded": refunded,
        "quantity_refunded": li.quantity if refunded else 0,
        "refund_amount": "0.0000",
        "return_id": 0,
        "wrapping_id": 0,
        "wrapping_name": None if oh % 3 else "",
        "base_wrapping_cost": "0.0000",
        "wrapping_cost_ex_tax": "0.0000",
        "wrapping_cost_inc_tax": "0.0000",
        "wrapping_cost_tax": "0.0000",
        "wrapping_message": "",
        "quantity_shipped": shipped_qty(plan, pos, li),
        "event_name": event_name,
        "event_date": event_date,
        "fixed_shipping_cost": "0.0000",
        "ebay_item_id": "",
        "ebay_transaction_id": "",
        "option_set_id": (oh >> 20) % 40 + 1 if options else None,
        "parent_order_product_id": None,
        "is_bundled_product": False,
        "bin_picking_number": "",
        "external_id": None,
        "brand": "",
        "applied_discounts": (
            []
            if oh % 7
            else [
                {
                    "id": "total-coupon",
                    "amount": money4(total_inc // 20),
                    "name": "5% off",
                    "code": "SAVE5",
                    "target": "order",
                }
            ]
        ),
        "product_options": options,
        "configurable_fields": [],
        "gift_certificate_id": None if li.ptype != "giftcertificate" else li.op_id + 5000,
        "discounted_total_inc_tax": money4(discounted),
    }
