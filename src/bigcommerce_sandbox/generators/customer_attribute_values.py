"""Customer attribute values, as GET /v3/customers/attribute-values returns them (reference/customers.v3.yml,
CustomerAttributeValueCollectionResponse): a customer's value for one of the store's attributes, always a
string whatever the attribute's type. A customer has at most one value per attribute."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, iso_date, iso_z, mix, record_hash
from bigcommerce_sandbox.generators.customer_attributes import attribute_of

VALUES = ("gold", "silver", "42", "EU 39", "Ünïcode ✓", "bronze")


def count(basis: Basis, cid: int, index: int) -> int:
    """Values of a generated customer: none for most, one or two of the store's original attributes."""
    roll = mix(record_hash(basis.key("customer_attribute_values"), cid) ^ 0xA7) % 10
    return min(basis.counts["customer_attributes"], 0 if roll < 5 else 1 if roll < 8 else 2)


def attribute_id(basis: Basis, cid: int, k: int) -> int:
    """The attribute of a customer's k-th value: consecutive original attributes from a per-customer
    start, so one customer never holds two values of one attribute."""
    n = max(basis.counts["customer_attributes"], 1)
    start = record_hash(basis.key("customer_attribute_values"), cid) % n
    return basis.base_id("customer_attributes", (start + k) % n)


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    vid, version, created, modified = row
    cid = rel.parent_of("customer_attribute_values", vid)
    aid = attribute_id(basis, cid, rel.child_index("customer_attribute_values", vid))
    v = record_hash(basis.key("customer_attribute_values"), vid, version)
    kind = attribute_of(basis, aid)[1]
    if kind == "number":
        value = str(v % 90 + 10)
    elif kind == "date":
        value = iso_date(created - (v % 20_000) * 86400)
    else:
        value = VALUES[v % len(VALUES)]
    return {
        "id": vid,
        "attribute_id": aid,
        "attribute_value": value,
        "customer_id": cid,
        "date_created": iso_z(created),
        "date_modified": iso_z(modified),
    }
