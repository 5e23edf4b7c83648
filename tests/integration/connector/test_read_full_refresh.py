"""A full read of every stream against the sandbox equals the sandbox's ground truth, message for message.

Each test runs against the default sandbox and the strict one (capped pages numbered by the size served,
shuffled ties, a lagging order count, heavy pages failing, archived orders hidden; tests/conftest.py).
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from airbyte_protocol.models import AirbyteMessage

from bigcommerce_sandbox.app import RunningSandbox
from conftest import WORLD_STORES, WORLDS
from source_bigcommerce.streams import schema

from support import ALL_STREAMS, Output, by_key, expected_record, read


@pytest.fixture(scope="module", params=WORLDS)
def full_read(request: pytest.FixtureRequest) -> tuple[Output, dict[str, list[dict[str, Any]]]]:
    from bigcommerce_sandbox.app import Settings, running_sandbox

    with running_sandbox(Settings(**{**WORLD_STORES[request.param], "seed": 7})) as sb:
        output = read(sb.config, mode="full_refresh")
        return output, {stream: sb.export(stream) for stream in ALL_STREAMS}


def assert_read_equals_export(output: Output, export: list[dict[str, Any]], stream: str) -> None:
    assert output.exit_code == 0, output.errors
    assert export, f"the tiny store should hold some {stream}"
    got = by_key(stream, output.records[stream])
    assert len(got) == len(output.records[stream]), "no record may be delivered twice"
    expected = by_key(stream, export)
    assert sorted(got) == sorted(expected)
    for key, record in expected.items():
        assert got[key] == expected_record(stream, record), f"{stream} {key}"


@pytest.mark.parametrize("stream", ALL_STREAMS)
def test_a_full_read_equals_the_sandbox_export(
    full_read: tuple[Output, dict[str, list[dict[str, Any]]]], stream: str
) -> None:
    output, export = full_read
    assert_read_equals_export(output, export[stream], stream)


def test_every_message_is_a_valid_airbyte_message_and_every_record_fits_its_schema(
    full_read: tuple[Output, dict[str, list[dict[str, Any]]]],
) -> None:
    output, _ = full_read
    validators = {stream: jsonschema.Draft7Validator(schema(stream)) for stream in ALL_STREAMS}
    for message in output.messages:
        AirbyteMessage.model_validate(message)
        if message["type"] == "RECORD":
            record = message["record"]
            validators[record["stream"]].validate(record["data"])


def test_each_stream_reports_started_running_complete_and_a_final_state_with_its_count(
    full_read: tuple[Output, dict[str, list[dict[str, Any]]]],
) -> None:
    output, _ = full_read
    for stream in ALL_STREAMS:
        assert output.statuses[stream][0] == "STARTED"
        assert output.statuses[stream][-1] == "COMPLETE"
        assert "RUNNING" in output.statuses[stream]
        # sourceStats counts the records since the stream's previous STATE, as the protocol defines it (a platform
        # compares it with the records it received in between): together they count every record.
        counts = [state["sourceStats"]["recordCount"] for state in output.states[stream]]
        assert sum(counts) == len(output.records[stream]), counts
        assert all(count >= 0 for count in counts), counts


def test_order_children_carry_their_order_id(
    full_read: tuple[Output, dict[str, list[dict[str, Any]]]],
) -> None:
    output, _ = full_read
    orders = {order["id"] for order in output.records["orders"]}
    for stream in ("order_products", "transactions"):
        assert output.records[stream]
        assert all(int(record["order_id"]) in orders for record in output.records[stream])


def test_an_order_with_more_than_fifty_line_items_in_one_consignment_yields_all_its_products(
    world_sandbox: RunningSandbox,
) -> None:
    products = world_sandbox.export("order_products")
    per_order: dict[int, int] = {}
    for product in products:
        per_order[product["order_id"]] = per_order.get(product["order_id"], 0) + 1
    big = [order_id for order_id, count in per_order.items() if count > 50]
    assert big, "the tiny store must hold an order with more than 50 line items"
    output = read(world_sandbox.config, ["orders", "order_products"])
    got: dict[int, int] = {}
    for product in output.records["order_products"]:
        got[product["order_id"]] = got.get(product["order_id"], 0) + 1
    for order_id in big:
        assert got[order_id] == per_order[order_id]
    # One per-order request for each truncated order, and nothing per order otherwise.
    fallback = world_sandbox.stats()["requests"].get(
        "/stores/{store_hash}/v2/orders/{id}/products", {"total": 0}
    )
    assert 0 < fallback["total"] <= len(big) * 2
