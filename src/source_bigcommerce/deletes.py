"""Deletes: after a sync, the rows whose record left the store are marked (``_deleted_at``) or removed.

BigCommerce hard-deletes customers, products, brands, categories and pages (only webhooks announce it), so an
incremental read never sees them go. How each stream learns what left, derived from its row in the streams
table, so that a new stream joins by its row alone:

* **Listed** (a v3 list of its own, a date cursor, no archive flag: customers, products, channels): first one
  request for the count of records modified in ``[start_date, T]``, ``T`` being the sync's start second, which
  the table's live rows in the same range are compared with. By the incremental guarantee the table holds every
  record the store has in that range, so its live rows are *at least* the store's count; they are more exactly
  when a row's record was deleted, or was modified after ``T`` (its row keeps the older date, inside the range).
  Equal counts therefore prove that nothing was deleted, and the listing is skipped; a record created or
  modified after ``T`` cannot hide a deletion, because it is outside the count and outside the rows counted.
  Otherwise every id that exists now is listed, as cheaply as the endpoint allows (``StreamSpec.id_params``,
  250 ids a page), and the live rows whose id is not listed are gone once confirmed (:func:`still_there`):
  asked for by ``id:in`` where the list takes it, which lets the listing be one pass however the store
  changes meanwhile; elsewhere left out of a second listing too, each listing with the same completeness
  checks as a read (totals re-checked on every page, a pass that falls short read again, then a failure). An
  incomplete listing marks nothing: the stream's reconciliation fails with a sentence. The counts of all listed streams
  are asked at once (a sync that finds nothing deleted waits for one round trip); the listings, each holding
  every id of its stream, one at a time.
* **Read whole** (no cursor: pages, brands, categories): every sync reads them completely, which is a listing at
  no extra request. Replaced tables drop what left by themselves; with ``mark`` they are merged instead, and the
  rows this sync's loads did not write (by ``_dlt_load_id``) are the ones gone (but for a child's rows under a
  parent whose row is dated before ``start_date``: the parents' walk starts there, and did not read them).
* **Archived** (the schema declares ``is_deleted``: orders): BigCommerce archives rather than deletes, and the
  read delivers archived orders with ``is_deleted: true`` (see ``Engine._archived``); those rows are marked or
  removed like the rest, and a restored order, delivered again, is live again.
* **Children** (``parent``): rows whose parent row is marked or removed follow it. A child read for every
  parent on every sync (``follows_parent=False``: a channel's listings and site) is read whole as well.

**The Airbyte face** (``read`` with ``emit_deletes``) has no table to ask: each listed stream keeps the ids it
has delivered in its state (:func:`encode_ids`), compares their number with the store's count as above, and,
when they differ, lists the ids modified since ``start_date`` and sends each known id that is gone as a
record holding only its key, ``_ab_cdc_deleted_at`` (Airbyte's convention for deletes) and its cursor, both
the time of the read that found it gone, so that it is the latest version of its key; archived orders
carry ``_ab_cdc_deleted_at`` themselves (their ``date_modified``). The ids listed are the ones known from
then on; a state without the ids (the first read after the option is switched on) takes them so too.

Modes (``--deletes``): ``mark`` (default) keeps the rows and sets ``_deleted_at`` to when a sync first found
them gone; ``remove`` deletes them; ``ignore`` does neither, and lists nothing. The listing runs as often as
``--reconcile`` says (``daily`` by default: see README, "Deletes"); the last run per stream is kept in the
table ``_bigcommerce_reconciled`` of the dataset.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from source_bigcommerce import dates
from source_bigcommerce.columns import kinds
from source_bigcommerce.errors import ConnectorError
from source_bigcommerce.http import Client
from source_bigcommerce.paging import UnexpectedResponse, Walker, get_page
from source_bigcommerce.streams import BY_NAME, STREAMS, StreamSpec

Deletes = Literal["mark", "remove", "ignore"]
Cadence = Literal["always", "daily", "never"]
DELETED_AT = "_deleted_at"
CDC_DELETED_AT = "_ab_cdc_deleted_at"
ARCHIVED = "is_deleted"
LEDGER = "_bigcommerce_reconciled"
DAILY_S = 86_400
_BATCH = 1_000
"""Ids per ``IN (...)`` statement."""
_ASKED = 100
"""Ids per ``id:in`` request: about 1 KB of query, well inside any server's limit on a request line."""


@dataclass(frozen=True)
class Policy:
    """``--deletes`` and ``--reconcile``."""

    deletes: Deletes = "mark"
    reconcile: Cadence = "daily"


def listed(spec: StreamSpec) -> bool:
    """Whether the stream's ids are listed to find deletions (see the module docstring). Only v3 lists report
    the totals the count and a complete listing rest on; a v2 list carries none."""
    return (
        spec.api == "v3"
        and not spec.single
        and spec.parent is None
        and spec.per is None
        and spec.cursor is not None
        and len(spec.primary_key) == 1
        and not archives(spec)
    )


def key(spec: StreamSpec) -> str:
    """The key field of a stream whose deletes are found: listed, read whole or archived streams are keyed by
    one field (a stream read per parent, price list records, is not listed: no one list holds its keys)."""
    [field] = spec.primary_key
    return field


def read_whole(spec: StreamSpec) -> bool:
    """Whether every sync reads the stream completely, a listing of its ids at no extra request.

    A stream keyed by a nested field (``inventory_items``, ``identity.variant_id``) has no key column to merge
    on, so it is replaced whole each sync instead: a record gone from the store leaves the table unmarked. A
    child read for every parent on every sync (a channel's listings and site) is read whole too: a child of a
    parent gone from the store is not written again, so it follows its parent.
    """
    top_single = spec.single and spec.parent is None
    return not top_single and not spec.incremental and not spec.nested_key


def archives(spec: StreamSpec) -> bool:
    """Whether the stream's records carry the archive flag rather than disappear (orders)."""
    return ARCHIVED in kinds(spec.name)


# -- the store ---------------------------------------------------------------------------------------------


def _ignore(record: dict[str, Any]) -> None:
    """Id listings are not normalised: only the key is read."""


async def store_count(client: Client, spec: StreamSpec, lo: int, hi: int) -> int:
    """How many records the store has modified in ``[lo, hi]``: the total of a one-record page.

    Raises:
        ConnectorError: the request failed, or its answer carries no total.
    """
    window = spec.window
    assert window is not None
    params = {
        **spec.params,
        **spec.id_params,
        window.min_param: dates.api_param(lo, window.time_format),
        window.max_param: dates.api_param(hi, window.time_format),
        "limit": "1",
    }
    total = (await get_page(client, spec, params, _ignore)).total
    if total is None:
        raise UnexpectedResponse(f"GET /{spec.api}{spec.path} answered without meta.pagination.total.")
    return total


async def store_ids(
    client: Client, spec: StreamSpec, lookahead: int, *, since: int | None = None
) -> set[Any]:
    """Every id the store has now (modified at or after ``since``, if given).

    Where an id left out can be asked for by id (:attr:`StreamSpec.id_in`), one pass by page number that
    carries on when the total moves (``Walker.sweep``): on a busy store records come and go during every
    pass, and a listing that must hold still would never end. Elsewhere, with a read's completeness checks
    (``Walker.everything``).

    Raises:
        ConnectorError: the listing could not be completed; nothing may be marked from it.
    """
    walker = Walker(
        client, spec, normalize=_ignore, lookahead=lookahead, extra_params=_id_params(spec, since)
    )
    found: set[Any] = set()
    async with contextlib.aclosing(walker.sweep() if spec.id_in else walker.everything()) as pages:
        async for page in pages:
            found.update(record[key(spec)] for record in page)
    return found


def _id_params(spec: StreamSpec, since: int | None) -> dict[str, str]:
    """The query of an id listing: only the ids where the endpoint can say so, modified since ``since``."""
    extra = dict(spec.id_params)
    if since is not None:
        assert spec.window is not None
        extra[spec.window.min_param] = dates.api_param(since, spec.window.time_format)
    return extra


async def still_there(
    client: Client, spec: StreamSpec, lookahead: int, missing: set[Any], *, since: int | None = None
) -> set[Any]:
    """Those of ``missing`` (ids a listing left out) that exist after all (modified at or after ``since``).

    A listing by page number is checked by its total at best, which a record deleted and another created while
    it ran keep: the pages shift, and a record that stayed can fall between two of them. Where the list
    filters by ``id:in`` they are asked for by id, :data:`_ASKED` at a time, which no shift can hide; elsewhere
    an id is taken for gone only when a second listing leaves it out too. Either costs requests only when the
    first listing found something gone.

    Raises:
        ConnectorError: they could not all be asked for (or the server ignores ``id:in``); nothing may be
            marked.
    """
    if not missing:
        return set()
    if not spec.id_in:
        return missing & await store_ids(client, spec, lookahead, since=since)
    found: set[Any] = set()
    asked = sorted(missing)
    for first in range(0, len(asked), _ASKED):
        batch = asked[first : first + _ASKED]
        query = {**_id_params(spec, since), "id:in": ",".join(map(str, batch))}
        walker = Walker(client, spec, normalize=_ignore, lookahead=lookahead, extra_params=query)
        async with contextlib.aclosing(walker.everything()) as pages:
            async for page in pages:
                ids = {record[key(spec)] for record in page}
                if not ids <= set(batch):
                    raise UnexpectedResponse(
                        f"GET /{spec.api}{spec.path} answered id:in with records it was not asked for, so it "
                        "ignores that filter."
                    )
                found |= ids
    return found


def emits(spec: StreamSpec) -> bool:
    """Whether ``read`` with ``emit_deletes`` tells the stream's deletes (and discover declares the field)."""
    return listed(spec) or archives(spec)


def encode_ids(ids: set[int], level: int = 9) -> str:
    """The ids as the gaps between them in order, compressed: a few bytes per thousand ids in a store whose
    ids mostly follow each other, small enough for Airbyte's state. ``level`` is zlib's: 1 for the ids a read
    carries in its every STATE, whose scattered gaps level 9 compresses 25 times slower for a sixth less."""
    ordered = sorted(ids)
    gaps = [b - a for a, b in zip([0, *ordered], ordered, strict=False)]
    return base64.b64encode(zlib.compress(",".join(map(str, gaps)).encode(), level)).decode()


def decode_ids(text: Any) -> set[int] | None:
    """The ids :func:`encode_ids` wrote; None for anything else (the ids are then taken from a listing)."""
    if not isinstance(text, str):
        return None
    try:
        raw = zlib.decompress(base64.b64decode(text, validate=True)).decode()
        found: set[int] = set()
        last = 0
        for gap in raw.split(",") if raw else ():
            last += int(gap)
            found.add(last)
        return found
    except (ValueError, zlib.error):
        return None


async def gone_from_known(
    client: Client,
    spec: StreamSpec,
    known: set[int] | None,
    delivered: set[int],
    *,
    start_date: int,
    start: int,
    lookahead: int,
) -> tuple[set[int], set[int]]:
    """The known ids that left the store, and the ids known from now on (the Airbyte face).

    Raises:
        ConnectorError: the listing could not be completed (see :func:`incomplete`).
    """
    ids = (known or set()) | delivered
    # Up to the second before the read's start, which is still open (see reconcile): every record the store
    # counts is then one of ``ids``, so equal counts mean equal sets.
    if known is not None and await store_count(client, spec, start_date, start - 1) == len(ids):
        return set(), ids
    try:
        exists = await store_ids(client, spec, lookahead, since=start_date)
        if known is not None:
            exists |= await still_there(client, spec, lookahead, ids - exists, since=start_date)
    except ConnectorError as error:
        raise incomplete(spec, error) from None
    if known is None:
        return set(), exists | delivered
    # Every id listed is known from now on, not only those known before: a read that stopped half-way (a
    # failed stream, a killed attempt) kept the ids known at its last STATE, not those it delivered after it,
    # and an id left out for good would make up, in every later count, for one deleted record, never told.
    return ids - exists, exists


def incomplete(spec: StreamSpec, error: ConnectorError) -> ConnectorError:
    return ConnectorError(
        f"{spec.name}: the ids that exist could not all be listed ({error.message.rstrip('.')}), so nothing "
        "was marked deleted; the next run tries again."
    )


def unseen(name: str) -> str:
    """The warning of a stream whose deletes the destination cannot show: said every sync, rather than a
    failure every sync of a destination where they cannot be checked at all."""
    return (
        f"{name}: the destination's information schema does not show its table, so its deletes were not "
        "checked and no row was marked deleted (DuckDB and Postgres show it; --deletes ignore stops checking)."
    )


# -- the destination ---------------------------------------------------------------------------------------


class Tables:
    """The destination side, in SQL both DuckDB and Postgres run; one sql client of dlt's, loader thread only."""

    def __init__(self, client: Any, mode: Deletes, now: datetime) -> None:
        self._client = client
        self._mode = mode
        self._now = now
        self._columns: dict[str, set[str]] = {}

    def _name(self, table: str) -> str:
        return str(self._client.make_qualified_table_name(table))

    def _rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self._client.execute_query(sql, *args) as cursor:
            return list(cursor.fetchall())

    def columns(self, table: str) -> set[str]:
        """The table's columns; empty when there is no such table."""
        if table not in self._columns:
            rows = self._rows(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
                self._client.dataset_name,
                table,
            )
            self._columns[table] = {row[0] for row in rows}
        return self._columns[table]

    def exists(self, table: str) -> bool:
        """Whether the table answers a query, asked of the table itself: some destinations' information
        schema does not show it (dlt's filesystem destination, whose tables are views made when queried)."""
        try:
            self._rows(f"SELECT 1 FROM {self._name(table)} LIMIT 1")
        except Exception:
            return False
        return True

    def prepare(self, table: str) -> bool:
        """Whether the table exists; with ``mark``, it then has the ``_deleted_at`` column."""
        found = self.columns(table)
        if found and self._mode == "mark" and DELETED_AT not in found:
            self._client.execute_sql(
                f"ALTER TABLE {self._name(table)} ADD COLUMN {DELETED_AT} TIMESTAMP WITH TIME ZONE"
            )
            found.add(DELETED_AT)
        return bool(found)

    def _live(self, table: str) -> str:
        """The rows a record of the store may still stand behind; with ``remove``, every row: those an earlier
        ``mark`` marked are removed too, so that the table equals the store."""
        if self._mode == "remove" or DELETED_AT not in self.columns(table):
            return "TRUE"
        return f"{DELETED_AT} IS NULL"

    def live_count(self, spec: StreamSpec, lo: int, hi: int | None) -> int:
        """Live rows whose cursor is in ``[lo, hi]`` (``hi`` None: at or after ``lo``)."""
        assert spec.cursor is not None
        bounds = [_instant(lo)] if hi is None else [_instant(lo), _instant(hi)]
        [(count,)] = self._rows(
            f"SELECT count(DISTINCT {key(spec)}) FROM {self._name(spec.name)} WHERE {self._live(spec.name)} "
            f"AND {spec.cursor} >= %s" + ("" if hi is None else f" AND {spec.cursor} <= %s"),
            *bounds,
        )
        return int(count)

    def gone(self, spec: StreamSpec, exists: set[Any]) -> list[Any]:
        """The keys of live rows not in ``exists``."""
        rows = self._rows(
            f"SELECT DISTINCT {key(spec)} FROM {self._name(spec.name)} WHERE {self._live(spec.name)}"
        )
        return [row[0] for row in rows if row[0] not in exists]

    def unwritten(self, spec: StreamSpec, load_ids: list[str], start_date: int) -> list[Any]:
        """The keys of live rows no load of ``load_ids`` wrote.

        A child's parents are walked from ``start_date`` on: the rows of a parent whose row is dated before it
        (``start_date`` moved later) were not read, not found gone, and are left out.
        """
        where = self._live(spec.name)
        args: list[Any] = list(load_ids)
        if load_ids:
            where += f" AND _dlt_load_id NOT IN ({', '.join(['%s'] * len(load_ids))})"
        parent = BY_NAME[spec.parent] if spec.parent is not None else None
        if parent and parent.cursor and spec.parent_key and parent.cursor in self.columns(parent.name):
            where += (
                f" AND NOT EXISTS (SELECT 1 FROM {self._name(parent.name)} AS p WHERE p.{parent.cursor} < %s"
                f" AND CAST(p.{key(parent)} AS VARCHAR) = CAST(c.{spec.parent_key} AS VARCHAR))"
            )
            args.append(_instant(start_date))
        return [
            row[0]
            for row in self._rows(
                f"SELECT DISTINCT c.{key(spec)} FROM {self._name(spec.name)} AS c WHERE {where}", *args
            )
        ]

    def archived(self, spec: StreamSpec) -> list[Any]:
        """The keys of live rows whose record says it is archived."""
        sql = f"SELECT DISTINCT {key(spec)} FROM {self._name(spec.name)} WHERE {self._live(spec.name)} AND {ARCHIVED}"
        return [row[0] for row in self._rows(sql)]

    def drop(self, spec: StreamSpec, keys: list[Any], children: list[StreamSpec]) -> None:
        """Mark or remove the rows of ``keys``, and the rows of ``children`` whose parent they are."""
        for child in children:
            self.drop_children(child, keys)
        for start in range(0, len(keys), _BATCH):
            batch = keys[start : start + _BATCH]
            self._drop(spec, f"{key(spec)} IN ({', '.join(['%s'] * len(batch))})", batch)

    def drop_children(self, child: StreamSpec, parents: list[Any]) -> None:
        """Mark or remove the rows of ``child`` whose parent is one of ``parents``."""
        if not self.columns(child.name) or child.parent_key is None:
            return
        for start in range(0, len(parents), _BATCH):
            # A child's parent key may be a text column (transactions' order_id): compared as text.
            texts = [str(key) for key in parents[start : start + _BATCH]]
            marks = ", ".join(["%s"] * len(texts))
            self._drop(child, f"CAST({child.parent_key} AS VARCHAR) IN ({marks})", texts)

    def _drop(self, spec: StreamSpec, where: str, args: list[Any]) -> None:
        table = self._name(spec.name)
        if self._mode == "remove":
            self._client.execute_sql(f"DELETE FROM {table} WHERE {where}", *args)
        else:
            self.prepare(spec.name)
            self._client.execute_sql(
                f"UPDATE {table} SET {DELETED_AT} = %s WHERE {DELETED_AT} IS NULL AND {where}",
                self._now,
                *args,
            )

    def last_listed(self) -> dict[str, datetime]:
        """When each stream's ids were last listed."""
        if not self.columns(LEDGER):
            return {}
        return dict(self._rows(f"SELECT stream, listed_at FROM {self._name(LEDGER)}"))

    def note_listed(self, stream: str) -> None:
        ledger = self._name(LEDGER)
        if not self.columns(LEDGER):
            self._client.execute_sql(
                f"CREATE TABLE IF NOT EXISTS {ledger} (stream VARCHAR PRIMARY KEY, listed_at TIMESTAMP WITH TIME ZONE)"
            )
            self._columns[LEDGER] = {"stream", "listed_at"}
        self._client.execute_sql(f"DELETE FROM {ledger} WHERE stream = %s", stream)
        self._client.execute_sql(f"INSERT INTO {ledger} VALUES (%s, %s)", stream, self._now)


def _instant(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def due(policy: Policy, last: Mapping[str, datetime], stream: str, now: datetime) -> bool:
    """Whether the stream's ids are to be checked in this sync."""
    if policy.reconcile == "never":
        return False
    if policy.reconcile == "always" or stream not in last:
        return True
    return (now - last[stream]).total_seconds() >= DAILY_S


@dataclass
class Outcome:
    """What a reconciliation did: records found gone per stream (each once, however many rows ``append`` gave
    it), and the streams it could not check."""

    dropped: dict[str, int]
    errors: dict[str, str]
    listed: list[str]
    """The streams whose ids were listed (their counts disagreed)."""
    unchecked: list[str]
    """The streams whose table the destination's information schema does not show: their deletes went
    unchecked (see :func:`unseen`)."""


Run = Callable[[Callable[[Tables], Any]], Awaitable[Any]]
"""Runs a function with the destination's :class:`Tables`, in the loader thread."""


async def reconcile(
    client: Client,
    run: Run,
    specs: tuple[StreamSpec, ...],
    progress: Mapping[str, Any],
    policy: Policy,
    *,
    start_date: int,
    lookahead: int,
    load_ids: list[str],
    merged_whole: bool,
    now: datetime,
) -> Outcome:
    """Mark or remove, per ``policy``, the rows of the streams in ``specs`` that completed (``progress``) whose
    records left the store, and their children's (see the module docstring)."""
    outcome = Outcome({}, {}, [], [])
    if policy.deletes == "ignore":
        return outcome
    done = [spec for spec in specs if spec.name in progress and not progress[spec.name].failed]

    def children(spec: StreamSpec) -> list[StreamSpec]:
        return [child for child in STREAMS if child.parent == spec.name]

    def drop(tables: Tables, spec: StreamSpec, keys: list[Any]) -> None:
        tables.drop(spec, keys, children(spec))
        outcome.dropped[spec.name] = outcome.dropped.get(spec.name, 0) + len(keys)

    def from_rows(tables: Tables) -> dict[str, int | None]:
        """Archived and read-whole streams, from the rows alone; the live counts of the listed ones due, None
        for one whose ids must be listed whatever the counts say."""
        last = tables.last_listed()
        counts: dict[str, int | None] = {}
        for spec in done:
            # Other children follow their parent's rows (``drop``).
            skip = spec.single if spec.parent is None else not read_whole(spec)
            if skip:
                continue
            if not tables.prepare(spec.name):
                checked = archives(spec) or (read_whole(spec) and merged_whole) or listed(spec)
                if checked and tables.exists(spec.name):
                    outcome.unchecked.append(spec.name)
                continue
            for child in children(spec):
                tables.prepare(child.name)
            if archives(spec):
                drop(tables, spec, tables.archived(spec))
            elif read_whole(spec) and merged_whole:
                drop(tables, spec, tables.unwritten(spec, load_ids, start_date))
            elif listed(spec) and due(policy, last, spec.name, now):
                # The counts stop before the sync's start second, which is still open (state.advance reads it
                # again next sync): a record created in it after the read would count in the store and not in
                # the table, and make up for a deleted one. Rows in it are vouched for by listing ids only.
                start = progress[spec.name].start
                settled = not tables.live_count(spec, start, None)
                counts[spec.name] = tables.live_count(spec, start_date, start - 1) if settled else None
        return counts

    counts: dict[str, int | None] = await run(from_rows)
    asked = [name for name, live in counts.items() if live is not None]
    totals = await asyncio.gather(
        *(store_count(client, BY_NAME[name], start_date, progress[name].start - 1) for name in asked),
        return_exceptions=True,  # a failed count leaves none of the others running
    )
    unchanged: list[str] = []
    differ = [BY_NAME[name] for name, live in counts.items() if live is None]
    for name, found in zip(asked, totals, strict=True):
        live = counts[name]
        if isinstance(found, ConnectorError):
            outcome.errors[name] = incomplete(BY_NAME[name], found).message
        elif isinstance(found, BaseException):
            raise found
        elif found == live:
            unchanged.append(name)
        else:
            differ.append(BY_NAME[name])

    def note(tables: Tables) -> None:
        for name in unchanged:
            tables.note_listed(name)

    if unchanged:
        await run(note)
    for spec in differ:
        try:
            exists = await store_ids(client, spec, lookahead)
            missing = set(await run(functools.partial(Tables.gone, spec=spec, exists=exists)))
            gone = missing - await still_there(client, spec, lookahead, missing)
        except ConnectorError as error:
            outcome.errors[spec.name] = incomplete(spec, error).message
            continue

        def apply(tables: Tables, spec: StreamSpec = spec, gone: set[Any] = gone) -> None:
            drop(tables, spec, list(gone))
            tables.note_listed(spec.name)

        outcome.listed.append(spec.name)
        await run(apply)
    return outcome
