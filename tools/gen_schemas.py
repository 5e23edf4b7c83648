"""Derive the streams' JSON Schemas (draft 7) from BigCommerce's official OpenAPI files.

Run from anywhere as ``.venv/bin/python tools/gen_schemas.py``: it reads ``../shared/bigcommerce-api-specs``
(relative to the repository root; ``--specs DIR`` to point elsewhere) and rewrites
``src/source_bigcommerce/schemas/<stream>.json``. The output is deterministic (sorted keys, 2-space indent),
so regenerating from the same specs is byte-identical; ``--check`` only reports whether it would change
anything, and exits 1 if so.

How an OpenAPI 3.0 response schema becomes a stream's JSON Schema:

* Local ``$ref``s are inlined. A component that refers to itself would loop, so the inner occurrence
  becomes ``{}`` (any value).
* Every property is nullable (``"type": ["null", ...]``), every object has ``additionalProperties: true``,
  and nothing is ``required``: a field BigCommerce adds tomorrow, or leaves out today, still flows.
* Only the keywords that describe shape are kept: ``type``, ``properties``, ``items``, ``anyOf`` and
  ``description`` (its first paragraph). ``enum``, lengths, ranges and patterns are dropped, so a new enum
  value or a longer name never fails validation; ``format`` is kept only for ``date-time``, and set to
  ``date`` for the calendar dates listed in :data:`DATES`.
* ``allOf`` merges its branches into one object. ``oneOf``/``anyOf`` become ``anyOf`` of the branches, or
  one type list when every branch is a plain scalar (``payment_provider_id``: string or number). At the top
  of a record a ``oneOf``/``anyOf`` is merged into one object holding the union of the branches'
  properties (pages: one record type per page type), so a loader sees one set of columns.
* Timestamps: every ``format: date-time`` field, plus the v2 fields listed in :data:`TIMESTAMPS`, which
  BigCommerce documents as RFC 2822 dates but types as plain strings. All are declared
  ``{"type": ["null", "string"], "format": "date-time"}``, because the connector normalises them to RFC 3339.
* Money: the fields listed in :data:`MONEY` get ``"x-money": true`` beside their type, so a loader can type
  them ``decimal``. The rule: an amount of currency (a price, a cost, a total, a tax, a discount, a
  refund, a balance), whether v2 writes it as a 4-decimal string or v3 as a number. Exchange rates,
  weights, dimensions and percentages are not money (a rate has more decimals than a money column keeps).
  The list is explicit rather than guessed from names or examples, and it is keyed by OpenAPI component
  so a money field is marked wherever its object appears (an order product is also a consignment line
  item); the generator fails if a listed field no longer exists in the specs.
* Opaque components: the few listed in :data:`OPAQUE` become any JSON value with a description. Their
  recursive and/or/not alternatives (promotions' item matchers and customer segments) would otherwise
  expand into megabytes of schema, and a loader keeps such nested values as JSON anyway.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPECS = ROOT.parent / "shared" / "bigcommerce-api-specs"
VENDORED = ROOT / "tools" / "specs"
"""Official spec files the shared folder lacks, kept in the repository (tools/specs/README.md): looked for
first, so the streams they describe are generated the same with or without ``--specs``."""
OUTPUT = ROOT / "src" / "source_bigcommerce" / "schemas"
DRAFT7 = "http://json-schema.org/draft-07/schema#"

Envelope = Literal["data", "array", "object", "component"]


@dataclass(frozen=True)
class Source:
    """Where a stream's records are described: the spec file, the GET path and how records are wrapped."""

    spec: str
    path: str
    envelope: Envelope
    """``data``: v3 ``{"data": [...]}`` (or ``{"data": {...}}``, a channel's site); ``array``: v2 bare list;
    ``object``: one object (``/v2/store``); ``component``: records embedded in another response, described
    by the component ``path`` names."""
    description: str
    without: tuple[str, ...] = ()
    """Top-level fields the stream leaves out (an embedded record's line items, a stream of their own)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Top-level fields the stream adds, as converted schemas (an embedded record's parent id)."""


SOURCES: Mapping[str, Source] = {
    "customers": Source(
        "customers.v3.yml",
        "/customers",
        "data",
        "Customers (GET /v3/customers), incremental on date_modified.",
    ),
    "orders": Source(
        "orders.v2.oas2.yml",
        "/orders",
        "array",
        "Orders (GET /v2/orders), incremental on date_modified. Dates arrive in RFC 2822 and are "
        "emitted as RFC 3339 UTC; money stays a decimal string.",
    ),
    "transactions": Source(
        "orders.v3.yml",
        "/orders/{order_id}/transactions",
        "data",
        "Payment transactions of each order (GET /v3/orders/{order_id}/transactions). Incremental through "
        "the parent order: an incremental sync reads the transactions of orders modified since the orders "
        "cursor, so it has no cursor field of its own.",
    ),
    "pages": Source(
        "pages.v3.yml",
        "/content/pages",
        "data",
        "Web pages of every type (GET /v3/content/pages?include=body). Full refresh only: BigCommerce "
        "offers no modification date for pages.",
    ),
    "products": Source(
        "catalog/products_catalog.v3.yml",
        "/catalog/products",
        "data",
        "Catalog products (GET /v3/catalog/products), incremental on date_modified.",
    ),
    "channels": Source(
        "channels.v3.yml",
        "/channels",
        "data",
        "Sales channels (GET /v3/channels), incremental on date_modified.",
    ),
    "store": Source(
        "store_information.v2.yml",
        "/store",
        "object",
        "The store's profile (GET /v2/store): one record. Full refresh only.",
    ),
    "order_products": Source(
        "orders.v2.oas2.yml",
        "/orders/{order_id}/products",
        "array",
        "Line items of each order (the order's consignments, or GET /v2/orders/{order_id}/products). "
        "Incremental through the parent order: an incremental sync reads the line items of orders "
        "modified since the orders cursor, so it has no cursor field of its own.",
    ),
    "brands": Source(
        "catalog/brands_catalog.v3.yml",
        "/catalog/brands",
        "data",
        "Catalog brands (GET /v3/catalog/brands). Full refresh only: BigCommerce offers no modification "
        "date for brands.",
    ),
    "categories": Source(
        "catalog/categories_catalog.v3.yml",
        "/catalog/categories",
        "data",
        "Catalog categories (GET /v3/catalog/categories). Full refresh only: BigCommerce offers no "
        "modification date for categories.",
    ),
    # Issue 15, orders family (docs/streams/orders.md).
    "order_shipments": Source(
        "orders.v2.oas2.yml",
        "/orders/{order_id}/shipments",
        "array",
        "Shipments of each order (GET /v2/orders/{order_id}/shipments). Incremental through the parent "
        "order: an incremental sync reads the shipments of orders modified since the orders cursor.",
    ),
    "order_coupons": Source(
        "orders.v2.oas2.yml",
        "/orders/{order_id}/coupons",
        "array",
        "Coupons applied to each order (GET /v2/orders/{order_id}/coupons). Incremental through the "
        "parent order, as order_shipments.",
    ),
    "order_taxes": Source(
        "orders.v2.oas2.yml",
        "/orders/{order_id}/taxes",
        "array",
        "Tax lines of each order (GET /v2/orders/{order_id}/taxes). Incremental through the parent order, "
        "as order_shipments.",
    ),
    "order_refunds": Source(
        "orders.v3.yml",
        "/orders/payment_actions/refunds",
        "data",
        "Refunds across orders (GET /v3/orders/payment_actions/refunds), incremental on created: a refund "
        "cannot be changed once made.",
    ),
    "order_statuses": Source(
        "orders.v2.oas2.yml",
        "/order_statuses",
        "array",
        "The store's order statuses and their custom labels (GET /v2/order_statuses). Full refresh only.",
    ),
    "order_shipping_addresses": Source(
        "orders.v2.oas2.yml",
        "#/components/schemas/shippingConsignment_Get",
        "component",
        "Shipping addresses of each order: the shipping consignments GET /v2/orders embeds with "
        "include=consignments, without their line items (see order_products) and with the order's id. "
        "Incremental through the parent order.",
        without=("line_items",),
        extra={"order_id": {"type": ["null", "integer"], "description": "The order the address belongs to."}},
    ),
    # Issue 15, catalog family (docs/streams/catalog.md says how each is read).
    "product_variants": Source(
        # The per-product list's productVariant_Full: the fields the bulk list's inline schema leaves
        # out (calculated_weight, gtin, image_url, mpn) are returned by both.
        "catalog/product-variants_catalog.v3.yml",
        "/catalog/products/{product_id}/variants",
        "data",
        "Product variants (GET /v3/catalog/variants, or products with include=variants). Full refresh "
        "only: variants carry no date, and a variant edit does not move its product's date_modified.",
    ),
    "product_images": Source(
        "catalog/products_catalog.v3.yml",
        "/catalog/products/{product_id}/images",
        "data",
        "Product images (products with include=images). Full refresh only: no list filters on an image's "
        "date_modified.",
    ),
    "product_custom_fields": Source(
        "catalog/products_catalog.v3.yml",
        "/catalog/products/{product_id}/custom-fields",
        "data",
        "Product custom fields (products with include=custom_fields), with the product's id added. Full "
        "refresh only: custom fields carry no date.",
        extra={
            "product_id": {
                "type": ["null", "integer"],
                "description": "The product the custom field belongs to (added by the connector from the "
                "parent product: the API object does not carry it).",
            }
        },
    ),
    "product_options": Source(
        "catalog/product-variant-options_catalog.v3.yml",
        "/catalog/products/{product_id}/options",
        "data",
        "Product variant options (products with include=options). Full refresh only: options carry no date.",
    ),
    "product_modifiers": Source(
        "catalog/product-modifiers_catalog.v3.yml",
        "/catalog/products/{product_id}/modifiers",
        "data",
        "Product modifiers (products with include=modifiers). Full refresh only: modifiers carry no date.",
    ),
    "product_metafields": Source(
        "catalog/products_catalog.v3.yml",
        "/catalog/products/metafields",
        "data",
        "Metafields of products (GET /v3/catalog/products/metafields), incremental on date_modified.",
    ),
    "variant_metafields": Source(
        "catalog/product-variants_catalog.v3.yml",
        "/catalog/variants/metafields",
        "data",
        "Metafields of product variants (GET /v3/catalog/variants/metafields), incremental on date_modified.",
    ),
    "price_lists": Source(
        "price_lists.v3.yml",
        "/pricelists",
        "data",
        "Price lists (GET /v3/pricelists), incremental on date_modified.",
    ),
    "price_list_records": Source(
        "price_lists.v3.yml",
        "/pricelists/{price_list_id}/records",
        "data",
        "Prices of variants on each price list (GET /v3/pricelists/{price_list_id}/records?include="
        "bulk_pricing_tiers,sku), keyed by price_list_id, variant_id and currency; incremental on "
        "date_modified, every price list read each sync.",
    ),
}

# Issue 15, store family: customers, marketing and store settings (docs/streams/store.md).
SOURCES = {
    **SOURCES,
    "customer_addresses": Source(
        "customers.v3.yml",
        "/customers/addresses",
        "data",
        "Customer addresses (GET /v3/customers/addresses). Full refresh only: addresses carry no dates "
        "and the list has no date filter.",
    ),
    "customer_groups": Source(
        "customers.v2.yml",
        "/customer_groups",
        "array",
        "Customer groups (GET /v2/customer_groups), incremental on date_modified (date_modified:min). "
        "Dates arrive as '2023-07-17 06:30:41' (UTC) and are emitted as RFC 3339 UTC.",
    ),
    "customer_attributes": Source(
        "customers.v3.yml",
        "/customers/attributes",
        "data",
        "Customer attribute definitions (GET /v3/customers/attributes), incremental on date_modified.",
    ),
    "customer_attribute_values": Source(
        "customers.v3.yml",
        "/customers/attribute-values",
        "data",
        "Customers' attribute values (GET /v3/customers/attribute-values), incremental on date_modified.",
    ),
    "subscribers": Source(
        "subscribers.v3.yml",
        "/customers/subscribers",
        "data",
        "Newsletter subscribers (GET /v3/customers/subscribers), incremental on date_modified.",
    ),
    "coupons": Source(
        "marketing.v2.yml",
        "/coupons",
        "array",
        "Legacy coupons (GET /v2/coupons). Full refresh only: BigCommerce offers no modification date "
        "for coupons. date_created and expires arrive in RFC 2822 and are emitted as RFC 3339 UTC.",
    ),
    "gift_certificates": Source(
        "marketing.v2.yml",
        "/gift_certificates",
        "array",
        "Gift certificates (GET /v2/gift_certificates). Full refresh only: no modification date. "
        "purchase_date and expiry_date arrive as Unix timestamps in strings and are emitted as RFC 3339 UTC.",
    ),
    "promotions": Source(
        "promotions.v3.yml",
        "/promotions",
        "data",
        "Promotions (GET /v3/promotions). Full refresh only: promotions carry no modification date.",
    ),
    "currencies": Source(
        "currencies.v2.yml",
        "/currencies",
        "array",
        "Store currencies (GET /v2/currencies). Full refresh only: the list has no date filter.",
    ),
    "inventory_locations": Source(
        "locations.v3.yml",
        "/inventory/locations",
        "data",
        "Inventory locations (GET /v3/inventory/locations). Full refresh only: the list has no date filter.",
    ),
    "inventory_items": Source(
        "inventory.v3.yml",
        "/inventory/items",
        "data",
        "Inventory of every item at every location (GET /v3/inventory/items), keyed by "
        "identity.variant_id. Full refresh only: items carry no dates.",
    ),
    "tax_classes": Source(
        "tax_classes.v2.yml",
        "/tax_classes",
        "array",
        "Tax classes (GET /v2/tax_classes). Full refresh only: the list has no date filter. The spec types "
        "id as a string.",
    ),
    "channel_listings": Source(
        "channels.v3.yml",
        "/channels/{channel_id}/listings",
        "data",
        "Product listings of each channel (GET /v3/channels/{channel_id}/listings), keyed by listing_id, "
        "incremental on date_modified per channel.",
    ),
    "sites": Source(
        "channels.v3.yml",
        "/channels/{channel_id}/site",
        "data",
        "The site of each channel that has one (GET /v3/channels/{channel_id}/site). Full refresh only.",
    ),
}

# (spec file, component) -> paths inside that component; "a.b" is a nested property, "[]" an array's items.
MONEY: Mapping[tuple[str, str], frozenset[str]] = {
    ("orders.v2.oas2.yml", "order_RespOnly"): frozenset(
        {
            "subtotal_tax",
            "shipping_cost_tax",
            "handling_cost_tax",
            "wrapping_cost_tax",
            "store_credit_amount",
            "gift_certificate_amount",
            "coupon_discount",
            "total_tax",
        }
    ),
    ("orders.v2.oas2.yml", "order_Shared"): frozenset(
        {
            "base_handling_cost",
            "base_shipping_cost",
            "base_wrapping_cost",
            "discount_amount",
            "handling_cost_ex_tax",
            "handling_cost_inc_tax",
            "refunded_amount",
            "shipping_cost_ex_tax",
            "shipping_cost_inc_tax",
            "subtotal_ex_tax",
            "subtotal_inc_tax",
            "total_ex_tax",
            "total_inc_tax",
            "wrapping_cost_ex_tax",
            "wrapping_cost_inc_tax",
        }
    ),
    ("orders.v2.oas2.yml", "orderProducts"): frozenset(
        {
            "base_price",
            "price_ex_tax",
            "price_inc_tax",
            "price_tax",
            "base_total",
            "total_ex_tax",
            "total_inc_tax",
            "total_tax",
            "base_cost_price",
            "cost_price_inc_tax",
            "cost_price_ex_tax",
            "cost_price_tax",
            "refund_amount",
            "base_wrapping_cost",
            "wrapping_cost_ex_tax",
            "wrapping_cost_inc_tax",
            "wrapping_cost_tax",
            "fixed_shipping_cost",
            "discounted_total_inc_tax",
        }
    ),
    ("orders.v2.oas2.yml", "orderProductAppliedDiscounts"): frozenset({"amount"}),
    ("orders.v2.oas2.yml", "shippingConsignment_Get"): frozenset(
        {
            "base_cost",
            "cost_ex_tax",
            "cost_inc_tax",
            "cost_tax",
            "base_handling_cost",
            "handling_cost_ex_tax",
            "handling_cost_inc_tax",
            "handling_cost_tax",
        }
    ),
    ("orders.v2.oas2.yml", "orderShipment"): frozenset({"merchant_shipping_cost"}),
    ("orders.v2.oas2.yml", "orderCoupons_Base"): frozenset({"discount"}),
    ("orders.v2.oas2.yml", "orderTaxes_Base"): frozenset({"priority_amount", "line_amount"}),
    ("orders.v3.yml", "Amount"): frozenset({""}),
    ("orders.v3.yml", "Refund"): frozenset({"total_tax"}),
    ("orders.v3.yml", "RefundItemAdjustment"): frozenset({"amount"}),
    ("orders.v2.oas2.yml", "orderFees_Resp"): frozenset(
        {"base_cost", "cost_ex_tax", "cost_inc_tax", "cost_tax"}
    ),
    ("orders.v3.yml", "Transaction"): frozenset(
        {
            "amount",
            "custom_provider_field_result.amount_received",
            "gift_certificate.original_balance",
            "gift_certificate.starting_balance",
            "gift_certificate.remaining_balance",
            "store_credit.remaining_balance",
        }
    ),
    ("customers.v3.yml", "CustomerStoredCreditAmounts"): frozenset({"[].amount"}),
    ("catalog/products_catalog.v3.yml", "product_Base_response"): frozenset(
        {"price", "cost_price", "retail_price", "sale_price", "map_price", "fixed_cost_shipping_price"}
    ),
    ("catalog/products_catalog.v3.yml", "product_Full"): frozenset({"calculated_price", "map_price"}),
    ("catalog/product-variants_catalog.v3.yml", "productVariant_Base"): frozenset(
        {"cost_price", "price", "sale_price", "retail_price", "fixed_cost_shipping_price"}
    ),
    ("catalog/product-variants_catalog.v3.yml", "productVariant_Full"): frozenset({"calculated_price"}),
    # An inline record schema is keyed by its GET path. A bulk pricing tier's amount is not money: its
    # type says whether it is a price, a percentage or a fixed price.
    ("price_lists.v3.yml", "/pricelists/{price_list_id}/records"): frozenset(
        {"price", "sale_price", "retail_price", "map_price", "calculated_price"}
    ),
    # Issue 15, store family. A coupon's and a customer group rule's `amount` are a percentage or an
    # amount depending on their type, so they are not marked.
    ("marketing.v2.yml", "coupon_Base"): frozenset({"min_purchase"}),
    ("marketing.v2.yml", "giftCertificate_Base"): frozenset({"amount"}),
    ("marketing.v2.yml", "giftCertificate_Full"): frozenset({"balance"}),
}

# Calendar dates the connector keeps as dates (``format: date``, ``YYYY-MM-DD``): an order product's
# event_date is `format: date` in orders.v2.oas2.yml, a day rather than a midnight timestamp (issue 12).
DATES: Mapping[tuple[str, str], frozenset[str]] = {
    ("orders.v2.oas2.yml", "orderProducts"): frozenset({"event_date"}),
}

# Dates that the specs type as plain strings: v2's RFC 2822 dates (orders.v2.oas2.yml, date_modified:
# "RFC-2822. This date time is always in UTC in the api response") and the products' date_last_imported
# (products_catalog.v3.yml examples: '2015-07-03T18:16:02+00:00').
TIMESTAMPS: Mapping[tuple[str, str], frozenset[str]] = {
    ("orders.v2.oas2.yml", "order_RespOnly"): frozenset({"date_modified", "date_shipped"}),
    ("orders.v2.oas2.yml", "order_Shared"): frozenset({"date_created"}),
    ("orders.v2.oas2.yml", "orderShipment"): frozenset({"date_created"}),
    ("catalog/products_catalog.v3.yml", "product_Base_response"): frozenset({"date_last_imported"}),
    # Issue 15, store family: customer groups' '2023-07-17 06:30:41' (customers.v2.yml examples), coupons'
    # RFC 2822 dates (marketing.v2.yml examples; expires "must be in RFC 2822"), gift certificates' Unix
    # timestamps in strings ("Date displays in the Unix timestamp format"), promotions' ISO 8601 dates
    # typed as plain strings (PromotionBase examples: '2005-12-30T01:02:03+00:00').
    ("customers.v2.yml", "customerGroup_Full"): frozenset({"date_created", "date_modified"}),
    ("marketing.v2.yml", "coupon_Full"): frozenset({"date_created"}),
    ("marketing.v2.yml", "coupon_Base"): frozenset({"expires"}),
    ("marketing.v2.yml", "giftCertificate_Full"): frozenset({"purchase_date", "expiry_date"}),
    ("promotions.v3.yml", "PromotionBase"): frozenset({"start_date", "end_date"}),
}


# Components kept as any JSON value: their recursive and/or/not alternatives would expand into megabytes of
# schema (promotions' item matchers and customer segments), while a loader stores them as JSON anyway.
OPAQUE: Mapping[tuple[str, str], str] = {
    (
        "promotions.v3.yml",
        "ItemMatcher",
    ): "Which items: brands, categories, products, variants, ... or and/or/not of them.",
    ("promotions.v3.yml", "CustomerSegmentLimitation"): "Customer segment ids, or and/or/not of them.",
}


class SpecError(Exception):
    """The specs do not look the way this generator expects; the message says where."""


@dataclass(frozen=True)
class Place:
    """Where the converter stands: the nearest enclosing component and the path inside it."""

    spec: str
    component: str | None
    path: str

    def child(self, step: str) -> Place:
        return Place(self.spec, self.component, f"{self.path}.{step}" if self.path else step)


class Converter:
    """Turns one spec file's OpenAPI schemas into draft-7 JSON Schema, recording which marks it used."""

    def __init__(self, spec_name: str, document: Mapping[str, Any]) -> None:
        self.spec_name = spec_name
        self.document = document
        self.used: set[tuple[str, str, str, str]] = set()
        """``(kind, spec, component, path)`` of every MONEY/TIMESTAMPS entry that was applied."""

    def record(self, node: Mapping[str, Any], path: str | None = None) -> dict[str, Any]:
        """A record's schema: like :meth:`convert`, but a top-level oneOf/anyOf becomes one object. An
        inline record schema (no component) is marked by its GET ``path``, as if that were its component."""
        node, place, stack = self._deref(node, Place(self.spec_name, path, ""), ())
        branches = node.get("oneOf") or node.get("anyOf")
        if branches:
            merged: dict[str, Any] = {}
            for branch in branches:
                merged = merge(merged, self.convert(branch, place, stack))
            return merged
        return self.convert(node, place, stack)

    def convert(self, node: Any, place: Place, stack: tuple[str, ...] = ()) -> dict[str, Any]:
        if not isinstance(node, Mapping):
            raise SpecError(f"{self.spec_name}: expected a schema object at {place.path or '<root>'}")
        if node.get("$ref") in stack:
            return {}
        outer = place
        node, place, stack = self._deref(node, place, stack)
        opaque = OPAQUE.get((place.spec, place.component or ""))
        if opaque is not None and not place.path:
            self.used.add(("opaque", place.spec, place.component or "", ""))
            return {"description": opaque}
        out: dict[str, Any] = {}
        for part in node.get("allOf", ()):
            out = merge(out, self.convert(part, place, stack))
        branches = node.get("oneOf") or node.get("anyOf")
        if branches:
            out = merge(out, self._alternatives(branches, place, stack))
        own = self._own(node, place, stack)
        description = own.pop("description", None)
        if own:
            out = merge(out, own)
        if description:
            out["description"] = description
        # A field is marked by its path in the component that holds it, or, when the field is itself a
        # $ref, by its path inside the referenced component (the root, for a scalar component).
        self._mark(out, outer)
        if place != outer:
            self._mark(out, place)
        return out

    def _deref(
        self, node: Mapping[str, Any], place: Place, stack: tuple[str, ...]
    ) -> tuple[Mapping[str, Any], Place, tuple[str, ...]]:
        """Follow ``$ref`` chains; entering a component resets the path to that component's root."""
        while "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                raise SpecError(f"{self.spec_name}: only local $refs are supported, found {ref!r}")
            target: Any = self.document
            for part in ref[2:].split("/"):
                if not isinstance(target, Mapping) or part not in target:
                    raise SpecError(f"{self.spec_name}: $ref {ref!r} points nowhere")
                target = target[part]
            stack = (*stack, ref)
            if ref.startswith("#/components/schemas/"):
                place = Place(self.spec_name, ref.rsplit("/", 1)[1], "")
            node = target
        return node, place, stack

    def _alternatives(self, branches: list[Any], place: Place, stack: tuple[str, ...]) -> dict[str, Any]:
        converted = [self.convert(branch, place, stack) for branch in branches]
        if any(branch == {} for branch in converted):
            return {}
        if all(set(branch) <= {"type", "description", "x-money"} for branch in converted):
            # Scalars only (payment_provider_id: string or number): one type list reads better than anyOf.
            merged: dict[str, Any] = {}
            for branch in converted:
                merged = merge(merged, branch)
            return merged
        unique: list[dict[str, Any]] = []
        for branch in converted:
            if branch not in unique:
                unique.append(branch)
        return unique[0] if len(unique) == 1 else {"anyOf": unique}

    def _own(self, node: Mapping[str, Any], place: Place, stack: tuple[str, ...]) -> dict[str, Any]:
        """The node's own keywords, without allOf/oneOf/anyOf."""
        kinds = node.get("type")
        types = [kinds] if isinstance(kinds, str) else list(kinds or ())
        if not types and "properties" in node:
            types = ["object"]
        if not types and "items" in node:
            types = ["array"]
        if not types and node.get("enum") and all(isinstance(value, str) for value in node["enum"]):
            # promotions.v3.yml CreatedFrom: an enum of strings without a type is a string, not any JSON.
            types = ["string"]
        out: dict[str, Any] = {}
        description = first_paragraph(node.get("description"))
        if description:
            out["description"] = description
        if not types:
            return out
        out["type"] = ["null", *(kind for kind in types if kind != "null")]
        if "object" in types:
            out["additionalProperties"] = True
            properties = {
                name: self.convert(child, place.child(name), stack)
                for name, child in (node.get("properties") or {}).items()
            }
            if properties:
                out["properties"] = properties
        if "array" in types and "items" in node:
            out["items"] = self.convert(node["items"], place.child("[]"), stack)
        if "string" in types and node.get("format") == "date-time":
            out["format"] = "date-time"
        return out

    def _mark(self, out: dict[str, Any], place: Place) -> None:
        if place.component is None:
            return
        key = (place.spec, place.component)
        if place.path in TIMESTAMPS.get(key, ()):
            self.used.add(("timestamp", *key, place.path))
            out["type"] = ["null", "string"]
            out["format"] = "date-time"
        if place.path in DATES.get(key, ()):
            self.used.add(("date", *key, place.path))
            out["type"] = ["null", "string"]
            out["format"] = "date"
        if place.path in MONEY.get(key, ()):
            self.used.add(("money", *key, place.path))
            out["x-money"] = True


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Combine two converted schemas leniently: the union of their types and of their properties."""
    if not a:
        return dict(b)
    if not b or a == b:
        return dict(a)
    if "anyOf" in a or "anyOf" in b:
        left: list[Any] = a.get("anyOf", [a])
        right: list[Any] = b.get("anyOf", [b])
        return {"anyOf": left + [branch for branch in right if branch not in left]}
    out = dict(a)
    for key, value in b.items():
        if key == "type":
            out["type"] = [
                "null",
                *dict.fromkeys(kind for kind in [*a.get("type", ()), *value] if kind != "null"),
            ]
        elif key == "properties":
            properties = dict(a.get("properties", {}))
            for name, child in value.items():
                properties[name] = merge(properties[name], child) if name in properties else child
            out["properties"] = properties
        elif key == "items":
            out["items"] = merge(a["items"], value) if "items" in a else value
        elif key not in out:
            out[key] = value
    return out


def first_paragraph(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    paragraph = text.strip().split("\n\n", 1)[0]
    return " ".join(paragraph.split()) or None


def spec_file(specs: Path, name: str) -> Path:
    """Where the spec file ``name`` is read from: the repository's vendored copy, else ``specs``."""
    vendored = VENDORED / "reference" / name
    return vendored if vendored.is_file() else specs / "reference" / name


def load_spec(specs: Path, name: str) -> Mapping[str, Any]:
    path = spec_file(specs, name)
    try:
        with path.open("rb") as handle:
            document: Mapping[str, Any] = yaml.load(
                handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            )
    except FileNotFoundError:
        raise SpecError(f"{path} does not exist; pass --specs pointing at bigcommerce-api-specs") from None
    return document


def record_schema(source: Source, document: Mapping[str, Any]) -> Mapping[str, Any]:
    """The OpenAPI schema of one record of ``source``: its 200 response, unwrapped from the envelope."""
    if source.envelope == "component":
        # Left a $ref, so the record starts in its component and its marks apply.
        return {"$ref": source.path}
    try:
        response: Any = document["paths"][source.path]["get"]["responses"]["200"]
    except KeyError:
        raise SpecError(f"{source.spec}: no 200 response for GET {source.path}") from None
    while "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema: Any = response["content"]["application/json"]["schema"]
    if source.envelope == "object":
        # Left unresolved, so a $ref'd record starts in its component and its marks apply.
        return schema  # type: ignore[no-any-return]
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if source.envelope == "data":
        data = schema["properties"]["data"]
        # A list's records are its items; a channel's site is the one object in data.
        return data.get("items", data)  # type: ignore[no-any-return]
    return schema["items"]  # type: ignore[no-any-return]


def vendored_streams() -> tuple[str, ...]:
    """The streams whose spec file is kept in the repository (:data:`VENDORED`)."""
    return tuple(
        stream for stream, source in SOURCES.items() if (VENDORED / "reference" / source.spec).is_file()
    )


def generate(specs: Path, only: Collection[str] | None = None) -> dict[str, bytes]:
    """Every stream's schema file (or those of ``only``), by stream name, as the bytes to write.

    The check that every field listed in :data:`MONEY` and its siblings still exists runs only when every
    stream is generated: a part of the streams uses a part of the lists.
    """
    documents: dict[str, Mapping[str, Any]] = {}
    used: set[tuple[str, str, str, str]] = set()
    files: dict[str, bytes] = {}
    for stream, source in SOURCES.items():
        if only is not None and stream not in only:
            continue
        document = documents.get(source.spec) or documents.setdefault(
            source.spec, load_spec(specs, source.spec)
        )
        converter = Converter(source.spec, document)
        schema = converter.record(record_schema(source, document), source.path)
        used |= converter.used
        properties = schema.setdefault("properties", {})
        for name in source.without:
            if properties.pop(name, None) is None:
                raise SpecError(f"{stream}: {source.spec} {source.path} has no field {name!r} to leave out")
        properties.update(source.extra)
        schema.pop("description", None)
        schema.update({"$schema": DRAFT7, "title": stream, "description": source.description})
        schema["type"] = "object"
        files[stream] = (json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    if only is not None:
        return files
    listed = {("money", *key, path) for key, paths in MONEY.items() for path in paths}
    listed |= {("timestamp", *key, path) for key, paths in TIMESTAMPS.items() for path in paths}
    listed |= {("date", *key, path) for key, paths in DATES.items() for path in paths}
    listed |= {("opaque", *key, "") for key in OPAQUE}
    missing = sorted(listed - used)
    if missing:
        names = ", ".join(f"{kind} {spec}#{component}.{path}" for kind, spec, component, path in missing)
        raise SpecError(f"listed fields that no stream's schema contains (renamed in the specs?): {names}")
    return files


def changed(files: Mapping[str, bytes], output: Path) -> Iterator[str]:
    for stream, content in files.items():
        path = output / f"{stream}.json"
        if not path.exists() or path.read_bytes() != content:
            yield stream


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--specs", type=Path, default=DEFAULT_SPECS, help="the bigcommerce-api-specs folder")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file would change")
    args = parser.parse_args(argv)
    try:
        files = generate(args.specs)
    except SpecError as exc:
        print(f"gen_schemas: {exc}", file=sys.stderr)
        return 2
    stale = list(changed(files, OUTPUT))
    if args.check:
        for stream in stale:
            print(f"gen_schemas: schemas/{stream}.json is out of date", file=sys.stderr)
        return 1 if stale else 0
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for stream in stale:
        (OUTPUT / f"{stream}.json").write_bytes(files[stream])
        print(f"wrote schemas/{stream}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
