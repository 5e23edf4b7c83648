"""Paging, filters, sorts and cursors, pinned against the sandbox's own export as ground truth."""

from __future__ import annotations

import calendar
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

import pytest
from sandbox_http import get

from bigcommerce_sandbox.app import RunningSandbox, SandboxFactory

ANCHOR = 1_750_000_000  # 2025-06-15T15:06:40Z


def _v2_ts(text: str) -> int:
    return int(datetime.strptime(text, "%a, %d %b %Y %H:%M:%S %z").timestamp())


def _iso_ts(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _all_v2(sb: RunningSandbox, path: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    sep = "&" if "?" in path else "?"
    page = 1
    while True:
        reply = get(sb, f"{path}{sep}page={page}&limit=7")
        if reply.status == 204:
            assert reply.body == b""
            return out
        assert reply.status == 200
        out.extend(reply.json())
        page += 1


def _all_v3(sb: RunningSandbox, path: str, limit: int = 7) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    sep = "&" if "?" in path else "?"
    page = 1
    while True:
        body = get(sb, f"{path}{sep}page={page}&limit={limit}").json()
        out.extend(body["data"])
        if page >= body["meta"]["pagination"]["total_pages"]:
            return out
        page += 1


# ---------------------------------------------------------------------------------------------- paging


def test_v3_meta_pagination_defaults_to_50_per_page_with_query_string_links(
    sandbox_factory: SandboxFactory,
) -> None:
    sb = sandbox_factory(customers=120)
    meta = get(sb, "/v3/customers").json()["meta"]["pagination"]
    assert meta == {
        "total": 120,
        "count": 50,
        "per_page": 50,
        "current_page": 1,
        "total_pages": 3,
        "links": {"current": "?page=1&limit=50", "next": "?page=2&limit=50"},
    }
    last = get(sb, "/v3/customers?page=3").json()["meta"]["pagination"]
    assert last["count"] == 20
    assert last["links"] == {"current": "?page=3&limit=50", "previous": "?page=2&limit=50"}


def test_v3_links_keep_the_other_query_parameters(sandbox: RunningSandbox) -> None:
    links = get(sandbox, "/v3/catalog/products?page=2&limit=5&sort=name&id:min=1").json()["meta"][
        "pagination"
    ]["links"]
    assert links == {
        "current": "?page=2&limit=5&sort=name&id%3Amin=1",
        "previous": "?page=1&limit=5&sort=name&id%3Amin=1",
        "next": "?page=3&limit=5&sort=name&id%3Amin=1",
    }


def test_v3_page_past_the_end_is_200_with_empty_data(sandbox: RunningSandbox) -> None:
    reply = get(sandbox, "/v3/catalog/products?page=99&limit=10")
    assert reply.status == 200
    body = reply.json()
    assert body["data"] == []
    assert body["meta"]["pagination"]["count"] == 0
    assert body["meta"]["pagination"]["total"] == len(sandbox.export("products"))


def test_v2_pages_are_bare_arrays_and_an_empty_page_is_204_with_no_body(sandbox: RunningSandbox) -> None:
    first = get(sandbox, "/v2/orders")
    assert first.status == 200
    assert isinstance(first.json(), list)
    assert len(first.json()) == 50  # the default limit
    past = get(sandbox, "/v2/orders?page=500")
    assert past.status == 204
    assert past.body == b""
    assert "Content-Type" not in past.headers or past.headers.get("Content-Length") == "0"


def test_v2_orders_default_to_id_ascending_and_page_through_every_order(sandbox: RunningSandbox) -> None:
    ids = [o["id"] for o in _all_v2(sandbox, "/v2/orders")]
    assert ids == sorted(ids)
    assert ids == [o["id"] for o in sandbox.export("orders")]


@pytest.mark.parametrize("path", ["/v3/customers?limit=251", "/v3/catalog/products?limit=1000"])
def test_limit_over_250_is_413_on_v3(sandbox: RunningSandbox, path: str) -> None:
    reply = get(sandbox, path)
    assert reply.status == 413
    body = reply.json()
    assert body["status"] == 413
    assert body["title"] == "The specified limit exceeds the maximum allowed."


def test_limit_over_250_is_413_with_the_v2_array_body(sandbox: RunningSandbox) -> None:
    reply = get(sandbox, "/v2/orders?limit=251")
    assert reply.status == 413
    assert reply.json() == [
        {
            "status": 413,
            "message": "The specified limit exceeds the maximum allowed.",
            "details": {"max_limit": 250},
        }
    ]
    assert get(sandbox, "/v2/orders?limit=250").status == 200


def test_a_non_integer_limit_is_422_on_v3_and_400_on_v2(sandbox: RunningSandbox) -> None:
    v3 = get(sandbox, "/v3/channels?limit=a")
    assert v3.status == 422
    assert v3.json() == {
        "status": 422,
        "title": 'Query parameter "limit" value must be integer. For input string: "a".',
        "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
        "errors": {},
    }
    v2 = get(sandbox, "/v2/orders?page=two")
    assert v2.status == 400
    assert v2.json()[0]["status"] == 400
    assert "page" in v2.json()[0]["message"]


def test_order_products_page_with_204_past_the_end(sandbox: RunningSandbox) -> None:
    big = next(o for o in sandbox.export("orders") if o["items_total"] > 50)
    first = get(sandbox, f"/v2/orders/{big['id']}/products")
    assert first.status == 200
    assert len(first.json()) == 50
    rest = get(sandbox, f"/v2/orders/{big['id']}/products?page=2")
    assert len(first.json()) + len(rest.json()) == sum(
        1 for p in sandbox.export("order_products") if p["order_id"] == big["id"]
    )
    assert get(sandbox, f"/v2/orders/{big['id']}/products?page=3").status == 204


# --------------------------------------------------------------------------------------------- filters


def test_v3_date_modified_min_and_max_are_inclusive(sandbox: RunningSandbox) -> None:
    customers = sandbox.export("customers")
    pivot = _iso_ts(customers[len(customers) // 2]["date_modified"])
    got = {
        c["id"]
        for c in _all_v3(
            sandbox, f"/v3/customers?date_modified:min={_iso(pivot)}&date_modified:max={_iso(pivot)}"
        )
    }
    assert got == {c["id"] for c in customers if _iso_ts(c["date_modified"]) == pivot}
    assert got
    after = {c["id"] for c in _all_v3(sandbox, f"/v3/customers?date_modified:min={_iso(pivot + 1)}")}
    assert after == {c["id"] for c in customers if _iso_ts(c["date_modified"]) > pivot}


@pytest.mark.parametrize(
    "render",
    [
        lambda ts: format_datetime(
            datetime.fromtimestamp(ts, timezone(timedelta(hours=-4)))
        ),  # RFC 2822, -0400
        lambda ts: _iso(ts),  # ISO 8601 with Z
        lambda ts: datetime.fromtimestamp(ts, timezone(timedelta(hours=5, minutes=30))).isoformat(),  # offset
        lambda ts: time.strftime("%Y-%m-%dT%H:%M:%S.000-00:00", time.gmtime(ts)),  # fraction
        lambda ts: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)),  # no zone: UTC
    ],
    ids=["rfc2822", "iso-z", "iso-offset", "iso-fraction", "iso-no-zone"],
)
def test_v2_order_date_filters_accept_rfc2822_and_iso_8601(sandbox: RunningSandbox, render: Any) -> None:
    orders = sandbox.export("orders")
    stamps = sorted(_v2_ts(o["date_modified"]) for o in orders)
    lo, hi = stamps[len(stamps) // 4], stamps[3 * len(stamps) // 4]
    path = f"/v2/orders?min_date_modified={quote(render(lo))}&max_date_modified={quote(render(hi))}"
    got = [o["id"] for o in _all_v2(sandbox, path)]
    assert got == [o["id"] for o in orders if lo <= _v2_ts(o["date_modified"]) <= hi]


def test_v2_date_only_filter_means_midnight_utc(sandbox: RunningSandbox) -> None:
    orders = sandbox.export("orders")
    day = time.strftime("%Y-%m-%d", time.gmtime(_v2_ts(orders[10]["date_created"])))
    midnight = calendar.timegm(time.strptime(day, "%Y-%m-%d"))
    got = [o["id"] for o in _all_v2(sandbox, f"/v2/orders?min_date_created={day}")]
    assert got == [o["id"] for o in orders if _v2_ts(o["date_created"]) >= midnight]


def test_an_unparseable_date_is_400_on_v2_and_422_on_v3(sandbox: RunningSandbox) -> None:
    assert get(sandbox, "/v2/orders?min_date_modified=yesterday").status == 400
    assert get(sandbox, "/v3/customers?date_modified:min=2024-13-45").status == 422
    assert get(sandbox, "/v3/catalog/products?date_modified:max=soon").status == 422


def test_v2_min_id_and_max_id_are_inclusive(sandbox: RunningSandbox) -> None:
    ids = [o["id"] for o in sandbox.export("orders")]
    got = [o["id"] for o in _all_v2(sandbox, f"/v2/orders?min_id={ids[5]}&max_id={ids[20]}")]
    assert got == ids[5:21]


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ("id:min={a}", lambda i, a, b: i >= a),
        ("id:max={b}", lambda i, a, b: i <= b),
        ("id:greater={a}", lambda i, a, b: i > a),
        ("id:less={b}", lambda i, a, b: i < b),
        ("id:in={a},{b}", lambda i, a, b: i in (a, b)),
        ("id:not_in={a},{b}", lambda i, a, b: i not in (a, b)),
        ("id:min={a}&id:max={b}", lambda i, a, b: a <= i <= b),
    ],
)
def test_v3_id_filters_on_products(sandbox: RunningSandbox, query: str, keep: Any) -> None:
    ids = [p["id"] for p in sandbox.export("products")]
    a, b = ids[3], ids[12]
    got = [p["id"] for p in _all_v3(sandbox, "/v3/catalog/products?" + query.format(a=a, b=b))]
    assert got == [i for i in ids if keep(i, a, b)]


def test_customers_take_id_in(sandbox: RunningSandbox) -> None:
    ids = [c["id"] for c in sandbox.export("customers")]
    got = [c["id"] for c in get(sandbox, f"/v3/customers?id:in={ids[7]},{ids[2]},999999").json()["data"]]
    assert got == [ids[2], ids[7]]


def test_products_date_only_min_gets_the_current_time_of_day(sandbox_factory: SandboxFactory) -> None:
    """products_catalog.v3.yml: a date-only date_modified:min is completed with the request's time."""
    sb = sandbox_factory(anchor=ANCHOR, clock=lambda: float(ANCHOR))  # time of day 15:06:40 UTC
    products = sb.export("products")
    target = next(
        p
        for p in products
        if time.strftime("%H:%M:%S", time.gmtime(_iso_ts(p["date_modified"]))) < "15:06:40"
    )
    day = target["date_modified"][:10]
    date_only = {p["id"] for p in _all_v3(sb, f"/v3/catalog/products?date_modified:min={day}")}
    full = {p["id"] for p in _all_v3(sb, f"/v3/catalog/products?date_modified:min={day}T00:00:00Z")}
    assert target["id"] in full
    assert target["id"] not in date_only
    cutoff = calendar.timegm(time.strptime(day + " 15:06:40", "%Y-%m-%d %H:%M:%S"))
    assert date_only == {p["id"] for p in products if _iso_ts(p["date_modified"]) >= cutoff}


def test_orders_count_honours_the_same_filters(sandbox: RunningSandbox) -> None:
    orders = sandbox.export("orders")
    cutoff = sorted(_v2_ts(o["date_modified"]) for o in orders)[len(orders) // 2]
    body = get(sandbox, f"/v2/orders/count?min_date_modified={_iso(cutoff)}").json()
    expected = [o for o in orders if _v2_ts(o["date_modified"]) >= cutoff]
    assert body["count"] == len(expected)
    by_status = {s["id"]: s["count"] for s in body["statuses"]}
    assert sum(by_status.values()) == len(expected)
    for status_id in {o["status_id"] for o in expected}:
        assert by_status[status_id] == sum(1 for o in expected if o["status_id"] == status_id)


# ----------------------------------------------------------------------------------------------- sorts


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_v2_date_modified_sort_breaks_ties_by_id_ascending(
    sandbox_factory: SandboxFactory, direction: str
) -> None:
    sb = sandbox_factory(tie_cluster=30)
    got = _all_v2(sb, f"/v2/orders?sort=date_modified:{direction}")
    keys = [(_v2_ts(o["date_modified"]), o["id"]) for o in got]
    if direction == "asc":
        assert keys == sorted(keys)
    else:
        assert keys == sorted(keys, key=lambda k: (-k[0], k[1]))
    stamps = [k[0] for k in keys]
    assert max(stamps.count(s) for s in stamps) >= 30  # the tie cluster is really there
    assert len(got) == len(sb.export("orders"))


def test_products_sort_by_date_modified_with_direction(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(tie_cluster=25)
    got = _all_v3(sb, "/v3/catalog/products?sort=date_modified&direction=desc")
    keys = [(_iso_ts(p["date_modified"]), p["id"]) for p in got]
    assert keys == sorted(keys, key=lambda k: (-k[0], k[1]))
    assert len(got) == len(sb.export("products"))


def test_customers_sort_by_date_modified_and_last_name(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(tie_cluster=20)
    got = _all_v3(sb, "/v3/customers?sort=date_modified:asc")
    keys = [(_iso_ts(c["date_modified"]), c["id"]) for c in got]
    assert keys == sorted(keys)
    names = [(c["last_name"], c["id"]) for c in _all_v3(sb, "/v3/customers?sort=last_name:asc")]
    assert names == sorted(names)


def test_orders_sort_by_other_fields_with_id_tiebreak(sandbox: RunningSandbox) -> None:
    for field in ("customer_id", "status_id", "channel_id", "date_created"):
        got = _all_v2(sandbox, f"/v2/orders?sort={field}:desc")
        keys = [(_v2_ts(o[field]) if field == "date_created" else o[field], o["id"]) for o in got]
        assert keys == sorted(keys, key=lambda k: (-k[0], k[1]))
        assert len(got) == len(sandbox.export("orders"))


def test_brands_and_categories_sort_by_name(sandbox: RunningSandbox) -> None:
    brands = [b["name"] for b in _all_v3(sandbox, "/v3/catalog/brands?sort=name")]
    assert brands == sorted(brands)
    cats = [(c["name"], c["id"]) for c in _all_v3(sandbox, "/v3/catalog/categories?sort=name&direction=desc")]
    assert [n for n, _ in cats] == sorted((n for n, _ in cats), reverse=True)


def test_an_unknown_sort_is_rejected(sandbox: RunningSandbox) -> None:
    assert get(sandbox, "/v2/orders?sort=total:asc").status == 400
    assert get(sandbox, "/v3/customers?sort=email:asc").status == 422
    assert get(sandbox, "/v3/catalog/products?sort=id&direction=sideways").status == 422


# --------------------------------------------------------------------------------------------- cursors


def test_customers_first_page_has_both_paginations_and_later_pages_only_one(sandbox: RunningSandbox) -> None:
    first = get(sandbox, "/v3/customers?limit=10").json()["meta"]
    assert set(first) == {"pagination", "cursor_pagination"}
    assert first["cursor_pagination"]["count"] == 10
    assert set(get(sandbox, "/v3/customers?limit=10&page=2").json()["meta"]) == {"pagination"}
    after = get(sandbox, "/v3/customers?limit=10&after=" + quote(first["cursor_pagination"]["end_cursor"]))
    assert set(after.json()["meta"]) == {"cursor_pagination"}


def test_customer_cursors_are_base64_ids_and_walk_every_customer(sandbox: RunningSandbox) -> None:
    body = get(sandbox, "/v3/customers?limit=6").json()
    seen = [c["id"] for c in body["data"]]
    cursor = body["meta"]["cursor_pagination"]
    import base64

    assert base64.b64decode(cursor["end_cursor"]).decode() == f"id:{seen[-1]}"
    while "next" in cursor["links"]:
        body = get(sandbox, "/v3/customers" + cursor["links"]["next"]).json()
        seen.extend(c["id"] for c in body["data"])
        cursor = body["meta"]["cursor_pagination"]
    assert seen == [c["id"] for c in sandbox.export("customers")]


def test_customer_after_honours_filters_and_before_is_the_mirror(sandbox: RunningSandbox) -> None:
    customers = sandbox.export("customers")
    cutoff = sorted(_iso_ts(c["date_modified"]) for c in customers)[len(customers) // 3]
    wanted = [c["id"] for c in customers if _iso_ts(c["date_modified"]) >= cutoff]
    import base64

    start = base64.b64encode(f"id:{wanted[2]}".encode()).decode()
    got = get(sandbox, f"/v3/customers?after={quote(start)}&limit=5&date_modified:min={_iso(cutoff)}").json()
    assert [c["id"] for c in got["data"]] == wanted[3:8]
    end = base64.b64encode(f"id:{wanted[8]}".encode()).decode()
    back = get(sandbox, f"/v3/customers?before={quote(end)}&limit=5&date_modified:min={_iso(cutoff)}").json()
    assert [c["id"] for c in back["data"]] == wanted[3:8]
    assert get(sandbox, "/v3/customers?after=not-a-cursor").status == 422


@pytest.mark.parametrize("path", ["/v3/catalog/products", "/v3/catalog/brands", "/v3/catalog/categories"])
def test_include_fields_id_serves_only_the_ids_with_the_same_pagination(
    sandbox: RunningSandbox, path: str
) -> None:
    full = get(sandbox, f"{path}?limit=7").json()
    ids = get(sandbox, f"{path}?limit=7&include_fields=id").json()
    assert ids["data"] == [{"id": record["id"]} for record in full["data"]]
    assert ids["meta"]["pagination"]["total"] == full["meta"]["pagination"]["total"]


def test_include_fields_keeps_the_fields_named_besides_the_id(sandbox: RunningSandbox) -> None:
    [record] = get(sandbox, "/v3/catalog/products?limit=1&include_fields=name,sku").json()["data"]
    assert set(record) == {"id", "name", "sku"}
