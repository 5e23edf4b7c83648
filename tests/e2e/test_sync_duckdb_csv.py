"""DuckDB loads the CSV files DuckDB wrote (:func:`source_bigcommerce.tables.to_csv`): every value comes back as
the API sent it, and a chunk that repeats keys of an earlier one is merged, not appended.

These drive the loader directly against a real DuckDB file.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from source_bigcommerce import tables
from source_bigcommerce.pipeline import Loader, Part
from source_bigcommerce.source import Disposition
from source_bigcommerce.streams import BY_NAME
from source_bigcommerce.tables import Spool
from sync_support import duckdb_target, spooled

STATE = {"date_modified": "2024-01-02T00:00:00Z", "state_version": 1}
AWKWARD = [
    "",
    "NULL",
    'a, "quoted"\nline',
    "carriage\r\nreturn",
    "back\\slash \\N \\0",
    "nul \x00 inside",
    "ünïcødé ✓ 🛒",
    " leading and trailing ",
    "x" * 3_000_000,
]


@pytest.fixture(autouse=True)
def csv_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every chunk here must go through the CSV file: the dicts path, which the loader takes when a value does
    not fit a typed file, would pass these tests without loading a CSV at all."""

    def refuse(stream: str, rows: Any) -> Any:
        raise AssertionError(f"{stream}: the chunk left the CSV path for dlt's dicts")

    monkeypatch.setattr(tables, "to_records", refuse)


def load(
    loader: Loader,
    stream: str,
    *records: dict[str, Any],
    keyed: bool = False,
    disposition: Disposition = "merge",
) -> None:
    """One chunk of ``records``; ``keyed``: its spool tracks the primary key (and the parent key, if the stream
    merges on it), as the sink's does for merges."""
    spec = BY_NAME[stream]
    rows = spooled(*records, stream=stream)
    if keyed:
        folder = Path(tempfile.mkdtemp(prefix="spool-"))
        spool = Spool(folder, stream, spec.primary_key, parent_key=spec.parent_key)
        spool.add(list(records))
        spool.cover()
        rows = spool.take()
    loader.extract([Part(spec, rows, STATE, disposition)])
    loader.load()


def fetch(db: Path, sql: str) -> list[Any]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_text_that_needs_quoting_or_escaping_comes_back_exactly_and_an_empty_string_stays_apart_from_null(
    tmp_path: Path,
) -> None:
    target = duckdb_target(tmp_path)
    loader = Loader(target, "csv")
    loader.open()
    records = [
        {"id": number, "date_modified": "2024-01-01T00:00:00Z", "email": text, "notes": text}
        for number, text in enumerate(AWKWARD, 1)
    ]
    records.append({"id": 100, "date_modified": "2024-01-01T00:00:00Z", "email": None})  # notes missing
    load(loader, "customers", *records)
    loader.release()
    rows = dict(fetch(target.duckdb_path(), "SELECT id, email FROM customers"))
    assert rows == {**dict(enumerate(AWKWARD, 1)), 100: None}
    assert fetch(target.duckdb_path(), "SELECT count(*) FROM customers WHERE email IS NULL") == [(1,)]
    assert fetch(target.duckdb_path(), "SELECT count(*) FROM customers WHERE email = ''") == [(1,)]
    notes = dict(fetch(target.duckdb_path(), "SELECT id, notes FROM customers"))
    assert notes[1] == ""
    assert notes[100] is None


def test_nested_objects_and_arrays_are_json_columns_and_typed_columns_keep_their_types(
    tmp_path: Path,
) -> None:
    target = duckdb_target(tmp_path)
    loader = Loader(target, "csv")
    loader.open()
    nested = [
        {"street": 'O"Brien, 1\n2', "lines": [None, "", "\\"], "empty": {}},
        [],
        {},
        "just text",
        [1, 2.5, True, None, {"deep": [{"deeper": "\x00"}]}],
    ]
    records = [
        {
            "id": number,
            "date_modified": "2024-01-01T00:00:00.123456Z",
            "addresses": value,
            "store_credit_amounts": [{"amount": 10.5}],
        }
        for number, value in enumerate(nested, 1)
    ]
    records.append(
        {"id": 9, "date_modified": None, "addresses": None, "customer_group_id": 9_007_199_254_740_993}
    )
    load(loader, "customers", *records)
    orders = {
        "id": 1,
        "date_modified": "2024-01-01T00:00:00Z",
        "total_inc_tax": "10.0000",
        "subtotal_ex_tax": "-3",
    }
    load(loader, "orders", orders)
    loader.release()
    db = target.duckdb_path()
    types = dict(
        fetch(
            db, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'customers'"
        )
    )
    assert (types["addresses"], types["id"], types["date_modified"]) == (
        "JSON",
        "BIGINT",
        "TIMESTAMP WITH TIME ZONE",
    )
    rows = {
        row[0]: row[1:]
        for row in fetch(db, "SELECT id, addresses, date_modified, customer_group_id FROM customers")
    }
    for number, value in enumerate(nested, 1):
        assert orjson.loads(rows[number][0]) == value
    assert rows[1][1].isoformat() == "2024-01-01T00:00:00.123456+00:00"
    assert rows[9] == (None, None, 9_007_199_254_740_993)  # beyond a double's 53 bits, kept exactly
    [(total, subtotal)] = fetch(db, "SELECT total_inc_tax, subtotal_ex_tax FROM orders")
    assert (total, subtotal) == (Decimal("10.000000000"), Decimal("-3.000000000"))


@pytest.mark.parametrize(
    ("stream", "first", "again", "expected"),
    [
        (
            "customers",
            [{"id": 1, "email": "v1"}, {"id": 2, "email": "v1"}],
            [{"id": 2, "email": "v2"}, {"id": 3, "email": "v1"}],
            [(1, "v1"), (2, "v2"), (3, "v1")],
        ),
        (
            # Merged on the order: a repeated order's line items replace all of its earlier ones.
            "order_products",
            [{"id": 10, "order_id": 1, "name": "v1"}, {"id": 11, "order_id": 1, "name": "v1"}],
            [{"id": 10, "order_id": 1, "name": "v2"}, {"id": 20, "order_id": 2, "name": "v1"}],
            [(10, "v2"), (20, "v1")],
        ),
    ],
)
def test_a_full_refresh_merges_a_later_chunk_that_repeats_a_key_of_the_chunk_that_replaced_the_table(
    tmp_path: Path,
    stream: str,
    first: list[dict[str, Any]],
    again: list[dict[str, Any]],
    expected: list[tuple[int, str]],
) -> None:
    # A full refresh replaces a table with its stream's first chunk and merges the later ones; a record
    # modified during the sync comes again in a later chunk, which must replace its row, not sit beside it.
    field = "email" if stream == "customers" else "name"
    target = duckdb_target(tmp_path)
    earlier = Loader(target, "refresh")
    earlier.open()
    load(earlier, stream, {**first[0], field: "an earlier sync's"}, keyed=True)
    earlier.release()
    loader = Loader(target, "refresh")
    loader.open()
    load(loader, stream, *first, keyed=True, disposition="replace")
    load(loader, stream, *again, keyed=True)
    loader.release()
    assert fetch(target.duckdb_path(), f"SELECT id, {field} FROM {stream} ORDER BY id") == expected


def test_a_chunk_repeating_keys_of_an_earlier_chunk_of_this_sync_is_merged_whatever_the_key(
    tmp_path: Path,
) -> None:
    # A table this sync found empty takes appended chunks until one repeats a key (source_bigcommerce.pipeline):
    # the keys reach the conversion's DuckDB as list parameters, composite ones as structs.
    target = duckdb_target(tmp_path)
    loader = Loader(target, "csv")
    loader.open()
    load(loader, "customers", {"id": 1, "email": "v1"}, {"id": 2, "email": "v1"}, keyed=True)
    load(loader, "customers", {"id": 3, "email": "v1"}, keyed=True)
    load(loader, "customers", {"id": 2, "email": "v2"}, keyed=True)
    record = {"price_list_id": 1, "variant_id": 7, "currency": "usd", "price": 1.5}
    load(loader, "price_list_records", record, {**record, "currency": "eur"}, keyed=True)
    load(loader, "price_list_records", {**record, "price": 2.5}, {**record, "variant_id": 8}, keyed=True)
    loader.release()
    db = target.duckdb_path()
    assert fetch(db, "SELECT id, email FROM customers ORDER BY id") == [(1, "v1"), (2, "v2"), (3, "v1")]
    assert fetch(db, "SELECT variant_id, currency, price FROM price_list_records ORDER BY 1, 2") == [
        (7, "eur", Decimal("1.5")),
        (7, "usd", Decimal("2.5")),
        (8, "usd", Decimal("1.5")),
    ]


def test_a_parent_read_again_within_a_chunk_keeps_only_the_children_of_its_latest_read(
    tmp_path: Path,
) -> None:
    # An order modified in the sync's start second after the walk read it comes again in that second's keyset
    # (paging.Walker.modified), with its children as they are now: a shipment deleted in between was still in
    # the chunk from the first read, and the merge on the order, which replaces an order's rows by the
    # chunk's, wrote it back. An order read again with none left kept all of them.
    target = duckdb_target(tmp_path)
    loader = Loader(target, "reread")
    loader.open()

    def shipment(number: int, order: int, version: str) -> dict[str, Any]:
        return {"id": number, "order_id": order, "comments": version}

    earlier = [shipment(1, 5, "v1"), shipment(2, 5, "v1"), shipment(3, 6, "v1"), shipment(4, 6, "v1")]
    load(loader, "order_shipments", *earlier, shipment(9, 7, "v1"), keyed=True)
    spec = BY_NAME["order_shipments"]
    spool = Spool(Path(tempfile.mkdtemp(prefix="spool-")), spec.name, spec.primary_key, parent_key="order_id")
    spool.add([shipment(1, 5, "v2"), shipment(2, 5, "v2"), shipment(3, 6, "v2")])
    spool.cover()
    spool.add([shipment(9, 7, "v2")])
    spool.add([shipment(1, 5, "v3")])  # order 5 read again: shipment 2 is gone
    spool.childless([6])  # order 6 read again: none left
    spool.cover()
    loader.extract([Part(spec, spool.take(), STATE, "merge")])
    loader.load()
    loader.release()
    found = fetch(target.duckdb_path(), "SELECT id, order_id, comments FROM order_shipments ORDER BY id")
    assert found == [(1, 5, "v3"), (9, 7, "v2")]
