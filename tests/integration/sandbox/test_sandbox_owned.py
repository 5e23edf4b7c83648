"""Catalog records owned by a product or a price list (registry.Owned), over real HTTP: they agree with
their products and with order line items, changing them leaves their parents alone, created products
bring their generated records and deleted ones take them along (price records of their variants
included), and a price list's records walk the same by cursor as by page. Each parametrized test runs for
every owned resource, so a new one is checked once it is added.
"""

from __future__ import annotations

import urllib.error
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from sandbox_http import get

from bigcommerce_sandbox.app import RunningSandbox, SandboxFactory
from bigcommerce_sandbox.registry import OWNED, REGISTRY, Resource

ENTRIES = [r for r in REGISTRY if r.owned is not None]
ANCHOR = 1_750_000_000
NOW = ANCHOR + 3600


def _key(entry: Resource, record: dict[str, Any]) -> Any:
    """A record's identity: its id, or a price list record's (price_list_id, variant_id, currency)."""
    if "id" in record:
        return record["id"]
    return (record["price_list_id"], record["variant_id"], record["currency"])


def _named(ids: list[Any]) -> set[Any]:
    """Ids from a mutation's result, with price list records' keys as tuples."""
    return {tuple(i) if isinstance(i, list) else i for i in ids}


def _by_key(sb: RunningSandbox, entry: Resource) -> dict[Any, dict[str, Any]]:
    return {_key(entry, r): r for r in sb.export(entry.name)}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda r: r.name)
def test_every_owned_record_names_a_live_parent_and_sits_in_its_id_range(
    sandbox: RunningSandbox, entry: Resource
) -> None:
    owned = entry.owned
    assert owned is not None
    parents = {r["id"] for r in sandbox.export(owned.parent)}
    records = sandbox.export(entry.name)
    assert records
    for record in records:
        assert record[owned.field] in parents
        if "id" in record:
            assert owned.ids.parent(record["id"]) == record[owned.field]
    # Some parents have none and some more than one.
    per_parent: defaultdict[int, int] = defaultdict(int)
    for record in records:
        per_parent[record[owned.field]] += 1
    assert len(per_parent) < len(parents) or max(per_parent.values()) > 1


def test_catalog_records_agree_with_their_products_and_the_order_lines(sandbox: RunningSandbox) -> None:
    products = {p["id"]: p for p in sandbox.export("products")}
    variants = {v["id"]: v for v in sandbox.export("product_variants")}
    options = {o["product_id"]: o for o in sandbox.export("product_options")}
    by_product: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for variant in variants.values():
        by_product[variant["product_id"]].append(variant)
    for pid, product in products.items():
        assert variants[product["base_variant_id"]]["product_id"] == pid
        mine = by_product[pid]
        if pid in options:
            values = {v["id"]: v["label"] for v in options[pid]["option_values"]}
            assert len(mine) >= 2
            for variant in mine:
                (value,) = variant["option_values"]
                assert value["option_id"] == options[pid]["id"]
                assert values[value["id"]] == value["label"]
        else:
            assert [v["option_values"] for v in mine] == [[]]
    lines = sandbox.export("order_products")
    assert lines
    assert all(line["variant_id"] in variants for line in lines if line["product_id"] in products)
    lists = {r["id"] for r in sandbox.export("price_lists")}
    for record in sandbox.export("price_list_records"):
        assert record["price_list_id"] in lists
        assert variants[record["variant_id"]]["product_id"] == record["product_id"]
        assert record["sku"] == variants[record["variant_id"]]["sku"]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda r: r.name)
def test_owned_mutations_show_in_the_export_and_leave_the_parent_alone(
    sandbox_factory: SandboxFactory, entry: Resource
) -> None:
    owned = entry.owned
    assert owned is not None
    sb = sandbox_factory(size="tiny", seed=1, anchor=ANCHOR, clock=lambda: float(NOW))
    parents_before = sb.export_lines(owned.parent)
    before = _by_key(sb, entry)
    if not entry.creates:
        result = sb.mutate(entry.name, update=2)
    else:
        result = sb.mutate(entry.name, update=2, create=2, delete=1)
    changed = {action: _named(ids) for action, ids in result[entry.name].items()}
    after = _by_key(sb, entry)
    assert len(changed["updated"]) == 2
    assert set(after) == (set(before) - changed["deleted"]) | changed["created"]
    assert not changed["created"] & set(before)
    for key in changed["updated"] - changed["deleted"]:
        assert after[key] != before[key], f"updating {entry.name} {key} changed nothing"
    for key in changed["created"]:
        for field in ("date_created", "date_modified"):
            if field in after[key]:
                assert after[key][field].startswith("2025-06-15T16:"), after[key][field]
    # The parent keeps its bytes: a child's change moves neither its date_modified nor anything else.
    assert sb.export_lines(owned.parent) == parents_before
    assert owned.parent not in result


def test_options_can_only_be_updated(sandbox: RunningSandbox) -> None:
    for create, delete in ((1, 0), (0, 1)):
        with pytest.raises(urllib.error.HTTPError) as caught:
            sandbox.mutate("product_options", create=create, delete=delete)
        assert caught.value.code == 400
        assert b"product_options can only be updated" in caught.value.read()


def test_a_created_product_brings_its_generated_records(sandbox: RunningSandbox) -> None:
    result = sandbox.mutate("products", create=4)
    created = result["products"]["created"]
    variants = {v["id"]: v for v in sandbox.export("product_variants")}
    for pid in created:
        assert variants[pid * 3 + 1]["product_id"] == pid
    for name in OWNED:
        listed = _named(result.get(name, {}).get("created", []))
        entry = next(r for r in REGISTRY if r.name == name)
        exported = {_key(entry, r) for r in sandbox.export(name)}
        assert listed <= exported, name
    assert _named(result["product_variants"]["created"]) >= {pid * 3 + 1 for pid in created}


def test_a_deleted_product_takes_its_records_and_its_variants_price_records_along(
    sandbox: RunningSandbox,
) -> None:
    before = {name: sandbox.export(name) for name in OWNED}
    variants = {v["id"]: v["product_id"] for v in before["product_variants"]}
    result = sandbox.mutate("products", delete=8)
    gone = set(result["products"]["deleted"])
    assert gone
    for entry in ENTRIES:
        owned = entry.owned
        assert owned is not None

        def doomed(
            record: dict[str, Any], owned_field: str = owned.field, parent: str = owned.parent
        ) -> bool:
            if parent == "products":
                return record[owned_field] in gone
            if parent == "product_variants":
                return variants[record[owned_field]] in gone
            return record["product_id"] in gone  # price list records, by their variants' product

        expected = {_key(entry, r) for r in before[entry.name] if doomed(r)}
        assert _named(result.get(entry.name, {}).get("deleted", [])) == expected, entry.name
        assert not {_key(entry, r) for r in sandbox.export(entry.name)} & expected, entry.name
    assert result["price_list_records"]["deleted"], "the deleted products' variants had price records"


def test_a_base_variant_is_never_deleted_and_a_deleted_variant_id_is_never_reused(
    sandbox: RunningSandbox,
) -> None:
    total = len(sandbox.export("product_variants"))
    products = sandbox.export("products")
    deleted = _named(sandbox.mutate("product_variants", delete=total)["product_variants"]["deleted"])
    assert deleted
    left = {v["id"] for v in sandbox.export("product_variants")}
    assert {p["base_variant_id"] for p in products} == left
    # Only slots no variant ever held are free now: a product whose option has a value without a variant.
    created = _named(sandbox.mutate("product_variants", create=2)["product_variants"]["created"])
    assert len(created) == 2
    assert not created & deleted


def test_a_price_lists_records_walk_the_same_by_cursor_as_by_page(sandbox: RunningSandbox) -> None:
    lid = sandbox.export("price_lists")[1]["id"]
    path = f"/v3/pricelists/{lid}/records"
    plain = [
        {k: v for k, v in r.items() if k not in ("sku", "bulk_pricing_tiers")}
        for r in sandbox.export("price_list_records")
        if r["price_list_id"] == lid
    ]
    since = "2025-01-01T00:00:00Z"
    queries: dict[str, Callable[[dict[str, Any]], bool]] = {
        "": lambda r: True,
        "&currency=usd": lambda r: r["currency"] == "usd",
        f"&date_modified:min={since}": lambda r: r["date_modified"] >= since,
    }
    for query, keeps in queries.items():
        expected = [r for r in plain if keeps(r)]
        assert expected
        by_page: list[dict[str, Any]] = []
        page = 1
        while True:
            body = get(sandbox, f"{path}?limit=7&page={page}{query}").json()
            by_page.extend(body["data"])
            if page >= body["meta"]["pagination"]["total_pages"]:
                break
            page += 1
        body = get(sandbox, f"{path}?limit=7{query}").json()
        by_cursor = list(body["data"])
        cursor = body["meta"]["cursor_pagination"]
        while "next" in cursor["links"]:
            body = get(sandbox, f"{path}?limit=7&after={cursor['end_cursor']}{query}").json()
            assert "pagination" not in body["meta"]
            by_cursor.extend(body["data"])
            cursor = body["meta"]["cursor_pagination"]
        assert by_cursor == by_page == expected, query
