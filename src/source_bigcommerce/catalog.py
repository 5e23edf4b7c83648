"""The catalog: what ``discover`` offers, and what a configured catalog asks ``read`` for.

:func:`discover` is pure: the streams table and the packaged schemas, no network. For the order children
(``order_products``, ``transactions``) it declares incremental support with a source-defined cursor but an
empty ``default_cursor_field``: they are incremental through their parent order (an incremental sync reads
the children of orders modified since the orders cursor), and their records carry no field that could be
that cursor. The protocol has no stream description, so each schema's top-level ``description`` says so.

:func:`parse_configured_catalog` turns the platform's ConfiguredAirbyteCatalog into ``(stream, mode)``
pairs. Incremental asked of a full-refresh-only stream (pages, store, brands, categories) falls back to
full refresh with a warning rather than failing: the archived Airbyte connector advertised those streams as
incremental (on id cursors that never advanced, so every sync was a full read anyway), and a connection
configured then must keep working unchanged. Any other problem is a one-sentence :class:`ConfigError`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from source_bigcommerce import deletes
from source_bigcommerce.errors import ConfigError, read_json_file
from source_bigcommerce.streams import BY_NAME, STREAMS, StreamSpec, schema

SyncMode = Literal["full_refresh", "incremental"]
_MODES: tuple[SyncMode, ...] = ("full_refresh", "incremental")


def discover(*, emit_deletes: bool = False) -> dict[str, Any]:
    """The AirbyteCatalog of every stream, in the streams table's order; with ``emit_deletes`` the streams
    that tell their deletes declare ``_ab_cdc_deleted_at`` (:mod:`source_bigcommerce.deletes`)."""
    return {"streams": [_stream(spec, emit_deletes=emit_deletes) for spec in STREAMS]}


def _stream(spec: StreamSpec, *, emit_deletes: bool = False) -> dict[str, Any]:
    json_schema = copy.deepcopy(dict(schema(spec.name)))
    if emit_deletes and deletes.emits(spec):
        json_schema["properties"][deletes.CDC_DELETED_AT] = {
            "type": ["null", "string"],
            "format": "date-time",
            "description": "When the record was found deleted (or archived); null while it exists.",
        }
    stream: dict[str, Any] = {
        "name": spec.name,
        "json_schema": json_schema,
        "supported_sync_modes": list(_MODES) if spec.incremental else ["full_refresh"],
        "source_defined_primary_key": [list(path) for path in spec.key_paths],
        "is_resumable": spec.incremental,
    }
    if spec.incremental:
        stream["source_defined_cursor"] = True
        stream["default_cursor_field"] = [spec.cursor] if spec.cursor else []
    return stream


def parse_configured_catalog(
    raw: Any, *, origin: str = "The catalog", warn: Callable[[str], None] | None = None
) -> list[tuple[StreamSpec, SyncMode]]:
    """The selected streams and their sync modes, in the streams table's order.

    Args:
        raw: a decoded ConfiguredAirbyteCatalog.
        origin: how messages name the catalog, e.g. ``Catalog file 'catalog.json'``.
        warn: receives one sentence per stream whose incremental request falls back to full refresh.

    Raises:
        ConfigError: the catalog is malformed, names an unknown stream, lists a stream twice, asks for an
            unknown sync mode, or selects nothing.
    """
    entries = raw.get("streams") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f'{origin} is not a configured catalog: it needs a "streams" list.')
    chosen: dict[str, SyncMode] = {}
    for index, entry in enumerate(entries, 1):
        stream = entry.get("stream") if isinstance(entry, dict) else None
        name = stream.get("name") if isinstance(stream, dict) else None
        if not isinstance(name, str):
            raise ConfigError(f"{origin} is not a configured catalog: stream {index} has no stream.name.")
        spec = BY_NAME.get(name)
        if spec is None:
            known = ", ".join(spec.name for spec in STREAMS)
            raise ConfigError(
                f"{origin} names stream {name!r}, which this connector does not have (it has {known})."
            )
        if name in chosen:
            raise ConfigError(f"{origin} lists stream {name!r} twice; keep one entry for it.")
        mode = entry.get("sync_mode")
        if mode not in _MODES:
            raise ConfigError(
                f"{origin} asks for sync_mode {mode!r} on stream {name!r}; use full_refresh or incremental."
            )
        if mode == "incremental" and not spec.incremental:
            if warn is not None:
                warn(
                    f"Stream {name!r} is full refresh only (BigCommerce offers no modification date for it), "
                    "so it is read in full although the catalog asks for incremental."
                )
            mode = "full_refresh"
        chosen[name] = mode
    if not chosen:
        raise ConfigError(f"{origin} selects no streams; add at least one stream from discover.")
    return [(spec, chosen[spec.name]) for spec in STREAMS if spec.name in chosen]


def load_configured_catalog(
    path: str | Path, *, warn: Callable[[str], None] | None = None
) -> list[tuple[StreamSpec, SyncMode]]:
    """Read and parse a configured catalog file; every failure is a one-sentence :class:`ConfigError`."""
    origin = f"Catalog file {str(path)!r}"
    return parse_configured_catalog(read_json_file(path, origin), origin=origin, warn=warn)
