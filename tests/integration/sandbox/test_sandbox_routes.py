"""Routes, auth, scopes, error bodies, consignments, determinism and mutations, over real HTTP."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import orjson
import pytest
from sandbox_http import get, get_url

from bigcommerce_sandbox.app import RunningSandbox, SandboxFactory, Settings, running_sandbox
from bigcommerce_sandbox.registry import BY_NAME, REGISTRY

ERROR_TYPE = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
ANCHOR = 1_750_000_000


def _v2_ts(text: str) -> int:
    return int(datetime.strptime(text, "%a, %d %b %Y %H:%M:%S %z").timestamp())


# ------------------------------------------------------------------------------------ auth and errors


@pytest.mark.parametrize("token", ["", "wrong-token"])
def test_a_missing_or_wrong_token_is_401_with_the_documented_body(
    sandbox: RunningSandbox, token: str
) -> None:
    reply = get(sandbox, "/v3/catalog/products", token=token)
    assert reply.status == 401
    assert reply.json() == {
        "status": 401,
        "title": "Unauthorized - the v3 Auth client ID or token in the request are not a valid combination for this store.",
        "type": "/api-docs/getting-started/api-status-codes",
    }
    assert "X-Rate-Limit-Requests-Left" in reply.headers


def test_an_unknown_store_hash_is_404_before_auth(sandbox: RunningSandbox) -> None:
    v3 = get(sandbox, "/v3/customers", store="nosuchstore", token="")
    assert v3.status == 404
    assert v3.json()["status"] == 404
    v2 = get(sandbox, "/v2/orders", store="nosuchstore")
    assert v2.status == 404
    assert v2.json() == [{"status": 404, "message": "The requested resource was not found."}]


def test_unknown_paths_are_404_with_the_version_body(sandbox: RunningSandbox) -> None:
    v3 = get(sandbox, "/v3/catalog/nothing-here")
    assert v3.status == 404
    assert v3.json() == {"status": 404, "title": "The resource at that URL is not found.", "type": ERROR_TYPE}
    v2 = get(sandbox, "/v2/nothing-here")
    assert v2.status == 404
    assert v2.json() == [{"status": 404, "message": "The requested resource was not found."}]
    assert get(sandbox, "/v2/orders/999999").status == 404
    assert get(sandbox, "/v2/orders/abc").status == 404
    assert get(sandbox, "/v2/orders/999999/products").status == 404
    missing = get(sandbox, "/v3/orders/999999/transactions")
    assert missing.status == 404
    assert missing.json()["status"] == 404


# Every route of the registry, with a parent's id (the third generated order, product...; the first
# channel, the one sure to have a site) where the path takes one.
SCOPE_OF = {
    path.replace(
        "{id}",
        str(BY_NAME[r.parent_resource or "orders"].ids(0 if r.parent and r.parent.single else 2)),
    ): r.scope
    for r in REGISTRY
    for path in r.routes
}


@pytest.mark.parametrize(("path", "scope"), sorted(SCOPE_OF.items()))
def test_each_route_needs_its_scope(sandbox_factory: SandboxFactory, path: str, scope: str) -> None:
    others = sorted(set(SCOPE_OF.values()) - {scope})
    without = sandbox_factory(scopes=tuple(others))
    reply = get(without, path)
    assert reply.status == 403
    assert reply.json() == {
        "status": 403,
        "title": "You don't have a required scope to access the endpoint",
        "type": ERROR_TYPE,
        "errors": {},
    }
    with_it = sandbox_factory(scopes=(scope,))
    assert get(with_it, path).status in (200, 204)


def test_a_modify_scope_grants_its_read_only_variant(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(scopes=("store_v2_orders",))
    assert get(sb, "/v2/orders").status == 200
    assert get(sb, "/v3/customers").status == 403


def test_checks_run_store_then_token_then_scope(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(scopes=("store_v2_orders_read_only",))
    assert get(sb, "/v3/customers", store="other", token="bad").status == 404
    assert get(sb, "/v3/customers", token="bad").status == 401
    assert get(sb, "/v3/customers").status == 403


# --------------------------------------------------------------------------------------- objects


def test_store_is_one_object_whose_id_is_the_store_hash(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(store_hash="abc123")
    body = get(sb, "/v2/store").json()
    assert body["id"] == "abc123"
    assert body["default_channel_id"] == 1
    assert sb.config["store_hash"] == "abc123"


def test_channels_always_include_the_default_storefront(sandbox: RunningSandbox) -> None:
    data = get(sandbox, "/v3/channels").json()["data"]
    assert data[0]["id"] == 1
    assert data[0]["type"] == "storefront"
    assert len(data) >= 3


def test_transactions_use_string_order_ids_and_204_when_there_are_none(sandbox: RunningSandbox) -> None:
    transactions = sandbox.export("transactions")
    order_ids = {int(t["order_id"]) for t in transactions}
    assert all(isinstance(t["order_id"], str) for t in transactions)
    with_some = min(order_ids)
    body = get(sandbox, f"/v3/orders/{with_some}/transactions").json()
    assert body["meta"]["pagination"]["total"] == len(body["data"])
    without = next(o["id"] for o in sandbox.export("orders") if o["id"] not in order_ids)
    reply = get(sandbox, f"/v3/orders/{without}/transactions")
    assert reply.status == 204
    assert reply.body == b""


def test_pages_carry_a_body_only_when_asked(sandbox: RunningSandbox) -> None:
    plain = get(sandbox, "/v3/content/pages").json()["data"]
    assert all("body" not in p for p in plain)
    with_body = get(sandbox, "/v3/content/pages?include=body").json()["data"]
    assert any("body" in p for p in with_body)
    assert {p["type"] for p in with_body} >= {"page", "raw", "contact_form", "link", "blog"}
    assert all("body" not in p for p in with_body if p["type"] == "link")
    assert all("link" in p for p in with_body if p["type"] == "link")


def test_trees_categories_form_trees(sandbox: RunningSandbox) -> None:
    cats = get(sandbox, "/v3/catalog/trees/categories?limit=250").json()["data"]
    ids = {c["category_id"] for c in cats}
    assert any(c["parent_id"] == 0 for c in cats)
    assert all(c["parent_id"] == 0 or c["parent_id"] in ids for c in cats)
    assert all(isinstance(c["tree_id"], int) for c in cats)


def test_products_reference_existing_brands_and_categories(sandbox: RunningSandbox) -> None:
    brands = {b["id"] for b in sandbox.export("brands")}
    categories = {c["id"] for c in sandbox.export("categories")}
    for product in sandbox.export("products"):
        assert product["brand_id"] == 0 or product["brand_id"] in brands
        assert set(product["categories"]) <= categories


def test_orders_reference_customers_and_products_and_agree_with_their_line_items(
    sandbox: RunningSandbox,
) -> None:
    customers = {c["id"] for c in sandbox.export("customers")} | {0}
    products = {p["id"] for p in sandbox.export("products")} | {0}
    lines: dict[int, list[dict[str, Any]]] = {}
    for item in sandbox.export("order_products"):
        lines.setdefault(item["order_id"], []).append(item)
        assert item["product_id"] in products
    orders = sandbox.export("orders")
    for order in orders:
        assert order["customer_id"] in customers
        items = lines.get(order["id"], [])
        assert order["items_total"] == sum(i["quantity"] for i in items)
        subtotal = sum(float(i["total_inc_tax"]) for i in items)
        assert abs(float(order["subtotal_inc_tax"]) - subtotal) < 0.005
    counts = sorted(len(lines.get(o["id"], [])) for o in orders)
    assert counts[0] == 0
    assert 1 in counts
    assert counts[-1] > 50
    assert any(o["is_deleted"] for o in orders)


def test_order_links_point_at_the_sandbox(sandbox: RunningSandbox) -> None:
    order = get(sandbox, "/v2/orders?limit=1").json()[0]
    oid = order["id"]
    base = f"{sandbox.url}/stores/{sandbox.settings.store_hash}/v2"
    assert order["products"] == {
        "url": f"{base}/orders/{oid}/products",
        "resource": f"/orders/{oid}/products",
    }
    assert order["consignments"] == {
        "url": f"{base}/orders/{oid}/consignments",
        "resource": f"/orders/{oid}/consignments",
    }
    assert order["coupons"]["resource"] == f"/orders/{oid}/coupons"
    assert order["shipping_addresses"]["resource"] == f"/orders/{oid}/shippingaddresses"
    assert order["date_shipped"] == "" or _v2_ts(order["date_shipped"]) >= _v2_ts(order["date_created"])
    whole, cents = order["total_inc_tax"].split(".")
    assert whole.isdigit()
    assert len(cents) == 4


# ---------------------------------------------------------------------------------- consignments


def _consignment_items(order: dict[str, Any]) -> list[tuple[dict[str, Any], list[Any]]]:
    cons = order["consignments"]
    groups = cons["shipping"] + cons["pickups"] + cons["downloads"] + cons["email"]["gift_certificates"]
    return [(c, c["line_items"]) for c in groups]


def test_consignment_line_items_are_the_order_products_capped_at_50_with_a_warning(
    sandbox: RunningSandbox,
) -> None:
    query = "include=consignments.line_items&consignment_structure=object"
    orders = get(sandbox, f"/v2/orders?limit=250&{query}").json()
    by_order: dict[int, list[dict[str, Any]]] = {}
    for item in sandbox.export("order_products"):
        by_order.setdefault(item["order_id"], []).append(item)
    warned = 0
    for order in orders:
        embedded = [li for _c, items in _consignment_items(order) for li in items]
        full = by_order.get(order["id"], [])
        for consignment, items in _consignment_items(order):
            assert len(items) <= 50
            if "__warning__" in consignment:
                warned += 1
                assert len(items) == 50
                assert consignment["__warning__"] == {
                    "message": "Not all line items of this consignment are returned with this response, only 50 are "
                    "included. Please use the `/v2/orders/{order_id}/products` endpoint to fetch all line items."
                }
        if len(embedded) == len(full):
            assert sorted(embedded, key=lambda li: li["id"]) == full
        else:
            assert all(li in full for li in embedded)
    assert warned >= 1
    one = orders[3]
    assert get(sandbox, f"/v2/orders/{one['id']}?{query}").json() == one


def test_include_consignments_alone_gives_line_item_links(sandbox: RunningSandbox) -> None:
    orders = get(sandbox, "/v2/orders?include=consignments&consignment_structure=object").json()
    order = next(o for o in orders if o["items_total"])
    items = [li for _c, group in _consignment_items(order) for li in group]
    assert items
    for link in items:
        assert set(link) == {"url", "resource"}
        assert link["resource"].startswith(f"/orders/{order['id']}/products/")


# ------------------------------------------------------------------------------------ determinism


def _snapshot(sb: RunningSandbox) -> list[bytes]:
    paths = [
        "/v3/customers?limit=250",
        "/v2/orders?limit=250&include=consignments.line_items&consignment_structure=object",
        "/v3/catalog/products?limit=250",
        "/v3/content/pages?include=body",
        "/v3/catalog/trees/categories",
        "/v3/channels",
        "/v2/store",
        "/v3/orders/104/transactions",
    ]
    return [get(sb, p).body for p in paths] + [
        b"\n".join(sb.export_lines(r))
        for r in ("orders", "order_products", *(e.name for e in REGISTRY if e.parent is not None))
    ]


def test_same_seed_and_anchor_give_byte_identical_responses() -> None:
    settings = Settings(seed=7, anchor=ANCHOR)
    with running_sandbox(settings) as first:
        port = int(first.url.rsplit(":", 1)[1])
        one = _snapshot(first)
    # The same port, so the link objects in orders (which name the sandbox's URL) match too.
    with running_sandbox(Settings(seed=7, anchor=ANCHOR, port=port)) as second:
        two = _snapshot(second)
    assert one == two
    with running_sandbox(Settings(seed=8, anchor=ANCHOR, port=port)) as other:
        three = _snapshot(other)
    assert all(a != b for a, b in zip(one[:3], three[:3], strict=True))


def test_a_warm_start_serves_the_same_bytes() -> None:
    with running_sandbox(Settings(seed=2, anchor=ANCHOR)) as cold:
        port = int(cold.url.rsplit(":", 1)[1])
        one = _snapshot(cold)
    with running_sandbox(Settings(seed=2, anchor=ANCHOR, port=port, warm=True)) as warm:
        assert _snapshot(warm) == one


def test_generated_times_stay_before_the_anchor(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(anchor=ANCHOR)
    for order in sb.export("orders"):
        assert _v2_ts(order["date_modified"]) <= ANCHOR - 1
        assert _v2_ts(order["date_created"]) <= _v2_ts(order["date_modified"])
    stamps = [_v2_ts(o["date_modified"]) for o in sb.export("orders")]
    assert max(stamps) - min(stamps) > 2 * 365 * 86400  # spread over years


# -------------------------------------------------------------------------------------- mutations


def test_updated_customers_move_date_modified_to_now_and_the_export_shows_it(
    sandbox_factory: SandboxFactory,
) -> None:
    now = [float(ANCHOR + 3600)]
    sb = sandbox_factory(anchor=ANCHOR, clock=lambda: now[0])
    result = sb.mutate("customers", update=3)
    updated = result["customers"]["updated"]
    assert len(updated) == 3
    exported = {c["id"]: c for c in sb.export("customers")}
    for cid in updated:
        assert exported[cid]["date_modified"] == time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(ANCHOR + 3600)
        )
        one = get(sb, f"/v3/customers?id:in={cid}").json()["data"][0]
        assert one == exported[cid]
    newest = get(sb, "/v3/customers?sort=date_modified:desc&limit=3").json()["data"]
    assert sorted(c["id"] for c in newest) == sorted(updated)


def test_created_records_get_ids_above_the_max_and_deleted_ones_disappear(sandbox: RunningSandbox) -> None:
    before = [p["id"] for p in sandbox.export("products")]
    result = sandbox.mutate("products", create=2, delete=2)["products"]
    assert all(i > max(before) for i in result["created"])
    after = [p["id"] for p in sandbox.export("products")]
    assert set(after) == (set(before) - set(result["deleted"])) | set(result["created"])
    assert get(sandbox, f"/v3/catalog/products?id:in={result['deleted'][0]}").json()["data"] == []


HARD_DELETED = {
    "customers": "/v3/customers?limit=250",
    "products": "/v3/catalog/products?limit=250",
    "brands": "/v3/catalog/brands?limit=250",
    "categories": "/v3/catalog/categories?limit=250",
    "pages": "/v3/content/pages?limit=250&include=body",
}


@pytest.mark.parametrize(("resource", "path"), sorted(HARD_DELETED.items()))
def test_hard_deleted_records_leave_the_export_and_the_list(
    sandbox: RunningSandbox, resource: str, path: str
) -> None:
    before = {r["id"] for r in sandbox.export(resource)}
    deleted = sandbox.mutate(resource, delete=2)[resource]["deleted"]
    assert len(deleted) == 2
    after = sandbox.export(resource)
    assert {r["id"] for r in after} == before - set(deleted)
    assert get(sandbox, path).json()["data"] == after
    if resource in ("brands", "categories"):
        for product in sandbox.export("products"):
            assert product["brand_id"] not in deleted
            assert not set(product["categories"]) & set(deleted)
    if resource == "categories":
        trees = get(sandbox, "/v3/catalog/trees/categories?limit=250").json()["data"]
        assert {c["category_id"] for c in trees} == {c["id"] for c in after}


def test_deleted_orders_are_soft_deleted_and_stay_listed(sandbox: RunningSandbox) -> None:
    deleted = sandbox.mutate("orders", delete=1)["orders"]["deleted"][0]
    order = get(sandbox, f"/v2/orders/{deleted}").json()
    assert order["is_deleted"] is True
    assert deleted in [o["id"] for o in get(sandbox, "/v2/orders?limit=250").json()]


def test_mutating_a_child_moves_its_order_date_modified(sandbox_factory: SandboxFactory) -> None:
    now = [float(ANCHOR + 7200)]
    sb = sandbox_factory(anchor=ANCHOR, clock=lambda: now[0])
    result = sb.mutate("order_products", update=1, create=1)
    parents = result["orders"]["updated"]
    assert parents
    orders = {o["id"]: o for o in sb.export("orders")}
    for oid in parents:
        assert _v2_ts(orders[oid]["date_modified"]) == ANCHOR + 7200
    created = result["order_products"]["created"][0]
    owner = next(p for p in sb.export("order_products") if p["id"] == created)["order_id"]
    assert owner in parents
    products = get(sb, f"/v2/orders/{owner}/products?limit=250").json()
    assert created in [p["id"] for p in products]
    assert orders[owner]["items_total"] == sum(p["quantity"] for p in products)
    txs = sb.mutate("transactions", create=1)
    assert (
        _v2_ts(get(sb, f"/v2/orders/{txs['orders']['updated'][0]}").json()["date_modified"]) == ANCHOR + 7200
    )


def test_mutations_choose_the_same_records_for_the_same_seed(sandbox_factory: SandboxFactory) -> None:
    one = sandbox_factory(seed=3, anchor=ANCHOR)
    two = sandbox_factory(seed=3, anchor=ANCHOR)
    for resource in ("customers", "orders", "order_products"):
        assert one.mutate(resource, update=2, create=1, delete=1) == two.mutate(
            resource, update=2, create=1, delete=1
        )


def test_mutate_rejects_bad_requests(sandbox: RunningSandbox) -> None:
    request = sandbox.url + "/__sandbox/mutate"
    import urllib.error
    import urllib.request

    for payload in ({"resource": "widgets", "update": 1}, {"resource": "customers", "update": -1}):
        req = urllib.request.Request(
            request, data=orjson.dumps(payload), method="POST", headers={"Content-Type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=10)
        assert err.value.code == 400
        err.value.close()


def test_export_matches_what_each_endpoint_returns(sandbox: RunningSandbox) -> None:
    assert sandbox.export("customers") == get(sandbox, "/v3/customers?limit=250").json()["data"]
    assert sandbox.export("orders") == get(sandbox, "/v2/orders?limit=250").json()
    assert sandbox.export("pages") == get(sandbox, "/v3/content/pages?include=body").json()["data"]
    assert sandbox.export("store") == [get(sandbox, "/v2/store").json()]
    assert sandbox.export("channels") == get(sandbox, "/v3/channels").json()["data"]
    assert sandbox.export("brands") == get(sandbox, "/v3/catalog/brands").json()["data"]
    assert sandbox.export("categories") == get(sandbox, "/v3/catalog/categories").json()["data"]
    first = sandbox.export("orders")[2]["id"]
    assert [p for p in sandbox.export("order_products") if p["order_id"] == first] == get(
        sandbox, f"/v2/orders/{first}/products"
    ).json()


# -------------------------------------------------------------------------------------- admin routes


def test_admin_routes_need_no_auth_and_are_not_counted(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(quota=2, window_ms=60_000)
    assert get_url(sb.url + "/__sandbox/health").json() == {"status": "ok"}
    for _ in range(3):
        sb.export("orders")
    assert sb.stats()["total_requests"] == 0
    assert get(sb, "/v2/store").status == 200
    stats = sb.stats()
    assert stats["requests"]["/stores/{store_hash}/v2/store"] == {"total": 1, "by_status": {"200": 1}}
    sb.reset_stats()
    assert sb.stats()["total_requests"] == 0


def test_activity_keeps_changing_the_store_in_the_background(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(activity=60)
    before = {r: sb.export(r) for r in ("customers", "orders", "products")}
    deadline = time.monotonic() + 5
    changed: set[str] = set()
    while time.monotonic() < deadline and changed != set(before):
        time.sleep(0.2)
        changed = {r for r, records in before.items() if sb.export(r) != records}
    assert changed == set(before)
    assert get(sb, "/v2/orders?limit=250").status == 200
