"""The sync's pure parts: column types from the schemas, money checked as it arrives, stream selection,
targets and their messages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import duckdb
import psycopg2
import psycopg2.errors
import pytest

from source_bigcommerce.cli import select_streams
from source_bigcommerce.columns import column_hints, decimal, preparer
from source_bigcommerce.destination import Target, default_dataset, describe, redact
from source_bigcommerce.errors import ConfigError, ConnectorError
from source_bigcommerce.pipeline import hold_from_env
from source_bigcommerce.records import money_fields, timestamp_fields
from source_bigcommerce.streams import STREAMS


@pytest.mark.parametrize("stream", [spec.name for spec in STREAMS])
def test_every_money_field_is_decimal_and_every_timestamp_has_a_time_zone(stream: str) -> None:
    hints = column_hints(stream)
    for name in money_fields(stream):
        assert hints[name]["data_type"] == "decimal", name
    for name in timestamp_fields(stream):
        assert hints[name] == {"data_type": "timestamp", "nullable": True, "timezone": True}, name


def test_schema_types_map_to_column_types() -> None:
    orders = column_hints("orders")
    assert orders["id"]["data_type"] == "bigint"
    assert orders["is_deleted"]["data_type"] == "bool"
    assert orders["customer_id"]["data_type"] == "bigint"  # the spec says number; see WHOLE_NUMBERS
    assert orders["items_total"]["data_type"] == "bigint"
    assert column_hints("order_products")["weight"]["data_type"] == "text"  # number or string
    assert column_hints("products")["weight"]["data_type"] == "double"
    assert column_hints("products")["tax_class_id"]["data_type"] == "bigint"
    assert orders["status"]["data_type"] == "text"
    assert orders["billing_address"]["data_type"] == "json"
    assert orders["consignments"]["data_type"] == "json"  # anyOf of two objects
    assert orders["fees"]["data_type"] == "json"  # anyOf object or array
    assert orders["payment_provider_id"]["data_type"] == "text"  # string or number
    assert column_hints("products")["images"]["data_type"] == "json"


@pytest.mark.parametrize(
    ("value", "plain", "kept"),
    [
        ("10.0000", True, "10.0000"),
        ("-0.0100", True, "-0.0100"),
        (12.99, True, 12.99),
        (7, True, 7),
        ("", True, None),
        ("  ", True, None),
        (None, True, None),
        (" 10", False, " 10"),
        ("1E+2", False, "1E+2"),
        ("10.0000000000", False, "10.0000000000"),  # more places than decimal(38, 9) has, but exact there
    ],
)
def test_money_is_kept_as_sent_and_flagged_unless_a_decimal_reads_it_exactly(
    value: Any, plain: bool, kept: Any
) -> None:
    record: dict[str, Any] = {"id": 1, "amount": value}
    assert preparer("transactions")(record) is plain
    assert record["amount"] == kept


@pytest.mark.parametrize(
    ("value", "expected"),
    [("10.0000", "10.0000"), (12.99, "12.99"), (0.1, "0.1"), (21119.4, "21119.4"), (7, "7"), (" 10", "10")],
)
def test_money_becomes_an_exact_decimal_never_through_a_binary_float(value: Any, expected: str) -> None:
    amount = decimal(value)
    assert amount == Decimal(expected)
    assert str(amount) == expected.strip()


@pytest.mark.parametrize("value", ["ten", "NaN", True, [1]])
def test_money_that_is_not_an_amount_is_one_sentence(value: Any) -> None:
    with pytest.raises(
        ConnectorError, match=r"^transactions record 5: field 'amount' holds .* not an amount\.$"
    ):
        preparer("transactions")({"id": 5, "amount": value})


@pytest.mark.parametrize(
    "value",
    [
        "1e999999",
        "1E+29",
        "-100000000000000000000000000000",
        1e29,
        -1e300,
        "1E-1001",
        # A digit beyond the 9th decimal place, which decimal(38, 9) would round away.
        "0.1234567891",
        "-1.0000000001",
        "1E-10",
        0.1234567891,
        1e-10,
    ],
)
def test_an_amount_a_decimal_38_9_cannot_hold_fails_its_stream_with_one_sentence(value: Any) -> None:
    with pytest.raises(ConnectorError) as caught:
        preparer("transactions")({"id": 5, "amount": value})
    assert caught.value.message == (
        f"transactions record 5: field 'amount' holds the amount {str(value)[:40]!r}, which a decimal(38, 9) "
        "column cannot hold; the stream stops before it."
    )


@pytest.mark.parametrize(
    "value",
    ["1E+28", "-99999999999999999999999999999.999999999", 1e28, "1E-9", 1e-9, "0E-1000", "0.1234567890"],
)
def test_the_largest_and_the_finest_amounts_a_decimal_38_9_holds_pass(value: Any) -> None:
    preparer("transactions")({"id": 5, "amount": value})


@pytest.mark.parametrize(("name", "value"), [("id", 1 << 63), ("customer_id", -(1 << 63) - 1)])
def test_a_whole_number_beyond_64_bits_fails_its_stream_with_one_sentence(name: str, value: int) -> None:
    record = {"id": 7, "customer_id": 3, name: value}
    with pytest.raises(ConnectorError) as caught:
        preparer("orders")(record)
    assert caught.value.message == (
        f"orders record {record['id']}: field {name!r} holds {value}, beyond the 64-bit whole numbers its "
        "column holds; the stream stops before it."
    )
    preparer("orders")({"id": (1 << 63) - 1, "customer_id": -(1 << 63)})  # the edges are taken


def test_a_number_in_a_string_or_number_field_becomes_its_json_text() -> None:
    record: dict[str, Any] = {"id": 1, "payment_provider_id": 12345, "status": "Shipped"}
    preparer("orders")(record)
    assert record == {"id": 1, "payment_provider_id": "12345", "status": "Shipped"}


def test_streams_are_selected_in_table_order_and_an_unknown_name_lists_the_valid_ones() -> None:
    assert [spec.name for spec in select_streams("orders, customers")] == ["customers", "orders"]
    assert select_streams(None) == STREAMS
    with pytest.raises(ConfigError) as caught:
        select_streams("customers,ordres")
    assert caught.value.message == (
        "--streams names 'ordres', which this connector does not have; use any of "
        + ", ".join(spec.name for spec in STREAMS)
        + "."
    )
    with pytest.raises(ConfigError, match="names no stream"):
        select_streams(" , ")


def test_a_password_never_reaches_a_message() -> None:
    assert redact("postgresql://me:s3cret@db.local:5432/shop") == "postgresql://me:***@db.local:5432/shop"
    assert redact("postgresql://me@db.local/shop") == "postgresql://me@db.local/shop"
    target = Target("postgres", "postgresql://me:s3cret@127.0.0.1:5/shop", "bigcommerce")

    error = RuntimeError("step failed")
    error.__cause__ = psycopg2.OperationalError(
        'connection to server at "127.0.0.1", port 5 failed: s3cret refused\nmore'
    )
    message = describe(error, target)
    assert message.startswith("Cannot connect to postgres postgresql://me:***@127.0.0.1:5/shop: ")
    assert "s3cret" not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("credentials", "shown"),
    [
        # libpq takes a password in the URL's query too, and keyword strings; a driver quotes it decoded.
        ("postgresql://me@db.local/shop?password=s3cret", "postgresql://me@db.local/shop?password=***"),
        ("host=db.local password=s3cret dbname=shop", "host=db.local password=*** dbname=shop"),
        ("host=db.local password='s3 cret' dbname=shop", "host=db.local password=*** dbname=shop"),
        ("postgresql://me:s3cre%74@db.local/shop", "postgresql://me:***@db.local/shop"),
        ("postgresql://me:s3cret@db.local:notaport/shop", "(unparseable URL)"),
        ("postgresql://me:s3cret@[::1]:5432/shop", "postgresql://me:***@[::1]:5432/shop"),
    ],
)
def test_a_password_given_in_any_form_libpq_takes_reaches_no_message(credentials: str, shown: str) -> None:
    assert redact(credentials) == shown
    target = Target("postgres", credentials, "bigcommerce")
    error = RuntimeError("step failed")
    error.__cause__ = ValueError(f"Could not parse {credentials!r} ({unquote(credentials)})")
    message = describe(error, target)
    for password in ("s3cret", "s3 cret", "s3cre%74"):
        assert password not in message


def test_duckdb_defaults_to_its_main_schema_other_destinations_to_bigcommerce() -> None:
    assert default_dataset("duckdb") == "main"
    assert default_dataset("postgres") == "bigcommerce"


def test_two_targets_never_share_a_working_directory() -> None:
    one = Target("duckdb", "/tmp/a.duckdb", "main", "/tmp/p").working_dir()
    assert one != Target("duckdb", "/tmp/b.duckdb", "main", "/tmp/p").working_dir()
    assert one != Target("duckdb", "/tmp/a.duckdb", "other", "/tmp/p").working_dir()
    assert one == Target("duckdb", "/tmp/a.duckdb", "main", "/tmp/p").working_dir()


def test_the_test_hold_is_off_unless_set_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_BIGCOMMERCE_TEST_HOLD", raising=False)
    assert hold_from_env() is None
    monkeypatch.setenv("SOURCE_BIGCOMMERCE_TEST_HOLD", "loaded:3")
    assert hold_from_env() == ("loaded", 3)
    monkeypatch.setenv("SOURCE_BIGCOMMERCE_TEST_HOLD", "sometime")
    assert hold_from_env() is None


def test_a_destination_error_is_told_by_its_type_never_by_the_words_of_its_message() -> None:
    """DuckDB's memory errors hold "block", which holds "lock": that once read as "in use by another process"."""
    from dlt.destinations.exceptions import DatabaseTerminalException

    duckdb_file = Target("duckdb", "/data/store.duckdb", "main")

    def wrapped(error: Exception) -> Exception:
        outer = DatabaseTerminalException(error)
        outer.__cause__ = error
        return outer

    memory = duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block of size 256.0 KiB")
    assert describe(wrapped(memory), duckdb_file) == (
        "DuckDB ran out of memory loading into /data/store.duckdb (Out of Memory Error: could not allocate "
        "block of size 256.0 KiB); the sync resumes from the last commit when run again."
    )
    locked = duckdb.IOException('IO Error: Could not set lock on file "/data/store.duckdb": Conflicting lock')
    assert describe(wrapped(locked), duckdb_file).startswith(
        "The DuckDB file /data/store.duckdb could not be opened or written (IO Error: Could not set lock on file"
    )
    pinned = duckdb.TransactionException("TransactionContext Error: Failed to commit: failed to pin block")
    assert describe(wrapped(pinned), duckdb_file) == (
        "Loading into duckdb /data/store.duckdb failed: TransactionException: TransactionContext Error: Failed "
        "to commit: failed to pin block."
    )
    postgres = Target("postgres", "postgresql://me@127.0.0.1:5/shop", "bigcommerce")
    deadlock = psycopg2.errors.DeadlockDetected("deadlock detected")  # an OperationalError, of one statement
    assert describe(wrapped(deadlock), postgres) == (
        "Loading into postgres postgresql://me@127.0.0.1:5/shop failed: DeadlockDetected: deadlock detected."
    )
