"""Channel listings, as GET /v3/channels/{channel_id}/listings returns them (reference/channels.v3.yml,
Listing): the products a non-storefront channel (a marketplace, a POS, a marketing channel) lists, each
with its base variant. A storefront lists nothing here (the spec recommends listings for non-storefront
channels). Listings are keyed by ``listing_id``, and paged by ``after`` (the last listing id seen)."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, iso_z, record_hash
from bigcommerce_sandbox.generators.products import product_core
from bigcommerce_sandbox.pools import CHANNEL_TEMPLATES

STATES = ("active", "active", "active", "disabled", "pending", "error")


def _template(basis: Basis, chid: int) -> tuple[str, str, str, str]:
    index = basis.channels.index(chid) if chid in basis.channels else 0
    return CHANNEL_TEMPLATES[index % len(CHANNEL_TEMPLATES)]


def count(basis: Basis, chid: int, index: int) -> int:
    """A non-storefront channel lists between a quarter and a half of the products."""
    if CHANNEL_TEMPLATES[index % len(CHANNEL_TEMPLATES)][1] == "storefront":
        return 0
    share = 25 + record_hash(basis.key("channel_listings"), chid) % 26
    return basis.counts["products"] * share // 100


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    lid, version, created, modified = row
    chid = rel.parent_of("channel_listings", lid)
    k = rel.child_index("channel_listings", lid)
    h = record_hash(basis.key("channel_listings"), lid)
    v = record_hash(basis.key("channel_listings"), lid, version) if version else h
    n = max(basis.counts["products"], 1)
    # Consecutive products from a per-channel start: a channel lists a product at most once.
    start = record_hash(basis.key("channel_listings"), chid) % n
    pid = basis.base_id("products", (start + k) % n)
    name = product_core(basis, pid)[0]
    platform = _template(basis, chid)[2]
    state = STATES[(v >> 4) % len(STATES)]
    own_name = "" if (h >> 8) % 3 else f"{name} — {platform.title()}"
    dates = {"date_created": iso_z(created), "date_modified": iso_z(modified)}
    return {
        "channel_id": chid,
        "listing_id": lid,
        "external_id": "" if (h >> 10) % 2 else f"{platform[:3].upper()}-{lid}",
        "product_id": pid,
        "state": state,
        "name": own_name,
        "description": "" if (h >> 12) % 4 else f"{name}, as listed on {platform}.",
        **dates,
        "variants": [
            {
                "channel_id": chid,
                "product_id": pid,
                "variant_id": pid * 3 + 1,
                "external_id": "",
                "state": state,
                "name": own_name,
                "description": "",
                **dates,
            }
        ],
    }
