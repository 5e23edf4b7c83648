from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker

from source_bigcommerce.dates import to_rfc3339
from source_bigcommerce.errors import ConnectorError
from source_bigcommerce.records import BadRecord, money_fields, normalizer, timestamp_fields
from source_bigcommerce.streams import BY_NAME, STREAMS, schema

import support

SPECS = support.SPECS / "reference"
CANONICAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")

# reference/orders.v2.oas2.yml, orderCollection_Resp example (trimmed), plus an expanded consignment as
# include=consignments.line_items&consignment_structure=object returns it.
ORDER_PRODUCT: dict[str, Any] = {
    "id": 65,
    "order_id": 149,
    "product_id": 77,
    "name": "Fog Linen Chambray Towel - Beige Stripe",
    "type": "physical",
    "base_price": "55.9900",
    "price_ex_tax": "55.9900",
    "price_inc_tax": "65.2300",
    "weight": "1.0000",
    "quantity": 1,
    "event_name": None,
    "event_date": "",
    "applied_discounts": [
        {"id": "manual-discount", "amount": "1.5900", "name": "Manual Discount", "code": None}
    ],
    "product_options": [{"id": 45, "option_id": 18, "display_name": "Size", "value": "69"}],
}
ORDER: dict[str, Any] = {
    "id": 100,
    "customer_id": 20,
    "date_created": "Wed, 10 Jan 2018 21:05:30 +0000",
    "date_modified": "Wed, 05 Dec 2018 20:16:55 +0000",
    "date_shipped": "",
    "status_id": 11,
    "subtotal_ex_tax": "336.3200",
    "total_inc_tax": "361.9500",
    "items_total": 17,
    "payment_provider_id": "",
    "currency_exchange_rate": "1.0000000000",
    "billing_address": {"first_name": "Jane", "zip": "78751", "form_fields": []},
    "credit_card_type": None,
    "products": {
        "url": "https://api.bigcommerce.com/stores/abc/v2/orders/100/products",
        "resource": "/orders/100/products",
    },
    "consignments": {
        "pickups": [],
        "shipping": [
            {
                "id": 99,
                "line_items": [
                    dict(ORDER_PRODUCT, event_date="Fri, 24 Dec 2021 00:00:00 +0000"),
                    dict(ORDER_PRODUCT, id=66),
                ],
                "base_cost": 5.1,
            }
        ],
        "downloads": [],
        "email": {"gift_certificates": []},
    },
}
# reference/customers.v3.yml examples, with include=attributes.
CUSTOMER: dict[str, Any] = {
    "id": 1,
    "email": "jane.smith@example.com",
    "first_name": "Jane",
    "date_created": "2018-11-13T21:42:06Z",
    "date_modified": "2018-11-13T21:42:06Z",
    "store_credit_amounts": [{"amount": 43.15}],
    "attributes": [
        {
            "id": 2,
            "attribute_id": 2,
            "attribute_value": "Yes",
            "customer_id": 1,
            "date_created": "2018-11-13T21:42:06+00:00",
            "date_modified": "2018-11-13T21:42:06.500+00:00",
        }
    ],
    "channel_ids": [1],
}
# reference/catalog/products_catalog.v3.yml examples: catalog dates carry +00:00.
PRODUCT: dict[str, Any] = {
    "id": 174,
    "name": "1L Le Parfait Jar",
    "price": 7.95,
    "sale_price": 0,
    "date_created": "2018-08-15T14:49:05+00:00",
    "date_modified": "2018-08-24T14:41:00+00:00",
    "date_last_imported": "2015-07-03T18:16:02+00:00",
    "preorder_release_date": None,
    "images": [{"id": 1, "date_modified": "2018-08-24T14:41:00+00:00", "is_thumbnail": True}],
}


def changes(before: Any, after: Any, path: str = "") -> Iterator[str]:
    """Paths where ``after`` differs from ``before``; a changed key set or type is reported as its path."""
    if isinstance(before, dict) and isinstance(after, dict):
        if before.keys() != after.keys():
            yield f"{path}{{keys}}"
        for key in before.keys() & after.keys():
            yield from changes(before[key], after[key], f"{path}.{key}")
    elif isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            yield f"{path}[len]"
        for index, (old, new) in enumerate(zip(before, after, strict=False)):
            yield from changes(old, new, f"{path}[{index}]")
    elif type(before) is not type(after) or before != after:
        yield path


def normalized(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(record)
    normalizer(stream)(copied)
    return copied


def test_order_rfc2822_dates_become_rfc3339_utc_and_an_empty_date_becomes_null() -> None:
    out = normalized("orders", ORDER)
    assert out["date_created"] == to_rfc3339(ORDER["date_created"]) == "2018-01-10T21:05:30Z"
    assert out["date_modified"] == "2018-12-05T20:16:55Z"
    assert out["date_shipped"] is None


def test_only_timestamps_change_in_an_order_with_expanded_consignments() -> None:
    out = normalized("orders", ORDER)
    line_items = ".consignments.shipping[0].line_items"
    assert set(changes(ORDER, out)) == {
        ".date_created",
        ".date_modified",
        ".date_shipped",
        f"{line_items}[0].event_date",
        f"{line_items}[1].event_date",
    }
    # orders.v2.oas2.yml: event_date is `format: date`, a day rather than a midnight timestamp.
    assert out["consignments"]["shipping"][0]["line_items"][0]["event_date"] == "2021-12-24"
    assert out["consignments"]["shipping"][0]["line_items"][1]["event_date"] is None


def test_money_strings_stay_strings_and_numbers_stay_numbers() -> None:
    order = normalized("orders", ORDER)
    for field in money_fields("orders") & ORDER.keys():
        assert order[field] == ORDER[field]
        assert isinstance(order[field], str)
    product = normalized("products", PRODUCT)
    assert product["price"] == 7.95
    assert product["sale_price"] == 0
    assert isinstance(product["sale_price"], int)


def test_nested_dates_in_arrays_are_normalised_and_fractions_kept() -> None:
    out = normalized("customers", CUSTOMER)
    assert set(changes(CUSTOMER, out)) == {".attributes[0].date_created", ".attributes[0].date_modified"}
    assert out["attributes"][0]["date_modified"] == "2018-11-13T21:42:06.500Z"


def test_catalog_offset_dates_become_z_and_a_null_date_stays_null() -> None:
    out = normalized("products", PRODUCT)
    assert out["date_modified"] == "2018-08-24T14:41:00Z"
    assert out["date_last_imported"] == "2015-07-03T18:16:02Z"
    assert out["images"][0]["date_modified"] == "2018-08-24T14:41:00Z"
    assert out["preorder_release_date"] is None


def test_absent_timestamps_are_not_added() -> None:
    record: dict[str, Any] = {"id": 7, "name": "only its cursor", "date_modified": "2024-01-01T00:00:00Z"}
    out = normalized("orders", record)
    assert out == record


def test_an_order_product_read_on_its_own_is_normalised_like_a_line_item() -> None:
    out = normalized("order_products", dict(ORDER_PRODUCT, event_date="Fri, 24 Dec 2021 00:00:00 +0000"))
    assert out["event_date"] == "2021-12-24"
    assert (
        normalized("order_products", dict(ORDER_PRODUCT, event_date="2021-12-24"))["event_date"]
        == "2021-12-24"
    )
    assert out["applied_discounts"] == ORDER_PRODUCT["applied_discounts"]


def test_normalising_twice_changes_nothing() -> None:
    for stream, record in (("orders", ORDER), ("customers", CUSTOMER), ("products", PRODUCT)):
        once = normalized(stream, record)
        assert list(changes(once, normalized(stream, once))) == []


def test_an_unreadable_date_fails_naming_the_stream_record_and_field() -> None:
    with pytest.raises(ValueError, match=r"orders record 100: field 'date_modified'.*'yesterday'") as caught:
        normalized("orders", dict(ORDER, date_modified="yesterday"))
    assert isinstance(caught.value, ConnectorError)
    assert caught.value.failure_type == "system_error"
    assert caught.value.message.endswith(".")
    bad_line = dict(ORDER_PRODUCT, event_date="31/12/2021")
    consignments = {"shipping": [{"line_items": [bad_line]}]}
    with pytest.raises(ValueError, match=r"orders record 100: field 'consignments'.*31/12/2021"):
        normalized("orders", dict(ORDER, consignments=consignments))


def test_timestamp_fields_are_the_top_level_date_times() -> None:
    assert timestamp_fields("orders") == {"date_created", "date_modified", "date_shipped"}
    assert {"date_created", "date_modified", "date_last_imported"} <= timestamp_fields("products")
    assert timestamp_fields("brands") == frozenset()


def test_money_fields_cover_v2_strings_and_v3_numbers_but_not_rates() -> None:
    assert {"subtotal_ex_tax", "total_inc_tax", "refunded_amount"} <= money_fields("orders")
    assert "currency_exchange_rate" not in money_fields("orders")
    assert {
        "price",
        "cost_price",
        "retail_price",
        "sale_price",
        "map_price",
        "calculated_price",
    } <= money_fields("products")
    assert money_fields("transactions") == {"amount"}
    assert money_fields("pages") == frozenset()


# A SafeLoader that keeps unquoted example dates as the strings BigCommerce would send.
_NoTimestamps: Any = type("_NoTimestamps", (yaml.SafeLoader,), {})

_NoTimestamps.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

# transactions, pages and products have no 200 example in their GET list responses.
EXAMPLE_SOURCES = {
    "customers": ("customers.v3.yml", "/customers"),
    "orders": ("orders.v2.oas2.yml", "/orders"),
    "channels": ("channels.v3.yml", "/channels"),
    "store": ("store_information.v2.yml", "/store"),
    "order_products": ("orders.v2.oas2.yml", "/orders/{order_id}/products"),
    "brands": ("catalog/brands_catalog.v3.yml", "/catalog/brands"),
    "categories": ("catalog/categories_catalog.v3.yml", "/catalog/categories"),
}


def spec_examples(stream: str) -> list[dict[str, Any]]:
    """The records in the 200 response examples of the stream's GET endpoint in the official spec."""
    file, path = EXAMPLE_SOURCES[stream]
    document = yaml.load((SPECS / file).read_text(), Loader=_NoTimestamps)
    response = document["paths"][path]["get"]["responses"]["200"]
    while "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    content = response["content"]["application/json"]
    bodies = [content["example"]] if "example" in content else []
    for example in (content.get("examples") or {}).values():
        if "$ref" in example:
            example = document["components"]["examples"][example["$ref"].rsplit("/", 1)[1]]
        bodies.append(example["value"])
    records: list[dict[str, Any]] = []
    for body in bodies:
        if isinstance(body, dict) and isinstance(body.get("data"), list):
            records.extend(body["data"])
        elif isinstance(body, list):
            records.extend(body)
        else:
            records.append(body)
    return records


def date_time_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("date-time")(lambda value: not isinstance(value, str) or bool(CANONICAL.fullmatch(value)))
    return checker


@pytest.mark.parametrize("stream", sorted(EXAMPLE_SOURCES))
def test_the_specs_own_examples_are_valid_records_once_normalised(stream: str) -> None:
    if not SPECS.is_dir():
        pytest.skip(f"the OpenAPI specs are not at {SPECS}")
    records = spec_examples(stream)
    assert records, f"the spec has no example for {stream}"
    validator = Draft7Validator(schema(stream), format_checker=date_time_checker())
    for record in records:
        # customers.v3.yml's GET /customers example is its create request's body: no id and no dates, which
        # every record the API returns carries (and without which the normaliser rightly refuses it).
        spec = BY_NAME[stream]
        for key in spec.primary_key:
            record.setdefault(key, 1)
        if spec.cursor is not None:
            record.setdefault(spec.cursor, "2024-01-01T00:00:00Z")
        out = normalized(stream, record)
        assert [path for path in changes(record, out) if path.endswith(("{keys}", "[len]"))] == []
        errors = [
            f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(out)
        ]
        assert errors == []


def test_every_stream_has_a_normalizer() -> None:
    for spec in STREAMS:
        record: dict[str, Any] = {}
        for path in spec.key_paths:
            *outer, last = path
            inner = record
            node = schema(spec.name)
            for name in outer:
                inner = inner.setdefault(name, {})
                node = node["properties"][name]
            # A key of the type its schema declares: a number, or a string (a price list record's currency
            # code, the store's hash, a tax class's id).
            inner[last] = 1 if "integer" in node["properties"][last]["type"] else "abc123"
        if spec.window is not None and spec.cursor is not None:
            record[spec.cursor] = "2024-01-01T00:00:00Z"
        normalizer(spec.name)(record)


@pytest.mark.parametrize(
    ("stream", "record", "says"),
    [
        ("brands", {"name": "no id"}, "brands: a record came without its id, which tells records apart;"),
        ("brands", {"id": None}, "brands: a record came without its id"),
        ("brands", {"id": "7"}, "brands: a record has the id '7', not an integer;"),
        ("brands", {"id": 1.5e19}, "brands: a record has the id 1.5e+19, not an integer;"),
        ("store", {"id": 5}, "store: a record has the id 5, not a string;"),
        (
            "price_list_records",
            {"price_list_id": 1, "currency": "usd"},
            "price_list_records: a record came without its variant_id, which tells records apart;",
        ),
        ("customers", [1, 2], "customers: a record is a JSON list, not an object;"),
        ("customers", {"id": 3}, "customers: record 3 came without its date_modified, by which the stream"),
        ("orders", {"id": 3, "date_modified": ""}, "orders: record 3 came without its date_modified"),
        # A key nested in an object (reference/inventory.v3.yml: an item is one variant).
        (
            "inventory_items",
            {"identity": {"sku": "A"}},
            "inventory_items: a record came without its identity.variant_id",
        ),
        (
            "inventory_items",
            {"identity": 7},
            "inventory_items: a record came without its identity.variant_id",
        ),
        (
            "inventory_items",
            {"identity": {"variant_id": "7"}},
            "inventory_items: a record has the identity.variant_id '7',",
        ),
    ],
)
def test_a_record_without_its_key_or_cursor_is_one_sentence_for_its_stream(
    stream: str, record: Any, says: str
) -> None:
    with pytest.raises(BadRecord) as caught:
        normalizer(stream)(record)
    assert caught.value.message.startswith(says)
    assert caught.value.message.endswith("; the stream stops before it.")
