"""Resuming a killed sync: a package left on disk is loaded only when it continues what the destination holds.

These drive the loader directly against a real DuckDB file; ``extract`` without ``load`` leaves exactly what
a sync killed between the two leaves behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from source_bigcommerce.destination import Target
from source_bigcommerce.pipeline import Loader, Part
from source_bigcommerce.source import Disposition
from source_bigcommerce.streams import BY_NAME
from sync_support import spooled


def chunk(email: str, cursor: str, disposition: Disposition = "merge") -> list[Part]:
    record = {"id": 1, "date_modified": cursor, "email": email}
    state = {"date_modified": cursor, "state_version": 1}
    return [Part(BY_NAME["customers"], spooled(record), state, disposition)]


def rows(db: Path) -> list[Any]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT id, email FROM main.customers ORDER BY 1, 2").fetchall()


def loader(db: Path, workdir: Path) -> Loader:
    return Loader(Target("duckdb", str(db), "main", str(workdir)), "sandbox")


def test_a_package_overtaken_by_another_sync_is_dropped_not_loaded_over_newer_rows(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    first = loader(db, tmp_path / "a")
    first.open()
    first.extract(chunk("v1", "2024-01-01T00:00:00Z"))
    first.load()
    first.release()

    killed = loader(db, tmp_path / "a")
    killed.open()
    killed.extract(chunk("v2-old", "2024-02-01T00:00:00Z"))  # killed before load: pending in a/

    other = loader(db, tmp_path / "b")  # another working directory (or machine) syncs meanwhile
    other.open()
    other.extract(chunk("v3-new", "2024-03-01T00:00:00Z"))
    other.load()
    other.release()

    resumed = loader(db, tmp_path / "a")
    state = resumed.open()
    assert not resumed.resumed
    assert rows(db) == [(1, "v3-new")]
    assert state["customers"]["date_modified"] == "2024-03-01T00:00:00Z"


def test_a_package_that_continues_the_destination_is_loaded_on_resume(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    first = loader(db, tmp_path / "a")
    first.open()
    first.extract(chunk("v1", "2024-01-01T00:00:00Z"))  # killed before its first load

    resumed = loader(db, tmp_path / "a")
    state = resumed.open()
    assert resumed.resumed
    assert rows(db) == [(1, "v1")]
    assert state["customers"]["date_modified"] == "2024-01-01T00:00:00Z"
