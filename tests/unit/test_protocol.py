from __future__ import annotations

import io
from typing import Any

import orjson
import pytest
from airbyte_protocol.models import AirbyteMessage

from source_bigcommerce.config import spec_schema
from source_bigcommerce.protocol import (
    REDACTED,
    Unwritable,
    Writer,
    catalog_message,
    connection_status,
    log,
    spec_message,
    state_message,
    stream_status,
    trace_error,
)


def valid(message: dict[str, Any]) -> dict[str, Any]:
    """The message after a JSON round trip, once the Airbyte protocol models have accepted it."""
    wire: dict[str, Any] = orjson.loads(orjson.dumps(message))
    AirbyteMessage.model_validate(wire)
    return wire


class Spy(io.BytesIO):
    """A binary stream that remembers each write, to see what was written when."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []

    def write(self, data: Any) -> int:
        self.writes.append(bytes(data))
        return super().write(data)

    def lines(self) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.getvalue().splitlines()]


def test_spec_carries_the_config_models_schema_and_incremental_support() -> None:
    spec = valid(spec_message())["spec"]
    assert spec["connectionSpecification"] == orjson.loads(orjson.dumps(spec_schema()))
    assert spec["supportsIncremental"] is True
    assert "append_dedup" in spec["supported_destination_sync_modes"]
    assert spec["documentationUrl"].startswith("https://")


def test_catalog_message_wraps_the_catalog() -> None:
    catalog = {
        "streams": [
            {"name": "brands", "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh"]}
        ]
    }
    assert valid(catalog_message(catalog))["catalog"] == catalog


@pytest.mark.parametrize(
    ("succeeded", "message", "status"),
    [(True, None, "SUCCEEDED"), (False, "The access token was refused (401); check it.", "FAILED")],
)
def test_connection_status(succeeded: bool, message: str | None, status: str) -> None:
    body = valid(connection_status(succeeded, message))["connectionStatus"]
    assert body["status"] == status
    assert body.get("message") == message


def test_state_message_is_per_stream_with_a_float_record_count() -> None:
    stream_state = {"date_modified": "2024-05-14T09:34:00Z", "state_version": 1}
    state = valid(state_message("orders", stream_state, 250))["state"]
    assert state["type"] == "STREAM"
    assert state["stream"] == {"stream_descriptor": {"name": "orders"}, "stream_state": stream_state}
    assert state["sourceStats"]["recordCount"] == 250.0
    assert b'"recordCount":250.0' in orjson.dumps(state_message("orders", stream_state, 250))


@pytest.mark.parametrize("status", ["STARTED", "RUNNING", "COMPLETE", "INCOMPLETE"])
def test_stream_status_traces(status: Any) -> None:
    trace = valid(stream_status("customers", status, 1_700_000_000_000))["trace"]
    assert trace["type"] == "STREAM_STATUS"
    assert trace["emitted_at"] == 1_700_000_000_000.0
    assert trace["stream_status"] == {"stream_descriptor": {"name": "customers"}, "status": status}


@pytest.mark.parametrize("failure_type", ["config_error", "system_error", "transient_error"])
def test_trace_error_with_every_detail(failure_type: Any) -> None:
    error = valid(
        trace_error(
            "Stream 'transactions' needs the store_v2_transactions_read_only scope; add it to the API account.",
            failure_type,
            stream="transactions",
            internal_message="403 on GET /v3/orders/1/transactions",
            stack_trace="Traceback ...",
            emitted_at=1_700_000_000_000,
        )
    )["trace"]["error"]
    assert error["failure_type"] == failure_type
    assert error["stream_descriptor"] == {"name": "transactions"}
    assert error["internal_message"].startswith("403")
    assert error["stack_trace"] == "Traceback ..."


def test_trace_error_without_a_stream_has_no_descriptor_and_a_time() -> None:
    trace = valid(trace_error("The config is missing the required key 'store_hash'.", "config_error"))[
        "trace"
    ]
    assert "stream_descriptor" not in trace["error"]
    assert trace["emitted_at"] > 1_600_000_000_000


@pytest.mark.parametrize("level", ["FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"])
def test_log_messages(level: Any) -> None:
    assert valid(log(level, "orders: 3 windows planned"))["log"] == {
        "level": level,
        "message": "orders: 3 windows planned",
    }


def test_writer_records_are_valid_record_messages() -> None:
    out = Spy()
    writer = Writer(out)
    data = {"id": 1, "name": "Ünïcode “quotes”", "price": "10.0000", "nested": {"a": [1, 2.5, None]}}
    writer.record("products", data, 1_700_000_000_123)
    writer.records("brands", [{"id": 2}, {"id": 3}], 1_700_000_000_456)
    writer.flush()
    lines = out.lines()
    for line in lines:
        AirbyteMessage.model_validate(line)
    assert lines[0] == {
        "type": "RECORD",
        "record": {"stream": "products", "data": data, "emitted_at": 1_700_000_000_123},
    }
    assert [(line["record"]["stream"], line["record"]["data"]["id"]) for line in lines[1:]] == [
        ("brands", 2),
        ("brands", 3),
    ]
    assert {line["record"]["emitted_at"] for line in lines[1:]} == {1_700_000_000_456}


def test_records_are_buffered_until_a_chunk_fills() -> None:
    out = Spy()
    writer = Writer(out, flush_bytes=4096)
    writer.record("customers", {"id": 1}, 1)
    assert out.writes == []
    for index in range(200):
        writer.record("customers", {"id": index, "padding": "x" * 40}, 1)
    assert out.writes
    assert all(len(chunk) >= 4096 for chunk in out.writes)
    assert all(chunk.endswith(b"\n") for chunk in out.writes)


def test_a_state_is_written_at_once_and_after_the_records_it_covers() -> None:
    out = Spy()
    writer = Writer(out)
    writer.records("orders", [{"id": 1}, {"id": 2}], 1)
    writer.message(state_message("orders", {"date_modified": "2024-01-01T00:00:00Z"}, 2))
    kinds = [line["type"] for line in out.lines()]
    assert kinds == ["RECORD", "RECORD", "STATE"]


def test_the_access_token_is_blanked_out_of_non_record_messages() -> None:
    out = Spy()
    writer = Writer(out, redact=["tok3n-abc123"])
    writer.message(log("ERROR", "GET failed with header X-Auth-Token: tok3n-abc123"))
    written = out.getvalue()
    assert b"tok3n-abc123" not in written
    assert REDACTED in written
    valid(orjson.loads(written))


def test_a_fragment_of_the_access_token_is_blanked_out_of_non_record_messages_and_stderr() -> None:
    # A sentence that quotes a value cut to 40 characters shows the start of a token the value holds.
    out = Spy()
    writer = Writer(out, redact=["tok3n-abc123-XYZ789"])
    sentence = f"brands: a record has the id {repr('prefix-0123456789-abcdefghij-tok3n-abc123-XYZ789')[:40]}"
    writer.message(log("ERROR", sentence))
    assert b"tok3n-abc" not in out.getvalue()
    assert orjson.loads(out.getvalue())["log"]["message"] == (
        "brands: a record has the id 'prefix-0123456789-abcdefghij-**********"
    )
    assert writer.scrub(sentence) == "brands: a record has the id 'prefix-0123456789-abcdefghij-**********"
    assert writer.scrub("a tok3n-a of 7 stays") == "a tok3n-a of 7 stays"


@pytest.mark.parametrize("depth", [255, 300, 1000])
def test_a_record_too_deep_to_write_fails_with_a_sentence_and_leaves_no_partial_line(depth: int) -> None:
    deep: Any = []
    for _ in range(depth - 1):
        deep = [deep]
    out = Spy()
    writer = Writer(out)
    with pytest.raises(Unwritable) as caught:
        writer.records("brands", [{"id": 1}, {"id": 2, "nested": deep}, {"id": 3}], 1)
    writer.message(log("ERROR", "the stream failed"))
    assert caught.value.message == (
        "brands: record 2 cannot be written as JSON: it is nested more than 254 levels deep; the stream stops "
        "before it."
    )
    assert [line["type"] for line in out.lines()] == ["RECORD", "LOG"]  # every line whole JSON


@pytest.mark.parametrize("debug", [False, True])
def test_a_streams_internal_error_carries_its_traceback_with_debug_only(
    debug: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    # An internal error's sentence names the exception but not where it was raised: --debug must show that.
    import asyncio
    import time

    from source_bigcommerce.cli import ProtocolSink
    from source_bigcommerce.engine import _internal

    record: dict[str, Any] = {}
    try:
        record["parent_id"]
    except KeyError as exc:
        error = _internal(exc)
    out = Spy()
    asyncio.run(ProtocolSink(Writer(out), time.time, debug).failed("brands", error))
    [trace] = out.lines()
    stderr = capsys.readouterr().err
    assert stderr.endswith("Internal error: KeyError: 'parent_id'\n")
    assert ("stack_trace" in trace["trace"]["error"]) is debug
    assert ("Traceback (most recent call last)" in stderr) is debug


def test_every_state_of_a_told_stream_carries_the_ids_delivered_before_it() -> None:
    # The ids delivered ride along in each STATE, so a read that stops half-way keeps them. Encoding them again
    # is held to once per twenty times the last encoding took: a STATE sooner than that is left out, and the
    # next one counts its records.
    import asyncio
    import itertools

    from source_bigcommerce.cli import ProtocolSink
    from source_bigcommerce.deletes import decode_ids, encode_ids
    from source_bigcommerce.state import KNOWN_IDS

    ticks = itertools.count()
    out = Spy()
    writer = Writer(out)
    sink = ProtocolSink(writer, lambda: next(ticks) / 1000, False, known={"customers": encode_ids({1, 2})})

    async def deliver() -> None:
        for page in range(30):
            await sink.records("customers", [{"id": 100 + 2 * page}, {"id": 101 + 2 * page}])
            await sink.state("customers", {"date_modified": f"2024-01-01T00:00:{page:02d}Z"}, 2 * page + 2)

    asyncio.run(deliver())
    writer.flush()
    delivered = {1, 2}
    states = counted = 0
    for line in out.lines():
        if line["type"] == "RECORD":
            delivered.add(line["record"]["data"]["id"])
            continue
        states += 1
        assert decode_ids(line["state"]["stream"]["stream_state"][KNOWN_IDS]) == delivered
        counted += int(line["state"]["sourceStats"]["recordCount"])
        assert counted == len(delivered) - 2
    assert 1 < states < 30  # the clock moves a millisecond a call: an encoding takes one, the next waits 20
