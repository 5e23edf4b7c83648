"""Customer attributes, as GET /v3/customers/attributes returns them (reference/customers.v3.yml,
CustomerAttributesResponse): the store's custom fields on customers, each with a value type."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, iso_z

ATTRIBUTES = (
    ("Age", "number"),
    ("Date Joined", "date"),
    ("Shoe size", "string"),
    ("Loyalty tier", "string"),
    ("Lieblingsfarbe", "string"),
    ("Birthday", "date"),
    ("Kids", "number"),
    ("Referral code", "string"),
)


def attribute_of(basis: Basis, aid: int) -> tuple[str, str]:
    """(name, type) of an attribute; stable across updates, so its values keep their type."""
    index = aid - basis.base_id("customer_attributes", 0)
    name, kind = ATTRIBUTES[index % len(ATTRIBUTES)]
    return (name if index < len(ATTRIBUTES) else f"{name} {index // len(ATTRIBUTES) + 1}"), kind


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    aid, version, created, modified = row
    name, kind = attribute_of(basis, aid)
    return {
        "id": aid,
        "name": name if version == 0 else f"{name} (rev {version})",
        "type": kind,
        "date_created": iso_z(created),
        "date_modified": iso_z(modified),
    }
