"""``kill -9`` in the middle of a sync, then a rerun: the tables end equal to the store, keys once each.

The sync runs as the real console script in a child process. Where it is killed is chosen exactly through the
loader's test-only hold (``SOURCE_BIGCOMMERCE_TEST_HOLD=PHASE:N``): chunk N written to dlt's package on disk
(``extracted``), normalized, or loaded, while the engine keeps reading the next chunk. Each run of a chain
is killed at its own point, so every rerun also has to finish or discard what the previous one left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from bigcommerce_sandbox.app import RunningSandbox
from source_bigcommerce.destination import Target
from source_bigcommerce.pipeline import Loader
from source_bigcommerce.streams import BY_NAME
from sync_support import (
    POSTGRES_URL,
    Held,
    assert_table_equals_export,
    cli_command,
    duckdb_rows,
    duckdb_target,
    kill,
    postgres_available,
    postgres_dataset,
    postgres_rows,
    run_until_hold,
)

from support import ALL_STREAMS, SEVERAL_CHUNKS, write_json

SandboxFactory = Any
PENDING_LOADED = "Loaded the chunk an interrupted sync had left pending."


def assert_no_duplicate_keys(target: Target) -> None:
    if not target.duckdb_path().exists():
        return
    import duckdb

    with duckdb.connect(str(target.duckdb_path()), read_only=True) as connection:
        tables = {
            row[0]
            for row in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        for stream in ALL_STREAMS:
            if stream in tables:
                # A key nested in an object is read from its JSON column (inventory_items: identity.variant_id).
                key = ", ".join(
                    f'"{first}"' + (f" ->> '$.{'.'.join(rest)}'" if rest else "")
                    for first, *rest in BY_NAME[stream].key_paths
                )
                dupes = connection.execute(
                    f"SELECT COUNT(*) - COUNT(DISTINCT ({key})) FROM {target.dataset}.{stream}"
                ).fetchone()
                assert dupes == (0,), f"{stream} holds a primary key twice after a kill"


def kill_at(command: list[str], target: Target, hold: str) -> Held:
    held = run_until_hold(command, hold)
    kill(held)
    assert_no_duplicate_keys(target)
    return held


def finish_and_compare(
    command: list[str], target: Target, sandbox: RunningSandbox
) -> tuple[dict[str, Any], str]:
    """Sync to the end; the tables must equal the store. The summary, and what the sync said on stderr."""
    done = subprocess.run(
        [*command, "--json"],
        capture_output=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    for stream in ALL_STREAMS:
        assert_table_equals_export(duckdb_rows(target, stream), sandbox.export(stream), stream)
    summary: dict[str, Any] = orjson.loads(done.stdout)
    return summary, done.stderr.decode()


@dataclass
class Chunked:
    """A store read in several 200-row chunks by the console script, into a DuckDB file."""

    sandbox: RunningSandbox
    target: Target
    command: list[str]


@pytest.fixture
def chunked(sandbox_factory: SandboxFactory, tmp_path: Path) -> Chunked:
    sb = sandbox_factory(**SEVERAL_CHUNKS)
    target = duckdb_target(tmp_path)
    command = cli_command(write_json(tmp_path / "config.json", sb.config), target, "--chunk-rows", "200")
    return Chunked(sb, target, command)


@pytest.mark.slow  # 20-30 s each: `make test-slow` (CI runs it) keeps `make test` near 10 minutes
def test_a_sync_killed_at_several_commit_points_and_rerun_ends_equal_to_the_store(chunked: Chunked) -> None:
    sb, target, command = chunked.sandbox, chunked.target, chunked.command

    kill_at(command, target, "extracted:2")
    after_extracted = kill_at(command, target, "normalized:2")
    after_normalized = kill_at(command, target, "loaded:2")
    finish_and_compare(command, target, sb)
    # The chunk each kill left on disk was loaded by the next run, not read again.
    assert PENDING_LOADED in after_extracted.seen
    assert PENDING_LOADED in after_normalized.seen


HOLD_INSIDE_NORMALIZE_COMMIT = """
import sys, threading
from dlt.common.storages.load_storage import LoadStorage
from source_bigcommerce.cli import main

rename = LoadStorage.commit_new_load_package
renamed = 0

def rename_then_hold(self, load_id):
    global renamed
    rename(self, load_id)
    renamed += 1
    if renamed == int(sys.argv[1]):
        print("test hold: normalized package renamed, its extracted original left", file=sys.stderr, flush=True)
        threading.Event().wait()

LoadStorage.commit_new_load_package = rename_then_hold
sys.exit(main(sys.argv[2:]))
"""
"""The console script, held inside dlt's normalize commit of chunk ``argv[1]``: after the normalized package is
renamed into place, before the extracted one is deleted. dlt defers SIGTERM across the two steps; SIGKILL
cannot be deferred."""


@pytest.mark.slow  # 20-30 s each: `make test-slow` (CI runs it) keeps `make test` near 10 minutes
def test_a_sync_killed_inside_dlts_normalize_commit_is_completed_by_the_next(chunked: Chunked) -> None:
    sb, target, command = chunked.sandbox, chunked.target, chunked.command
    kill(run_until_hold([sys.executable, "-c", HOLD_INSIDE_NORMALIZE_COMMIT, "2", *command[1:]], hold=None))
    working = target.working_dir()
    extracted = {path.name for path in working.glob("*/normalize/extracted/*")}
    normalized = {path.name for path in working.glob("*/load/normalized/*")}
    assert extracted, "the kill should leave the extracted package"
    assert extracted == normalized, "the kill should leave the package normalized as well"

    _, said = finish_and_compare(command, target, sb)
    # Loaded as it was, not dropped and read again: the state it carries followed the destination's.
    assert PENDING_LOADED in said


HOLD_AFTER_A_JOB_COMMITTED = """
import sys, threading
from dlt.common.destination.client import RunnableLoadJob
from source_bigcommerce.cli import main

release = RunnableLoadJob._release
done = 0

def release_or_hold(self, next_state):
    global done
    if next_state == "completed" and self.load_table_name == sys.argv[1]:
        done += 1
        if done == int(sys.argv[2]):
            print("test hold: the job committed its rows, dlt has not noted it done", file=sys.stderr, flush=True)
            threading.Event().wait()
    release(self, next_state)

RunnableLoadJob._release = release_or_hold
sys.exit(main(sys.argv[3:]))
"""
"""The console script, held once the load job ``argv[2]`` of the table ``argv[1]`` has committed its rows in the
destination, before dlt notes the job done (which it does in the worker thread right after): a SIGKILL there
leaves a job dlt restores, and runs again, on the next start."""


@pytest.mark.parametrize("destination", ["duckdb", "postgres"])
def test_a_sync_killed_after_a_load_job_committed_and_before_dlt_noted_it_does_not_load_its_rows_twice(
    sandbox_factory: SandboxFactory, tmp_path: Path, destination: str
) -> None:
    """The first sync's second chunk of customers is appended (the table holds only this sync's rows, none with
    its keys): loading its file again had doubled its rows in DuckDB, and failed every later sync on Postgres
    (the unique index of ``_dlt_id``)."""
    if destination == "postgres" and (reason := postgres_available()):
        pytest.skip(reason)
    sb = sandbox_factory(**SEVERAL_CHUNKS)
    config = write_json(tmp_path / "config.json", sb.config)
    with contextlib.ExitStack() as stack:
        if destination == "duckdb":
            target = duckdb_target(tmp_path)
        else:
            target = Target("postgres", POSTGRES_URL, stack.enter_context(postgres_dataset()), str(tmp_path))
        command = cli_command(config, target, "--streams", "customers", "--chunk-rows", "200")
        held = run_until_hold(
            [sys.executable, "-c", HOLD_AFTER_A_JOB_COMMITTED, "customers", "2", *command[1:]], hold=None
        )
        kill(held)

        rerun = subprocess.run(
            command,
            capture_output=True,
            timeout=300,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
            check=False,
        )
        assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
        assert PENDING_LOADED in rerun.stderr.decode()
        rows = (
            duckdb_rows(target, "customers")
            if destination == "duckdb"
            else postgres_rows(target, "customers")
        )
        assert_table_equals_export(rows, sb.export("customers"), "customers")


LOAD_DICTS_HELD_AFTER_COMMIT = """
import sys, tempfile, threading
from pathlib import Path
from dlt.common.destination.client import RunnableLoadJob
from source_bigcommerce.destination import Target
from source_bigcommerce.pipeline import Loader, Part
from source_bigcommerce.streams import BY_NAME
from source_bigcommerce.tables import Spool

def spooled(record, misfit):
    # As the sink spools a first sync's customers: their keys tracked, a record no column takes flagged.
    spool = Spool(Path(tempfile.mkdtemp(dir=sys.argv[4])), "customers", ("id",))
    spool.add([record], misfit=misfit)
    spool.cover()
    return spool.take()

loader = Loader(Target(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]), "drift")
loader.open()
state = {"date_modified": "2024-01-02T00:00:00Z", "state_version": 1}
typed = {"id": 1, "date_modified": "2024-01-01T00:00:00Z"}
loader.extract([Part(BY_NAME["customers"], spooled(typed, False), state, "merge")])
loader.load()
release = RunnableLoadJob._release

def hold(self, next_state):
    if next_state == "completed" and self.load_table_name == "customers":
        print("test hold: the job committed its rows, dlt has not noted it done", file=sys.stderr, flush=True)
        threading.Event().wait()
    release(self, next_state)

RunnableLoadJob._release = hold
# 1.5 in an integer column: the chunk goes to dlt as dicts, which it loads from INSERT statements.
odd = {"id": 2, "date_modified": "2024-01-01T00:00:00Z", "customer_group_id": 1.5}
loader.extract([Part(BY_NAME["customers"], spooled(odd, True), state, sys.argv[5])])
loader.load()
"""
"""Two chunks of a first sync into the destination ``argv[1]`` at ``argv[2]``, dataset ``argv[3]`` (working
directory ``argv[4]``), the second written as ``argv[5]`` says and held once its INSERT statements have
committed, before dlt notes the job done."""


@pytest.mark.parametrize("destination", ["duckdb", "postgres"])
@pytest.mark.parametrize("disposition", ["merge", "replace"])
def test_a_sync_killed_after_inserting_a_chunk_of_dicts_loads_it_once_on_resume(
    tmp_path: Path, destination: str, disposition: str
) -> None:
    """Before, the restored job inserted the rows again: in DuckDB twice into a table that held only this sync's
    rows (the chunk was appended), or into the staging table a replaced one is filled from, and in Postgres a
    failure on ``_dlt_id``'s unique index, at every sync."""
    if destination == "postgres" and (reason := postgres_available()):
        pytest.skip(reason)
    with contextlib.ExitStack() as stack:
        if destination == "duckdb":
            target = duckdb_target(tmp_path)
        else:
            target = Target("postgres", POSTGRES_URL, stack.enter_context(postgres_dataset()), str(tmp_path))
        where = [
            target.destination,
            str(target.credentials),
            target.dataset,
            str(target.pipelines_dir),
            disposition,
        ]
        kill(run_until_hold([sys.executable, "-c", LOAD_DICTS_HELD_AFTER_COMMIT, *where], None))

        loader = Loader(target, "drift")
        try:
            loader.open()
            assert loader.resumed
        finally:
            loader.close()
        rows = (
            duckdb_rows(target, "customers")
            if destination == "duckdb"
            else postgres_rows(target, "customers")
        )
        assert sorted(row["id"] for row in rows) == ([1, 2] if disposition == "merge" else [2])


@pytest.mark.slow  # 20-30 s each: `make test-slow` (CI runs it) keeps `make test` near 10 minutes
def test_a_sync_started_while_another_runs_stops_with_a_sentence_and_leaves_its_package(
    chunked: Chunked,
) -> None:
    sb, target, command = chunked.sandbox, chunked.target, chunked.command
    running = run_until_hold(command, "extracted:2")
    try:
        second = subprocess.run(command, capture_output=True, timeout=120, check=False)
    finally:
        kill(running)
    assert second.returncode == 1
    message = second.stderr.decode()
    assert "Another sync of this store" in message, message[-2000:]
    assert "Traceback" not in message
    # The package the running sync had written is still there for the next sync to load.
    rerun = subprocess.run(
        command, capture_output=True, timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"}, check=False
    )
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    assert PENDING_LOADED in rerun.stderr.decode()
    for stream in ALL_STREAMS:
        assert_table_equals_export(duckdb_rows(target, stream), sb.export(stream), stream)


HELD_DATASET = (
    "Another sync into the dataset {dataset} of {url} is still running (it holds the dataset's lock in Postgres); "
    "let it finish, or stop it, then sync again."
)


def test_two_syncs_into_one_postgres_dataset_from_two_working_directories_never_double_a_row(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """Two working directories (two machines, or two users' dlt directories) share no lock file: the dataset
    is held in Postgres. Before, both syncs exited 0 and each appended its rows to the tables it found empty."""
    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    config = write_json(tmp_path / "config.json", sandbox.config)
    with postgres_dataset() as dataset:
        one, two = (
            cli_command(config, Target("postgres", POSTGRES_URL, dataset, str(tmp_path / name)))
            for name in ("one", "two")
        )
        held = HELD_DATASET.format(dataset=dataset, url=POSTGRES_URL)
        assert_one_at_a_time(one, two, held)
        for stream in ALL_STREAMS:
            assert_table_equals_export(
                postgres_rows(Target("postgres", POSTGRES_URL, dataset), stream),
                sandbox.export(stream),
                stream,
            )


def assert_one_at_a_time(one: list[str], two: list[str], held: str) -> None:
    """While sync ``one`` holds what it syncs into (its first chunk written to its package, not loaded), sync
    ``two`` stops at once with the sentence ``held``; started both at once, each loads everything or stops
    with that sentence."""
    running = run_until_hold(one, "extracted:1")
    try:
        second = subprocess.run(two, capture_output=True, timeout=120, check=False)
    finally:
        kill(running)
    assert second.returncode == 1, second.stderr.decode()[-2000:]
    assert second.stderr.decode().splitlines()[-1] == held
    both = [
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for command in (one, two)
    ]
    ends = [(process.communicate(timeout=300)[1].decode(), process.returncode) for process in both]
    for stderr, code in ends:
        assert code == 0 or stderr.splitlines()[-1] == held, stderr[-2000:]
    assert 0 in [code for _, code in ends]


def test_two_syncs_into_one_duckdb_file_from_two_working_directories_never_double_a_row(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """The file is closed while a sync waits for its next chunk, so a sync from another working directory
    (another user's, another ``--pipelines-dir``) could load between its chunks: before, both exited 0 and each
    appended every row to the tables it had found empty."""
    config = write_json(tmp_path / "config.json", sandbox.config)
    database = tmp_path / "store.duckdb"
    one, two = (
        cli_command(config, Target("duckdb", str(database), "main", str(tmp_path / name)))
        for name in ("one", "two")
    )
    held = (
        f"Another sync into {database} is still running (it holds {database}.sync.lock); let it finish, or stop "
        "it, then sync again."
    )
    assert_one_at_a_time(one, two, held)
    for stream in ALL_STREAMS:
        assert_table_equals_export(
            duckdb_rows(Target("duckdb", str(database), "main"), stream), sandbox.export(stream), stream
        )


@pytest.mark.slow
def test_a_medium_store_survives_a_kill_at_every_phase_of_many_chunks(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = sandbox_factory(size="medium", seed=4)
    target = duckdb_target(tmp_path)
    command = cli_command(write_json(tmp_path / "config.json", sb.config), target, "--chunk-rows", "5000")
    # The first chunk of all, pending before anything was committed: it is discarded and read again.
    kill_at(command, target, "extracted:1")
    for hold in ("loaded:1", "extracted:2", "normalized:1", "loaded:3", "normalized:2", "extracted:1"):
        kill_at(command, target, hold)
    # And at moments no hook chose: as soon as dlt reports its first, then its second loaded package.
    for packages in (1, 2):
        kill_after_loaded_packages(command, target, packages)
    summary, _ = finish_and_compare(command, target, sb)
    assert summary["ok"] is True


def kill_after_loaded_packages(command: list[str], target: Target, packages: int) -> None:
    """SIGKILL once ``packages`` load packages are in dlt's loaded folder, wherever the sync then is."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    loaded = Path(str(target.pipelines_dir))
    deadline = time.monotonic() + 300
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        try:
            while time.monotonic() < deadline and process.poll() is None:
                if len(list(loaded.glob("*/*/load/loaded/*"))) >= packages:
                    break
                time.sleep(0.01)
            if process.poll() is not None:
                stderr.seek(0)
                said = stderr.read().decode(errors="replace")[-3000:]
                pytest.fail(f"the sync ended (exit {process.returncode}) before it could be killed:\n{said}")
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
    assert_no_duplicate_keys(target)
