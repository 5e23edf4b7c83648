"""Products, as GET /v3/catalog/products returns them (reference/catalog/products_catalog.v3.yml)."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, iso_offset, mix, record_hash
from bigcommerce_sandbox.pools import ADJECTIVES, EMOJI_SUFFIXES, LOREM, MATERIALS, NOUNS


def product_core(basis: Basis, pid: int) -> tuple[str, str, int, str, int]:
    """(name, sku, price in cents, type, brand index) of a product's original version.

    Order line items quote these, so they stay stable when the product is later updated.
    """
    h = record_hash(basis.key("products"), pid)
    name = (
        f"{ADJECTIVES[h % len(ADJECTIVES)]} {MATERIALS[(h >> 6) % len(MATERIALS)]} "
        f"{NOUNS[(h >> 12) % len(NOUNS)]}{EMOJI_SUFFIXES[(h >> 18) % len(EMOJI_SUFFIXES)]} #{pid}"
    )
    sku = f"SKU-{(h >> 22) % 0xFFFF:04X}-{pid}"
    price = 199 + (h >> 30) % 49_800
    ptype = "digital" if (h >> 47) % 10 == 0 else "physical"
    return name, sku, price, ptype, (h >> 51) % max(basis.counts["brands"], 1)


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    pid, version, created, modified = row
    live_brands = rel.live("brands")
    live_categories = rel.live("categories")
    h = record_hash(basis.key("products"), pid)
    v = record_hash(basis.key("products"), pid, version) if version else h
    name, sku, base_price, ptype, brand_index = product_core(basis, pid)
    price = (
        base_price if version == 0 else base_price + (v % 2000) - 1000 if base_price > 1200 else base_price
    )
    price_f = price / 100
    sale = round(price_f * 0.8, 2) if (v >> 4) % 6 == 0 else 0
    brand_id = 0
    if basis.counts["brands"] and (h >> 3) % 7:
        brand_id = basis.base_id("brands", brand_index)
        if live_brands is not None and brand_id not in live_brands:
            brand_id = 0
    cats: list[int] = []
    if basis.counts["categories"]:
        for k in range((h >> 9) % 3 + 1):
            cid = basis.base_id("categories", (h >> (13 + 5 * k)) % basis.counts["categories"])
            if cid not in cats and (live_categories is None or cid in live_categories):
                cats.append(cid)
    desc_len = (h >> 28) % 16
    if desc_len == 0:
        description = ""
    elif desc_len == 15:
        # A long description: a few kilobytes of HTML, as real catalogs carry.
        description = "<p>" + "</p><p>".join(LOREM[(h + k) % len(LOREM)] for k in range(60)) + "</p>"
    else:
        description = "<p>" + " ".join(LOREM[(h + k) % len(LOREM)] for k in range(desc_len)) + "</p>"
    inventory = (v >> 33) % 500 if (h >> 60) % 2 else 0
    slug = name.split(" #")[0].lower().replace(" ", "-")
    imported = ""
    if basis.rare_dates and mix(h ^ 0x1D) % 4 == 0:
        # A date-time like the spec's examples (products_catalog.v3.yml: '2015-07-03T18:16:02+00:00').
        imported = iso_offset(created + mix(h ^ 0x1E) % max(1, modified - created + 1))
    return {
        "id": pid,
        "name": name,
        "type": ptype,
        "sku": sku,
        "description": description,
        "weight": 0 if ptype == "digital" else round(((h >> 36) % 2000) / 100, 2),
        "width": (h >> 38) % 40,
        "depth": (h >> 40) % 40,
        "height": (h >> 42) % 40,
        "price": price_f,
        "cost_price": round(price_f * 0.55, 2),
        "retail_price": 0 if (h >> 44) % 3 else round(price_f * 1.2, 2),
        "sale_price": sale,
        "map_price": 0,
        "tax_class_id": 0,
        "product_tax_code": "",
        "calculated_price": sale or price_f,
        "categories": cats,
        "brand_id": brand_id,
        "option_set_id": 0 if (h >> 46) % 4 else (h >> 48) % 40 + 1,
        "option_set_display": "right",
        "inventory_level": inventory,
        "inventory_warning_level": 0 if inventory == 0 else 5,
        "inventory_tracking": "product" if inventory else "none",
        "reviews_rating_sum": (h >> 49) % 40,
        "reviews_count": (h >> 49) % 9,
        "total_sold": (v >> 50) % 300,
        "fixed_cost_shipping_price": 0,
        "is_free_shipping": (h >> 53) % 5 == 0,
        "is_visible": (v >> 54) % 10 != 0,
        "is_featured": (h >> 55) % 8 == 0,
        "related_products": [-1],
        "warranty": "" if (h >> 56) % 4 else "Two-year limited warranty.",
        "bin_picking_number": "" if (h >> 57) % 3 else f"BIN-{pid % 97}",
        "layout_file": "product.html",
        "upc": "" if (h >> 58) % 3 else f"{(h % 10**12):012d}",
        "mpn": "",
        "gtin": "",
        "date_last_imported": imported,
        "search_keywords": "",
        "availability": "preorder" if (h >> 59) % 50 == 0 else "available",
        "availability_description": "",
        "gift_wrapping_options_type": "any",
        "gift_wrapping_options_list": [],
        "sort_order": 0,
        "condition": ("New", "New", "New", "Used", "Refurbished")[(h >> 61) % 5],
        "is_condition_shown": False,
        "order_quantity_minimum": 0,
        "order_quantity_maximum": 0,
        "page_title": "" if (v >> 2) % 3 else name[:60],
        "meta_keywords": [] if (h >> 5) % 3 else ["sandbox", NOUNS[(h >> 12) % len(NOUNS)].lower()],
        "meta_description": "",
        "view_count": (v >> 7) % 10000,
        "preorder_release_date": iso_offset(modified + 30 * 86400) if (h >> 59) % 50 == 0 else None,
        "preorder_message": "",
        "is_preorder_only": False,
        "is_price_hidden": False,
        "price_hidden_label": "",
        "custom_url": {"url": f"/{slug}-{pid}/", "is_customized": (h >> 11) % 9 == 0},
        "base_variant_id": pid * 3 + 1,
        "open_graph_type": "product",
        "open_graph_title": "",
        "open_graph_description": "",
        "open_graph_use_meta_description": True,
        "open_graph_use_product_name": True,
        "open_graph_use_image": True,
        "date_created": iso_offset(created),
        "date_modified": iso_offset(modified),
    }


def sort_key(basis: Basis, pid: int, field: str, rel: Relations) -> Any:
    """``name`` or ``sku`` without rendering the product (both are stable across updates)."""
    name, sku, _price, _ptype, _brand = product_core(basis, pid)
    if field == "name":
        return name
    if field == "sku":
        return sku
    raise KeyError(field)
