"""Newsletter subscribers, as GET /v3/customers/subscribers returns them (reference/subscribers.v3.yml,
Subscriber). A subscriber who signed up at checkout names the order (``source: order``); the channel is
one of the store's."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, channel_ids_of, iso_z, record_hash
from bigcommerce_sandbox.pools import FIRST_NAMES, LAST_NAMES

CONSENTS: tuple[tuple[str, ...], ...] = (
    ("marketing_newsletter",),
    ("marketing_newsletter", "abandoned_cart"),
    ("marketing_newsletter",),
    ("abandoned_cart",),
    (),
)


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    sid, version, created, modified = row
    h = record_hash(basis.key("subscribers"), sid)
    v = record_hash(basis.key("subscribers"), sid, version) if version else h
    first, first_ascii = FIRST_NAMES[h % len(FIRST_NAMES)]
    last, last_ascii = LAST_NAMES[(h >> 8) % len(LAST_NAMES)]
    source = ("storefront", "storefront", "order", "order", "custom")[(h >> 16) % 5]
    order_id = None
    if source == "order" and basis.counts["orders"]:
        # Orders grow with time like subscribers: one placed before the subscriber signed up.
        share = (sid - basis.base_id("subscribers", 0) + 1) / max(basis.counts["subscribers"], 1)
        placed = max(1, min(basis.counts["orders"], int(basis.counts["orders"] * share) + 1))
        order_id = basis.base_id("orders", (h >> 20) % placed)
    channels = channel_ids_of(basis)
    return {
        "id": sid,
        "email": f"{first_ascii}.{last_ascii}.{sid}@example.net",
        "first_name": first if (h >> 40) % 6 else "",
        "last_name": last if (h >> 40) % 6 else "",
        "source": source,
        "order_id": order_id,
        "channel_id": 1 if (h >> 44) % 6 or len(channels) == 1 else channels[(h >> 47) % len(channels)],
        "consents": CONSENTS[(v >> 50) % len(CONSENTS)],
        "date_created": iso_z(created),
        "date_modified": iso_z(modified),
    }
