"""``bigcommerce_source`` in a dlt pipeline of the user's: the README's five lines, into DuckDB."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bigcommerce_sandbox.app import RunningSandbox
from hostile import Misbehaviour, Store, hostile_server
from source_bigcommerce.destination import Target
from source_bigcommerce.pipeline import pipeline_name
from sync_support import (
    DUCKDB_TYPES,
    assert_declared_types,
    assert_table_equals_export,
    duckdb_rows,
    run_sync,
)

from support import ALL_STREAMS

SandboxFactory = Any


@pytest.fixture(autouse=True)
def dlt_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A user's dlt: its own data directory, no telemetry, quiet."""
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "ERROR")


def readme_pipeline(
    config: dict[str, Any], db: Path, name: str = "bigcommerce", **options: Any
) -> dict[str, int]:
    """The README's example, with the names a test needs; the rows it loaded per table."""
    import dlt

    from source_bigcommerce import bigcommerce_source

    pipeline = dlt.pipeline(name, destination=dlt.destinations.duckdb(str(db)), dataset_name="main")
    pipeline.run(bigcommerce_source(config, **options))
    trace = pipeline.last_trace
    assert trace is not None
    assert trace.last_normalize_info is not None
    counts: dict[str, int] = trace.last_normalize_info.row_counts
    return counts


def test_the_readmes_pipeline_loads_every_stream_as_the_export_with_the_declared_types(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    db = tmp_path / "store.duckdb"
    readme_pipeline(sandbox.config, db)
    target = Target("duckdb", str(db), "main")
    for stream in ALL_STREAMS:
        assert_table_equals_export(duckdb_rows(target, stream), sandbox.export(stream), stream)
        with duckdb.connect(str(db), read_only=True) as connection:
            rows = connection.execute(f"DESCRIBE main.{stream}").fetchall()
        assert_declared_types({row[0]: row[1] for row in rows}, stream, DUCKDB_TYPES)


def test_a_second_run_reads_only_the_changes_and_a_sync_continues_from_the_same_state(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    db = tmp_path / "store.duckdb"
    name = pipeline_name(sandbox.config["store_hash"])  # the name sync files the state under
    readme_pipeline(sandbox.config, db, name, streams=["customers", "orders", "order_products"])
    time.sleep(1.1)  # the changes land in a later second than the first run's start
    changed = sandbox.mutate("customers", update=3)["customers"]["updated"]
    time.sleep(1.1)  # and the next run starts a second later: a cursor's own second is read again, by design
    loaded = readme_pipeline(sandbox.config, db, name, streams=["customers"])
    assert loaded["customers"] == len(changed) == 3  # the changes, not the store
    target = Target("duckdb", str(db), "main", str(tmp_path / "pipelines"))
    assert_table_equals_export(duckdb_rows(target, "customers"), sandbox.export("customers"), "customers")
    # sync reads the state the pipeline committed: nothing has changed since, so nothing is read again.
    summary = run_sync(sandbox.config, target, "customers,orders,order_products")
    assert summary.ok, summary.as_json()
    assert {name: result.records for name, result in summary.streams.items()} == {
        "customers": 0,
        "orders": 0,
        "order_products": 0,
    }


@pytest.mark.parametrize(("order", "left"), [(5, [51]), (4, [])], ids=["one-left", "none-left"])
def test_an_order_read_again_in_the_start_second_leaves_only_its_latest_transactions(
    tmp_path: Path, order: int, left: list[int]
) -> None:
    # As sync's test_sync.py::test_an_order_read_again_in_the_start_second_leaves_only_its_latest_transactions:
    # the resource's table held both reads of the order, and dlt's merge on order_id wrote the deleted one back.
    db = tmp_path / "store.duckdb"
    with hostile_server(
        Store.build(orders=12), Misbehaviour(clock_offset_s=-30, edited_order=order)
    ) as server:
        readme_pipeline(server.config, db, streams=["orders", "transactions"])
        assert server.server.edited
        expected = server.export("transactions")
    assert [row["id"] for row in expected if row["order_id"] == str(order)] == left
    rows = duckdb_rows(Target("duckdb", str(db), "main"), "transactions")
    assert_table_equals_export(rows, expected, "transactions")


def test_only_the_selected_resources_are_read(sandbox: RunningSandbox, tmp_path: Path) -> None:
    import dlt

    from source_bigcommerce import bigcommerce_source

    pipeline = dlt.pipeline("picky", destination=dlt.destinations.duckdb(str(tmp_path / "s.duckdb")))
    sandbox.reset_stats()
    pipeline.run(bigcommerce_source(sandbox.config).with_resources("brands", "orders"))
    routes = {route.split("/", 4)[-1] for route in sandbox.stats()["requests"]}
    assert not any("transactions" in route or "customers" in route for route in routes), routes
    assert len(duckdb_rows(Target("duckdb", str(tmp_path / "s.duckdb"), "picky_dataset"), "orders")) == len(
        sandbox.export("orders")
    )


def test_a_stream_that_fails_fails_the_run_and_commits_nothing(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    import dlt
    from dlt.pipeline.exceptions import PipelineStepFailed

    from source_bigcommerce import bigcommerce_source

    sb = sandbox_factory(size="tiny", seed=3, scopes=("store_v2_customers_read_only",))
    pipeline = dlt.pipeline("failing", destination=dlt.destinations.duckdb(str(tmp_path / "f.duckdb")))
    with pytest.raises(PipelineStepFailed) as caught:
        pipeline.run(bigcommerce_source(sb.config, streams=["customers", "pages"]))
    assert "store_v2_content_read_only" in str(caught.value)
    assert not os.path.exists(tmp_path / "f.duckdb") or "customers" not in str(
        duckdb.connect(str(tmp_path / "f.duckdb"), read_only=True).execute("SHOW ALL TABLES").fetchall()
    )


def _boom(item: Any) -> Any:
    raise RuntimeError("a later step of the user's pipeline failed")


@pytest.mark.parametrize("ending", ["completes", "a stream fails", "a later step fails"])
def test_the_source_leaves_no_task_thread_or_spool_behind_however_the_run_ends(
    ending: str,
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """dlt stops its event loop a step or two after cancelling the resources of a run that ends early: what the
    source leaves pending there is found only by the garbage collector, later, as a ResourceWarning for the
    spool and "Task was destroyed but it is pending!" (it once failed an unrelated test's setup)."""
    import dlt
    from dlt.pipeline.exceptions import PipelineStepFailed

    from source_bigcommerce import bigcommerce_source

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # where the source's spool goes
    scopes = ("store_v2_customers_read_only", "store_v2_orders_read_only")
    sb = (
        sandbox_factory(size="tiny", seed=5, scopes=scopes)
        if ending == "a stream fails"
        else sandbox_factory()
    )
    pipeline = dlt.pipeline("ends", destination=dlt.destinations.duckdb(str(tmp_path / "e.duckdb")))
    source = bigcommerce_source(sb.config, streams=["customers", "orders", "order_products", "pages"])
    if ending == "a later step fails":
        source.customers.add_map(_boom)
    elif ending == "completes":
        source = source.with_resources("customers", "orders", "order_products")
    if ending == "completes":
        pipeline.run(source)
    else:
        with pytest.raises(PipelineStepFailed):
            pipeline.run(source)

    assert list(temp.iterdir()) == []
    assert [
        t.name
        for t in threading.enumerate()
        if t.name.startswith(("bigcommerce-read", "bigcommerce-convert"))
    ] == []
    abandoned = [
        task for task in gc.get_objects() if isinstance(task, asyncio.Task) and task.get_loop().is_closed()
    ]
    assert [task for task in abandoned if not task.done()] == []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert [str(warning.message) for warning in caught] == []
    assert [
        r.getMessage() for r in caplog.records if r.name == "asyncio" and r.levelno >= logging.ERROR
    ] == []
