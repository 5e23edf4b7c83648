"""The official Python client (``bigcommerce`` on PyPI) as an outside witness of the sandbox's API.

Its connection hard-codes ``https://`` and api.bigcommerce.com; the test points the host at the sandbox
and swaps the scheme, touching nothing else.
"""

from __future__ import annotations

from typing import Any

import pytest

from bigcommerce_sandbox.app import RunningSandbox, SandboxFactory

bigcommerce = pytest.importorskip("bigcommerce")
from bigcommerce.api import BigcommerceApi  # noqa: E402
from bigcommerce.connection import OAuthConnection  # noqa: E402


def _client(sb: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> Any:
    def full_path(self: Any, url: str) -> str:
        return f"http://{self.host}{self.api_path.format(self.store_hash, url)}"

    monkeypatch.setattr(OAuthConnection, "full_path", full_path)
    api = BigcommerceApi(
        client_id="sandbox-client", store_hash=sb.config["store_hash"], access_token=sb.config["access_token"]
    )
    api.connection.host = sb.url.removeprefix("http://")
    return api


def test_orders_iterall_returns_exactly_the_sandbox_orders(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = sandbox_factory(orders=620)  # three pages of 250 and a 204 to stop on
    api = _client(sb, monkeypatch)
    got = [order["id"] for order in api.Orders.iterall()]
    assert got == [order["id"] for order in sb.export("orders")]
    assert len(got) >= 620
    assert sb.stats()["requests"]["/stores/{store_hash}/v2/orders"]["by_status"] == {"200": 3, "204": 1}


def test_the_client_reads_the_store_and_rate_limit_headers(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = _client(sandbox, monkeypatch)
    store = api.Store.all()
    assert store["id"] == sandbox.config["store_hash"]
    assert api.connection.rate_limit["requests_quota"] >= 7_000_000
