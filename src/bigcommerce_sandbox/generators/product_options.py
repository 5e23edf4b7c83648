"""Product variant options, as GET /v3/catalog/products/{product_id}/options and the products list's
``include=options`` return them (reference/catalog/product-variant-options_catalog.v3.yml,
productOption_Full).

Two products in five have one variant option with three values. Their variants (product_variants.py)
are slots 1 to 3 of the product and take value 1 to 3 of this option, so options and variants agree
without asking each other, and a variant created later in a free slot has a value waiting for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from bigcommerce_sandbox.basis import Basis, ChildIds, Relations, Row, record_hash

IDS = ChildIds(1)
"""One option a product at most: the option of product ``pid`` has id ``pid + 1``."""

_OPTIONS = (
    ("Size", "rectangles", ("S", "M", "L")),
    ("Color", "swatch", ("Red", "Beige Stripe", "Noir")),
    ("Material", "dropdown", ("Cotton", "Linen", "Wool")),
    ("Style", "radio_buttons", ("Classic", "Modern", "Zoë's pick")),
)
_SWATCHES = {"Red": "#D32F2F", "Beige Stripe": "#E8DCC4", "Noir": "#111111"}


class OptionShape(NamedTuple):
    """A product's variant option: its id, name, type and the (value id, label) of variant slots 1-3."""

    option_id: int
    display_name: str
    kind: str
    values: tuple[tuple[int, str], ...]


def option_shape(basis: Basis, pid: int) -> OptionShape | None:
    """The product's variant option, or None for a product sold in one variant only."""
    h = record_hash(basis.key("product_options"), pid)
    if h % 5 >= 2:
        return None
    name, kind, labels = _OPTIONS[(h >> 3) % len(_OPTIONS)]
    oid = IDS.id(pid, 1)
    return OptionShape(oid, name, kind, tuple((oid * 3 + j, label) for j, label in enumerate(labels, 1)))


def slots(basis: Basis, pid: int, rel: Relations) -> Sequence[int]:
    return (1,) if option_shape(basis, pid) is not None else ()


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    oid, version, _created, _modified = row
    pid = IDS.parent(oid)
    shape = option_shape(basis, pid)
    assert shape is not None, f"product {pid} has no option"
    h = record_hash(basis.key("product_options"), pid, version)
    default = h % 4  # 3: no default value
    stamp = basis.opened + record_hash(basis.key("product_options"), oid) % max(basis.span, 1)
    return {
        "id": oid,
        "product_id": pid,
        # productOption_Full.name: "auto-generated from the display name, a timestamp, and the product ID".
        "name": f"{shape.display_name}{stamp}-{pid}",
        "display_name": shape.display_name,
        "type": shape.kind,
        "config": {},
        "sort_order": version % 3,
        "option_values": [
            {
                "id": value_id,
                "label": label,
                "sort_order": j,
                "value_data": {"colors": [_SWATCHES[label]]} if shape.kind == "swatch" else None,
                "is_default": j == default and shape.kind != "swatch",
            }
            for j, (value_id, label) in enumerate(shape.values)
        ],
    }
