"""The streams, as a table of data.

Each stream is one frozen :class:`StreamSpec` row: where it lives, which OAuth scope opens it, its key, its
cursor and how to ask BigCommerce for a window of it, and for a child, its parent and how it is fetched
(:data:`Fetch`). Adding a stream means adding a row here and a schema file in ``schemas/``; the engine reads
children through their parent's walk (children.py), whatever the parent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import orjson

from source_bigcommerce import embedded

Api = Literal["v2", "v3"]
Fetch = Literal["bulk", "per_parent", "embedded"]
"""How a stream's records are fetched:

* ``bulk``: one top-level list (or object) of its own; not a child, even where its records name a parent.
* ``per_parent``: one list per parent record, at ``path`` with the parent's id in its ``{placeholder}``.
* ``embedded``: carried in the parent's pages (``include=`` or a field of the parent), see :class:`Embedded`.
"""
TieWalk = Literal["min_id", "id_greater", "after_cursor", "pages"]
"""How to read every record of one ``date_modified`` second in id order, when more than a page share it:

* ``min_id``: v2 ``sort=id:asc&min_id=N`` (orders).
* ``id_greater``: v3 ``sort=id&direction=asc&id:greater=N`` (products).
* ``after_cursor``: v3 cursor pagination ``after=<end_cursor>``, which walks by id (customers).
* ``pages``: page numbers, re-walked if the total moves (channels, which have no id filter; always tiny).
"""

TimeFormat = Literal["iso_z", "iso_offset"]
"""How a window bound is written: ``2024-05-14T09:34:00Z`` (v3) or ``2024-05-14T09:34:00+00:00`` (v2).

Both are full timestamps: a date-only ``date_modified:min`` on products gets the current time of day
appended by BigCommerce (reference/catalog/products_catalog.v3.yml, ``date_modified:min``).
"""


@dataclass(frozen=True)
class Window:
    """How a stream asks for the records last modified in ``[lo, hi]`` (both inclusive), oldest first."""

    min_param: str
    max_param: str
    time_format: TimeFormat
    sort: Mapping[str, str] = field(hash=False)
    tie_walk: TieWalk = "pages"


@dataclass(frozen=True)
class Embedded:
    """Where an embedded child travels in its parent's records, and how to take it out."""

    params: Mapping[str, str] = field(hash=False)
    """Query parameters the parent's list is asked with so that its records carry the children."""
    carried_in: str
    """The parent's field that carries them; it is given back the shape the parent's list has without
    ``params`` (a v2 resource link, or no field on v3) before the parent is delivered."""
    records: Callable[[Mapping[str, Any]], list[dict[str, Any]] | None]
    """The children of one parent record; None when they cannot be trusted whole (then they are read from
    the child's per-parent ``path`` where :attr:`per_parent` allows it, else the child stream fails)."""
    complete: Callable[[Mapping[str, Any], list[dict[str, Any]]], bool] | None = None
    """For the per-parent fallback: whether the parent's own figures say these are all of its children, so
    that a short page may end the list (order products add up to the order's ``items_total``)."""
    per_parent: bool = True
    """Whether children that cannot be trusted whole are read from the child's per-parent ``path`` (an order
    whose consignment BigCommerce cut at 50 line items). False where a missing array can only mean the
    include was ignored, which would make the fallback one request per parent of the whole walk (a product's
    images): the child stream fails with a sentence instead."""


@dataclass(frozen=True)
class StreamSpec:
    """One stream: everything the engine, the catalog and the loader need to know about it."""

    name: str
    api: Api
    path: str
    """Path under ``/stores/{store_hash}/{api}``."""
    scope: str
    """The read-only OAuth scope that opens the endpoint (the modify scope includes it)."""
    primary_key: tuple[str, ...] = ("id",)
    """The fields that tell records apart: ``("id",)``, or several where a record has no id of its own (a price
    list record is the price of one variant in one currency on one list), or where its id is unique within its
    parent only (``("order_id", "id")``: an order coupon's id is its coupon code's, which every order using
    the code shares). A dotted path names a field inside an object (``identity.variant_id``: an inventory item
    has no id of its own, reference/inventory.v3.yml)."""
    cursor: str | None = None
    """The record field an incremental sync follows; ``None`` for children and full-refresh-only streams."""
    window: Window | None = None
    """How to ask for a ``date_modified`` window; set exactly when ``cursor`` is on the stream's own records."""
    parent: str | None = None
    """Children are read through their parent's walk, for each parent record it reads."""
    parent_key: str | None = None
    """The child's field holding its parent's id (added to the record where the API leaves it out): a
    re-read parent comes with all of its children, so a merged table replaces the parent's earlier children
    with them (a line item removed from an order goes)."""
    per: str | None = None
    """The stream whose every record this one is read for, each as a list of its own (the path's ``{...}``
    is that record's id), every sync, through this stream's own window: a price list record's change does
    not move its list (price_lists.v3.yml says nothing of it), so changed lists alone would miss some."""
    in_flight: int | None = None
    """The most requests of this stream BigCommerce takes at once, where it says (None: the lookahead's)."""
    fetch: Fetch = "bulk"
    embedded: Embedded | None = None
    """Set exactly when ``fetch`` is ``embedded``."""
    follows_parent: bool = True
    """A change to a child moves its parent's ``date_modified`` (an order's children): the child follows the
    parent's cursor, and an incremental sync reads the children of changed parents only. False: the child
    is full refresh, read for every parent on every sync (a channel's listings and site)."""
    after_id: bool = False
    """A per-parent v3 list paged by ``after=<last id>`` instead of ``page`` (channel listings)."""
    single: bool = False
    """One request answers it all: one object (``/v2/store``, a channel's site) or an unpaged array
    (``/v2/order_statuses``)."""
    params: Mapping[str, str] = field(default_factory=dict, hash=False)
    """Fixed query parameters sent on every list request (``include=body`` for pages, for instance)."""
    page_size: int = 250
    id_params: Mapping[str, str] = field(default_factory=dict, hash=False)
    """Query parameters that cut a list down to its ids, for the reconciliation's listing of what exists
    (``include_fields=id`` where the endpoint takes it); none where it takes no such parameter."""
    id_in: bool = False
    """The list filters by ``id:in`` (its spec file): an id the reconciliation's listing left out is asked for by
    id, which a record deleted or created mid-listing cannot hide, so the listing need not hold still."""
    id_floor: str | None = None
    """A v2 list without a window whose records come in id order and that filters ``id >= N`` by this
    parameter (``min_id``): it is read by that id keyset, which a record deleted mid-read cannot shift,
    rather than by page numbers."""

    @property
    def incremental(self) -> bool:
        return self.cursor is not None or (self.parent is not None and self.follows_parent)

    @property
    def key_paths(self) -> tuple[tuple[str, ...], ...]:
        """The primary key's fields as paths: ``(("id",),)``, ``(("identity", "variant_id"),)``, or with the
        parent's id where the record's own is unique within its parent only ``(("order_id",), ("id",))``."""
        return tuple(tuple(name.split(".")) for name in self.primary_key)

    @property
    def nested_key(self) -> bool:
        """Whether a key field lies inside an object, where no table column holds it to merge on."""
        return any(len(path) > 1 for path in self.key_paths)


def key_of(key: StreamSpec | tuple[str, ...]) -> Callable[[Mapping[str, Any]], Any]:
    """What reads a record's primary key: a one-field key's value itself, a tuple of a composite key's values;
    a dotted field is read down its path, None where the path is missing. It takes the stream, or the key's
    fields where only they are known (a table's rows)."""
    paths = key.key_paths if isinstance(key, StreamSpec) else tuple(tuple(name.split(".")) for name in key)
    if len(paths) == 1 and len(paths[0]) == 1:
        [[name]] = paths
        return lambda record: record.get(name)
    if len(paths) == 1:
        [path] = paths
        return lambda record: field_at(record, path)
    return lambda record: tuple(field_at(record, path) for path in paths)


def field_at(record: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path`` down the record's objects; None where the path is missing."""
    found: Any = record
    for name in path:
        found = found.get(name) if isinstance(found, dict) else None
    return found


def v3_window(sort: Mapping[str, str], tie_walk: TieWalk) -> Window:
    """The v3 ``date_modified:min``/``:max`` filters, shared by customers, products, channels and the customer
    lists (customer groups included: a v2 list with v3-style filters, reference/customers.v2.yml)."""
    return Window("date_modified:min", "date_modified:max", "iso_z", sort, tie_walk)


def _product_child(name: str, path: str, carried_in: str) -> StreamSpec:
    """A product child that rides in the products pages as the array ``carried_in``, asked for by
    ``include=<carried_in>``: read whole every sync, a missing array failing the stream rather than costing
    one request per product (docs/streams/catalog.md)."""
    return StreamSpec(
        name=name,
        api="v3",
        path=f"/catalog/products/{{product_id}}/{path}",
        scope="store_v2_products_read_only",
        parent="products",
        parent_key="product_id",
        fetch="embedded",
        follows_parent=False,
        embedded=Embedded({"include": carried_in}, carried_in, embedded.array(carried_in), per_parent=False),
    )


STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec(
        name="customers",
        api="v3",
        path="/customers",
        scope="store_v2_customers_read_only",
        cursor="date_modified",
        window=v3_window({"sort": "date_modified:asc"}, "after_cursor"),
        id_in=True,
    ),
    StreamSpec(
        name="orders",
        api="v2",
        path="/orders",
        scope="store_v2_orders_read_only",
        cursor="date_modified",
        window=Window(
            min_param="min_date_modified",
            max_param="max_date_modified",
            time_format="iso_offset",
            sort={"sort": "date_modified:asc"},
            tie_walk="min_id",
        ),
    ),
    StreamSpec(
        name="transactions",
        api="v3",
        path="/orders/{order_id}/transactions",
        scope="store_v2_transactions_read_only",
        parent="orders",
        parent_key="order_id",
        # No bulk endpoint: one request per order; 204 means none (reference/orders.v3.yml).
        fetch="per_parent",
    ),
    StreamSpec(
        name="pages",
        api="v3",
        path="/content/pages",
        scope="store_v2_content_read_only",
        # Without it the page's markup is left out (reference/pages.v3.yml, includeQuery).
        params={"include": "body"},
    ),
    StreamSpec(
        name="products",
        api="v3",
        path="/catalog/products",
        scope="store_v2_products_read_only",
        cursor="date_modified",
        window=v3_window({"sort": "date_modified", "direction": "asc"}, "id_greater"),
        # "The ID and the specified fields will be returned" (reference/catalog/products_catalog.v3.yml).
        id_params={"include_fields": "id"},
        id_in=True,
    ),
    StreamSpec(
        name="channels",
        api="v3",
        path="/channels",
        scope="store_channel_settings_read_only",
        cursor="date_modified",
        # /v3/channels takes date filters but no sort (reference/channels.v3.yml, getChannels).
        window=v3_window({}, "pages"),
    ),
    StreamSpec(
        name="store",
        api="v2",
        path="/store",
        scope="store_v2_information_read_only",
        single=True,
    ),
    StreamSpec(
        name="order_products",
        api="v2",
        path="/orders/{order_id}/products",
        scope="store_v2_orders_read_only",
        parent="orders",
        parent_key="order_id",
        fetch="embedded",
        embedded=Embedded(
            embedded.CONSIGNMENT_INCLUDE, "consignments", embedded.line_items, embedded.all_line_items
        ),
    ),
    StreamSpec(
        name="brands",
        api="v3",
        path="/catalog/brands",
        scope="store_v2_products_read_only",
    ),
    StreamSpec(
        name="categories",
        api="v3",
        path="/catalog/categories",
        scope="store_v2_products_read_only",
        params={"sort": "id"},
    ),
    StreamSpec(
        # Variants carry no date and /catalog/variants filters by none (catalog/product-variants_catalog.v3.yml),
        # and a variant edit does not move its product's date_modified: read whole every sync.
        name="product_variants",
        api="v3",
        path="/catalog/variants",
        scope="store_v2_products_read_only",
    ),
    StreamSpec(
        name="product_metafields",
        api="v3",
        path="/catalog/products/metafields",
        scope="store_v2_products_read_only",
        cursor="date_modified",
        # Date filters but no sort, pages in id order (catalog/products_catalog.v3.yml, the batch GET).
        window=v3_window({}, "pages"),
    ),
    StreamSpec(
        name="variant_metafields",
        api="v3",
        path="/catalog/variants/metafields",
        scope="store_v2_products_read_only",
        cursor="date_modified",
        # As product metafields (catalog/product-variants_catalog.v3.yml, the batch GET).
        window=v3_window({}, "pages"),
    ),
    StreamSpec(
        name="price_lists",
        api="v3",
        path="/pricelists",
        scope="store_v2_products_read_only",
        cursor="date_modified",
        # Date filters but no sort (price_lists.v3.yml, getPriceLists).
        window=v3_window({}, "pages"),
        id_in=True,
    ),
    StreamSpec(
        name="price_list_records",
        api="v3",
        # No GET lists records across price lists (price_lists.v3.yml: /pricelists/records is POST and PUT).
        path="/pricelists/{price_list_id}/records",
        scope="store_v2_products_read_only",
        primary_key=("price_list_id", "variant_id", "currency"),
        cursor="date_modified",
        window=v3_window({}, "pages"),
        per="price_lists",
        # price_lists.v3.yml, Get All Price List Records: "Supports up to 10 simultaneous GET requests".
        in_flight=10,
        # Without them a record lacks its tiers and its sku (price_lists.v3.yml, include).
        params={"include": "bulk_pricing_tiers,sku"},
    ),
    # The orders family beyond orders, order_products and transactions (docs/streams/orders.md).
    StreamSpec(
        name="order_refunds",
        api="v3",
        path="/orders/payment_actions/refunds",
        # Any of the orders or transactions scopes opens it (reference/orders.v3.yml, getRefunds).
        scope="store_v2_orders_read_only",
        # A refund is never changed or deleted (no PUT or DELETE in reference/orders.v3.yml), so its creation
        # time is an honest cursor. The list is in id order and takes no sort: a window is read whole.
        cursor="created",
        window=Window("created:min", "created:max", "iso_z", {}, "pages"),
        id_in=True,
    ),
    StreamSpec(
        name="order_shipping_addresses",
        api="v2",
        path="/orders",
        scope="store_v2_orders_read_only",
        parent="orders",
        parent_key="order_id",
        # /v2/orders/{id}/shipping_addresses would cost one request per order; the shipping consignments of
        # the orders pages are the same addresses (shippingConsignment_Get, reference/orders.v2.oas2.yml).
        fetch="embedded",
        embedded=Embedded(embedded.CONSIGNMENT_INCLUDE, "consignments", embedded.shipping_addresses),
    ),
    StreamSpec(
        name="order_shipments",
        api="v2",
        path="/orders/{order_id}/shipments",
        scope="store_v2_orders_read_only",
        parent="orders",
        parent_key="order_id",
        # No include and no bulk list of shipments, coupons or taxes (order_includes, orders.v2.oas2.yml).
        fetch="per_parent",
    ),
    StreamSpec(
        name="order_coupons",
        api="v2",
        path="/orders/{order_id}/coupons",
        scope="store_v2_orders_read_only",
        parent="orders",
        parent_key="order_id",
        # A coupon's id is the coupon code's, which every order using the code shares (orders.v2.oas2.yml).
        primary_key=("order_id", "id"),
        fetch="per_parent",
    ),
    StreamSpec(
        name="order_taxes",
        api="v2",
        path="/orders/{order_id}/taxes",
        scope="store_v2_orders_read_only",
        parent="orders",
        parent_key="order_id",
        fetch="per_parent",
    ),
    StreamSpec(
        name="order_statuses",
        api="v2",
        path="/order_statuses",
        scope="store_v2_orders_read_only",
        # A bare array of the 15 statuses; the spec gives it no paging parameters.
        single=True,
    ),
    # Issue 15, the product children that ride in the products pages (docs/streams/catalog.md). None has a date
    # a list filters by, and a change to one does not move its product's date_modified: each is read whole
    # every sync, on one products walk shared with the products stream (with options or modifiers, BigCommerce
    # serves that walk 10 products a page: catalog/products_catalog.v3.yml, include).
    _product_child("product_images", "images", "images"),
    # A custom field is {id, name, value} (productCustomField_Put): product_id is added from its product.
    _product_child("product_custom_fields", "custom-fields", "custom_fields"),
    _product_child("product_options", "options", "options"),
    _product_child("product_modifiers", "modifiers", "modifiers"),
    # Children of channels: their changes do not move the channel, so they are read for every channel.
    StreamSpec(
        name="channel_listings",
        api="v3",
        path="/channels/{channel_id}/listings",
        scope="store_channel_listings_read_only",
        primary_key=("listing_id",),
        parent="channels",
        parent_key="channel_id",
        fetch="per_parent",
        follows_parent=False,
        # Paged by `after`, the last listing id, not by `page` (reference/channels.v3.yml, getChannelListings).
        after_id=True,
    ),
    StreamSpec(
        name="sites",
        api="v3",
        # The alias of GET /v3/sites?channel_id=N (reference/channels.v3.yml); /v3/sites is not vendored.
        path="/channels/{channel_id}/site",
        scope="store_sites_read_only",
        parent="channels",
        parent_key="channel_id",
        fetch="per_parent",
        follows_parent=False,
        single=True,
    ),
    # Issue 15, customers, marketing and store settings (docs/streams/store.md). The customer lists filter by
    # date_modified but cannot sort by it: each window is read whole and read again if it moves.
    StreamSpec(
        name="customer_groups",
        api="v2",
        path="/customer_groups",
        scope="store_v2_customers_read_only",
        cursor="date_modified",
        window=v3_window({}, "pages"),
    ),
    StreamSpec(
        name="customer_attributes",
        api="v3",
        path="/customers/attributes",
        scope="store_v2_customers_read_only",
        cursor="date_modified",
        window=v3_window({}, "pages"),
    ),
    StreamSpec(
        name="customer_attribute_values",
        api="v3",
        path="/customers/attribute-values",
        scope="store_v2_customers_read_only",
        cursor="date_modified",
        window=v3_window({}, "pages"),
    ),
    StreamSpec(
        name="subscribers",
        api="v3",
        path="/customers/subscribers",
        scope="store_v2_customers_read_only",
        cursor="date_modified",
        window=v3_window({}, "pages"),
        id_in=True,
    ),
    StreamSpec(
        name="customer_addresses",
        api="v3",
        path="/customers/addresses",
        scope="store_v2_customers_read_only",
    ),
    StreamSpec(
        name="coupons",
        api="v2",
        path="/coupons",
        scope="store_v2_marketing_read_only",
        # In id order; the spec recommends min_id paging "for better performance" (reference/marketing.v2.yml).
        id_floor="min_id",
    ),
    StreamSpec(
        name="gift_certificates",
        api="v2",
        path="/gift_certificates",
        scope="store_v2_marketing_read_only",
        params={"sort": "id", "direction": "asc"},
        id_floor="min_id",
    ),
    StreamSpec(
        name="promotions",
        api="v3",
        path="/promotions",
        scope="store_v2_marketing_read_only",
    ),
    StreamSpec(
        name="currencies",
        api="v2",
        path="/currencies",
        scope="store_v2_information_read_only",
    ),
    StreamSpec(
        # No date filter and no id filter, only page and limit, and no count: walked by page number to the
        # empty page, twice at least. The spec types id as a string (tools/specs/reference/tax_classes.v2.yml).
        name="tax_classes",
        api="v2",
        path="/tax_classes",
        scope="store_v2_information_read_only",
    ),
    StreamSpec(
        name="inventory_locations",
        api="v3",
        path="/inventory/locations",
        scope="store_locations_read_only",
    ),
    StreamSpec(
        name="inventory_items",
        api="v3",
        path="/inventory/items",
        scope="store_inventory_read_only",
        primary_key=("identity.variant_id",),
    ),
)

BY_NAME: Mapping[str, StreamSpec] = {spec.name: spec for spec in STREAMS}


@functools.cache
def schema(name: str) -> Mapping[str, Any]:
    """The stream's JSON Schema (draft 7), read once from the packaged ``schemas/{name}.json``."""
    text = resources.files("source_bigcommerce").joinpath(f"schemas/{name}.json").read_bytes()
    loaded: dict[str, Any] = orjson.loads(text)
    return loaded
