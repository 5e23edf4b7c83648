"""Inventory locations and items, as GET /v3/inventory/locations (reference/locations.v3.yml,
LocationResponse) and GET /v3/inventory/items (reference/inventory.v3.yml, ItemResponse) return them.

Location 1 is the store's default location, created with the store. An inventory item is a product's base
variant (``base_variant_id`` on the product, ``sku_id`` null as the spec says of base variants) with its
stock at each of the store's original locations that is still there: the stock adds up to the product's
``inventory_level``, so an item changes exactly when its product does. A location's code, label and state
never change, so an item only depends on which locations exist.
"""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, iso_z, record_hash
from bigcommerce_sandbox.generators.products import render as render_product
from bigcommerce_sandbox.pools import PLACES, STREETS

LABELS = ("Main warehouse", "Downtown store", "Lager Süd", "Pop-up shop", "Returns centre", "Outlet")
_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")


def location_of(basis: Basis, lid: int) -> tuple[str, str, bool]:
    """(code, label, enabled): what items quote of a location, stable across its updates."""
    index = lid - basis.base_id("inventory_locations", 0)
    base = LABELS[index % len(LABELS)]
    label = base if index < len(LABELS) else f"{base} {index // len(LABELS) + 1}"
    return f"LOC-{lid}", label, index % 5 != 3


def render_location(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    lid, version, created, modified = row
    h = record_hash(basis.key("inventory_locations"), lid)
    v = record_hash(basis.key("inventory_locations"), lid, version) if version else h
    code, label, enabled = location_of(basis, lid)
    city, state, zip_code, _country, iso2 = PLACES[(h >> 8) % len(PLACES)]
    # By position, so even the four locations of a tiny store differ in every flag a filter reads.
    index = lid - basis.base_id("inventory_locations", 0)
    physical = index % 4 != 2
    closing = f"{17 + (v >> 16) % 5}:00"
    return {
        "id": lid,
        "code": code,
        "label": label,
        "description": "" if version == 0 else f"Updated (revision {version}).",
        "managed_by_external_source": index % 4 == 1,
        "type_id": "PHYSICAL" if physical else "VIRTUAL",
        "enabled": enabled,
        "operating_hours": {
            day: {"open": k not in (0, 6), "opening": "09:00", "closing": closing}
            for k, day in enumerate(_DAYS)
        },
        "time_zone": "Etc/UTC",
        "created_at": iso_z(created),
        "updated_at": iso_z(modified),
        "address": {
            "address1": f"{(h >> 24) % 900 + 1} {STREETS[(h >> 34) % len(STREETS)]}",
            "address2": "",
            "city": city,
            "state": state,
            "zip": zip_code,
            "email": f"{code.lower()}@sandbox.example.com",
            "phone": f"555-{(h >> 40) % 900 + 100:03d}-{(h >> 50) % 10000:04d}",
            "geo_coordinates": {"latitude": round(((h >> 14) % 18000) / 100 - 90, 2), "longitude": 8.0},
            "country_code": iso2,
        },
        "storefront_visibility": physical and index % 4 != 3,
        "special_hours": []
        if (h >> 32) % 2
        else [{"label": "Christmas", "date": "2024-12-25", "open": False, "all_day": True, "annual": True}],
    }


def render_item(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    """A product's inventory at the locations, from the product as it is now (items are a view of
    products: same ids, same versions). ``sku_id`` is left out: the spec types it an integer and says it
    is null for a base variant."""
    product = render_product(basis, row, rel)
    pid, level = product["id"], product["inventory_level"]
    h = record_hash(basis.key("inventory_items"), pid)
    live = rel.live("inventory_locations")
    originals = (basis.base_id("inventory_locations", i) for i in range(basis.counts["inventory_locations"]))
    locations = [lid for lid in originals if live is None or lid in live]
    out = []
    left = level
    for k, lid in enumerate(locations):
        code, label, enabled = location_of(basis, lid)
        onhand = left if k == len(locations) - 1 else left * ((h >> (4 + 3 * k % 56)) % 8) // 8
        left -= onhand
        safety = min(onhand, (h >> 60) % 3)
        out.append(
            {
                "location_id": lid,
                "location_code": code,
                "location_name": label,
                "available_to_sell": onhand - safety,
                "total_inventory_onhand": onhand,
                "location_enabled": enabled,
                "settings": {
                    "safety_stock": safety,
                    "is_in_stock": onhand > 0,
                    "warning_level": product["inventory_warning_level"],
                    "bin_picking_number": product["bin_picking_number"],
                },
            }
        )
    return {
        "identity": {"sku": product["sku"], "variant_id": product["base_variant_id"], "product_id": pid},
        "locations": out,
    }
