"""SIGKILL of ``read`` mid-flight, then a rerun from the last state it printed: nothing is lost.

The console script reads a latency-ed sandbox served by this process; its stdout is read line by line and
the child is killed with SIGKILL right after it has printed its Nth STATE message, for N spread over the
whole read. What counts as delivered is what a platform commits: the records of each stream that came
before that stream's last STATE. A rerun from those states must deliver the rest, so that the two runs
together hold exactly the export, every record in its current version.

``make test`` kills a small store's read (two to four pages a stream) at three points; ``make test-slow`` kills a larger one at twelve.
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from bigcommerce_sandbox.app import RunningSandbox, Settings, running_sandbox

from support import (
    BEYOND_TINY,
    Output,
    assert_no_secret,
    by_key,
    child_env,
    configured_catalog,
    console_script,
    expected_record,
    key_of,
    read,
    write_json,
)

SECRET = "tok-crash-Vb7nQ2sK9w"


@dataclass
class Store:
    sandbox: RunningSandbox
    expected: dict[str, dict[Any, dict[str, Any]]]
    """Every record of the store as the connector must deliver it, by stream and id."""
    states: int
    """STATE messages a complete read prints."""
    folder: Path
    config: Path = field(init=False)
    catalog: Path = field(init=False)

    def __post_init__(self) -> None:
        self.config = write_json(self.folder / "config.json", self.sandbox.config)
        self.catalog = write_json(self.folder / "catalog.json", configured_catalog(BEYOND_TINY))


@dataclass
class Killed:
    """What a killed read printed: every complete line, and whether the kill came before it finished."""

    messages: list[dict[str, Any]]
    crashed: bool

    def committed(self) -> dict[str, list[dict[str, Any]]]:
        """Per stream, the records printed before that stream's last STATE."""
        pending: dict[str, list[dict[str, Any]]] = defaultdict(list)
        committed: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for message in self.messages:
            if message["type"] == "RECORD":
                pending[message["record"]["stream"]].append(message["record"]["data"])
            elif message["type"] == "STATE":
                stream = message["state"]["stream"]["stream_descriptor"]["name"]
                committed[stream] += pending.pop(stream, [])
        return committed

    def last_states(self) -> list[dict[str, Any]]:
        last: dict[str, dict[str, Any]] = {}
        for message in self.messages:
            if message["type"] == "STATE":
                last[message["state"]["stream"]["stream_descriptor"]["name"]] = message
        return list(last.values())


def read_until_killed(store: Store, after_states: int) -> Killed:
    """Run ``read`` as a child process and SIGKILL it once it has printed ``after_states`` STATE messages."""
    command = [str(console_script()), "read", "--config", str(store.config), "--catalog", str(store.catalog)]
    with (
        tempfile.TemporaryFile() as stderr,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, env=child_env()) as child,
    ):
        assert child.stdout is not None
        printed: list[bytes] = []
        seen = 0
        for line in child.stdout:
            printed.append(line)
            if line.startswith(b'{"type":"STATE"'):
                seen += 1
                if seen == after_states:
                    child.send_signal(signal.SIGKILL)
                    break
        printed += child.stdout.read().splitlines(keepends=True)
        code = child.wait(timeout=120)
        stderr.seek(0)
        assert_no_secret(SECRET, stderr.read(), *printed, where="the killed read's output")
    complete = [line for line in printed if line.endswith(b"\n")]  # the kill may cut the last line
    return Killed([orjson.loads(line) for line in complete], crashed=code == -signal.SIGKILL)


def assert_union_is_the_export(
    committed: dict[str, list[dict[str, Any]]], rerun: Output, expected: dict[str, dict[Any, dict[str, Any]]]
) -> None:
    for stream in BEYOND_TINY:
        got = by_key(stream, committed.get(stream, []))
        again = by_key(stream, rerun.records[stream])
        assert len(again) == len(rerun.records[stream]), f"the rerun delivered a {stream} record twice"
        got.update(again)
        missing = set(expected[stream]) - set(got)
        assert not missing, f"{stream}: {len(missing)} records lost, e.g. {sorted(missing)[:5]}"
        assert set(got) == set(expected[stream]), f"{stream}: records that are not in the store"
        assert got == expected[stream], f"{stream}: a record differs from the store's"


def kill_and_resume(store: Store, after_states: int) -> Killed:
    killed = read_until_killed(store, after_states)
    rerun = read(store.sandbox.config, BEYOND_TINY, state=killed.last_states())
    assert rerun.exit_code == 0, rerun.errors
    assert_union_is_the_export(killed.committed(), rerun, store.expected)
    return killed


def serve(settings: Settings, folder: Path) -> Iterator[Store]:
    with running_sandbox(settings) as sb:
        reference = read(sb.config, BEYOND_TINY)
        assert reference.exit_code == 0, reference.errors
        states = sum(len(states) for states in reference.states.values())
        expected = {
            stream: {key_of(stream, record): expected_record(stream, record) for record in sb.export(stream)}
            for stream in BEYOND_TINY
        }
        yield Store(sb, expected, states, folder)


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    yield from serve(
        Settings(size="small", seed=5, customers=800, orders=700, products=600, latency_ms=5, token=SECRET),
        tmp_path_factory.mktemp("small"),
    )


@pytest.fixture(scope="module")
def larger_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    settings = Settings(
        size="small", seed=6, customers=8000, orders=5000, products=3000, latency_ms=5, token=SECRET
    )
    yield from serve(settings, tmp_path_factory.mktemp("larger"))


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.6])
def test_a_read_killed_mid_flight_and_rerun_from_its_last_state_delivers_the_export(
    small_store: Store, fraction: float
) -> None:
    after = 1 + round(fraction * small_store.states)
    killed = kill_and_resume(small_store, after)
    assert killed.crashed, "the kill should land while the read is still running"


@pytest.mark.slow
def test_twelve_kills_spread_over_a_larger_read_each_resume_to_the_export(larger_store: Store) -> None:
    points = [1 + round(i * (larger_store.states - 6) / 11) for i in range(12)]
    assert len(set(points)) == 12
    crashed = [kill_and_resume(larger_store, after).crashed for after in points]
    # The last points are close to the end: the read may finish before the signal lands.
    assert sum(crashed) >= 10, crashed
