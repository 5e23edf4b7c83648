"""Response schemas from BigCommerce's official OpenAPI files, as JSON Schema for ``jsonschema``.

The specs live beside the repository in ../shared/bigcommerce-api-specs (or beside a folder above it), except
the few vendored in tools/specs, which are read from there. Local ``$ref``s are inlined,
OpenAPI 3.0's ``nullable: true`` becomes a JSON-Schema type union (so does Swagger 2's ``x-nullable``,
which some inline schemas still use; and its boolean ``exclusiveMaximum`` draft 7's number), and
``oneOf`` is validated as ``anyOf``: the specs use ``oneOf`` for alternatives that overlap (a consignments link object and the
consignments object declare no required keys, so any object matches both), and jsonschema's strict
"exactly one" would reject the specs' own examples.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

import support

SPECS = support.SPECS / "reference"
VENDORED = Path(__file__).resolve().parents[3] / "tools" / "specs" / "reference"
"""Spec files kept in the repository (tools/specs/README.md), looked for first: always there."""


def specs_available() -> bool:
    return SPECS.is_dir()


def spec_file(name: str) -> Path:
    """Where the spec file ``name`` is: the repository's vendored copy, else the shared folder's."""
    vendored = VENDORED / name
    return vendored if vendored.is_file() else SPECS / name


def spec_available(name: str) -> bool:
    return spec_file(name).is_file()


@functools.cache
def _load(name: str) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with spec_file(name).open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)  # type: ignore[no-any-return]


def _convert(node: Any, doc: dict[str, Any], seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_convert(v, doc, seen) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            return {}
        target: Any = doc
        for part in ref.lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        return _convert(target, doc, (*seen, ref))
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("example", "examples", "x-examples", "description", "readOnly", "writeOnly", "deprecated"):
            continue
        if key == "oneOf":
            out["anyOf"] = _convert(value, doc, seen)
        elif key == "format":
            continue
        elif key in ("properties", "patternProperties"):
            out[key] = {name: _convert(sub, doc, seen) for name, sub in value.items()}
        else:
            out[key] = _convert(value, doc, seen)
    for bound, limit in (("exclusiveMaximum", "maximum"), ("exclusiveMinimum", "minimum")):
        # OpenAPI 3.0's boolean form (orders.v3.yml, Refund Item Adjustment) is draft 7's number form.
        if isinstance(out.get(bound), bool) and out.pop(bound) and limit in out:
            out[bound] = out.pop(limit)
    # ``x-nullable`` is Swagger 2's spelling, which some inline schemas still use (the bulk variants list).
    if out.pop("nullable", False) | out.pop("x-nullable", False):
        if "type" in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "type" not in out and "enum" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def response_schema(spec: str, path: str, status: str = "200") -> dict[str, Any]:
    """The JSON Schema of ``GET path``'s response with that status in ``spec`` (a file under reference/);
    a path such as ``#/components/schemas/shippingConsignment_Get`` is that component (records embedded
    in another response)."""
    doc = _load(spec)
    if path.startswith("#/"):
        return _convert({"$ref": path}, doc, ())  # type: ignore[no-any-return]
    operation = doc["paths"][path]["get"]
    response = _convert(operation["responses"][status], doc, ())
    return response["content"]["application/json"]["schema"]  # type: ignore[no-any-return]


@functools.cache
def validator(spec: str, path: str, status: str = "200", item: bool = False) -> jsonschema.Draft7Validator:
    """A reusable validator for a response (``item``: for one record of a list response)."""
    schema = response_schema(spec, path, status)
    if item:
        if schema.get("type") == "array":
            schema = schema["items"]
        elif schema.get("properties", {}).get("data", {}).get("type") == "array":
            schema = schema["properties"]["data"]["items"]
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)
