"""Product custom fields, as GET /v3/catalog/products/{product_id}/custom-fields and the products list's
``include=custom_fields`` return them (reference/catalog/products_catalog.v3.yml,
productCustomField_Put): ``{id, name, value}``, without the product's id, which the export adds.

Zero to three fields a product, half of the products none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bigcommerce_sandbox.basis import Basis, ChildIds, Relations, Row, record_hash

IDS = ChildIds(3)
_COUNTS = (0, 0, 0, 0, 1, 1, 2, 3)
_FIELDS = (
    ("ISBN", ("978-3-16-148410-0", "978-0-306-40615-7", "979-8-88-888888-1")),
    ("Material", ("100% cotton", "Linen & wool", "Recycled steel")),
    ("Origin", ("Portugal", "Japan", "Österreich")),
    ("Care", ("Hand wash only", "Machine wash 30 °C", "Wipe clean")),
    ("Release date", ("2024-03-01", "2025-11-15", "Spring 2026")),
)


def slots(basis: Basis, pid: int, rel: Relations) -> Sequence[int]:
    return range(1, _COUNTS[record_hash(basis.key("product_custom_fields"), -pid) % len(_COUNTS)] + 1)


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    fid, version, _created, _modified = row
    pid, slot = IDS.parent(fid), IDS.slot(fid)
    h = record_hash(basis.key("product_custom_fields"), pid)
    name, values = _FIELDS[(h + slot) % len(_FIELDS)]
    return {"id": fid, "name": name, "value": values[((h >> 8) + slot + version) % len(values)]}
