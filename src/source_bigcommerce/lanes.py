"""Request slots shared fairly between lanes: the client's limit on requests at a time, handed out in turn.

Under a tight quota nearly every request waits, and the order it waits in decides which streams progress. A
first-come queue lets one stream's burst hold back all the others: an orders page asks for a thousand
children at once, a stream read by page number asks for all its pages at once, and a stream behind either
gets nothing for the minutes the burst takes, so it can neither checkpoint nor let a sync commit it. Here each
lane (an endpoint: its path without ids, see :func:`lane_of`) waits in a queue of its own, and a freed slot
goes to the next lane that waits, in turn: every endpoint that has a request waiting gets one of every *n*
slots freed, *n* the lanes waiting, whatever the others queued. Within a lane requests keep their order,
so an orders page's children still come in the order of its parents.

The quota is as fully used as with one queue (a slot is never left free while a request waits), so a read
takes as long; what changes is that every stream moves steadily instead of in turn.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

_ID = re.compile(r"/\d+(?=/|$)")


def lane_of(api: str, path: str) -> str:
    """The lane of a request: its endpoint, ids left out (``/v2/orders/{}/products`` for every order's)."""
    return f"/{api}{_ID.sub('/{}', path)}"


class Lanes:
    """At most ``limit`` holders at once; a freed slot goes to the lanes that wait, in turn."""

    def __init__(self, limit: int) -> None:
        self._free = limit
        # Lanes in the order their turn comes; a lane leaves when it has nothing waiting.
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}

    @asynccontextmanager
    async def slot(self, lane: str) -> AsyncIterator[None]:
        """Hold one slot for the body of the ``async with``."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
        else:
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.setdefault(lane, deque()).append(turn)
            try:
                await turn
            except asyncio.CancelledError:
                if turn.cancelled():
                    self._leave(lane, turn)
                else:
                    self._pass()  # given the slot as it was cancelled: the next in turn has it
                raise
        try:
            yield
        finally:
            self._pass()

    def _leave(self, lane: str, turn: asyncio.Future[None]) -> None:
        queue = self._waiting.get(lane)
        if queue is not None and turn in queue:
            queue.remove(turn)
            if not queue:
                del self._waiting[lane]

    def _pass(self) -> None:
        """Give a freed slot to the first waiter of the lane whose turn it is, or keep it free."""
        while self._waiting:
            lane = next(iter(self._waiting))
            queue = self._waiting.pop(lane)
            turn = queue.popleft()
            if queue:
                self._waiting[lane] = queue  # to the back of the line of lanes
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1
