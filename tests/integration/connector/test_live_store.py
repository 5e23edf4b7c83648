"""A chain of incremental reads of a store that never stops changing, with faults on: nothing is missed.

The incremental guarantee, chained: after each run (started at ``T``, resumed from the previous run's
state) the newest version each run delivered of a record, taken over all runs so far, is the record's
current version for every record last modified before ``T`` - and so are the children of every such order.
A missed change would leave an old version (or none) behind; the store's own export says what is current.
"""

from __future__ import annotations

import calendar
import math
import time
from typing import Any

import pytest

from bigcommerce_sandbox.app import RunningSandbox
from source_bigcommerce.http import Pauses

from support import by_id, canonical_time, expected_record, read

SandboxFactory = Any
SECRET = "tok-live-Jm4Tq8Zr2c"
FAST = Pauses(retry=(0.01, 0.02, 0.04), platform=(0.01, 0.02))
STREAMS = ("customers", "orders", "products", "channels", "order_products", "transactions")


def epoch(value: str) -> int:
    return calendar.timegm(time.strptime(canonical_time(value)[:19], "%Y-%m-%dT%H:%M:%S"))


def assert_current_before(
    sb: RunningSandbox, newest: dict[str, dict[Any, dict[str, Any]]], started: int, run: int
) -> None:
    # The store keeps changing while it is exported. Children first: a child changed after its export
    # moves its order's date_modified before the orders are exported, so that order is not "settled".
    export = {stream: sb.export(stream) for stream in reversed(STREAMS)}
    settled_orders = {order["id"] for order in export["orders"] if epoch(order["date_modified"]) < started}
    for stream in STREAMS:
        for record in export[stream]:
            if stream in ("order_products", "transactions"):
                settled = int(record["order_id"]) in settled_orders
            else:
                settled = epoch(record["date_modified"]) < started
            if settled:
                got = newest[stream].get(record["id"])
                assert got is not None, f"run {run}: {stream} {record['id']} was never delivered"
                assert got == expected_record(stream, record), f"run {run}: {stream} {record['id']} is stale"


@pytest.mark.slow
def test_a_chain_of_incremental_reads_of_a_changing_store_with_faults_misses_no_change(
    sandbox_factory: SandboxFactory,
) -> None:
    sb = sandbox_factory(
        size="small", seed=21, activity=60, latency_ms=3, token=SECRET, faults="500 p=0.03; reset p=0.01"
    )
    newest: dict[str, dict[Any, dict[str, Any]]] = {stream: {} for stream in STREAMS}
    state: Any = None
    for run in range(6):
        started = math.floor(time.time())
        output = read({**sb.config, "max_retries": 8}, STREAMS, state=state, pauses=FAST)
        assert output.exit_code == 0, output.errors
        for stream in STREAMS:
            newest[stream].update(by_id(output.records[stream]))
            cursor = output.states[stream][-1]["stream"]["stream_state"]["date_modified"]
            assert epoch(cursor) <= math.floor(time.time()), "a cursor may never pass the read's start"
        assert_current_before(sb, newest, started, run)
        state = output.final_state()
