"""``sync --demo`` (what ``make demo`` runs): a small sandbox store, synced whole, and one question answered.

The demo starts ``bigcommerce-sandbox serve`` as a process of its own on a free loopback port and reads the
connector config it prints first; the connector imports nothing of the sandbox, the two meet only over HTTP, as
they would with BigCommerce. The store is synced into the target (``./bigcommerce.duckdb`` by default) with
``--full-refresh`` semantics, since every demo store is generated afresh and its dates move with the clock,
and the server is stopped. Then the summary, and the top five customers by revenue, asked of the database the
sync just wrote, so the demo shows the tables answering a real question.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from rich.table import Table

from source_bigcommerce import report
from source_bigcommerce.config import Config, parse_config
from source_bigcommerce.destination import Target
from source_bigcommerce.errors import ConnectorError
from source_bigcommerce.sink import Chunking
from source_bigcommerce.sync import sync

DEMO_SIZE = "small"
SANDBOX = "bigcommerce-sandbox"

TOP_CUSTOMERS = """
SELECT c.first_name || ' ' || c.last_name AS customer,
       c.email,
       COUNT(*) AS orders,
       SUM(o.total_inc_tax - COALESCE(o.refunded_amount, 0)) AS revenue
FROM {dataset}.orders AS o
JOIN {dataset}.customers AS c ON c.id = o.customer_id
WHERE NOT COALESCE(o.is_deleted, FALSE)
  AND o.status NOT IN ('Incomplete', 'Cancelled', 'Declined')
GROUP BY c.id, c.first_name, c.last_name, c.email
ORDER BY revenue DESC
LIMIT 5
"""
"""Revenue: what the customer's live orders came to, tax included, less refunds; deleted, cancelled,
declined and never-completed checkouts do not count."""


def run(target: Target, chunking: Chunking, *, as_json: bool, debug: bool) -> int:
    """Serve a sandbox store, sync it, show the answer; the exit status says whether everything loaded."""
    with sandbox() as config:
        summary = asyncio.run(sync(config, target, chunking, debug=debug))
    report.conclude(summary, as_json=as_json)
    # The answer joins orders to customers: a demo of other streams (--streams brands) has no tables to ask.
    synced = {spec.name for spec in chunking.streams}
    if summary.ok and not as_json and target.destination == "duckdb" and {"orders", "customers"} <= synced:
        show_top_customers(target)
    return 0 if summary.ok else 1


@contextmanager
def sandbox() -> Iterator[Config]:
    """``bigcommerce-sandbox serve`` on a free loopback port, stopped afterwards; yields its config.

    Raises:
        ConnectorError: the sandbox is not installed or did not start.
    """
    command = _sandbox_command()
    process = subprocess.Popen(
        [*command, "serve", "--size", DEMO_SIZE, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise ConnectorError(
                f"{SANDBOX} serve exited ({process.wait()}) before serving; run it alone to see why."
            )
        yield parse_config(orjson.loads(line))
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _sandbox_command() -> list[str]:
    """The sandbox's console script beside this Python's (a virtualenv's bin), else the one on PATH."""
    beside = Path(sys.executable).with_name(SANDBOX)
    found = str(beside) if beside.exists() else shutil.which(SANDBOX)
    if found is None:
        raise ConnectorError(
            f"--demo runs {SANDBOX}, which is not installed here; install this package with its sandbox "
            "(pip install -e . in the repository), or sync a real store with --config."
        )
    return [found]


def top_customers(target: Target) -> list[tuple[Any, ...]]:
    """The answer, straight from the DuckDB file the demo wrote."""
    import duckdb

    with duckdb.connect(str(target.duckdb_path()), read_only=True) as connection:
        return connection.execute(TOP_CUSTOMERS.format(dataset=target.dataset)).fetchall()


def show_top_customers(target: Target) -> None:
    table = Table(title="Top five customers by revenue", title_justify="left")
    for name, justify in (("customer", "left"), ("email", "left"), ("orders", "right"), ("revenue", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for customer, email, orders, revenue in top_customers(target):
        table.add_row(customer, email, str(orders), f"{revenue:,.2f}")
    console = report.PipedConsole(highlight=False, soft_wrap=True)
    console.print()
    console.print(table)
    console.print(
        f"Ask your own questions of {target.duckdb_path().name} (schema {target.dataset}); the README shows how."
    )
