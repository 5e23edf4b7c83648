"""Deletes: after records leave the sandbox store (hard deletes, archived orders), the next ``sync`` leaves
every table equal to the export plus the rows it marked (``--deletes mark``), equal to the export without
archived orders (``remove``), or as it was (``ignore``); in DuckDB and Postgres, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from bigcommerce_sandbox.app import RunningSandbox, SandboxFactory
from source_bigcommerce.config import parse_config
from source_bigcommerce.deletes import (
    DELETED_AT,
    LEDGER,
    Outcome,
    Policy,
    Tables,
    archives,
    gone_from_known,
    listed,
    read_whole,
    reconcile,
    still_there,
)
from source_bigcommerce.destination import Target
from source_bigcommerce.engine import Progress
from source_bigcommerce.errors import ConnectorError
from source_bigcommerce.http import Client
from source_bigcommerce.pipeline import Loader
from source_bigcommerce.streams import BY_NAME, STREAMS, StreamSpec, key_of
from source_bigcommerce.wiring import with_client
from sync_support import (
    POSTGRES_URL,
    assert_table_equals_export,
    duckdb_rows,
    duckdb_target,
    postgres_available,
    postgres_dataset,
    postgres_rows,
    run_sync,
)

from support import ALL_STREAMS, settle

GONE = {"customers": 3, "products": 3, "brands": 2, "categories": 2}
ARCHIVED = 3
ORDER_CHILDREN = tuple(spec for spec in STREAMS if spec.parent == "orders")
"""Every child of orders, which follows its archived order."""
Rows = Callable[[Target, str], list[dict[str, Any]]]


@pytest.fixture(params=["duckdb", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Target, Rows]]:
    if request.param == "duckdb":
        yield duckdb_target(tmp_path), duckdb_rows
        return
    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    with postgres_dataset() as dataset:
        yield Target("postgres", POSTGRES_URL, dataset, str(tmp_path / "pipelines")), postgres_rows


def change_store(sb: RunningSandbox) -> dict[str, set[Any]]:
    """Delete and archive records; the ids that went, per stream (what went with them, a product's variants,
    metafields and prices, say, the test finds by comparing the exports).

    A product naming a deleted brand or category loses it in the sandbox without a new ``date_modified``
    (BigCommerce does not document whether it moves), which no incremental read can see and which is not what
    this test is about: every product left is updated, so the sync reads them again. Customer groups' discount
    rules name categories the same way.
    """
    gone = {name: set(sb.mutate(name, delete=count)[name]["deleted"]) for name, count in GONE.items()}
    for name in ("products", "customer_groups"):
        sb.mutate(name, update=len(sb.export(name)))
    gone["orders"] = set(sb.mutate("orders", archive=ARCHIVED)["orders"]["archived"])
    settle()
    return gone


def keys(name: str, rows: list[dict[str, Any]]) -> set[Any]:
    key = key_of(BY_NAME[name])
    return {key(row) for row in rows}


def marked(name: str, rows: list[dict[str, Any]]) -> set[Any]:
    return keys(name, [row for row in rows if row.get(DELETED_AT) is not None])


def live(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row.get(DELETED_AT) is None]


def reconciled(name: str) -> bool:
    spec = BY_NAME[name]
    return listed(spec) or read_whole(spec)


@pytest.mark.parametrize("mode", ["mark", "remove", "ignore"])
def test_after_deletes_and_archives_the_next_sync_leaves_every_table_equal_to_the_export_plus_marked_rows(
    sandbox_factory: SandboxFactory, target: tuple[Target, Rows], mode: Any
) -> None:
    sb = sandbox_factory(size="tiny", seed=5)
    where, rows_of = target
    policy = Policy(mode, "always")
    assert run_sync(sb.config, where, policy=policy).ok
    before = {name: sb.export(name) for name in ALL_STREAMS}
    gone = change_store(sb)
    assert all(gone.values()), gone
    summary = run_sync(sb.config, where, policy=policy)
    assert summary.ok, summary.as_json()

    export = {name: sb.export(name) for name in ALL_STREAMS}
    # What left the store: the deleted records and those that went with them (a deleted customer's addresses
    # and attribute values, say).
    vanished = {name: keys(name, before[name]) - keys(name, export[name]) for name in ALL_STREAMS}
    assert all(vanished[name] >= ids for name, ids in gone.items() if name != "orders")
    archived = {order["id"] for order in export["orders"] if order["is_deleted"]}
    assert gone["orders"] <= archived
    children_of_archived = {
        spec.name: keys(spec.name, [r for r in export[spec.name] if int(r[str(spec.parent_key)]) in archived])
        for spec in ORDER_CHILDREN
    }
    for name in ALL_STREAMS:
        rows = rows_of(where, name)
        spec = BY_NAME[name]
        key = key_of(spec)
        if spec.incremental and not (reconciled(name) or archives(spec) or spec.parent):
            # Merged but not reconciled (price list records, read per list; customer groups, a v2 list without
            # totals): the rows of what left stay, unmarked.
            assert not marked(name, rows), name
            assert keys(name, rows) == keys(name, export[name]) | vanished[name], name
            assert_table_equals_export([r for r in rows if key(r) not in vanished[name]], export[name], name)
            continue
        if mode == "mark":
            expected_marks = archived if name == "orders" else vanished[name] if reconciled(name) else set()
            expected_marks = children_of_archived.get(name, expected_marks)
            assert marked(name, rows) == expected_marks, name
            kept = [row for row in rows if key(row) not in vanished[name]]
            assert_table_equals_export(kept, export[name], name)
        elif mode == "remove":
            dropped = archived if name == "orders" else children_of_archived.get(name, set())
            assert_table_equals_export(rows, [r for r in export[name] if key(r) not in dropped], name)
            assert DELETED_AT not in (rows[0] if rows else {}), name
        elif listed(spec):
            # Nothing is listed: the rows of deleted records stay as they were, unmarked.
            assert keys(name, rows) == keys(name, export[name]) | vanished[name], name
            assert_table_equals_export([r for r in rows if key(r) not in vanished[name]], export[name], name)
        else:
            # Streams read whole are replaced: what left the store leaves the table.
            assert_table_equals_export(rows, export[name], name)
    deleted = {name: result.deleted for name, result in summary.streams.items() if result.deleted}
    listed_gone = {name for name in ALL_STREAMS if listed(BY_NAME[name]) and vanished[name]}
    counted = {
        "mark": {
            name
            for name in ALL_STREAMS
            if vanished[name] and (listed(BY_NAME[name]) or read_whole(BY_NAME[name]))
        },
        "remove": listed_gone,
        "ignore": set(),
    }[mode]
    expected = {name: len(vanished[name]) for name in counted}
    if mode != "ignore":
        expected["orders"] = ARCHIVED  # replaced tables (brands, categories under remove) count nothing
    assert deleted == expected


def test_marked_rows_stay_marked_with_their_first_time_and_live_rows_stay_live(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = sandbox_factory(size="tiny", seed=6)
    where = duckdb_target(tmp_path)
    policy = Policy("mark", "always")
    assert run_sync(sb.config, where, policy=policy).ok
    gone = set(sb.mutate("customers", delete=2)["customers"]["deleted"])
    assert run_sync(sb.config, where, policy=policy).ok
    first = {row["id"]: row[DELETED_AT] for row in duckdb_rows(where, "customers") if row[DELETED_AT]}
    assert set(first) == gone
    sb.mutate("customers", update=5)
    summary = run_sync(sb.config, where, policy=policy)
    assert summary.ok
    assert summary.streams["customers"].deleted == 0
    again = {row["id"]: row[DELETED_AT] for row in duckdb_rows(where, "customers") if row[DELETED_AT]}
    assert again == first
    assert_table_equals_export(live(duckdb_rows(where, "customers")), sb.export("customers"), "customers")


def test_a_reconciliation_that_finds_nothing_changed_costs_one_request_per_listed_stream(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = sandbox_factory(size="tiny", seed=8)
    where = duckdb_target(tmp_path)
    assert run_sync(sb.config, where, policy=Policy("mark", "never")).ok

    def requests(reconcile: Any) -> dict[str, int]:
        sb.reset_stats()
        assert run_sync(sb.config, where, policy=Policy("mark", reconcile)).ok
        return {route: counts["total"] for route, counts in sb.stats()["requests"].items()}

    without, with_it = requests("never"), requests("always")
    extra = {route: with_it.get(route, 0) - count for route, count in without.items()}
    extra.update({route: count for route, count in with_it.items() if route not in without})
    routes = {f"/stores/{{store_hash}}/{spec.api}{spec.path}" for spec in STREAMS if listed(spec)}
    assert {
        "/stores/{store_hash}/v3/customers",
        "/stores/{store_hash}/v3/catalog/products",
        "/stores/{store_hash}/v3/pricelists",
    } <= routes
    assert {route: count for route, count in extra.items() if count} == dict.fromkeys(routes, 1)


def reconcile_always(
    sb: RunningSandbox, where: Target, specs: tuple[StreamSpec, ...], start: int, lookahead: int = 4
) -> tuple[Outcome, int]:
    """The reconciliation (``always``) of ``specs`` after a sync whose read started at the second ``start``, as
    the sync runs it: the client has made a request (it knows the quota, and sends at once), and the sandbox's
    counters start afterwards. The outcome, and how many times the destination was opened."""
    config = parse_config(dict(sb.config))
    start_date = int(config.start.timestamp())
    now = datetime.now(timezone.utc)
    progress = {spec.name: Progress(spec, "incremental", start_date, start) for spec in specs}
    loader = Loader(where, config.store_hash)
    loader.open()
    passes = 0

    async def run(work: Callable[[Tables], Any]) -> Any:
        nonlocal passes
        passes += 1
        return loader.with_tables("mark", now, work)

    async def work(client: Client) -> Outcome:
        await client.get("v2", "/store")
        sb.reset_stats()
        return await reconcile(
            client,
            run,
            specs,
            progress,
            Policy("mark", "always"),
            start_date=start_date,
            lookahead=lookahead,
            load_ids=[],
            merged_whole=False,
            now=now,
        )

    try:
        return asyncio.run(with_client(config, lambda level, message: None, work)), passes
    finally:
        loader.close()


def test_a_reconciliation_asks_the_count_of_every_listed_stream_at_once_and_notes_them_in_one_pass(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Nothing deleted: one round trip for all the listed streams, not one each (on a real store, about a
    second more for every sync), and the destination opened once for all of them once the counts agree."""
    sb = sandbox_factory(size="tiny", seed=11, latency_ms=250)
    where = duckdb_target(tmp_path)
    assert run_sync(sb.config, where, policy=Policy("mark", "never")).ok
    specs = tuple(spec for spec in STREAMS if listed(spec))
    assert 3 <= len(specs) <= parse_config(dict(sb.config)).max_concurrent_requests
    outcome, passes = reconcile_always(sb, where, specs, int(datetime.now(timezone.utc).timestamp()))
    assert outcome == Outcome({}, {}, [], [])
    assert {row["stream"] for row in duckdb_rows(where, LEDGER)} == {spec.name for spec in specs}
    stats = sb.stats()
    assert sum(counts["total"] for counts in stats["requests"].values()) == len(specs)
    assert stats["peak_concurrency"] == len(specs), "the counts were asked one after another"
    assert passes == 2, "the rows counted, then the streams noted"


def test_daily_lists_a_stream_at_most_once_a_day(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    sb = sandbox_factory(size="tiny", seed=9)
    where = duckdb_target(tmp_path)
    daily = Policy("mark", "daily")
    assert run_sync(sb.config, where, policy=daily).ok
    gone = set(sb.mutate("customers", delete=2)["customers"]["deleted"])
    summary = run_sync(sb.config, where, policy=daily)
    assert summary.ok
    assert summary.streams["customers"].deleted == 0
    assert marked("customers", duckdb_rows(where, "customers")) == set()
    summary = run_sync(sb.config, where, policy=Policy("mark", "always"))
    assert summary.streams["customers"].deleted == 2
    assert marked("customers", duckdb_rows(where, "customers")) == gone


def test_an_incomplete_id_listing_marks_nothing_and_fails_the_stream_with_a_sentence(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Every request of the products' id listing (``include_fields=id``, which no read sends) answers 500
    until the client gives up; the reads themselves are served."""
    sb = sandbox_factory(size="tiny", seed=10, faults="500 p=1 /v3/catalog/products?include_fields=id")
    where = duckdb_target(tmp_path)
    config = {**sb.config, "max_retries": 1}
    assert run_sync(config, where, "products", policy=Policy("mark", "never")).ok
    sb.mutate("products", delete=2)
    summary = run_sync(config, where, "products", policy=Policy("mark", "always"))
    result = summary.streams["products"]
    assert result.status == "failed", summary.as_json()
    assert result.error is not None
    assert "so nothing was marked deleted" in result.error
    assert marked("products", duckdb_rows(where, "products")) == set()
    assert len(duckdb_rows(where, "products")) == len(sb.export("products")) + 2


def epoch(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def test_a_record_created_in_the_syncs_start_second_after_the_read_does_not_hide_a_deleted_one(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """The sync's start second is still open when its read ends: a customer created in it afterwards is in the
    store's count of ``[start_date, start]`` and not in the table, and one customer deleted meanwhile would
    leave both counts equal. Reconciled as a sync starting in the second the customer was created."""
    sb = sandbox_factory(size="tiny", seed=12)
    where = duckdb_target(tmp_path)
    assert run_sync(sb.config, where, "customers", policy=Policy("mark", "never")).ok
    gone = set(sb.mutate("customers", delete=1)["customers"]["deleted"])
    [created] = sb.mutate("customers", create=1)["customers"]["created"]
    [record] = [record for record in sb.export("customers") if record["id"] == created]
    outcome, _ = reconcile_always(sb, where, (BY_NAME["customers"],), epoch(record["date_modified"]))
    assert outcome.dropped == {"customers": 1}
    assert marked("customers", duckdb_rows(where, "customers")) == gone


def test_rows_modified_in_the_syncs_start_second_are_vouched_for_by_listing_ids_not_by_counts(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    # Nothing was deleted, but the table holds rows of the start second, which no count can vouch for.
    sb = sandbox_factory(size="tiny", seed=12)
    where = duckdb_target(tmp_path)
    assert run_sync(sb.config, where, "customers", policy=Policy("mark", "never")).ok
    latest = max(epoch(record["date_modified"]) for record in sb.export("customers"))
    customers = (BY_NAME["customers"],)
    listing, _ = reconcile_always(sb, where, customers, latest)
    assert (listing.listed, sum(listing.dropped.values())) == (["customers"], 0)
    later, _ = reconcile_always(sb, where, customers, latest + 1)
    assert later.listed == [], "a second later, the counts vouch"


def test_the_airbyte_face_is_not_fooled_by_a_record_created_in_the_reads_start_second_either(
    sandbox_factory: SandboxFactory,
) -> None:
    # read --state: the known ids of customers, one deleted and one created in the read's start second.
    sb = sandbox_factory(size="tiny", seed=12)
    known = {record["id"] for record in sb.export("customers")}
    gone = set(sb.mutate("customers", delete=1)["customers"]["deleted"])
    [created] = sb.mutate("customers", create=1)["customers"]["created"]
    [record] = [record for record in sb.export("customers") if record["id"] == created]
    config = parse_config(dict(sb.config))

    async def work(client: Client) -> tuple[set[int], set[int]]:
        return await gone_from_known(
            client,
            BY_NAME["customers"],
            known,
            set(),
            start_date=int(config.start.timestamp()),
            start=epoch(record["date_modified"]),
            lookahead=4,
        )

    found, ids = asyncio.run(with_client(config, lambda level, message: None, work))
    # The created customer, listed, is known too: it exists, and the next read delivers it.
    assert (found, ids) == (gone, known - gone | {created})


def test_with_append_a_deleted_record_counts_once_and_every_version_of_it_is_marked(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = sandbox_factory(size="tiny", seed=7)
    where = duckdb_target(tmp_path)
    policy = Policy("mark", "always")
    assert run_sync(sb.config, where, "customers", policy=policy, write_disposition="append").ok
    sb.mutate("customers", update=len(sb.export("customers")))  # every customer gets a second row
    assert run_sync(sb.config, where, "customers", policy=policy, write_disposition="append").ok
    gone = set(sb.mutate("customers", delete=3)["customers"]["deleted"])
    summary = run_sync(sb.config, where, "customers", policy=policy, write_disposition="append")
    assert summary.ok, summary.as_json()
    assert summary.streams["customers"].deleted == len(gone)
    rows = duckdb_rows(where, "customers")
    assert sorted(row["id"] for row in rows if row[DELETED_AT] is not None) == sorted(2 * list(gone))


def test_a_later_start_date_marks_no_child_of_a_parent_dated_before_it(
    sandbox_factory: SandboxFactory, target: tuple[Target, Rows]
) -> None:
    # A product's images (a channel's listings, ...) are read whole with the walk of their parents, which
    # starts at start_date: moved later, it no longer reads the parents dated before it, which stay in the
    # store and live in their table. Their children were marked deleted all the same (26 of 58 images).
    sb = sandbox_factory(size="tiny", seed=3)
    where, rows_of = target
    policy = Policy("mark", "always")
    assert run_sync(sb.config, where, policy=policy).ok
    modified = sorted(record["date_modified"] for record in sb.export("products"))
    later = {**sb.config, "start_date": modified[len(modified) // 2][:10]}
    children = [spec for spec in STREAMS if spec.parent in ("products", "channels") and read_whole(spec)]
    summary = run_sync(later, where, policy=policy)
    assert summary.ok, summary.as_json()
    assert {spec.name: summary.streams[spec.name].deleted for spec in children} == dict.fromkeys(
        (spec.name for spec in children), 0
    )
    for spec in children:
        assert not marked(spec.name, rows_of(where, spec.name)), spec.name

    # The children of a product deleted in range are found gone by the read alone (its ids are not listed).
    gone = set(sb.mutate("products", delete=2)["products"]["deleted"])
    assert run_sync(sb.config, where, policy=Policy("mark", "never")).ok
    images = rows_of(where, "product_images")
    assert marked("product_images", images) == {r["id"] for r in images if r["product_id"] in gone} != set()


def test_remove_after_mark_removes_the_rows_mark_kept(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    # Rows marked by an earlier sync were not live, so a sync with --deletes remove never found them gone:
    # the deleted customers and archived orders stayed in tables README says equal the store.
    sb = sandbox_factory(size="tiny", seed=6)
    where = duckdb_target(tmp_path)
    streams = "customers,orders,order_products"
    assert run_sync(sb.config, where, streams, policy=Policy("mark", "always")).ok
    sb.mutate("customers", delete=2)
    sb.mutate("orders", archive=2)
    settle()
    assert run_sync(sb.config, where, streams, policy=Policy("mark", "always")).ok
    assert marked("customers", duckdb_rows(where, "customers"))
    summary = run_sync(sb.config, where, streams, policy=Policy("remove", "always"))
    assert summary.ok, summary.as_json()
    assert_table_equals_export(duckdb_rows(where, "customers"), sb.export("customers"), "customers")
    live_orders = [order for order in sb.export("orders") if not order["is_deleted"]]
    assert keys("orders", duckdb_rows(where, "orders")) == keys("orders", live_orders)
    assert {row["order_id"] for row in duckdb_rows(where, "order_products")} <= keys("orders", live_orders)


def test_a_destination_whose_tables_the_deletes_cannot_see_warns_of_the_streams_left_unchecked(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # dlt's filesystem destination queries its files through views its information schema does not show: the
    # deletes found no table, checked nothing, and said nothing of it.
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", (tmp_path / "files").as_uri())
    sb = sandbox_factory(size="tiny", seed=6)
    where = Target("filesystem", None, "bigcommerce", str(tmp_path / "pipelines"))
    summary = run_sync(sb.config, where, "customers,pages,customer_groups", policy=Policy("mark", "always"))
    assert summary.ok, summary.as_json()
    warned = [line for line in capsys.readouterr().err.splitlines() if "no row was marked deleted" in line]
    assert sorted(line.split(":")[1].strip() for line in warned) == ["customers", "pages"]  # not the groups


def test_a_customer_the_listing_shifted_past_is_not_marked_while_the_deleted_one_is(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The ids are listed by page number, checked by their total: a customer deleted from page 5 and another
    # created as the listing asks for page 6 keep the total, and page 6 on shift by one past a customer that
    # stayed. It was marked deleted, for good (a listed stream's rows are not rewritten until it changes).
    sb = sandbox_factory(size="tiny", seed=12, page_caps={"customers": 5})
    where = duckdb_target(tmp_path)
    assert run_sync(sb.config, where, "customers", policy=Policy("mark", "never")).ok
    gone = set(sb.mutate("customers", delete=1)["customers"]["deleted"])
    real = Client.get
    during: dict[str, Any] = {}

    async def get(self: Client, api: str, path: str, params: Any = None, **options: Any) -> Any:
        listing = path == "/customers" and "date_modified:min" not in (params or {})
        if listing and (params or {}).get("page") == "6" and not during:
            during["deleted"] = sb.mutate("customers", delete=1)["customers"]["deleted"]
            sb.mutate("customers", create=1)
        return await real(self, api, path, params, **options)

    monkeypatch.setattr(Client, "get", get)
    settle()
    start = int(datetime.now(timezone.utc).timestamp())
    outcome, _ = reconcile_always(sb, where, (BY_NAME["customers"],), start, lookahead=1)
    assert during["deleted"] == [23], "a customer of page 5, read before it went"
    assert outcome.dropped == {"customers": len(gone)}, outcome
    assert marked("customers", duckdb_rows(where, "customers")) == gone
    assert not gone & {record["id"] for record in sb.export("customers")}


@pytest.mark.parametrize("name", ["customers", "products"])
def test_on_a_store_busy_during_every_listing_the_deleted_record_is_still_marked(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # A record created while each page of the id listing is asked moves its total on every pass: the listing
    # started over 50 times and failed, every sync, so a busy store's deletes were never found.
    sb = sandbox_factory(size="tiny", seed=12, page_caps={name: 5})
    where = duckdb_target(tmp_path)
    assert run_sync(sb.config, where, name, policy=Policy("mark", "never")).ok
    gone = set(sb.mutate(name, delete=2)[name]["deleted"])
    spec = BY_NAME[name]
    real = Client.get
    created: list[int] = []

    async def get(self: Client, api: str, path: str, params: Any = None, **options: Any) -> Any:
        asked = params or {}
        if path == spec.path and "page" in asked and not {"date_modified:min", "id:in"} & set(asked):
            created.extend(sb.mutate(name, create=1)[name]["created"])
        return await real(self, api, path, params, **options)

    monkeypatch.setattr(Client, "get", get)
    settle()
    start = int(datetime.now(timezone.utc).timestamp())
    outcome, _ = reconcile_always(sb, where, (spec,), start, lookahead=1)
    assert created, "the listing was asked while records were created"
    assert outcome.errors == {}
    assert outcome.dropped == {name: len(gone)}, outcome
    assert marked(name, duckdb_rows(where, name)) == gone


@pytest.mark.parametrize("ignored", [False, True], ids=["honoured", "ignored"])
def test_an_id_the_listing_left_out_is_asked_for_and_a_server_ignoring_id_in_fails_the_check(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, ignored: bool
) -> None:
    # A live customer a listing left out (shifted past) is asked for by id:in. A server that ignores the filter
    # answers with its first page of other customers: taken as the answer, the one asked for was gone.
    sb = sandbox_factory(size="tiny", seed=12, page_caps={"customers": 5})
    last = max(record["id"] for record in sb.export("customers"))
    if ignored:
        real = Client.get

        async def get(self: Client, api: str, path: str, params: Any = None, **options: Any) -> Any:
            kept = {k: v for k, v in (params or {}).items() if k != "id:in"}
            return await real(self, api, path, kept, **options)

        monkeypatch.setattr(Client, "get", get)

    async def work(client: Client) -> set[Any]:
        return await still_there(client, BY_NAME["customers"], 1, {last})

    config = parse_config(dict(sb.config))
    if not ignored:
        assert asyncio.run(with_client(config, lambda level, message: None, work)) == {last}
        return
    with pytest.raises(ConnectorError) as raised:
        asyncio.run(with_client(config, lambda level, message: None, work))
    assert raised.value.message == (
        "GET /v3/customers answered id:in with records it was not asked for, so it ignores that filter."
    )


def test_a_deleted_child_of_a_live_parent_read_whole_is_marked_not_removed(
    sandbox_factory: SandboxFactory, target: tuple[Target, Rows]
) -> None:
    # Listings are read whole, and merged under mark so that the rows the sync did not write can be marked.
    # They were merged on their channel, which deletes a channel's rows before inserting those read: a listing
    # that left a live channel was removed, uncounted, instead of marked.
    sb = sandbox_factory(size="tiny", seed=5)
    where, rows_of = target
    policy = Policy("mark", "always")
    assert run_sync(sb.config, where, "channels,channel_listings", policy=policy).ok
    gone = set(sb.mutate("channel_listings", delete=2)["channel_listings"]["deleted"])
    settle()
    summary = run_sync(sb.config, where, "channels,channel_listings", policy=policy)
    assert summary.ok, summary.as_json()
    rows = rows_of(where, "channel_listings")
    assert marked("channel_listings", rows) == gone
    assert_table_equals_export(live(rows), sb.export("channel_listings"), "channel_listings")
    assert summary.streams["channel_listings"].deleted == 2
