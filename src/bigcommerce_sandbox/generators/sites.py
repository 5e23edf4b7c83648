"""Sites, as GET /v3/channels/{channel_id}/site returns them (reference/channels.v3.yml, Site): one per
storefront channel, none for the others. The default storefront's is the store's ``default_site_id``
(1000, generators/store.py) at the store's own domain."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, iso_z, record_hash
from bigcommerce_sandbox.pools import CHANNEL_TEMPLATES


def count(basis: Basis, chid: int, index: int) -> int:
    return int(CHANNEL_TEMPLATES[index % len(CHANNEL_TEMPLATES)][1] == "storefront")


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    sid, version, created, modified = row
    chid = rel.parent_of("sites", sid)
    h = record_hash(basis.key("sites"), sid)
    host = "sandbox.example.com" if chid == 1 else f"store-{chid}.example.com"
    url = f"https://{host}/" if version % 2 == 0 else f"https://www.{host}/"
    checkout = f"https://checkout.{host}/" if (h >> 4) % 3 == 0 else url
    stamps = {"created_at": iso_z(created), "updated_at": iso_z(modified)}
    return {
        "id": sid,
        "url": url,
        "channel_id": chid,
        **stamps,
        "ssl_status": "dedicated" if (h >> 8) % 2 else "shared",
        "urls": [
            {"url": url, "type": "primary", **stamps},
            {"url": url, "type": "canonical", **stamps},
            {"url": checkout, "type": "checkout", **stamps},
        ],
        "is_checkout_url_customized": checkout != url,
    }
