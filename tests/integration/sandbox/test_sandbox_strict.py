"""The stingy options (Settings(strict=True) and each one alone), pinned over real HTTP against the export."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from typing import Any

import pytest
from sandbox_http import get

from bigcommerce_sandbox.app import RunningSandbox, SandboxFactory, Settings
from bigcommerce_sandbox.registry import BY_NAME
from bigcommerce_sandbox.strict import STRICT_PAGE_CAPS

INCLUDE_CAP = BY_NAME["products"].include_caps["options"]

ANCHOR = 1_750_000_000
LINE_ITEMS = "include=consignments.line_items&consignment_structure=object"


def _v3_walk(sb: RunningSandbox, path: str, limit: int = 250) -> tuple[list[dict[str, Any]], list[int]]:
    """Every record of a v3 list, following links.next; also each page's served per_page."""
    out: list[dict[str, Any]] = []
    sizes: list[int] = []
    request = f"{path}{'&' if '?' in path else '?'}limit={limit}"
    while True:
        body = get(sb, request).json()
        out.extend(body["data"])
        pagination = body["meta"]["pagination"]
        sizes.append(pagination["per_page"])
        if "next" not in pagination["links"]:
            return out, sizes
        # links are query strings carrying the request's other parameters (see the facts file, §0).
        request = path.partition("?")[0] + pagination["links"]["next"]


def _v2_walk(sb: RunningSandbox, path: str, limit: int = 250) -> tuple[list[dict[str, Any]], list[int]]:
    """Every row of a v2 list, page by page until 204; also each page's row count."""
    out: list[dict[str, Any]] = []
    sizes: list[int] = []
    sep = "&" if "?" in path else "?"
    page = 1
    while True:
        reply = get(sb, f"{path}{sep}page={page}&limit={limit}")
        if reply.status == 204:
            return out, sizes
        assert reply.status == 200, reply.body
        rows = reply.json()
        out.extend(rows)
        sizes.append(len(rows))
        page += 1


# ---------------------------------------------------------------------------------------- page caps


def test_a_capped_v3_list_serves_fewer_rows_and_numbers_pages_by_the_served_size(
    sandbox_factory: SandboxFactory,
) -> None:
    sb = sandbox_factory(customers=100, page_cap=40)
    first = get(sb, "/v3/customers?limit=250").json()
    pagination = first["meta"]["pagination"]
    assert len(first["data"]) == 40
    assert pagination["per_page"] == 40
    assert pagination["count"] == 40
    assert pagination["total"] == 100
    assert pagination["total_pages"] == 3
    assert pagination["links"]["next"] == "?page=2&limit=40"
    # Page 2 asked with limit=250 is still the second page of 40: records 40 to 79.
    second = get(sb, "/v3/customers?page=2&limit=250").json()["data"]
    export = sb.export("customers")
    assert second == export[40:80]
    walked, sizes = _v3_walk(sb, "/v3/customers")
    assert walked == export
    assert sizes == [40, 40, 40]


def test_a_capped_v2_list_simply_serves_fewer_rows(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(orders=100, page_cap=40)
    rows, sizes = _v2_walk(sb, "/v2/orders")
    assert sizes == [40, 40, 20]
    assert rows == sb.export("orders")
    assert get(sb, "/v2/orders?limit=10").json() == rows[:10]  # under the cap, the limit asked


def test_a_cap_for_one_resource_leaves_the_others_alone(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(customers=100, products=100, page_caps={"products": 7})
    assert get(sb, "/v3/catalog/products?limit=250").json()["meta"]["pagination"]["per_page"] == 7
    customers = get(sb, "/v3/customers?limit=250").json()
    assert customers["meta"]["pagination"]["per_page"] == 250
    assert customers["data"] == sb.export("customers")


def test_strict_caps_every_list_by_its_table_and_options_at_10(strict_sandbox: RunningSandbox) -> None:
    assert any(250 % cap for cap in STRICT_PAGE_CAPS.values()), "some caps must not divide 250"
    v3 = {
        "customers": "/v3/customers",
        "products": "/v3/catalog/products",
        "brands": "/v3/catalog/brands",
        "categories": "/v3/catalog/categories",
        "trees": "/v3/catalog/trees/categories",
        "channels": "/v3/channels",
        "pages": "/v3/content/pages",
    }
    for resource, path in v3.items():
        body = get(strict_sandbox, f"{path}?limit=250").json()
        assert body["meta"]["pagination"]["per_page"] == STRICT_PAGE_CAPS[resource], resource
        assert len(body["data"]) == STRICT_PAGE_CAPS[resource], resource
    assert len(get(strict_sandbox, "/v2/orders?limit=250").json()) == STRICT_PAGE_CAPS["orders"]
    big = max(strict_sandbox.export("orders"), key=lambda o: o["items_total"])
    items = get(strict_sandbox, f"/v2/orders/{big['id']}/products?limit=250").json()
    assert len(items) == STRICT_PAGE_CAPS["order_products"]
    for include in ("options", "modifiers", "images,options"):
        body = get(strict_sandbox, f"/v3/catalog/products?limit=250&include={include}").json()
        assert body["meta"]["pagination"]["per_page"] == INCLUDE_CAP
        assert body["meta"]["pagination"]["total_pages"] == -(-len(strict_sandbox.export("products")) // 10)


def test_every_strict_list_walked_by_its_links_equals_the_export(strict_sandbox: RunningSandbox) -> None:
    for resource, path in (
        ("customers", "/v3/customers"),
        ("products", "/v3/catalog/products"),
        ("brands", "/v3/catalog/brands"),
        ("categories", "/v3/catalog/categories"),
        ("channels", "/v3/channels"),
    ):
        walked, _sizes = _v3_walk(strict_sandbox, path)
        assert walked == strict_sandbox.export(resource), resource


def test_the_strict_switch_yields_to_an_option_set_on_its_own() -> None:
    strictness = Settings(strict=True, shuffle_ties=False, count_lag=0, page_caps={"orders": 5}).strictness()
    assert strictness.shuffle_ties is False
    assert strictness.count_lag == 0
    assert strictness.hide_archived is True
    assert strictness.cap("orders") == 5
    assert strictness.cap("customers") == STRICT_PAGE_CAPS["customers"]
    loose = Settings(hide_archived=True).strictness()
    assert loose.hide_archived is True
    assert loose.shuffle_ties is False
    assert loose.cap("customers") is None
    assert loose.cap("products", frozenset({"options"})) is None


# --------------------------------------------------------------------------------------------- ties


def _tie_second_customers(sb: RunningSandbox) -> list[int]:
    stamps = Counter(c["date_modified"] for c in sb.export("customers"))
    tied, count = stamps.most_common(1)[0]
    assert count > 40, "the tie cluster must be larger than a page"
    return [c["id"] for c in sb.export("customers") if c["date_modified"] == tied]


def test_ties_come_in_a_different_order_each_request_unless_sorted_by_id(
    sandbox_factory: SandboxFactory,
) -> None:
    sb = sandbox_factory(anchor=ANCHOR, shuffle_ties=True, customers=130, tie_cluster=75)
    tied = _tie_second_customers(sb)
    path = "/v3/customers?sort=date_modified:asc&limit=250"
    orders = [[c["id"] for c in get(sb, path).json()["data"]] for _ in range(4)]
    assert all(sorted(o) == sorted(orders[0]) for o in orders), "the same records every time"
    assert len({tuple(o) for o in orders}) > 1, "ties must not keep one order"
    for ids in orders:
        positions = [ids.index(i) for i in tied]
        assert max(positions) - min(positions) == len(tied) - 1, "a tie group stays together"
    # Ties keep the order of their sort: dates still ascend.
    body = get(sb, path).json()["data"]
    assert [c["date_modified"] for c in body] == sorted(c["date_modified"] for c in body)
    by_id = [get(sb, "/v3/customers?limit=250").json()["data"] for _ in range(2)]
    assert by_id[0] == by_id[1] == sb.export("customers")


def test_a_page_of_shuffled_ties_holds_its_share_of_the_group(sandbox_factory: SandboxFactory) -> None:
    """Each page holds as many records of a tie group as its place in the sort gives it, but which ones
    changes between requests, so a walk by page number may repeat or miss tied records: what a reader
    must survive (by keyset, or by sorting on id within a tied second)."""
    sb = sandbox_factory(anchor=ANCHOR, shuffle_ties=True, orders=150, tie_cluster=75)
    walked, _sizes = _v2_walk(sb, "/v2/orders?sort=date_modified:asc", limit=20)

    def stamp(order: dict[str, Any]) -> datetime:
        return datetime.strptime(order["date_modified"], "%a, %d %b %Y %H:%M:%S %z")

    export = sorted(sb.export("orders"), key=lambda o: (stamp(o), o["id"]))
    assert [o["date_modified"] for o in walked] == [o["date_modified"] for o in export]
    assert [o["id"] for o in walked] != [o["id"] for o in export], "tied orders must not keep id order"


def test_shuffled_ties_replay_under_the_same_seed_and_requests(sandbox_factory: SandboxFactory) -> None:
    paths = ["/v3/customers?sort=date_modified:asc&limit=250", "/v2/orders?sort=date_modified:desc&limit=250"]
    replies = []
    for _ in range(2):
        sb = sandbox_factory(anchor=ANCHOR, shuffle_ties=True, customers=130, orders=150, tie_cluster=75)
        # Ids, since orders' link objects name each sandbox's own port.
        replies.append([[r["id"] for r in _records(get(sb, p).json())] for p in paths * 2])
    assert replies[0] == replies[1]
    assert replies[0][0] != replies[0][2], "and still differ from one request to the next"


def _records(body: Any) -> list[dict[str, Any]]:
    return body["data"] if isinstance(body, dict) else body  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------ lagging count


def test_the_order_count_lags_changes_for_the_configured_requests(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(count_lag=2)
    before = get(sb, "/v2/orders/count").json()["count"]
    assert get(sb, "/v2/orders/count").json()["count"] == before
    created = sb.mutate("orders", create=3)["orders"]["created"]
    rows, _sizes = _v2_walk(sb, "/v2/orders")
    assert {o["id"] for o in rows} >= set(created), "the list is current at once"
    assert [get(sb, "/v2/orders/count").json()["count"] for _ in range(3)] == [before, before, before + 3]
    assert get(sb, "/v2/orders/count").json()["count"] == before + 3


def test_without_count_lag_the_count_is_always_current(sandbox: RunningSandbox) -> None:
    before = get(sandbox, "/v2/orders/count").json()["count"]
    sandbox.mutate("orders", create=2)
    assert get(sandbox, "/v2/orders/count").json()["count"] == before + 2


# -------------------------------------------------------------------------------------- heavy pages


def test_a_page_of_orders_with_too_many_line_items_is_a_500(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(heavy_page_items=100)
    heavy = get(sb, f"/v2/orders?limit=250&{LINE_ITEMS}")
    assert heavy.status == 500
    assert heavy.json() == [{"status": 500, "message": "Internal Server Error"}]
    assert get(sb, "/v2/orders?limit=250").status == 200, "without line items the page is light"
    big = max(sb.export("orders"), key=lambda o: o["items_total"])
    assert big["items_total"] > 50
    one = get(sb, f"/v2/orders?min_id={big['id']}&limit=1&{LINE_ITEMS}")
    assert one.status == 200, "one order a page always succeeds"
    # Smaller pages get through: every order arrives once.
    rows, _sizes = _v2_walk(sb, f"/v2/orders?{LINE_ITEMS}", limit=10)
    assert [o["id"] for o in rows] == [o["id"] for o in sb.export("orders")]


# ---------------------------------------------------------------------------------- archived orders


def test_hidden_archived_orders_are_listed_only_with_is_deleted_true(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(hide_archived=True)
    sb.mutate("orders", archive=3)
    export = sb.export("orders")
    archived = {o["id"] for o in export if o["is_deleted"]}
    assert len(archived) >= 4
    listed, _ = _v2_walk(sb, "/v2/orders")
    assert {o["id"] for o in listed} == {o["id"] for o in export} - archived
    assert get(sb, "/v2/orders/count").json()["count"] == len(listed)
    only, _ = _v2_walk(sb, "/v2/orders?is_deleted=true")
    assert {o["id"] for o in only} == archived
    assert all(o["is_deleted"] for o in only)
    assert get(sb, "/v2/orders/count?is_deleted=true").json()["count"] == len(archived)
    assert get(sb, f"/v2/orders/{min(archived)}").json()["is_deleted"] is True


def test_by_default_archived_orders_stay_listed_and_is_deleted_filters(sandbox: RunningSandbox) -> None:
    export = sandbox.export("orders")
    listed, _ = _v2_walk(sandbox, "/v2/orders")
    assert listed == export
    only, _ = _v2_walk(sandbox, "/v2/orders?is_deleted=true")
    assert only == [o for o in export if o["is_deleted"]]
    assert get(sandbox, "/v2/orders?is_deleted=maybe").status == 400


@pytest.mark.parametrize("bump", [True, False])
def test_archiving_an_order_bumps_date_modified_only_when_asked(
    sandbox_factory: SandboxFactory, bump: bool
) -> None:
    now = float(ANCHOR + 3600)
    sb = sandbox_factory(anchor=ANCHOR, clock=lambda: now)
    before = {o["id"]: o for o in sb.export("orders")}
    archived = sb.mutate("orders", archive=2, bump_date_modified=bump)["orders"]["archived"]
    assert len(archived) == 2
    after = {o["id"]: o for o in sb.export("orders")}
    for oid in archived:
        assert before[oid]["is_deleted"] is False
        assert after[oid]["is_deleted"] is True
        changed = {k for k in after[oid] if after[oid][k] != before[oid][k]}
        assert changed == ({"is_deleted", "date_modified"} if bump else {"is_deleted"})
        if bump:
            assert after[oid]["date_modified"] == "Sun, 15 Jun 2025 16:06:40 +0000"
    assert {k: v for k, v in after.items() if k not in archived} == {
        k: v for k, v in before.items() if k not in archived
    }


def test_only_orders_can_be_archived(sandbox: RunningSandbox) -> None:
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as err:
        sandbox.mutate("customers", archive=1)
    assert err.value.code == 400
    assert b"only orders can be archived" in err.value.read()
    err.value.close()


# ------------------------------------------------------------------------------- refused parameters


@pytest.mark.parametrize("path", ["/v3/customers", "/v3/channels"])
def test_percent_encoded_date_filters_are_refused_where_bigcommerce_refuses_them(
    sandbox_factory: SandboxFactory, path: str
) -> None:
    strict = sandbox_factory(reject_encoded_dates=True)
    encoded = get(strict, f"{path}?date_modified:min=2021-10-19T20%3A00%3A00Z")
    assert encoded.status == 400
    assert encoded.json() == {
        "status": 400,
        "title": 'Query parameter "date_modified:min" value must be a date. For input string: '
        '"2021-10-19T20%3A00%3A00Z".',
        "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
    }
    assert get(strict, f"{path}?date_created:max=2031-01-01T00%3A00%3A00Z").status == 400
    assert get(strict, f"{path}?date_modified:min=2021-10-19T20:00:00Z").status == 200
    assert get(strict, f"{path}?date_modified%3Amin=2021-10-19T20:00:00Z").status == 200, (
        "names may be encoded"
    )
    loose = sandbox_factory()
    assert get(loose, f"{path}?date_modified:min=2021-10-19T20%3A00%3A00Z").status == 200


def test_products_accept_encoded_dates_as_their_spec_examples_send_them(
    sandbox_factory: SandboxFactory,
) -> None:
    sb = sandbox_factory(reject_encoded_dates=True)
    assert get(sb, "/v3/catalog/products?date_modified:min=2021-10-19T20%3A00%3A00%2B00%3A00").status == 200


def test_pages_refuse_query_parameters_they_do_not_support(sandbox_factory: SandboxFactory) -> None:
    strict = sandbox_factory(reject_unknown_params=True)
    refused = get(strict, "/v3/content/pages?sort=name&limit=5")
    assert refused.status == 400
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    body = refused.json()
    assert body["status"] == 400
    assert "'sort'" in body["title"]
    ok = get(strict, "/v3/content/pages?channel_id=1&id:in=1,2&name:like=a&limit=5&page=1&include=body")
    assert ok.status == 200
    assert get(sandbox_factory(), "/v3/content/pages?sort=name").status == 200


# -------------------------------------------------------------------------------------- rare dates


def test_rare_dates_are_filled_in_the_spec_formats(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(fill_rare_dates=True, orders=150, products=100)
    events = [p["event_date"] for p in sb.export("order_products") if p["event_date"] is not None]
    assert events, "some line items carry an event date"
    for value in events:
        # orders.v2.oas2.yml: event_date is "format: date", not a midnight timestamp.
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)
        date.fromisoformat(value)
    imported = [p["date_last_imported"] for p in sb.export("products") if p["date_last_imported"]]
    assert imported
    for value in imported:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00", value)
    loose = sandbox_factory(orders=150, products=100)
    assert all(p["event_date"] is None for p in loose.export("order_products"))
    assert all(p["date_last_imported"] == "" for p in loose.export("products"))
