"""Transactions, as GET /v3/orders/{id}/transactions returns them (Transaction in reference/orders.v3.yml);
rendered per order, from its plan."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, iso_z, record_hash
from bigcommerce_sandbox.generators.orders import PAYMENT_METHODS, OrderPlan, payment_method_index
from bigcommerce_sandbox.pools import CARD_TYPES, GATEWAYS


def transaction(
    basis: Basis, plan: OrderPlan, k: int, tx_id: int, tx_version: int, total_cents: int
) -> dict[str, Any]:
    """One element of GET /v3/orders/{id}/transactions (Transaction in reference/orders.v3.yml).

    ``order_id`` is a string there, unlike everywhere else.
    """
    th = record_hash(basis.key("transactions"), tx_id, tx_version)
    gateway, method, pm_id = GATEWAYS[plan.h % len(GATEWAYS)]
    pm = PAYMENT_METHODS[payment_method_index(plan.h)]
    if pm == "Cash on Delivery":
        gateway, method, pm_id = "cod", "offline", "cod"
    elif pm == "Store Credit":
        gateway, method, pm_id = "storecredit", "store_credit", "storecredit"
    base_status_ = plan.status
    first_event = "purchase"
    event = first_event
    amount = total_cents
    status = "ok"
    if k > 0:
        if base_status_ in (4, 14):
            event = "refund"
            amount = total_cents if base_status_ == 4 else total_cents // 3
        elif base_status_ == 5:
            event = "void"
        else:
            event = "capture"
    elif base_status_ == 5:
        event = "authorization"
    elif base_status_ == 6:
        status = "error"
    span = max(1, plan.modified - plan.created)
    created = plan.created + min(span, 60 + k * (span // 3) + (th % 600))
    rec: dict[str, Any] = {
        "id": tx_id,
        "order_id": str(plan.oid),
        "event": event,
        "method": method,
        "amount": amount / 100,
        "currency": "USD",
        "gateway": gateway,
        "gateway_transaction_id": f"{th % 10**12:012d}" if method != "offline" else "",
        "date_created": iso_z(created),
        "test": False,
        "status": status,
        "fraud_review": (th >> 40) % 50 == 0,
        "reference_transaction_id": tx_id - 1 if k > 0 else 0,
        "offline": {"display_name": "Cash on Delivery"} if method == "offline" else None,
        "custom": None,
        "payment_method_id": pm_id,
        "payment_instrument_token": None,
        "provider_instrument_token": None,
        "provider_customer_id": None,
        "avs_result": {
            "code": "Y" if method == "credit_card" else "",
            "message": "",
            "street_match": "",
            "postal_match": "",
        },
        "cvv_result": {"code": "M" if method == "credit_card" else "", "message": ""},
        "gift_certificate": None,
        "store_credit": {"remaining_balance": round(((th >> 8) % 5000) / 100, 2)}
        if method == "store_credit"
        else None,
        "custom_provider_field_result": None,
    }
    if method == "credit_card":
        rec["credit_card"] = {
            "card_type": CARD_TYPES[(th >> 20) % len(CARD_TYPES)],
            "card_iin": f"{(th >> 24) % 900000 + 100000}",
            "card_last4": f"{(th >> 44) % 10000:04d}",
            "card_expiry_month": (th >> 50) % 12 + 1,
            "card_expiry_year": 2026 + (th >> 54) % 6,
        }
    return rec
