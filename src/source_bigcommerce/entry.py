"""The console script ``source-bigcommerce``: the CLI, imported inside the same Ctrl-C handling as a run.

Importing the CLI (aiohttp, pydantic, orjson) takes a few tenths of a second, during which a Ctrl-C raised
``KeyboardInterrupt`` from the import itself, before :func:`source_bigcommerce.cli.main` could catch it: a
traceback instead of the one line a Ctrl-C during a run gives. This module imports nothing heavy first.
"""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from source_bigcommerce.cli import main as run
    except KeyboardInterrupt:
        arguments = sys.argv[1:]
        if "sync" in arguments and "--json" in arguments:
            print('{"ok":false,"error":"Interrupted."}', flush=True)
        print("Interrupted.", file=sys.stderr)
        return 130
    return run()
