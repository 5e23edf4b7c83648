"""Price list records, as GET /v3/pricelists/{price_list_id}/records returns them
(reference/price_lists.v3.yml): the price of one variant in one currency on one price list.

A record has no id of its own; BigCommerce names it by (price_list_id, variant_id, currency). The
sandbox keeps it under ``price_list_id * 2**22 + slot`` (``ChildIds(2**22)``), whose slot is
``variant_id * 2 + currency`` (0 for usd, 1 for eur), so the records of a list sort by variant then
currency and the record behind any id is arithmetic. Each list prices a share of the variants (5 to
25%) in usd, and one list in four in eur too. Deleting a variant or its product deletes its records;
changing a record moves neither its price list's nor its variant's dates.

``include=bulk_pricing_tiers`` and ``include=sku`` add those fields (the export carries both).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bigcommerce_sandbox.basis import Basis, ChildIds, Relations, Row, iso_z, mix, record_hash
from bigcommerce_sandbox.generators.product_variants import IDS as VARIANT_IDS
from bigcommerce_sandbox.generators.product_variants import price_of, sku_of

IDS = ChildIds(1 << 22)
CURRENCIES = ("usd", "eur")
_EUR_RATE = 0.92


def _share(basis: Basis, lid: int) -> tuple[int, bool]:
    """A list's share of the variants (in 1/64ths: 5 to 25%) and whether it prices them in eur too."""
    h = record_hash(basis.key("price_lists"), -lid)
    return 3 + h % 14, (h >> 8) % 4 == 0


def slots(basis: Basis, lid: int, rel: Relations) -> Sequence[int]:
    share, eur = _share(basis, lid)
    key = record_hash(basis.key("price_list_records"), lid)
    # One hash per (list, variant): mix() directly, as this runs for every variant of every list.
    chosen = [vid for vid in rel.ids("product_variants") if mix(key ^ vid) & 63 < share]
    if not eur:
        return [vid << 1 for vid in chosen]
    return [slot for vid in chosen for slot in (vid << 1, vid << 1 | 1)]


def naming(vid: int) -> Sequence[int]:
    """The slots of a list that name variant ``vid``: one per currency."""
    return (vid << 1, vid << 1 | 1)


def key(rid: int) -> list[Any]:
    """The record's key as BigCommerce names it: [price_list_id, variant_id, currency]."""
    slot = IDS.slot(rid)
    return [IDS.parent(rid), slot >> 1, CURRENCIES[slot & 1]]


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    rid, version, created, modified = row
    lid, slot = IDS.parent(rid), IDS.slot(rid)
    vid, currency = slot >> 1, CURRENCIES[slot & 1]
    h = record_hash(basis.key("price_list_records"), rid)
    v = record_hash(basis.key("price_list_records"), rid, version) if version else h
    discount = 70 + (record_hash(basis.key("price_lists"), lid) + (v >> 5)) % 26  # 70-95% of list price
    cents = price_of(basis, vid) * discount // 100
    if currency == "eur":
        cents = round(cents * _EUR_RATE)
    # The spec types these as numbers, never null; a price without a sale carries the price as its sale
    # price, as the spec's examples do.
    sale = cents * 9 // 10 if (v >> 12) % 4 == 0 else cents
    record: dict[str, Any] = {
        "price_list_id": lid,
        "variant_id": vid,
        "price": cents / 100,
        "sale_price": sale / 100,
        "retail_price": round(cents * (1.3 if (h >> 16) % 3 else 1)) / 100,
        "map_price": sale / 100,
        "calculated_price": sale / 100,
        "date_created": iso_z(created),
        "date_modified": iso_z(modified),
        "currency": currency,
        "product_id": VARIANT_IDS.parent(vid),
    }
    includes = variant.split(",")
    if "bulk_pricing_tiers" in includes:
        tiers: list[dict[str, Any]] = []
        if (h >> 20) % 4 == 0:
            tiers = [
                {"quantity_min": 10, "quantity_max": 49, "type": "percent", "amount": 2},
                {"quantity_min": 50, "quantity_max": None, "type": "percent", "amount": 5},
            ]
        record["bulk_pricing_tiers"] = tiers
    if "sku" in includes:
        record["sku"] = sku_of(basis, vid)
    return record
