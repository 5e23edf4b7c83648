"""The sync's sink: when a chunk is cut, with a clock the test moves and a loader that records what it gets."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from source_bigcommerce.pipeline import Part
from source_bigcommerce.report import Report, StreamResult, Summary
from source_bigcommerce.sink import Chunking, LoadSink
from source_bigcommerce.streams import BY_NAME

from support import SteppedClock


class RecordingLoader:
    """Stands in for the dlt pipeline: remembers each chunk it is given."""

    def __init__(self) -> None:
        self.chunks: list[dict[str, int]] = []

    def extract(self, parts: list[Part]) -> dict[str, int]:
        chunk = {part.spec.name: part.rows.rows for part in parts}
        self.chunks.append(chunk)
        for part in parts:
            part.rows.remove()
        return chunk

    def load(self) -> None:
        pass

    def release(self) -> None:
        pass


async def run_now(work: Callable[[], Any]) -> Any:
    return work()


def sink_for(
    tmp_path: Path, clock: SteppedClock, loader: RecordingLoader, chunk_bytes: int = 1 << 30
) -> LoadSink:
    streams = (BY_NAME["customers"], BY_NAME["orders"])
    summary = Summary("duckdb", "x", "main", {spec.name: StreamResult(spec.name) for spec in streams})
    report = Report(summary, clock, live=False, err=io.StringIO())
    chunking = Chunking(streams, chunk_rows=1000, chunk_seconds=60.0, chunk_bytes=chunk_bytes)
    return LoadSink(run_now, loader, chunking, report, clock, tmp_path, clock.sleep)  # type: ignore[arg-type]


def customers(first: int, count: int) -> list[dict[str, Any]]:
    return [
        {"id": index, "date_modified": "2024-01-01T00:00:00+00:00"} for index in range(first, first + count)
    ]


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def test_the_interval_cuts_a_chunk_when_no_state_arrives_to(tmp_path: Path) -> None:
    async def main() -> None:
        clock, loader = SteppedClock(), RecordingLoader()
        sink = sink_for(tmp_path, clock, loader)
        sink.start()
        await sink.records("customers", customers(0, 10))
        clock.advance(0.5)
        await sink.state("customers", {"date_modified": "2024-01-01T00:00:00Z"}, 10)
        await sink.records("orders", [{"id": 1}])  # read, but no STATE covers it yet
        clock.advance(59.0)
        await settle()
        assert loader.chunks == []  # within the interval: nothing is due
        clock.advance(60.1)
        await settle()
        assert loader.chunks == [{"customers": 10}]  # no STATE arrived: the interval cut it
        clock.advance(200.0)
        await settle()
        assert loader.chunks == [{"customers": 10}]  # nothing new is covered: nothing more to commit
        await sink.state("orders", {"date_modified": "2024-01-01T00:00:00Z"}, 1)
        await settle()
        assert loader.chunks == [
            {"customers": 10},
            {"orders": 1},
        ]  # past the interval, the STATE cuts at once
        await sink.finish()
        await sink.close()

    asyncio.run(main())


def test_a_chunk_is_cut_once_enough_rows_are_covered_whatever_the_time(tmp_path: Path) -> None:
    async def main() -> None:
        clock, loader = SteppedClock(), RecordingLoader()
        sink = sink_for(tmp_path, clock, loader)
        await sink.records("customers", customers(0, 999))
        await sink.state("customers", {"date_modified": "2024-01-01T00:00:00Z"}, 999)
        assert loader.chunks == []
        await sink.records("customers", customers(999, 2))
        await sink.state("customers", {"date_modified": "2024-01-01T00:00:00Z"}, 1001)
        await settle()
        assert loader.chunks == [{"customers": 1001}]
        await sink.close()

    asyncio.run(main())


def test_a_chunk_is_cut_once_enough_bytes_are_covered_whatever_the_rows(tmp_path: Path) -> None:
    """The loader holds a chunk's Arrow tables in memory: 1,000 records of 1 MB must not wait for 1,000 more."""

    async def main() -> None:
        clock, loader = SteppedClock(), RecordingLoader()
        sink = sink_for(tmp_path, clock, loader, chunk_bytes=100_000)
        big = [{**record, "notes": "x" * 30_000} for record in customers(0, 3)]
        await sink.records("customers", big)
        await sink.state("customers", {"date_modified": "2024-01-01T00:00:00Z"}, 3)
        await settle()
        assert loader.chunks == []  # 90 KB of JSON covered
        await sink.records("customers", [{**customers(3, 1)[0], "notes": "x" * 30_000}])
        await sink.state("customers", {"date_modified": "2024-01-01T00:00:00Z"}, 4)
        await settle()
        assert loader.chunks == [{"customers": 4}]  # 120 KB: cut at 4 rows of 1,000
        await sink.close()

    asyncio.run(main())


def test_finishing_while_the_timer_waits_for_a_load_neither_cancels_that_load_nor_loses_its_count(
    tmp_path: Path,
) -> None:
    # The timer's cut waits for the chunk in flight; reading ends meanwhile and finish() stops the timer.
    # Stopping it must not cancel the load it was waiting for: that chunk's commit is still the sync's.
    async def main() -> None:
        clock, loader = SteppedClock(), RecordingLoader()
        gate = asyncio.Event()
        loads: list[int] = []

        async def call(work: Callable[[], Any]) -> Any:
            if work == loader.load:
                await gate.wait()
                loads.append(len(loader.chunks))
            return work()

        sink = sink_for(tmp_path, clock, loader)
        sink._call = call
        sink.start()
        await sink.records("customers", customers(0, 10))
        await sink.state("customers", {"date_modified": "2024-01-01T00:00:00Z"}, 10)
        clock.advance(60.1)
        await settle()
        assert loader.chunks == [{"customers": 10}]  # cut by the timer; its load waits at the gate
        await sink.records("customers", customers(10, 5))
        await sink.state("customers", {"date_modified": "2024-01-01T00:00:00Z"}, 15)
        clock.advance(120.2)
        await settle()  # the timer's next cut now waits for the first load
        finishing = asyncio.ensure_future(sink.finish())
        await settle()
        gate.set()
        await finishing
        await sink.close()
        assert loader.chunks == [{"customers": 10}, {"customers": 5}]
        assert loads == [1, 2]  # each chunk loaded once, in order
        summary = sink._report.summary
        assert (summary.chunks, summary.streams["customers"].loaded) == (2, 15)

    asyncio.run(main())
