"""The resource registry: one entry per resource, and everything about it the sandbox derives.

Routes and their OAuth scopes, store presets, id layouts, the filters and sorts a list accepts, its page
cap under ``--strict``, the CLI's count flags, mutations and the export all come from :data:`REGISTRY`.
Adding a list resource (a v3 ``{data, meta}`` list or a v2 array, read whole or per parent record) is one
:class:`Resource` entry here and one generator module in generators/; docs/sandbox.md ("Adding a
resource") walks through it. Children of other records are :class:`Parent` (ids from a sequence) or
:class:`Owned` (ids arithmetic in the parent's, embedded in the parent's list by an ``include``).

Filters are data: ``Filter(param, op, field, kind)`` reads one query parameter (``kind`` says how its
value parses) and adds a condition to the query. The id operators bound the id index (``id_eq``,
``id_in``, ``id_not_in``, ``id_min``, ``id_max``, ``id_greater``, ``id_less``); the field operators test
the rendered record (``eq``, ``in``, ``not_in``, ``like``, ``any_in``), which is fine for lists of
thousands and slow for a million. Date filters are ``dates`` (v3 ``date_modified[:min|:max]``, whole days
for a date alone) or ``v2_dates`` (``min_date_modified``...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bigcommerce_sandbox.basis import Basis, ChildIds, IdLayout, Relations, Render, SortKey, gapped
from bigcommerce_sandbox.generators import (
    brands,
    categories,
    channel_listings,
    channels,
    coupons,
    currencies,
    customer_addresses,
    customer_attribute_values,
    customer_attributes,
    customer_groups,
    customers,
    gift_certificates,
    inventory,
    metafields,
    order_coupons,
    order_refunds,
    order_shipments,
    order_shipping_addresses,
    order_statuses,
    order_taxes,
    orders,
    pages,
    price_list_records,
    price_lists,
    product_custom_fields,
    product_images,
    product_modifiers,
    product_options,
    product_variants,
    products,
    promotions,
    sites,
    store,
    subscribers,
    tax_classes,
)

PRESETS = ("tiny", "small", "medium", "large")
PRODUCT_SORTS = (
    "id", "name", "sku", "price", "date_modified", "date_last_imported", "inventory_level", "is_visible",
    "total_sold", "calculated_price",
)  # fmt: skip
TIE_CLUSTER = {"tiny": 6, "small": 300, "medium": 500, "large": 1_000}
"""Records of each tied resource that share one date_modified second, per preset."""


@dataclass(frozen=True)
class Filter:
    """One query parameter of a list: ``op`` on ``field`` (for field operators), its value parsed as
    ``kind``: ``int``, ``str``, ``bool``, ``ints`` or ``strs`` (comma-separated lists)."""

    param: str
    op: str
    field: str = ""
    kind: str = "str"


def id_family(prefix: str = "id") -> tuple[Filter, ...]:
    """``id``, ``id:in``, ``id:not_in``, ``id:min``, ``id:max``, ``id:greater``, ``id:less`` (QP, the specs)."""
    ops = (
        ("", "id_eq"), (":in", "id_in"), (":not_in", "id_not_in"), (":min", "id_min"), (":max", "id_max"),
        (":greater", "id_greater"), (":less", "id_less"),
    )  # fmt: skip
    return tuple(
        Filter(prefix + suffix, op, kind="ints" if op in ("id_in", "id_not_in") else "int")
        for suffix, op in ops
    )


def eq(name: str, kind: str = "str") -> Filter:
    return Filter(name, "eq", name, kind)


def like(name: str) -> Filter:
    return Filter(f"{name}:like", "like", name)


def in_(name: str, kind: str = "strs") -> Filter:
    return Filter(f"{name}:in", "in", name, kind)


def not_in(name: str, kind: str = "ints") -> Filter:
    return Filter(f"{name}:not_in", "not_in", name, kind)


ChildCount = Callable[[Basis, int, int], int]
"""How many children a generated parent has: (basis, parent id, parent index) -> n."""


@dataclass(frozen=True)
class Parent:
    """Records that are children of another resource's records: whose children they are and how many each
    parent has. Children are generated per parent from (seed, parent id), mutated and exported like any
    resource (store.py, mutations.py), and served per parent where the path holds ``{id}``
    (``/v2/orders/{id}/shipments``: routes.per_parent_route), else as one list of every parent's children
    (``/v3/orders/payment_actions/refunds``: routes.list_route). A parent deleted for good takes its
    children along."""

    resource: str
    """The parent's registry name: ``{id}`` in the child's path is one of its ids (404 for any other)."""
    field: str
    """The child record's field holding its parent's id (``order_id``, ``product_id``)."""
    count: ChildCount
    """Children of a generated parent; cheap, as it runs once per parent the first time the resource is
    used. A parent created by a mutation starts with none (mutate the child resource to add some)."""
    empty: int = 200
    """What a parent without children answers on v3: 200 with ``data: []``, or 204 where the spec says
    so. A v2 list answers 204, as every empty v2 page does."""
    moves_parent: bool = False
    """A change to a child gives its parent a new version and ``date_modified`` (an order's children)."""
    missing: int = 404
    """What a parent that does not exist answers: 404, or 200 with ``data: []`` where the spec says so
    (channel listings)."""
    single: bool = False
    """A parent has at most one child, which the route answers as ``{"data": {...}, "meta": {}}`` (404
    when there is none): a channel's site."""


@dataclass(frozen=True)
class Owned:
    """Records that belong to a parent's records (a product's variants and images): ids by
    :class:`~bigcommerce_sandbox.basis.ChildIds`, generated per parent, created and deleted with it.

    Changing one never moves its parent's ``date_modified``: BigCommerce does not move a product's for
    a variant edit (Fivetran's troubleshooting notes it) and documents nothing for the rest, so the
    sandbox takes the stingy side everywhere.
    """

    parent: str
    field: str
    """The child record's field holding its parent's id (``product_id``, ``resource_id``)."""
    ids: ChildIds
    slots: Callable[[Basis, int, Relations], Sequence[int]]
    """The slots of the children generated with a parent (one created later gets them too)."""
    room: Callable[[Basis, int], Sequence[int]] | None = None
    """Every slot a child of the parent may take, for creating one (None: 1 to ``ids.slots``)."""
    adds_field: bool = False
    """The API object lacks ``field`` and the export adds it (custom fields' ``product_id``)."""
    keep_first: bool = False
    """Slot 1 is never deleted (a product keeps its base variant)."""
    names: str = ""
    """Another resource each child names (a price list record names a variant): deleting a record of it
    deletes the children that name it."""
    naming: Callable[[int], Sequence[int]] | None = None
    """The slots that name a given record of ``names``."""
    key: Callable[[int], list[Any]] | None = None
    """For records without an id of their own (price list records): the key a mutation's result names
    one by, from the sandbox's id."""


@dataclass(frozen=True)
class Embedded:
    """Records a parent's page carries with an include (the shipping consignments of orders with
    ``include=consignments``): served by the parent's route, derived from the parent's current state by
    ``records(basis, relations, parent id)``, exported as their own resource, changed through the parent."""

    resource: str
    include: str
    records: Callable[[Basis, Relations, int], list[dict[str, Any]]]


@dataclass(frozen=True)
class Resource:
    """One resource: its records (generator, sizes, ids, dates), its route (path, scope, filters, sorts,
    paging) and how it changes (deletes).

    ``kind`` picks the route handler: ``list`` (a v3 or v2 list served entirely from this entry),
    ``orders`` (orders, their count and one order: includes, archived orders, heavy pages),
    ``order_child`` (line items and transactions, read per order), ``object`` (one object), ``fixed``
    (a list of a fixed set of records, ``sizes[0]`` of them, that can only be updated: order statuses) or
    ``embedded`` (no route of its own: see :class:`Embedded`, or ``embed`` with ``owned``).
    ``table`` makes the entry a second view of another resource's records (trees of categories);
    ``parent`` (:class:`Parent`) and ``owned`` (:class:`Owned`) make its records children of another
    resource's, read per parent where the path holds ``{id}``.
    """

    name: str
    path: str
    scope: str
    spec: tuple[str, str]
    """The official OpenAPI file (under bigcommerce-api-specs/reference, or the repository's tools/specs/reference
    for the few the shared copy lacks) and path its records follow; the conformance tests validate what the
    sandbox serves against it."""
    render: Render | None
    sizes: tuple[int, int, int, int] = (0, 0, 0, 0)
    """Records in the tiny, small, medium and large presets (0 for views and children)."""
    ids: IdLayout = field(default=gapped(1))
    kind: str = "list"
    dated: bool = False
    """Has date_created/date_modified, indexed for date filters and sorts; updates move date_modified."""
    tied: bool = False
    """Takes part in the tie cluster (records sharing one date_modified second)."""
    first_at_opening: bool = False
    """The first record was created when the store opened (channel 1, the default storefront)."""
    filters: tuple[Filter, ...] = ()
    dates: tuple[str, ...] = ()
    date_quirk: bool = False
    """products_catalog.v3.yml: a date-only ``date_modified:min``/``:max`` gets the request's time of day."""
    v2_dates: bool = False
    sorts: tuple[str, ...] = ()
    sort_style: str = "direction"
    """``direction`` (``sort=f&direction=desc``), ``colon`` (``sort=f:desc``, direction required) or
    ``v2`` (``sort=f`` or ``f:asc|desc``)."""
    sort_key: SortKey | None = None
    variants: frozenset[str] = frozenset()
    """``include`` values that change the rendered record (pages' ``body``)."""
    cursors: bool = False
    """``before``/``after`` cursor paging beside page numbers (customers.v3.yml)."""
    paged: bool = True
    strict_cap: int | None = None
    """Rows a page under ``--strict``; None: the ``limit`` asked."""
    include_caps: Mapping[str, int] = field(default_factory=dict)
    """Documented smaller pages for some includes (products with ``options``), whenever caps are on."""
    refuse_encoded_dates: bool = False
    supported_params: frozenset[str] | None = None
    """Where the spec says unsupported parameters are a 400: the ones this list supports."""
    deletes: str = "remove"
    """``remove`` (gone, as BigCommerce hard-deletes), ``leaves`` (gone, but only records no other one
    names as parent), ``archive`` (stays, ``is_deleted``), ``status`` (stays, status ``deleted``; never the
    first record) or ``never``."""
    referenced: bool = False
    """Other records name these (products name brands and categories): deleting one re-renders them."""
    table: str | None = None
    exported: bool = True
    parent: Parent | None = None
    owned: Owned | None = None
    embedded: Embedded | None = None
    updates: bool = True
    """Records change after they are created (refunds do not: orders.v3.yml has no way to edit one)."""
    id_field: str = "id"
    """The record's field holding the id its table is keyed by (``category_id`` in trees)."""
    embed: str | None = None
    """For a child (``parent=`` or ``owned=``) whose parent's list route embeds it: the ``include`` value,
    which is also the parent record's field that holds the children (``addresses`` on /v3/customers,
    ``variants`` on /v3/catalog/products)."""
    embed_cap: int | None = None
    """The most children a parent record embeds (customers.v3.yml: addresses "Limited to 10")."""
    refers: tuple[tuple[str, str], ...] = ()
    """(resource, field): besides its parent, a record names a record of ``resource`` in ``field``, and
    goes with it when it is deleted (an attribute value with its attribute)."""

    @property
    def per_parent(self) -> bool:
        """Read one parent at a time (a ``{id}`` in the path names the parent)."""
        return self.parent_resource is not None and self.kind == "list" and "{id}" in self.path

    @property
    def parent_resource(self) -> str | None:
        """The resource whose records these records are children of, if any."""
        if self.parent is not None:
            return self.parent.resource
        return self.owned.parent if self.owned is not None else None

    @property
    def creates(self) -> bool:
        """Whether POST /__sandbox/mutate can create records: not for a fixed set (order statuses), nor
        for owned records that come with their parents (a product's options come with its variants)."""
        return self.kind != "fixed" and not (self.owned is not None and self.deletes == "never")

    @property
    def parent_field(self) -> str | None:
        """The child record's field holding its parent's id, if it has a parent."""
        if self.parent is not None:
            return self.parent.field
        return self.owned.field if self.owned is not None else None

    @property
    def version(self) -> str:
        return self.path.split("/", 2)[1]

    @property
    def table_name(self) -> str:
        return self.table or self.name

    @property
    def routes(self) -> tuple[str, ...]:
        """Every path the resource answers: orders also have their count and one order by id."""
        if self.kind == "orders":
            return (self.path, f"{self.path}/count", f"{self.path}/{{id}}")
        if self.kind == "embedded":
            return ()
        return (self.path,)


REGISTRY: tuple[Resource, ...] = (
    Resource(
        name="customers",
        path="/v3/customers",
        scope="store_v2_customers_read_only",
        spec=("customers.v3.yml", "/customers"),
        render=customers.render,
        sizes=(40, 1_500, 20_000, 250_000),
        ids=gapped(1, 9),
        dated=True,
        tied=True,
        filters=(
            Filter("id:in", "id_in", kind="ints"),
            in_("email"),
            in_("customer_group_id", "ints"),
            in_("company"),
        ),
        dates=("date_modified", "date_created"),
        sorts=("date_created", "date_modified", "last_name"),
        sort_style="colon",
        sort_key=customers.sort_key,
        cursors=True,
        strict_cap=40,
        refuse_encoded_dates=True,
    ),
    Resource(
        name="orders",
        path="/v2/orders",
        scope="store_v2_orders_read_only",
        spec=("orders.v2.oas2.yml", "/orders"),
        render=orders.render,
        sizes=(50, 2_000, 10_000, 1_000_000),
        ids=gapped(100, 11),
        kind="orders",
        dated=True,
        tied=True,
        filters=(
            Filter("min_id", "id_min", kind="int"),
            Filter("max_id", "id_max", kind="int"),
            eq("customer_id", "int"),
            eq("status_id", "int"),
            eq("channel_id", "int"),
            eq("cart_id"),
            eq("payment_method"),
        ),
        v2_dates=True,
        sorts=(
            "id",
            "customer_id",
            "date_created",
            "date_modified",
            "status_id",
            "channel_id",
            "external_id",
        ),
        sort_style="v2",
        sort_key=orders.sort_key,
        strict_cap=60,
        deletes="archive",
    ),
    Resource(
        name="transactions",
        path="/v3/orders/{id}/transactions",
        scope="store_v2_transactions_read_only",
        spec=("orders.v3.yml", "/orders/{order_id}/transactions"),
        render=None,
        kind="order_child",
        paged=False,
    ),
    Resource(
        name="pages",
        path="/v3/content/pages",
        scope="store_v2_content_read_only",
        spec=("pages.v3.yml", "/content/pages"),
        render=pages.render,
        sizes=(8, 20, 50, 200),
        filters=(Filter("id:in", "id_in", kind="ints"), eq("channel_id", "int"), eq("name"), like("name")),
        variants=frozenset({"body"}),
        strict_cap=30,
        # reference/pages.v3.yml: "passing query parameters that are not supported on this endpoint" is a 400.
        supported_params=frozenset({"channel_id", "id:in", "name", "name:like", "limit", "page", "include"}),
    ),
    Resource(
        name="products",
        path="/v3/catalog/products",
        scope="store_v2_products_read_only",
        spec=("catalog/products_catalog.v3.yml", "/catalog/products"),
        render=products.render,
        sizes=(30, 1_000, 5_000, 50_000),
        ids=gapped(77, 13),
        dated=True,
        tied=True,
        filters=(
            *id_family(),
            eq("name"),
            eq("sku"),
            eq("type"),
            eq("upc"),
            eq("mpn"),
            eq("brand_id", "int"),
            eq("is_visible", "bool"),
            eq("is_featured", "bool"),
            eq("is_free_shipping", "bool"),
            Filter("categories:in", "any_in", "categories", "ints"),
        ),
        dates=("date_modified",),
        date_quirk=True,
        sorts=PRODUCT_SORTS,
        sort_key=products.sort_key,
        strict_cap=40,
        # products_catalog.v3.yml, include: "When you specify options or modifiers, results are limited to
        # 10 per page".
        include_caps={"options": 10, "modifiers": 10},
    ),
    Resource(
        name="channels",
        path="/v3/channels",
        scope="store_channel_settings_read_only",
        spec=("channels.v3.yml", "/channels"),
        render=channels.render,
        sizes=(4, 5, 6, 8),
        ids=lambda index: 1 if index == 0 else 664_000 + index * 1_013,
        dated=True,
        first_at_opening=True,
        filters=(in_("status"), in_("type"), in_("platform")),
        dates=("date_modified", "date_created"),
        strict_cap=30,
        refuse_encoded_dates=True,
        deletes="status",
    ),
    Resource(
        name="store",
        path="/v2/store",
        scope="store_v2_information_read_only",
        spec=("store_information.v2.yml", "/store"),
        render=store.render,
        kind="object",
        paged=False,
        deletes="never",
    ),
    Resource(
        name="order_products",
        path="/v2/orders/{id}/products",
        scope="store_v2_orders_read_only",
        spec=("orders.v2.oas2.yml", "/orders/{order_id}/products"),
        render=None,
        kind="order_child",
        strict_cap=45,
    ),
    Resource(
        name="brands",
        path="/v3/catalog/brands",
        scope="store_v2_products_read_only",
        spec=("catalog/brands_catalog.v3.yml", "/catalog/brands"),
        render=brands.render,
        sizes=(8, 40, 200, 1_000),
        ids=gapped(30),
        filters=(*id_family(), eq("name"), eq("page_title"), like("name")),
        sorts=("id", "name"),
        strict_cap=70,
        referenced=True,
    ),
    Resource(
        name="categories",
        path="/v3/catalog/categories",
        scope="store_v2_products_read_only",
        spec=("catalog/categories_catalog.v3.yml", "/catalog/categories"),
        render=categories.render,
        sizes=(12, 80, 400, 2_000),
        ids=gapped(18),
        filters=(
            *id_family(),
            eq("name"),
            like("name"),
            eq("parent_id", "int"),
            in_("parent_id", "ints"),
            eq("is_visible", "bool"),
        ),
        sorts=("id", "name", "parent_id", "sort_order"),
        strict_cap=70,
        deletes="leaves",
        referenced=True,
    ),
    Resource(
        name="trees",
        path="/v3/catalog/trees/categories",
        scope="store_v2_products_read_only",
        spec=("catalog/category-trees_catalog.v3.yml", "/catalog/trees/categories"),
        render=categories.render_tree,
        table="categories",
        id_field="category_id",
        filters=(
            *id_family("category_id"),
            in_("tree_id", "ints"),
            not_in("tree_id"),
            in_("parent_id", "ints"),
            not_in("parent_id"),
            eq("name"),
            like("name"),
            eq("is_visible", "bool"),
        ),
        strict_cap=70,
        exported=False,
    ),
    # ------------------------------------------------------------------ catalog family (issue 15)
    Resource(
        name="product_variants",
        path="/v3/catalog/variants",
        scope="store_v2_products_read_only",
        spec=("catalog/product-variants_catalog.v3.yml", "/catalog/variants"),
        render=product_variants.render,
        owned=Owned(
            "products",
            "product_id",
            product_variants.IDS,
            product_variants.slots,
            room=product_variants.room,
            keep_first=True,
        ),
        embed="variants",
        filters=(Filter("id", "id_eq", kind="int"), eq("sku"), eq("upc"), in_("product_id", "ints")),
        strict_cap=45,
    ),
    Resource(
        name="product_images",
        path="/v3/catalog/products/{id}/images",
        scope="store_v2_products_read_only",
        spec=("catalog/products_catalog.v3.yml", "/catalog/products/{product_id}/images"),
        render=product_images.render,
        owned=Owned("products", "product_id", product_images.IDS, product_images.slots),
        embed="images",
        kind="embedded",
        dated=True,
        paged=False,
    ),
    Resource(
        name="product_custom_fields",
        path="/v3/catalog/products/{id}/custom-fields",
        scope="store_v2_products_read_only",
        spec=("catalog/products_catalog.v3.yml", "/catalog/products/{product_id}/custom-fields"),
        render=product_custom_fields.render,
        owned=Owned(
            "products",
            "product_id",
            product_custom_fields.IDS,
            product_custom_fields.slots,
            adds_field=True,
        ),
        embed="custom_fields",
        kind="embedded",
        paged=False,
    ),
    Resource(
        name="product_options",
        path="/v3/catalog/products/{id}/options",
        scope="store_v2_products_read_only",
        spec=("catalog/product-variant-options_catalog.v3.yml", "/catalog/products/{product_id}/options"),
        render=product_options.render,
        owned=Owned("products", "product_id", product_options.IDS, product_options.slots),
        embed="options",
        kind="embedded",
        paged=False,
        # Options come and go with their products' variants (product_options.py): only updates.
        deletes="never",
    ),
    Resource(
        name="product_modifiers",
        path="/v3/catalog/products/{id}/modifiers",
        scope="store_v2_products_read_only",
        spec=("catalog/product-modifiers_catalog.v3.yml", "/catalog/products/{product_id}/modifiers"),
        render=product_modifiers.render,
        owned=Owned("products", "product_id", product_modifiers.IDS, product_modifiers.slots),
        embed="modifiers",
        kind="embedded",
        paged=False,
    ),
    Resource(
        name="product_metafields",
        path="/v3/catalog/products/metafields",
        scope="store_v2_products_read_only",
        spec=("catalog/products_catalog.v3.yml", "/catalog/products/metafields"),
        render=metafields.render_product,
        owned=Owned("products", "resource_id", metafields.PRODUCT_IDS, metafields.product_slots),
        dated=True,
        filters=(eq("key"), in_("key"), eq("namespace"), in_("namespace")),
        dates=("date_modified", "date_created"),
        cursors=True,
        strict_cap=35,
    ),
    Resource(
        name="variant_metafields",
        path="/v3/catalog/variants/metafields",
        scope="store_v2_products_read_only",
        spec=("catalog/product-variants_catalog.v3.yml", "/catalog/variants/metafields"),
        render=metafields.render_variant,
        owned=Owned("product_variants", "resource_id", metafields.VARIANT_IDS, metafields.variant_slots),
        dated=True,
        filters=(eq("key"), in_("key"), eq("namespace"), in_("namespace")),
        dates=("date_modified", "date_created"),
        cursors=True,
        strict_cap=20,
    ),
    Resource(
        name="price_lists",
        path="/v3/pricelists",
        scope="store_v2_products_read_only",
        spec=("price_lists.v3.yml", "/pricelists"),
        render=price_lists.render,
        sizes=(3, 4, 8, 12),
        dated=True,
        filters=(Filter("id:in", "id_in", kind="ints"), eq("name"), like("name")),
        dates=("date_modified", "date_created"),
        cursors=True,
        strict_cap=7,
    ),
    Resource(
        name="price_list_records",
        path="/v3/pricelists/{id}/records",
        scope="store_v2_products_read_only",
        spec=("price_lists.v3.yml", "/pricelists/{price_list_id}/records"),
        render=price_list_records.render,
        owned=Owned(
            "price_lists",
            "price_list_id",
            price_list_records.IDS,
            price_list_records.slots,
            names="product_variants",
            naming=price_list_records.naming,
            key=price_list_records.key,
        ),
        dated=True,
        filters=(in_("variant_id", "ints"), in_("product_id", "ints"), eq("currency"), in_("currency")),
        dates=("date_modified", "date_created"),
        variants=frozenset({"bulk_pricing_tiers", "sku"}),
        cursors=True,
        strict_cap=45,
    ),
)

REGISTRY += (
    # Issue 15, orders family.
    Resource(
        name="order_shipments",
        path="/v2/orders/{id}/shipments",
        scope="store_v2_orders_read_only",
        spec=("orders.v2.oas2.yml", "/orders/{order_id}/shipments"),
        render=order_shipments.render,
        parent=Parent("orders", "order_id", order_shipments.count, moves_parent=True),
    ),
    Resource(
        name="order_coupons",
        path="/v2/orders/{id}/coupons",
        scope="store_v2_orders_read_only",
        spec=("orders.v2.oas2.yml", "/orders/{order_id}/coupons"),
        render=order_coupons.render,
        parent=Parent("orders", "order_id", order_coupons.count, moves_parent=True),
    ),
    Resource(
        name="order_taxes",
        path="/v2/orders/{id}/taxes",
        scope="store_v2_orders_read_only",
        spec=("orders.v2.oas2.yml", "/orders/{order_id}/taxes"),
        render=order_taxes.render,
        parent=Parent("orders", "order_id", order_taxes.count, moves_parent=True),
        strict_cap=45,
    ),
    Resource(
        name="order_refunds",
        path="/v3/orders/payment_actions/refunds",
        # reference/orders.v3.yml: transactions or orders scopes; the sandbox checks one.
        scope="store_v2_orders_read_only",
        spec=("orders.v3.yml", "/orders/payment_actions/refunds"),
        render=order_refunds.render,
        parent=Parent("orders", "order_id", order_refunds.count, moves_parent=True),
        ids=gapped(1, 7),
        dated=True,
        filters=(Filter("id:in", "id_in", kind="ints"), in_("order_id", "ints")),
        dates=("created",),
        strict_cap=40,
        updates=False,
        deletes="never",
    ),
    Resource(
        name="order_statuses",
        path="/v2/order_statuses",
        scope="store_v2_orders_read_only",
        spec=("orders.v2.oas2.yml", "/order_statuses"),
        render=order_statuses.render,
        kind="fixed",
        sizes=(15, 15, 15, 15),
        ids=gapped(0),
        paged=False,
        deletes="never",
    ),
    Resource(
        name="order_shipping_addresses",
        path="/v2/orders",
        scope="store_v2_orders_read_only",
        spec=("orders.v2.oas2.yml", "#/components/schemas/shippingConsignment_Get"),
        render=None,
        kind="embedded",
        embedded=Embedded("orders", "consignments", order_shipping_addresses.records),
        paged=False,
        deletes="never",
    ),
)

REGISTRY += (
    # Issue 15, store family: customers, marketing and store settings.
    Resource(
        name="customer_groups",
        path="/v2/customer_groups",
        scope="store_v2_customers_read_only",
        spec=("customers.v2.yml", "/customer_groups"),
        render=customer_groups.render,
        sizes=(4, 8, 20, 50),
        dated=True,
        filters=(eq("name"), like("name"), eq("is_default", "bool"), eq("is_group_for_guests", "bool")),
        # customers.v2.yml: a v2 list with v3-style date filters (date_modified:min, not min_date_modified).
        dates=("date_modified", "date_created"),
        strict_cap=3,
    ),
    Resource(
        name="customer_attributes",
        path="/v3/customers/attributes",
        scope="store_v2_customers_read_only",
        spec=("customers.v3.yml", "/customers/attributes"),
        render=customer_attributes.render,
        sizes=(4, 5, 8, 15),
        dated=True,
        filters=(eq("name"), like("name"), eq("type")),
        dates=("date_modified", "date_created"),
        strict_cap=3,
    ),
    Resource(
        name="subscribers",
        path="/v3/customers/subscribers",
        scope="store_v2_customers_read_only",
        spec=("subscribers.v3.yml", "/customers/subscribers"),
        render=subscribers.render,
        sizes=(15, 600, 8_000, 100_000),
        ids=gapped(1, 23),
        dated=True,
        filters=(
            Filter("id", "id_eq", kind="int"),
            Filter("id:in", "id_in", kind="ints"),
            eq("email"),
            eq("first_name"),
            eq("last_name"),
            eq("source"),
            eq("order_id", "int"),
        ),
        dates=("date_modified", "date_created"),
        strict_cap=7,
    ),
    Resource(
        name="coupons",
        path="/v2/coupons",
        scope="store_v2_marketing_read_only",
        spec=("marketing.v2.yml", "/coupons"),
        render=coupons.render,
        sizes=(12, 100, 500, 2_000),
        ids=gapped(1, 17),
        dated=True,
        filters=(
            Filter("id", "id_eq", kind="int"),
            Filter("min_id", "id_min", kind="int"),
            Filter("max_id", "id_max", kind="int"),
            eq("code"),
            eq("name"),
            eq("type"),
            Filter("exclude_type", "not_in", "type", "strs"),
        ),
        strict_cap=7,
    ),
    Resource(
        name="gift_certificates",
        path="/v2/gift_certificates",
        scope="store_v2_marketing_read_only",
        spec=("marketing.v2.yml", "/gift_certificates"),
        render=gift_certificates.render,
        sizes=(10, 80, 400, 3_000),
        ids=gapped(1, 13),
        dated=True,
        filters=(
            Filter("min_id", "id_min", kind="int"),
            Filter("max_id", "id_max", kind="int"),
            eq("code"),
            eq("order_id", "int"),
            eq("to_name"),
            eq("to_email"),
            eq("from_name"),
            eq("from_email"),
        ),
        sorts=("id",),
        strict_cap=7,
    ),
    Resource(
        name="promotions",
        path="/v3/promotions",
        scope="store_v2_marketing_read_only",
        spec=("promotions.v3.yml", "/promotions"),
        render=promotions.render,
        sizes=(6, 40, 150, 600),
        ids=gapped(1, 11),
        dated=True,
        filters=(Filter("id", "id_eq", kind="int"), eq("name"), eq("currency_code"), eq("status")),
        sorts=("id", "name", "start_date"),
        strict_cap=4,
    ),
    Resource(
        name="currencies",
        path="/v2/currencies",
        scope="store_v2_information_read_only",
        spec=("currencies.v2.yml", "/currencies"),
        render=currencies.render,
        sizes=(4, 5, 8, 12),
        dated=True,
        first_at_opening=True,
        strict_cap=3,
    ),
    Resource(
        # Not in the shared specs: vendored in tools/specs (tools/specs/README.md). It takes only page and limit.
        name="tax_classes",
        path="/v2/tax_classes",
        scope="store_v2_information_read_only",
        spec=("tax_classes.v2.yml", "/tax_classes"),
        render=tax_classes.render,
        sizes=(4, 5, 6, 9),
        dated=True,
        first_at_opening=True,
        strict_cap=3,
    ),
    Resource(
        name="inventory_locations",
        path="/v3/inventory/locations",
        scope="store_locations_read_only",
        spec=("locations.v3.yml", "/inventory/locations"),
        render=inventory.render_location,
        sizes=(4, 4, 6, 12),
        dated=True,
        first_at_opening=True,
        filters=(
            Filter("location_id:in", "id_in", kind="ints"),
            Filter("location_code:in", "in", "code", "strs"),
            in_("type_id"),
            eq("managed_by_external_source", "bool"),
            Filter("is_active", "eq", "enabled", "bool"),
            eq("storefront_visibility", "bool"),
        ),
        strict_cap=3,
        referenced=True,
    ),
    Resource(
        name="inventory_items",
        path="/v3/inventory/items",
        scope="store_inventory_read_only",
        spec=("inventory.v3.yml", "/inventory/items"),
        render=inventory.render_item,
        table="products",
        strict_cap=7,
    ),
    Resource(
        name="customer_addresses",
        path="/v3/customers/addresses",
        scope="store_v2_customers_read_only",
        spec=("customers.v3.yml", "/customers/addresses"),
        render=customer_addresses.render,
        ids=gapped(1),
        filters=(
            Filter("id:in", "id_in", kind="ints"),
            in_("customer_id", "ints"),
            in_("company"),
        ),
        strict_cap=7,
        parent=Parent("customers", "customer_id", customers.address_count),
        embed="addresses",
        embed_cap=10,
    ),
    Resource(
        name="customer_attribute_values",
        path="/v3/customers/attribute-values",
        scope="store_v2_customers_read_only",
        spec=("customers.v3.yml", "/customers/attribute-values"),
        render=customer_attribute_values.render,
        ids=gapped(1),
        dated=True,
        filters=(in_("customer_id", "ints"), in_("attribute_id", "ints")),
        dates=("date_modified", "date_created"),
        strict_cap=7,
        parent=Parent("customers", "customer_id", customer_attribute_values.count),
        refers=(("customer_attributes", "attribute_id"),),
    ),
    Resource(
        name="channel_listings",
        path="/v3/channels/{id}/listings",
        scope="store_channel_listings_read_only",
        spec=("channels.v3.yml", "/channels/{channel_id}/listings"),
        render=channel_listings.render,
        ids=gapped(882_789_000, 29),
        dated=True,
        # channels.v3.yml: paged by `after`, the last listing id seen (page and limit also work here).
        filters=(Filter("after", "id_greater", kind="int"), in_("product_id", "ints")),
        dates=("date_modified", "date_created"),
        strict_cap=7,
        parent=Parent("channels", "channel_id", channel_listings.count, missing=200),
        id_field="listing_id",
    ),
    Resource(
        name="sites",
        path="/v3/channels/{id}/site",
        scope="store_sites_read_only",
        spec=("channels.v3.yml", "/channels/{channel_id}/site"),
        render=sites.render,
        ids=gapped(1000),
        dated=True,
        paged=False,
        parent=Parent("channels", "channel_id", sites.count, single=True),
    ),
)

BY_NAME: Mapping[str, Resource] = {r.name: r for r in REGISTRY}
OWNED = tuple(r.name for r in REGISTRY if r.owned is not None)
"""Resources whose records belong to another's (built after their parents, in the registry's order)."""

EXPORTED = tuple(r.name for r in REGISTRY if r.exported)
"""Resources the export and mutations know, in the registry's order."""
TABLES = tuple(r.name for r in REGISTRY if r.table is None and any(r.sizes) and r.kind != "fixed")
"""Resources with a table of their own, sized by the presets (the rest are views, children or the store
object)."""
EMBEDDED: Mapping[str, tuple[Resource, ...]] = {
    parent: tuple(r for r in REGISTRY if r.embed is not None and r.parent_resource == parent)
    for parent in {r.parent_resource for r in REGISTRY if r.embed is not None and r.parent_resource}
}
"""Children a parent's list route embeds on ``include`` (customers' addresses, products' variants...), by
the parent's name, in the registry's order."""
PAGED = tuple(r.name for r in REGISTRY if r.paged)
"""Lists whose pages can be capped, by the names ``--page-cap RESOURCE=N`` takes."""
READ_SCOPES = tuple(dict.fromkeys(r.scope for r in REGISTRY))
ROUTE_SCOPES: Mapping[str, str] = {path: r.scope for r in REGISTRY for path in r.routes}
"""The read-only OAuth scope each route needs (docs/start/authentication/api-accounts.mdx, the specs'
securitySchemes descriptions), by path under /stores/{store_hash}."""
