"""The client's own bounds, against the hostile server of tests/hostile_http.py over real HTTP: what one
request may wait, how much of a body it reads, how big a record may be, and what of a server's text it
repeats. Time is fake (nothing waits for real); the console-script view of the same cases is
tests/e2e/test_hostile_server.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hostile_http import STORE_HASH, Reply, always, hostile_server, in_turn, v3_page
from source_bigcommerce.errors import TransientError
from source_bigcommerce.http import MAX_RETRY_SECONDS, Client, make_session
from source_bigcommerce.ratelimit import Governor

from support import FakeTime, assert_no_secret

SECRET = "tok-limits-4Hs9Qw2Rx7"
PAGE = v3_page([{"id": 1}])


@dataclass
class Outcome:
    """What each GET of a run of concurrent GETs came to, and what the run waited and logged."""

    results: dict[str, Any]
    slept: list[float]
    logs: list[str] = field(default_factory=list)


def get_all(routes: Mapping[str, Reply], paths: list[str], **client_options: Any) -> Outcome:
    """GET each path at once through one client (fake time), against a hostile server serving ``routes``."""
    fake = FakeTime()
    logs: list[str] = []

    async def main(url: str) -> list[Any]:
        async with make_session(4, url) as session:
            client = Client(
                session,
                api_url=url,
                store_hash=STORE_HASH,
                token=SECRET,
                governor=Governor(fake.clock, fake.sleep),
                concurrency=4,
                timeout_s=30,
                clock=fake.clock,
                sleep=fake.sleep,
                log=lambda level, message: logs.append(message),
                **{"max_retries": 3, **client_options},
            )
            return await asyncio.gather(
                *(client.get(path[1:3], path[3:]) for path in paths), return_exceptions=True
            )

    with hostile_server(SECRET, routes) as server:
        results = asyncio.run(main(server.url))
    texts = [str(result) for result in results if isinstance(result, BaseException)]
    assert_no_secret(SECRET, *texts, *logs, where="the client's errors or logs")
    return Outcome(dict(zip(paths, results, strict=True)), fake.slept, logs)


def test_a_retry_after_within_the_retry_budget_is_waited_by_its_request() -> None:
    routes = {"/v3/catalog/brands": in_turn(always({}, 429, {"Retry-After": "42"}), always(PAGE))}
    outcome = get_all(routes, ["/v3/catalog/brands"])
    assert outcome.results["/v3/catalog/brands"].body == PAGE
    assert outcome.slept == [42.0]  # its own wait covers the 1 s the governor holds every request


def test_a_retry_after_beyond_the_retry_budget_fails_its_request_alone_and_at_once() -> None:
    routes = {
        "/v3/catalog/brands": always({}, 429, {"Retry-After": "99999999"}),
        "/v3/catalog/categories": always(PAGE),
    }
    outcome = get_all(routes, ["/v3/catalog/brands", "/v3/catalog/categories"])
    error = outcome.results["/v3/catalog/brands"]
    assert isinstance(error, TransientError)
    assert str(error) == (
        f"GET /v3/catalog/brands was told to retry after 99999999 s (Retry-After), longer than one request "
        f"may wait ({MAX_RETRY_SECONDS:g} s); it was not retried."
    )
    assert outcome.results["/v3/catalog/categories"].body == PAGE
    assert max(outcome.slept, default=0.0) <= 1.0, "only the governor's platform backoff was waited"
