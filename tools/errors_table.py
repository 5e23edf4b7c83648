"""Rewrite the table of bad inputs in docs/errors.md from tests/bad_inputs.py, the cases the tests run.

Usage: ``python tools/errors_table.py`` (a test fails while the document and the cases differ).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import bad_inputs  # noqa: E402


def main() -> None:
    path = ROOT / "docs" / "errors.md"
    path.write_text(bad_inputs.with_table(path.read_text()))


if __name__ == "__main__":
    main()
