"""The store's indexes: tables of live ids with their dates, child-id lists of orders, and the byte cache.

Records are never held. Each resource keeps only sorted ``array('q')`` indexes (ids, creation and
modification times, and composite ``time << 32 | id`` keys for date-ordered reads) plus a small map of
record versions; the record itself is rebuilt from (seed, id, version) by its generator and its serialized
bytes are kept in a bounded cache, so a page is assembled by joining cached bytes. A store of a million
orders therefore costs tens of megabytes of indexes, not gigabytes of dicts.
"""

from __future__ import annotations

import bisect
from array import array
from collections import OrderedDict
from typing import Any

import orjson

from bigcommerce_sandbox.basis import TS_BASE

M32 = 0xFFFFFFFF
MAXREL = (1 << 31) - 1


class ByteCache:
    """Serialized records, bounded by total size; the oldest entries go first (insertion order).

    An OrderedDict, because taking the oldest key of a plain dict (``next(iter(d))``) walks past every
    slot already popped from its front: eviction grew slower the longer the cache had been full.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    def put(self, key: tuple[Any, ...], value: Any, nbytes: int) -> None:
        if nbytes > self.max_bytes:
            return
        self._items[key] = (value, nbytes)
        self.size += nbytes
        while self.size > self.max_bytes:
            self.size -= self._items.popitem(last=False)[1][1]

    def drop(self, key: tuple[Any, ...]) -> None:
        hit = self._items.pop(key, None)
        if hit is not None:
            self.size -= hit[1]

    def lookup(self, key: tuple[Any, ...]) -> Any:
        hit = self._items.get(key)
        return None if hit is None else hit[0]


# ----------------------------------------------------------------------------------------------- table


def dump(obj: Any) -> bytes:
    """Serialize for the cache. orjson returns its working buffer, which can be ten times the JSON's
    length; a cached copy of exactly the right size keeps the cache's real footprint honest."""
    return memoryview(orjson.dumps(obj)).tobytes()


def rel(ts: int) -> int:
    rel = ts - TS_BASE
    return rel if 0 <= rel <= MAXREL else min(max(rel, 0), MAXREL)


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
            m_rel = [rel(m) for m in modified]
            c_rel = [rel(c) for c in created]
            self.m_asc = array("q", sorted([(r << 32) | i for r, i in zip(m_rel, ids, strict=True)]))
            self.m_desc = array(
                "q", sorted([((MAXREL - r) << 32) | i for r, i in zip(m_rel, ids, strict=True)])
            )
            self.c_asc = array("q", sorted([(r << 32) | i for r, i in zip(c_rel, ids, strict=True)]))
            self.c_desc = array(
                "q", sorted([((MAXREL - r) << 32) | i for r, i in zip(c_rel, ids, strict=True)])
            )
        else:
            self.m_asc = self.m_desc = self.c_asc = self.c_desc = array("q")

    def __len__(self) -> int:
        return len(self.ids)

    def position(self, rid: int) -> int | None:
        pos = bisect.bisect_left(self.ids, rid)
        return pos if pos < len(self.ids) and self.ids[pos] == rid else None

    def add(self, rid: int, created: int, modified: int) -> None:
        pos = bisect.bisect_left(self.ids, rid)
        self.ids.insert(pos, rid)
        self.created.insert(pos, created)
        self.modified.insert(pos, modified)
        if self.dated:
            _insort(self.m_asc, (rel(modified) << 32) | rid)
            _insort(self.m_desc, ((MAXREL - rel(modified)) << 32) | rid)
            _insort(self.c_asc, (rel(created) << 32) | rid)
            _insort(self.c_desc, ((MAXREL - rel(created)) << 32) | rid)
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
            _remove(self.m_asc, (rel(modified) << 32) | rid)
            _remove(self.m_desc, ((MAXREL - rel(modified)) << 32) | rid)
            _remove(self.c_asc, (rel(created) << 32) | rid)
            _remove(self.c_desc, ((MAXREL - rel(created)) << 32) | rid)
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
                _remove(self.m_asc, (rel(old) << 32) | rid)
                _remove(self.m_desc, ((MAXREL - rel(old)) << 32) | rid)
                _insort(self.m_asc, (rel(modified) << 32) | rid)
                _insort(self.m_desc, ((MAXREL - rel(modified)) << 32) | rid)
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


class Family:
    """Which parent each record of a resource of children (registry.Parent) belongs to: its generated
    children in id order with prefix sums over the generated parents, plus the children mutations added.
    Which of them are live is the resource's Table's business."""

    def __init__(self, parent_ids: array[int], start: array[int], child_ids: array[int]) -> None:
        self.parent_ids = parent_ids
        """The generated parents' ids, ascending."""
        self.start = start  # len = len(parent_ids) + 1
        self.child_ids = child_ids
        self.added: dict[int, list[int]] = {}
        self._added_parent: dict[int, int] = {}

    def of(self, pid: int) -> list[int]:
        """Every child id ``pid`` was ever given, ascending (deleted ones too)."""
        pos = bisect.bisect_left(self.parent_ids, pid)
        generated: list[int] = []
        if pos < len(self.parent_ids) and self.parent_ids[pos] == pid:
            generated = list(self.child_ids[self.start[pos] : self.start[pos + 1]])
        return generated + self.added.get(pid, [])

    def parent(self, cid: int) -> int:
        got = self._added_parent.get(cid)
        if got is not None:
            return got
        index = bisect.bisect_left(self.child_ids, cid)
        if index >= len(self.child_ids) or self.child_ids[index] != cid:
            raise KeyError(cid)
        # The last parent whose range starts at or before the child: parents without children share a
        # start with the next one, and bisect_right passes over them.
        return self.parent_ids[bisect.bisect_right(self.start, index) - 1]

    def index(self, cid: int) -> int:
        """Where a child stands among every child its parent was ever given (deleted ones too): what
        ``of(parent).index(cid)`` gives, without building the list."""
        pid = self.parent(cid)
        pos = bisect.bisect_left(self.parent_ids, pid)
        generated = pos < len(self.parent_ids) and self.parent_ids[pos] == pid
        if cid in self._added_parent:
            before = self.start[pos + 1] - self.start[pos] if generated else 0
            return before + self.added[pid].index(cid)
        return bisect.bisect_left(self.child_ids, cid) - self.start[pos]

    def add(self, pid: int, cid: int) -> None:
        self.added.setdefault(pid, []).append(cid)
        self._added_parent[cid] = pid


def key_range(
    keys: array[int], lo_ts: int | None, hi_ts: int | None, desc: bool
) -> tuple[array[int], int, int]:
    """Positions in a composite key array holding times in [lo_ts, hi_ts] (either bound optional)."""
    if desc:
        lo_key = 0 if hi_ts is None else (MAXREL - rel(hi_ts)) << 32
        hi_key = None if lo_ts is None else ((MAXREL - rel(lo_ts)) << 32) | M32
    else:
        lo_key = 0 if lo_ts is None else rel(lo_ts) << 32
        hi_key = None if hi_ts is None else (rel(hi_ts) << 32) | M32
    lo = bisect.bisect_left(keys, lo_key)
    hi = len(keys) if hi_key is None else bisect.bisect_right(keys, hi_key)
    if lo_ts is not None and lo_ts - TS_BASE > MAXREL:
        return keys, lo, lo
    if hi_ts is not None and hi_ts < TS_BASE:
        return keys, lo, lo
    return keys, lo, max(lo, hi)
