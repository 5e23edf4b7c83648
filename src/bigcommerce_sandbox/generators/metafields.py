"""Metafields of products and of variants, as the batch lists GET /v3/catalog/products/metafields and
GET /v3/catalog/variants/metafields return them (reference/catalog/products_catalog.v3.yml and
product-variants_catalog.v3.yml, Metafield).

Metafield ids are one sequence across resource types on BigCommerce, so the two layouts do not overlap:
a product's metafields are slots 1-2 of ``ChildIds(2)`` (ids up to twice the highest product id), a
variant's its one slot above 1,000,000. None is ``app_only``: another app's private fields are not
visible to a reader, and this store's own app writes none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bigcommerce_sandbox.basis import Basis, ChildIds, Relations, Row, iso_offset, record_hash

PRODUCT_IDS = ChildIds(2)
VARIANT_IDS = ChildIds(1, 1_000_000)
_FIELDS = (
    ("inventory", "warehouse_location", ("A-01-03", "B-12-07", "Regal 4 – Fach 2")),
    ("erp", "erp_id", ("100045", "100046", "200913")),
    ("marketing", "launch_campaign", ("spring-sale", "black-friday", "ñandú-2025")),
    ("Sales Department", "Staff Name", ("Ronaldo", "Zoë", "王芳")),
)
_PERMISSIONS = ("read", "write", "read_and_sf_access", "write_and_sf_access")
_CLIENTS = ("asdfasdfasdfasdfasdfasdfasdf", "0f1c2b3a4d5e6f7a8b9c0d1e2f3a4b5", "sandbox-erp-connector")


def product_slots(basis: Basis, pid: int, rel: Relations) -> Sequence[int]:
    """Seven products in ten have none, two one, one two."""
    roll = record_hash(basis.key("product_metafields"), -pid) % 10
    return range(1, (0, 0, 0, 0, 0, 0, 0, 1, 1, 2)[roll] + 1)


def variant_slots(basis: Basis, vid: int, rel: Relations) -> Sequence[int]:
    """Three variants in twenty have one."""
    return (1,) if record_hash(basis.key("variant_metafields"), -vid) % 20 < 3 else ()


def _metafield(basis: Basis, row: Row, resource: str, resource_type: str, owner: int) -> dict[str, Any]:
    mid, version, created, modified = row
    h = record_hash(basis.key(resource), mid)
    namespace, key, values = _FIELDS[h % len(_FIELDS)]
    v = record_hash(basis.key(resource), mid, version)
    return {
        "id": mid,
        "key": key,
        "value": values[v % len(values)] if version else values[(h >> 4) % len(values)],
        "namespace": namespace,
        "permission_set": _PERMISSIONS[(h >> 8) % len(_PERMISSIONS)],
        "resource_type": resource_type,
        "resource_id": owner,
        "description": "" if (h >> 12) % 3 else f"{key.replace('_', ' ')} for {resource_type} {owner}",
        "date_created": iso_offset(created),
        "date_modified": iso_offset(modified),
        "owner_client_id": _CLIENTS[(h >> 16) % len(_CLIENTS)],
    }


def render_product(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    return _metafield(basis, row, "product_metafields", "product", PRODUCT_IDS.parent(row.rid))


def render_variant(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    return _metafield(basis, row, "variant_metafields", "variant", VARIANT_IDS.parent(row.rid))
