"""Run airbyte-source-bigcommerce 0.2.22 against a local server: its own entrypoint, one URL changed.

This file is executed by the Python 3.10 virtualenv that :mod:`bench.airbyte` creates (the connector's
CDK 1.0.0 fails at import on 3.11), never by the project's interpreter, so it imports the CDK by name at
run time. The connector's manifest hard-codes ``url_base: https://api.bigcommerce.com/stores/...``; this
runner reads the installed manifest, points ``url_base`` at the config's ``api_url`` (a key the connector's
spec allows as an additional property and otherwise ignores), and hands the result to the CDK's
``ManifestDeclarativeSource`` and ``launch``, exactly what the package's own ``run()`` does with the
unpatched file. Nothing of Airbyte's is copied into this repository.

The package is imported first on purpose: the CDK finds the schema files through the first loaded module
whose name contains ``source_`` (``json_file_schema_loader._default_file_path``).

    bench/.work/airbyte-0.2.22/bin/python bench/airbyte_runner.py read --config C --catalog K
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from typing import Any


def patched_manifest(api_url: str) -> dict[str, Any]:
    """The installed manifest with its requester's ``url_base`` moved to ``api_url``."""
    importlib.import_module("source_bigcommerce")
    yaml = importlib.import_module("yaml")
    raw = pkgutil.get_data("source_bigcommerce", "manifest.yaml")
    if raw is None:
        raise SystemExit("source_bigcommerce/manifest.yaml is missing from the installed package")
    manifest: dict[str, Any] = yaml.safe_load(raw.decode())
    requester = manifest["definitions"]["requester"]
    if not str(requester["url_base"]).startswith("https://api.bigcommerce.com/stores/"):
        raise SystemExit(f"unexpected url_base in the manifest: {requester['url_base']!r}")
    requester["url_base"] = api_url.rstrip("/") + '/stores/{{ config["store_hash"] }}/'
    return manifest


def main(argv: list[str]) -> None:
    with open(argv[argv.index("--config") + 1]) as file:
        api_url = str(json.load(file)["api_url"])
    manifest = patched_manifest(api_url)
    declarative = importlib.import_module("airbyte_cdk.sources.declarative.manifest_declarative_source")
    entrypoint = importlib.import_module("airbyte_cdk.entrypoint")
    entrypoint.launch(declarative.ManifestDeclarativeSource(source_config=manifest), argv)


if __name__ == "__main__":
    main(sys.argv[1:])
