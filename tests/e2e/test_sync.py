"""``sync`` end to end: the sandbox into DuckDB and Postgres, compared with the sandbox's export."""

from __future__ import annotations

import contextlib
import gc
import logging
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from bigcommerce_sandbox.app import RunningSandbox, Settings, running_sandbox
from conftest import WORLD_STORES, WORLDS
from hostile import Misbehaviour, Store, hostile_server
from source_bigcommerce import cli
from source_bigcommerce.destination import DestinationError, Target
from source_bigcommerce.pipeline import Loader, Part
from source_bigcommerce.report import Summary
from source_bigcommerce.streams import BY_NAME
from sync_support import (
    DUCKDB_TYPES,
    POSTGRES_TYPES,
    POSTGRES_URL,
    assert_declared_types,
    assert_table_equals_export,
    duckdb_rows,
    duckdb_target,
    duckdb_types,
    free_port,
    postgres_available,
    postgres_dataset,
    postgres_rows,
    postgres_types,
    run_sync,
    spooled,
)

from support import (
    ALL_STREAMS,
    INCREMENTAL,
    SEVERAL_CHUNKS,
    STORE_INCREMENTAL,
    child_env,
    console_script,
    run_cli,
    settle,
    write_json,
)

SandboxFactory = Any
Export = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module", params=WORLDS)
def synced(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Target, Summary, Export]:
    """A sync of the tiny store, or of the strict one (tests/conftest.py), into a fresh DuckDB file."""
    target = duckdb_target(tmp_path_factory.mktemp("duckdb"))
    with running_sandbox(Settings(**{**WORLD_STORES[request.param], "seed": 7})) as sb:
        summary = run_sync(sb.config, target)
        return target, summary, {stream: sb.export(stream) for stream in ALL_STREAMS}


@pytest.mark.parametrize("stream", ALL_STREAMS)
def test_a_sync_into_duckdb_equals_the_export_table_by_table(
    synced: tuple[Target, Summary, Export], stream: str
) -> None:
    target, summary, export = synced
    assert summary.ok, summary.as_json()
    assert export[stream], f"the tiny store should hold some {stream}"
    assert_table_equals_export(duckdb_rows(target, stream), export[stream], stream)


def test_duckdb_columns_have_the_types_the_schemas_declare(synced: tuple[Target, Summary, Export]) -> None:
    target, _, _ = synced
    for stream in ALL_STREAMS:
        assert_declared_types(duckdb_types(target, stream), stream, DUCKDB_TYPES)
    # Spot checks of the mapping itself, so a wrong table above cannot hide a wrong expectation.
    orders = duckdb_types(target, "orders")
    assert orders["total_inc_tax"] == "DECIMAL(38,9)"
    assert orders["date_modified"] == "TIMESTAMP WITH TIME ZONE"
    assert orders["billing_address"] == "JSON"
    assert orders["id"] == "BIGINT"
    assert orders["is_deleted"] == "BOOLEAN"


def test_the_summary_counts_rows_per_table_and_the_requests_made(
    synced: tuple[Target, Summary, Export],
) -> None:
    _, summary, export = synced
    for stream in ALL_STREAMS:
        result = summary.streams[stream]
        assert (result.status, result.records, result.rows) == (
            "complete",
            len(export[stream]),
            len(export[stream]),
        )
    assert summary.requests.requests > 0
    assert summary.chunks >= 1
    as_json = orjson.loads(orjson.dumps(summary.as_json()))
    assert as_json["ok"] is True
    assert as_json["streams"]["orders"]["rows"] == len(export["orders"])
    assert {"requests", "rate_limited", "duration_s", "failed"} <= set(as_json)


@pytest.fixture
def postgres_target(tmp_path: Path) -> Iterator[Target]:
    """A target in a fresh schema of the test Postgres, dropped afterwards; skipped where none answers."""
    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    with postgres_dataset() as dataset:
        yield Target("postgres", POSTGRES_URL, dataset, str(tmp_path / "pipelines"))


def test_a_sync_into_postgres_equals_the_export_with_the_declared_types(
    sandbox: RunningSandbox, postgres_target: Target
) -> None:
    summary = run_sync(sandbox.config, postgres_target)
    assert summary.ok, summary.as_json()
    for stream in ALL_STREAMS:
        assert_table_equals_export(postgres_rows(postgres_target, stream), sandbox.export(stream), stream)
        assert_declared_types(postgres_types(postgres_target, stream), stream, POSTGRES_TYPES)


def test_a_replaced_table_whose_load_fails_keeps_its_previous_rows(
    sandbox: RunningSandbox, postgres_target: Target
) -> None:
    import psycopg2

    assert run_sync(sandbox.config, postgres_target, "brands").ok
    before = postgres_rows(postgres_target, "brands")
    assert before
    # From now on the table refuses any row of another load: the next sync's load of brands fails.
    with psycopg2.connect(POSTGRES_URL) as connection, connection.cursor() as cursor:
        cursor.execute(
            f'ALTER TABLE "{postgres_target.dataset}".brands ADD CONSTRAINT first_load_only '
            f"CHECK (_dlt_load_id = '{before[0]['_dlt_load_id']}')"
        )
    again = run_sync(sandbox.config, postgres_target, "brands")
    assert not again.ok
    assert again.error is not None
    assert "first_load_only" in again.error
    assert postgres_rows(postgres_target, "brands") == before


def mutate_everything(sandbox: RunningSandbox) -> dict[str, set[int]]:
    """Changes of every incremental kind (no hard deletes: an incremental read cannot see those)."""
    time.sleep(1.1)  # the changes land in a later second than the first sync's start
    results = [
        sandbox.mutate("customers", update=3, create=2),
        sandbox.mutate("orders", update=3, create=2, delete=1),
        sandbox.mutate("products", update=2, create=1),
        sandbox.mutate("channels", update=1),
        sandbox.mutate("order_products", update=2),
        sandbox.mutate("transactions", update=2, create=1),
        *(sandbox.mutate(stream, update=2, create=1) for stream in STORE_INCREMENTAL),
    ]
    settle()
    changed: dict[str, set[int]] = {}
    for result in results:
        for resource, kinds in result.items():
            for ids in kinds.values():
                changed.setdefault(resource, set()).update(ids)
    return changed


def test_an_incremental_sync_after_changes_leaves_the_merged_tables_equal_to_the_export(
    world_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    target = duckdb_target(tmp_path)
    assert run_sync(world_sandbox.config, target).ok
    changed = mutate_everything(world_sandbox)
    second = run_sync(world_sandbox.config, target)
    assert second.ok, second.as_json()
    # Incremental: the second sync read the changes, not the store.
    assert second.streams["customers"].records == len(changed["customers"])
    assert second.streams["orders"].records == len(changed["orders"])
    for stream in ALL_STREAMS:
        assert_table_equals_export(duckdb_rows(target, stream), world_sandbox.export(stream), stream)


@pytest.mark.parametrize("destination", ["duckdb", "postgres"])
def test_the_children_of_an_order_that_lost_its_last_one_leave_the_merged_table_on_the_next_sync(
    sandbox_factory: SandboxFactory, tmp_path: Path, destination: str
) -> None:
    # An order whose last shipment (or coupon) went answers 204: the chunk holds no row of it to replace the old
    # ones by, so they stayed, live, for good.
    if destination == "postgres" and (reason := postgres_available()):
        pytest.skip(reason)
    sb = sandbox_factory(size="small", seed=3)
    streams = "orders,order_shipments,order_coupons"
    children = ("order_shipments", "order_coupons")
    with contextlib.ExitStack() as stack:
        if destination == "duckdb":
            target, rows_of = duckdb_target(tmp_path), duckdb_rows
        else:
            dataset = stack.enter_context(postgres_dataset())
            target, rows_of = Target("postgres", POSTGRES_URL, dataset, str(tmp_path / "p")), postgres_rows
        assert run_sync(sb.config, target, streams).ok
        time.sleep(1.1)  # the change lands in a later second than the first sync's start
        emptied = set()
        for child in children:
            before = Counter(row["order_id"] for row in sb.export(child))
            change = sb.mutate(child, delete=len(sb.export(child)) // 4)
            after = Counter(row["order_id"] for row in sb.export(child))
            emptied |= {order for order in before if not after[order]}
            assert change[child]["deleted"]
        assert emptied, "some order should have lost its last shipment or coupon"
        second = run_sync(sb.config, target, streams)
        assert second.ok, second.as_json()
        for child in children:
            assert_table_equals_export(rows_of(target, child), sb.export(child), child)


@pytest.mark.parametrize(("order", "left"), [(5, [51]), (4, [])], ids=["one-left", "none-left"])
def test_an_order_read_again_in_the_start_second_leaves_only_its_latest_transactions(
    tmp_path: Path, order: int, left: list[int]
) -> None:
    # An order loses its last transaction in the sync's start second, after the walk read it: the walk reads it
    # again in that second, and the chunk held both reads. The merge on order_id replaces an order's rows by
    # the chunk's, so the deleted transaction was written back (appended, on a first sync), and with none
    # left, the order's rows from the first read stayed.
    # The server's clock is behind, so the read starts in the second its first Date header gives.
    misbehaviour = Misbehaviour(clock_offset_s=-30, edited_order=order)
    with hostile_server(Store.build(orders=12), misbehaviour) as server:
        target = duckdb_target(tmp_path)
        summary = run_sync(server.config, target, "orders,transactions")
        assert summary.ok, summary.as_json()
        assert server.server.edited
        expected = server.export("transactions")
    assert [row["id"] for row in expected if row["order_id"] == str(order)] == left
    assert_table_equals_export(duckdb_rows(target, "transactions"), expected, "transactions")


def test_a_first_sync_deletes_no_childless_orders_rows_it_never_wrote(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tables that held nothing when the sync began can hold rows of the parents an earlier chunk delivered
    # only; each order here is read once, so no chunk's orders without transactions cost a DELETE scanning
    # the table. transactions' order_id is text and the orders' ids numbers: compared as they were, none
    # matched, which counted as "all of them" and deleted by every chunk.
    from source_bigcommerce.deletes import Policy, Tables

    removed: list[tuple[str, int]] = []
    real = Tables.drop_children

    def drop_children(self: Tables, child: Any, parents: list[Any]) -> None:
        removed.append((child.name, len(parents)))
        real(self, child, parents)

    monkeypatch.setattr(Tables, "drop_children", drop_children)
    sb = sandbox_factory(size="tiny", seed=3, orders=600)
    target = duckdb_target(tmp_path)
    # Deletes ignored: the archived orders' children, which a reconciliation removes, are not the point.
    ignore = Policy("ignore", "never")
    summary = run_sync(sb.config, target, "orders,transactions,order_products", chunk_rows=300, policy=ignore)
    assert summary.ok, summary.as_json()
    assert removed == []
    assert_table_equals_export(duckdb_rows(target, "transactions"), sb.export("transactions"), "transactions")


def test_a_line_item_removed_from_an_order_leaves_the_merged_table_on_the_next_sync(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    # Seed 4's first removals come from orders that keep other line items (BigCommerce orders keep one).
    sb = sandbox_factory(size="tiny", seed=4)
    target = duckdb_target(tmp_path)
    assert run_sync(sb.config, target).ok
    time.sleep(1.1)  # the change lands in a later second than the first sync's start
    change = sb.mutate("order_products", delete=2)
    removed, orders = set(change["order_products"]["deleted"]), set(change["orders"]["updated"])
    export = sb.export("order_products")
    assert len(removed) == 2
    assert orders <= {row["order_id"] for row in export}, "each changed order should keep a line item"
    second = run_sync(sb.config, target)
    assert second.ok, second.as_json()
    rows = duckdb_rows(target, "order_products")
    assert removed.isdisjoint(row["id"] for row in rows)
    assert_table_equals_export(rows, export, "order_products")


def test_a_load_failing_mid_sync_is_its_sentence_with_no_traceback(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Enough rows for many chunks, so the read is still going when the second load fails.
    sb = sandbox_factory(**SEVERAL_CHUNKS)
    failure = "Loading into duckdb failed: IOException: No space left on device."
    loads = 0
    real_load = Loader.load

    def second_load_fails(self: Loader) -> None:
        nonlocal loads
        loads += 1
        if loads == 2:
            raise DestinationError(failure)
        real_load(self)

    monkeypatch.setattr(Loader, "load", second_load_fails)
    with caplog.at_level(logging.ERROR):
        summary = run_sync(sb.config, duckdb_target(tmp_path), chunk_rows=100)
        # What was left unclosed or unretrieved reports itself when collected: an abandoned walk's generators,
        # a load task's exception.
        gc.collect()
    assert loads >= 2
    assert summary.error == failure
    assert not summary.ok
    assert [record.getMessage() for record in caplog.records if record.name == "asyncio"] == []


def test_with_append_the_changed_records_appear_as_new_rows(sandbox: RunningSandbox, tmp_path: Path) -> None:
    target = duckdb_target(tmp_path)
    assert run_sync(sandbox.config, target, write_disposition="append").ok
    before = {stream: len(duckdb_rows(target, stream)) for stream in INCREMENTAL}
    changed = mutate_everything(sandbox)
    assert run_sync(sandbox.config, target, write_disposition="append").ok
    customers = duckdb_rows(target, "customers")
    versions = Counter(row["id"] for row in customers)
    assert len(customers) == before["customers"] + len(changed["customers"])
    assert {key for key, count in versions.items() if count == 2} == changed["customers"] - {
        key for key in changed["customers"] if versions[key] == 1
    }
    # The newest row of each id is the store's current version.
    newest: dict[int, dict[str, Any]] = {}
    for row in sorted(customers, key=lambda row: row["_dlt_load_id"]):
        newest[row["id"]] = row
    assert_table_equals_export(list(newest.values()), sandbox.export("customers"), "customers")
    # Full-refresh streams are replaced, never appended.
    assert len(duckdb_rows(target, "brands")) == len(sandbox.export("brands"))


def test_a_deleted_duckdb_file_means_a_full_sync_not_a_stale_cursor(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    target = duckdb_target(tmp_path)
    assert run_sync(sandbox.config, target, "customers").ok
    target.duckdb_path().unlink()
    again = run_sync(sandbox.config, target, "customers")
    assert again.streams["customers"].records == len(sandbox.export("customers"))
    assert_table_equals_export(duckdb_rows(target, "customers"), sandbox.export("customers"), "customers")


def test_a_stream_missing_its_scope_is_named_the_others_load_and_the_token_appears_nowhere(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    token = "tok-e2e-SECRET-4c1d"
    scopes = "store_v2_customers_read_only,store_v2_products_read_only,store_v2_information_read_only"
    sb = sandbox_factory(size="tiny", seed=3, token=token, scopes=tuple(scopes.split(",")))
    config = write_json(tmp_path / "config.json", sb.config)
    target = duckdb_target(tmp_path)
    done = run_cli(
        "sync",
        "--config",
        str(config),
        "--credentials",
        str(target.credentials),
        "--pipelines-dir",
        str(target.pipelines_dir),
        "--streams",
        "customers,pages,brands",
        "--json",
    )
    assert done.returncode == 1
    summary = orjson.loads(done.stdout)
    assert summary["failed"] == ["pages"]
    assert "store_v2_content_read_only" in summary["streams"]["pages"]["error"]
    assert summary["streams"]["customers"]["rows"] == len(sb.export("customers"))
    assert summary["streams"]["brands"]["rows"] == len(sb.export("brands"))
    assert b"pages" in done.stderr
    assert b"Traceback" not in done.stderr
    written = [done.stdout, done.stderr, target.duckdb_path().read_bytes()]
    written += [path.read_bytes() for path in Path(str(target.pipelines_dir)).rglob("*") if path.is_file()]
    assert not any(token.encode() in blob for blob in written)


def test_dlts_settings_hold_in_its_default_working_directory(sandbox: RunningSandbox, tmp_path: Path) -> None:
    # No --pipelines-dir: finding dlt's default directory is dlt's first use, so its settings (log level,
    # telemetry, replace strategy) must be in place before it.
    done = subprocess.run(
        [
            str(console_script()),
            "sync",
            "--config",
            str(write_json(tmp_path / "config.json", sandbox.config)),
            "--credentials",
            str(tmp_path / "store.duckdb"),
            "--streams",
            "brands,customers",
        ],
        capture_output=True,
        timeout=300,
        env={**child_env(), "DLT_DATA_DIR": str(tmp_path / "dlt")},
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert (tmp_path / "dlt" / "pipelines" / "source-bigcommerce").is_dir()
    assert "[WARNING]" not in done.stderr.decode()


def test_an_unknown_stream_is_one_sentence_listing_the_valid_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_json(
        tmp_path / "config.json", {"store_hash": "x", "access_token": "t", "start_date": "2024-01-01"}
    )
    code = cli.main(["sync", "--config", str(config), "--streams", "customers,ordres"])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.count("\n") == 0
    assert "'ordres'" in err
    assert ", ".join(ALL_STREAMS) in err


def test_a_postgres_that_refuses_the_connection_is_one_sentence(tmp_path: Path) -> None:
    config = write_json(
        tmp_path / "config.json", {"store_hash": "x", "access_token": "t", "start_date": "2024-01-01"}
    )
    url = f"postgresql://someone:hunter2@127.0.0.1:{free_port()}/nowhere"
    done = run_cli(
        "sync",
        "--config",
        str(config),
        "--destination",
        "postgres",
        "--credentials",
        url,
        "--pipelines-dir",
        str(tmp_path / "pipelines"),
    )
    err = done.stderr.decode().strip()
    assert done.returncode == 1
    assert err.startswith("Cannot connect to postgres postgresql://someone:***@127.0.0.1:"), err
    assert err.count("\n") == 0
    assert "hunter2" not in err
    assert "Traceback" not in err
    assert done.stdout == b""


def test_a_value_that_does_not_fit_its_column_and_a_field_the_schema_lacks_still_land(tmp_path: Path) -> None:
    target = duckdb_target(tmp_path)
    loader = Loader(target, "drift")
    assert loader.open() == {}
    state = {"date_modified": "2024-01-02T00:00:00Z", "state_version": 1}
    new_fields = {"loyalty": {"tier": "gold", "points": [1, 2]}, "nickname": "Al", "rank": 3}
    typed = {"id": 1, "date_modified": "2024-01-01T00:00:00Z", **new_fields}
    loader.extract([Part(BY_NAME["customers"], spooled(typed), state, "merge")])
    loader.load()
    # 1.5 in an integer column: Arrow cannot hold it, so dlt gets the dicts and keeps the value in a variant.
    odd = {"id": 2, "date_modified": "2024-01-01T00:00:00Z", "customer_group_id": 1.5}
    loader.extract([Part(BY_NAME["customers"], spooled(odd), state, "merge")])
    loader.load()
    loader.release()
    types = duckdb_types(target, "customers")
    assert (types["loyalty"], types["nickname"], types["rank"]) == ("JSON", "VARCHAR", "BIGINT")
    rows = {row["id"]: row for row in duckdb_rows(target, "customers")}
    assert orjson.loads(rows[1]["loyalty"]) == new_fields["loyalty"]
    assert rows[2]["customer_group_id__v_double"] == 1.5
    assert loader.counts(["customers"]) == {"customers": 2}
    assert Loader(target, "drift").open() == {"customers": state}


def test_a_money_value_that_is_not_an_amount_fails_its_streams_and_the_others_load(
    sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from source_bigcommerce import columns, sink

    real = columns.preparer

    def receiving_a_bad_amount(stream: str) -> Any:
        prepare = real(stream)
        if stream != "transactions":
            return prepare

        def corrupted(record: dict[str, Any]) -> None:
            record["amount"] = "N/A"  # as if BigCommerce had sent it
            prepare(record)

        return corrupted

    monkeypatch.setattr(sink, "preparer", receiving_a_bad_amount)
    target = duckdb_target(tmp_path)
    summary = run_sync(sandbox.config, target)
    assert summary.error is None
    assert "transactions" in summary.failed
    message = summary.streams["transactions"].error
    assert message is not None
    assert "field 'amount' holds 'N/A', which is not an amount" in message
    for stream in ("customers", "products", "pages", "brands", "categories", "channels", "store"):
        assert_table_equals_export(duckdb_rows(target, stream), sandbox.export(stream), stream)


def test_a_field_the_schema_lacks_keeps_its_first_type_and_a_later_value_that_does_not_fit_is_kept_whole(
    tmp_path: Path,
) -> None:
    target = duckdb_target(tmp_path)
    loader = Loader(target, "drift")
    loader.open()
    state = {"date_modified": "2024-01-02T00:00:00Z", "state_version": 1}
    for row in ({"id": 1, "rank": 3}, {"id": 2, "rank": 5.5}):
        record = {"date_modified": "2024-01-01T00:00:00Z", **row}
        loader.extract([Part(BY_NAME["customers"], spooled(record), state, "merge")])
        loader.load()
    loader.release()
    assert duckdb_types(target, "customers")["rank"] == "BIGINT"
    rows = {row["id"]: row for row in duckdb_rows(target, "customers")}
    assert rows[1]["rank"] == 3
    # 5.5 does not fit the column the first chunk made: it is kept in a variant column, never rounded to 6.
    assert rows[2]["rank"] is None
    assert rows[2]["rank__v_double"] == 5.5


def test_on_a_terminal_each_stream_with_a_total_gets_one_for_its_eta(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    summary = run_sync(
        sandbox.config, duckdb_target(tmp_path), "customers,orders,pages,order_products", live=True
    )
    assert summary.ok
    totals = {name: result.total for name, result in summary.streams.items()}
    assert totals == {
        "customers": len(sandbox.export("customers")),
        "orders": len(sandbox.export("orders")),
        "pages": len(sandbox.export("pages")),
        "order_products": None,  # read with the orders: BigCommerce gives no total for it
    }


def test_a_key_delivered_again_in_a_later_chunk_of_a_first_sync_is_merged_not_appended(
    tmp_path: Path,
) -> None:
    # A first sync appends chunks to tables that held nothing when it started, unless a chunk repeats a key.
    target = duckdb_target(tmp_path)
    loader = Loader(target, "fresh")
    loader.open()
    state = {"date_modified": "2024-01-02T00:00:00Z", "state_version": 1}
    for email in ("first", "second"):
        record = {"id": 1, "date_modified": "2024-01-01T00:00:00Z", "email": email}
        loader.extract([Part(BY_NAME["customers"], spooled(record), state, "merge")])
        loader.load()
    loader.extract([Part(BY_NAME["customers"], spooled({"id": 2, "email": "other"}), state, "merge")])
    loader.load()
    loader.release()
    rows = sorted((row["id"], row["email"]) for row in duckdb_rows(target, "customers"))
    assert rows == [(1, "second"), (2, "other")]
    # A later sync finds the table holding rows: every chunk merges.
    again = Loader(target, "fresh")
    again.open()
    again.extract([Part(BY_NAME["customers"], spooled({"id": 2, "email": "changed"}), state, "merge")])
    again.load()
    again.release()
    rows = sorted((row["id"], row["email"]) for row in duckdb_rows(target, "customers"))
    assert rows == [(1, "second"), (2, "changed")]


def _receiving(
    monkeypatch: pytest.MonkeyPatch, stream: str, change: Callable[[dict[str, Any]], None]
) -> None:
    """Every record of ``stream`` changed by ``change`` as if BigCommerce had sent it so (before the sink
    checks it)."""
    from source_bigcommerce import columns, sink

    real = columns.preparer

    def receiving(name: str) -> Any:
        prepare = real(name)
        if name != stream:
            return prepare

        def changed(record: dict[str, Any]) -> bool:
            change(record)
            return prepare(record)

        return changed

    monkeypatch.setattr(sink, "preparer", receiving)


@pytest.mark.parametrize(
    "text",
    [
        "2023-01-02 10:00:00.123456+05:30",
        "2023-01-02T10:00:00Z",
        "2023-01-02",
        "10:00:00",
        "nul \x00, 'quoted' \"twice\", back\\slash \\N\r\nünï 🛒",
    ],
)
def test_text_that_looks_like_a_timestamp_lands_as_read_when_its_stream_goes_to_dlt_as_dicts(
    sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    # An amount not written plainly sends the chunk's orders to dlt as dicts; a text column whose values
    # all look like timestamps, dates or times must still hold the text, not an instant read back in UTC, and
    # text that needs escaping in SQL comes back as it was.
    ids = sorted(order["id"] for order in sandbox.export("orders"))[:3]

    def change(order: dict[str, Any]) -> None:
        if order.get("id") in ids:
            order["external_source"] = text
            order["subtotal_ex_tax"] = "1.5E+1"

    _receiving(monkeypatch, "orders", change)
    target = duckdb_target(tmp_path)
    summary = run_sync(sandbox.config, target, "orders")
    assert summary.ok, summary.as_json()
    assert duckdb_types(target, "orders")["external_source"] == "VARCHAR"
    rows = {row["id"]: row for row in duckdb_rows(target, "orders")}
    assert {number: rows[number]["external_source"] for number in ids} == dict.fromkeys(ids, text)


def test_a_few_megabytes_of_records_going_to_dlt_as_dicts_load_within_duckdbs_memory_limit(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A field the schema does not declare, in camelCase, on every order sends all of the chunk's orders (about
    # 7 MB of JSON in the small store) to dlt as dicts, which the destination's DuckDB (memory_limit 64 MB)
    # must load in pieces, as it does the CSV files.
    sandbox = sandbox_factory(size="small", seed=7)
    _receiving(monkeypatch, "orders", lambda order: order.update(giftWrapping="x"))
    target = duckdb_target(tmp_path)
    summary = run_sync(sandbox.config, target, "orders")
    assert summary.ok, summary.as_json()
    rows = duckdb_rows(target, "orders")
    export = sandbox.export("orders")
    assert sum(len(orjson.dumps(order)) for order in export) > 5_000_000
    assert_table_equals_export(rows, export, "orders")
    assert {row["gift_wrapping"] for row in rows} == {"x"}
