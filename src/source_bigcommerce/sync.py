"""``sync``: the engine's records and state, loaded through dlt, the state committed with the data it covers.

The destination's state is read first (finishing what a killed sync left on disk); then the engine reads in the
asyncio loop while the loader thread converts and loads the previous chunk (:mod:`source_bigcommerce.sink`).
All dlt calls happen in that one thread, since dlt's context is thread-affine. Progress goes to a
:class:`~source_bigcommerce.report.Report`; the result is a :class:`~source_bigcommerce.report.Summary`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from source_bigcommerce import dates, deletes, state, wiring
from source_bigcommerce.config import Config
from source_bigcommerce.deletes import Policy
from source_bigcommerce.destination import Target
from source_bigcommerce.engine import Progress
from source_bigcommerce.errors import ConnectorError
from source_bigcommerce.http import Client
from source_bigcommerce.pipeline import Loader
from source_bigcommerce.report import Report, RequestStats, StreamResult, Summary
from source_bigcommerce.sink import Chunking, LoadSink
from source_bigcommerce.streams import StreamSpec

DEFAULT_POLICY = Policy()


def request_stats(client: Client) -> RequestStats:
    governor = client.governor
    held, resets_in = governor.held()
    return RequestStats(
        requests=client.stats.requests,
        rate_limited=client.stats.statuses.get(429, 0),
        retries=client.stats.retries,
        heavy_pages=client.stats.heavy_pages,
        waits=governor.stats.holds,
        wait_seconds=held,
        resets_in=resets_in,
        quota=governor.quota,
        window_s=governor.window_s,
    )


async def estimate_totals(
    client: Client,
    specs: tuple[StreamSpec, ...],
    states: Mapping[str, Mapping[str, Any]],
    start: int,
    report: Report,
) -> None:
    """Ask BigCommerce how many records each stream will deliver, for the live view's ETA only.

    One cheap request per stream (``limit=1`` for the v3 total, ``/orders/count`` on v2) with the filter the
    engine will start from; children and single objects have no total. Any failure just leaves the ETA
    blank: the engine reports real problems itself.
    """

    async def one(spec: StreamSpec) -> None:
        if spec.parent is not None or spec.single:
            return
        params = {"limit": "1", **spec.params}
        if spec.window is not None:
            cursor = state.cursor_of(spec, states.get(spec.name) or {})
            lo = start if cursor is None else max(start, cursor)
            params[spec.window.min_param] = dates.api_param(lo, spec.window.time_format)
        if spec.api == "v2":
            body = (await client.get(spec.api, f"{spec.path}/count", params, max_retries=0)).body
            total = body.get("count") if isinstance(body, dict) else None
        else:
            body = (await client.get(spec.api, spec.path, params, max_retries=0)).body
            meta = body.get("meta") if isinstance(body, dict) else None
            total = ((meta or {}).get("pagination") or {}).get("total")
        if isinstance(total, int):
            report.expect(spec.name, total, requests_per_record(spec, specs))

    await asyncio.gather(*(one(spec) for spec in specs), return_exceptions=True)


def requests_per_record(spec: StreamSpec, specs: tuple[StreamSpec, ...]) -> float:
    """A page's share of a request, plus what each record's children cost: an order whose transactions are
    read costs one request more (order products come inside the orders pages)."""
    children = sum(1 for child in specs if child.parent == spec.name and child.name == "transactions")
    return 1 / spec.page_size + children


async def sync(
    config: Config,
    target: Target,
    chunking: Chunking,
    *,
    policy: Policy = DEFAULT_POLICY,
    debug: bool = False,
    live: bool | None = None,
    hold: tuple[str, int] | None = None,
    wall: Callable[[], float] = time.time,
    clock: Callable[[], float] = time.monotonic,
) -> Summary:
    """Read the selected streams and load them; the summary says what happened.

    Once everything read is committed, the rows whose records left the store are marked or removed as
    ``policy`` says (:mod:`source_bigcommerce.deletes`); a stream whose deletes could not be checked fails.

    Raises:
        ConnectorError: the destination cannot be opened (nothing was read); failures after that are in
            ``Summary.error`` and the streams' results.
    """
    chunking = dataclasses.replace(chunking, merge_whole=policy.deletes == "mark")
    summary = Summary(
        destination=target.destination,
        location=target.location,
        dataset=target.dataset,
        streams={spec.name: StreamResult(spec.name) for spec in chunking.streams},
    )
    loop = asyncio.get_running_loop()
    loader = Loader(target, config.store_hash, hold=hold, debug=debug)
    with loader.exclusive(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="dlt-loader") as executor:

        def call(work: Callable[[], Any]) -> Awaitable[Any]:
            return loop.run_in_executor(executor, work)

        try:
            saved = await call(loader.open)
            states = {} if chunking.full_refresh else saved
            report = Report(summary, clock, live=live, debug=debug)
            sink = LoadSink(
                call, loader, chunking, report, clock, loader.spool(), refuse_nul=not target.stores_nul
            )
            if loader.resumed:
                report.log("INFO", "Loaded the chunk an interrupted sync had left pending.")

            async def beside(client: Client) -> None:
                report.attach(lambda: request_stats(client))
                if report.live:
                    start = wiring.engine_settings(config).start_date
                    await estimate_totals(client, chunking.streams, states, start, report)

            async def after(client: Client, progress: dict[str, Progress]) -> None:
                await sink.finish()
                settings = wiring.engine_settings(config)
                outcome = await deletes.reconcile(
                    client,
                    lambda work: call(lambda: loader.with_tables(policy.deletes, now, work)),
                    chunking.streams,
                    progress,
                    policy,
                    start_date=settings.start_date,
                    lookahead=settings.lookahead,
                    load_ids=loader.load_ids,
                    merged_whole=chunking.merge_whole and not chunking.full_refresh,
                    now=now,
                )
                for name, count in outcome.dropped.items():
                    summary.streams[name].deleted = count
                for name in outcome.listed:
                    report.log("INFO", f"{name}: listed the ids that exist, since the counts differed.")
                for name in outcome.unchecked:
                    report.log("WARN", deletes.unseen(name))
                for name, message in outcome.errors.items():
                    report.failed(name, message)

            now = datetime.fromtimestamp(wall(), timezone.utc)
            report.start()
            sink.start()
            try:
                await wiring.read(
                    config,
                    sink,
                    wiring.selection(chunking.streams),
                    states,
                    wall=wall,
                    beside=beside,
                    after=after,
                )
            except ConnectorError as error:
                summary.error = (sink.fatal or error).message
            finally:
                await sink.close()
                report.stop()
            if sink.fatal is not None:
                summary.error = sink.fatal.message
            for name, rows in (await call(lambda: loader.counts(list(summary.streams)))).items():
                summary.streams[name].rows = rows
        finally:
            await call(loader.close)
    return summary
