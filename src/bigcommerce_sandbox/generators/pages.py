"""Pages, as GET /v3/content/pages returns them (reference/pages.v3.yml)."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, channel_ids_of, record_hash
from bigcommerce_sandbox.pools import CHANNEL_TEMPLATES, CONTACT_FIELDS, LOREM

PAGE_TYPES = ("page", "page", "raw", "contact_form", "link", "blog", "page")


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    """A Pages v3 object; its fields depend on the page type (reference/pages.v3.yml, typePage ...);
    ``variant`` "body" is ``include=body``."""
    page_id, version, _created, _modified = row
    index = page_id - basis.base_id("pages", 0)
    with_body = variant == "body"
    h = record_hash(basis.key("pages"), page_id)
    v = record_hash(basis.key("pages"), page_id, version) if version else h
    ptype = PAGE_TYPES[index % len(PAGE_TYPES)]
    channels = channel_ids_of(basis)
    storefronts = [
        c for i, c in enumerate(channels) if CHANNEL_TEMPLATES[i % len(CHANNEL_TEMPLATES)][1] == "storefront"
    ]
    channel_id = storefronts[(h >> 3) % len(storefronts)] if storefronts else 1
    titles = {
        "page": ("About Us", "Shipping & Returns", "Größentabelle", "FAQ", "Privacy Policy"),
        "raw": ("robots.txt", "Custom Landing", "Sitemap"),
        "contact_form": ("Contact Us", "Wholesale Enquiries"),
        "link": ("Our Blog on Medium", "Careers"),
        "blog": ("Blog", "News"),
    }[ptype]
    name = f"{titles[index % len(titles)]} {page_id}"
    slug = name.lower().replace(" ", "-").replace("&", "and")
    rec: dict[str, Any] = {
        "id": page_id,
        "channel_id": channel_id,
        "name": name,
        "is_visible": (v >> 5) % 7 != 0,
        "parent_id": 0,
        "sort_order": index % 5,
        "type": ptype,
        "is_homepage": False,
        "is_customers_only": (h >> 9) % 11 == 0,
        "url": f"/{slug}/" if ptype != "blog" else "/blog/",
    }
    if ptype in ("page", "contact_form", "blog"):
        rec["meta_title"] = "" if (h >> 11) % 2 else name
        rec["meta_keywords"] = None if (h >> 12) % 2 else "sandbox,page"
        rec["meta_description"] = "" if version == 0 else f"Revision {version}"
    if ptype != "link":
        rec["search_keywords"] = "" if (h >> 13) % 3 else "help,info"
    if ptype == "contact_form":
        rec["email"] = "" if (h >> 14) % 2 else f"contact{page_id}@example.com"
        rec["contact_fields"] = CONTACT_FIELDS[(h >> 15) % len(CONTACT_FIELDS)]
    if ptype == "link":
        rec["link"] = f"https://example.com/{slug}"
    if ptype == "raw":
        rec["content_type"] = "text/html" if index % 2 else "text/plain"
    if with_body and ptype != "link":
        paragraphs = 1 + (v >> 17) % 6
        rec["body"] = (
            "<div>" + "".join(f"<p>{LOREM[(v + k) % len(LOREM)]}</p>" for k in range(paragraphs)) + "</div>"
        )
    return rec
