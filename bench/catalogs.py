"""Configured catalogs built from each connector's own ``discover``, so each reads with its own schemas.

Both connectors get the same stream names and the same modes: incremental where the stream supports it
(with no state, that is a first, full read), full refresh otherwise.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson


def discover(command: Sequence[str], config_path: Path) -> dict[str, Any]:
    """The CATALOG that ``command discover --config config_path`` prints."""
    out = subprocess.run(
        [*command, "discover", "--config", str(config_path)], capture_output=True, check=True
    ).stdout
    for line in out.splitlines():
        message = orjson.loads(line)
        if message.get("type") == "CATALOG":
            catalog: dict[str, Any] = message["catalog"]
            return catalog
    raise RuntimeError(f"{command[-1]} discover printed no CATALOG")


def configured(catalog: dict[str, Any], streams: Iterable[str]) -> dict[str, Any]:
    """A configured catalog of ``streams``: incremental where the stream supports it, else full refresh."""
    wanted = list(streams)
    by_name = {stream["name"]: stream for stream in catalog["streams"]}
    missing = [name for name in wanted if name not in by_name]
    if missing:
        raise RuntimeError(f"the catalog has no stream {missing}")
    entries = []
    for name in wanted:
        stream = by_name[name]
        incremental = "incremental" in stream["supported_sync_modes"]
        entry: dict[str, Any] = {
            "stream": stream,
            "sync_mode": "incremental" if incremental else "full_refresh",
            "destination_sync_mode": "append",
        }
        if incremental:
            entry["cursor_field"] = stream.get("default_cursor_field") or []
        entries.append(entry)
    return {"streams": entries}


def write(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(document))
    return path
