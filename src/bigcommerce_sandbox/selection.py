"""Selecting records: a normalised query, the ids it selects in order, and the pages cut from them.

A query that needs only bounds on its own sort key is a free slice of an index (tables.py); any other is
materialised once (candidates, filters, order) and memoised until its table changes. Ties in any sort
are broken by id ascending in both directions, unless a page is asked with a shuffle salt (``--strict``).
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bigcommerce_sandbox.basis import mix
from bigcommerce_sandbox.registry import BY_NAME
from bigcommerce_sandbox.tables import M32, Table, key_range

if TYPE_CHECKING:
    from bigcommerce_sandbox.store import Store


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
        return key & M32 if self._packed else key

    def ids(self, offset: int = 0, limit: int | None = None) -> list[int]:
        start = self._lo + offset
        stop = self._hi if limit is None else min(self._hi, start + limit)
        if start >= stop:
            return []
        chunk = self._keys[start:stop]
        if self._packed:
            return [k & M32 for k in chunk]
        return list(chunk)


@dataclass
class Views:
    """Per-table caches of materialised selections and field orderings, invalidated by ``Table.epoch``."""

    selections: dict[tuple[Any, ...], array[int]] = field(default_factory=dict)
    orderings: dict[tuple[Any, ...], list[int]] = field(default_factory=dict)


def select(store: Store, view: str, query: Query) -> Selection:
    """The ids of ``view`` matching ``query`` in its order; ties in any sort are broken by id ascending."""
    table = store.table_of(view)
    direct = _direct(table, query)
    if direct is not None:
        return direct
    views = store.views[BY_NAME[view].table_name]
    memo_key = (view, query, table.epoch, store.catalog_epoch)
    got = views.selections.get(memo_key)
    if got is None:
        got = array("q", _materialise(store, view, table, query))
        if len(views.selections) >= 16:
            views.selections.pop(next(iter(views.selections)))
        views.selections[memo_key] = got
    return Selection(got, 0, len(got), packed=False)


def page_ids(
    store: Store, view: str, sel: Selection, q: Query, offset: int, limit: int, shuffle: int | None = None
) -> list[int]:
    """The ids of one page of a selection. With ``shuffle`` (a per-request salt), records that tie on
    a sort other than id come in an order drawn from the salt, so it changes between requests; the
    page still holds its share of the whole tie group, as if the server had sorted the group so."""
    ids = sel.ids(offset, limit)
    if shuffle is None or q.sort == "id" or not ids:
        return ids
    table = store.table_of(view)

    def tie(rid: int) -> Any:
        if q.sort in ("date_modified", "date_created") and table.dated:
            pos = table.position(rid)
            col = table.modified if q.sort == "date_modified" else table.created
            return col[pos] if pos is not None else 0
        return sort_key(store, view, rid, q.sort)

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
            shuffled.extend(sorted(group, key=lambda r: mix(shuffle ^ r)))
            group = []
        group.append(rid)
        group_key = key
    shuffled.extend(sorted(group, key=lambda r: mix(shuffle ^ r)))
    return shuffled[offset - start : offset - start + limit]


def _direct(table: Table, q: Query) -> Selection | None:
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
        keys, lo, hi = key_range(
            table.m_desc if q.desc else table.m_asc, q.modified_min, q.modified_max, q.desc
        )
        return Selection(keys, lo, hi, packed=True)
    if q.sort == "date_created" and q.modified_min is None and q.modified_max is None:
        keys, lo, hi = key_range(
            table.c_desc if q.desc else table.c_asc, q.created_min, q.created_max, q.desc
        )
        return Selection(keys, lo, hi, packed=True)
    return None


def _materialise(store: Store, view: str, table: Table, q: Query) -> list[int]:
    # Candidates: the smallest cheap superset, then filters, then the requested order.
    if q.id_in is not None:
        candidates: list[int] = sorted(i for i in q.id_in if table.position(i) is not None)
    elif table.dated and (q.modified_min is not None or q.modified_max is not None):
        keys, lo, hi = key_range(table.m_asc, q.modified_min, q.modified_max, False)
        candidates = [k & M32 for k in keys[lo:hi]]
    else:
        lo = 0 if q.id_min is None else bisect.bisect_left(table.ids, q.id_min)
        hi = len(table.ids) if q.id_max is None else bisect.bisect_right(table.ids, q.id_max)
        candidates = list(table.ids[lo:hi])
    out = [rid for rid in candidates if _matches(store, view, table, rid, q)]
    return _order(store, view, table, out, q)


def _matches(store: Store, view: str, table: Table, rid: int, q: Query) -> bool:
    if q.id_min is not None and rid < q.id_min:
        return False
    if q.id_max is not None and rid > q.id_max:
        return False
    if rid in q.id_not_in:
        return False
    if q.archived is not None and store.is_deleted(view, rid) != q.archived:
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
        obj = store.record(view, rid)
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


def _order(store: Store, view: str, table: Table, ids: list[int], q: Query) -> list[int]:
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
    rank = _ordering(store, view, table, q.sort)
    position = {rid: k for k, rid in enumerate(rank)}
    ids.sort(key=lambda rid: position.get(rid, 0))
    if q.desc:
        ids = _reverse_keep_ties(store, view, ids, q.sort)
    return ids


def _ordering(store: Store, view: str, table: Table, field_name: str) -> list[int]:
    """All live ids ordered by one field (ties by id); cached until the table changes."""
    views = store.views[BY_NAME[view].table_name]
    key = (view, field_name, table.epoch, store.catalog_epoch)
    got = views.orderings.get(key)
    if got is None:
        keyed = [(sort_key(store, view, rid, field_name), rid) for rid in table.ids]
        keyed.sort()
        got = [rid for _k, rid in keyed]
        views.orderings.clear()
        views.orderings[key] = got
    return got


def _reverse_keep_ties(store: Store, view: str, ids: list[int], field_name: str) -> list[int]:
    keyed = [(sort_key(store, view, rid, field_name), rid) for rid in ids]
    keyed.sort(key=lambda kr: kr[1])
    keyed.sort(key=lambda kr: kr[0], reverse=True)
    return [rid for _k, rid in keyed]


def sort_key(store: Store, view: str, rid: int, field_name: str) -> Any:
    """The value ``rid`` sorts by: the generator's cheap key where it has one (names, skus, order plans),
    else the rendered record's field (None last)."""
    cheap = BY_NAME[view].sort_key
    if cheap is not None:
        try:
            return cheap(store.basis, rid, field_name, store)
        except KeyError:
            pass
    value = store.record(view, rid).get(field_name)
    return (value is None, value if value is not None else 0)
