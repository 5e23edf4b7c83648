"""``sync --demo`` (what ``make demo`` runs): a small sandbox store, synced whole, and one question answered.

The sandbox is started in this process on a free loopback port, synced into the target (``./bigcommerce.duckdb``
by default) with ``--full-refresh`` semantics, since every demo store is generated afresh and its dates move
with the clock, and stopped. Then the summary, and the top five customers by revenue, asked of the database
the sync just wrote, so the demo shows the tables answering a real question.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rich.console import Console
from rich.table import Table

from source_bigcommerce.config import parse_config
from source_bigcommerce.load import Options, Target, finish, sync

DEMO_SIZE = "small"

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


def run(target: Target, options: Options, *, as_json: bool, debug: bool) -> int:
    # The connector shares no API code with the sandbox: it only runs it, and talks to it over HTTP.
    from bigcommerce_sandbox.app import Settings, running_sandbox

    with running_sandbox(Settings(size=DEMO_SIZE)) as sandbox:
        config = parse_config(sandbox.config)
        summary = asyncio.run(sync(config, target, options, debug=debug))
    status = finish(summary, as_json=as_json)
    if status == 0 and not as_json and target.destination == "duckdb":
        show_top_customers(target)
    return status


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
    console = Console(highlight=False, soft_wrap=True)
    console.print()
    console.print(table)
    console.print(
        f"Ask your own questions of {target.duckdb_path().name} (schema {target.dataset}); the README shows how."
    )
