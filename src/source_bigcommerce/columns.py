"""The destination's column types, taken from the streams' JSON Schemas, and the checks a record passes first.

**Types** come from the schemas' top-level properties, never from guessing: ``format: date-time`` is a
timestamp with time zone; ``x-money`` a decimal (38, 9); integers are bigint, other numbers double, booleans
bool, strings text, objects and arrays JSON. A field the API types as "string or number" is text (a number
there is written as its JSON text). A field the schema does not know still lands: its type is inferred from its
values (:mod:`source_bigcommerce.tables`).

Some identifiers and counts are typed ``number`` by BigCommerce's OpenAPI files although they are whole
numbers; :data:`WHOLE_NUMBERS` makes them bigint rather than double, so ``orders.customer_id`` joins
``customers.id`` without a cast.

**Checks.** Each record is checked as it arrives (:func:`preparer`), in the engine's guard of its stream, for
what no destination column could hold: money that is not an amount or does not fit decimal (38, 9), a whole
number beyond 64 bits in a bigint column. Such a record fails its own stream there, as ``read`` fails it, with
the stream's cursor left before it; loaded, it would fail the load, which holds every stream's rows and would
be tried again by every later sync. Money is never passed through a binary float: v2's strings
(``"10.0000"``) stay text until the destination's decimal reads them, and v3's JSON numbers are read as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import orjson

from source_bigcommerce.errors import ConnectorError
from source_bigcommerce.paging import Record
from source_bigcommerce.streams import schema

Kind = Literal["decimal", "timestamp", "json", "bigint", "bool", "double", "text"]

WHOLE_NUMBERS: Mapping[str, frozenset[str]] = {
    # reference/orders.v2.oas2.yml types these `number` in order_Resp, although the customer_id query
    # parameter and a shipment's customer_id are `integer`, and the examples are whole numbers.
    "orders": frozenset({"customer_id", "items_shipped", "items_total", "shipping_address_count"}),
    # The same file's order products: quantities and the refund id, `number` beside integer siblings.
    "order_products": frozenset({"quantity_refunded", "quantity_shipped", "return_id"}),
    # reference/catalog/products_catalog.v3.yml: tax_class_id is `number`; a tax class id is an integer
    # everywhere else in the catalog API.
    "products": frozenset({"tax_class_id"}),
}
"""Fields typed ``number`` in the specs that are whole numbers: ids and counts. A value with a fraction
would not be rounded: like any value that does not fit its column, it lands in a variant column."""

_PLAIN_AMOUNT = re.compile(r"-?[0-9]{1,29}(?:\.[0-9]{1,9})?")
"""An amount written plainly, which decimal(38, 9) holds exactly."""
AMOUNT_DIGITS = 29
"""Digits before the point that decimal(38, 9) holds."""
AMOUNT_PLACES = 9
"""Digits after the point that decimal(38, 9) holds: an amount with another digit than 0 beyond them would be
rounded, by DuckDB's cast and by dlt's typing alike (both load into the same decimal column)."""
AMOUNT_LIMIT = 1e29
"""The JSON numbers decimal(38, 9) holds are below this (orjson reads an integer beyond 64 bits as a float): the
float 1e29 itself, a little less than 10^29, reaches the destination as its shortest repr, 1E+29."""
SMALLEST_EXPONENT = -1000
"""The smallest exponent an amount may be written with (``0E-1000``): DuckDB refuses ``0E-999999`` and
Postgres anything below ``0E-16383``, although either is 0."""
BIGINT = (-(1 << 63), (1 << 63) - 1)
"""The whole numbers a bigint column holds; orjson reads JSON integers up to 2^64 - 1."""


def _types(node: Mapping[str, Any]) -> set[str]:
    kinds = node.get("type", [])
    found = {kinds} if isinstance(kinds, str) else set(kinds)
    for branch in node.get("anyOf", ()):
        found |= _types(branch)
    return found - {"null"}


def _kind(stream: str, name: str, node: Mapping[str, Any]) -> Kind:
    """The dlt data type of a top-level property."""
    if node.get("x-money") is True:
        return "decimal"
    if node.get("format") == "date-time":
        return "timestamp"
    kinds = _types(node)
    if not kinds or kinds & {"object", "array"}:
        return "json"
    if kinds == {"integer"} or (kinds == {"number"} and name in WHOLE_NUMBERS.get(stream, ())):
        return "bigint"
    if kinds == {"boolean"}:
        return "bool"
    if kinds <= {"integer", "number"}:
        return "double"
    return "text"


def kinds(stream: str) -> dict[str, Kind]:
    """Every property the stream's schema declares, with its column type, in the schema's order."""
    properties: Mapping[str, Any] = schema(stream).get("properties", {})
    return {name: _kind(stream, name, node) for name, node in properties.items()}


def column_hints(stream: str) -> dict[str, dict[str, Any]]:
    """dlt column hints for every property the stream's schema declares, in the schema's order."""
    hints: dict[str, dict[str, Any]] = {}
    for name, kind in kinds(stream).items():
        hint: dict[str, Any] = {"data_type": kind, "nullable": True}
        if kind == "timestamp":
            hint["timezone"] = True
        hints[name] = hint
    return hints


def preparer(stream: str) -> Callable[[Record], bool]:
    """Checks every money value and whole number of a record and writes numbers in text columns as text, in
    place (see the module docstring); returns whether every amount is written plainly, as decimal(38, 9) reads
    it exactly (``10.0000``, ``-3``, or a JSON number). One that is not (`` 10``, ``1E+2``, zeros beyond 9
    decimal places) is still an amount: it goes to the destination through dlt's own typing (:func:`decimal`).

    A money value stays what the API sent (a string or a JSON number), or None for an empty string.

    Raises:
        ConnectorError: a money field holds something that is not an amount, or an amount decimal(38, 9)
            cannot hold (too large, or a digit other than 0 beyond 9 decimal places, which it would round); a
            whole-number field a number beyond 64 bits.
    """
    declared = kinds(stream)
    properties: Mapping[str, Any] = schema(stream).get("properties", {})
    money = tuple(name for name, kind in declared.items() if kind == "decimal")
    whole = tuple(name for name, kind in declared.items() if kind == "bigint")
    texts = tuple(
        name for name, kind in declared.items() if kind == "text" and len(_types(properties[name])) > 1
    )
    low, high = BIGINT

    def prepare(record: Record) -> bool:
        plain = True
        for name in money:
            value = record.get(name)
            if value is None:
                continue
            kind = value.__class__
            if kind is str:
                if not _PLAIN_AMOUNT.fullmatch(value):
                    if value.strip():
                        _check_amount(stream, record, name, value)
                        plain = False
                    else:
                        record[name] = None
            elif kind is not int and kind is not float:
                raise _not_an_amount(stream, record, name, value)
            elif not -AMOUNT_LIMIT < value < AMOUNT_LIMIT or (
                kind is float and _rounded(Decimal(repr(value)))
            ):
                raise _unfit_amount(stream, record, name, value)
        for name in whole:
            value = record.get(name)
            # A float too: orjson reads a whole number beyond 64 bits as one (2**70 -> 1.1805916207174113e+21).
            if (value.__class__ is int or value.__class__ is float) and not low <= value <= high:
                raise beyond_bigint(stream, record, name, value)
        for name in texts:
            value = record.get(name)
            if value is not None and value.__class__ is not str:
                record[name] = orjson.dumps(value).decode()
        return plain

    return prepare


def prepare_batch(prepare: Callable[[Record], bool], batch: list[Record]) -> bool:
    """Every record of ``batch`` through ``prepare`` (a :func:`preparer`); whether all its amounts are plain."""
    plain = True
    for record in batch:
        plain &= prepare(record)
    return plain


def _check_amount(stream: str, record: Record, name: str, value: str) -> None:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise _not_an_amount(stream, record, name, value) from None
    if not amount.is_finite():
        raise _not_an_amount(stream, record, name, value)
    if (
        amount.adjusted() >= AMOUNT_DIGITS
        or int(amount.as_tuple().exponent) < SMALLEST_EXPONENT
        or _rounded(amount)
    ):
        raise _unfit_amount(stream, record, name, value)


def _rounded(amount: Decimal) -> bool:
    """Whether decimal(38, 9) would round ``amount`` (a finite one): a digit other than 0 beyond
    :data:`AMOUNT_PLACES`. Read from the digits, as the context's 28 digits of precision would round too."""
    _, digits, exponent = amount.as_tuple()
    beyond = -int(exponent) - AMOUNT_PLACES
    return beyond > 0 and any(digits[-beyond:])


def _not_an_amount(stream: str, record: Record, name: str, value: Any) -> ConnectorError:
    return ConnectorError(
        f"{stream} record {record.get('id')!r}: field {name!r} holds {str(value)[:40]!r}, which is not an amount."
    )


def _unfit_amount(stream: str, record: Record, name: str, value: Any) -> ConnectorError:
    return ConnectorError(
        f"{stream} record {record.get('id')!r}: field {name!r} holds the amount {str(value)[:40]!r}, which a "
        "decimal(38, 9) column cannot hold; the stream stops before it."
    )


def beyond_bigint(stream: str, record: Record, name: str, value: float) -> ConnectorError:
    """A whole number that no 64-bit integer column holds (a field the schema lacks gets a bigint column too
    when it holds whole numbers: :mod:`source_bigcommerce.tables`)."""
    return ConnectorError(
        f"{stream} record {repr(record.get('id'))[:40]}: field {name!r} holds {value}, beyond the 64-bit whole "
        "numbers its column holds; the stream stops before it."
    )


def decimal(value: Any) -> Decimal | None:
    """A money value checked by :func:`preparer`, as the exact decimal it writes: 12.99 stays 12.99."""
    if value is None or value.__class__ is Decimal:
        return value
    return Decimal(value if isinstance(value, str) else str(value))
