"""A sync held back by the store's quota still commits what it has read, at least every ``--chunk-seconds``.

The sandbox's quota is time-compressed (10 requests a second), and the commit interval is 2 seconds instead of a
minute, so "the first minute of throttled reading" takes 2 seconds here. The orders family takes a
while (one transactions request per order) and checkpoints once it has read them, so the customers read
meanwhile must be committed on their own. (That the interval cuts a chunk even when no STATE arrives to is
pinned exactly, with a clock the test moves, in tests/unit/test_sink.py.)
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from sync_support import cli_command, duckdb_rows, duckdb_target, kill, run_until_hold

from support import canonical_time, child_env, write_json

SandboxFactory = Any
THROTTLED: dict[str, Any] = {
    "size": "tiny",
    "seed": 5,
    "customers": 100,
    "orders": 60,
    "quota": 10,
    "window_ms": 1000,
}


def test_a_throttled_sync_killed_after_its_first_interval_keeps_what_it_committed_and_does_not_read_it_again(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = sandbox_factory(**THROTTLED)
    target = duckdb_target(tmp_path)
    streams = "customers,orders,transactions"
    command = cli_command(
        write_json(tmp_path / "config.json", sb.config), target, "--streams", streams, "--chunk-seconds", "2"
    )
    transactions = len(sb.export("transactions"))
    # Killed as soon as it says its first chunk is committed, long before the orders family ends.
    first = run_until_hold(command, None, says="Committed chunk 1:")
    kill(first)
    assert first.line.startswith("Committed chunk 1: customers +"), first.line
    committed = duckdb_rows(target, "customers")
    assert committed, "the first interval's customers should be in the destination"
    assert not table_exists(target, "transactions") or len(duckdb_rows(target, "transactions")) < transactions
    # What the rerun may read again: the customers of the last committed second (the cursor's, re-read by
    # design), and the ones not committed; never all of them.
    last = max(canonical_time(row["date_modified"].isoformat())[:19] for row in committed)
    at_or_after = [c for c in sb.export("customers") if canonical_time(c["date_modified"])[:19] >= last]
    uncommitted = THROTTLED["customers"] - len(committed)

    sb.reset_stats()
    rerun = subprocess.run(
        [*command, "--json"], capture_output=True, timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"}
    )
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    summary = orjson.loads(rerun.stdout)
    # The committed customers are not read again: their state says where they ended.
    assert (
        uncommitted <= summary["streams"]["customers"]["records"] <= len(at_or_after) < THROTTLED["customers"]
    )
    assert summary["streams"]["customers"]["rows"] == THROTTLED["customers"]
    assert summary["streams"]["transactions"]["rows"] == transactions


def table_exists(target: Any, table: str) -> bool:
    import duckdb

    with duckdb.connect(str(target.duckdb_path()), read_only=True) as connection:
        found = connection.execute(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = ?", [table]
        ).fetchone()
        return bool(found and found[0])


def test_ctrl_c_stops_a_throttled_sync_with_its_commits_kept_and_one_json_object(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    # Enough orders that their transactions (one request each, ten a second) outlast the first commit by far,
    # however slow a loaded machine makes it: the signal must find the sync still reading.
    sb = sandbox_factory(**{**THROTTLED, "orders": 600})
    target = duckdb_target(tmp_path)
    command = cli_command(
        write_json(tmp_path / "config.json", sb.config),
        target,
        "--streams",
        "customers,orders,transactions",
        "--chunk-seconds",
        "2",
        "--json",
    )
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env())
    assert process.stderr is not None
    before: list[bytes] = []
    for raw in process.stderr:
        before.append(raw)
        if raw.startswith(b"Committed chunk 1:"):
            break
    assert process.poll() is None, b"".join(before).decode()[-2000:]
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr.decode()[-2000:]
    assert orjson.loads(stdout) == {"ok": False, "error": "Interrupted."}
    assert stderr.decode().splitlines()[-1] == "Interrupted."
    assert "Traceback" not in stderr.decode()
    assert duckdb_rows(target, "customers"), "what was committed before Ctrl-C stays"


def test_a_throttled_orders_page_is_committed_slice_by_slice_and_a_rerun_reads_only_the_rest(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    # One page of orders, whose transactions cost one request each: 22 s of this quota. Its children come in
    # slices (children.SLICE_PARENTS), each delivered with the state that covers it, so the first commits
    # hold orders and transactions of the page before the page is read whole. Four slices and a bit: the
    # first load (dlt making the tables) takes seconds of its own, during which the next slices come, and
    # with three the page was sometimes whole by the second commit on a loaded machine.
    from source_bigcommerce.children import SLICE_PARENTS

    sb = sandbox_factory(**{**THROTTLED, "customers": 5, "orders": 4 * SLICE_PARENTS + 20})
    target = duckdb_target(tmp_path)
    command = cli_command(
        write_json(tmp_path / "config.json", sb.config),
        target,
        "--streams",
        "orders,transactions",
        "--chunk-seconds",
        "2",
    )
    orders, transactions = len(sb.export("orders")), len(sb.export("transactions"))
    # The parent's state comes just before its children's, so a chunk cut between them holds the transactions
    # of a slice in the next one: killed after the first commit that holds transactions.
    held = run_until_hold(command, None, says="Committed chunk 1:")
    assert held.process.stderr is not None
    while "transactions +" not in held.seen[-1]:
        line = held.process.stderr.readline().decode(errors="replace").strip()
        assert line, f"the sync ended before it committed any transactions: {held.seen}"
        held.seen.append(line)
    kill(held)
    commits = [line for line in held.seen if line.startswith("Committed chunk")]
    first = next(found for line in commits if (found := re.search(r"orders \+([\d,]+)", line)))
    assert int(first[1].replace(",", "")) < orders, (
        f"a slice of the page first, not the page whole: {commits}"
    )
    committed = duckdb_rows(target, "orders")
    assert len(committed) >= SLICE_PARENTS
    paid = {int(row["order_id"]) for row in duckdb_rows(target, "transactions")}
    assert paid, "the transactions of the first slice are committed too"
    assert paid <= {int(row["id"]) for row in committed}

    rerun = subprocess.run(
        [*command, "--json"], capture_output=True, timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"}
    )
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    summary = orjson.loads(rerun.stdout)
    assert summary["streams"]["orders"]["records"] < orders, "the committed slices are not read again"
    assert summary["streams"]["orders"]["rows"] == orders
    assert summary["streams"]["transactions"]["rows"] == transactions


IMPORT_INTERRUPTED = """
import sys
from importlib.metadata import entry_points
class Interrupted:
    def find_spec(self, name, path=None, target=None):
        if name == "source_bigcommerce.cli":
            raise KeyboardInterrupt
sys.meta_path.insert(0, Interrupted())
[script] = entry_points(group="console_scripts", name="source-bigcommerce")
sys.exit(script.load()())
"""


@pytest.mark.parametrize(
    ("args", "stdout"),
    [(("sync", "--json"), b'{"ok":false,"error":"Interrupted."}\n'), (("read",), b"")],
    ids=["sync-json", "read"],
)
def test_ctrl_c_while_the_console_script_imports_the_cli_is_one_line_not_a_traceback(
    args: tuple[str, ...], stdout: bytes
) -> None:
    # The import takes a few tenths of a second: a Ctrl-C in it raised from the console script's own import
    # of source_bigcommerce.cli, before cli.main could catch it, and printed a traceback.
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_INTERRUPTED, *args], capture_output=True, env=child_env(), check=False
    )
    assert (done.returncode, done.stderr, done.stdout) == (130, b"Interrupted.\n", stdout)
