"""Tax classes, as GET /v2/tax_classes returns them (tools/specs/reference/tax_classes.v2.yml, taxClass_Full).

The spec types ``id`` as a string (``"1"``) and writes ``created_at``/``updated_at`` in ISO 8601 with an offset
and milliseconds (``1973-01-20T21:34:57.903+00:00``), unlike the RFC 2822 of most v2 lists; the sandbox serves
them so. The first three classes are the ones the spec's example lists, which every store starts with; the
rest are classes a merchant adds.
"""

from __future__ import annotations

import time
from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, record_hash

NAMES = (
    "Non-Taxable Products",
    "Shipping",
    "Gift Wrapping",
    "Clothing",
    "Food & Beverage",
    "Digital Goods",
    "Books",
    "Reduced Rate",
    "Alcohol",
    "Medical Supplies",
    "Children's Clothing",
    "Luxury Goods",
)


def stamp(ts: int, h: int) -> str:
    """``ts`` with milliseconds, as in the spec's examples; never a trailing zero (``.903``, not ``.900``),
    so the value is already the shortest way to write its fraction."""
    millis = 1 + 2 * (h % 500)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{millis:03d}+00:00"


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    tid, version, created, modified = row
    index = tid - basis.base_id("tax_classes", 0)
    name = NAMES[index % len(NAMES)]
    if index >= len(NAMES):
        name = f"{name} {index // len(NAMES) + 1}"
    if version:
        # An update renames the class (the control panel's only edit besides deleting it).
        name = f"{name} (rev {version})"
    h = record_hash(basis.key("tax_classes"), tid)
    v = record_hash(basis.key("tax_classes"), tid, version) if version else h
    return {
        "id": str(tid),
        "name": name,
        "created_at": stamp(created, h),
        "updated_at": stamp(modified, v),
    }
