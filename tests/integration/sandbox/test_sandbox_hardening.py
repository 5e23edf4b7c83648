"""Hostile input to the sandbox itself: huge numbers, huge mutations, cross-site and rebinding requests."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import orjson
import pytest
from sandbox_http import get

from bigcommerce_sandbox.app import RunningSandbox, Settings, is_loopback
from bigcommerce_sandbox.mutations import MAX_MUTATE

HUGE = "1" + "0" * 29  # 30 digits

NUMERIC = [
    ("/v3/customers", "page"),
    ("/v3/customers", "limit"),
    ("/v3/customers", "id:in"),
    ("/v3/customers", "customer_group_id:in"),
    ("/v2/orders", "page"),
    ("/v2/orders", "limit"),
    ("/v2/orders", "min_id"),
    ("/v2/orders", "max_id"),
    ("/v2/orders", "customer_id"),
    ("/v2/orders", "status_id"),
    ("/v2/orders/count", "min_id"),
    ("/v2/orders/102/products", "page"),
    ("/v2/orders/102/products", "limit"),
    ("/v3/catalog/products", "page"),
    ("/v3/catalog/products", "id"),
    ("/v3/catalog/products", "id:greater"),
    ("/v3/catalog/products", "brand_id"),
    ("/v3/catalog/products", "categories:in"),
    ("/v3/catalog/brands", "id:less"),
    ("/v3/catalog/categories", "parent_id:in"),
    ("/v3/catalog/trees/categories", "category_id:in"),
    ("/v3/channels", "page"),
    ("/v3/content/pages", "page"),
    ("/v3/content/pages", "channel_id"),
]


@pytest.mark.parametrize(("path", "name"), NUMERIC)
@pytest.mark.parametrize("value", [HUGE, "-" + HUGE, "9223372036854775808"])
def test_an_out_of_range_number_is_a_bad_request_not_a_server_error(
    sandbox: RunningSandbox, path: str, name: str, value: str
) -> None:
    reply = get(sandbox, f"{path}?{name}={value}")
    assert reply.status == (400 if path.startswith("/v2") else 422), reply.body
    assert "must be integer" in reply.body.decode()


def test_the_largest_page_number_is_served_as_an_empty_page(sandbox: RunningSandbox) -> None:
    assert get(sandbox, "/v3/customers?page=2147483647&limit=250").json()["data"] == []
    assert get(sandbox, "/v2/orders?page=2147483647&limit=250").status == 204
    assert get(sandbox, "/v3/customers?page=2147483648").status == 422
    assert get(sandbox, f"/v2/orders/{HUGE}").status == 404


def _post(sb: RunningSandbox, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    parts = urlsplit(sb.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _get_with_host(sb: RunningSandbox, path: str, host: str) -> int:
    parts = urlsplit(sb.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_a_mutation_larger_than_the_maximum_is_refused_at_once(sandbox: RunningSandbox) -> None:
    payload = orjson.dumps({"resource": "orders", "create": 100_000_000})
    status, body = _post(sandbox, "/__sandbox/mutate", payload, {"Content-Type": "application/json"})
    assert status == 400
    assert f"at most {MAX_MUTATE:,}".encode() in body
    assert get(sandbox, "/v2/orders/count").json()["count"] == len(sandbox.export("orders"))
    assert sandbox.health() == {"status": "ok"}


MUTATE = orjson.dumps({"resource": "customers", "delete": 5})


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "multipart/form-data; boundary=x"},
        {"Content-Type": "application/json", "Origin": "http://attacker.example"},
        {"Content-Type": "text/plain", "Origin": "http://127.attacker.example"},
    ],
)
def test_a_cross_site_post_cannot_mutate_the_store(sandbox: RunningSandbox, headers: dict[str, str]) -> None:
    before = sandbox.export("customers")
    status, _body = _post(sandbox, "/__sandbox/mutate", MUTATE, headers)
    assert status in (403, 415)
    status, _body = _post(sandbox, "/__sandbox/stats/reset", b"{}", headers)
    assert status in (403, 415)
    assert sandbox.export("customers") == before


def test_admin_posts_with_json_or_the_token_are_accepted(sandbox: RunningSandbox) -> None:
    port = urlsplit(sandbox.url).port
    for headers in (
        {"Content-Type": "application/json"},
        {"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{port}"},
        {"Content-Type": "text/plain", "X-Auth-Token": sandbox.settings.token},
    ):
        before = len(sandbox.export("customers"))
        status, body = _post(sandbox, "/__sandbox/mutate", MUTATE, headers)
        assert status == 200, body
        assert len(sandbox.export("customers")) == before - 5
    assert _post(sandbox, "/__sandbox/stats/reset", b"", {})[0] == 200, "a bodiless POST needs no type"


@pytest.mark.parametrize("host", ["attacker.example", "127.attacker.example", "localhost.attacker.example"])
def test_admin_routes_refuse_a_foreign_host_header(sandbox: RunningSandbox, host: str) -> None:
    """DNS rebinding: a page on attacker.example whose name now resolves to 127.0.0.1 is same-origin with
    the sandbox, so only the Host header tells it apart."""
    assert _get_with_host(sandbox, "/__sandbox/export/customers", host) == 403
    assert (
        _post(sandbox, "/__sandbox/mutate", MUTATE, {"Content-Type": "application/json", "Host": host})[0]
        == 403
    )
    port = urlsplit(sandbox.url).port
    assert _get_with_host(sandbox, "/__sandbox/health", f"localhost:{port}") == 200
    assert _get_with_host(sandbox, "/__sandbox/health", f"[::1]:{port}") == 200


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.attacker.example", False),
        ("127.0.0.1.nip.io", False),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("::ffff:8.8.8.8", False),
        ("", False),
        (None, False),
    ],
)
def test_loopback_is_decided_by_address_not_by_prefix(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_name_that_starts_like_loopback_is_not_bound_without_allow_remote() -> None:
    with pytest.raises(ValueError, match="--allow-remote"):
        Settings(host="127.attacker.example").validate()
