"""Coupons, as GET /v2/coupons returns them (reference/marketing.v2.yml, coupon_Full): money as strings
with four decimals, ``date_created`` and ``expires`` in RFC 2822 (``expires`` empty when there is none)."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, money4, record_hash, rfc2822

# (type, the amount is a percentage)
TYPES = (
    ("per_total_discount", False),
    ("percentage_discount", True),
    ("per_item_discount", False),
    ("free_shipping", False),
    ("shipping_discount", False),
    ("percentage_discount", True),
    ("promotion", False),
)
NAMES = ("$5 off", "Summer sale", "Welcome back", "Free shipping over $50", "Black Friday", "Réduction")
_CODE = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def coupon_code(basis: Basis, cid: int) -> str:
    """The coupon's code: unique (it ends with the id) and stable across updates."""
    h = record_hash(basis.key("coupons"), cid)
    return "".join(_CODE[(h >> (5 * k)) % len(_CODE)] for k in range(6)) + str(cid)


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    cid, version, created, _modified = row
    h = record_hash(basis.key("coupons"), cid)
    v = record_hash(basis.key("coupons"), cid, version) if version else h
    kind, percent = TYPES[(h >> 30) % len(TYPES)]
    promotion = kind == "promotion"
    amount = 0 if promotion or kind == "free_shipping" else ((v >> 8) % 40 + 1) * (100 if percent else 250)
    applies_to: dict[str, Any] = {"entity": "categories", "ids": [0]}
    if (h >> 36) % 3 == 0 and basis.counts["categories"] and not promotion:
        # One live category ("ids": [0] is every category).
        category = basis.base_id("categories", (h >> 40) % basis.counts["categories"])
        live = rel.live("categories")
        if live is None or category in live:
            applies_to["ids"] = [category]
    expires = "" if (h >> 46) % 3 else rfc2822(created + (30 + (h >> 48) % 300) * 86400)
    max_uses = 0 if (h >> 50) % 2 else 25 * ((h >> 52) % 8 + 1)
    return {
        "id": cid,
        "name": f"{NAMES[(h >> 54) % len(NAMES)]} #{cid}",
        "type": kind,
        "amount": money4(amount),
        "min_purchase": money4(0 if promotion else ((h >> 57) % 4) * 2500),
        "expires": expires,
        "enabled": (v >> 4) % 5 != 0,
        "code": coupon_code(basis, cid),
        "applies_to": applies_to,
        "num_uses": (v >> 20) % (max_uses or 200),
        "max_uses": max_uses,
        "max_uses_per_customer": 0 if (h >> 59) % 3 else 1,
        "restricted_to": {} if (h >> 61) % 4 else {"countries": "AU"},
        "shipping_methods": [] if promotion or (h >> 62) % 2 else ["shipping_flatrate"],
        "date_created": rfc2822(created),
    }
