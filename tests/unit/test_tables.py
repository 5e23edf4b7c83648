"""Records to typed Arrow tables through DuckDB: strict where a value could be changed, lenient nowhere else."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest

from bigcommerce_sandbox.app import RunningSandbox
from source_bigcommerce import tables
from source_bigcommerce.columns import kinds, prepare_batch, preparer
from source_bigcommerce.errors import ConnectorError
from source_bigcommerce.streams import BY_NAME

from support import ALL_STREAMS, read

ARROW_TYPES = {
    "bigint": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "text": pa.string(),
    "json": pa.string(),
    "decimal": pa.decimal128(38, 9),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


@pytest.fixture
def duckdb() -> Iterator[Any]:
    connection = tables.connect()
    yield connection
    connection.close()


def spool(
    folder: Path, stream: str, *batches: list[dict[str, Any]], key: tuple[str, ...] | None = None
) -> tables.Rows:
    """Records as the sink hands them over: prepared, spooled, covered by a STATE."""
    found = tables.Spool(folder, stream, key)
    prepare = preparer(stream)
    for batch in batches:
        found.add(batch, misfit=not prepare_batch(prepare, batch))
    found.cover()
    return found.take()


def convert(duckdb: Any, folder: Path, stream: str, *records: dict[str, Any], **options: Any) -> Any:
    converted = tables.to_arrow(duckdb, stream, spool(folder, stream, list(records), **options))
    return None if converted is None else converted[0]


def test_every_stream_of_a_store_becomes_arrow_typed_as_its_schema_declares(
    sandbox: RunningSandbox, duckdb: Any, tmp_path: Path
) -> None:
    read_back = read(sandbox.config)
    for stream in ALL_STREAMS:
        records = read_back.records[stream]
        assert records, stream
        spec = BY_NAME[stream]
        # The sink tracks keys of merged streams only, which are the incremental ones (sink.Sink).
        rows = spool(
            tmp_path, stream, records[:5], records[5:], key=spec.primary_key if spec.incremental else None
        )
        converted = tables.to_arrow(duckdb, stream, rows)
        assert converted is not None, f"{stream} went the slow way"
        table, _ = converted
        assert table.num_rows == len(records), stream
        for name, kind in kinds(stream).items():
            assert table.schema.field(name).type == ARROW_TYPES[kind], f"{stream}.{name}"
        assert table.column("_dlt_id").null_count == 0
        assert len(set(table.column("_dlt_id").to_pylist())) == len(records)


def test_values_come_out_exactly_as_the_api_sent_them(duckdb: Any, tmp_path: Path) -> None:
    record = {
        "id": 7,
        "amount": "10.0000",
        "date_created": "2024-05-14T09:34:00+00:00",
        "test": True,
        "gateway_transaction_id": "",
        "custom": {"a": [1, 2.5, None]},
    }
    table = convert(duckdb, tmp_path, "transactions", record, {"id": 8, "amount": 12.99, "test": None})
    rows = table.to_pylist()
    assert rows[0]["amount"] == Decimal("10.000000000")
    assert rows[1]["amount"] == Decimal("12.990000000")
    assert rows[0]["date_created"].isoformat() == "2024-05-14T09:34:00+00:00"
    assert (rows[0]["test"], rows[1]["test"]) == (True, None)
    assert rows[0]["gateway_transaction_id"] == ""  # an empty string is not a NULL
    assert rows[1]["gateway_transaction_id"] is None
    assert rows[0]["custom"] == '{"a":[1,2.5,null]}'  # a field the schema lacks, nested: JSON


@pytest.mark.parametrize(
    ("stream", "record"),
    [
        ("customers", {"id": 1, "customer_group_id": 1.5}),  # a fraction in a whole number
        ("orders", {"id": 1, "customer_id": 2.5}),  # a whole number the spec calls "number"
        ("customers", {"id": 1, "customer_group_id": True}),  # DuckDB would read 1
        ("products", {"id": 1, "weight": False}),  # a double: DuckDB would read 0.0
        ("transactions", {"id": 1, "date_created": "yesterday"}),
        ("transactions", {"id": 1, "amount": "0.1000000000"}),  # more places than decimal(38, 9) has
        ("transactions", {"id": 1, "amount": " 10"}),
    ],
)
def test_a_value_that_would_change_sends_the_rows_to_dlt_as_dicts(
    duckdb: Any, tmp_path: Path, stream: str, record: dict[str, Any]
) -> None:
    assert convert(duckdb, tmp_path, stream, record) is None
    assert convert(duckdb, tmp_path, stream, {"id": 2}) is not None


def test_a_merged_stream_keeps_the_last_row_of_each_key(duckdb: Any, tmp_path: Path) -> None:
    first = [{"id": 1, "email": "old"}, {"id": 2, "email": "two"}]
    later = [{"id": 1, "email": "new"}]
    rows = spool(tmp_path, "customers", first, later, key=("id",))
    assert rows.duplicated
    converted = tables.to_arrow(duckdb, "customers", rows)
    assert converted is not None
    assert sorted((row["id"], row["email"]) for row in converted[0].to_pylist()) == [(1, "new"), (2, "two")]
    records = [record for batch in tables.to_records("customers", rows) for record in batch]
    assert sorted((row["id"], row["email"]) for row in records) == [(1, "new"), (2, "two")]


def test_a_parent_read_again_keeps_only_its_latest_reads_children_typed_or_as_dicts(
    duckdb: Any, tmp_path: Path
) -> None:
    # transactions' order_id is text: the parents are compared as text whatever their type. Order "7" is read
    # three times: with two transactions, then with none, then with one; "8" once, after a STATE.
    found = tables.Spool(tmp_path, "transactions", ("id",), parent_key="order_id")
    found.add([{"id": 1, "order_id": "7", "event": "a"}, {"id": 2, "order_id": "7", "event": "a"}])
    found.add([{"id": 5, "order_id": "8", "event": "a"}])
    found.cover()
    found.childless(["7"])
    found.add([{"id": 2, "order_id": "7", "event": "b"}])
    found.cover()
    rows = found.take()
    assert rows.superseded == {"7": 3}
    converted = tables.to_arrow(duckdb, "transactions", rows)
    assert converted is not None
    expected = [(2, "7", "b"), (5, "8", "a")]
    assert sorted((row["id"], row["order_id"], row["event"]) for row in converted[0].to_pylist()) == expected
    records = [record for batch in tables.to_records("transactions", rows) for record in batch]
    assert sorted((row["id"], row["order_id"], row["event"]) for row in records) == expected


def test_records_for_dlt_come_in_bounded_lists_with_the_last_row_of_each_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One list of a chunk's dicts held them all at once: 10,000 orders, 100 MB more peak RSS.
    monkeypatch.setattr(tables, "RECORDS_BATCH", 5)
    first = [{"id": n, "email": f"{n}@old"} for n in range(1, 13)]
    rows = spool(tmp_path, "customers", first, [{"id": 3, "email": "3@new"}], key=("id",))
    batches = list(tables.to_records("customers", rows))
    assert [len(batch) for batch in batches] == [5, 5, 2]
    emails = {row["id"]: row["email"] for batch in batches for row in batch}
    assert len(emails) == 12
    assert emails[3] == "3@new"


def test_a_field_the_schema_lacks_gets_the_type_its_values_show_or_the_one_dlt_gave_it(
    duckdb: Any, tmp_path: Path
) -> None:
    records = [
        {"id": 1, "rank": 3, "score": 1, "flag": True, "nickname": "Al", "mixed": 1, "empty": None},
        {"id": 2, "rank": 4, "score": 2.5, "flag": False, "nickname": "Bo", "mixed": "x", "empty": None},
    ]
    converted = tables.to_arrow(duckdb, "customers", spool(tmp_path, "customers", records))
    assert converted is not None
    table, inferred = converted
    assert {name: hint["data_type"] for name, hint in inferred.items()} == {
        "flag": "bool",
        "mixed": "text",
        "nickname": "text",
        "rank": "bigint",
        "score": "double",
    }
    assert "empty" not in table.column_names  # only nulls: no column yet, as dlt does
    assert table.column("mixed").to_pylist() == ["1", "x"]
    # A column an earlier chunk made keeps its type: 5.5 does not fit the bigint it was given.
    later = spool(tmp_path, "customers", [{"id": 3, "rank": 5.5}])
    assert tables.to_arrow(duckdb, "customers", later, known={"rank": "bigint"}) is None
    assert tables.to_arrow(duckdb, "customers", later, known={"rank": "double"}) is not None
    # Nor do booleans fit a number column (dlt keeps them in a variant column).
    for flag in (True, False):
        later = spool(tmp_path, "customers", [{"id": 4, "rank": flag}])
        assert tables.to_arrow(duckdb, "customers", later, known={"rank": "bigint"}) is None
        assert tables.to_arrow(duckdb, "customers", later, known={"rank": "double"}) is None


def test_a_field_the_schema_lacks_holding_fractions_and_whole_numbers_a_double_would_round_is_text(
    duckdb: Any, tmp_path: Path
) -> None:
    records: list[dict[str, Any]] = [
        {"id": 1, "big": (1 << 53) + 1, "small": 1 << 53},
        {"id": 2, "big": 0.5, "small": 0.5},
    ]
    converted = tables.to_arrow(duckdb, "customers", spool(tmp_path, "customers", records))
    assert converted is not None
    table, inferred = converted
    assert {name: hint["data_type"] for name, hint in inferred.items()} == {"big": "text", "small": "double"}
    assert table.column("big").to_pylist() == ["9007199254740993", "0.5"]  # not 9007199254740992.0


def test_records_wait_on_disk_covered_by_a_state_or_not_and_the_others_are_dropped_with_their_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tables, "FILE_BYTES", 10_000)
    found = tables.Spool(tmp_path, "customers", None)
    for start in range(0, 3000, 250):
        found.add([{"id": index} for index in range(start, start + 250)])
    found.cover()
    late = [{"id": 9999, "notes": "x" * tables.PENDING_BYTES}]
    found.add(late)
    assert (tmp_path / "customers.pending").read_bytes() == orjson.dumps(late), "not covered yet, and on disk"
    found.drop_pending()  # the stream failed after its last STATE
    rows = found.take()
    assert rows.rows == 3000
    assert len(rows.files) > 1, "a chunk is spooled in files DuckDB reads a few at a time"
    assert sum(1 for _ in rows.records()) == 3000
    rows.remove()
    assert not list(tmp_path.iterdir())


# -- records no column could hold: their stream fails as they arrive, before anything of them is loaded ----------


def test_a_record_nested_deeper_than_json_is_written_fails_with_reads_sentence(tmp_path: Path) -> None:
    deep: Any = []
    for _ in range(300):
        deep = [deep]
    found = tables.Spool(tmp_path, "brands", None)
    with pytest.raises(ConnectorError) as caught:
        found.add([{"id": 1, "name": "flat"}, {"id": 2, "name": "deep", "nested": deep}])
    assert caught.value.message == (
        "brands: record 2 cannot be written as JSON: it is nested more than 254 levels deep; the stream stops "
        "before it."
    )


def test_a_whole_number_beyond_64_bits_in_a_field_the_schema_lacks_fails_its_stream(tmp_path: Path) -> None:
    found = tables.Spool(tmp_path, "brands", None)
    found.add([{"id": 1, "views": (1 << 63) - 1, "score": -(1 << 63)}])  # the edges of bigint are taken
    with pytest.raises(ConnectorError) as caught:
        found.add([{"id": 2, "views": 1 << 63}])
    assert caught.value.message == (
        "brands record 2: field 'views' holds 9223372036854775808, beyond the 64-bit whole numbers its column "
        "holds; the stream stops before it."
    )


def test_a_whole_number_beyond_64_bits_in_a_field_the_schema_lacks_that_held_text_stays_text(
    duckdb: Any, tmp_path: Path
) -> None:
    found = tables.Spool(tmp_path, "brands", None)
    found.add([{"id": 1, "code": "abc"}])
    found.cover()
    first = found.take()  # the chunk that gives the column its type: text
    found.add([{"id": 2, "code": (1 << 64) - 1}])
    found.cover()
    later = found.take()
    converted = tables.to_arrow(duckdb, "brands", later, known={"code": "text"})
    assert converted is not None
    assert converted[0].column("code").to_pylist() == ["18446744073709551615"]
    # Both in one chunk: a new text column.
    first.absorb(later)
    first.files += later.files
    converted = tables.to_arrow(duckdb, "brands", first)
    assert converted is not None
    assert converted[1]["code"]["data_type"] == "text"
    assert converted[0].column("code").to_pylist() == ["abc", "18446744073709551615"]


def test_a_nul_character_fails_its_stream_where_postgres_is_the_destination(tmp_path: Path) -> None:
    nested = {"id": 3, "name": "ok", "custom_url": {"url": "/a\x00b"}}
    with pytest.raises(ConnectorError) as caught:
        tables.Spool(tmp_path, "brands", None, refuse_nul=True).add([{"id": 1, "name": "ok"}, nested])
    assert caught.value.message == (
        "brands record 3: field 'custom_url' holds a NUL character (\\u0000), which Postgres cannot store in "
        "text or jsonb; the stream stops before it."
    )
    # The six characters \u0000 are text like any other; DuckDB stores a NUL.
    for spool, batch in (
        (tables.Spool(tmp_path, "brands", None, refuse_nul=True), [{"id": 4, "name": "C:\\u0000"}]),
        (tables.Spool(tmp_path, "brands", None), [nested]),
    ):
        spool.add(batch)
        spool.discard()


def test_a_spool_counts_the_json_it_holds(tmp_path: Path) -> None:
    batches = [[{"id": 1, "notes": "x" * 1000}], [{"id": 2, "notes": "y" * 500}]]
    found = tables.Spool(tmp_path, "customers", None)
    for batch in batches:
        found.add(batch)
    found.cover()
    found.add([{"id": 3, "notes": "not covered yet"}])
    assert found.ready.bytes == sum(len(orjson.dumps(batch)) for batch in batches)
    found.discard()


def test_a_csv_for_postgres_keeps_an_empty_string_apart_from_a_null(duckdb: Any, tmp_path: Path) -> None:
    # COPY ... (FORMAT CSV, NULL '') reads a quoted "" as the empty string and an empty field as NULL.
    records = [
        {"id": 1, "name": "", "page_title": None},
        {"id": 2, "name": 'a, "quoted"\nline'},
    ]
    written = tables.to_csv(
        duckdb,
        "brands",
        spool(tmp_path, "brands", records),
        tmp_path / "brands.csv",
        known={},
        load_id="12.5",
    )
    assert written is not None
    count, [path] = written
    assert count == 2
    header, first = path.read_text().splitlines()[:2]
    fields = dict(zip(header.split(","), first.split(","), strict=True))
    assert (fields["name"], fields["page_title"]) == ('""', "")
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["name"] for row in rows] == ["", 'a, "quoted"\nline']
    assert {row["_dlt_load_id"] for row in rows} == {"12.5"}


def test_a_csv_is_not_written_when_a_value_does_not_fit(duckdb: Any, tmp_path: Path) -> None:
    rows = spool(tmp_path, "customers", [{"id": 1, "customer_group_id": 1.5}])
    folder = tmp_path / "customers.csv"
    assert tables.to_csv(duckdb, "customers", rows, folder, known={}, load_id="1") is None
    assert not folder.exists()


def test_a_chunk_is_written_in_csv_files_of_a_few_mb_each_with_its_header_and_every_row_once(
    duckdb: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each file is one load job, one INSERT committed on its own: what DuckDB holds until a commit is bounded
    # by the file, not the chunk.
    monkeypatch.setattr(tables, "CSV_FILE_BYTES", 20_000)
    records = [{"id": index, "name": f"brand {index}", "page_title": "x" * 100} for index in range(1, 5001)]
    rows = spool(tmp_path, "brands", records)
    written = tables.to_csv(duckdb, "brands", rows, tmp_path / "brands.csv", known={}, load_id="1")
    assert written is not None
    count, paths = written
    assert count == 5000
    assert len(paths) > 1, "DuckDB starts a new file at the first vector of rows (2,048) past the size"
    found: list[int] = []
    for path in paths:
        with path.open(newline="") as handle:
            found.extend(int(row["id"]) for row in csv.DictReader(handle))
    assert sorted(found) == list(range(1, 5001))
    rows.files.append(tmp_path / "brands.csv")
    rows.remove()
    assert not list(tmp_path.glob("brands*")), "the spool's files and the CSV folder are removed"


def test_a_field_dlt_would_rename_sends_the_rows_to_dlt_as_dicts(duckdb: Any, tmp_path: Path) -> None:
    # A typed file heads its columns with the API's names, which dlt's columns must then be: a field dlt names
    # otherwise (someField -> some_field) would be inserted into a column that does not exist.
    rows = spool(tmp_path, "brands", [{"id": 1, "name": "a", "someField": 1}])
    assert tables.undeclared_kinds(rows, {}) is None
    assert tables.to_csv(duckdb, "brands", rows, tmp_path / "brands.csv", known={}, load_id="1") is None
    plain = spool(tmp_path, "brands", [{"id": 1, "name": "a", "some_field": 1}])
    assert tables.undeclared_kinds(plain, {}) == {"some_field": "bigint"}
