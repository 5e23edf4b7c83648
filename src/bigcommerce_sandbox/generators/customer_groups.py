"""Customer groups, as GET /v2/customer_groups returns them (reference/customers.v2.yml, customerGroup_Full).

Customers name groups 1 to 3 in ``customer_group_id`` (generators/customers.py), so the first three ids
always exist in a generated store. The dates follow the spec's example, ``2023-07-17 06:30:41``: no zone,
unlike every other v2 date.
"""

from __future__ import annotations

import time
from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, record_hash

GROUP_NAMES = ("Retail", "Wholesale", "VIP", "Guests", "Trade — Tier 2", "Staff", "Großhandel", "B2B")


def spec_datetime(ts: int) -> str:
    """customers.v2.yml, customerGroup_Full.date_created: ``2023-07-17 06:30:41`` (UTC, no zone)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    gid, version, created, modified = row
    index = gid - basis.base_id("customer_groups", 0)
    h = record_hash(basis.key("customer_groups"), gid)
    v = record_hash(basis.key("customer_groups"), gid, version) if version else h
    base = GROUP_NAMES[index % len(GROUP_NAMES)]
    name = base if index < len(GROUP_NAMES) else f"{base} {index // len(GROUP_NAMES) + 1}"
    return {
        "id": gid,
        "name": name,
        # One default group and one group for guests, as the spec allows at most one of each.
        "is_default": index == 0,
        "category_access": _category_access(basis, h, rel),
        "discount_rules": _discount_rules(basis, v, rel),
        "date_created": spec_datetime(created),
        "date_modified": spec_datetime(modified),
        "is_group_for_guests": index == 3,
    }


def _category_access(basis: Basis, h: int, rel: Relations) -> dict[str, Any]:
    kind = ("all", "all", "all", "specific", "none")[(h >> 3) % 5]
    if kind != "specific" or not basis.counts["categories"]:
        return {"type": kind}
    live = rel.live("categories")
    wanted = {basis.base_id("categories", (h >> (8 + 4 * k)) % basis.counts["categories"]) for k in range(3)}
    return {"type": kind, "categories": sorted(c for c in wanted if live is None or c in live)}


def _discount_rules(basis: Basis, v: int, rel: Relations) -> list[dict[str, Any]]:
    """A storewide percentage, a fixed amount off one live category, or none. (Products are not named:
    deleting one does not re-render the records that name it, deleting a category does.)"""
    roll = (v >> 20) % 6
    amount = f"{(v >> 24) % 30 + 1}.0000"
    if roll == 0 and basis.counts["categories"]:
        cid = basis.base_id("categories", (v >> 30) % basis.counts["categories"])
        live = rel.live("categories")
        if live is None or cid in live:
            return [{"type": "category", "method": "fixed", "amount": amount, "category_id": cid}]
    if roll in (1, 2, 3):
        return [{"type": "all", "method": "percent", "amount": amount}]
    return []
