"""The dlt source: one resource per stream, the same tables and state whether a user's pipeline runs it or ``sync``.

A user composes it like any dlt source::

    import dlt
    from source_bigcommerce import bigcommerce_source

    pipeline = dlt.pipeline("bigcommerce", destination="duckdb", dataset_name="main")
    pipeline.run(bigcommerce_source({"store_hash": "...", "access_token": "...", "start_date": "2024-01-01"}))

**Tables.** One table per stream, named after it, one row per record: nested objects and arrays (addresses,
consignments, images, custom fields...) are JSON columns (``max_table_nesting=0``) rather than dlt's child
tables, because

* a row is the API object, so a table can be read next to BigCommerce's documentation;
* merging stays one statement per table, with no child rows to delete and re-insert;
* JSON columns behave the same on DuckDB (``JSON``) and Postgres (``jsonb``): ``billing_address->>'email'``
  works on both, where child tables would name dozens of tables after nesting paths;
* a nested field BigCommerce adds tomorrow lands inside its JSON value instead of spawning tables.

Column types come from the streams' JSON Schemas (:mod:`source_bigcommerce.columns`); rows reach dlt as Arrow
tables typed that way (:mod:`source_bigcommerce.tables`).

**Write dispositions.** Incremental streams merge on their primary key (the newest version wins, so the table
mirrors the store; a record hard-deleted in BigCommerce stays until a full refresh). The children of an order
read again (order products, transactions) replace all of its earlier ones, by the order's id alone: an order
is always read with every child it has, so a line item removed from an edited order leaves the table too (and
the delete is a hash join, where matching on the child's id as well would compare every pair of rows). With
``write_disposition="append"`` they keep every version as a new row instead. Full-refresh streams (pages,
store, brands, categories) replace their table.

**State** is the engine's per-stream state (the Airbyte shape ``read`` writes), kept in dlt's source state under
``sources.bigcommerce.streams.<stream>``, which dlt stores in the destination in the same load package as the
rows it covers. A resource sets it after the rows it covers, so a failed run commits neither.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, cast

from source_bigcommerce.columns import column_hints
from source_bigcommerce.streams import StreamSpec

if TYPE_CHECKING:
    from dlt.extract import DltResource

SOURCE = "bigcommerce"
"""The source's name: dlt files the tables' schema and the state under it."""
Disposition = Literal["merge", "append", "replace"]


def table_hints(
    spec: StreamSpec, disposition: Disposition, inferred: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The stream's table for dlt: its name, columns, write disposition and merge keys."""
    from dlt.common.schema.utils import dlt_id_column

    columns = column_hints(spec.name)
    columns.update(inferred or {})
    columns["_dlt_id"] = dict(dlt_id_column())
    hints: dict[str, Any] = {
        "name": spec.name,
        "table_name": spec.name,
        "write_disposition": disposition,
        "columns": columns,
    }
    if disposition == "merge":
        key = spec.primary_key
        if spec.parent_key is not None:
            # dlt's delete-insert deletes the rows whose merge key is in the chunk, then inserts it.
            hints["merge_key"] = spec.parent_key
            columns[key] = {**columns[key], "primary_key": False}
        else:
            hints["primary_key"] = key
            columns[key] = {**columns[key], "nullable": False}
    return hints


def stream_resource(
    spec: StreamSpec,
    disposition: Disposition,
    data: Any,
    stream_state: dict[str, Any],
    *,
    inferred: dict[str, dict[str, Any]] | None = None,
    file_format: str | None = None,
    commit: dict[str, Any] | None = None,
) -> DltResource:
    """A resource that yields ``data`` (an Arrow table, a list of records, or None), then records the state
    that covers it (and ``commit``, the chunk's place in the sync's chain) in the source state."""
    import dlt

    def rows_then_state() -> Iterator[Any]:
        if data is not None:
            yield data
        # Set during extraction, so dlt writes it into this package next to the rows.
        source_state = dlt.current.source_state()
        source_state.setdefault("streams", {})[spec.name] = stream_state
        if commit is not None:
            source_state["commit"] = commit

    hints = table_hints(spec, disposition, inferred)
    if file_format:
        hints["file_format"] = file_format
    resource: DltResource = cast(Any, dlt.resource)(rows_then_state(), **hints)
    return resource
