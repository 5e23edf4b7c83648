from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from source_bigcommerce.errors import ConfigError
from source_bigcommerce.state import (
    STATE_VERSION,
    advance,
    cursor_of,
    load_state,
    parse_state,
    resume_from,
    state_for,
)
from source_bigcommerce.streams import BY_NAME, STREAMS

UTC = timezone.utc
INCREMENTAL = [spec for spec in STREAMS if spec.incremental]
FULL_REFRESH = [spec for spec in STREAMS if not spec.incremental]


def epoch(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp())


def stream_message(name: str, stream_state: Any) -> dict[str, Any]:
    return {"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": stream_state}}


def cursors(states: dict[str, dict[str, Any]]) -> dict[str, int | None]:
    return {name: cursor_of(BY_NAME[name], value) for name, value in states.items()}


# ../shared/reference/airbyte-source-bigcommerce.md §4.1: what 0.2.22 emitted after a first sync.
ARCHIVED_OUTPUT = [
    stream_message("customers", {"date_modified": "2023-01-11T19:00:00Z"}),
    stream_message("orders", {"date_modified": "2023-01-03T05:00:00+00:00"}),
    stream_message("transactions", {"states": []}),
    stream_message("pages", {}),
    stream_message("products", {"date_modified": "2023-01-05T00:00:00+00:00"}),
    stream_message("channels", {"date_modified": "2023-01-03T10:00:00Z"}),
    stream_message("store", {"__ab_no_cursor_state_message": True}),
    stream_message("order_products", {"states": []}),
    stream_message("brands", {}),
    stream_message("categories", {}),
]

# §8.2 integration_tests/abnormal_state.json.
ABNORMAL_STATE = [
    stream_message("customers", {"date_modified": "2080-07-30T22:16:46"}),
    stream_message("orders", {"date_modified": "2080-07-30T22:16:46+00:00"}),
    stream_message("transactions", {"id": 5783048848838997}),
    stream_message("order_products", {"id": 9000002039398998}),
    stream_message("pages", {"id": 9000002039398998}),
    stream_message("brands", {"id": 9000002039398998}),
    stream_message("categories", {"id": 9000002039398998}),
    stream_message("products", {"date_modified": "2080-01-10T00:17:08+00:00"}),
    stream_message("channels", {"date_modified": "2080-01-10T00:17:08+00:00"}),
    stream_message("store", {"store_id": 99199991999999200}),
]


def sample_state(orders_cursor: str) -> list[dict[str, Any]]:
    """§8.2 integration_tests/sample_state.json, in its later and older (RFC 2822 orders) versions."""
    return [
        stream_message("customers", {"date_modified": "2021-08-11T15:18:55Z"}),
        stream_message("orders", {"date_modified": orders_cursor}),
        stream_message("transactions", {"id": 0}),
        stream_message("pages", {"id": 4}),
        stream_message("products", {"date_modified": "2022-01-10T00:17:08+00:00"}),
        stream_message("channels", {"date_modified": "2022-01-10T00:17:08+00:00"}),
        stream_message("store", {"store_id": 0}),
        stream_message("order_products", {"id": 0}),
        stream_message("brands", {"id": 0}),
        stream_message("categories", {"id": 0}),
    ]


def test_the_archived_connectors_own_output_state_resumes_every_dated_stream() -> None:
    assert cursors(parse_state(ARCHIVED_OUTPUT)) == {
        "customers": epoch(2023, 1, 11, 19),
        "orders": epoch(2023, 1, 3, 5),
        "transactions": None,
        "pages": None,
        "products": epoch(2023, 1, 5),
        "channels": epoch(2023, 1, 3, 10),
        "store": None,
        "order_products": None,
        "brands": None,
        "categories": None,
    }


def test_the_archived_abnormal_state_is_accepted_and_ids_carry_no_time() -> None:
    found = cursors(parse_state(ABNORMAL_STATE))
    assert found["customers"] == epoch(2080, 7, 30, 22, 16, 46)
    assert found["orders"] == epoch(2080, 7, 30, 22, 16, 46)
    assert found["products"] == found["channels"] == epoch(2080, 1, 10, 0, 17, 8)
    assert {name for name, cursor in found.items() if cursor is None} == {
        "transactions",
        "order_products",
        "pages",
        "brands",
        "categories",
        "store",
    }


@pytest.mark.parametrize("orders_cursor", ["2021-08-16T21:09:10+00:00", "Mon, 16 Aug 2021 21:09:10 +0000"])
def test_the_archived_sample_state_is_accepted_in_both_versions(orders_cursor: str) -> None:
    found = cursors(parse_state(sample_state(orders_cursor)))
    assert found["orders"] == epoch(2021, 8, 16, 21, 9, 10)
    assert found["customers"] == epoch(2021, 8, 11, 15, 18, 55)
    assert found["transactions"] is None
    assert found["store"] is None


def test_per_partition_child_state_carries_no_time() -> None:
    partitioned = {"states": [{"partition": {"order_id": 100, "parent_slice": {}}, "cursor": {"id": 1000}}]}
    assert cursor_of(BY_NAME["order_products"], partitioned) is None
    assert cursor_of(BY_NAME["transactions"], partitioned) is None


LEGACY = {"customers": {"date_modified": "2023-01-11T19:00:00Z"}, "pages": {}}


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(LEGACY, id="plain dict"),
        pytest.param({"type": "LEGACY", "legacy": LEGACY}, id="LEGACY wrapper"),
        pytest.param({"type": "LEGACY", "data": LEGACY}, id="LEGACY message with data"),
        pytest.param({"data": LEGACY}, id="data wrapper"),
        pytest.param([stream_message(name, value) for name, value in LEGACY.items()], id="per-stream list"),
        pytest.param(
            {"states": [stream_message(name, value) for name, value in LEGACY.items()]}, id="states"
        ),
        pytest.param(
            [{"type": "STATE", "state": stream_message(name, value)} for name, value in LEGACY.items()],
            id="AirbyteMessage list",
        ),
        pytest.param(
            {
                "type": "GLOBAL",
                "global": {
                    "shared_state": {"anything": 1},
                    "stream_states": [
                        {"stream_descriptor": {"name": name, "namespace": None}, "stream_state": value}
                        for name, value in LEGACY.items()
                    ],
                },
            },
            id="GLOBAL",
        ),
    ],
)
def test_every_accepted_shape_gives_the_same_states(raw: Any) -> None:
    assert parse_state(raw) == LEGACY


def test_a_single_state_message_is_accepted_bare_or_wrapped() -> None:
    message = stream_message("orders", {"date_modified": "2023-01-03T05:00:00+00:00"})
    expected = {"orders": {"date_modified": "2023-01-03T05:00:00+00:00"}}
    assert parse_state(message) == expected
    assert parse_state({"type": "STATE", "state": message}) == expected
    assert parse_state({"stream": message["stream"]}) == expected


@pytest.mark.parametrize("raw", [None, {}, []])
def test_nothing_means_no_state(raw: Any) -> None:
    assert parse_state(raw) == {}


def test_a_null_stream_state_is_an_empty_one() -> None:
    assert parse_state([stream_message("customers", None)]) == {"customers": {}}
    assert parse_state({"customers": None}) == {"customers": {}}


def test_a_stream_listed_twice_resumes_from_its_last_state() -> None:
    raw = [
        stream_message("orders", {"date_modified": "2023-01-01T00:00:00Z"}),
        stream_message("orders", {"date_modified": "2023-01-02T00:00:00Z"}),
    ]
    assert cursor_of(BY_NAME["orders"], parse_state(raw)["orders"]) == epoch(2023, 1, 2)


def test_states_of_unknown_streams_are_kept_unchecked() -> None:
    assert parse_state({"coupons": {"id": "whatever"}}) == {"coupons": {"id": "whatever"}}


def test_the_concurrent_cdk_date_range_resumes_from_the_end_of_its_first_contiguous_slice() -> None:
    state = {
        "state_type": "date-range",
        "slices": [
            {"start": "2023-01-05T00:00:00.000000+0000", "end": "2023-01-09T00:00:00.000000+0000"},
            {"start": "2023-01-01T00:00:00.000000+0000", "end": "2023-01-05T00:00:00.000000+0000"},
            {"start": "2023-02-01T00:00:00.000000+0000", "end": "2023-02-02T00:00:00.000000+0000"},
        ],
    }
    assert cursor_of(BY_NAME["customers"], state) == epoch(2023, 1, 9)


@pytest.mark.parametrize("spec", FULL_REFRESH, ids=lambda spec: spec.name)
@pytest.mark.parametrize(
    "stream_state", [{}, {"id": 9000002039398998}, {"store_id": 0}, {"__ab_no_cursor_state_message": True}]
)
def test_full_refresh_streams_ignore_any_old_cursor(spec: Any, stream_state: dict[str, Any]) -> None:
    assert cursor_of(spec, stream_state) is None


@given(
    st.sampled_from(INCREMENTAL),
    st.integers(min_value=0, max_value=epoch(2100, 12, 31, 23, 59, 59)),
)
def test_our_own_state_resumes_from_the_cursor_it_saved(spec: Any, cursor: int) -> None:
    emitted = state_for(spec, cursor)
    assert emitted["state_version"] == STATE_VERSION
    parsed = parse_state(orjson.loads(orjson.dumps([stream_message(spec.name, emitted)])))
    assert cursor_of(spec, parsed[spec.name]) == cursor


def test_state_for_a_full_refresh_stream_or_no_cursor_is_empty() -> None:
    assert state_for(BY_NAME["pages"], 1_700_000_000) == {}
    assert state_for(BY_NAME["customers"], None) == {}


def test_state_for_writes_the_cursor_as_rfc3339() -> None:
    assert (
        state_for(BY_NAME["order_products"], epoch(2024, 5, 14, 9, 34))["date_modified"]
        == "2024-05-14T09:34:00Z"
    )


def one_sentence(message: str) -> bool:
    return message.endswith(".") and ". " not in message and "\n" not in message


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (42, "is a number"),
        ("customers", "is a string"),
        ([1], "item 1 of the list is a number"),
        ([{"type": "STREAM"}], "no stream_descriptor.name"),
        ([{"type": "RECORD", "record": {}}], 'has type "RECORD"'),
        ([stream_message("orders", [1])], "stream_state of 'orders'"),
        ({"type": "GLOBAL", "global": {}}, "without a stream_states list"),
        ({"type": "STATE"}, "without a state object"),
        ({"customers": {"date_modified": "yesterday"}}, '"yesterday", which is not a timestamp'),
        ({"orders": {"date_modified": 1700000000}}, "not a timestamp string"),
        (
            {"customers": {"updated_at": "2023-01-01T00:00:00Z"}},
            "keys this connector does not know (updated_at)",
        ),
        ({"customers": {"state_version": "one"}}, "not a positive integer"),
        ({"transactions": {"date_modified": "2023-02-30T00:00:00Z"}}, "not a timestamp"),
        ({"products": {"state_type": "date-range", "slices": "all"}}, "slices are not a list"),
    ],
)
def test_a_state_that_cannot_be_understood_is_a_config_error_in_one_sentence(raw: Any, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_state(raw)
    assert says in caught.value.message
    assert one_sentence(caught.value.message), caught.value.message
    assert caught.value.failure_type == "config_error"


def test_a_state_from_a_newer_connector_is_refused() -> None:
    raw = {"orders": {"date_modified": "2023-01-03T05:00:00Z", "state_version": STATE_VERSION + 1}}
    with pytest.raises(ConfigError, match="newer source-bigcommerce") as caught:
        parse_state(raw)
    assert "upgrade" in caught.value.message
    assert one_sentence(caught.value.message)


def test_cursor_of_reports_a_bad_cursor_as_a_config_error_naming_the_stream() -> None:
    with pytest.raises(ConfigError, match="The state of stream 'customers' holds date_modified") as caught:
        cursor_of(BY_NAME["customers"], {"date_modified": "soon"})
    assert one_sentence(caught.value.message)


def test_a_config_file_passed_as_state_is_refused_without_echoing_the_token(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"store_hash": "abc123", "access_token": "s3cr3t-t0ken", "start_date": "2021-01-01"}')
    with pytest.raises(ConfigError) as caught:
        load_state(path)
    assert "s3cr3t-t0ken" not in caught.value.message
    assert str(path) in caught.value.message


@pytest.mark.parametrize("content", ["", "  \n", "{}", "[]"])
def test_an_empty_state_file_means_no_state(tmp_path: Path, content: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    assert load_state(path) == {}


def test_a_state_file_that_is_not_json_names_the_file_and_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="is not valid JSON") as caught:
        load_state(path)
    assert str(path) in caught.value.message
    assert "start without --state" in caught.value.message
    assert one_sentence(caught.value.message)


def test_a_missing_state_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_state(tmp_path / "absent.json")


def test_a_state_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(orjson.dumps(ARCHIVED_OUTPUT))
    assert load_state(path) == parse_state(ARCHIVED_OUTPUT)


# -- the cursor rule the engine checkpoints by (engine._advance and engine._plan call these) ----------------

seconds = st.integers(min_value=0, max_value=4_102_444_800)


@given(seconds, st.lists(st.one_of(st.none(), seconds), max_size=30), seconds)
def test_a_cursor_advanced_by_any_batches_never_moves_backwards_nor_past_the_start(
    begin: int, resumes: list[int | None], start: int
) -> None:
    cursor = min(begin, start)
    for resume in resumes:
        moved = advance(cursor, resume, start)
        assert cursor <= moved <= start
        cursor = moved
    reached = [r for r in resumes if r is not None]
    # It ends where the furthest batch allowed, cut at the start: no progress is forgotten either.
    assert cursor == max([min(begin, start), *(min(r, start) for r in reached)])


@given(seconds, seconds, st.one_of(st.none(), seconds))
def test_a_batch_that_proves_nothing_new_leaves_the_cursor_alone(
    cursor: int, start: int, resume: int | None
) -> None:
    cursor = min(cursor, start)
    if resume is None or resume <= cursor:
        assert advance(cursor, resume, start) == cursor


@given(seconds, st.one_of(st.none(), seconds), seconds)
def test_a_read_resumes_from_the_later_of_start_date_and_the_cursor_but_never_past_the_start(
    start_date: int, saved: int | None, start: int
) -> None:
    begin = resume_from(start_date, saved, start)
    assert begin <= start
    assert begin == start or begin >= start_date
    if saved is not None:
        assert begin == start or begin >= saved
        assert begin == min(max(start_date, saved), start)
