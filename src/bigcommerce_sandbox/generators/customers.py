"""Customers, as GET /v3/customers returns them (reference/customers.v3.yml, Customer)."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, channel_ids_of, iso_z, record_hash
from bigcommerce_sandbox.pools import COMPANIES, FIRST_NAMES, LAST_NAMES, NOTES


def customer_name(basis: Basis, cid: int) -> tuple[str, str, str]:
    """(first_name, last_name, email) of a customer; stable across updates so orders can quote it."""
    h = record_hash(basis.key("customers"), cid)
    first, first_ascii = FIRST_NAMES[h % len(FIRST_NAMES)]
    last, last_ascii = LAST_NAMES[(h >> 8) % len(LAST_NAMES)]
    return first, last, f"{first_ascii}.{last_ascii}{cid}@example.com"


def address_count(basis: Basis, cid: int, index: int = 0) -> int:
    """How many addresses a generated customer has (customer_addresses are generated to match)."""
    return _addresses(record_hash(basis.key("customers"), cid))


def _addresses(h: int) -> int:
    return (h >> 57) % 3


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    cid, version, created, modified = row
    h = record_hash(basis.key("customers"), cid)
    v = record_hash(basis.key("customers"), cid, version) if version else h
    first, last, email = customer_name(basis, cid)
    channels = channel_ids_of(basis)
    origin = channels[0] if (h >> 24) % 8 or len(channels) == 1 else channels[(h >> 27) % len(channels)]
    ip = (
        ""
        if (h >> 30) % 5 == 0
        else f"{(h >> 32) % 223 + 1}.{(h >> 40) % 256}.{(h >> 48) % 256}.{(h >> 56) % 254 + 1}"
    )
    # The live count once addresses were first used (Relations.child_count), the generated one before:
    # the same figure until addresses change.
    addresses = rel.child_count("customer_addresses", cid)
    phone = "" if (v >> 34) % 4 == 0 else f"+1 555-{(v >> 36) % 900 + 100:03d}-{(v >> 46) % 10000:04d}"
    return {
        "id": cid,
        "authentication": {"force_password_reset": (v >> 5) % 23 == 0},
        "company": COMPANIES[(v >> 10) % len(COMPANIES)],
        "customer_group_id": 0 if (v >> 14) % 4 else (v >> 17) % 3 + 1,
        "email": email,
        "first_name": first,
        "last_name": last,
        "notes": NOTES[(v >> 20) % len(NOTES)] if version == 0 else f"Updated (revision {version}).",
        "phone": phone,
        "registration_ip_address": ip,
        "tax_exempt_category": "" if (h >> 50) % 16 else "G",
        "date_created": iso_z(created),
        "date_modified": iso_z(modified),
        "accepts_product_review_abandoned_cart_emails": (h >> 52) % 3 == 0,
        "origin_channel_id": origin,
        "channel_ids": [origin] if origin != 1 or (h >> 55) % 2 else [1],
        "address_count": _addresses(h) if addresses is None else addresses,
        "attribute_count": 0,
        "store_credit_amounts": [{"amount": 0}]
        if (h >> 59) % 4
        else [{"amount": round(((h >> 12) % 5000) / 100, 2)}],
    }


def sort_key(basis: Basis, cid: int, field: str, rel: Relations) -> Any:
    if field == "last_name":
        return customer_name(basis, cid)[1]
    raise KeyError(field)
