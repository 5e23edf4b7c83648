"""Price lists, as GET /v3/pricelists returns them (reference/price_lists.v3.yml)."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, iso_z, record_hash

_NAMES = (
    "Wholesale",
    "VIP",
    "Trade EU",
    "Distributors",
    "Staff",
    "Outlet",
    "Großhandel",
    "Partners — Tier 1",
)


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    lid, version, created, modified = row
    index = lid - basis.base_id("price_lists", 0)
    base = _NAMES[index % len(_NAMES)]
    name = base if 0 <= index < len(_NAMES) else f"{base} {lid}"
    v = record_hash(basis.key("price_lists"), lid, version)
    return {
        "id": lid,
        "name": name,
        "date_created": iso_z(created),
        "date_modified": iso_z(modified),
        "active": v % 5 != 0,
    }
