"""The sandbox store: tables built from the registry, the relations generators ask about, rendered bytes
and the export.

A record is rendered by its resource's generator (registry.py) from (seed, id, version) and its dates,
then kept as bytes in a bounded cache (tables.py). Orders own two child collections, line items
(order_products) and transactions: their ids come from prefix sums over per-order counts decided at
start-up, and both render from the order's plan, so order, products, consignments and transactions
always agree. Children of other records (registry.Parent) get a table and a Family (which parent each
record belongs to) the first time they are used, so a store pays for none it does not serve. Owned
catalog records (registry.Owned: a product's variants, a price list's records) are built at start-up,
parents first, their ids arithmetic in their parent's (basis.ChildIds). Selecting is in selection.py,
changing in mutations.py.
"""

from __future__ import annotations

import bisect
import itertools
from array import array
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson

from bigcommerce_sandbox.basis import Basis, Row, base_times, child_times
from bigcommerce_sandbox.generators import categories as gen_categories
from bigcommerce_sandbox.generators.consignments import consignments
from bigcommerce_sandbox.generators.order_products import order_product
from bigcommerce_sandbox.generators.orders import (
    OrderPlan,
    link,
    order_shape,
    order_totals,
    plan_order,
    status_for_version,
)
from bigcommerce_sandbox.generators.products import product_core
from bigcommerce_sandbox.generators.transactions import transaction
from bigcommerce_sandbox.pools import CHANNEL_TEMPLATES
from bigcommerce_sandbox.registry import (
    BY_NAME,
    EXPORTED,
    OWNED,
    PRESETS,
    REGISTRY,
    TABLES,
    TIE_CLUSTER,
    Resource,
)
from bigcommerce_sandbox.selection import Views
from bigcommerce_sandbox.tables import ByteCache, Children, Family, Table, dump

_new_tuple = tuple.__new__


def sizes_for(preset: str, overrides: Mapping[str, int | None]) -> tuple[dict[str, int], int]:
    """Record counts per resource and the tie cluster: a preset with explicit counts applied. A tie
    cluster larger than a resource raises its count so the cluster fits in the oldest 90% of records
    (see basis.in_tie_cluster); there is always channel 1."""
    column = PRESETS.index(preset)
    tie_cluster = overrides.get("tie_cluster")
    if tie_cluster is None:
        tie_cluster = TIE_CLUSTER[preset]
    need = (tie_cluster * 10 + 8) // 9 + 1 if tie_cluster > 0 else 0
    counts: dict[str, int] = {}
    for name in TABLES:
        entry = BY_NAME[name]
        wanted = overrides.get(name)
        count = entry.sizes[column] if wanted is None else wanted
        if entry.tied:
            count = max(count, need)
        if entry.first_at_opening:
            count = max(count, 1)
        counts[name] = count
    return counts, tie_cluster


class Store:
    """The generated store: build once from a Basis, then render, select, mutate and export."""

    def __init__(self, basis: Basis, cache_bytes: int = 256 * 1024 * 1024) -> None:
        self.basis = basis
        self.cache = ByteCache(cache_bytes)
        self.catalog_epoch = 0
        """Bumped when a record others name is deleted (a brand, a category): products re-render."""
        self.store_version = 0
        self.mutations = 0
        self.tables: dict[str, Table] = {}
        self.views: dict[str, Views] = {name: Views() for name in (*TABLES, *OWNED)}
        self.deleted: dict[str, set[int]] = {
            r.name: set() for r in REGISTRY if r.deletes in ("archive", "status")
        }
        """Records that stay listed once deleted: archived orders, deleted channels."""
        self._cores: dict[int, tuple[str, str, int, str, int]] = {}
        self._plans: dict[tuple[int, int, bool], OrderPlan] = {}
        self._live: dict[tuple[str, int], frozenset[int]] = {}
        for name in TABLES:
            if BY_NAME[name].kind != "orders":
                self.tables[name] = self._build_table(BY_NAME[name], basis.counts[name])
        for entry in REGISTRY:
            if entry.kind == "fixed":
                self.tables[entry.name] = self._build_table(entry, entry.sizes[0])
                self.views[entry.name] = Views()
        self._build_orders(basis.counts["orders"])
        self.retired: dict[str, set[int]] = {name: set() for name in OWNED}
        """Ids of deleted children, never handed out again (the cache knows a record by id and version)."""
        for name in OWNED:
            self.tables[name] = self._build_owned(BY_NAME[name])
        # Per view (trees is a view of categories): looked up once per record served, so kept flat.
        self.view_tables = {
            r.name: self.tables[r.table_name] for r in REGISTRY if r.table_name in self.tables
        }
        self._view_deleted = {name: self.deleted.get(name) for name in self.view_tables}
        self.families: dict[str, Family] = {}
        self.kept: dict[tuple[Any, ...], bytes] = {}
        """The bytes of children that never change once created (``Resource.updates``: refunds, which
        orders.v3.yml gives no way to edit) as first rendered: they render from their parent, whose later
        changes must not show in them."""
        self._link_categories()
        self.channel_indexes = {basis.base_id("channels", i): i for i in range(basis.counts["channels"])}

    def _build_table(self, entry: Resource, n: int) -> Table:
        basis = self.basis
        ids = array("q", (basis.base_id(entry.name, i) for i in range(n)))
        created = array("q", bytes(8 * n))
        modified = array("q", bytes(8 * n))
        if entry.dated:
            for i in range(n):
                c, m = base_times(basis, entry.name, i, n)
                created[i] = basis.opened if entry.first_at_opening and i == 0 else c
                modified[i] = m
        return Table(ids, created, modified, dated=entry.dated)

    def _build_owned(self, entry: Resource) -> Table:
        """Children of the parents generated with the store, in id order (by parent, then slot)."""
        owned = entry.owned
        assert owned is not None
        basis = self.basis
        parents = self.tables[owned.parent]
        ids = array("q")
        born = array("q")
        for pos, parent in enumerate(parents.ids):
            got = [owned.ids.id(parent, slot) for slot in owned.slots(basis, parent, self)]
            ids.extend(got)
            born.extend([parents.created[pos]] * len(got))
        n = len(ids)
        created = array("q", bytes(8 * n))
        modified = array("q", bytes(8 * n))
        for i in range(n):
            # An undated child (a variant) keeps its parent's creation, for its own children to start from.
            created[i], modified[i] = (
                child_times(basis, entry.name, ids[i], born[i]) if entry.dated else (born[i], born[i])
            )
        return Table(ids, created, modified, dated=entry.dated)

    def _build_orders(self, n: int) -> None:
        basis = self.basis
        ids = array("q", bytes(8 * n))
        created = array("q", bytes(8 * n))
        modified = array("q", bytes(8 * n))
        op_start = array("q", bytes(8 * (n + 1)))
        tx_start = array("q", bytes(8 * (n + 1)))
        self.base_status = array("b", bytes(n))
        archived = self.deleted["orders"]
        op_next = tx_next = 1
        for i in range(n):
            oid = basis.base_id("orders", i)
            ids[i] = oid
            c, m = base_times(basis, "orders", i, n)
            created[i] = c
            modified[i] = m
            shape = order_shape(basis, oid, i)
            op_start[i] = op_next
            tx_start[i] = tx_next
            op_next += shape.items
            tx_next += shape.transactions
            self.base_status[i] = shape.status
            if shape.deleted:
                archived.add(oid)
        op_start[n] = op_next
        tx_start[n] = tx_next
        self.tables["orders"] = Table(ids, created, modified, dated=True)
        self.order_ids_by_pos = array("q", ids)
        self.line_items = Children(op_start)
        self.transactions = Children(tx_start)

    def family(self, resource: str) -> Family:
        """The parents of a resource of children (registry.Parent), its table built on first use: the
        generated children of every generated parent (counted from the seed and the parent's id), dated
        from their parent's creation. Ids are handed out as if no parent had been deleted, and the children
        of one deleted since are left out of the table, so the result does not depend on when it is
        built."""
        family = self.families.get(resource)
        if family is not None:
            return family
        entry = BY_NAME[resource]
        assert entry.parent is not None, f"{resource} has no parent"
        of = entry.parent.resource
        basis = self.basis
        parents = self.tables[of]
        parent_ids = array("q", (basis.base_id(of, i) for i in range(basis.counts[of])))
        counts = (entry.parent.count(basis, pid, i) for i, pid in enumerate(parent_ids))
        start = array("q", itertools.accumulate(counts, initial=0))
        child_ids = array("q", (entry.ids(k) for k in range(start[-1])))
        live, created, modified = array("q"), array("q"), array("q")
        for i, pid in enumerate(parent_ids):
            pos = parents.position(pid)
            if pos is None:
                continue
            for cid in child_ids[start[i] : start[i + 1]]:
                c, m = child_times(basis, resource, cid, parents.created[pos])
                live.append(cid)
                created.append(c)
                modified.append(m)
        family = self.families[resource] = Family(parent_ids, start, child_ids)
        table = Table(live, created, modified, dated=entry.dated)
        if child_ids:
            table.next_id = max(table.next_id, child_ids[-1] + 1)
        self.tables[resource] = self.view_tables[resource] = table
        self._view_deleted[resource] = None
        self.views[resource] = Views()
        # Records naming another that was deleted before this first use went with it.
        for other, field in entry.refers:
            if self.tables[other].epoch:
                self.drop_naming(resource, field, other)
        return family

    def drop_naming(self, resource: str, field: str, other: str) -> None:
        """Remove the records of ``resource`` whose ``field`` names a record ``other`` no longer has
        (registry.Resource.refers)."""
        table = self.tables[resource]
        named = self.tables[other]
        for rid in [r for r in table.ids if named.position(self.record(resource, r)[field]) is None]:
            table.remove(rid)

    def child_count(self, resource: str, pid: int) -> int | None:
        """How many live children a parent has, or None while the resource was never used (its children
        are then exactly the generated ones)."""
        if resource not in self.families:
            return None
        return len(self.children_of(resource, pid))

    def child_index(self, resource: str, rid: int) -> int:
        """Where a child stands among every child its parent was ever given (deleted ones too)."""
        return self.family(resource).index(rid)

    def parent_of(self, resource: str, rid: int) -> int:
        owned = BY_NAME[resource].owned
        if owned is not None:
            return owned.ids.parent(rid)
        return self.family(resource).parent(rid)

    def drop_children(self, parent: str, pid: int) -> dict[str, list[int]]:
        """A parent deleted for good takes its children along, and a record the records that name it
        (registry.Resource.refers), in every family built so far (one built later leaves them out itself);
        so do its owned children, theirs, and the owned records that name it (a variant's price records).
        Returns the owned ids dropped, by resource."""
        dropped: dict[str, list[int]] = {}
        for name, family in self.families.items():
            entry = BY_NAME[name]
            if entry.parent is not None and entry.parent.resource == parent:
                table = self.tables[name]
                for cid in family.of(pid):
                    table.remove(cid)
            for other, field in entry.refers:
                if other == parent:
                    self.drop_naming(name, field, other)
        if parent in self.retired:
            self.retired[parent].add(pid)
        for name in OWNED:
            owned = BY_NAME[name].owned
            assert owned is not None
            table = self.tables[name]
            if owned.parent == parent:
                gone = self.children_of(name, pid)
            elif owned.names == parent and owned.naming is not None:
                slots = owned.naming(pid)
                gone = [
                    cid
                    for of in self.tables[owned.parent].ids
                    for slot in slots
                    if table.position(cid := owned.ids.id(of, slot)) is not None
                ]
            else:
                continue
            for cid in gone:
                table.remove(cid)
                dropped.setdefault(name, []).append(cid)
                for child, ids in self.drop_children(name, cid).items():
                    dropped.setdefault(child, []).extend(ids)
        return dropped

    def children_of(self, resource: str, pid: int) -> list[int]:
        """The live children of a parent, in id order: for owned children one range of ids."""
        owned = BY_NAME[resource].owned
        if owned is not None:
            ids = self.tables[resource].ids
            lo = bisect.bisect_left(ids, owned.ids.id(pid, 1))
            return list(ids[lo : bisect.bisect_right(ids, owned.ids.id(pid, owned.ids.slots), lo)])
        family = self.family(resource)
        table = self.tables[resource]
        return [cid for cid in family.of(pid) if table.position(cid) is not None]

    def _link_categories(self) -> None:
        basis = self.basis
        self.category_parents: dict[int, int] = {}
        self.category_trees: dict[int, int] = {}
        storefronts = sum(
            1
            for i in range(basis.counts["channels"])
            if CHANNEL_TEMPLATES[i % len(CHANNEL_TEMPLATES)][1] == "storefront"
        )
        for i in range(basis.counts["categories"]):
            parent = gen_categories.category_parent(basis, i)
            cid = basis.base_id("categories", i)
            self.category_parents[cid] = 0 if parent < 0 else basis.base_id("categories", parent)
            self.category_trees[cid] = gen_categories.category_tree(basis, i, storefronts)

    # ------------------------------------------------------------------------------------- relations

    def table_of(self, view: str) -> Table:
        return self.view_tables[view]

    def live(self, resource: str) -> frozenset[int] | None:
        if not self.catalog_epoch:
            return None
        key = (resource, self.catalog_epoch)
        got = self._live.get(key)
        if got is None:
            self._live.clear()
            got = self._live[key] = frozenset(self.tables[resource].ids)
        return got

    def category_parent(self, cid: int) -> int:
        return self.category_parents[cid]

    def category_tree(self, cid: int) -> int:
        return self.category_trees[cid]

    def channel_index(self, chid: int) -> int:
        return self.channel_indexes[chid]

    def is_deleted(self, resource: str, rid: int) -> bool:
        deleted = self.deleted.get(resource)
        return deleted is not None and rid in deleted

    def live_count(self, resource: str) -> int:
        return len(self.tables[resource])

    def ids(self, resource: str) -> Sequence[int]:
        return self.tables[resource].ids

    def order_pos(self, oid: int) -> int | None:
        pos = bisect.bisect_left(self.order_ids_by_pos, oid)
        if pos < len(self.order_ids_by_pos) and self.order_ids_by_pos[pos] == oid:
            return pos
        return None

    def _product_core(self, pid: int) -> tuple[str, str, int, str, int]:
        core = self._cores.get(pid)
        if core is None:
            core = self._cores[pid] = product_core(self.basis, pid)
        return core

    def order_plan(self, oid: int) -> OrderPlan:
        """The plan of an order's current version; every change to an order or its children bumps the
        version (archiving aside, which the key names), so the key identifies a plan; the last few are
        kept."""
        table = self.tables["orders"]
        key = (oid, table.versions.get(oid, 0), oid in self.deleted["orders"])
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        pos = self.order_pos(oid)
        if pos is None:
            raise KeyError(oid)
        row = self._row(table, oid)
        plan = plan_order(
            self.basis,
            oid,
            pos,
            key[1],
            row.created,
            row.modified,
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
        return base if version == 0 else status_for_version(base, version)

    def line_item_count(self, oid: int) -> int:
        pos = self.order_pos(oid)
        return 0 if pos is None else len(self.line_items.of(pos))

    # ------------------------------------------------------------------------------------- rendering

    @staticmethod
    def _row(table: Table, rid: int) -> Row:
        pos = table.position(rid)
        if pos is None:
            raise KeyError(rid)
        # A NamedTuple's __new__ is a Python function; building the tuple directly keeps a cold render
        # (about 10 us) from paying for the call.
        return _new_tuple(Row, (rid, table.versions.get(rid, 0), table.created[pos], table.modified[pos]))

    def record(self, view: str, rid: int, variant: str = "") -> dict[str, Any]:
        """The API object as a dict (slow path: filters on arbitrary fields, tests)."""
        return orjson.loads(self.record_bytes(view, rid, variant))  # type: ignore[no-any-return]

    def record_bytes(self, view: str, rid: int, variant: str = "") -> bytes:
        """The serialized API object of one record, from the cache when possible. Besides its version,
        a record's bytes depend on the variant asked (a page's body), on what it names (the catalog) and
        on a deletion kept outside its version (an archived order)."""
        table = self.view_tables[view]
        deleted = self._view_deleted[view]
        key: tuple[Any, ...] = (view, rid, table.versions.get(rid, 0), variant, self.catalog_epoch)
        if deleted is not None:
            key += (rid in deleted,)
        entry = BY_NAME[view]
        if not entry.updates and entry.parent is not None:
            kept = self.kept.get(key[:4])
            if kept is None:
                kept = self.kept[key[:4]] = self._render(view, table, rid, variant)
            return kept
        family = self.families.get(view)
        if family is not None:
            # A child may render from its parent (an order's plan): a new parent version is a new child.
            parent = entry.parent
            assert parent is not None
            pid = family.parent(rid)
            key += (self.tables[parent.resource].versions.get(pid, 0), self.is_deleted(parent.resource, pid))
        hit = self.cache.lookup(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        data = self._render(view, table, rid, variant)
        self.cache.put(key, data, len(data) + 120)
        return data

    def _render(self, view: str, table: Table, rid: int, variant: str) -> bytes:
        render = BY_NAME[view].render
        assert render is not None, f"{view} renders with its parent"
        return dump(render(self.basis, self._row(table, rid), self, variant))

    def forget(self, view: str, rid: int) -> None:
        """Drop a record's cached bytes (as record_bytes keys them, without a variant), for a change its
        version does not show: a customer's ``address_count`` when its addresses change."""
        table = self.view_tables[view]
        key: tuple[Any, ...] = (view, rid, table.versions.get(rid, 0), "", self.catalog_epoch)
        deleted = self._view_deleted[view]
        if deleted is not None:
            key += (rid in deleted,)
        self.cache.drop(key)

    def object_bytes(self, resource: str) -> bytes:
        """A resource that is one object (the store)."""
        entry = BY_NAME[resource]
        key = (resource, 0, self.store_version)
        hit = self.cache.lookup(key)
        if hit is None:
            assert entry.render is not None
            hit = dump(entry.render(self.basis, Row(0, self.store_version, 0, 0), self, ""))
            self.cache.put(key, hit, len(hit))
        return hit  # type: ignore[no-any-return]

    def order_products_bytes(self, oid: int) -> tuple[bytes, ...]:
        """Every line item of an order, as /v2/orders/{id}/products returns them, in id order."""
        version = self.tables["orders"].versions.get(oid, 0)
        key = ("ops", oid, version)
        hit = self.cache.lookup(key)
        if hit is None:
            plan = self.order_plan(oid)
            hit = tuple(dump(order_product(self.basis, plan, k)) for k in range(len(plan.items)))
            self.cache.put(key, hit, sum(len(b) + 60 for b in hit) + 80)
        return hit  # type: ignore[no-any-return]

    def transactions_bytes(self, oid: int) -> tuple[bytes, ...]:
        version = self.tables["orders"].versions.get(oid, 0)
        key = ("txs", oid, version)
        hit = self.cache.lookup(key)
        if hit is None:
            plan = self.order_plan(oid)
            total = order_totals(plan).total_inc
            hit = tuple(
                dump(transaction(self.basis, plan, k, tx_id, tx_version, total))
                for k, (tx_id, tx_version) in enumerate(plan.transactions)
            )
            self.cache.put(key, hit, sum(len(b) + 60 for b in hit) + 80)
        return hit  # type: ignore[no-any-return]

    def children_bytes(self, resource: str, oid: int) -> tuple[bytes, ...]:
        return (
            self.order_products_bytes(oid) if resource == "order_products" else self.transactions_bytes(oid)
        )

    def order_bytes(self, oid: int, consignments_mode: str = "") -> bytes:
        """An order; ``consignments_mode`` is "" (link object), "links" or "line_items" (object structure)."""
        if not consignments_mode:
            return self.record_bytes("orders", oid)
        version = self.tables["orders"].versions.get(oid, 0)
        key = ("orders+", oid, version, oid in self.deleted["orders"], consignments_mode)
        hit = self.cache.lookup(key)
        if hit is None:
            # Splice the consignments object into the plain order's bytes in place of its link object.
            plain = self.record_bytes("orders", oid)
            plan = self.order_plan(oid)
            items = None
            if consignments_mode == "line_items":
                items = [orjson.Fragment(b) for b in self.order_products_bytes(oid)]
            link_bytes = orjson.dumps(link(self.basis, f"/orders/{oid}/consignments"))
            body = orjson.dumps(consignments(self.basis, plan, items))
            hit = plain.replace(b'"consignments":' + link_bytes, b'"consignments":' + body, 1)
            self.cache.put(key, hit, len(hit) + 120)
        return hit  # type: ignore[no-any-return]

    def warm(self, fraction: float = 0.9) -> int:
        """Render records into the cache ahead of the first request, until ``fraction`` of its budget is
        used; returns how many were rendered. Orders are warmed with and without their line items, the
        two forms a connector reads."""
        rendered = 0
        limit = self.cache.max_bytes * fraction
        for entry in REGISTRY:
            if entry.render is None or entry.kind == "object" or entry.parent is not None:
                continue
            for rid in array("q", self.tables[entry.table_name].ids):
                if self.cache.size >= limit:
                    return rendered
                if entry.kind == "orders":
                    self.order_bytes(rid)
                    self.order_bytes(rid, "line_items")
                    self.transactions_bytes(rid)
                else:
                    self.record_bytes(entry.name, rid)
                rendered += 1
        return rendered

    # ---------------------------------------------------------------------------------------- export

    def export(self, resource: str) -> Iterator[bytes]:
        """Every current record of a resource, each exactly as its own endpoint serializes it (with every
        include that adds to a record, such as pages' body)."""
        if resource not in EXPORTED:
            raise KeyError(resource)
        entry = BY_NAME[resource]
        if entry.kind == "object":
            yield self.object_bytes(resource)
            return
        if entry.embedded is not None:
            derive = entry.embedded.records
            for pid in array("q", self.tables[entry.embedded.resource].ids):
                yield from (dump(record) for record in derive(self.basis, self, pid))
            return
        if entry.kind == "order_child":
            for oid in array("q", self.tables["orders"].ids):
                yield from self.children_bytes(resource, oid)
            return
        variant = ",".join(sorted(entry.variants))
        if entry.parent is not None:
            self.family(resource)
            if entry.per_parent:
                # Parent by parent, each one's children in id order: what reading every parent's route gives.
                for pid in array("q", self.tables[entry.parent.resource].ids):
                    for cid in self.children_of(resource, pid):
                        yield self.record_bytes(resource, cid, variant)
                return
        owned = entry.owned
        for rid in array("q", self.tables[entry.table_name].ids):
            data = self.record_bytes(resource, rid, variant)
            if owned is not None and owned.adds_field:
                data = data[:-1] + f',"{owned.field}":{owned.ids.parent(rid)}}}'.encode()
            yield data
