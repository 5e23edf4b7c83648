"""Categories, as GET /v3/catalog/categories and GET /v3/catalog/trees/categories return them: one table,
two shapes (reference/catalog/categories_catalog.v3.yml, category-trees_catalog.v3.yml)."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, record_hash, uuid_of
from bigcommerce_sandbox.pools import CATEGORY_WORDS, DEFAULT_SORTS


def category_parent(basis: Basis, index: int) -> int:
    """Parent index (or -1 for a root) of the index-th category; roots come first, depth stays small."""
    if index < max(2, basis.counts["categories"] // 5):
        return -1
    h = record_hash(basis.key("categories"), index, 99)
    return int(h % index)


def category_tree(basis: Basis, index: int, storefronts: int) -> int:
    """Tree 1 is the default storefront's; a second storefront gets every tenth root and its subtree."""
    while True:
        parent = category_parent(basis, index)
        if parent < 0:
            return 2 if storefronts > 1 and index % 10 == 9 else 1
        index = parent


def category_fields(basis: Basis, cid: int, version: int, parent_id: int) -> dict[str, Any]:
    index = cid - basis.base_id("categories", 0)
    h = record_hash(basis.key("categories"), cid)
    v = record_hash(basis.key("categories"), cid, version) if version else h
    word = CATEGORY_WORDS[index % len(CATEGORY_WORDS)]
    name = word if index < len(CATEGORY_WORDS) else f"{word} {index // len(CATEGORY_WORDS) + 1}"
    slug = name.lower().replace(" ", "-")
    return {
        "name": name[:50],
        "parent_id": parent_id,
        "description": "" if h % 3 else f"<p>All things {name.lower()}.</p>",
        "views": (v >> 4) % 5000,
        "sort_order": (h >> 16) % 10,
        "page_title": "" if (h >> 20) % 2 else name,
        "meta_keywords": [""] if (h >> 22) % 2 else [slug],
        "meta_description": "",
        "layout_file": "category.html",
        "image_url": "",
        "is_visible": (h >> 24) % 12 != 0,
        "search_keywords": "",
        "default_product_sort": DEFAULT_SORTS[(h >> 26) % len(DEFAULT_SORTS)],
        "slug": f"/{slug}/",
        "uuid": uuid_of(h, v if version else 0),
    }


CATEGORY_FIELDS = (
    "name",
    "description",
    "views",
    "sort_order",
    "page_title",
    "meta_keywords",
    "meta_description",
    "layout_file",
    "image_url",
    "is_visible",
    "search_keywords",
    "default_product_sort",
)
"""What the legacy categories endpoint and the category-trees endpoint share, in the specs' order."""


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    """The legacy /v3/catalog/categories shape."""
    cid, version, _created, _modified = row
    parent_id = rel.category_parent(cid)
    f = category_fields(basis, cid, version, parent_id)
    return {
        "id": cid,
        "parent_id": parent_id,
        **{name: f[name] for name in CATEGORY_FIELDS},
        "custom_url": {"url": f["slug"], "is_customized": False},
    }


def render_tree(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    """The /v3/catalog/trees/categories shape: ``category_id`` and ``url`` instead of ``id`` and
    ``custom_url`` (reference/catalog/category-trees_catalog.v3.yml)."""
    cid, version, _created, _modified = row
    parent_id, tree_id = rel.category_parent(cid), rel.category_tree(cid)
    f = category_fields(basis, cid, version, parent_id)
    return {
        "category_id": cid,
        "category_uuid": f["uuid"],
        "parent_id": parent_id,
        "tree_id": tree_id,
        **{name: f[name] for name in CATEGORY_FIELDS},
        "url": {"path": f["slug"], "is_customized": False},
    }
