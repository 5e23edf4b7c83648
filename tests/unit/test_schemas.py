from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft7Validator

from bigcommerce_sandbox.registry import EXPORTED
from source_bigcommerce.streams import BY_NAME, STREAMS, schema

import support

ROOT = Path(__file__).resolve().parents[2]
PACKAGED = resources.files("source_bigcommerce").joinpath("schemas")
SCHEMAS = sorted(
    entry.name.removesuffix(".json") for entry in PACKAGED.iterdir() if entry.name.endswith(".json")
)
"""Every packaged schema: the streams', and those of sandbox resources whose stream row is still to come
(issue 15: the schema and the sandbox resource land before the row)."""
SPECS = support.SPECS
DATE_TIME = {"type": ["null", "string"], "format": "date-time"}


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_schemas", ROOT / "tools" / "gen_schemas.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Dataclasses resolve their string annotations through sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def subschemas(node: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every schema below ``node`` (not ``node`` itself), with a readable path."""
    for name, child in node.get("properties", {}).items():
        yield f"{path}.{name}", child
        yield from subschemas(child, f"{path}.{name}")
    if "items" in node:
        yield f"{path}[]", node["items"]
        yield from subschemas(node["items"], f"{path}[]")
    for index, branch in enumerate(node.get("anyOf", ())):
        yield f"{path}|{index}", branch
        yield from subschemas(branch, f"{path}|{index}")


def test_regenerating_from_the_specs_is_byte_identical() -> None:
    if not (SPECS / "reference").is_dir():
        pytest.skip(f"the OpenAPI specs are not at {SPECS}, so the schemas cannot be regenerated here")
    files = generator().generate(SPECS)
    packaged = resources.files("source_bigcommerce").joinpath("schemas")
    assert sorted(files) == sorted(SCHEMAS)
    for stream, content in files.items():
        assert packaged.joinpath(f"{stream}.json").read_bytes() == content, f"schemas/{stream}.json is stale"


def test_streams_of_vendored_specs_regenerate_without_the_shared_specs(tmp_path: Path) -> None:
    """A spec kept in tools/specs (tax_classes.v2.yml) is read from there, so its streams' schemas are checked
    on every checkout, ../shared or not."""
    module = generator()
    vendored = module.vendored_streams()
    assert "tax_classes" in vendored
    files = module.generate(tmp_path / "no-shared-specs", only=vendored)
    assert sorted(files) == sorted(vendored)
    for stream, content in files.items():
        assert PACKAGED.joinpath(f"{stream}.json").read_bytes() == content, f"schemas/{stream}.json is stale"


def test_vendored_specs_are_the_upstream_files_their_readme_names() -> None:
    """Each file in tools/specs is listed in its README with the SHA-256 of the upstream file at the commit
    named there; an edited or replaced copy no longer matches."""
    readme = (ROOT / "tools" / "specs" / "README.md").read_text()
    files = sorted((ROOT / "tools" / "specs" / "reference").iterdir())
    assert files
    for file in files:
        assert f"`reference/{file.name}`" in readme, file.name
        assert hashlib.sha256(file.read_bytes()).hexdigest() in readme, f"{file.name} differs from upstream"


@pytest.mark.parametrize("stream", SCHEMAS)
def test_schema_is_a_valid_draft7_schema_with_a_title(stream: str) -> None:
    loaded = schema(stream)
    Draft7Validator.check_schema(loaded)
    assert loaded["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert loaded["title"] == stream
    assert loaded["description"]


@pytest.mark.parametrize("stream", SCHEMAS)
def test_every_field_is_nullable_open_and_optional(stream: str) -> None:
    loaded = schema(stream)
    assert loaded["additionalProperties"] is True
    assert "required" not in loaded
    for path, node in subschemas(loaded):
        assert "required" not in node, path
        if "type" in node:
            assert node["type"][0] == "null", path
        if "object" in node.get("type", ()):
            assert node["additionalProperties"] is True, path
        assert "enum" not in node, path
        expected = "date" if path.endswith(".event_date") else "date-time"
        assert node.get("format", expected) == expected, path


@pytest.mark.parametrize("spec", STREAMS, ids=lambda spec: spec.name)
def test_primary_key_and_cursor_are_declared_with_their_types(spec: Any) -> None:
    properties = schema(spec.name)["properties"]
    # The store's id is its hash (reference/store_information.v2.yml), a tax class's id a string of digits
    # (tools/specs/reference/tax_classes.v2.yml, taxClass_Full); every other id is a number.
    expected_key_type = "string" if spec.name in ("store", "tax_classes") else "integer"
    for path in spec.key_paths:
        node = schema(spec.name)
        for name in path:
            node = node["properties"][name]
        # A price list record's key names its list, its variant and its currency code (price_lists.v3.yml).
        wanted = "string" if path == ("currency",) else expected_key_type
        assert node["type"] == ["null", wanted], path
    if spec.cursor is not None:
        assert {key: properties[spec.cursor][key] for key in DATE_TIME} == DATE_TIME


def test_order_children_carry_their_order_id_as_the_api_types_it() -> None:
    # reference/orders.v3.yml Transaction.order_id is a string; reference/orders.v2.oas2.yml orderProducts
    # order_id is an integer.
    assert schema("transactions")["properties"]["order_id"]["type"] == ["null", "string"]
    assert schema("order_products")["properties"]["order_id"]["type"] == ["null", "integer"]


def test_v2_rfc2822_dates_are_declared_date_time() -> None:
    orders = schema("orders")["properties"]
    for field in ("date_created", "date_modified", "date_shipped"):
        assert {key: orders[field][key] for key in DATE_TIME} == DATE_TIME, field
    # An order product's event_date is `format: date` (orders.v2.oas2.yml): a day, not a midnight timestamp.
    assert schema("order_products")["properties"]["event_date"]["format"] == "date"


@pytest.mark.parametrize(
    ("stream", "field"),
    [
        ("orders", "subtotal_ex_tax"),
        ("orders", "total_inc_tax"),
        ("order_products", "price_ex_tax"),
        ("order_products", "base_wrapping_cost"),
        ("products", "price"),
        ("products", "calculated_price"),
        ("products", "fixed_cost_shipping_price"),
        ("transactions", "amount"),
        ("order_shipments", "merchant_shipping_cost"),
        ("order_coupons", "discount"),
        ("order_taxes", "line_amount"),
        ("order_refunds", "total_amount"),
        ("order_refunds", "total_tax"),
        ("order_shipping_addresses", "cost_inc_tax"),
    ],
)
def test_money_fields_are_marked(stream: str, field: str) -> None:
    assert schema(stream)["properties"][field]["x-money"] is True


def test_nested_money_is_marked_where_it_sits() -> None:
    customers = schema("customers")["properties"]
    assert customers["store_credit_amounts"]["items"]["properties"]["amount"]["x-money"] is True
    refunds = schema("order_refunds")["properties"]
    assert refunds["payments"]["items"]["properties"]["amount"]["x-money"] is True
    item = refunds["items"]["items"]["properties"]
    assert item["requested_amount"]["x-money"] is True
    assert item["adjustments"]["items"]["properties"]["amount"]["x-money"] is True


@pytest.mark.parametrize(("stream", "field"), [("order_coupons", "amount"), ("order_taxes", "rate")])
def test_coupon_amounts_and_tax_rates_are_not_money(stream: str, field: str) -> None:
    # orderCoupons_Base.amount is "$3 returns as 3 while 5% will return as 5": a percentage as often.
    assert "x-money" not in schema(stream)["properties"][field]


def test_embedded_shipping_addresses_drop_their_line_items_and_carry_their_order() -> None:
    properties = schema("order_shipping_addresses")["properties"]
    assert "line_items" not in properties
    assert properties["order_id"]["type"] == ["null", "integer"]
    assert {
        key: schema("order_shipments")["properties"]["date_created"][key] for key in DATE_TIME
    } == DATE_TIME


@pytest.mark.parametrize(("stream", "field"), [("orders", "currency_exchange_rate"), ("products", "weight")])
def test_rates_and_measures_are_not_money(stream: str, field: str) -> None:
    assert "x-money" not in schema(stream)["properties"][field]


def test_order_consignments_are_a_link_or_the_expanded_object_with_order_products() -> None:
    consignments = schema("orders")["properties"]["consignments"]
    shapes = {frozenset(branch["properties"]) for branch in consignments["anyOf"]}
    assert frozenset({"url", "resource"}) in shapes
    assert frozenset({"pickups", "shipping", "downloads", "email"}) in shapes
    expanded = next(branch for branch in consignments["anyOf"] if "shipping" in branch["properties"])
    line_items = expanded["properties"]["shipping"]["items"]["properties"]["line_items"]
    order_product = schema("order_products")["properties"]
    assert any(branch["items"].get("properties") == order_product for branch in line_items["anyOf"])


def test_pages_hold_the_union_of_every_page_type() -> None:
    properties = schema("pages")["properties"]
    # raw pages add body/content_type, contact forms email/contact_fields, links link (reference/pages.v3.yml).
    assert {"body", "content_type", "email", "contact_fields", "link", "name", "type"} <= set(properties)


def test_every_stream_has_a_schema_file_and_no_file_is_orphaned() -> None:
    # A schema without a stream yet belongs to a resource the sandbox serves, awaiting its row.
    assert set(SCHEMAS) >= set(BY_NAME)
    assert set(SCHEMAS) - set(BY_NAME) <= set(EXPORTED)
