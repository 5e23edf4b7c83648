"""Brands, as GET /v3/catalog/brands returns them (reference/catalog/brands_catalog.v3.yml)."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, record_hash
from bigcommerce_sandbox.pools import BRAND_NAMES


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    bid, version, _created, _modified = row
    h = record_hash(basis.key("brands"), bid)
    index = bid - basis.base_id("brands", 0)
    base = BRAND_NAMES[index % len(BRAND_NAMES)]
    name = base if index < len(BRAND_NAMES) else f"{base} {index // len(BRAND_NAMES) + 1}"
    slug = name.lower().replace(" ", "-").replace(".", "")
    return {
        "id": bid,
        "name": name,
        "page_title": "" if version == 0 and h % 3 else f"{name} (rev {version})",
        "meta_keywords": [""] if (h >> 4) % 2 else ["modern", "clean"],
        "meta_description": "" if (h >> 6) % 2 else f"{name} makes things.",
        "image_url": "" if (h >> 8) % 3 else f"https://cdn.example.com/brands/{bid}.png",
        "search_keywords": "",
        "custom_url": {"url": f"/brands/{slug}.html", "is_customized": False},
    }
