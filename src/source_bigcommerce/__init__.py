"""source-bigcommerce: copies a BigCommerce store's data into a database, or speaks the Airbyte protocol.

:func:`bigcommerce_source` is the connector as a dlt source (:mod:`source_bigcommerce.source`); it is imported on
first use, so the protocol commands do not load dlt.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "bigcommerce_source"]


def __getattr__(name: str) -> Any:
    if name == "bigcommerce_source":
        from source_bigcommerce.source import bigcommerce_source

        return bigcommerce_source
    raise AttributeError(f"module 'source_bigcommerce' has no attribute {name!r}")
