"""Rate limits, latency and injected faults as a client sees them over HTTP."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest
from sandbox_http import get

from bigcommerce_sandbox.app import RunningSandbox, SandboxFactory

LIMIT_HEADERS = (
    "X-Rate-Limit-Time-Window-Ms",
    "X-Rate-Limit-Time-Reset-Ms",
    "X-Rate-Limit-Requests-Quota",
    "X-Rate-Limit-Requests-Left",
)


def test_quota_exhaustion_gives_429_with_retry_after_then_recovers(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(quota=5, window_ms=1000)
    lefts = [get(sb, "/v2/store").headers["X-Rate-Limit-Requests-Left"] for _ in range(5)]
    assert lefts == ["4", "3", "2", "1", "0"]
    refused = get(sb, "/v3/catalog/products")
    assert refused.status == 429
    assert refused.json() == {
        "status": 429,
        "title": "Too many requests",
        "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
    }
    assert refused.headers["X-Rate-Limit-Requests-Quota"] == "5"
    assert refused.headers["X-Rate-Limit-Time-Window-Ms"] == "1000"
    assert refused.headers["X-Retry-After"] == "1"
    reset_ms = int(refused.headers["X-Rate-Limit-Time-Reset-Ms"])
    assert 0 < reset_ms <= 1000
    time.sleep(reset_ms / 1000 + 0.05)
    again = get(sb, "/v3/catalog/products")
    assert again.status == 200
    assert again.headers["X-Rate-Limit-Requests-Left"] == "4"
    stats = sb.stats()
    assert stats["rate_limited"] == 1
    assert stats["responses_429"] == 1


def test_every_response_under_stores_carries_the_four_headers(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(plan="pro")
    for reply in (
        get(sb, "/v2/store"),
        get(sb, "/v2/store", token="bad"),
        get(sb, "/v9/nope"),
        get(sb, "/v2/orders?page=99"),
    ):
        assert all(h in reply.headers for h in LIMIT_HEADERS), reply.status
    assert get(sb, "/v2/store").headers["X-Rate-Limit-Requests-Quota"] == "450"


def test_unlimited_plans_still_send_the_headers(sandbox: RunningSandbox) -> None:
    headers = get(sandbox, "/v3/channels").headers
    assert int(headers["X-Rate-Limit-Requests-Quota"]) >= 7_000_000


def test_the_nth_request_to_a_path_gets_the_scheduled_fault(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(faults="503 n=3 /v3/catalog/products")
    statuses = []
    for _ in range(5):
        statuses.append(get(sb, "/v3/catalog/products").status)
        assert get(sb, "/v2/orders").status == 200  # other paths are not counted against the rule
    assert statuses == [200, 200, 503, 200, 200]
    sb2 = sandbox_factory(faults="503 n=1 /v3/catalog/products")
    body = get(sb2, "/v3/catalog/products").json()
    assert body == {
        "status": 503,
        "title": "Service Unavailable",
        "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
    }


def test_v2_faults_have_the_array_body_and_wildcard_paths_match(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(faults="500 n=1 /v2/orders; 502 n=1 /v3/orders/*/transactions")
    reply = get(sb, "/v2/orders/102")
    assert reply.status == 500
    assert reply.json() == [{"status": 500, "message": "Internal Server Error"}]
    assert "X-Rate-Limit-Requests-Left" in reply.headers
    assert get(sb, "/v3/orders/104/transactions").status == 502


def test_rate_faults_replay_under_the_same_seed(sandbox_factory: SandboxFactory) -> None:
    def statuses(seed: int) -> list[int]:
        sb = sandbox_factory(seed=seed, faults="500 p=0.3 /v2/store")
        return [get(sb, "/v2/store").status for _ in range(40)]

    first = statuses(5)
    assert first == statuses(5)
    assert first != statuses(6)
    assert 3 <= first.count(500) <= 25


def test_platform_load_429_has_no_rate_limit_headers(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(faults="429 n=1")
    reply = get(sb, "/v2/store")
    assert reply.status == 429
    assert not any(h in reply.headers for h in LIMIT_HEADERS)
    assert "X-Retry-After" not in reply.headers
    assert get(sb, "/v2/store").status == 200


async def _fetch(url: str, token: str, timeout: float = 10.0) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
        session.get(url, headers={"X-Auth-Token": token}) as response,
    ):
        return response.status, await response.read()


def test_reset_truncate_and_badjson_break_the_response_the_way_they_say(
    sandbox_factory: SandboxFactory,
) -> None:
    sb = sandbox_factory(faults="reset n=1 /v2/orders; truncate n=2 /v2/orders; badjson n=3 /v2/orders")
    url = f"{sb.url}/stores/sandbox/v2/orders"
    token = sb.settings.token
    with pytest.raises(aiohttp.ClientError):
        asyncio.run(_fetch(url, token))
    with pytest.raises(aiohttp.ClientPayloadError):
        asyncio.run(_fetch(url, token))
    status, body = asyncio.run(_fetch(url, token))
    assert status == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    status, body = asyncio.run(_fetch(url, token))
    assert status == 200
    assert len(orjson.loads(body)) == 50


def test_slow_answers_outlast_a_client_timeout(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(faults="slow:600 n=1 /v2/store")
    url = f"{sb.url}/stores/sandbox/v2/store"
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(_fetch(url, sb.settings.token, timeout=0.2))
    status, _body = asyncio.run(_fetch(url, sb.settings.token, timeout=5))
    assert status == 200


def test_latency_applies_per_request_without_blocking_others(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(latency_ms=200)
    url = f"{sb.url}/stores/sandbox/v3/channels"

    async def burst() -> list[int]:
        async with aiohttp.ClientSession() as session:

            async def one() -> int:
                async with session.get(url, headers={"X-Auth-Token": sb.settings.token}) as response:
                    await response.read()
                    return response.status

            return list(await asyncio.gather(*(one() for _ in range(6))))

    started = time.monotonic()
    assert asyncio.run(burst()) == [200] * 6
    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 1.0  # concurrent, not 6 x 200 ms
    assert sb.stats()["peak_concurrency"] == 6
