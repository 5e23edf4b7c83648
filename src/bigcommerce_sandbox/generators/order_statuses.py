"""Order statuses, as GET /v2/order_statuses returns them (orderStatus_Base in
reference/orders.v2.oas2.yml): BigCommerce's fixed set of 15, whose custom label a merchant may change."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row
from bigcommerce_sandbox.generators.orders import STATUSES


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    name, description, _order = STATUSES[row.rid]
    return {
        "id": row.rid,
        "name": name,
        "system_label": name,
        "custom_label": f"{name} ({row.version})" if row.version else name,
        "system_description": description,
    }
