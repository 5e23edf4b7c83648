"""What every record generator stands on: the seed's hashes, the clock, ids and times, and output formats.

Nothing here holds records. Each generator (generators/) turns a 64-bit hash of (seed, resource, id,
version) into the object BigCommerce would return, so a store of a million orders costs only its indexes
(see tables.py). Fields are drawn from small precomputed pools (pools.py) by slicing the hash, which is far
cheaper than seeding a ``random.Random`` per record and keeps serving fast.

Formats follow the official specs: v2 dates are RFC 2822 with ``+0000`` and money is a string with four
decimals (reference/orders.v2.oas2.yml), customers and channels use ``...Z`` and the catalog ``+00:00``.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from bigcommerce_sandbox.generators.orders import OrderPlan

MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_VERSION_MUL = 0xD1B54A32D192ED03
# Composite index keys put a timestamp above a 32-bit id; timestamps are stored relative to 2000-01-01.
TS_BASE = 946_684_800

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def mix(x: int) -> int:
    """splitmix64's finaliser: a fast, well-spread 64-bit hash of an integer."""
    x &= MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def stream_key(seed: int, name: str) -> int:
    """The per-resource salt, so customer 7 and order 7 draw unrelated values."""
    return mix((seed * _GOLDEN) ^ (zlib.crc32(name.encode()) << 17) ^ 0x5A17)


def record_hash(key: int, rid: int, version: int = 0) -> int:
    return mix(key + rid * _GOLDEN + version * _VERSION_MUL)


def rfc2822(ts: int) -> str:
    t = time.gmtime(ts)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def iso_z(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def iso_offset(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ts))


def iso_date(ts: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def money4(cents: int) -> str:
    """v2 money: a string with four decimals, e.g. 1050 -> "10.5000" (exact for any realistic amount)."""
    return f"{cents / 100:.2f}00"


def dims4(hundredths: int) -> str:
    return f"{hundredths // 100}.{hundredths % 100:02d}00"


def uuid_of(h: int, salt: int) -> str:
    x = f"{mix(h ^ 0xABCDEF ^ salt):016x}{mix(h + 7):016x}"
    return f"{x[:8]}-{x[8:12]}-4{x[13:16]}-a{x[17:20]}-{x[20:32]}"


# ---------------------------------------------------------------------------------------------- basis

IdLayout = Callable[[int], int]
"""The id of the index-th generated record of a resource (registry.py gives each resource one)."""


def gapped(first: int, gap: int = 0) -> IdLayout:
    """Ids from ``first`` with one missing after every ``gap`` ids (0: none), as a real store's have
    after deletions."""
    return lambda index: first + index + (index // gap if gap else 0)


@dataclass(frozen=True)
class ChildIds:
    """Ids of records a parent record owns (a product's variants, a price list's records): ``base +
    parent_id * slots + k`` for slots ``k`` from 1 to ``slots``. The parent of any id is arithmetic, a
    parent's children are one range of ids, and the children of all parents sort by parent, then slot.
    Products' ``base_variant_id`` (``pid * 3 + 1``) is slot 1 of ``ChildIds(3)``."""

    slots: int
    base: int = 0

    def id(self, parent: int, slot: int) -> int:
        return self.base + parent * self.slots + slot

    def parent(self, cid: int) -> int:
        return (cid - self.base - 1) // self.slots

    def slot(self, cid: int) -> int:
        return (cid - self.base - 1) % self.slots + 1


@dataclass(frozen=True)
class Basis:
    """Everything fixed at start-up that generators need: seed, clock anchor, base sizes, id layouts."""

    seed: int
    anchor: int
    opened: int
    store_hash: str
    api_base: str
    counts: Mapping[str, int]
    """Generated records per resource (created ones come on top)."""
    layouts: Mapping[str, IdLayout]
    tied: frozenset[str]
    """Resources whose records take part in the tie cluster."""
    tie_cluster: int
    tie_ts: int
    keys: dict[str, int]
    channels: tuple[int, ...] = ()
    rare_dates: bool = False
    """Fill fields most stores leave empty: order products' event_date, products' date_last_imported."""

    @property
    def span(self) -> int:
        return self.anchor - 2 - self.opened

    def key(self, resource: str) -> int:
        return self.keys[resource]

    def base_id(self, resource: str, index: int) -> int:
        """The id of the index-th generated record of ``resource``."""
        return self.layouts[resource](index)


def make_basis(
    *,
    seed: int,
    anchor: int,
    store_hash: str,
    api_base: str,
    counts: Mapping[str, int],
    layouts: Mapping[str, IdLayout],
    tied: frozenset[str],
    tie_cluster: int,
    years: int = 4,
    rare_dates: bool = False,
) -> Basis:
    opened = anchor - years * 365 * 86400
    return Basis(
        seed=seed,
        anchor=anchor,
        opened=opened,
        store_hash=store_hash,
        api_base=api_base,
        counts=dict(counts),
        layouts=dict(layouts),
        tied=tied,
        tie_cluster=tie_cluster,
        tie_ts=anchor - 7 * 86400 - 3601,
        keys={name: stream_key(seed, name) for name in (*layouts, *counts, "times", "mutate")},
        channels=tuple(layouts["channels"](i) for i in range(max(counts.get("channels", 0), 1))),
        rare_dates=rare_dates,
    )


def base_times(basis: Basis, resource: str, index: int, count: int) -> tuple[int, int]:
    """(date_created, date_modified) of a generated record; both at least one second before the anchor.

    Creation times grow with the index, so ids grow with time as in a real store. A quarter of the
    records were modified long after they were created; the tie cluster shares one date_modified second.
    """
    h = record_hash(basis.key("times"), index * 31 + len(resource))
    span = basis.span
    created = basis.opened + (index * span + (h % span)) // max(count, 1)
    roll = (h >> 40) & 0xFF
    if in_tie_cluster(basis, resource, index, count):
        return created, basis.tie_ts
    last = basis.anchor - 1
    if roll < 96:
        modified = created
    elif roll < 192:
        modified = min(last, created + ((h >> 20) % (3 * 86400)))
    else:
        room = last - created
        # Skewed towards recent changes, as real stores are.
        frac = ((h >> 8) & 0xFFF) / 4096.0
        modified = created + int(room * (1.0 - frac * frac))
    return created, max(created, min(modified, last))


def child_times(basis: Basis, resource: str, cid: int, parent_created: int) -> tuple[int, int]:
    """(date_created, date_modified) of a generated child: created within three days of its parent, and
    a quarter of them modified later (skewed towards recent changes); both before the anchor."""
    h = record_hash(basis.key("times"), cid * 31 + len(resource))
    last = basis.anchor - 1
    created = min(last, parent_created + h % (3 * 86400))
    if (h >> 40) & 3:
        return created, created
    frac = ((h >> 8) & 0xFFF) / 4096.0
    return created, created + int((last - created) * (1.0 - frac * frac))


def in_tie_cluster(basis: Basis, resource: str, index: int, count: int) -> bool:
    """Spread ``tie_cluster`` members evenly over the oldest 90% of a resource's records."""
    if resource not in basis.tied or basis.tie_cluster <= 0:
        return False
    m = (count * 9) // 10
    if index >= m or m <= 0:
        return False
    t = min(basis.tie_cluster, m)
    return ((index + 1) * t) // m > (index * t) // m


def channel_ids_of(basis: Basis) -> tuple[int, ...]:
    """The channels generated with the store (channel 1, the default storefront, first)."""
    return basis.channels


# ---------------------------------------------------------------------------------------- generators


class Row(NamedTuple):
    """One record version as the store's indexes know it; a generator renders the rest from the seed."""

    rid: int
    version: int
    created: int
    modified: int


class Relations(Protocol):
    """What a generator may ask the store about other records (the store implements it)."""

    def live(self, resource: str) -> frozenset[int] | None:
        """The ids of ``resource`` now, or None while none were ever deleted."""

    def category_parent(self, cid: int) -> int: ...

    def category_tree(self, cid: int) -> int: ...

    def channel_index(self, chid: int) -> int: ...

    def is_deleted(self, resource: str, rid: int) -> bool:
        """Whether a record that stays listed was deleted (an archived order, a deleted channel)."""

    def order_plan(self, oid: int) -> OrderPlan: ...

    def live_count(self, resource: str) -> int: ...

    def ids(self, resource: str) -> Sequence[int]:
        """The ids of ``resource`` now, in ascending order."""

    def parent_of(self, resource: str, rid: int) -> int:
        """The parent id of a child record (registry.Parent)."""

    def children_of(self, resource: str, pid: int) -> list[int]:
        """A parent's live children of ``resource``, in id order (a child's siblings)."""

    def child_index(self, resource: str, rid: int) -> int:
        """Where a record stands among every child its parent was ever given (registry.Parent)."""

    def child_count(self, resource: str, pid: int) -> int | None:
        """A parent's live children, or None while the resource was never used (they are then exactly
        the generated ones)."""


Render = Callable[[Basis, Row, Relations, str], dict[str, Any]]
"""A generator: (basis, row, relations, variant) to the API object; ``variant`` names an include that
changes the object (``body`` for pages), or is empty."""

SortKey = Callable[[Basis, int, str, Relations], Any]
"""A cheap sort key for a field without rendering the record (names and skus are stable across versions)."""
