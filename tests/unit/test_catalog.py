from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from airbyte_protocol.models import AirbyteCatalog, ConfiguredAirbyteCatalog
from jsonschema import Draft7Validator

from source_bigcommerce.catalog import discover, load_configured_catalog, parse_configured_catalog
from source_bigcommerce.errors import ConfigError
from source_bigcommerce.streams import BY_NAME, STREAMS, schema


def configured(*entries: tuple[str, str], cursor: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """A ConfiguredAirbyteCatalog selecting ``(stream, sync_mode)`` pairs, built from discover()."""
    streams = {stream["name"]: stream for stream in discover()["streams"]}
    return {
        "streams": [
            {
                "stream": streams[name],
                "sync_mode": mode,
                "destination_sync_mode": "append",
                "cursor_field": (cursor or {}).get(name, []),
            }
            for name, mode in entries
        ]
    }


def test_discover_is_a_valid_airbyte_catalog_of_every_stream_in_table_order() -> None:
    catalog = discover()
    AirbyteCatalog.model_validate(orjson.loads(orjson.dumps(catalog)))
    assert [stream["name"] for stream in catalog["streams"]] == [spec.name for spec in STREAMS]


@pytest.mark.parametrize("spec", STREAMS, ids=lambda spec: spec.name)
def test_each_discovered_stream_matches_its_row_and_schema(spec: Any) -> None:
    stream = next(stream for stream in discover()["streams"] if stream["name"] == spec.name)
    assert stream["json_schema"] == schema(spec.name)
    Draft7Validator.check_schema(stream["json_schema"])
    assert stream["source_defined_primary_key"] == [field.split(".") for field in spec.primary_key]
    for path in stream["source_defined_primary_key"]:
        node = stream["json_schema"]
        for name in path:
            node = node["properties"][name]
        assert set(node["type"]) & {"integer", "string"}
    if spec.incremental:
        assert stream["supported_sync_modes"] == ["full_refresh", "incremental"]
        assert stream["source_defined_cursor"] is True
        assert stream["is_resumable"] is True
    else:
        assert stream["supported_sync_modes"] == ["full_refresh"]
        assert "source_defined_cursor" not in stream
        assert stream["is_resumable"] is False


def test_a_coupon_is_keyed_by_its_order_and_its_id_which_orders_sharing_the_code_share() -> None:
    coupons = next(stream for stream in discover()["streams"] if stream["name"] == "order_coupons")
    assert coupons["source_defined_primary_key"] == [["order_id"], ["id"]]


def test_a_key_nested_in_an_object_is_discovered_as_a_field_path() -> None:
    # An inventory item has no id of its own: one record is one variant (reference/inventory.v3.yml).
    stream = next(stream for stream in discover()["streams"] if stream["name"] == "inventory_items")
    assert stream["source_defined_primary_key"] == [["identity", "variant_id"]]


@pytest.mark.parametrize("spec", [spec for spec in STREAMS if spec.nested_key], ids=lambda s: s.name)
def test_a_stream_keyed_inside_an_object_is_full_refresh_so_the_loader_never_merges_on_that_key(
    spec: Any,
) -> None:
    # The loader merges incremental streams on a top-level column; a nested key has none.
    assert not spec.incremental


def test_dated_streams_default_to_their_date_modified_cursor() -> None:
    cursors = {stream["name"]: stream.get("default_cursor_field") for stream in discover()["streams"]}
    for name in ("customers", "orders", "products", "channels"):
        assert cursors[name] == ["date_modified"]
        assert "date_modified" in schema(name)["properties"]


def test_order_children_are_incremental_through_their_parent_without_a_cursor_field() -> None:
    for stream in discover()["streams"]:
        if BY_NAME[stream["name"]].parent == "orders":
            assert "incremental" in stream["supported_sync_modes"]
            assert stream["default_cursor_field"] == []
            assert "parent order" in stream["json_schema"]["description"]


def test_discover_hands_out_copies_of_the_schemas() -> None:
    discover()["streams"][0]["json_schema"]["properties"].clear()
    assert discover()["streams"][0]["json_schema"]["properties"]


def test_a_configured_catalog_gives_streams_and_modes_in_table_order() -> None:
    raw = configured(
        ("orders", "incremental"), ("customers", "full_refresh"), ("order_products", "incremental")
    )
    ConfiguredAirbyteCatalog.model_validate(raw)
    assert [(spec.name, mode) for spec, mode in parse_configured_catalog(raw)] == [
        ("customers", "full_refresh"),
        ("orders", "incremental"),
        ("order_products", "incremental"),
    ]


def test_the_archived_connectors_all_incremental_catalog_falls_back_to_full_refresh_with_a_warning() -> None:
    # ../shared/reference/airbyte-source-bigcommerce.md §8.2: every stream incremental + append, pages,
    # brands and categories on "id", store on "store_id".
    raw = configured(
        *((spec.name, "incremental") for spec in STREAMS),
        cursor={"pages": ["id"], "brands": ["id"], "categories": ["id"], "store": ["store_id"]},
    )
    warnings: list[str] = []
    modes = {spec.name: mode for spec, mode in parse_configured_catalog(raw, warn=warnings.append)}
    full_only = {spec.name for spec in STREAMS if not spec.incremental}
    assert {name for name, mode in modes.items() if mode == "full_refresh"} == full_only
    assert len(warnings) == len(full_only)
    assert all(any(repr(name) in warning for warning in warnings) for name in full_only)


def test_an_unknown_stream_is_named_and_the_known_ones_listed() -> None:
    raw = configured(("customers", "full_refresh"))
    raw["streams"].append({"stream": {"name": "tax_rates"}, "sync_mode": "full_refresh"})
    with pytest.raises(ConfigError) as caught:
        parse_configured_catalog(raw)
    assert "'tax_rates'" in caught.value.message
    assert all(spec.name in caught.value.message for spec in STREAMS)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ([], '"streams" list'),
        ({"streams": {}}, '"streams" list'),
        ({"streams": [{"sync_mode": "full_refresh"}]}, "stream 1 has no stream.name"),
        ({"streams": ["customers"]}, "stream 1 has no stream.name"),
        ({"streams": [{"stream": {"name": "orders"}, "sync_mode": "sometimes"}]}, "sync_mode 'sometimes'"),
        ({"streams": [{"stream": {"name": "orders"}}]}, "sync_mode None"),
        ({"streams": []}, "selects no streams"),
        (
            {
                "streams": [
                    {"stream": {"name": "orders"}, "sync_mode": "full_refresh"},
                    {"stream": {"name": "orders"}, "sync_mode": "incremental"},
                ]
            },
            "lists stream 'orders' twice",
        ),
    ],
)
def test_a_malformed_catalog_is_a_config_error_in_one_sentence(raw: Any, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_configured_catalog(raw)
    message = caught.value.message
    assert says in message
    assert message.endswith(".")
    assert ". " not in message


def test_a_catalog_file_is_read_and_bad_json_is_named(tmp_path: Path) -> None:
    good = tmp_path / "catalog.json"
    good.write_bytes(orjson.dumps(configured(("brands", "full_refresh"))))
    assert [spec.name for spec, _ in load_configured_catalog(good)] == ["brands"]
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ConfigError, match="is not valid JSON") as caught:
        load_configured_catalog(bad)
    assert str(bad) in caught.value.message
    with pytest.raises(ConfigError, match="does not exist"):
        load_configured_catalog(tmp_path / "absent.json")
