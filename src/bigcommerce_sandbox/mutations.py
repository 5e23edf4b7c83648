"""Changing the store the way the API would, for POST /__sandbox/mutate and ``--activity``.

The records chosen depend only on the seed and how many mutations came before, so a test that replays
the same mutations sees the same ids. What a delete does is the resource's ``deletes`` in the registry:
customers, products, brands, categories and pages disappear (BigCommerce hard-deletes them; a category
only once no other names it as parent), channels get status ``deleted`` (never channel 1), orders are
archived (``is_deleted``), as DELETE /v2/orders/{id} does (reference/orders.v2.oas2.yml, "Archives an
order"). Mutating a line item, a transaction or another child of orders moves its order's date_modified
too, because on BigCommerce a child changes with its parent (registry.Parent.moves_parent says which).

A removed record takes along its children and the records that name it (registry.Resource.refers); the
record a store opens with (channel 1, currency 1, inventory location 1) is never deleted; a view's records
(inventory items) change through the records they show (products).

Owned records (registry.Owned: a product's variants, images..., a price list's records) are created in a
free slot of a live parent and come and go with it: a created product gets its generated children, a
deleted one takes its children (and their children, and the price records naming its variants) along; the
result lists those under their own resource. Changing an owned record leaves its parent's dates alone.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

from bigcommerce_sandbox.basis import mix, record_hash
from bigcommerce_sandbox.generators.orders import order_shape
from bigcommerce_sandbox.registry import BY_NAME, EXPORTED, OWNED, Resource
from bigcommerce_sandbox.store import Store
from bigcommerce_sandbox.tables import Table

MAX_MUTATE = 10_000
"""The most records one mutation may change per action: each change is synchronous work in the server's
event loop, so an unbounded count (``create: 100000000``) would stall every request."""

Changes = dict[str, dict[str, list[Any]]]


def mutate(
    store: Store,
    resource: str,
    *,
    update: int = 0,
    create: int = 0,
    delete: int = 0,
    archive: int = 0,
    now: int,
    bump_date_modified: bool = True,
) -> Changes:
    """Change records; returns the affected ids per resource and action. ``archive`` archives orders,
    moving their date_modified only if ``bump_date_modified``: BigCommerce does not document whether
    archiving does, so a connector must survive both."""
    if resource not in EXPORTED:
        raise ValueError(f"unknown resource {resource!r}; use one of {', '.join(EXPORTED)}")
    if min(update, create, delete, archive) < 0:
        raise ValueError("update, create, delete and archive must be zero or more")
    if max(update, create, delete, archive) > MAX_MUTATE:
        raise ValueError(f"update, create, delete and archive may each be at most {MAX_MUTATE:,}")
    entry = BY_NAME[resource]
    if archive and entry.deletes != "archive":
        raise ValueError("only orders can be archived; delete other records instead")
    if entry.embedded is not None:
        parent = entry.embedded.resource
        raise ValueError(
            f"{resource} are part of their {parent}: change the {parent} or their children instead"
        )
    if update and not entry.updates:
        raise ValueError(f"{resource} cannot be changed once created; create or delete them instead")
    if entry.kind == "fixed" and (create or delete):
        raise ValueError(f"the {resource} are a fixed set: they can only be updated")
    if entry.owned is not None and entry.deletes == "never" and (create or delete):
        raise ValueError(f"{resource} can only be updated: they come and go with their parents")
    if delete and entry.deletes == "never" and entry.kind != "object":
        raise ValueError(f"{resource} cannot be deleted; create them instead")
    store.mutations += 1
    picker = Picker(record_hash(store.basis.key("mutate"), store.mutations))
    if entry.kind == "object":
        if create or delete:
            raise ValueError(f"the {resource} object can only be updated")
        if update:
            store.store_version += 1
        return {
            resource: {"updated": [store.basis.store_hash] if update else [], "created": [], "deleted": []}
        }
    if entry.kind == "order_child":
        return _mutate_children(store, resource, update, create, delete, now, picker)
    if entry.table is not None:
        return _mutate_view(store, entry, update, create, delete, now)
    if entry.parent is not None:
        return _mutate_family(store, entry, update, create, delete, now, picker)
    table = store.tables[resource]
    result: dict[str, list[Any]] = {"updated": [], "created": [], "deleted": []}
    changes: Changes = {resource: result}
    for rid in picker.sample(table.ids, update):
        table.touch(rid, now if entry.dated else None)
        result["updated"].append(rid)
    for _ in range(create):
        if entry.owned is not None:
            rid = _create_owned(store, entry, table, now, picker)
        else:
            rid = _create(store, entry, table, now)
        result["created"].append(rid)
        _add_children(store, resource, rid, now, changes)
    for rid in picker.sample(
        _deletable(store, entry, table, set(result["updated"])) if delete else [], delete
    ):
        result["deleted"].append(rid)
        for child, ids in _delete(store, entry, table, rid, now).items():
            for cid in ids:
                _changed(changes, child, "deleted", cid)
    if archive:
        result["archived"] = []
        for rid in picker.sample(_deletable(store, entry, table, set(result["updated"])), archive):
            _archive(store, resource, table, rid, now if bump_date_modified else None)
            result["archived"].append(rid)
    return _keyed(changes)


def _keyed(changes: Changes) -> Changes:
    """Records without an id of their own (price list records) are named by their key."""
    for name, actions in changes.items():
        owned = BY_NAME[name].owned
        if owned is not None and owned.key is not None:
            for action, ids in actions.items():
                actions[action] = [owned.key(rid) for rid in ids]
    return changes


def _deletable(store: Store, entry: Resource, table: Table, exclude: set[int]) -> list[int]:
    if entry.deletes == "never":
        raise ValueError(f"the {entry.name} object cannot be deleted")
    deleted = store.deleted.get(entry.name, set())
    skip = exclude | deleted
    if entry.deletes == "status" or entry.first_at_opening:
        skip = skip | {entry.ids(0)}
    if entry.deletes == "leaves":
        skip = skip | set(store.category_parents.values())
    if entry.owned is not None and entry.owned.keep_first:
        first = entry.owned.ids
        return [i for i in table.ids if i not in skip and first.slot(i) != 1]
    return [i for i in table.ids if i not in skip]


# ------------------------------------------------------------------------------ owned records


def _create_owned(store: Store, entry: Resource, table: Table, now: int, picker: Picker) -> int:
    """A child in a free slot of a live parent, never in one a deleted child held."""
    owned = entry.owned
    assert owned is not None
    parents = store.tables[owned.parent].ids
    retired = store.retired[entry.name]
    if owned.names and owned.naming is not None:
        # Price list records: a (list, variant, currency) without a record, drawn at random.
        named = store.tables[owned.names].ids
        for _ in range(64):
            if not parents or not named:
                break
            slots = owned.naming(named[picker.below(len(named))])
            cid = owned.ids.id(parents[picker.below(len(parents))], slots[picker.below(len(slots))])
            if table.position(cid) is None and cid not in retired:
                table.add(cid, now, now)
                return cid
        raise ValueError(f"no free place for another record of {entry.name}")
    start = picker.below(len(parents))
    for step in range(len(parents)):
        parent = parents[(start + step) % len(parents)]
        room = owned.room(store.basis, parent) if owned.room else range(1, owned.ids.slots + 1)
        for slot in room:
            cid = owned.ids.id(parent, slot)
            if table.position(cid) is None and cid not in retired:
                table.add(cid, now, now)
                return cid
    raise ValueError(f"every parent of {entry.name} has all the children it can hold")


def _add_children(store: Store, resource: str, rid: int, now: int, changes: Changes) -> None:
    """A created record's generated children (a new product's variants...), and theirs in turn."""
    for name in OWNED:
        owned = BY_NAME[name].owned
        if owned is None or owned.parent != resource or owned.names:
            continue
        table = store.tables[name]
        for slot in owned.slots(store.basis, rid, store):
            cid = owned.ids.id(rid, slot)
            if table.position(cid) is None and cid not in store.retired[name]:
                table.add(cid, now, now)
                _changed(changes, name, "created", cid)
                _add_children(store, name, cid, now, changes)


def _changed(changes: Changes, resource: str, action: str, rid: int) -> None:
    changes.setdefault(resource, {"updated": [], "created": [], "deleted": []})[action].append(rid)


def _create(store: Store, entry: Resource, table: Table, now: int) -> int:
    rid = table.next_id
    if entry.name == "channels":
        store.channel_indexes[rid] = len(store.channel_indexes)
    if entry.name == "categories":
        parents = list(table.ids)
        store.category_parents[rid] = parents[rid % len(parents)] if parents and rid % 3 else 0
        store.category_trees[rid] = store.category_trees.get(store.category_parents[rid], 1)
    table.add(rid, now, now)
    if entry.kind == "orders":
        pos = len(store.order_ids_by_pos)
        store.order_ids_by_pos.append(rid)
        shape = order_shape(store.basis, rid, pos)
        store.base_status.append(shape.status)
        store.line_items.append_order(shape.items)
        store.transactions.append_order(shape.transactions)
        if shape.deleted:
            store.deleted["orders"].add(rid)
    return rid


def _archive(store: Store, resource: str, table: Table, rid: int, modified: int | None) -> None:
    """Only ``is_deleted`` (and date_modified, if given) changes: the order keeps its version."""
    store.deleted[resource].add(rid)
    table.touch(rid, modified, new_version=False)


def _delete(store: Store, entry: Resource, table: Table, rid: int, now: int) -> dict[str, list[int]]:
    """Delete one record as its ``deletes`` says; returns the children that went with it, by resource."""
    if entry.deletes == "archive":
        _archive(store, entry.name, table, rid, now)
    elif entry.deletes == "status":
        store.deleted[entry.name].add(rid)
        table.touch(rid, now)
    else:
        table.remove(rid)
        dropped = store.drop_children(entry.name, rid)
        if entry.referenced:
            store.catalog_epoch += 1
        return dropped
    return {}


def _mutate_children(
    store: Store, resource: str, update: int, create: int, delete: int, now: int, picker: Picker
) -> Changes:
    children = store.line_items if resource == "order_products" else store.transactions
    orders = store.tables["orders"]
    result: dict[str, list[Any]] = {"updated": [], "created": [], "deleted": []}
    touched: list[int] = []
    n_pos = len(store.order_ids_by_pos)
    with_children = [p for p in range(n_pos) if children.of(p)] if update or delete else []
    for pos in picker.sample(with_children, update):
        items = children.editable(pos)
        k = picker.below(len(items))
        cid, version = items[k]
        items[k] = (cid, version + 1)
        result["updated"].append(cid)
        touched.append(store.order_ids_by_pos[pos])
    for pos in picker.sample(range(n_pos), create):
        items = children.editable(pos)
        cid = children.next_id
        children.next_id += 1
        items.append((cid, 0))
        result["created"].append(cid)
        touched.append(store.order_ids_by_pos[pos])
    remaining = [p for p in with_children if children.of(p)]
    for pos in picker.sample(remaining, delete):
        items = children.editable(pos)
        cid, _v = items.pop(picker.below(len(items)))
        result["deleted"].append(cid)
        touched.append(store.order_ids_by_pos[pos])
    bumped: list[int] = []
    for oid in dict.fromkeys(touched):
        orders.touch(oid, now)
        bumped.append(oid)
    return {resource: result, "orders": {"updated": bumped, "created": [], "deleted": []}}


def _mutate_view(store: Store, entry: Resource, update: int, create: int, delete: int, now: int) -> Changes:
    """A view's records are its table's (inventory items are products' base variants): changing one is
    changing the record it shows, listed under both names."""
    assert entry.table is not None
    changes = mutate(store, entry.table, update=update, create=create, delete=delete, now=now)
    return {entry.name: {action: list(ids) for action, ids in changes[entry.table].items()}, **changes}


def _mutate_family(
    store: Store, entry: Resource, update: int, create: int, delete: int, now: int, picker: Picker
) -> Changes:
    """Children of live parents are updated and deleted; created ones go to live parents, with ids above
    every id so far. With ``moves_parent``, each parent touched gets a new version and date_modified."""
    parent = entry.parent
    assert parent is not None
    family = store.family(entry.name)
    table = store.tables[entry.name]
    parents = store.tables[parent.resource]
    result: dict[str, list[Any]] = {"updated": [], "created": [], "deleted": []}
    touched: list[int] = []
    live = array("q", table.ids)
    for cid in picker.sample(live, update):
        table.touch(cid, now)
        result["updated"].append(cid)
        touched.append(family.parent(cid))
    room: Sequence[int] = array("q", parents.ids)
    if parent.single:
        # A parent holds at most one (a channel's site): only those without one take another.
        room = [p for p in room if not store.children_of(entry.name, p)]
    for pid in picker.sample(room, create):
        cid = table.next_id
        family.add(pid, cid)
        table.add(cid, now, now)
        result["created"].append(cid)
        touched.append(pid)
    updated = set(result["updated"])
    for cid in picker.sample([c for c in live if c not in updated], delete):
        touched.append(family.parent(cid))
        table.remove(cid)
        result["deleted"].append(cid)
    changes: Changes = {entry.name: result}
    if entry.embed is not None:
        # The parent record counts its children (a customer's address_count) without a new version.
        for pid in dict.fromkeys(touched):
            store.forget(parent.resource, pid)
    if parent.moves_parent:
        bumped = list(dict.fromkeys(touched))
        for pid in bumped:
            parents.touch(pid, now)
        changes[parent.resource] = {"updated": bumped, "created": [], "deleted": []}
    return changes


class Picker:
    """Deterministic choices for one mutation, seeded from the store seed and the mutation count."""

    def __init__(self, seed: int) -> None:
        self._state = seed
        self._n = 0

    def below(self, n: int) -> int:
        self._n += 1
        return mix(self._state + self._n * 0x9E3779B97F4A7C15) % max(n, 1)

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
