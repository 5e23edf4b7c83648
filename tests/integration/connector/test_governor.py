"""The governor against the sandbox's honest fixed window, over real HTTP: no 429 at window boundaries.

The windows are short (200 ms) and the answers jittered by up to 120 ms, so answers of a window often come
back after the next one began and requests sent before a reset often land after it: the cases the
governor must place in the right window. A read's first request cannot know what another client left of
the window (ratelimit.py), so each read here starts after the previous read's window has ended.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from support import read

SandboxFactory = Any
QUOTA, WINDOW_MS = 8, 200


def read_after_the_window(sb: Any, streams: list[str]) -> None:
    time.sleep(2 * WINDOW_MS / 1000)  # the previous read's window ends unused: a fresh one for this read
    output = read(sb.config, streams)
    assert output.exit_code == 0, output.errors
    for stream in streams:
        assert len(output.records[stream]) == len(sb.export(stream)), stream


@pytest.mark.slow  # about 20 s: `make test-slow` (CI runs it) keeps `make test` near 10 minutes
def test_many_short_windows_of_concurrent_requests_meet_no_429(sandbox_factory: SandboxFactory) -> None:
    """One request per order, up to 16 in flight, through some 25 windows of 8: three reads, because
    the cases at a boundary depend on the jitter and one clean pass proves little."""
    sb = sandbox_factory(
        size="tiny", seed=3, orders=200, quota=QUOTA, window_ms=WINDOW_MS, latency_ms=10, jitter_ms=120
    )
    for _ in range(3):
        read_after_the_window(sb, ["transactions"])
    stats = sb.stats()
    assert stats["total_requests"] >= 3 * 200
    assert stats["responses_429"] == 0
