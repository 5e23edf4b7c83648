"""Airbyte state in and out: the per-stream cursor this connector saves, and every shape it accepts.

What we emit, per stream (inside Airbyte's per-stream STATE message):

* a stream with a cursor, and the children that follow their parent, ``{"date_modified": "<RFC 3339 Z>",
  "state_version": 1}`` (keyed by the stream's cursor field: ``created`` for order refunds). For a child
  such as ``order_products`` the cursor is its parent order's ``date_modified``: every order modified
  before it has had its children read. The orders and their children add ``"archived_orders":
  {"buckets": [...]}`` once they have read every archived order (:class:`Archived`).
* a full-refresh stream, ``{}``.

What we read: Airbyte's per-stream list, a single STATE message (bare or wrapped in an AirbyteMessage),
GLOBAL state (its per-stream states; the shared state means nothing here), the legacy plain dict keyed by
stream name and its ``{"type": "LEGACY", "legacy"|"data": {...}}`` / ``{"data": {...}}`` wrappers, and
``{"states": [...]}`` holding a list of messages. A list with one stream twice keeps the last (a file of
every STATE line a run printed resumes from the newest). Per stream, the archived Airbyte connector's
cursor values are understood (``...Z``, ``...+00:00``, zone-less ``2080-07-30T22:16:46`` and RFC 2822),
and so are its id and per-partition states, which carry no time and so resume from ``start_date``; the
concurrent CDK's ``{"state_type": "date-range", "slices": [...]}`` resumes from the end of its first
contiguous slice.

A state that cannot be understood is a :class:`ConfigError` with one sentence, never an empty state:
reading everything again silently could be hours of quota, and a wrong cursor silently loses data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from source_bigcommerce import dates
from source_bigcommerce.errors import ConfigError, read_json_file
from source_bigcommerce.streams import BY_NAME, StreamSpec

STATE_VERSION = 1
CURSOR = "date_modified"
"""The key of the cursor in our stream state; for the order children it is their parent order's."""
ARCHIVED = "archived_orders"
"""The key of the orders family's :class:`Archived` summary in its stream state."""
ARCHIVE_BUCKETS = 64
KNOWN_IDS = "known_ids"
"""With ``emit_deletes``: the ids a stream has delivered and not yet deleted (see
:func:`source_bigcommerce.deletes.encode_ids`)."""
KNOWN_SINCE = "known_ids_since"
"""The ``start_date`` (epoch second) the :data:`KNOWN_IDS` were listed from: under another one they are not
the store's ids in range (raised, the older ones would look deleted), and are listed afresh."""

# Keys the archived connector and the Airbyte CDK leave in a stream state that carry no usable time.
_TIMELESS_KEYS = frozenset(
    {
        "__ab_no_cursor_state_message",
        "id",
        "states",
        "state",
        "parent_state",
        "use_global_cursor",
        "lookback_window",
        "state_version",
        ARCHIVED,
        KNOWN_IDS,
        KNOWN_SINCE,
    }
)
_FILE_REMEDY = "fix it or start without --state"
_STREAM_REMEDY = "fix it, or remove that stream's state to read it from start_date"


class _Invalid(Exception):
    """A problem with one stream's state: a phrase completing "the state of stream X ..." and a remedy."""

    def __init__(self, phrase: str, remedy: str = _STREAM_REMEDY) -> None:
        super().__init__(phrase)
        self.phrase = phrase
        self.remedy = remedy


class _Malformed(Exception):
    """The state as a whole has the wrong shape; the message completes "... is not an Airbyte state: "."""


def load_state(path: str | Path, *, resumed: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """Read a state file; an empty file means no state. Every failure is a one-sentence ConfigError."""
    origin = f"State file {str(path)!r}"
    if not Path(path).exists():
        raise ConfigError(f"{origin} does not exist; check the path or start without --state.")
    return parse_state(read_json_file(path, origin, _FILE_REMEDY, empty=None), origin=origin, resumed=resumed)


def parse_state(
    raw: Any, *, origin: str = "The state", resumed: Iterable[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Every stream's state, by stream name, from any accepted shape; ``{}``, ``[]`` and ``None`` are none.

    States of streams this connector does not know are kept as they are (the caller reads only the streams
    in its catalog); the state of every known stream that resumes from it (``resumed``, the streams read
    incrementally; all by default) is checked now, so a bad cursor fails before any request is made. The
    others are not read from their state: a bad one must not stop the read, least of all the full refresh
    that would replace it.
    """
    try:
        states = dict(_streams(raw))
    except _Malformed as exc:
        raise ConfigError(f"{origin} is not an Airbyte state: {exc}; {_FILE_REMEDY}.") from None
    checked = set(states if resumed is None else resumed)
    for name, stream_state in states.items():
        spec = BY_NAME.get(name)
        if spec is None or name not in checked:
            continue
        try:
            _cursor(spec, stream_state)
        except _Invalid as exc:
            raise ConfigError(
                f"{origin} is not usable: the state of stream {name!r} {exc.phrase}; {exc.remedy}."
            ) from None
    return states


def cursor_of(spec: StreamSpec, stream_state: Mapping[str, Any]) -> int | None:
    """The epoch second ``spec`` resumes from, or ``None`` to read from ``start_date``.

    ``None`` comes back for no state, for a full-refresh stream (whatever its state holds), and for the
    archived connector's id and per-partition states, which carry no time; the caller should say so when
    the state was not empty.

    Raises:
        ConfigError: the state holds a cursor that is not a timestamp, an unknown shape, or a newer
            ``state_version`` than this connector writes.
    """
    try:
        return _cursor(spec, stream_state)
    except _Invalid as exc:
        raise ConfigError(f"The state of stream {spec.name!r} {exc.phrase}; {exc.remedy}.") from None


def resume_from(start_date: int, saved: int | None, start: int) -> int:
    """The second a stream's read begins at: the later of ``start_date`` and its saved cursor, but never
    later than the sync's start ``start`` (a cursor past it, from a clock ahead of BigCommerce's or a hand-
    edited state, would skip everything modified in between)."""
    begin = start_date if saved is None else max(start_date, saved)
    return min(begin, start)


def advance(cursor: int, resume: int | None, start: int) -> int:
    """The cursor once a batch is delivered after which a read from ``resume`` loses nothing.

    It never moves backwards (a batch that repeats older records proves nothing new) and never past
    the sync's start ``start``: a record modified at ``start`` may still be changing, so the next sync
    reads that second again. ``resume`` None means the batch moved nothing.
    """
    if resume is None:
        return cursor
    return max(cursor, min(resume, start))


@dataclass(frozen=True)
class Archived:
    """What the orders family knows of the archived orders: a summary of their ids (per bucket ``id % 64``:
    how many, the sum of their ids, and the sum of a 64-bit mix of each id), a few hundred bytes of state
    whatever the store's size.

    BigCommerce does not say whether archiving an order moves its ``date_modified``, so a newly archived
    order may lie anywhere in the past. Each read lists the archived orders' ids (engine._archived) and
    compares their summary with the saved one: a bucket that gained exactly one order gained the id by
    which its sum grew, so exactly the newly archived orders are found, not every archived order again.
    Count and sum alone can be fooled where orders were also restored (two archived and one restored can
    grow the sum by an old id; two swapped for two leave count and sum as they were): the mixed sum, which
    such a change moves unless 64-bit hashes collide, confirms both readings. A bucket that changed
    otherwise has all its orders delivered again.
    """

    buckets: Mapping[int, tuple[int, int, int]] = field(hash=False)

    @property
    def count(self) -> int:
        return sum(number for number, _, _ in self.buckets.values())

    @classmethod
    def of(cls, ids: Iterable[int]) -> Archived:
        buckets: dict[int, tuple[int, int, int]] = {}
        for ident in ids:
            number, total, mixed = buckets.get(ident % ARCHIVE_BUCKETS, (0, 0, 0))
            buckets[ident % ARCHIVE_BUCKETS] = (number + 1, total + ident, (mixed + _mix(ident)) & _MASK)
        return cls(buckets)

    def news(self, now: Archived, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` (every archived order listed now, which ``now`` summarises) are new since this
        summary was taken; every id of a bucket whose change cannot be read as one newly archived order."""
        by_bucket: dict[int, set[int]] = {}
        for ident in ids:
            by_bucket.setdefault(ident % ARCHIVE_BUCKETS, set()).add(ident)
        found: set[int] = set()
        for bucket, members in by_bucket.items():
            number, total, mixed = self.buckets.get(bucket, (0, 0, 0))
            number_now, total_now, mixed_now = now.buckets.get(bucket, (0, 0, 0))
            if (number_now, total_now, mixed_now) == (number, total, mixed):
                continue
            gained = total_now - total
            one = number_now == number + 1 and gained in members
            found |= {gained} if one and (mixed_now - mixed) & _MASK == _mix(gained) else members
        return found

    def to_state(self) -> dict[str, Any]:
        return {"buckets": [[b, n, t, m] for b, (n, t, m) in sorted(self.buckets.items())]}

    @classmethod
    def from_state(cls, value: Any) -> Archived | None:
        """The summary a state carries; None when absent or unreadable, or written before the mixed sum (the
        orders family then delivers every archived order again once, which costs records but loses none)."""
        buckets = value.get("buckets") if isinstance(value, Mapping) else None
        if not isinstance(buckets, list) or not all(
            isinstance(row, list) and len(row) == 4 and all(type(x) is int for x in row) for row in buckets
        ):
            return None
        return cls({b: (n, t, m) for b, n, t, m in buckets})


_MASK = (1 << 64) - 1


def _mix(ident: int) -> int:
    """A 64-bit mix of an order id (splitmix64's finaliser): ids that differ give unrelated values."""
    z = (ident + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def state_for(spec: StreamSpec, cursor: int | None, archived: Archived | None = None) -> dict[str, Any]:
    """The stream_state to emit: the cursor as RFC 3339 for incremental streams, else ``{}``; the orders
    family adds its :class:`Archived` summary."""
    if cursor is None or not spec.incremental:
        return {}
    emitted: dict[str, Any] = {_key(spec): dates.from_epoch(cursor), "state_version": STATE_VERSION}
    if archived is not None:
        emitted[ARCHIVED] = archived.to_state()
    return emitted


def _cursor(spec: StreamSpec, stream_state: Mapping[str, Any]) -> int | None:
    version = stream_state.get("state_version", STATE_VERSION)
    if type(version) is not int or version < 1:
        raise _Invalid(f"has state_version {_show(version)}, which is not a positive integer")
    if version > STATE_VERSION:
        raise _Invalid(
            f"has state_version {version}, written by a newer source-bigcommerce than this one "
            f"(which reads {STATE_VERSION})",
            "upgrade the connector, or remove that stream's state to read it from start_date",
        )
    if not spec.incremental:
        # pages, store, brands, categories: the archived connector kept {"id": N} or {"store_id": N}
        # cursors that never advanced; nothing in them can narrow a full read.
        return None
    key = _key(spec)
    if key in stream_state:
        return _parse_time(stream_state[key], key)
    if stream_state.get("state_type") == "date-range":
        return _date_range(stream_state.get("slices"))
    unknown = sorted(set(stream_state) - _TIMELESS_KEYS)
    if unknown:
        raise _Invalid(f"has no {key} cursor but keys this connector does not know ({', '.join(unknown)})")
    return None


def _key(spec: StreamSpec) -> str:
    """The cursor's key in the stream state: the stream's cursor field; for children, their parent's."""
    return spec.cursor or CURSOR


def _parse_time(value: Any, key: str) -> int:
    if not isinstance(value, str):
        raise _Invalid(f"holds {key} {_show(value)}, which is not a timestamp string")
    try:
        return dates.to_epoch(value)
    except ValueError:
        raise _Invalid(f"holds {key} {_show(value)}, which is not a timestamp") from None


def _date_range(slices: Any) -> int | None:
    """The concurrent CDK's state: the end of the first run of contiguous synced slices, if any."""
    if not isinstance(slices, list) or not all(isinstance(item, Mapping) for item in slices):
        raise _Invalid("is a date-range state whose slices are not a list of objects")
    ranges = sorted(
        (_parse_time(item.get("start"), "start"), _parse_time(item.get("end"), "end")) for item in slices
    )
    if not ranges:
        return None
    end = ranges[0][1]
    for start, stop in ranges[1:]:
        if start > end + 1:
            break
        end = max(end, stop)
    return end


def _show(value: Any) -> str:
    """A state value for a message: short, so a message can never carry a long blob."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 64 else text[:61] + "..."


def _streams(raw: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(stream name, stream state) pairs, in file order, from any accepted shape."""
    if raw is None or raw == {} or raw == []:
        return
    if isinstance(raw, list):
        for index, item in enumerate(raw, 1):
            if not isinstance(item, Mapping):
                raise _Malformed(f"item {index} of the list is {_kind(item)}, not a STATE message")
            yield from _message(item, f"item {index} of the list")
        return
    if not isinstance(raw, Mapping):
        raise _Malformed(f"it is {_kind(raw)}, not a list of STATE messages or an object")
    if _is_message(raw):
        yield from _message(raw, "the message")
    elif set(raw) == {"states"} and isinstance(raw["states"], list):
        yield from _streams(raw["states"])
    elif set(raw) == {"data"}:
        yield from _legacy(raw["data"], "its data")
    else:
        yield from _legacy(raw, "the object")


def _is_message(raw: Mapping[str, Any]) -> bool:
    """A STATE message rather than a legacy dict: no stream is called "type", "stream" or "global"."""
    return "type" in raw or isinstance(raw.get("stream"), Mapping) or isinstance(raw.get("global"), Mapping)


def _message(raw: Mapping[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """One AirbyteStateMessage, or an AirbyteMessage of type STATE wrapping one."""
    kind = raw.get("type")
    if kind == "STATE":
        inner = raw.get("state")
        if not isinstance(inner, Mapping):
            raise _Malformed(f"{where} is a STATE message without a state object")
        yield from _message(inner, where)
        return
    if kind is None:
        kind = "STREAM" if "stream" in raw else "GLOBAL"
    if kind == "STREAM":
        yield _stream_state(raw.get("stream"), where)
    elif kind == "GLOBAL":
        body = raw.get("global")
        stream_states = body.get("stream_states") if isinstance(body, Mapping) else None
        if not isinstance(stream_states, list):
            raise _Malformed(f"{where} is a GLOBAL state without a stream_states list")
        for index, item in enumerate(stream_states, 1):
            yield _stream_state(item, f"stream_states item {index} of {where}")
    elif kind == "LEGACY":
        yield from _legacy(raw.get("legacy", raw.get("data")), f"the legacy data of {where}")
    else:
        raise _Malformed(f"{where} has type {_show(kind)}, not STREAM, GLOBAL or LEGACY")


def _stream_state(raw: Any, where: str) -> tuple[str, dict[str, Any]]:
    descriptor = raw.get("stream_descriptor") if isinstance(raw, Mapping) else None
    name = descriptor.get("name") if isinstance(descriptor, Mapping) else None
    if not isinstance(name, str) or not name:
        raise _Malformed(f"{where} has no stream_descriptor.name")
    stream_state = raw.get("stream_state")
    if stream_state is None:
        return name, {}
    if not isinstance(stream_state, Mapping):
        raise _Malformed(f"the stream_state of {name!r} in {where} is {_kind(stream_state)}, not an object")
    return name, dict(stream_state)


def _legacy(raw: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The legacy shape: ``{stream name: stream state}``."""
    if raw is None:
        return
    if not isinstance(raw, Mapping):
        raise _Malformed(f"{where} is {_kind(raw)}, not an object of stream states")
    for name, stream_state in raw.items():
        if stream_state is None:
            yield name, {}
        elif isinstance(stream_state, Mapping):
            yield name, dict(stream_state)
        else:
            # Only the key is named: a config file passed by mistake would otherwise echo its token.
            raise _Malformed(
                f"the value of {name!r} in {where} is {_kind(stream_state)}, not a stream state object"
            )


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return "an object"
