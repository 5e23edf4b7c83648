"""The per-store rate limiter: fixed windows with BigCommerce's four ``X-Rate-Limit-*`` headers.

BigCommerce refreshes a store's quota every 30 s; every app shares it (docs/api-docs/getting-started/
api-rate-limits.mdx). A window starts with the first request after the previous one ended, and a request
counts when it arrives. The clock is injected so tests are exact without sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

# Requests per 30 s window by plan. Enterprise and Unlimited have no practical limit; the historical
# figure "Unlimited (7mil / 30sec)" (bigcommerce/dev-docs best-practices.md) keeps the headers honest.
PLANS: dict[str, tuple[int, int]] = {
    "standard": (150, 30_000),
    "plus": (150, 30_000),
    "pro": (450, 30_000),
    "enterprise": (7_000_000, 30_000),
    "unlimited": (7_000_000, 30_000),
}


@dataclass(frozen=True)
class Verdict:
    """Whether a request may proceed, and the headers its response carries."""

    allowed: bool
    headers: dict[str, str]


class FixedWindowLimiter:
    """``quota`` requests per ``window_ms``; the window opens at the first request after the last closed."""

    def __init__(self, quota: int, window_ms: int, clock: Callable[[], float] = time.monotonic) -> None:
        if quota < 1 or window_ms < 1:
            raise ValueError("quota and window must be positive")
        self.quota = quota
        self.window_ms = window_ms
        self._clock = clock
        self._started: float | None = None
        self._used = 0

    def _roll(self, now: float) -> None:
        if self._started is None or (now - self._started) * 1000 >= self.window_ms:
            self._started = None
            self._used = 0

    def _headers(self, now: float) -> dict[str, str]:
        if self._started is None:
            reset = self.window_ms
        else:
            reset = max(0, math.ceil(self.window_ms - (now - self._started) * 1000))
        return {
            "X-Rate-Limit-Time-Window-Ms": str(self.window_ms),
            "X-Rate-Limit-Time-Reset-Ms": str(reset),
            "X-Rate-Limit-Requests-Quota": str(self.quota),
            "X-Rate-Limit-Requests-Left": str(max(0, self.quota - self._used)),
        }

    def acquire(self) -> Verdict:
        """Count one request; refused ones get ``X-Retry-After`` (whole seconds, rounded up)."""
        now = self._clock()
        self._roll(now)
        if self._started is None:
            self._started = now
        if self._used >= self.quota:
            headers = self._headers(now)
            headers["X-Retry-After"] = str(
                max(1, math.ceil(int(headers["X-Rate-Limit-Time-Reset-Ms"]) / 1000))
            )
            return Verdict(allowed=False, headers=headers)
        self._used += 1
        return Verdict(allowed=True, headers=self._headers(now))

    def peek(self) -> dict[str, str]:
        """The headers for a response that does not consume quota (401, 403, unknown store)."""
        now = self._clock()
        self._roll(now)
        return self._headers(now)
