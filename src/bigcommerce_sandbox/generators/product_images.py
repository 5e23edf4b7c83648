"""Product images, as GET /v3/catalog/products/{product_id}/images and the products list's
``include=images`` return them (reference/catalog/products_catalog.v3.yml, productImage_Full).

Zero to four images a product, slot 1 its thumbnail. Images carry a ``date_modified`` that updates move,
though no list can filter on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bigcommerce_sandbox.basis import Basis, ChildIds, Relations, Row, iso_offset, record_hash
from bigcommerce_sandbox.generators.products import product_core

IDS = ChildIds(4)
# Images a product has: 0 (3 in 20), 1 (7 in 20), 2 (5 in 20), 3 (3 in 20), 4 (2 in 20).
_COUNTS = (0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 4, 4)
_SIZES = (("zoom", "1280.1280"), ("standard", "500.659"), ("thumbnail", "220.290"), ("tiny", "44.58"))
_CAPTIONS = ("", "", "Front view", "Detail", "In use", "Packaging — recycled ♻")


def slots(basis: Basis, pid: int, rel: Relations) -> Sequence[int]:
    return range(1, _COUNTS[record_hash(basis.key("product_images"), -pid) % len(_COUNTS)] + 1)


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    iid, version, created, modified = row
    pid, slot = IDS.parent(iid), IDS.slot(iid)
    h = record_hash(basis.key("product_images"), iid)
    v = record_hash(basis.key("product_images"), iid, version) if version else h
    words = product_core(basis, pid)[0].split(" #")[0].lower().encode("ascii", "ignore").decode().split()
    slug = "-".join(w for w in ("".join(c for c in w if c.isalnum()) for w in words) if w)
    root = f"https://cdn11.bigcommerce.com/s-{basis.store_hash}/products/{pid}/images/{iid}/{slug}__{created}"
    cache = f"?c={1 + (h >> 9) % 3}"
    image: dict[str, Any] = {
        "id": iid,
        "product_id": pid,
        "is_thumbnail": slot == 1,
        "sort_order": slot - 1,
        "description": _CAPTIONS[(v >> 3) % len(_CAPTIONS)],
        "image_url": f"{root}.1280.1280.jpg{cache}",
    }
    for name, size in _SIZES:
        image[f"url_{name}"] = f"{root}.{size}.jpg{cache}"
    image["date_modified"] = iso_offset(modified)
    return image
