"""The catalog family's stream schemas mark money where it is money and nowhere else, and declare the
product_id the connector adds to custom fields. (That every exported record fits its schema is
tests/integration/sandbox/test_sandbox_stream_schemas.py's job.)"""

from __future__ import annotations

import pytest

from source_bigcommerce.streams import schema


@pytest.mark.parametrize(
    ("stream", "field"),
    [
        ("product_variants", "price"),
        ("product_variants", "calculated_price"),
        ("product_variants", "cost_price"),
        ("price_list_records", "price"),
        ("price_list_records", "calculated_price"),
    ],
)
def test_catalog_money_is_marked(stream: str, field: str) -> None:
    assert schema(stream)["properties"][field]["x-money"] is True


def test_weights_and_tier_amounts_are_not_money() -> None:
    assert "x-money" not in schema("product_variants")["properties"]["weight"]
    tiers = schema("price_list_records")["properties"]["bulk_pricing_tiers"]["items"]["properties"]
    assert "x-money" not in tiers["amount"]


def test_custom_fields_declare_the_product_id_the_connector_adds() -> None:
    assert schema("product_custom_fields")["properties"]["product_id"]["type"] == ["null", "integer"]
