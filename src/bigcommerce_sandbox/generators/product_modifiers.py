"""Product modifiers, as GET /v3/catalog/products/{product_id}/modifiers and the products list's
``include=modifiers`` return them (reference/catalog/product-modifiers_catalog.v3.yml,
productModifier_Full).

Modifiers are choices that do not make a variant (gift wrap, an engraving, insurance): zero to two a
product, a quarter of the products one or more. Their ids start at 1,000,001 (``ChildIds(2, 1_000_000)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bigcommerce_sandbox.basis import Basis, ChildIds, Relations, Row, record_hash

IDS = ChildIds(2, 1_000_000)
_COUNTS = (0, 0, 0, 0, 0, 0, 1, 1, 1, 2)


def _checkbox(h: int, version: int) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any] | None, float]]]:
    config = {"checkbox_label": "$5 for insurance", "checked_by_default": bool(version % 2)}
    return config, [("Yes", {"checked_value": True}, 5.0), ("No", {"checked_value": False}, 0.0)]


def _text(h: int, version: int) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any] | None, float]]]:
    limit = 10 + (h >> 5) % 30 + version
    return {
        "default_value": "",
        "text_characters_limited": True,
        "text_min_length": 1,
        "text_max_length": limit,
    }, []


def _dropdown(h: int, version: int) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any] | None, float]]]:
    return {}, [
        ("Standard wrap", None, 0.0),
        ("Gift wrap 🎁", None, 3.5 + version),
        ("Premium box", None, 9.0),
    ]


def _date(h: int, version: int) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any] | None, float]]]:
    return {"default_value": "", "date_limited": False}, []


_KINDS = (
    ("Insurance", "checkbox", True, _checkbox),
    ("Engraving", "text", False, _text),
    ("Gift wrapping", "dropdown", False, _dropdown),
    ("Delivery date", "date", False, _date),
)


def slots(basis: Basis, pid: int, rel: Relations) -> Sequence[int]:
    return range(1, _COUNTS[record_hash(basis.key("product_modifiers"), -pid) % len(_COUNTS)] + 1)


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    mid, version, _created, _modified = row
    pid = IDS.parent(mid)
    h = record_hash(basis.key("product_modifiers"), mid)
    display, kind, required, make = _KINDS[h % len(_KINDS)]
    config, values = make(h, version)
    stamp = basis.opened + (h >> 16) % max(basis.span, 1)
    return {
        "id": mid,
        "product_id": pid,
        # productModifier_Full.name: "auto-generated from the display name, a timestamp, and the product ID".
        "name": f"{display.replace(' ', '-')}{stamp}-{pid}",
        "display_name": display,
        "type": kind,
        "required": required,
        "sort_order": IDS.slot(mid) - 1 + version,
        "config": config,
        "option_values": [
            {
                "id": mid * 4 + j,
                "option_id": mid,
                "label": label,
                "sort_order": j,
                "value_data": data,
                "is_default": j == 0,
                "adjusters": {
                    "price": {"adjuster": "relative", "adjuster_value": price} if price else {},
                    "weight": {},
                    "image_url": "",
                    "purchasing_disabled": {"status": False, "message": ""},
                },
            }
            for j, (label, data, price) in enumerate(values)
        ],
    }
