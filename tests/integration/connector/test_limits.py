"""The client's own bounds, against the hostile server of tests/hostile_http.py over real HTTP: what one
request may wait, how much of a body it reads, how big a record may be, and what of a server's text it
repeats. Time is fake (nothing waits for real); the console-script view of the same cases is
tests/e2e/test_hostile_server.py.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from hostile_http import STORE_HASH, Reply, always, big_records, hostile_server, in_turn, raw_reply, v3_page
from source_bigcommerce import http
from source_bigcommerce.errors import TransientError
from source_bigcommerce.http import MAX_RETRY_SECONDS, REDACTED_TEXT, ApiError, Client, TooLarge, make_session
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


def test_a_retry_after_that_would_pass_the_retry_budget_only_with_the_waits_before_it_says_so() -> None:
    # Each 200 s is within the 300 s: the first is waited, the second would pass the budget. The sentence said
    # 200 s was "longer than one request may wait (300 s)" and that the request "was not retried".
    routes = {"/v3/catalog/brands": always({}, 429, {"Retry-After": "200"})}
    outcome = get_all(routes, ["/v3/catalog/brands"])
    assert outcome.slept == [200.0]
    assert str(outcome.results["/v3/catalog/brands"]) == (
        "GET /v3/catalog/brands was told to retry after 200 s (Retry-After) after 2 attempts over 200 s, which "
        f"would pass the {MAX_RETRY_SECONDS:g} s one request may take; it was not retried again."
    )


def test_a_body_beyond_the_limit_fails_its_request_without_a_retry() -> None:
    routes = {"/v3/catalog/brands": raw_reply(b" " * 5000, {})}
    outcome = get_all(routes, ["/v3/catalog/brands"], max_response_bytes=4096)
    error = outcome.results["/v3/catalog/brands"]
    assert isinstance(error, TooLarge)
    assert str(error).startswith("GET /v3/catalog/brands answered with a body larger than 0 MB (max_res")
    assert outcome.slept == []


def test_a_body_at_the_limit_is_read() -> None:
    body = b'{"data": [], "meta": {}}'
    outcome = get_all(
        {"/v3/catalog/brands": raw_reply(body, {})}, ["/v3/catalog/brands"], max_response_bytes=len(body)
    )
    assert outcome.results["/v3/catalog/brands"].body == {"data": [], "meta": {}}


def test_a_compressed_body_is_limited_by_its_decompressed_size() -> None:
    small = gzip.compress(b" " * (1 << 20))  # 1 KB that expands to 1 MiB
    routes = {"/v3/catalog/brands": raw_reply(small, {"Content-Encoding": "gzip"})}
    outcome = get_all(routes, ["/v3/catalog/brands"], max_response_bytes=64 << 10)
    error = outcome.results["/v3/catalog/brands"]
    assert isinstance(error, TooLarge)
    assert "once decompressed (max_response_mb)" in str(error)


def test_a_body_within_the_byte_limit_that_would_parse_into_far_more_memory_fails_its_request() -> None:
    # 200,000 empty objects in 600 KB: parsed, 24 times that (64 MB of them took a read to 2 GB).
    empties = b'{"data": [' + b"{}," * 200_000 + b"{}]}"
    routes = {"/v3/catalog/brands": raw_reply(empties, {})}
    outcome = get_all(routes, ["/v3/catalog/brands"], max_response_bytes=1 << 20)
    error = outcome.results["/v3/catalog/brands"]
    assert isinstance(error, TooLarge)
    assert str(error) == (
        "GET /v3/catalog/brands answered with a body of more than 131,072 JSON values, more than "
        "max_response_mb (1 MB) allows; raise max_response_mb if this store's pages really are that large."
    )
    assert outcome.slept == []

    # A page of ordinary records of the same size is read.
    records = [
        {"id": n, "name": f"Brand {n}", "page_title": "", "search_keywords": "a,b"} for n in range(7000)
    ]
    page = v3_page(records)
    assert 500_000 < len(orjson.dumps(page)) < 1 << 20
    outcome = get_all(
        {"/v3/catalog/brands": always(page)}, ["/v3/catalog/brands"], max_response_bytes=1 << 20
    )
    assert outcome.results["/v3/catalog/brands"].body == page


def test_a_record_beyond_the_record_limit_fails_its_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "MAX_RECORD_BYTES", 1 << 20)
    routes = {"/v3/catalog/brands": big_records(3, (1 << 20) - 100, total=3)}
    outcome = get_all(routes, ["/v3/catalog/brands"])
    assert isinstance(outcome.results["/v3/catalog/brands"], http.Response)  # each just under 1 MiB

    routes = {"/v3/catalog/brands": big_records(3, 3 << 20, total=3)}
    error = get_all(routes, ["/v3/catalog/brands"]).results["/v3/catalog/brands"]
    assert isinstance(error, TooLarge)
    assert str(error) == (
        "GET /v3/catalog/brands answered with a record (id 1) of 3 MB, more than the 1 MB one record may "
        "have; its stream stops before it."
    )


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"title": f"Token {SECRET} is not valid"}, f": Token {REDACTED_TEXT} is not valid."),
        ([{"status": 422, "message": f"bad token {SECRET}."}], f": bad token {REDACTED_TEXT}."),
        ({"title": "two\nlines\r\n\tand a tab"}, ": two lines and a tab."),
        ({"title": "x" * 5000}, f": {'x' * (http.MAX_SHOWN_CHARS - 1)}…."),
        ({"title": "   "}, "."),
    ],
)
def test_a_servers_error_text_is_shown_on_one_line_bounded_and_without_the_token(
    body: Any, detail: str
) -> None:
    outcome = get_all({"/v3/catalog/brands": always(body, 422)}, ["/v3/catalog/brands"])
    error = outcome.results["/v3/catalog/brands"]
    assert isinstance(error, ApiError)
    assert str(error) == f"GET /v3/catalog/brands failed with HTTP 422{detail}"


def test_a_token_the_server_escaped_in_json_is_still_found() -> None:
    escaped = "".join(f"\\u{ord(char):04x}" for char in SECRET)
    body = b'{"title": "Token ' + escaped.encode() + b' is not valid"}'
    outcome = get_all({"/v3/catalog/brands": raw_reply(body, {}, status=403)}, ["/v3/catalog/brands"])
    error = outcome.results["/v3/catalog/brands"]
    assert isinstance(error, ApiError)
    assert str(error) == f"GET /v3/catalog/brands was refused (HTTP 403): Token {REDACTED_TEXT} is not valid."
