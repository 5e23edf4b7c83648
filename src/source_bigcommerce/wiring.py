"""Config to client to engine: the one place that turns a validated config into a running read.

``read`` (the Airbyte face), ``sync`` and the dlt source all start here, so a setting such as the lookahead or
the governor's log cannot differ between them. The clock and sleep are the event loop's; nothing is created at
import time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from source_bigcommerce.config import Config
from source_bigcommerce.engine import Engine, Progress, Settings, Sink, SyncMode
from source_bigcommerce.http import DEFAULT_PAUSES, Client, Log, Pauses, make_session
from source_bigcommerce.ratelimit import Governor
from source_bigcommerce.streams import StreamSpec

T = TypeVar("T")

LOOKAHEAD_PAGES = 4
"""Pages of one stream in flight ahead of delivery: with 250 records a page, memory stays bounded."""


def engine_settings(config: Config) -> Settings:
    return Settings(
        start_date=int(config.start.timestamp()),
        api_url=config.api_url,
        store_hash=config.store_hash,
        lookahead=LOOKAHEAD_PAGES,
    )


async def with_client(
    config: Config, log: Log, work: Callable[[Client], Awaitable[T]], *, pauses: Pauses = DEFAULT_PAUSES
) -> T:
    """Run ``work`` with a client for the configured store, its session closed afterwards."""
    loop = asyncio.get_running_loop()
    async with make_session(config.max_concurrent_requests, config.api_url) as session:
        client = Client(
            session,
            api_url=config.api_url,
            store_hash=config.store_hash,
            token=config.access_token,
            governor=Governor(loop.time, asyncio.sleep, platform_backoff=pauses.platform, log=log),
            concurrency=config.max_concurrent_requests,
            timeout_s=config.request_timeout_seconds,
            max_retries=config.max_retries,
            clock=loop.time,
            sleep=asyncio.sleep,
            log=log,
            backoff=pauses.retry,
            max_response_bytes=config.max_response_bytes,
        )
        return await work(client)


def selection(specs: tuple[StreamSpec, ...]) -> list[tuple[StreamSpec, SyncMode]]:
    """Every stream in the best mode it supports: incremental where it can be."""
    return [(spec, "incremental" if spec.incremental else "full_refresh") for spec in specs]


async def read(
    config: Config,
    sink: Sink,
    chosen: list[tuple[StreamSpec, SyncMode]],
    states: Mapping[str, Mapping[str, Any]],
    *,
    pauses: Pauses = DEFAULT_PAUSES,
    wall: Callable[[], float] = time.time,
    beside: Callable[[Client], Awaitable[None]] | None = None,
    after: Callable[[Client, dict[str, Progress]], Awaitable[None]] | None = None,
) -> dict[str, Progress]:
    """Read ``chosen`` into ``sink`` with a client made from ``config``; each stream's progress.

    ``beside`` runs next to the read with the same client (the sync's ETA estimates) and is awaited after it,
    or cancelled if the read fails. ``after`` runs once the read is over, with the same client and the
    progress (the sync's reconciliation of deletes).
    """

    async def work(client: Client) -> dict[str, Progress]:
        extra = asyncio.ensure_future(beside(client)) if beside is not None else None
        try:
            progress = await Engine(client, sink, engine_settings(config), wall).read(chosen, states)
        except BaseException:
            if extra is not None:
                extra.cancel()
                await asyncio.gather(extra, return_exceptions=True)
            raise
        if extra is not None:
            await extra
        if after is not None:
            await after(client, progress)
        return progress

    return await with_client(config, sink.log, work, pauses=pauses)
