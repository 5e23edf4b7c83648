"""The rate limiter, the fault grammar and the query parsers, as pure logic with an injected clock."""

from __future__ import annotations

import calendar

import pytest

from bigcommerce_sandbox.faults import FaultPlan, FaultSpecError, parse_faults
from bigcommerce_sandbox.limits import PLANS, FixedWindowLimiter
from bigcommerce_sandbox.query import (
    ParamError,
    decode_cursor,
    encode_cursor,
    parse_instant,
    parse_paging,
    with_time_of_day,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_quota_runs_down_then_refuses_with_retry_after_rounded_up() -> None:
    clock = FakeClock()
    limiter = FixedWindowLimiter(3, 1000, clock=clock)
    lefts = []
    for _ in range(3):
        verdict = limiter.acquire()
        assert verdict.allowed
        lefts.append(verdict.headers["X-Rate-Limit-Requests-Left"])
    assert lefts == ["2", "1", "0"]
    clock.now += 0.2
    refused = limiter.acquire()
    assert not refused.allowed
    assert refused.headers == {
        "X-Rate-Limit-Time-Window-Ms": "1000",
        "X-Rate-Limit-Time-Reset-Ms": "800",
        "X-Rate-Limit-Requests-Quota": "3",
        "X-Rate-Limit-Requests-Left": "0",
        "X-Retry-After": "1",
    }


def test_a_new_window_starts_at_the_first_request_after_the_last_one_ended() -> None:
    clock = FakeClock()
    limiter = FixedWindowLimiter(2, 30_000, clock=clock)
    limiter.acquire()
    limiter.acquire()
    clock.now += 45.0  # the first window ended 15 s ago; no window is open until the next request
    assert limiter.peek()["X-Rate-Limit-Time-Reset-Ms"] == "30000"
    verdict = limiter.acquire()
    assert verdict.allowed
    assert verdict.headers["X-Rate-Limit-Time-Reset-Ms"] == "30000"
    assert verdict.headers["X-Rate-Limit-Requests-Left"] == "1"
    clock.now += 29.9
    assert limiter.acquire().allowed
    assert not limiter.acquire().allowed


def test_retry_after_rounds_up_to_whole_seconds() -> None:
    clock = FakeClock()
    limiter = FixedWindowLimiter(1, 30_000, clock=clock)
    limiter.acquire()
    clock.now += 14.6
    assert limiter.acquire().headers["X-Retry-After"] == "16"


def test_peek_does_not_consume_quota() -> None:
    limiter = FixedWindowLimiter(1, 1000, clock=FakeClock())
    for _ in range(5):
        limiter.peek()
    assert limiter.acquire().allowed


def test_plans_match_bigcommerce_quotas() -> None:
    assert PLANS["standard"] == (150, 30_000)
    assert PLANS["plus"] == (150, 30_000)
    assert PLANS["pro"] == (450, 30_000)
    assert PLANS["enterprise"][0] >= 7_000_000


def test_the_fault_grammar_parses_kinds_rates_schedules_and_paths() -> None:
    rules = parse_faults(
        "503 n=3 /v3/catalog/products; reset p=0.02; slow:250 n=2-4,9+ /v3/orders/*/transactions; 500 5%"
    )
    assert [r.kind for r in rules] == ["503", "reset", "slow", "500"]
    assert rules[0].schedule == ((3, 3),)
    assert rules[0].path == ("v3", "catalog", "products")
    assert rules[1].rate == pytest.approx(0.02)
    assert rules[2].delay_ms == 250
    assert rules[2].schedule == ((2, 4), (9, None))
    assert rules[3].rate == pytest.approx(0.05)


@pytest.mark.parametrize(
    "spec",
    [
        "418 n=1",
        "503",
        "503 n=0",
        "503 n=4-2",
        "slow:abc n=1",
        "500:10 n=1",
        "503 p=2",
        "503 sometimes",
        "503 n=1 v3/x",
    ],
)
def test_bad_fault_specs_are_rejected_with_a_reason(spec: str) -> None:
    with pytest.raises(FaultSpecError, match="fault rule"):
        parse_faults(spec)


def test_a_scheduled_fault_hits_the_nth_request_to_its_path_only() -> None:
    plan = FaultPlan(parse_faults("503 n=3 /v3/catalog/products"), seed=1)
    hits = []
    for i in range(1, 7):
        assert plan.decide("/v2/orders") is None  # other paths neither fire nor advance the ordinal
        if plan.decide("/v3/catalog/products" if i % 2 else "/v3/catalog/products/5") is not None:
            hits.append(i)
    assert hits == [3]


def test_wildcards_match_one_segment() -> None:
    plan = FaultPlan(parse_faults("500 n=1+ /v3/orders/*/transactions"), seed=1)
    assert plan.decide("/v3/orders/101/transactions") is not None
    assert plan.decide("/v3/orders/transactions") is None
    assert plan.decide("/v3/orders/101/refunds") is None


def test_rate_faults_replay_under_the_same_seed_and_differ_under_another() -> None:
    def fired(seed: int) -> list[int]:
        plan = FaultPlan(parse_faults("500 p=0.1"), seed=seed)
        return [i for i in range(1, 5001) if plan.decide("/v2/orders") is not None]

    first = fired(11)
    assert first == fired(11)
    assert first != fired(12)
    assert 400 < len(first) < 600


def test_parse_instant_reads_rfc2822_and_iso_8601_forms() -> None:
    expected = calendar.timegm((2017, 4, 20, 15, 32, 0, 0, 0, 0))
    for text in (
        "Thu, 20 Apr 2017 11:32:00 -0400",
        "2017-04-20T11:32:00.000-04:00",
        "2017-04-20T15:32:00Z",
        "2017-04-20T15:32:00",
        "2017-04-20T21:02:00+05:30",
    ):
        assert parse_instant("min_date_modified", text).seconds == expected, text
    day = parse_instant("x", "2017-04-20")
    assert day.date_only
    assert day.seconds == calendar.timegm((2017, 4, 20, 0, 0, 0, 0, 0, 0))
    assert with_time_of_day(day, now=expected + 86400 * 3).seconds == expected
    with pytest.raises(ParamError):
        parse_instant("x", "20/04/2017")


def test_paging_defaults_and_limits() -> None:
    assert parse_paging({}).limit == 50
    assert parse_paging({"page": "3", "limit": "250"}).offset == 500
    with pytest.raises(ParamError) as err:
        parse_paging({"limit": "251"})
    assert err.value.status == 413
    with pytest.raises(ParamError):
        parse_paging({"page": "0"})


def test_cursors_round_trip_as_base64_ids() -> None:
    assert encode_cursor(7) == "aWQ6Nw=="
    assert decode_cursor("after", "aWQ6Nw==") == 7
    with pytest.raises(ParamError):
        decode_cursor("after", "bm9wZTox")


def test_a_query_after_the_path_narrows_a_rule_to_requests_carrying_those_values() -> None:
    plan = FaultPlan(parse_faults("500 p=1 /v3/catalog/products?include_fields=id"), seed=1)
    assert plan.decide("/v3/catalog/products", {"include_fields": "id", "limit": "250"}) is not None
    assert plan.decide("/v3/catalog/products", {"include_fields": "id,name"}) is None
    assert plan.decide("/v3/catalog/products", {}) is None
    assert plan.decide("/v3/catalog/products") is None
