"""Gift certificates, as GET /v2/gift_certificates returns them (reference/marketing.v2.yml,
giftCertificate_Full). Unlike other v2 dates, ``purchase_date`` and ``expiry_date`` are Unix timestamps
in strings ("Date displays in the Unix timestamp format"); ``expiry_date`` is empty when there is none.

A certificate was bought in an existing order by its customer (or a guest, ``customer_id`` 0).
"""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, money4, record_hash
from bigcommerce_sandbox.pools import FIRST_NAMES, LAST_NAMES

TEMPLATES = ("birthday.html", "girl.html", "boy.html", "celebration.html", "christmas.html", "general.html")
MESSAGES = ("Happy Birthday!", "Congratulations!", "Merry Christmas 🎄", "", "Viel Spaß!")
_CODE = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    gid, version, created, _modified = row
    h = record_hash(basis.key("gift_certificates"), gid)
    v = record_hash(basis.key("gift_certificates"), gid, version) if version else h
    share = (gid - basis.base_id("gift_certificates", 0) + 1) / max(basis.counts["gift_certificates"], 1)
    order_id = customer_id = 0
    if basis.counts["orders"]:
        placed = max(1, min(basis.counts["orders"], int(basis.counts["orders"] * share) + 1))
        order_id = basis.base_id("orders", (h >> 4) % placed)
    if basis.counts["customers"] and (h >> 24) % 4:
        known = max(1, min(basis.counts["customers"], int(basis.counts["customers"] * share) + 1))
        customer_id = basis.base_id("customers", (h >> 28) % known)
    to_first, to_ascii = FIRST_NAMES[(h >> 40) % len(FIRST_NAMES)]
    from_first, from_ascii = FIRST_NAMES[(h >> 46) % len(FIRST_NAMES)]
    last, last_ascii = LAST_NAMES[(h >> 52) % len(LAST_NAMES)]
    amount = ((h >> 56) % 10 + 1) * 2500
    spent = 0 if version == 0 else min(amount, (v % (amount // 100 + 1)) * 100)
    status = "disabled" if version and (v >> 20) % 9 == 0 else "active" if spent < amount else "expired"
    code = "-".join("".join(_CODE[(h >> (5 * (3 * g + k))) % len(_CODE)] for k in range(3)) for g in range(3))
    return {
        "id": gid,
        "customer_id": customer_id,
        "order_id": order_id,
        "code": f"{code}-{gid}"[:20],
        "to_name": f"{to_first} {last}",
        "to_email": f"{to_ascii}.{last_ascii}@example.org",
        "from_name": from_first,
        "from_email": f"{from_ascii}{gid}@example.com",
        "amount": money4(amount),
        "balance": money4(amount - spent),
        "status": status,
        "template": TEMPLATES[(h >> 60) % len(TEMPLATES)],
        "message": MESSAGES[(h >> 12) % len(MESSAGES)],
        "purchase_date": str(created),
        "expiry_date": "" if (h >> 16) % 3 else str(created + 365 * 86400),
        "currency_code": "USD",
    }
