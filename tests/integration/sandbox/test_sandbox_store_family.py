"""The customers, marketing and store-settings resources (issue 15), over real HTTP: what the registry-wide
tests cannot know about them. Customers embed their addresses on ``include=addresses`` (at most 10, as the
spec says) and count them; addresses and attribute values go with their customer, attribute values with
their attribute; inventory items add up to their product's stock at the locations that exist; the record
a store opens with is never deleted; channel listings page by ``after``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from jsonschema import Draft7Validator
from sandbox_http import get

from bigcommerce_sandbox.app import RunningSandbox, SandboxFactory
from conftest import STRICT_STORE
from source_bigcommerce.streams import schema

ANCHOR = 1_750_000_000
NOW = ANCHOR + 3600
STORE_FAMILY = (
    "customer_addresses", "customer_groups", "customer_attributes", "customer_attribute_values", "subscribers",
    "coupons", "gift_certificates", "promotions", "currencies", "tax_classes", "inventory_locations",
    "inventory_items", "channel_listings", "sites",
)  # fmt: skip


def _pages(sb: RunningSandbox, path: str) -> list[dict[str, Any]]:
    """Every record of a v3 list, page by page."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        body = get(sb, f"{path}{'&' if '?' in path else '?'}limit=7&page={page}").json()
        out.extend(body["data"])
        if page >= body["meta"]["pagination"]["total_pages"]:
            return out
        page += 1


def _by(field: str, records: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        grouped[record[field]].append(record)
    return grouped


@pytest.fixture
def store(sandbox_factory: SandboxFactory) -> RunningSandbox:
    return sandbox_factory(size="tiny", seed=1, anchor=ANCHOR, clock=lambda: float(NOW))


def test_customers_embed_their_addresses_as_the_bulk_list_gives_them(store: RunningSandbox) -> None:
    addresses = _by("customer_id", _pages(store, "/v3/customers/addresses"))
    plain = _pages(store, "/v3/customers")
    embedded = _pages(store, "/v3/customers?include=addresses")
    assert plain == store.export("customers")
    assert sum(map(len, addresses.values())) > len(plain) // 2
    for bare, full in zip(plain, embedded, strict=True):
        assert full == {**bare, "addresses": addresses.get(bare["id"], [])}
        assert bare["address_count"] == len(full["addresses"])
    # Customer cursors embed them too.
    first = get(store, "/v3/customers?include=addresses&limit=5").json()
    after = first["meta"]["cursor_pagination"]["end_cursor"]
    page = get(store, f"/v3/customers?include=addresses&limit=5&after={after}").json()["data"]
    assert [c["addresses"] for c in page] == [addresses.get(c["id"], []) for c in page]


def test_a_customer_embeds_at_most_ten_addresses_and_counts_them_all(store: RunningSandbox) -> None:
    customers = len(store.export("customers"))
    # Each mutation gives one more address to as many customers as asked, so this gives every one 11.
    for _ in range(11):
        store.mutate("customer_addresses", create=customers)
    addresses = _by("customer_id", store.export("customer_addresses"))
    for customer in _pages(store, "/v3/customers?include=addresses"):
        mine = addresses[customer["id"]]
        assert len(mine) > 10
        assert customer["address_count"] == len(mine)
        assert customer["addresses"] == mine[:10]


def test_an_address_change_shows_in_the_count_but_leaves_the_customer_otherwise_alone(
    store: RunningSandbox,
) -> None:
    before = {c["id"]: c for c in store.export("customers")}
    changed = store.mutate("customer_addresses", create=2, delete=2, update=2)
    assert set(changed) == {"customer_addresses"}
    after = {c["id"]: c for c in store.export("customers")}
    counts = {cid: len(mine) for cid, mine in _by("customer_id", store.export("customer_addresses")).items()}
    for cid, customer in after.items():
        assert customer["address_count"] == counts.get(cid, 0)
        assert {**customer, "address_count": 0} == {**before[cid], "address_count": 0}
    assert any(after[cid] != before[cid] for cid in after)


CHILDREN = {
    "customer_addresses": "/v3/customers/addresses",
    "customer_attribute_values": "/v3/customers/attribute-values",
}


@pytest.mark.parametrize("first_use", ["before", "after"])
def test_a_deleted_customer_takes_its_addresses_and_attribute_values_along(
    sandbox_factory: SandboxFactory, first_use: str
) -> None:
    """Whether the children were read before the customers went (their tables built) or only after."""
    reference = sandbox_factory(size="tiny", seed=1, anchor=ANCHOR, clock=lambda: float(NOW))
    owners = {name: {r["customer_id"] for r in reference.export(name)} for name in CHILDREN}
    sb = sandbox_factory(size="tiny", seed=1, anchor=ANCHOR, clock=lambda: float(NOW))
    if first_use == "before":
        assert all(sb.export(name) for name in CHILDREN)
    deleted = set(sb.mutate("customers", delete=20)["customers"]["deleted"])
    for name, path in CHILDREN.items():
        assert deleted & owners[name], name
        left = sb.export(name)
        assert left == _pages(sb, path)
        assert {r["customer_id"] for r in left} == owners[name] - deleted


@pytest.mark.parametrize("first_use", ["before", "after"])
def test_a_deleted_attribute_takes_its_values_along(sandbox_factory: SandboxFactory, first_use: str) -> None:
    reference = sandbox_factory(size="tiny", seed=1, anchor=ANCHOR, clock=lambda: float(NOW))
    values = reference.export("customer_attribute_values")
    sb = sandbox_factory(size="tiny", seed=1, anchor=ANCHOR, clock=lambda: float(NOW))
    if first_use == "before":
        assert sb.export("customer_attribute_values") == values
    deleted = set(sb.mutate("customer_attributes", delete=2)["customer_attributes"]["deleted"])
    assert deleted & {v["attribute_id"] for v in values}
    assert sb.export("customer_attribute_values") == [v for v in values if v["attribute_id"] not in deleted]
    assert _pages(sb, "/v3/customers/attribute-values") == sb.export("customer_attribute_values")


def test_a_customer_holds_one_value_per_attribute_of_the_store(store: RunningSandbox) -> None:
    attributes = {a["id"]: a for a in store.export("customer_attributes")}
    customers = {c["id"] for c in store.export("customers")}
    for cid, mine in _by("customer_id", store.export("customer_attribute_values")).items():
        assert cid in customers
        assert len({v["attribute_id"] for v in mine}) == len(mine)
        for value in mine:
            kind = attributes[value["attribute_id"]]["type"]
            assert kind != "number" or value["attribute_value"].isdigit()


def test_inventory_items_add_up_to_their_products_stock_at_the_locations_there_are(
    store: RunningSandbox,
) -> None:
    def check() -> None:
        products = {p["id"]: p for p in store.export("products")}
        locations = {loc["id"] for loc in store.export("inventory_locations")}
        items = store.export("inventory_items")
        assert [i["identity"]["product_id"] for i in items] == sorted(products)
        for item in items:
            product = products[item["identity"]["product_id"]]
            assert item["identity"]["variant_id"] == product["base_variant_id"]
            assert item["identity"]["sku"] == product["sku"]
            assert {at["location_id"] for at in item["locations"]} <= locations
            assert sum(at["total_inventory_onhand"] for at in item["locations"]) == product["inventory_level"]

    check()
    updated = store.mutate("inventory_items", update=5)
    assert updated["inventory_items"] == updated["products"]
    assert len(updated["products"]["updated"]) == 5
    check()
    gone = store.mutate("inventory_locations", delete=1)["inventory_locations"]["deleted"]
    check()
    assert all(
        gone[0] not in {at["location_id"] for at in i["locations"]} for i in store.export("inventory_items")
    )


def test_inventory_items_come_and_go_with_their_products(store: RunningSandbox) -> None:
    changed = store.mutate("inventory_items", create=2, delete=1)
    assert changed["inventory_items"] == changed["products"]
    items = {i["identity"]["product_id"] for i in store.export("inventory_items")}
    created, deleted = set(changed["products"]["created"]), set(changed["products"]["deleted"])
    assert created - deleted <= items
    assert not deleted & items
    assert items == {p["id"] for p in store.export("products")}


@pytest.mark.parametrize(
    ("resource", "first_id"),
    # A tax class's id is a string (tools/specs/reference/tax_classes.v2.yml).
    [("currencies", 1), ("tax_classes", "1"), ("inventory_locations", 1), ("channels", 1)],
)
def test_the_record_a_store_opens_with_is_never_deleted(
    store: RunningSandbox, resource: str, first_id: int | str
) -> None:
    first = store.export(resource)[0]
    store.mutate(resource, delete=len(store.export(resource)))
    kept = store.export(resource)[0]
    assert kept["id"] == first["id"] == first_id
    assert kept.get("status", "active") != "deleted"


def test_channel_listings_walked_by_after_equal_the_pages(store: RunningSandbox) -> None:
    listed = [c["id"] for c in store.export("channels")]
    assert listed
    by_channel = _by("channel_id", store.export("channel_listings"))
    assert by_channel
    for chid in listed:
        walked: list[dict[str, Any]] = []
        last = 0
        while True:
            page = get(store, f"/v3/channels/{chid}/listings?limit=7&after={last}").json()["data"]
            if not page:
                break
            walked.extend(page)
            last = page[-1]["listing_id"]
        assert walked == by_channel.get(chid, [])
    # The page links of a request with `after` keep it: they page through the listings after it.
    chid, listings = max(by_channel.items(), key=lambda kv: len(kv[1]))
    after = listings[2]["listing_id"]
    followed: list[dict[str, Any]] = []
    link: str | None = f"?limit=3&after={after}"
    while link is not None:
        body = get(store, f"/v3/channels/{chid}/listings{link}").json()
        followed.extend(body["data"])
        link = body["meta"]["pagination"]["links"].get("next")
    assert followed == listings[3:]


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_exported_records_fit_the_schemas_generated_for_their_streams(
    sandbox_factory: SandboxFactory, strict: bool
) -> None:
    """What a stream will emit, before the connector's normalisations (which only turn date strings into
    other date strings): the sandbox's records, also once changed, fit tools/gen_schemas.py's schemas."""
    sb = sandbox_factory(strict=True, **STRICT_STORE) if strict else sandbox_factory(size="tiny", seed=1)
    for name in STORE_FAMILY:
        if name != "inventory_items":
            sb.mutate(name, update=2, create=1, delete=1)
    for name in STORE_FAMILY:
        records = sb.export(name)
        assert records, name
        check = Draft7Validator(schema(name))
        for record in records:
            check.validate(record)
