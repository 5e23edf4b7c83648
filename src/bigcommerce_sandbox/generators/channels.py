"""Channels, as GET /v3/channels returns them (reference/channels.v3.yml); channel 1 is the default
storefront."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, iso_z
from bigcommerce_sandbox.pools import CHANNEL_TEMPLATES


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    chid, version, created, modified = row
    index = rel.channel_index(chid)
    deleted = rel.is_deleted("channels", chid)
    name, ctype, platform, status = CHANNEL_TEMPLATES[index % len(CHANNEL_TEMPLATES)]
    if index >= len(CHANNEL_TEMPLATES):
        name = f"{name} {index // len(CHANNEL_TEMPLATES) + 1}"
    if version and chid != 1:
        status = ("active", "inactive", "connected")[version % 3] if ctype != "storefront" else "active"
    if deleted:
        status = "deleted"
    return {
        "id": chid,
        "external_id": "",
        "is_listable_from_ui": ctype != "marketing",
        "is_visible": status != "deleted",
        "is_enabled": status in ("active", "connected"),
        "status": status,
        "name": name,
        "type": ctype,
        "platform": platform,
        "date_created": iso_z(created),
        "date_modified": iso_z(modified),
        "icon_url": f"https://storage.googleapis.com/bigcommerce-production-dev-center/images/{platform.split()[0]}_icon.svg",
    }
