"""Orders, as GET /v2/orders returns them (order_Resp in reference/orders.v2.oas2.yml), and the plan of an
order version that its line items, consignments and transactions are all rendered from, so they agree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from bigcommerce_sandbox.basis import (
    Basis,
    Relations,
    Row,
    channel_ids_of,
    money4,
    record_hash,
    rfc2822,
    uuid_of,
)
from bigcommerce_sandbox.generators.customers import customer_name
from bigcommerce_sandbox.generators.products import product_core
from bigcommerce_sandbox.pools import COMPANIES, FIRST_NAMES, LAST_NAMES, PLACES, STREETS

BIG_ORDER_ITEMS = 60

# Order status ids and labels (reference/orders.v2.oas2.yml, /order_statuses), with the sort order the
# control panel shows them in (ordersCount_Resp example).
STATUSES: dict[int, tuple[str, str, int]] = {
    0: (
        "Incomplete",
        "An incomplete order happens when a shopper reached the payment page, but did not complete the transaction.",
        0,
    ),
    1: ("Pending", "Customer started the checkout process, but did not complete it.", 1),
    7: (
        "Awaiting Payment",
        "Customer has completed checkout process, but payment has yet to be confirmed.",
        2,
    ),
    11: (
        "Awaiting Fulfillment",
        "Customer has completed the checkout process and payment has been confirmed.",
        3,
    ),
    9: (
        "Awaiting Shipment",
        "Order has been pulled and packaged, and is awaiting collection from a shipping provider.",
        4,
    ),
    8: (
        "Awaiting Pickup",
        "Order has been pulled, and is awaiting customer pickup from a seller-specified location.",
        5,
    ),
    3: (
        "Partially Shipped",
        "Only some items in the order have been shipped, due to some products being pre-order only or other reasons.",
        6,
    ),
    10: (
        "Completed",
        "Client has paid for their digital product and their file(s) are available for download.",
        7,
    ),
    2: (
        "Shipped",
        "Order has been shipped, but receipt has not been confirmed; seller has used the Ship Items action.",
        8,
    ),
    5: ("Cancelled", "Seller has cancelled an order, due to a stock inconsistency or other reasons.", 9),
    6: (
        "Declined",
        "Seller has marked the order as declined for lack of manual payment, or other reasons.",
        10,
    ),
    4: ("Refunded", "Seller has used the Refund action.", 11),
    13: (
        "Disputed",
        "Customer has initiated a dispute resolution process for the PayPal transaction that paid for the order.",
        12,
    ),
    12: (
        "Manual Verification Required",
        "Order is on hold while some aspect needs to be manually confirmed.",
        13,
    ),
    14: ("Partially Refunded", "Seller has partially refunded the order.", 14),
}
# 64 slots: the base status of an order is _STATUS_WHEEL[hash % 64].
_STATUS_WHEEL = (
    (10,) * 22
    + (2,) * 10
    + (11,) * 9
    + (9,) * 3
    + (7,) * 3
    + (1,) * 2
    + (0,) * 2
    + (5,) * 3
    + (4,) * 2
    + (14,) * 2
    + (3,) * 2
    + (8,) * 1
    + (6,) * 1
    + (12,) * 1
    + (13,) * 1
)
# What an order's status becomes when it is updated: fulfilment moves forward.
_NEXT_STATUS = {
    0: 1,
    1: 7,
    7: 11,
    11: 9,
    9: 2,
    2: 10,
    3: 2,
    8: 10,
    12: 11,
    13: 4,
    10: 10,
    4: 4,
    5: 5,
    6: 6,
    14: 14,
}
_PAYMENT_STATUS = {
    0: "",
    1: "pending",
    7: "pending",
    11: "captured",
    9: "captured",
    8: "captured",
    3: "captured",
    10: "captured",
    2: "captured",
    5: "void",
    6: "declined",
    4: "refunded",
    13: "captured",
    12: "held for review",
    14: "partially refunded",
}
_SHIPPED_STATUSES = frozenset({2, 10})
_UNPAID_STATUSES = frozenset({0, 1, 7})
_TAX_RATES_BP = (0, 0, 500, 825, 1000, 2000)  # basis points


class OrderShape(NamedTuple):
    """What an order's original version implies for its children, decided once at start-up."""

    items: int
    transactions: int
    deleted: bool
    status: int


def order_shape(basis: Basis, oid: int, index: int) -> OrderShape:
    """Line-item and transaction counts of an order as generated.

    The first orders of every store are fixed examples of the awkward cases a connector must handle:
    index 1 has no line items, index 2 a single one, index 3 more than 50 in one consignment, index 4 is
    soft-deleted and index 5 has no transactions. Beyond them the same cases recur at low rates.
    """
    h = record_hash(basis.key("orders"), oid)
    status = base_status(h, index)
    roll = (h >> 20) % 1000
    if index == 1:
        items = 0
    elif index == 2:
        items = 1
    elif index == 3:
        items = BIG_ORDER_ITEMS + (h >> 30) % 15
    elif index <= 5:
        items = 2 + (h >> 30) % 4
    elif roll < 15:
        items = 0
    elif roll < 400:
        items = 1
    elif roll > 996:
        items = BIG_ORDER_ITEMS + (h >> 30) % 15
    else:
        items = 2 + (h >> 30) % 4
    if items == 0:
        status = 0
    deleted = index == 4 or (index > 5 and (h >> 40) % 200 == 0)
    return OrderShape(
        items=items, transactions=base_transactions(h, status, index), deleted=deleted, status=status
    )


def base_status(h: int, index: int) -> int:
    if index == 1:
        return 0
    if index == 5:
        return 7
    if 1 < index <= 4:
        return 10
    return _STATUS_WHEEL[(h >> 2) % 64]


def base_transactions(h: int, status: int, index: int) -> int:
    if status in _UNPAID_STATUSES or payment_method_index(h) == 0:
        return 0
    if status in (4, 14, 5):
        return 2
    return 1 + ((h >> 48) % 4 == 0)


def tax_rate_bp(h: int) -> int:
    """The tax rate of an order's line items, in basis points, from the order's hash."""
    return _TAX_RATES_BP[(h >> 52) % len(_TAX_RATES_BP)]


def refunded_cents(plan: OrderPlan, total_inc: int) -> int:
    """What was refunded: all of a Refunded order, a third of a Partially Refunded one."""
    return total_inc if plan.status == 4 else (total_inc // 3 if plan.status == 14 else 0)


def payment_method_index(h: int) -> int:
    return int((h >> 44) % 12)


def status_for_version(base: int, version: int) -> int:
    status = base
    for _ in range(min(version, 8)):
        status = _NEXT_STATUS[status]
    return status


PAYMENT_METHODS = (
    "Manual",
    "Credit Card",
    "Credit Card",
    "Credit Card",
    "Credit Card",
    "Credit Card",
    "PayPal",
    "Credit Card",
    "Cash on Delivery",
    "Credit Card",
    "Store Credit",
    "Test Payment Gateway",
)


class LineItem(NamedTuple):
    op_id: int
    product_id: int
    name: str
    sku: str
    ptype: str
    quantity: int
    price: int
    tax_bp: int
    consignment: int  # index into OrderPlan.consignments
    option_seed: int


class Consignment(NamedTuple):
    kind: str  # "shipping" | "pickups" | "downloads" | "gift_certificates"
    cid: int
    items: tuple[int, ...]  # positions in OrderPlan.items


class OrderPlan(NamedTuple):
    """One order version with its line items and consignments; the order, its products, consignments and
    transactions are all rendered from it, so they always agree."""

    oid: int
    position: int
    version: int
    h: int
    created: int
    modified: int
    deleted: bool
    status: int
    customer_id: int
    channel_id: int
    items: tuple[LineItem, ...]
    consignments: tuple[Consignment, ...]
    transactions: tuple[tuple[int, int], ...]


def plan_order(
    basis: Basis,
    oid: int,
    index: int,
    version: int,
    created: int,
    modified: int,
    deleted: bool,
    items: list[tuple[int, int]],
    transactions: list[tuple[int, int]],
    product_core_of: Callable[[int], tuple[str, str, int, str, int]] | None = None,
) -> OrderPlan:
    """An order version with its line items; ``product_core_of`` may memoise ``product_core``."""
    h = record_hash(basis.key("orders"), oid)
    status = status_for_version(order_shape(basis, oid, index).status, version)
    # Customers and products that existed when the order was placed: both grow with time like orders.
    share = (index + 1) / max(basis.counts["orders"], 1)
    if basis.counts["customers"] and (h >> 8) % 7:
        cidx = (h >> 11) % max(1, min(basis.counts["customers"], int(basis.counts["customers"] * share) + 1))
        customer_id = basis.base_id("customers", cidx)
    else:
        customer_id = 0
    channels = channel_ids_of(basis)
    channel_id = 1 if (h >> 14) % 8 or len(channels) == 1 else channels[(h >> 17) % len(channels)]
    tax_bp = tax_rate_bp(h)
    kind_roll = (h >> 56) % 20
    big = len(items) > 50
    op_key = basis.key("order_products")
    n_products = max(1, min(basis.counts["products"], int(basis.counts["products"] * share) + 1))
    product_id_of = basis.layouts["products"]
    core = product_core_of or (lambda pid: product_core(basis, pid))
    drafts: list[tuple[int, int, str, str, str, int, int, int]] = []
    physical: list[int] = []
    digital: list[int] = []
    gifts: list[int] = []
    for op_id, op_version in items:
        lh = record_hash(op_key, op_id)
        qh = record_hash(op_key, op_id, op_version) if op_version else lh
        if basis.counts["products"] and lh % 40:
            pid = product_id_of((lh >> 6) % n_products)
            name, sku, price, ptype, _brand = core(pid)
        else:
            pid, name, sku, price, ptype = 0, "$25 Gift Certificate", "", 2500, "giftcertificate"
        if big and ptype != "physical":
            ptype = "physical"
        qty = 1 if qh % 10 < 7 or big else 2 + (qh >> 4) % 4
        (physical if ptype == "physical" else digital if ptype == "digital" else gifts).append(len(drafts))
        drafts.append((op_id, pid, name, sku, ptype, qty, price, lh))
    cons: list[Consignment] = []
    if physical:
        if kind_roll == 0 and not big:
            cons.append(Consignment("pickups", oid * 3 + 1, tuple(physical)))
        elif kind_roll < 3 and len(physical) > 1 and not big:
            half = len(physical) // 2
            cons.append(Consignment("shipping", oid * 3, tuple(physical[:half])))
            cons.append(Consignment("shipping", oid * 3 + 1, tuple(physical[half:])))
        else:
            cons.append(Consignment("shipping", oid * 3, tuple(physical)))
    if digital:
        cons.append(Consignment("downloads", 0, tuple(digital)))
    if gifts:
        cons.append(Consignment("gift_certificates", 0, tuple(gifts)))
    where = [-1] * len(drafts)
    for ci, c in enumerate(cons):
        for pos in c.items:
            where[pos] = ci
    placed = [
        LineItem(op_id, pid, name, sku, ptype, qty, price, tax_bp, where[pos], lh)
        for pos, (op_id, pid, name, sku, ptype, qty, price, lh) in enumerate(drafts)
    ]
    return OrderPlan(
        oid=oid,
        position=index,
        version=version,
        h=h,
        created=created,
        modified=modified,
        deleted=deleted,
        status=status,
        customer_id=customer_id,
        channel_id=channel_id,
        items=tuple(placed),
        consignments=tuple(cons),
        transactions=tuple(transactions),
    )


def line_money(li: LineItem) -> tuple[int, int, int]:
    """(price_inc_tax, total_ex_tax, total_inc_tax) in cents."""
    inc = li.price + (li.price * li.tax_bp + 5000) // 10000
    return inc, li.price * li.quantity, inc * li.quantity


def shipped_qty(plan: OrderPlan, pos: int, li: LineItem) -> int:
    if li.ptype != "physical":
        return 0
    if plan.status in _SHIPPED_STATUSES:
        return li.quantity
    if plan.status == 3:
        return li.quantity if pos % 2 == 0 else 0
    return 0


def link(basis: Basis, resource: str) -> dict[str, str]:
    """A sub-resource link object ``{url, resource}`` as order_Resp carries them."""
    return {"url": f"{basis.api_base}/stores/{basis.store_hash}/v2{resource}", "resource": resource}


class Totals(NamedTuple):
    sub_ex: int
    sub_inc: int
    ship_ex: int
    ship_inc: int
    discount: int
    total_ex: int
    total_inc: int
    items_total: int
    items_shipped: int


def order_totals(plan: OrderPlan) -> Totals:
    """Money of an order in cents, summed from its line items so order and products always agree."""
    sub_ex = sub_inc = items_total = shipped = 0
    for pos, li in enumerate(plan.items):
        _inc, t_ex, t_inc = line_money(li)
        sub_ex += t_ex
        sub_inc += t_inc
        items_total += li.quantity
        shipped += shipped_qty(plan, pos, li)
    has_shipping = any(c.kind == "shipping" for c in plan.consignments)
    ship_ex = (500 + (plan.h >> 3) % 1500) if has_shipping and (plan.h >> 2) % 3 else 0
    tax_bp = plan.items[0].tax_bp if plan.items else 0
    ship_inc = ship_ex + (ship_ex * tax_bp + 5000) // 10000
    discount = sub_inc // 20 if any(li.option_seed % 7 == 0 for li in plan.items) else 0
    return Totals(
        sub_ex,
        sub_inc,
        ship_ex,
        ship_inc,
        discount,
        sub_ex + ship_ex - discount,
        sub_inc + ship_inc - discount,
        items_total,
        shipped,
    )


def buyer(basis: Basis, plan: OrderPlan) -> tuple[str, str, str]:
    """(first name, last name, email) of whoever placed the order: its customer, or a guest."""
    if plan.customer_id:
        return customer_name(basis, plan.customer_id)
    h = plan.h
    return (
        FIRST_NAMES[(h >> 5) % len(FIRST_NAMES)][0],
        LAST_NAMES[(h >> 9) % len(LAST_NAMES)][0],
        f"guest{plan.oid}@example.com",
    )


def billing_address(basis: Basis, plan: OrderPlan) -> dict[str, Any]:
    """The order's billing_address (billingAddress_Base and form_fields in reference/orders.v2.oas2.yml)."""
    h = plan.h
    first, last, email = buyer(basis, plan)
    place = PLACES[(h >> 23) % len(PLACES)]
    return {
        "first_name": first,
        "last_name": last,
        "company": COMPANIES[(h >> 29) % len(COMPANIES)],
        "street_1": f"{(h >> 31) % 9000 + 1} {STREETS[(h >> 35) % len(STREETS)]}",
        "street_2": "",
        "city": place[0],
        "state": place[1],
        "zip": place[2],
        "country": place[3],
        "country_iso2": place[4],
        "phone": "" if (h >> 39) % 3 == 0 else f"555-{(h >> 43) % 900 + 100}-{(h >> 47) % 9000 + 1000}",
        "email": email,
        "form_fields": [],
    }


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    """GET /v2/orders/{id} without includes (order_Resp in reference/orders.v2.oas2.yml)."""
    plan = rel.order_plan(row.rid)
    h = plan.h
    oid = plan.oid
    t = order_totals(plan)
    sub_ex, sub_inc, ship_ex, ship_inc, discount = t.sub_ex, t.sub_inc, t.ship_ex, t.ship_inc, t.discount
    total_ex, total_inc, items_total, shipped = t.total_ex, t.total_inc, t.items_total, t.items_shipped
    has_shipping = any(c.kind == "shipping" for c in plan.consignments)
    status_name = STATUSES[plan.status][0]
    place = PLACES[(h >> 23) % len(PLACES)]
    pm = PAYMENT_METHODS[payment_method_index(h)]
    shipped_at = ""
    if plan.status in _SHIPPED_STATUSES and has_shipping:
        shipped_at = rfc2822(min(plan.modified, plan.created + 3600 + (h >> 27) % (5 * 86400)))
    refunded = refunded_cents(plan, total_inc)
    digital_only = bool(plan.items) and all(li.ptype != "physical" for li in plan.items)
    return {
        "id": oid,
        "customer_id": plan.customer_id,
        "date_created": rfc2822(plan.created),
        "date_modified": rfc2822(plan.modified),
        "date_shipped": shipped_at,
        "status_id": plan.status,
        "status": status_name,
        "subtotal_ex_tax": money4(sub_ex),
        "subtotal_inc_tax": money4(sub_inc),
        "subtotal_tax": money4(sub_inc - sub_ex),
        "base_shipping_cost": money4(ship_ex),
        "shipping_cost_ex_tax": money4(ship_ex),
        "shipping_cost_inc_tax": money4(ship_inc),
        "shipping_cost_tax": money4(ship_inc - ship_ex),
        "shipping_cost_tax_class_id": 2,
        "base_handling_cost": "0.0000",
        "handling_cost_ex_tax": "0.0000",
        "handling_cost_inc_tax": "0.0000",
        "handling_cost_tax": "0.0000",
        "handling_cost_tax_class_id": 2,
        "base_wrapping_cost": "0.0000",
        "wrapping_cost_ex_tax": "0.0000",
        "wrapping_cost_inc_tax": "0.0000",
        "wrapping_cost_tax": "0.0000",
        "wrapping_cost_tax_class_id": 3,
        "total_ex_tax": money4(total_ex),
        "total_inc_tax": money4(total_inc),
        "total_tax": money4(total_inc - total_ex),
        "is_tax_inclusive_pricing": False,
        "items_total": items_total,
        "items_shipped": shipped,
        "payment_method": pm,
        "payment_provider_id": "" if pm in ("Manual", "Cash on Delivery") else f"{(h >> 7) % 10**10:010d}",
        "payment_status": _PAYMENT_STATUS[plan.status],
        "refunded_amount": money4(refunded),
        "order_is_digital": digital_only,
        "store_credit_amount": "0.0000",
        "gift_certificate_amount": "0.0000",
        "ip_address": f"{(h >> 33) % 223 + 1}.{(h >> 41) % 256}.{(h >> 49) % 256}.{(h >> 57) % 254 + 1}",
        "ip_address_v6": "",
        "geoip_country": place[3],
        "geoip_country_iso2": place[4],
        "currency_id": 1,
        "currency_code": "USD",
        "currency_exchange_rate": "1.0000000000",
        "default_currency_id": 1,
        "default_currency_code": "USD",
        "staff_notes": "" if plan.version == 0 else f"Updated by staff (revision {plan.version}).",
        "customer_message": "" if (h >> 19) % 5 else "Please leave at the door — merci!",
        "discount_amount": money4(discount),
        "coupon_discount": money4(discount),
        "shipping_address_count": sum(1 for c in plan.consignments if c.kind == "shipping"),
        "is_deleted": plan.deleted,
        "ebay_order_id": "0",
        "cart_id": uuid_of(h, 3),
        "billing_address": billing_address(basis, plan),
        "is_email_opt_in": (h >> 61) % 2 == 0,
        "credit_card_type": None,
        "order_source": ("www", "www", "www", "manual", "external", "checkout_api", "iphone")[(h >> 58) % 7],
        "channel_id": plan.channel_id,
        "external_source": None,
        "consignments": link(basis, f"/orders/{oid}/consignments"),
        "products": link(basis, f"/orders/{oid}/products"),
        "shipping_addresses": link(basis, f"/orders/{oid}/shippingaddresses"),
        "coupons": link(basis, f"/orders/{oid}/coupons"),
        "fees": link(basis, f"/orders/{oid}/fees"),
        "external_id": None,
        "external_merchant_id": None,
        "tax_provider_id": "BasicTaxProvider",
        "store_default_currency_code": "",
        "store_default_to_transactional_exchange_rate": "1.0000000000",
        "custom_status": status_name,
        "customer_locale": "en",
        "external_order_id": "",
    }


def sort_key(basis: Basis, oid: int, field: str, rel: Relations) -> Any:
    plan = rel.order_plan(oid)
    if field == "customer_id":
        return plan.customer_id
    if field == "status_id":
        return plan.status
    if field == "channel_id":
        return plan.channel_id
    if field == "external_id":
        return 0
    raise KeyError(field)
