"""The store-wide rate governor, driven by BigCommerce's ``X-Rate-Limit-*`` headers.

BigCommerce gives each store one quota of requests per window (150 per 30 s on Standard and Plus, 450 on
Pro), shared by every app connected to the store, and reports on every response how many requests are
left and how many milliseconds remain until the window resets (docs/api-docs/getting-started/
api-rate-limits.mdx, quoted in reference/bigcommerce-api-facts.md §3). The fastest way through a
quota is to spend it as fast as the latency allows and then wait for the reset; the governor does exactly
that, without ever sending a request it expects to be refused:

* Within a window the count of requests left only falls, so the lowest ``left`` any answer of that window
  reported is the newest word on the quota. Every request it does not reflect is still in flight: one that
  has completed was counted either before that report (and is in it) or after (and then reported a lower
  ``left`` itself). So ``lowest left - requests in flight`` can safely be sent, whatever order requests
  arrive in.
* BigCommerce counted a request somewhere between its sending and its answer, so the window it reports on
  ends between *send* + reset and *arrival* + reset. Windows end at least a window apart, so these
  intervals tell which window an answer speaks of: an answer overtaken by a reset (its stale ``left`` and
  its reset in a few milliseconds) is ignored, and a request sent before a reset that landed after it is
  known as the next window's. When nothing is left, every request waits for the earliest *arrival* +
  reset of the window: a delayed request can only make that later than the true end, never earlier.
* After a reset, the next window opens with the first request to arrive, which may travel slowly: its end
  is unknown until one of its answers says, so the full quota may be sent at once, and more only after
  an answer of the new window. Before the first answer of all, one request goes at a time, so a read's
  opening burst cannot overrun a quota smaller than the connection pool.
* An answer that took longer than about a window (a server that queued the request before counting it)
  is ambiguous: its interval reaches past where the next window could end, so its request may have been
  counted in either. Its ``left`` and latest possible reset are folded in (both safe either way), its
  earliest possible reset is not, and the next window opens with one request fewer for it: believing it
  counted in the window that was ending would let the next window's full quota follow it, one too many.
* The bounded edge case: a read's first request cannot know what another client left of the window (one
  429 at most, then the hold below).
* Another app spending the same quota shows up as fewer requests left than we expected; the headers are
  re-read on every response, so the governor simply follows them.
* A 429 with the headers holds every request until the reset. A 429 without them means BigCommerce is
  under platform load (bigcommerce/docs PR #325): hold everything for an exponentially growing pause. A
  ``Retry-After`` on such a 429 is the answered request's own business (http.Client), never everyone's.
* No wait outlasts the window: BigCommerce's is 30 s on every plan, so a reset announced beyond the window
  (or a window beyond :data:`MAX_WINDOW_S`) comes from a broken or hostile server, and is cut to the window
  and logged rather than believed.

The clock and sleep are injected, so tests drive the governor exactly, without real waiting.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from source_bigcommerce.protocol import LogLevel

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

RESET_MARGIN_S = 0.01
"""Added to every computed reset, so a request never reaches BigCommerce a hair before its window ends."""
PLATFORM_BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
"""Pauses after consecutive 429s that carry no rate-limit headers (platform load), then the last repeats."""
DEFAULT_WINDOW_S = 30.0
"""The window until a response says otherwise: 30 s on every plan (reference/bigcommerce-api-facts.md §3)."""
MAX_WINDOW_S = 60.0
"""The longest window believed, whatever ``X-Rate-Limit-Time-Window-Ms`` says: twice BigCommerce's, so that one
request's waits for the quota (``http.MAX_RATE_LIMITED`` of them) stay within 40 minutes."""


@dataclass(frozen=True)
class Quota:
    """What one response said about the store's quota."""

    left: int
    reset_ms: int
    quota: int | None
    window_ms: int | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Quota | None:
        """Read the four headers (case-insensitively, as aiohttp's mapping does); None if absent or junk."""
        left = headers.get("X-Rate-Limit-Requests-Left")
        reset = headers.get("X-Rate-Limit-Time-Reset-Ms")
        if left is None or reset is None:
            return None
        try:
            quota = headers.get("X-Rate-Limit-Requests-Quota")
            window = headers.get("X-Rate-Limit-Time-Window-Ms")
            window_ms = int(window) if window is not None else None
            return cls(
                left=int(left),
                reset_ms=max(0, int(reset)),
                quota=int(quota) if quota is not None else None,
                window_ms=window_ms if window_ms is not None and window_ms > 0 else None,
            )
        except ValueError:
            return None


@dataclass
class GovernorStats:
    """What the governor did, for the summary and the benchmark."""

    waits: int = 0
    wait_seconds: float = 0.0
    """Summed over the requests that waited: requests waiting side by side add up."""
    rate_limited: int = 0
    platform_limited: int = 0
    holds: int = 0
    """Times requests started waiting when none had been: each wait for a window's reset counts once."""
    held_seconds: float = 0.0
    """Wall time during which at least one request waited (finished holds only; see :meth:`Governor.held`)."""


class Governor:
    """Paces every request to one store so its quota is used fully and never overrun.

    Each :meth:`acquire` must be matched by one :meth:`release` when the request is over, whatever its fate;
    the clock's reading before a request is sent is its ``sent_at`` for :meth:`observe` and
    :meth:`rate_limited`.
    """

    def __init__(
        self,
        clock: Clock,
        sleep: Sleep,
        platform_backoff: Sequence[float] = PLATFORM_BACKOFF_S,
        log: Callable[[LogLevel, str], None] | None = None,
    ) -> None:
        """``platform_backoff`` replaces :data:`PLATFORM_BACKOFF_S` (tests use milliseconds); ``log`` hears
        of every wait for a window to reset, once per window, with its length and reason, and of the first
        reset it refused to believe."""
        self._clock = clock
        self._sleep = sleep
        self._log = log
        self._announced = 0.0
        self._disbelieved = False
        self._platform_backoff = tuple(platform_backoff) or PLATFORM_BACKOFF_S
        self._in_flight = 0
        self._answered = False
        self._left: int | None = None
        self._ends_after = -math.inf
        self._ends_by = math.inf
        self._quota: int | None = None
        self._maybe_next = 0
        self._window_s = DEFAULT_WINDOW_S
        self._hold_until = 0.0
        self._platform_strikes = 0
        self._news: asyncio.Event | None = None
        self._waiting = 0
        self._held_since = 0.0
        self._resume_at = 0.0
        self.stats = GovernorStats()

    @property
    def quota(self) -> int | None:
        """The store's quota per window, once a response has told us."""
        return self._quota

    @property
    def window_s(self) -> float:
        """The length of the store's rate-limit window (30 s until a response says otherwise)."""
        return self._window_s

    async def acquire(self) -> None:
        """Wait until a request may leave."""
        while True:
            now = self._clock()
            if now < self._hold_until:
                await self._wait(self._hold_until - now)
                continue
            if self._left is None:
                if self._answered or self._in_flight == 0:
                    break
                # Until the first answer tells the quota, one request at a time: a burst could overrun it.
                await self._wait(None)
                continue
            if self._left - self._in_flight > 0:
                break
            if self._ends_by == math.inf:
                # The window began after the last answer: only an answer of it can tell when it ends.
                await self._wait(None)
                continue
            if now < self._ends_by:
                # Answers refine the reset within a window; one line per window is enough.
                if self._log is not None and self._ends_by > self._announced + self._window_s / 2:
                    self._announced = self._ends_by
                    self._log(
                        "INFO",
                        f"The store's quota of {self._quota or '?'} requests is spent for this window; "
                        f"every request waits {self._ends_by - now:.1f} s for it to reset.",
                    )
                await self._wait(self._ends_by - now)
                continue
            # The window has surely ended: the next one opens with the first request to arrive after it, so
            # it ends a window after this one at the earliest, and its end is unknown until it answers. One
            # request at least, so that even a quota reported as 0 is asked about again.
            self._left = None if self._quota is None else max(self._quota - self._maybe_next, 1)
            self._maybe_next = 0
            self._ends_after += self._window_s
            self._ends_by = math.inf
        self._in_flight += 1

    def release(self) -> None:
        """The request is over (answered, failed or cancelled)."""
        self._in_flight -= 1
        self._tell()

    def _tell(self) -> None:
        """Wake the requests waiting for an answer to learn from."""
        if self._news is not None:
            self._news.set()
            self._news = None

    async def _wait(self, seconds: float | None) -> None:
        """Sleep ``seconds``, or with None until the next answer or release."""
        self.stats.waits += 1
        now = self._clock()
        if self._waiting == 0:
            self.stats.holds += 1
            self._held_since = now
        self._waiting += 1
        self._resume_at = now + (seconds or 0.0)
        try:
            if seconds is None:
                if self._news is None:
                    self._news = asyncio.Event()
                await self._news.wait()
            else:
                await self._sleep(seconds)
        finally:
            self.stats.wait_seconds += self._clock() - now if seconds is None else seconds
            self._waiting -= 1
            if self._waiting == 0:
                self.stats.held_seconds += self._clock() - self._held_since

    def held(self) -> tuple[float, float | None]:
        """Wall seconds requests have been held back so far, the hold under way included, and the seconds
        until it ends (None when no request waits): what a progress display shows."""
        if self._waiting == 0:
            return self.stats.held_seconds, None
        now = self._clock()
        return self.stats.held_seconds + now - self._held_since, max(0.0, self._resume_at - now)

    def observe(self, sent_at: float, received_at: float, headers: Mapping[str, str]) -> None:
        """Learn from a response's headers (any status but 429, which goes to :meth:`rate_limited`)."""
        self._answered = True
        quota = Quota.from_headers(headers)
        if quota is not None:
            self._platform_strikes = 0
            self._fold(sent_at, received_at, quota.left, self._learn(quota), counted=True)
        self._tell()

    def rate_limited(self, sent_at: float, received_at: float, headers: Mapping[str, str]) -> float:
        """A 429: hold every request until the window resets (or back off, without headers); returns the pause."""
        self._answered = True
        quota = Quota.from_headers(headers)
        now = self._clock()
        if quota is not None:
            self.stats.rate_limited += 1
            if self._fold(sent_at, received_at, 0, self._learn(quota), counted=False):
                self._hold_until = max(self._hold_until, self._ends_by)
        else:
            self.stats.platform_limited += 1
            backoff = self._platform_backoff
            pause = backoff[min(self._platform_strikes, len(backoff) - 1)]
            self._platform_strikes += 1
            self._hold_until = max(self._hold_until, now + pause)
        self._tell()
        return max(0.0, self._hold_until - now)

    def _fold(self, sent_at: float, received_at: float, left: int, reset_s: float, counted: bool) -> bool:
        """Take one answer's report into the current window; False when it speaks of one already over.

        BigCommerce counted the request between its sending and its answer, so its window ends between
        ``sent_at + reset`` and ``received_at + reset``: an interval as wide as the round trip, which holds
        the end. Consecutive windows end at least a window apart, so two answers whose intervals meet speak
        of the same window, one whose interval ends before the current window can end speaks of a past one
        (an answer overtaken by the reset), and one whose interval starts after the current window must
        have ended speaks of a later one (a request sent before the reset that arrived after it).

        That holds while a round trip is shorter than a window. An answer whose interval also reaches past
        the earliest end of the next window (``ends_after`` + a window) may speak of either: ``counted``
        (a request BigCommerce served, unlike a 429) says it may already use the next window's quota.
        """
        ends_after, ends_by = sent_at + reset_s, received_at + reset_s + RESET_MARGIN_S
        if ends_by <= self._ends_after:
            return False
        if self._left is None or ends_after >= self._ends_by:
            self._left, self._ends_after, self._ends_by = left, ends_after, ends_by
            self._maybe_next = 0
        elif ends_by > self._ends_after + self._window_s:
            # Its ends_after bounds this window's end only if it is of this window, so it is left out; its
            # left and ends_by are safe bounds either way.
            self._left = min(self._left, left)
            self._ends_by = min(self._ends_by, ends_by)
            if counted:
                self._maybe_next += 1
        else:
            self._left = min(self._left, left)
            self._ends_after = max(self._ends_after, ends_after)
            self._ends_by = min(self._ends_by, ends_by)
        return True

    def _learn(self, quota: Quota) -> float:
        """Take the quota and window a response reported; returns the seconds until the reset it announced,
        cut to the window (and, the first time, logged) when it announced more."""
        if quota.quota is not None:
            self._quota = quota.quota
        if quota.window_ms is not None:
            self._window_s = min(quota.window_ms / 1000, MAX_WINDOW_S)
        reset = quota.reset_ms / 1000
        if reset <= self._window_s:
            return reset
        if not self._disbelieved and self._log is not None:
            self._disbelieved = True
            self._log(
                "WARN",
                f"The API announced a rate-limit reset in {reset:.1f} s, longer than its window of "
                f"{self._window_s:g} s; the connector waits {self._window_s:g} s at most instead.",
            )
        return self._window_s
