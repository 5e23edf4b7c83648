"""Customer addresses, as GET /v3/customers/addresses returns them (reference/customers.v3.yml, Address)
and /v3/customers?include=addresses embeds them. Each customer has as many as its ``address_count``
says; the first is in the customer's own name, others may be for someone else (a gift, an office)."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, record_hash
from bigcommerce_sandbox.generators.customers import customer_name
from bigcommerce_sandbox.pools import COMPANIES, FIRST_NAMES, LAST_NAMES, PLACES, STREETS


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    aid, version, _created, _modified = row
    cid = rel.parent_of("customer_addresses", aid)
    h = record_hash(basis.key("customer_addresses"), aid)
    v = record_hash(basis.key("customer_addresses"), aid, version) if version else h
    first, last, _email = customer_name(basis, cid)
    if rel.child_index("customer_addresses", aid):
        first = FIRST_NAMES[h % len(FIRST_NAMES)][0]
        last = LAST_NAMES[(h >> 8) % len(LAST_NAMES)][0]
    city, state, postal_code, country, iso2 = PLACES[(v >> 16) % len(PLACES)]
    company = COMPANIES[(h >> 20) % len(COMPANIES)]
    return {
        "id": aid,
        "customer_id": cid,
        "first_name": first,
        "last_name": last,
        "company": company,
        "address1": f"{(v >> 24) % 9000 + 1} {STREETS[(v >> 36) % len(STREETS)]}",
        "address2": "" if (v >> 40) % 4 else f"Apt {(v >> 42) % 300 + 1}",
        "city": city,
        "state_or_province": state,
        "postal_code": postal_code,
        "country": country,
        "country_code": iso2,
        "phone": "" if (v >> 50) % 3 == 0 else f"+1 555-{(v >> 52) % 900 + 100:03d}-{(h >> 44) % 10000:04d}",
        "address_type": "commercial" if company else "residential",
    }
