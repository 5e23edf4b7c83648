"""The governor against a simulated store quota: exact, with an injected clock and no real waiting."""

from __future__ import annotations

import asyncio

import pytest

from source_bigcommerce import http
from source_bigcommerce.ratelimit import MAX_WINDOW_S, RESET_MARGIN_S, Governor, Quota

from support import FakeTime


class FakeStore:
    """BigCommerce's fixed window: `quota` requests per `window` seconds, counted when a request arrives."""

    def __init__(self, time: FakeTime, quota: int, window: float) -> None:
        self.time, self.quota, self.window = time, quota, window
        self.window_end = 0.0
        self.used = 0
        self.refused = 0

    def serve(self) -> tuple[int, dict[str, str]]:
        now = self.time.now
        if now >= self.window_end:
            self.window_end, self.used = now + self.window, 0
        headers = {
            "X-Rate-Limit-Time-Window-Ms": str(int(self.window * 1000)),
            "X-Rate-Limit-Time-Reset-Ms": str(int((self.window_end - now) * 1000)),
            "X-Rate-Limit-Requests-Quota": str(self.quota),
        }
        if self.used >= self.quota:
            self.refused += 1
            headers["X-Rate-Limit-Requests-Left"] = "0"
            return 429, headers
        self.used += 1
        headers["X-Rate-Limit-Requests-Left"] = str(self.quota - self.used)
        return 200, headers


def run_requests(governor: Governor, store: FakeStore, n: int) -> int:
    """Send n requests one after another through the governor; returns how many were answered 429."""

    async def main() -> int:
        refused = 0
        done = 0
        while done < n:
            await governor.acquire()
            status, headers = store.serve()
            if status == 429:
                refused += 1
                governor.rate_limited(store.time.now, store.time.now, headers)
            else:
                governor.observe(store.time.now, store.time.now, headers)
                done += 1
            governor.release()
        return refused

    return asyncio.run(main())


def test_a_lone_client_spends_the_whole_quota_without_a_single_429() -> None:
    time = FakeTime(1000.0)
    store = FakeStore(time, quota=150, window=30.0)
    governor = Governor(time.clock, time.sleep)
    refused = run_requests(governor, store, 450)
    assert refused == 0
    assert store.refused == 0
    # 450 requests need three windows: two full waits for a reset, no more.
    assert len(time.slept) == 2
    assert time.now - 1000.0 <= 2 * (30.0 + RESET_MARGIN_S) + 1e-9


def test_answers_arriving_out_of_order_never_lead_to_an_overrun() -> None:
    """Requests in flight together, counted in one order and answered in another."""
    time = FakeTime(1000.0)
    store = FakeStore(time, quota=20, window=10.0)
    governor = Governor(time.clock, time.sleep)

    async def main() -> None:
        await governor.acquire()  # the first answer tells the quota; until then one request at a time
        governor.observe(time.now, time.now, store.serve()[1])
        governor.release()
        sent = 0
        while sent < 60:
            batch: list[tuple[int, dict[str, str]]] = []
            for _ in range(6):  # six go out at once, as a connection pool does
                await governor.acquire()
                batch.append(store.serve())
                sent += 1
            for status, headers in reversed(batch):  # and come back last first
                if status == 429:
                    governor.rate_limited(time.now, time.now, headers)
                else:
                    governor.observe(time.now, time.now, headers)
                governor.release()

    asyncio.run(main())
    assert store.refused == 0


def test_when_another_app_spends_the_quota_the_governor_follows_the_headers() -> None:
    time = FakeTime(1000.0)
    store = FakeStore(time, quota=150, window=30.0)
    governor = Governor(time.clock, time.sleep)
    store.serve()  # open the window
    store.used = 140  # another app has used most of it
    refused = run_requests(governor, store, 30)
    assert refused == 0
    assert store.refused == 0
    assert time.slept, "it must have waited for the reset instead of overrunning the quota"


def test_a_429_with_headers_holds_every_request_until_the_reset() -> None:
    time = FakeTime(1000.0)
    governor = Governor(time.clock, time.sleep)
    headers = {
        "X-Rate-Limit-Time-Window-Ms": "30000",
        "X-Rate-Limit-Time-Reset-Ms": "12000",
        "X-Rate-Limit-Requests-Quota": "150",
        "X-Rate-Limit-Requests-Left": "0",
    }
    pause = governor.rate_limited(time.now, time.now, headers)
    assert abs(pause - (12.0 + RESET_MARGIN_S)) < 1e-9

    async def three_requests() -> list[float]:
        sent = []
        for _ in range(3):
            await governor.acquire()
            sent.append(time.now)
            governor.release()
        return sent

    sent = asyncio.run(three_requests())
    assert all(t >= 1000.0 + 12.0 for t in sent)
    assert governor.stats.rate_limited == 1


def test_a_429_without_headers_backs_off_exponentially() -> None:
    time = FakeTime(1000.0)
    governor = Governor(time.clock, time.sleep)
    pauses = [governor.rate_limited(time.now, time.now, {}) for _ in range(3)]
    # Each pause extends the hold from the same moment: 1 s, then 2 s, then 4 s.
    assert pauses == [1.0, 2.0, 4.0]
    assert governor.stats.platform_limited == 3


def test_headers_are_read_case_insensitively_and_junk_is_ignored() -> None:
    from multidict import CIMultiDict

    headers = CIMultiDict(
        {
            "x-rate-limit-requests-left": "35",
            "x-rate-limit-time-reset-ms": "15000",
            "x-rate-limit-requests-quota": "150",
            "x-rate-limit-time-window-ms": "30000",
        }
    )
    assert Quota.from_headers(headers) == Quota(left=35, reset_ms=15000, quota=150, window_ms=30000)
    assert (
        Quota.from_headers({"X-Rate-Limit-Requests-Left": "lots", "X-Rate-Limit-Time-Reset-Ms": "1"}) is None
    )
    assert Quota.from_headers({}) is None


# -- waits that a broken or hostile server announces -------------------------------------------------------


def huge_reset(window_ms: int = 30_000) -> dict[str, str]:
    return {
        "X-Rate-Limit-Time-Window-Ms": str(window_ms),
        "X-Rate-Limit-Time-Reset-Ms": str(10**12),
        "X-Rate-Limit-Requests-Quota": "150",
        "X-Rate-Limit-Requests-Left": "0",
    }


def test_a_429_announcing_a_reset_beyond_its_window_holds_for_the_window_and_says_so_once() -> None:
    time = FakeTime(1000.0)
    logs: list[tuple[str, str]] = []
    governor = Governor(time.clock, time.sleep, log=lambda level, message: logs.append((level, message)))
    pauses = [governor.rate_limited(time.now, time.now, huge_reset()) for _ in range(3)]
    assert pauses == pytest.approx([30.0 + RESET_MARGIN_S] * 3)
    assert logs == [
        (
            "WARN",
            "The API announced a rate-limit reset in 1000000000.0 s, longer than its window of 30 s; the "
            "connector waits 30 s at most instead.",
        )
    ]


def test_a_reset_beyond_the_window_on_a_200_delays_the_next_request_by_the_window_at_most() -> None:
    time = FakeTime(1000.0)
    governor = Governor(time.clock, time.sleep)
    governor.observe(time.now, time.now, huge_reset(window_ms=2_000))

    async def one_request() -> None:
        await governor.acquire()
        governor.release()

    asyncio.run(one_request())
    assert time.now - 1000.0 <= 2.0 + RESET_MARGIN_S + 1e-9


def test_a_window_longer_than_five_minutes_is_not_believed() -> None:
    time = FakeTime(1000.0)
    governor = Governor(time.clock, time.sleep)
    pause = governor.rate_limited(time.now, time.now, huge_reset(window_ms=10**12))
    assert pause == pytest.approx(MAX_WINDOW_S + RESET_MARGIN_S)


def test_a_retry_after_on_a_429_without_headers_does_not_hold_every_request() -> None:
    # The Retry-After is the answered request's own (http.Client); the others wait the platform backoff only.
    time = FakeTime(1000.0)
    governor = Governor(time.clock, time.sleep)
    assert governor.rate_limited(time.now, time.now, {"Retry-After": "99999999"}) == 1.0


# -- answers and requests that cross a window's reset --------------------------------------------------------


class Exchange:
    """Requests through the governor to a FakeStore, each counted and answered when the test says."""

    def __init__(self, time: FakeTime, store: FakeStore, governor: Governor) -> None:
        self.time, self.store, self.governor = time, store, governor

    async def send(self) -> float:
        await self.governor.acquire()
        return self.time.now

    def answer(self, sent_at: float, reply: tuple[int, dict[str, str]]) -> None:
        status, headers = reply
        if status == 429:
            self.governor.rate_limited(sent_at, self.time.now, headers)
        else:
            self.governor.observe(sent_at, self.time.now, headers)
        self.governor.release()

    async def round_trip(self) -> None:
        sent_at = await self.send()
        self.answer(sent_at, self.store.serve())


def test_an_answer_of_the_last_window_arriving_late_in_the_next_does_not_end_it_early() -> None:
    time = FakeTime(1000.0)
    store = FakeStore(time, quota=4, window=10.0)
    governor = Governor(time.clock, time.sleep)
    exchange = Exchange(time, store, governor)

    async def main() -> None:
        await exchange.round_trip()  # opens the window, which ends at 1010
        time.now = 1009.9
        sent = [await exchange.send() for _ in range(3)]
        late = store.serve()  # counted 0.1 s before the reset, answered long after it
        exchange.answer(sent[0], store.serve())
        exchange.answer(sent[1], store.serve())
        for _ in range(
            3
        ):  # waits for the reset, then spends the new window (the late one still holds a slot)
            await exchange.round_trip()
        time.now = 1016.0
        exchange.answer(sent[2], late)  # "resets in 0.1 s": of the window that ended at 1010, not this one
        for _ in range(6):
            await exchange.round_trip()

    asyncio.run(main())
    assert store.refused == 0


def test_a_window_is_timed_from_its_answers_not_from_when_its_first_requests_left() -> None:
    """The first requests after a reset reach BigCommerce late and open the window late; the next window's
    requests travel fast. Timing the window from the send would let them arrive before it ends."""
    time = FakeTime(1000.0)
    store = FakeStore(time, quota=4, window=10.0)
    governor = Governor(time.clock, time.sleep)
    exchange = Exchange(time, store, governor)

    async def main() -> None:
        for _ in range(4):
            await exchange.round_trip()
        sent = [await exchange.send() for _ in range(4)]  # after the reset at 1010
        time.now += 0.5  # a slow network
        replies = [store.serve() for _ in sent]
        for sent_at, reply in zip(sent, replies, strict=True):
            exchange.answer(sent_at, reply)
        for _ in range(4):
            await exchange.round_trip()

    asyncio.run(main())
    assert store.refused == 0


def test_a_request_counted_only_after_the_reset_is_not_forgotten_when_the_next_window_opens() -> None:
    """A server that queues a request for longer than a window counts it in the next one, though its
    answer's interval also meets the window it left in. Taken as the old window's, the next window's whole
    quota would follow it there: one request too many."""
    time = FakeTime(1000.0)
    store = FakeStore(time, quota=4, window=10.0)
    governor = Governor(time.clock, time.sleep)
    exchange = Exchange(time, store, governor)

    async def main() -> None:
        first = await exchange.send()
        reply = store.serve()  # opens the window, which ends at 1010
        time.now = 1000.5
        exchange.answer(first, reply)  # it ends between 1010 and 1010.51
        sent = [await exchange.send() for _ in range(3)]
        replies = [store.serve(), store.serve()]
        time.now = 1001.0  # a slow server: every answer takes half a second
        exchange.answer(sent[0], replies[0])
        exchange.answer(sent[1], replies[1])
        time.now = 1010.05
        queued = store.serve()  # counted after the reset: it opens the next window
        time.now = 1010.1
        exchange.answer(sent[2], queued)
        extra = await exchange.send()  # the old window seems to have one left; it lands in the next one
        burst: list[float] = []
        while True:
            task = asyncio.ensure_future(exchange.send())
            for _ in range(10):
                await asyncio.sleep(0)
            if not task.done():
                break  # waiting for an answer of the next window
            burst.append(task.result())
        for sent_at in (extra, *burst):
            exchange.answer(sent_at, store.serve())
        assert store.used == store.quota, "the next window's quota should be spent, not overrun"
        exchange.answer(await task, store.serve())

    asyncio.run(main())
    assert store.refused == 0


def test_until_the_first_answer_one_request_goes_at_a_time_then_the_quota_paces() -> None:
    time = FakeTime(1000.0)
    store = FakeStore(time, quota=4, window=10.0)
    governor = Governor(time.clock, time.sleep)
    exchange = Exchange(time, store, governor)

    async def main() -> None:
        first = await exchange.send()
        second = asyncio.ensure_future(exchange.send())
        for _ in range(5):
            await asyncio.sleep(0)
        assert not second.done(), "a second request left before anything told the quota"
        exchange.answer(first, store.serve())
        await second
        exchange.answer(second.result(), store.serve())

    asyncio.run(main())
    assert store.refused == 0


def test_a_store_that_sends_no_rate_limit_headers_is_not_paced_after_its_first_answer() -> None:
    time = FakeTime(1000.0)
    governor = Governor(time.clock, time.sleep)

    async def main() -> None:
        await governor.acquire()
        governor.observe(time.now, time.now, {})
        for _ in range(50):
            await governor.acquire()  # none released: all in flight at once

    asyncio.run(main())
    assert time.slept == []


def test_a_quota_reported_as_zero_still_lets_one_request_ask_each_window() -> None:
    time = FakeTime(1000.0)
    store = FakeStore(time, quota=0, window=10.0)
    governor = Governor(time.clock, time.sleep)
    exchange = Exchange(time, store, governor)

    async def main() -> None:
        for _ in range(3):
            await exchange.round_trip()

    asyncio.run(main())  # a hang here is the bug: waiting for an answer when nothing is in flight
    assert store.refused == 3
    assert time.now >= 1000.0 + 2 * 10.0


@pytest.mark.parametrize(
    ("value", "seconds"), [("7", 7.0), (" 12 ", 12.0), ("²", None), ("1.5", None), ("-3", None)]
)
def test_retry_after_is_whole_seconds_in_ascii_digits_or_nothing(value: str, seconds: float | None) -> None:
    # "²" passed str.isdigit(), and float() raised: the run ended as an "Internal error".
    assert http._retry_after({"Retry-After": value}) == seconds
