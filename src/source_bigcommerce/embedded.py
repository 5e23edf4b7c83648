"""Children that travel in their parent's records, and how each is taken out (streams.Embedded).

An order's consignments come with the orders page through
``include=consignments.line_items&consignment_structure=object`` (reference/orders.v2.oas2.yml,
``order_includes``): one request per 250 orders instead of one per order, for two streams. Its line items
(``order_products``) are flattened across shipping, pickup, download and gift-certificate consignments.
BigCommerce embeds at most 50 line items per consignment and marks a cut consignment with an undocumented
``__warning__`` (bigcommerce/docs issue #960); such an order, and any order whose line-item quantities do
not add up to its ``items_total``, is read from ``/v2/orders/{id}/products`` instead. Its shipping
consignments are its shipping addresses (``shippingConsignment_Get``), which a cut list of line items
leaves whole.

A product's images, custom fields, options and modifiers come with the products page the same way, each as
an array the product carries when asked ``include=images`` (and ``custom_fields``, ``options``,
``modifiers``; reference/catalog/products_catalog.v3.yml, ``IncludeParamGetProducts``): :func:`array`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Record = dict[str, Any]

CONSIGNMENT_INCLUDE: Mapping[str, str] = {
    "include": "consignments.line_items",
    # The default array structure is legacy and may be dropped (reference/bigcommerce-api-facts.md §2).
    "consignment_structure": "object",
}
CONSIGNMENT_KINDS = ("shipping", "pickups", "downloads")


def line_items(order: Mapping[str, Any]) -> list[Record] | None:
    """The order's products from its expanded consignments; None when they cannot be trusted whole."""
    consignments = order.get("consignments")
    if not isinstance(consignments, dict):
        return None
    groups: list[Any] = [consignments.get(kind) or [] for kind in CONSIGNMENT_KINDS]
    email = consignments.get("email")
    groups.append(email.get("gift_certificates") or [] if isinstance(email, dict) else [])
    items: dict[int, Record] = {}
    for group in groups:
        if not isinstance(group, list):
            return None
        for consignment in group:
            if not isinstance(consignment, dict) or "__warning__" in consignment:
                return None
            for item in consignment.get("line_items") or []:
                if not isinstance(item, dict) or "id" not in item:
                    return None  # links instead of objects: the include was not honoured
                items.setdefault(item["id"], item)
    quantity = sum(int(item.get("quantity") or 0) for item in items.values())
    if quantity != int(order.get("items_total") or 0):
        return None
    return list(items.values())


def all_line_items(order: Mapping[str, Any], products: list[Record]) -> bool:
    """The products read add up to at least the order's ``items_total`` (the per-order fallback's end)."""
    return sum(int(item.get("quantity") or 0) for item in products) >= int(order.get("items_total") or 0)


def shipping_addresses(order: Mapping[str, Any]) -> list[Record] | None:
    """The order's shipping consignments without their line items (order products) or BigCommerce's
    ``__warning__``; None when the consignments are not expanded."""
    consignments = order.get("consignments")
    shipping = consignments.get("shipping") if isinstance(consignments, dict) else None
    if not isinstance(shipping, list) or not all(isinstance(item, dict) for item in shipping):
        return None
    drop = ("line_items", "__warning__")
    return [{key: value for key, value in item.items() if key not in drop} for item in shipping]


def array(field: str) -> Callable[[Mapping[str, Any]], list[Record] | None]:
    """What takes the records a v3 parent carries in ``field`` out of it (``images`` of a product); they come
    None when the field is missing or is not a list of objects: the include was not honoured. BigCommerce
    documents no cap on these arrays (unlike an order consignment's 50 line items), so a list is whole."""

    def records(parent: Mapping[str, Any]) -> list[Record] | None:
        found = parent.get(field)
        if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
            return None
        return found

    return records
