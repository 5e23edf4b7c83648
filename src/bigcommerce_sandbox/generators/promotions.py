"""Promotions, as GET /v3/promotions returns them (reference/promotions.v3.yml, SavedAutomaticPromotion
and SavedCouponPromotion): a few rule shapes from the spec's examples, naming the store's channels,
customer groups 1-3, live brands and categories. Money is a decimal string (the spec's ``Money``); dates
are ISO 8601 with an offset, as PromotionBase's examples write them.
"""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, channel_ids_of, iso_offset, iso_z, record_hash
from bigcommerce_sandbox.pools import CHANNEL_TEMPLATES

NAMES = ("Spring sale", "10% off orders over $100", "Free shipping weekend", "Buy 2, get 1", "Soldes d’été")
WEEK_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    pid, version, created, _modified = row
    h = record_hash(basis.key("promotions"), pid)
    v = record_hash(basis.key("promotions"), pid, version) if version else h
    coupon = (h >> 2) % 3 == 0
    name = f"{NAMES[(h >> 4) % len(NAMES)]} #{pid}"
    rec: dict[str, Any] = {
        "id": pid,
        "redemption_type": "COUPON" if coupon else "AUTOMATIC",
        "name": name,
        "display_name": name if (h >> 10) % 2 else "",
        "created_from": ("api", "react_ui", "legacy_ui")[(h >> 12) % 3],
        "channels": _channels(basis, h),
        "customer": {
            "group_ids": [] if (h >> 14) % 4 else [1 + (h >> 16) % 3],
            "minimum_order_count": 0 if (h >> 18) % 5 else 1,
            "excluded_group_ids": [],
        },
        "rules": [_rule(basis, v, rel)],
        "current_uses": (v >> 20) % 500,
        "max_uses": 0 if (h >> 22) % 2 else 1000,
        "status": ("ENABLED", "ENABLED", "DISABLED")[(v >> 24) % 3],
        "start_date": iso_offset(created),
        "stop": False,
        "can_be_used_with_other_promotions": (h >> 32) % 4 != 0,
        "currency_code": "USD" if (h >> 34) % 5 else "*",
        "notifications": []
        if (h >> 36) % 2
        else [
            {"content": f"{name} applied!", "type": "APPLIED", "locations": ["CART_PAGE", "CHECKOUT_PAGE"]}
        ],
    }
    # The spec says a promotion without an end date has end_date null, but types it a plain string (so
    # do shipping_address and schedule): left out when unset, so every record validates.
    if (h >> 8) % 3:
        rec["end_date"] = iso_offset(created + (30 + (h >> 26) % 90) * 86400)
    if (h >> 38) % 4 == 0:
        rec["schedule"] = {
            "week_frequency": 1,
            "week_days": [WEEK_DAYS[(h >> 40) % 7], WEEK_DAYS[((h >> 40) + 1) % 7]],
            "daily_start_time": "09:00:00",
            "daily_end_time": "17:30:00",
        }
    if (h >> 42) % 5 == 0:
        rec["shipping_address"] = {"countries": [{"iso2_country_code": "US"}, {"iso2_country_code": "CA"}]}
    if coupon:
        rec["coupon_type"] = "SINGLE"
        rec["coupon_overrides_other_promotions"] = False
        rec["multiple_codes"] = {"has_multiple_codes": False}
        rec["codes"] = {
            "id": pid,
            "code": f"PROMO-{pid}",
            "current_uses": rec["current_uses"],
            "max_uses": rec["max_uses"],
            "max_uses_per_customer": 0 if (h >> 44) % 3 else 1,
            "created": iso_z(created),
        }
    return rec


def _channels(basis: Basis, h: int) -> list[dict[str, int]]:
    """Every channel (``[]``), or one storefront of the store's."""
    storefronts = [
        c
        for i, c in enumerate(channel_ids_of(basis))
        if CHANNEL_TEMPLATES[i % len(CHANNEL_TEMPLATES)][1] == "storefront"
    ]
    if (h >> 46) % 3 or not storefronts:
        return []
    return [{"id": storefronts[(h >> 48) % len(storefronts)]}]


def _rule(basis: Basis, v: int, rel: Relations) -> dict[str, Any]:
    """One of: a percentage off the cart over a minimum spend, a fixed amount off a live brand's or
    category's items, or free shipping."""
    kind = (v >> 50) % 3
    spend = f"{((v >> 52) % 10 + 1) * 25}.00"
    if kind == 0:
        return {
            "action": {"cart_value": {"discount": {"percentage_amount": str((v >> 56) % 20 + 5)}}},
            "apply_once": True,
            "stop": False,
            "condition": {"cart": {"minimum_spend": spend}},
        }
    if kind == 1:
        matcher = _items(basis, v, rel)
        if matcher is not None:
            return {
                "action": {"cart_items": {"discount": {"fixed_amount": "5.00"}, "items": matcher}},
                "apply_once": False,
                "stop": False,
                "condition": {"cart": {"items": matcher, "minimum_quantity": 1}},
            }
    return {
        "action": {"shipping": {"free_shipping": True, "zone_ids": "*"}},
        "apply_once": True,
        "stop": True,
        "condition": {"cart": {"minimum_spend": spend}},
    }


def _items(basis: Basis, v: int, rel: Relations) -> dict[str, list[int]] | None:
    kind = "brands" if (v >> 58) % 2 else "categories"
    if not basis.counts[kind]:
        return None
    rid = basis.base_id(kind, (v >> 20) % basis.counts[kind])
    live = rel.live(kind)
    return None if live is not None and rid not in live else {kind: [rid]}
