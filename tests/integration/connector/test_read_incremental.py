"""Incremental reads: exactly what changed, ties, a store that keeps changing, the archived connector's state.

Each test runs against the default sandbox and the strict one (tests/conftest.py ``world``).
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

import orjson
import pytest

from bigcommerce_sandbox.app import RunningSandbox
from source_bigcommerce import dates
from source_bigcommerce.streams import BY_NAME, STREAMS

from support import (
    ALL_STREAMS,
    INCREMENTAL,
    Output,
    assert_exactly_the_changes,
    by_id,
    expected_record,
    mutate_every_stream,
    read,
)

SandboxFactory = Any


def test_an_incremental_read_returns_exactly_the_changed_records_and_the_children_of_changed_parents(
    world_sandbox: RunningSandbox,
) -> None:
    first = read(world_sandbox.config)
    assert first.exit_code == 0, first.errors
    results = mutate_every_stream(world_sandbox)
    second = read(world_sandbox.config, state=first.final_state())
    assert second.exit_code == 0, second.errors

    assert_exactly_the_changes(world_sandbox, second, results)


def test_the_children_of_an_incremental_read_cost_requests_for_changed_orders_only(
    world_sandbox: RunningSandbox,
) -> None:
    first = read(world_sandbox.config, ["orders", "transactions", "order_products"])
    time.sleep(1.1)
    changed = world_sandbox.mutate("orders", update=4)["orders"]["updated"]
    world_sandbox.reset_stats()
    second = read(
        world_sandbox.config, ["orders", "transactions", "order_products"], state=first.final_state()
    )
    requests = world_sandbox.stats()["requests"]
    assert set(second.ids("orders")) == set(changed)
    assert requests["/stores/{store_hash}/v3/orders/{id}/transactions"]["total"] == len(changed)


def test_records_sharing_one_second_beyond_a_page_are_all_delivered_once(
    world_factory: SandboxFactory,
) -> None:
    sb = world_factory(size="tiny", seed=5, customers=420, orders=380, products=400, tie_cluster=300)
    export = {stream: sb.export(stream) for stream in ("customers", "orders", "products")}
    for stream, records in export.items():
        seconds: dict[str, int] = {}
        for record in records:
            seconds[record["date_modified"]] = seconds.get(record["date_modified"], 0) + 1
        assert max(seconds.values()) > 250, f"{stream} needs a second shared by more than a page"
    output = read(sb.config, ["customers", "orders", "products"])
    for stream, records in export.items():
        got = output.ids(stream)
        assert len(got) == len(set(got)), stream
        assert set(got) == {r["id"] for r in records}, stream

    # A resumed read whose cursor is that very second reads it whole again, once.
    tie_second = max(
        export["customers"],
        key=lambda r: sum(x["date_modified"] == r["date_modified"] for x in export["customers"]),
    )
    cursor = dates.to_epoch(tie_second["date_modified"])
    state = {"customers": {"date_modified": dates.from_epoch(cursor)}}
    again = read(sb.config, ["customers"], state=state)
    expected = {r["id"] for r in export["customers"] if dates.to_epoch(r["date_modified"]) >= cursor}
    assert len(again.ids("customers")) == len(expected)
    assert set(again.ids("customers")) == expected


def test_records_of_each_stream_arrive_in_cursor_order(world_factory: SandboxFactory, world: str) -> None:
    sb = world_factory(size="small", seed=2)
    windowed = [spec.name for spec in STREAMS if spec.window is not None]
    output = read(sb.config, windowed)
    for stream in windowed:
        records = output.records[stream]
        assert len(records) == len(sb.export(stream)), stream
        if stream == "orders" and world == "strict":
            # Archived orders the list hides are read after the walk, by id (engine.Engine._archived): they
            # come last, each of them, and the walk's orders before them in cursor order.
            hidden = sorted(r["id"] for r in sb.export("orders") if r["is_deleted"])
            assert hidden, "the store should hold archived orders"
            tail = records[len(records) - len(hidden) :]
            assert sorted(r["id"] for r in tail) == hidden
            records = records[: len(records) - len(hidden)]
        spec = BY_NAME[stream]
        cursor = spec.cursor
        assert cursor is not None
        if spec.per is not None:
            # Read list by list (price list records, the path's {price_list_id}): in cursor order within each.
            [field] = re.findall(r"{(\w+)}", spec.path)
            lists: dict[Any, list[str]] = {}
            for record in records:
                lists.setdefault(record[field], []).append(record[cursor])
            assert len(lists) > 1, stream
            assert all(stamps == sorted(stamps) for stamps in lists.values()), stream
            continue
        stamps = [record[cursor] for record in records]
        assert stamps == sorted(stamps), stream


@pytest.mark.parametrize("run", range(3))
def test_a_store_changing_throughout_the_read_loses_nothing_modified_before_the_read_started(
    world_factory: SandboxFactory, run: int
) -> None:
    sb = world_factory(size="small", seed=10 + run, activity=40, latency_ms=5)
    time.sleep(0.5)
    started = math.floor(time.time())
    output = read(sb.config, ["customers", "orders", "products", "order_products", "transactions"])
    assert output.exit_code == 0, output.errors
    for stream in ("customers", "orders", "products"):
        delivered = by_id(output.records[stream])
        for record in sb.export(stream):
            # Timestamps have whole seconds: a record stamped with the start's own second may have been
            # changed after the read began, so only earlier seconds are surely "before the read started".
            if dates.to_epoch(record["date_modified"]) < started:
                assert record["id"] in delivered, f"{stream} {record['id']} was missed"
                assert delivered[record["id"]] == expected_record(stream, record)
    for states in output.states.values():
        cursor = states[-1]["stream"]["stream_state"].get("date_modified")
        if cursor is not None:
            assert dates.to_epoch(cursor) <= math.floor(time.time())
            assert dates.to_epoch(cursor) <= started + 1


def test_the_saved_cursor_never_passes_the_read_start(world_sandbox: RunningSandbox) -> None:
    before = math.floor(time.time())
    output = read(world_sandbox.config)
    for stream in INCREMENTAL:
        cursor = output.states[stream][-1]["stream"]["stream_state"][
            BY_NAME[stream].cursor or "date_modified"
        ]
        assert dates.to_epoch(cursor) <= before + 1  # the read starts within a second of `before`


ARCHIVED_SAMPLE_STATE = [
    {"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": value}}
    for name, value in {
        "customers": {"date_modified": "2021-08-11T15:18:55Z"},
        "orders": {"date_modified": "2021-08-16T21:09:10+00:00"},
        "transactions": {"id": 0},
        "pages": {"id": 4},
        "products": {"date_modified": "2022-01-10T00:17:08+00:00"},
        "channels": {"date_modified": "2022-01-10T00:17:08+00:00"},
        "store": {"store_id": 0},
        "order_products": {"id": 0},
        "brands": {"id": 0},
        "categories": {"id": 0},
    }.items()
]

ARCHIVED_ABNORMAL_STATE = [
    {"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": value}}
    for name, value in {
        "customers": {"date_modified": "2080-07-30T22:16:46"},
        "orders": {"date_modified": "2080-07-30T22:16:46+00:00"},
        "transactions": {"id": 5783048848838997},
        "pages": {"id": 9000002039398998},
        "products": {"date_modified": "2080-01-10T00:17:08+00:00"},
        "channels": {"date_modified": "2080-01-10T00:17:08+00:00"},
        "store": {"store_id": 99199991999999200},
        "order_products": {"id": 9000002039398998},
        "brands": {"id": 9000002039398998},
        "categories": {"id": 9000002039398998},
    }.items()
]

ARCHIVED_OWN_OUTPUT_STATE = {
    # What 0.2.22 itself emitted (reference/airbyte-source-bigcommerce.md §4.1), as a legacy dict.
    "customers": {"date_modified": "2023-01-11T19:00:00Z"},
    "orders": {"date_modified": "2023-01-03T05:00:00+00:00"},
    "transactions": {
        "states": [{"partition": {"order_id": 100, "parent_slice": {}}, "cursor": {"id": 1000}}]
    },
    "pages": {},
    "products": {"date_modified": "2023-01-05T00:00:00+00:00"},
    "channels": {"date_modified": "2023-01-03T10:00:00Z"},
    "store": {"__ab_no_cursor_state_message": True},
    "order_products": {"states": []},
    "brands": {},
    "categories": {},
}


def archived_config(sandbox: RunningSandbox) -> dict[str, str]:
    """sample_config.json: the three keys of the archived connector, plus where the sandbox listens."""
    return {
        "start_date": "2020-01-01",
        "store_hash": sandbox.config["store_hash"],
        "access_token": sandbox.config["access_token"],
        "api_url": sandbox.config["api_url"],
    }


@pytest.mark.parametrize(
    "state", [ARCHIVED_SAMPLE_STATE, ARCHIVED_OWN_OUTPUT_STATE], ids=["sample_state", "own_output"]
)
def test_the_archived_connectors_config_and_state_files_are_accepted(
    world_sandbox: RunningSandbox, state: Any
) -> None:
    output = read(archived_config(world_sandbox), state=orjson.loads(orjson.dumps(state)))
    assert output.exit_code == 0, output.errors
    assert set(output.statuses) == set(ALL_STREAMS)
    assert all(statuses[-1] == "COMPLETE" for statuses in output.statuses.values())
    for stream in INCREMENTAL:
        assert output.states[stream][-1]["stream"]["stream_state"][BY_NAME[stream].cursor or "date_modified"]
    assert BY_NAME["store"].single
    assert isinstance(output, Output)


def test_a_cursor_in_the_future_fails_its_stream_with_what_to_do_and_leaves_its_state_alone(
    world_sandbox: RunningSandbox,
) -> None:
    # The archived connector's abnormal_state.json: cursors in 2080. Reading from them would deliver nothing
    # until 2080, and reading from start_date instead would silently redo the whole stream.
    output = read(archived_config(world_sandbox), state=orjson.loads(orjson.dumps(ARCHIVED_ABNORMAL_STATE)))
    future = ("customers", "orders", "products", "channels")
    assert output.exit_code == 1
    errors = {e["stream_descriptor"]["name"]: e for e in output.errors if "stream_descriptor" in e}
    assert sorted(errors) == sorted(future)
    for stream in future:
        message = errors[stream]["message"]
        assert message.startswith(f"The state of stream '{stream}' has its cursor at 20")
        assert "after this sync's start" in message
        assert "sync --full-refresh" in message
        assert errors[stream]["failure_type"] == "config_error"
        assert output.statuses[stream][-1] == "INCOMPLETE"
        assert stream not in output.states, "its saved cursor must stay as it was"
        assert not output.records[stream]
    for stream in set(ALL_STREAMS) - set(future):
        assert output.statuses[stream][-1] == "COMPLETE", stream


def test_a_channel_changed_in_the_reads_start_second_brings_its_site_and_listings(
    sandbox_factory: SandboxFactory,
) -> None:
    # Channels cannot be sorted by date: the walk stops before the read's start second, and the look at the
    # parents changed meanwhile began one second after it. A channel changed in that second fell in neither:
    # its site and listings, read whole every sync, were missing (and marked deleted by sync --deletes).
    sb = sandbox_factory(size="tiny", seed=3)
    streams = ["channels", "sites", "channel_listings"]
    for _ in range(5):
        time.sleep(1 - time.time() % 1)  # the change and the read's start in one second
        [changed] = sb.mutate("channels", update=1)["channels"]["updated"]
        output = read(sb.config, streams)
        assert output.exit_code == 0, output.errors
        start = output.states["channels"][-1]["stream"]["stream_state"]["date_modified"]
        modified = {r["id"]: r["date_modified"] for r in sb.export("channels")}[changed]
        if start == dates.from_epoch(dates.to_epoch(modified)):
            break
    else:
        pytest.skip("the read never started in the second of the change (a loaded machine)")
    for stream in ("sites", "channel_listings"):
        got = {r["channel_id"] for r in output.records[stream]}
        expected = {r["channel_id"] for r in sb.export(stream)}
        assert got == expected, stream
        assert changed in got or changed not in expected, stream
