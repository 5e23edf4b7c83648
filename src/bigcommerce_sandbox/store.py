"""The sandbox store: compact indexes over generated records, selection, a byte cache, mutations, export.

Records are never held. Each resource keeps only sorted ``array('q')`` indexes (ids, creation and
modification times, and composite ``time << 32 | id`` keys for date-ordered reads) plus a small map of
record versions; the record itself is rebuilt from (seed, id, version) by records.py and its serialized
bytes are kept in a bounded cache, so a page is assembled by joining cached bytes. A store of a million
orders therefore costs tens of megabytes of indexes, not gigabytes of dicts.

Orders own two child collections, line items (order_products) and transactions. Their ids come from
prefix sums over per-order counts decided at start-up; a mutation of a child is recorded in a per-order
override list and bumps the order's version, because on BigCommerce a child changes with its parent
(the order's date_modified moves).
"""

from __future__ import annotations

import bisect
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from bigcommerce_sandbox import records as rec
from bigcommerce_sandbox.records import TS_BASE, Basis

RESOURCES = (
    "customers", "orders", "transactions", "pages", "products", "channels", "store", "order_products",
    "brands", "categories",
)  # fmt: skip
TABLES = ("customers", "orders", "products", "brands", "categories", "channels", "pages")
MAX_MUTATE = 10_000
"""The most records one mutation may change per action: each change is synchronous work in the server's
event loop, so an unbounded count (``create: 100000000``) would stall every request."""
_M32 = 0xFFFFFFFF
_MAXREL = (1 << 31) - 1


@dataclass(frozen=True)
class Sizes:
    customers: int
    orders: int
    products: int
    brands: int
    categories: int
    channels: int
    pages: int
    tie_cluster: int

    def counts(self) -> dict[str, int]:
        return {
            "customers": self.customers,
            "orders": self.orders,
            "products": self.products,
            "brands": self.brands,
            "categories": self.categories,
            "channels": self.channels,
            "pages": self.pages,
        }


PRESETS: dict[str, Sizes] = {
    "tiny": Sizes(
        customers=40, orders=50, products=30, brands=8, categories=12, channels=4, pages=8, tie_cluster=6
    ),
    "small": Sizes(
        customers=1_500,
        orders=2_000,
        products=1_000,
        brands=40,
        categories=80,
        channels=5,
        pages=20,
        tie_cluster=300,
    ),
    "medium": Sizes(
        customers=20_000,
        orders=10_000,
        products=5_000,
        brands=200,
        categories=400,
        channels=6,
        pages=50,
        tie_cluster=500,
    ),
    "large": Sizes(
        customers=250_000,
        orders=1_000_000,
        products=50_000,
        brands=1_000,
        categories=2_000,
        channels=8,
        pages=200,
        tie_cluster=1_000,
    ),
}


def sizes_for(preset: str, **overrides: int | None) -> Sizes:
    """A preset with explicit counts applied. A tie cluster larger than a resource raises its count so the
    cluster fits in the oldest 90% of records (see records.in_tie_cluster)."""
    sizes = replace(PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None})
    if sizes.channels < 1:
        sizes = replace(sizes, channels=1)
    need = (sizes.tie_cluster * 10 + 8) // 9 + 1 if sizes.tie_cluster > 0 else 0
    return replace(
        sizes,
        customers=max(sizes.customers, need),
        orders=max(sizes.orders, need),
        products=max(sizes.products, need),
    )


# ----------------------------------------------------------------------------------------------- cache


class ByteCache:
    """Serialized records, bounded by total size; the oldest entries go first (insertion order).

    An OrderedDict, because taking the oldest key of a plain dict (``next(iter(d))``) walks past every
    slot already popped from its front: eviction grew slower the longer the cache had been full.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> Any:
        return self._items.get(key)

    def put(self, key: tuple[Any, ...], value: Any, nbytes: int) -> None:
        if nbytes > self.max_bytes:
            return
        self._items[key] = (value, nbytes)
        self.size += nbytes
        while self.size > self.max_bytes:
            self.size -= self._items.popitem(last=False)[1][1]

    def lookup(self, key: tuple[Any, ...]) -> Any:
        hit = self._items.get(key)
        return None if hit is None else hit[0]


# ----------------------------------------------------------------------------------------------- table


def dump(obj: Any) -> bytes:
    """Serialize for the cache. orjson returns its working buffer, which can be ten times the JSON's
    length; a cached copy of exactly the right size keeps the cache's real footprint honest."""
    return memoryview(orjson.dumps(obj)).tobytes()


def _rel(ts: int) -> int:
    rel = ts - TS_BASE
    return rel if 0 <= rel <= _MAXREL else min(max(rel, 0), _MAXREL)


class Table:
    """Live ids of one resource in ascending order, with creation/modification times by position and
    sorted composite keys for reading in date order (ties broken by id ascending in both directions)."""

    def __init__(self, ids: array[int], created: array[int], modified: array[int], dated: bool) -> None:
        self.ids = ids
        self.created = created
        self.modified = modified
        self.dated = dated
        self.versions: dict[int, int] = {}
        self.epoch = 0
        self.next_id = (ids[-1] + 1) if len(ids) else 1
        if dated:
            m_rel = [_rel(m) for m in modified]
            c_rel = [_rel(c) for c in created]
            self.m_asc = array("q", sorted([(r << 32) | i for r, i in zip(m_rel, ids, strict=True)]))
            self.m_desc = array(
                "q", sorted([((_MAXREL - r) << 32) | i for r, i in zip(m_rel, ids, strict=True)])
            )
            self.c_asc = array("q", sorted([(r << 32) | i for r, i in zip(c_rel, ids, strict=True)]))
            self.c_desc = array(
                "q", sorted([((_MAXREL - r) << 32) | i for r, i in zip(c_rel, ids, strict=True)])
            )
        else:
            self.m_asc = self.m_desc = self.c_asc = self.c_desc = array("q")

    def __len__(self) -> int:
        return len(self.ids)

    def position(self, rid: int) -> int | None:
        pos = bisect.bisect_left(self.ids, rid)
        return pos if pos < len(self.ids) and self.ids[pos] == rid else None

    def version(self, rid: int) -> int:
        return self.versions.get(rid, 0)

    def add(self, rid: int, created: int, modified: int) -> None:
        pos = bisect.bisect_left(self.ids, rid)
        self.ids.insert(pos, rid)
        self.created.insert(pos, created)
        self.modified.insert(pos, modified)
        if self.dated:
            _insort(self.m_asc, (_rel(modified) << 32) | rid)
            _insort(self.m_desc, ((_MAXREL - _rel(modified)) << 32) | rid)
            _insort(self.c_asc, (_rel(created) << 32) | rid)
            _insort(self.c_desc, ((_MAXREL - _rel(created)) << 32) | rid)
        self.next_id = max(self.next_id, rid + 1)
        self.epoch += 1

    def remove(self, rid: int) -> None:
        pos = self.position(rid)
        if pos is None:
            return
        created, modified = self.created[pos], self.modified[pos]
        del self.ids[pos]
        del self.created[pos]
        del self.modified[pos]
        if self.dated:
            _remove(self.m_asc, (_rel(modified) << 32) | rid)
            _remove(self.m_desc, ((_MAXREL - _rel(modified)) << 32) | rid)
            _remove(self.c_asc, (_rel(created) << 32) | rid)
            _remove(self.c_desc, ((_MAXREL - _rel(created)) << 32) | rid)
        self.versions.pop(rid, None)
        self.epoch += 1

    def touch(self, rid: int, modified: int | None, *, new_version: bool = True) -> None:
        """A new version of a record (unless not ``new_version``: a change kept outside the record's
        version, such as an order's archived flag); ``modified`` moves its date_modified (None keeps it)."""
        pos = self.position(rid)
        if pos is None:
            return
        if new_version:
            self.versions[rid] = self.versions.get(rid, 0) + 1
        if modified is not None:
            old = self.modified[pos]
            modified = max(modified, self.created[pos])
            self.modified[pos] = modified
            if self.dated:
                _remove(self.m_asc, (_rel(old) << 32) | rid)
                _remove(self.m_desc, ((_MAXREL - _rel(old)) << 32) | rid)
                _insort(self.m_asc, (_rel(modified) << 32) | rid)
                _insort(self.m_desc, ((_MAXREL - _rel(modified)) << 32) | rid)
        self.epoch += 1


def _insort(keys: array[int], key: int) -> None:
    keys.insert(bisect.bisect_left(keys, key), key)


def _remove(keys: array[int], key: int) -> None:
    pos = bisect.bisect_left(keys, key)
    if pos < len(keys) and keys[pos] == key:
        del keys[pos]


class Children:
    """Child ids of each order (line items or transactions): prefix sums for generated children plus
    explicit (id, version) lists for orders whose children were mutated."""

    def __init__(self, start: array[int]) -> None:
        self.start = start  # len = number of order positions + 1
        self.next_id = start[-1] if len(start) else 1
        self.overrides: dict[int, list[tuple[int, int]]] = {}

    def of(self, pos: int) -> list[tuple[int, int]]:
        got = self.overrides.get(pos)
        if got is not None:
            return got
        return [(cid, 0) for cid in range(self.start[pos], self.start[pos + 1])]

    def append_order(self, count: int) -> None:
        """A created order's children: ids above every id handed out so far, by either path."""
        first = self.next_id
        self.start.append(self.start[-1] + count)
        if first != self.start[-2]:
            # Children created since (mutate create) took ids the prefix sums would give this order.
            self.overrides[len(self.start) - 2] = [(cid, 0) for cid in range(first, first + count)]
        self.next_id = first + count

    def editable(self, pos: int) -> list[tuple[int, int]]:
        if pos not in self.overrides:
            self.overrides[pos] = self.of(pos)
        return self.overrides[pos]


# ------------------------------------------------------------------------------------------- selection


@dataclass(frozen=True)
class Query:
    """A normalised list request: inclusive bounds, id sets, field filters and one sort key.

    ``where`` holds (field, op, value) with op one of eq, in, not_in, like; it is evaluated on the
    rendered record, so any top-level field can be filtered (slowly on a large store).
    """

    id_min: int | None = None
    id_max: int | None = None
    id_in: frozenset[int] | None = None
    id_not_in: frozenset[int] = frozenset()
    modified_min: int | None = None
    modified_max: int | None = None
    created_min: int | None = None
    created_max: int | None = None
    where: tuple[tuple[str, str, Any], ...] = ()
    sort: str = "id"
    desc: bool = False
    archived: bool | None = None
    """Orders only: True selects archived orders (``is_deleted``), False the others, None both."""


class Selection:
    """The ids a query selects, in order: either a slice of an index (free) or a materialised array."""

    def __init__(self, keys: Sequence[int], lo: int, hi: int, packed: bool) -> None:
        self._keys = keys
        self._lo = lo
        self._hi = hi
        self._packed = packed

    @property
    def total(self) -> int:
        return self._hi - self._lo

    def offset_of(self, rid: int, *, after: bool) -> int:
        """For an id-ordered selection: how many selected ids are below ``rid`` (``after``: at or below)."""
        if self._packed:
            raise ValueError("only an id-ordered selection can be searched by id")
        find = bisect.bisect_right if after else bisect.bisect_left
        return find(self._keys, rid, self._lo, self._hi) - self._lo

    def id_at(self, offset: int) -> int:
        key = self._keys[self._lo + offset]
        return key & _M32 if self._packed else key

    def ids(self, offset: int = 0, limit: int | None = None) -> list[int]:
        start = self._lo + offset
        stop = self._hi if limit is None else min(self._hi, start + limit)
        if start >= stop:
            return []
        chunk = self._keys[start:stop]
        if self._packed:
            return [k & _M32 for k in chunk]
        return list(chunk)


@dataclass
class _Views:
    """Per-table caches of materialised selections and field orderings, invalidated by ``Table.epoch``."""

    selections: dict[tuple[Any, ...], array[int]] = field(default_factory=dict)
    orderings: dict[tuple[Any, ...], list[int]] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------- store


class Store:
    """The generated store: build once from a Basis, then render, select, mutate and export."""

    def __init__(self, basis: Basis, cache_bytes: int = 256 * 1024 * 1024) -> None:
        self.basis = basis
        self.cache = ByteCache(cache_bytes)
        self.catalog_epoch = 0
        self.store_version = 0
        self.mutations = 0
        self.tables: dict[str, Table] = {}
        self._cores: dict[int, tuple[str, str, int, str, int]] = {}
        self._plans: dict[tuple[int, int, bool], rec.OrderPlan] = {}
        self._views: dict[str, _Views] = {name: _Views() for name in TABLES}
        counts = {
            "customers": basis.n_customers,
            "orders": basis.n_orders,
            "products": basis.n_products,
            "brands": basis.n_brands,
            "categories": basis.n_categories,
            "channels": max(basis.n_channels, 1),
            "pages": basis.n_pages,
        }
        for name in ("customers", "products", "channels"):
            self.tables[name] = self._dated_table(name, counts[name])
        for name in ("brands", "categories", "pages"):
            n = counts[name]
            ids = array("q", (rec.base_id(name, i) for i in range(n)))
            self.tables[name] = Table(ids, array("q", bytes(8 * n)), array("q", bytes(8 * n)), dated=False)
        self.order_index: dict[int, int] = {}
        self.deleted_orders: set[int] = set()
        self.deleted_channels: set[int] = set()
        self._build_orders(counts["orders"])
        n_cat = counts["categories"]
        self.category_parent: dict[int, int] = {}
        self.category_tree: dict[int, int] = {}
        storefronts = sum(
            1
            for i in range(counts["channels"])
            if rec.CHANNEL_TEMPLATES[i % len(rec.CHANNEL_TEMPLATES)][1] == "storefront"
        )
        for i in range(n_cat):
            parent = rec.category_parent(basis, i)
            cid = rec.base_id("categories", i)
            self.category_parent[cid] = 0 if parent < 0 else rec.base_id("categories", parent)
            self.category_tree[cid] = rec.category_tree(basis, i, storefronts)
        self.channel_index = {rec.base_id("channels", i): i for i in range(counts["channels"])}

    def _dated_table(self, name: str, n: int) -> Table:
        ids = array("q", bytes(8 * n))
        created = array("q", bytes(8 * n))
        modified = array("q", bytes(8 * n))
        basis = self.basis
        for i in range(n):
            ids[i] = rec.base_id(name, i)
            c, m = rec.base_times(basis, name, i, n)
            if name == "channels" and i == 0:
                c = basis.opened
            created[i] = c
            modified[i] = m
        return Table(ids, created, modified, dated=True)

    def _build_orders(self, n: int) -> None:
        basis = self.basis
        ids = array("q", bytes(8 * n))
        created = array("q", bytes(8 * n))
        modified = array("q", bytes(8 * n))
        op_start = array("q", bytes(8 * (n + 1)))
        tx_start = array("q", bytes(8 * (n + 1)))
        self.base_status = array("b", bytes(n))
        op_next = tx_next = 1
        for i in range(n):
            oid = rec.base_id("orders", i)
            ids[i] = oid
            c, m = rec.base_times(basis, "orders", i, n)
            created[i] = c
            modified[i] = m
            shape = rec.order_shape(basis, oid, i)
            op_start[i] = op_next
            tx_start[i] = tx_next
            op_next += shape.items
            tx_next += shape.transactions
            self.base_status[i] = shape.status
            if shape.deleted:
                self.deleted_orders.add(oid)
        op_start[n] = op_next
        tx_start[n] = tx_next
        self.tables["orders"] = Table(ids, created, modified, dated=True)
        self.order_ids_by_pos = array("q", ids)
        self.line_items = Children(op_start)
        self.transactions = Children(tx_start)

    # ------------------------------------------------------------------------------------- rendering

    def _dates(self, table: Table, rid: int) -> tuple[int, int]:
        pos = table.position(rid)
        if pos is None:
            raise KeyError(rid)
        return table.created[pos], table.modified[pos]

    def exists(self, resource: str, rid: int) -> bool:
        table = self.tables["categories" if resource == "trees" else resource]
        return table.position(rid) is not None

    def order_pos(self, oid: int) -> int | None:
        pos = bisect.bisect_left(self.order_ids_by_pos, oid)
        if pos < len(self.order_ids_by_pos) and self.order_ids_by_pos[pos] == oid:
            return pos
        return None

    def _product_core(self, pid: int) -> tuple[str, str, int, str, int]:
        core = self._cores.get(pid)
        if core is None:
            core = self._cores[pid] = rec.product_core(self.basis, pid)
        return core

    def order_plan(self, oid: int) -> rec.OrderPlan:
        """The plan of an order's current version; every change to an order or its children bumps the
        version, so (id, version) identifies a plan and the last few are kept."""
        table = self.tables["orders"]
        key = (oid, table.versions.get(oid, 0), oid in self.deleted_orders)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        pos = self.order_pos(oid)
        if pos is None:
            raise KeyError(oid)
        created, modified = self._dates(table, oid)
        plan = rec.plan_order(
            self.basis,
            oid,
            pos,
            key[1],
            created,
            modified,
            key[2],
            self.line_items.of(pos),
            self.transactions.of(pos),
            self._product_core,
        )
        if len(self._plans) >= 2048:
            self._plans.pop(next(iter(self._plans)))
        self._plans[key] = plan
        return plan

    def order_status(self, oid: int) -> int:
        """An order's status without rendering it (for /v2/orders/count on large stores)."""
        pos = self.order_pos(oid)
        if pos is None:
            raise KeyError(oid)
        version = self.tables["orders"].versions.get(oid, 0)
        base = self.base_status[pos]
        return base if version == 0 else rec.status_for_version(base, version)

    def record(self, view: str, rid: int, *, body: bool = False) -> dict[str, Any]:
        """The API object as a dict (slow path: filters on arbitrary fields, tests)."""
        return orjson.loads(self.record_bytes(view, rid, body=body))  # type: ignore[no-any-return]

    def record_bytes(self, view: str, rid: int, *, body: bool = False) -> bytes:
        """The serialized API object of one record, from the cache when possible."""
        basis = self.basis
        table = self.tables["categories" if view == "trees" else view]
        version = table.versions.get(rid, 0)
        # What besides the version a record's bytes depend on: the live catalog for products, whether an
        # order is archived (kept outside its version), a page's body.
        extra: Any = body
        if view == "products":
            extra = self.catalog_epoch
        elif view == "orders":
            extra = rid in self.deleted_orders
        key: tuple[Any, ...] = (view, rid, version, extra)
        hit = self.cache.lookup(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        obj: dict[str, Any]
        if view == "customers":
            c, m = self._dates(table, rid)
            obj = rec.customer(basis, rid, version, c, m)
        elif view == "products":
            c, m = self._dates(table, rid)
            live_b = frozenset(self.tables["brands"].ids) if self.catalog_epoch else None
            live_c = frozenset(self.tables["categories"].ids) if self.catalog_epoch else None
            obj = rec.product(basis, rid, version, c, m, live_b, live_c)
        elif view == "orders":
            obj = rec.order(basis, self.order_plan(rid))
        elif view == "brands":
            if table.position(rid) is None:
                raise KeyError(rid)
            obj = rec.brand(basis, rid, version)
        elif view == "categories":
            if table.position(rid) is None:
                raise KeyError(rid)
            obj = rec.category(basis, rid, version, self.category_parent[rid])
        elif view == "trees":
            if table.position(rid) is None:
                raise KeyError(rid)
            obj = rec.tree_category(basis, rid, version, self.category_parent[rid], self.category_tree[rid])
        elif view == "channels":
            c, m = self._dates(table, rid)
            obj = rec.channel(
                basis, rid, self.channel_index[rid], version, c, m, rid in self.deleted_channels
            )
        elif view == "pages":
            pos = table.position(rid)
            if pos is None:
                raise KeyError(rid)
            obj = rec.page(basis, rid, rid - rec.base_id("pages", 0), version, body)
        else:
            raise KeyError(view)
        data = dump(obj)
        self.cache.put(key, data, len(data) + 120)
        return data

    def store_bytes(self) -> bytes:
        key = ("store", 0, self.store_version)
        hit = self.cache.lookup(key)
        if hit is None:
            hit = dump(rec.store_info(self.basis, self.store_version, len(self.tables["channels"])))
            self.cache.put(key, hit, len(hit))
        return hit  # type: ignore[no-any-return]

    def order_products_bytes(self, oid: int) -> tuple[bytes, ...]:
        """Every line item of an order, as /v2/orders/{id}/products returns them, in id order."""
        version = self.tables["orders"].versions.get(oid, 0)
        key = ("ops", oid, version)
        hit = self.cache.lookup(key)
        if hit is None:
            plan = self.order_plan(oid)
            hit = tuple(dump(rec.order_product(self.basis, plan, k)) for k in range(len(plan.items)))
            self.cache.put(key, hit, sum(len(b) + 60 for b in hit) + 80)
        return hit  # type: ignore[no-any-return]

    def transactions_bytes(self, oid: int) -> tuple[bytes, ...]:
        version = self.tables["orders"].versions.get(oid, 0)
        key = ("txs", oid, version)
        hit = self.cache.lookup(key)
        if hit is None:
            plan = self.order_plan(oid)
            total = rec.order_totals(plan).total_inc
            hit = tuple(
                dump(rec.transaction(self.basis, plan, k, tx_id, tx_version, total))
                for k, (tx_id, tx_version) in enumerate(plan.transactions)
            )
            self.cache.put(key, hit, sum(len(b) + 60 for b in hit) + 80)
        return hit  # type: ignore[no-any-return]

    def order_bytes(self, oid: int, consignments: str = "") -> bytes:
        """An order; ``consignments`` is "" (link object), "links" or "line_items" (object structure)."""
        if not consignments:
            return self.record_bytes("orders", oid)
        version = self.tables["orders"].versions.get(oid, 0)
        key = ("orders+", oid, version, oid in self.deleted_orders, consignments)
        hit = self.cache.lookup(key)
        if hit is None:
            # Splice the consignments object into the plain order's bytes in place of its link object.
            plain = self.record_bytes("orders", oid)
            plan = self.order_plan(oid)
            items = None
            if consignments == "line_items":
                items = [orjson.Fragment(b) for b in self.order_products_bytes(oid)]
            link = orjson.dumps(rec.link(self.basis, f"/orders/{oid}/consignments"))
            body = orjson.dumps(rec.consignments(self.basis, plan, items))
            hit = plain.replace(b'"consignments":' + link, b'"consignments":' + body, 1)
            self.cache.put(key, hit, len(hit) + 120)
        return hit  # type: ignore[no-any-return]

    # ------------------------------------------------------------------------------------- selection

    def select(self, view: str, query: Query) -> Selection:
        """The ids of ``view`` matching ``query`` in its order; ties in any sort are broken by id ascending."""
        table = self.tables["categories" if view == "trees" else view]
        direct = self._direct(table, query)
        if direct is not None:
            return direct
        views = self._views["categories" if view == "trees" else view]
        memo_key = (view, query, table.epoch, self.catalog_epoch)
        got = views.selections.get(memo_key)
        if got is None:
            got = array("q", self._materialise(view, table, query))
            if len(views.selections) >= 16:
                views.selections.pop(next(iter(views.selections)))
            views.selections[memo_key] = got
        return Selection(got, 0, len(got), packed=False)

    def page_ids(
        self, view: str, sel: Selection, q: Query, offset: int, limit: int, shuffle: int | None = None
    ) -> list[int]:
        """The ids of one page of a selection. With ``shuffle`` (a per-request salt), records that tie on
        a sort other than id come in an order drawn from the salt, so it changes between requests; the
        page still holds its share of the whole tie group, as if the server had sorted the group so."""
        ids = sel.ids(offset, limit)
        if shuffle is None or q.sort == "id" or not ids:
            return ids
        table = self.tables["categories" if view == "trees" else view]

        def tie(rid: int) -> Any:
            if q.sort in ("date_modified", "date_created") and table.dated:
                pos = table.position(rid)
                col = table.modified if q.sort == "date_modified" else table.created
                return col[pos] if pos is not None else 0
            return self.sort_key(view, rid, q.sort)

        start, stop = offset, offset + len(ids)
        first, last = tie(ids[0]), tie(ids[-1])
        while start > 0 and tie(sel.id_at(start - 1)) == first:
            start -= 1
        while stop < sel.total and tie(sel.id_at(stop)) == last:
            stop += 1
        window = sel.ids(start, stop - start)
        shuffled: list[int] = []
        group: list[int] = []
        group_key: Any = None
        for rid in window:
            key = tie(rid)
            if group and key != group_key:
                shuffled.extend(sorted(group, key=lambda r: rec.mix(shuffle ^ r)))
                group = []
            group.append(rid)
            group_key = key
        shuffled.extend(sorted(group, key=lambda r: rec.mix(shuffle ^ r)))
        return shuffled[offset - start : offset - start + limit]

    def line_item_count(self, oid: int) -> int:
        pos = self.order_pos(oid)
        return 0 if pos is None else len(self.line_items.of(pos))

    def _direct(self, table: Table, q: Query) -> Selection | None:
        """A free slice of an index when the query needs nothing but bounds on its own sort key."""
        if q.id_in is not None or q.id_not_in or q.where or q.archived is not None:
            return None
        if q.sort == "id" and q.modified_min is None and q.modified_max is None:
            if q.created_min is not None or q.created_max is not None:
                return None
            lo = 0 if q.id_min is None else bisect.bisect_left(table.ids, q.id_min)
            hi = len(table.ids) if q.id_max is None else bisect.bisect_right(table.ids, q.id_max)
            if q.desc:
                return None
            return Selection(table.ids, lo, max(lo, hi), packed=False)
        if not table.dated or q.id_min is not None or q.id_max is not None:
            return None
        if q.sort == "date_modified" and q.created_min is None and q.created_max is None:
            keys, lo, hi = _key_range(
                table.m_desc if q.desc else table.m_asc, q.modified_min, q.modified_max, q.desc
            )
            return Selection(keys, lo, hi, packed=True)
        if q.sort == "date_created" and q.modified_min is None and q.modified_max is None:
            keys, lo, hi = _key_range(
                table.c_desc if q.desc else table.c_asc, q.created_min, q.created_max, q.desc
            )
            return Selection(keys, lo, hi, packed=True)
        return None

    def _materialise(self, view: str, table: Table, q: Query) -> list[int]:
        # Candidates: the smallest cheap superset, then filters, then the requested order.
        if q.id_in is not None:
            candidates: list[int] = sorted(i for i in q.id_in if table.position(i) is not None)
        elif table.dated and (q.modified_min is not None or q.modified_max is not None):
            keys, lo, hi = _key_range(table.m_asc, q.modified_min, q.modified_max, False)
            candidates = [k & _M32 for k in keys[lo:hi]]
        else:
            lo = 0 if q.id_min is None else bisect.bisect_left(table.ids, q.id_min)
            hi = len(table.ids) if q.id_max is None else bisect.bisect_right(table.ids, q.id_max)
            candidates = list(table.ids[lo:hi])
        out = [rid for rid in candidates if self._matches(view, table, rid, q)]
        return self._order(view, table, out, q)

    def _matches(self, view: str, table: Table, rid: int, q: Query) -> bool:
        if q.id_min is not None and rid < q.id_min:
            return False
        if q.id_max is not None and rid > q.id_max:
            return False
        if rid in q.id_not_in:
            return False
        if q.archived is not None and (rid in self.deleted_orders) != q.archived:
            return False
        if table.dated and (
            q.modified_min is not None or q.modified_max is not None or q.created_min is not None
            or q.created_max is not None
        ):  # fmt: skip
            pos = table.position(rid)
            if pos is None:
                return False
            m, c = table.modified[pos], table.created[pos]
            if q.modified_min is not None and m < q.modified_min:
                return False
            if q.modified_max is not None and m > q.modified_max:
                return False
            if q.created_min is not None and c < q.created_min:
                return False
            if q.created_max is not None and c > q.created_max:
                return False
        if q.where:
            obj = self.record(view, rid)
            for name, op, value in q.where:
                got = obj.get(name)
                if op == "eq" and got != value:
                    return False
                if op == "in" and got not in value:
                    return False
                if op == "not_in" and got in value:
                    return False
                if op == "like" and str(value).lower() not in str(got).lower():
                    return False
                if op == "any_in" and not (isinstance(got, list) and value.intersection(got)):
                    return False
        return True

    def _order(self, view: str, table: Table, ids: list[int], q: Query) -> list[int]:
        if q.sort == "id":
            ids.sort(reverse=q.desc)
            return ids
        if q.sort in ("date_modified", "date_created") and table.dated:
            col = table.modified if q.sort == "date_modified" else table.created
            stamp: dict[int, int] = {}
            for rid in ids:
                pos = table.position(rid)
                stamp[rid] = col[pos] if pos is not None else 0
            sign = -1 if q.desc else 1
            ids.sort(key=lambda rid: (sign * stamp[rid], rid))
            return ids
        rank = self._ordering(view, table, q.sort)
        position = {rid: k for k, rid in enumerate(rank)}
        ids.sort(key=lambda rid: position.get(rid, 0))
        if q.desc:
            ids = self._reverse_keep_ties(view, ids, q.sort)
        return ids

    def _ordering(self, view: str, table: Table, field_name: str) -> list[int]:
        """All live ids ordered by one field (ties by id); cached until the table changes."""
        views = self._views["categories" if view == "trees" else view]
        key = (view, field_name, table.epoch, self.catalog_epoch)
        got = views.orderings.get(key)
        if got is None:
            keyed = [(self.sort_key(view, rid, field_name), rid) for rid in table.ids]
            keyed.sort()
            got = [rid for _k, rid in keyed]
            views.orderings.clear()
            views.orderings[key] = got
        return got

    def _reverse_keep_ties(self, view: str, ids: list[int], field_name: str) -> list[int]:
        keyed = [(self.sort_key(view, rid, field_name), rid) for rid in ids]
        keyed.sort(key=lambda kr: kr[1])
        keyed.sort(key=lambda kr: kr[0], reverse=True)
        return [rid for _k, rid in keyed]

    def sort_key(self, view: str, rid: int, field_name: str) -> Any:
        if view == "orders":
            return rec.order_sort_key(self.basis, self.order_plan(rid), field_name)
        if view == "customers" and field_name == "last_name":
            return rec.customer_sort_key(self.basis, rid, field_name)
        if view == "products" and field_name in ("name", "sku"):
            return rec.product_sort_key(self.basis, rid, field_name)
        value = self.record(view, rid).get(field_name)
        return (value is None, value if value is not None else 0)

    # ------------------------------------------------------------------------------------- mutations

    def mutate(
        self,
        resource: str,
        *,
        update: int = 0,
        create: int = 0,
        delete: int = 0,
        archive: int = 0,
        now: int,
        bump_date_modified: bool = True,
    ) -> dict[str, dict[str, list[Any]]]:
        """Change records the way the API would; returns the affected ids per resource and action.

        The records chosen depend only on the seed and how many mutations came before, so a test that
        replays the same mutations sees the same ids. Deleted customers, products, brands, categories and
        pages disappear (BigCommerce hard-deletes them); channels get status ``deleted``; orders are
        archived (``is_deleted``), as DELETE /v2/orders/{id} does (reference/orders.v2.oas2.yml, "Archives
        an order"). ``archive`` archives orders too, moving their date_modified only if
        ``bump_date_modified``: BigCommerce does not document whether archiving does. Mutating a line item
        or a transaction moves its order's date_modified too.
        """
        if resource not in RESOURCES:
            raise ValueError(f"unknown resource {resource!r}; use one of {', '.join(RESOURCES)}")
        if min(update, create, delete, archive) < 0:
            raise ValueError("update, create, delete and archive must be zero or more")
        if max(update, create, delete, archive) > MAX_MUTATE:
            raise ValueError(f"update, create, delete and archive may each be at most {MAX_MUTATE:,}")
        if archive and resource != "orders":
            raise ValueError("only orders can be archived; delete other records instead")
        self.mutations += 1
        picker = _Picker(rec.record_hash(self.basis.key("mutate"), self.mutations))
        out: dict[str, dict[str, list[Any]]] = {}
        if resource == "store":
            if create or delete:
                raise ValueError("the store object can only be updated")
            if update:
                self.store_version += 1
            out["store"] = {
                "updated": [self.basis.store_hash] if update else [],
                "created": [],
                "deleted": [],
            }
            return out
        if resource in ("order_products", "transactions"):
            return self._mutate_children(resource, update, create, delete, now, picker)
        table = self.tables[resource]
        result = {"updated": [], "created": [], "deleted": []}  # type: dict[str, list[int]]
        dated = resource in ("customers", "orders", "products", "channels")
        for rid in picker.sample(self._mutable_ids(resource, table), update):
            table.touch(rid, now if dated else None)
            result["updated"].append(rid)
        for _ in range(create):
            rid = self._create(resource, table, now)
            result["created"].append(rid)
        for rid in picker.sample(self._deletable_ids(resource, table, set(result["updated"])), delete):
            self._delete(resource, table, rid, now)
            result["deleted"].append(rid)
        if archive:
            result["archived"] = []
            for rid in picker.sample(self._deletable_ids(resource, table, set(result["updated"])), archive):
                self._archive(table, rid, now if bump_date_modified else None)
                result["archived"].append(rid)
        out[resource] = result
        return out

    def _mutable_ids(self, resource: str, table: Table) -> Sequence[int]:
        return table.ids

    def _deletable_ids(self, resource: str, table: Table, exclude: set[int]) -> list[int]:
        if resource == "orders":
            return [i for i in table.ids if i not in self.deleted_orders and i not in exclude]
        if resource == "channels":
            return [i for i in table.ids if i != 1 and i not in self.deleted_channels and i not in exclude]
        if resource == "categories":
            parents = set(self.category_parent.values())
            return [i for i in table.ids if i not in parents and i not in exclude]
        return [i for i in table.ids if i not in exclude]

    def _create(self, resource: str, table: Table, now: int) -> int:
        rid = table.next_id
        if resource == "channels":
            self.channel_index[rid] = len(self.channel_index)
        if resource == "categories":
            parents = list(table.ids)
            self.category_parent[rid] = parents[rid % len(parents)] if parents and rid % 3 else 0
            parent = self.category_parent[rid]
            self.category_tree[rid] = self.category_tree.get(parent, 1)
        table.add(rid, now, now)
        if resource == "orders":
            pos = len(self.order_ids_by_pos)
            self.order_ids_by_pos.append(rid)
            shape = rec.order_shape(self.basis, rid, pos)
            self.base_status.append(shape.status)
            self.line_items.append_order(shape.items)
            self.transactions.append_order(shape.transactions)
            if shape.deleted:
                self.deleted_orders.add(rid)
        return rid

    def _archive(self, table: Table, oid: int, modified: int | None) -> None:
        """Only ``is_deleted`` (and date_modified, if given) changes: the order keeps its version."""
        self.deleted_orders.add(oid)
        table.touch(oid, modified, new_version=False)

    def _delete(self, resource: str, table: Table, rid: int, now: int) -> None:
        if resource == "orders":
            self._archive(table, rid, now)
            return
        if resource == "channels":
            self.deleted_channels.add(rid)
            table.touch(rid, now)
            return
        table.remove(rid)
        if resource in ("brands", "categories"):
            self.catalog_epoch += 1

    def _mutate_children(
        self, resource: str, update: int, create: int, delete: int, now: int, picker: _Picker
    ) -> dict[str, dict[str, list[Any]]]:
        children = self.line_items if resource == "order_products" else self.transactions
        orders = self.tables["orders"]
        result = {"updated": [], "created": [], "deleted": []}  # type: dict[str, list[int]]
        touched: list[int] = []
        n_pos = len(self.order_ids_by_pos)
        with_children = [p for p in range(n_pos) if children.of(p)] if update or delete else []
        for pos in picker.sample(with_children, update):
            items = children.editable(pos)
            k = picker.below(len(items))
            cid, version = items[k]
            items[k] = (cid, version + 1)
            result["updated"].append(cid)
            touched.append(self.order_ids_by_pos[pos])
        for pos in picker.sample(range(n_pos), create):
            items = children.editable(pos)
            cid = children.next_id
            children.next_id += 1
            items.append((cid, 0))
            result["created"].append(cid)
            touched.append(self.order_ids_by_pos[pos])
        remaining = [p for p in with_children if children.of(p)]
        for pos in picker.sample(remaining, delete):
            items = children.editable(pos)
            cid, _v = items.pop(picker.below(len(items)))
            result["deleted"].append(cid)
            touched.append(self.order_ids_by_pos[pos])
        bumped: list[int] = []
        for oid in dict.fromkeys(touched):
            orders.touch(oid, now)
            bumped.append(oid)
        return {resource: result, "orders": {"updated": bumped, "created": [], "deleted": []}}

    def warm(self, fraction: float = 0.9) -> int:
        """Render records into the cache ahead of the first request, until ``fraction`` of its budget is
        used; returns how many were rendered. Orders are warmed with and without their line items, the
        two forms a connector reads."""
        rendered = 0
        limit = self.cache.max_bytes * fraction
        for view in ("customers", "products", "orders", "channels", "brands", "categories", "trees", "pages"):
            table = self.tables["categories" if view == "trees" else view]
            for rid in array("q", table.ids):
                if self.cache.size >= limit:
                    return rendered
                if view == "orders":
                    self.order_bytes(rid)
                    self.order_bytes(rid, "line_items")
                    self.transactions_bytes(rid)
                else:
                    self.record_bytes(view, rid, body=False)
                rendered += 1
        return rendered

    # ---------------------------------------------------------------------------------------- export

    def export(self, resource: str) -> Iterator[bytes]:
        """Every current record of a resource, each exactly as its own endpoint serializes it."""
        if resource not in RESOURCES:
            raise KeyError(resource)
        if resource == "store":
            yield self.store_bytes()
            return
        if resource in ("order_products", "transactions"):
            render: Callable[[int], tuple[bytes, ...]] = (
                self.order_products_bytes if resource == "order_products" else self.transactions_bytes
            )
            for oid in array("q", self.tables["orders"].ids):
                yield from render(oid)
            return
        for rid in array("q", self.tables[resource].ids):
            if resource == "orders":
                yield self.order_bytes(rid)
            else:
                yield self.record_bytes(resource, rid, body=resource == "pages")


def _key_range(
    keys: array[int], lo_ts: int | None, hi_ts: int | None, desc: bool
) -> tuple[array[int], int, int]:
    """Positions in a composite key array holding times in [lo_ts, hi_ts] (either bound optional)."""
    if desc:
        lo_key = 0 if hi_ts is None else (_MAXREL - _rel(hi_ts)) << 32
        hi_key = None if lo_ts is None else ((_MAXREL - _rel(lo_ts)) << 32) | _M32
    else:
        lo_key = 0 if lo_ts is None else _rel(lo_ts) << 32
        hi_key = None if hi_ts is None else (_rel(hi_ts) << 32) | _M32
    lo = bisect.bisect_left(keys, lo_key)
    hi = len(keys) if hi_key is None else bisect.bisect_right(keys, hi_key)
    if lo_ts is not None and lo_ts - TS_BASE > _MAXREL:
        return keys, lo, lo
    if hi_ts is not None and hi_ts < TS_BASE:
        return keys, lo, lo
    return keys, lo, max(lo, hi)


class _Picker:
    """Deterministic choices for one mutation, seeded from the store seed and the mutation count."""

    def __init__(self, seed: int) -> None:
        self._state = seed
        self._n = 0

    def below(self, n: int) -> int:
        self._n += 1
        return rec.mix(self._state + self._n * 0x9E3779B97F4A7C15) % max(n, 1)

    def sample(self, population: Sequence[int] | range, k: int) -> list[int]:
        n = len(population)
        if k <= 0 or n == 0:
            return []
        if k >= n:
            return list(population)
        chosen: dict[int, None] = {}
        while len(chosen) < k:
            chosen[self.below(n)] = None
        return [population[i] for i in chosen]
