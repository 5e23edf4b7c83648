"""Product variants, as GET /v3/catalog/variants and the products list's ``include=variants`` return them
(reference/catalog/product-variants_catalog.v3.yml, productVariant_Full).

Every product has its base variant, ``pid * 3 + 1``: the ``base_variant_id`` the product names and the
``variant_id`` its order line items quote. A product with a variant option (product_options.py) has two
or three variants, one per value of the option, in slots 1 to 3 of ``ChildIds(3)``; a variant created
later takes a free slot of such a product. The first variant is never deleted, as a product always keeps
one. Changing a variant does not move its product's ``date_modified`` (Fivetran's troubleshooting notes
this of BigCommerce), so products and their variants change independently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bigcommerce_sandbox.basis import Basis, ChildIds, Relations, Row, record_hash
from bigcommerce_sandbox.generators.product_options import option_shape
from bigcommerce_sandbox.generators.products import product_core

IDS = ChildIds(3)


def slots(basis: Basis, pid: int, rel: Relations) -> Sequence[int]:
    """The variants generated with a product: its base variant alone, or one per value of its option
    for two products in three of those that have one."""
    if option_shape(basis, pid) is None:
        return (1,)
    return (1, 2, 3) if record_hash(basis.key("product_variants"), -pid) % 3 else (1, 2)


def room(basis: Basis, pid: int) -> Sequence[int]:
    """Every slot a variant of the product may take: one per value of its option."""
    return (1, 2, 3) if option_shape(basis, pid) is not None else (1,)


def sku_of(basis: Basis, vid: int) -> str:
    """The variant's SKU: its product's, with the slot appended for products with options."""
    pid = IDS.parent(vid)
    sku = product_core(basis, pid)[1]
    return sku if option_shape(basis, pid) is None else f"{sku}-{IDS.slot(vid)}"


def price_of(basis: Basis, vid: int) -> int:
    """The variant's original list price in cents (price list records start from it)."""
    pid = IDS.parent(vid)
    base = product_core(basis, pid)[2]
    step = (record_hash(basis.key("product_variants"), vid) >> 8) % 5 * 100
    return base + step * (IDS.slot(vid) - 1)


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    vid, version, _created, _modified = row
    pid, slot = IDS.parent(vid), IDS.slot(vid)
    _name, _sku, _base, ptype, _brand = product_core(basis, pid)
    shape = option_shape(basis, pid)
    h = record_hash(basis.key("product_variants"), vid)
    v = record_hash(basis.key("product_variants"), vid, version) if version else h
    # An update always moves the price (up: a 1 to 200 cent rise on the original).
    price = price_of(basis, vid) + (0 if version == 0 else 1 + v % 200)
    on_sale = (v >> 4) % 5 == 0
    sale = round(price * 0.85) if on_sale else 0
    weight = 0 if ptype == "digital" else ((h >> 12) % 1500 + 10) / 100
    option_values: list[dict[str, Any]] = []
    if shape is not None:
        value_id, label = shape.values[slot - 1]
        option_values.append(
            {
                "id": value_id,
                "label": label,
                "option_id": shape.option_id,
                "option_display_name": shape.display_name,
            }
        )
    inventory = (v >> 20) % 120 if (h >> 30) % 3 else 0
    return {
        "id": vid,
        "product_id": pid,
        "sku": sku_of(basis, vid),
        # "Read-only reference to v2 APIʼs SKU ID. Null if it is a base variant."
        "sku_id": None if shape is None else vid + 11,
        "price": price / 100,
        "calculated_price": (sale or price) / 100,
        "sale_price": sale / 100,
        "retail_price": None if (h >> 24) % 3 else round(price * 1.25) / 100,
        "cost_price": round(price * 0.5) / 100,
        "weight": weight,
        "calculated_weight": weight,
        "width": (h >> 32) % 30,
        "height": (h >> 36) % 30,
        "depth": (h >> 40) % 30,
        "is_free_shipping": (h >> 44) % 9 == 0,
        "fixed_cost_shipping_price": None,
        "purchasing_disabled": (v >> 46) % 25 == 0,
        "purchasing_disabled_message": "" if (v >> 46) % 25 else "Back soon.",
        "image_url": "" if (h >> 48) % 3 else f"https://cdn.example.com/variants/{vid}.jpg",
        "upc": "" if (h >> 50) % 4 else f"{(h % 10**12):012d}",
        "mpn": "" if (h >> 52) % 5 else f"MPN-{vid}",
        "gtin": "",
        "inventory_level": inventory,
        "inventory_warning_level": 3 if inventory else 0,
        "bin_picking_number": "" if (h >> 54) % 3 else f"BIN-{vid % 97}",
        "option_values": option_values,
    }
