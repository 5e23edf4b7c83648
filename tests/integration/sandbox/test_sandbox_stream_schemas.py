"""Every resource the sandbox exports validates against its stream's packaged JSON Schema, where there is
one (src/source_bigcommerce/schemas/<resource>.json, generated from the spec by tools/gen_schemas.py),
on the default and the strict sandbox, after each resource was mutated as the API allows; and every
top-level field it serves is declared there, so a field the schema misses cannot slip through its open
objects."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from typing import Any

import orjson
import pytest
from jsonschema import Draft7Validator, ValidationError

from bigcommerce_sandbox.app import RunningSandbox, Settings, running_sandbox
from bigcommerce_sandbox.registry import BY_NAME, EXPORTED
from conftest import STRICT_STORE

PACKAGED = resources.files("source_bigcommerce").joinpath("schemas")
WITH_SCHEMA = [name for name in EXPORTED if PACKAGED.joinpath(f"{name}.json").is_file()]
# Fields the real API returns that the spec shows only in an example (orderCollection_Resp) or in the
# request schemas (a product's description); see test_sandbox_spec_conformance.EXAMPLE_ONLY_FIELDS.
UNDECLARED = {
    "orders": {"credit_card_type", "custom_status"},
    "products": {"description"},
    "categories": {"description"},
}


def _schema(name: str) -> dict[str, Any]:
    return orjson.loads(PACKAGED.joinpath(f"{name}.json").read_bytes())  # type: ignore[no-any-return]


@pytest.fixture(params=["default", "strict"], scope="module")
def served(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    settings = Settings(strict=True, **STRICT_STORE) if request.param == "strict" else Settings(seed=1)
    with running_sandbox(settings) as sb:
        for name in WITH_SCHEMA:
            entry = BY_NAME[name]
            if entry.kind == "object" or entry.embedded is not None:
                continue
            sb.mutate(
                name,
                update=2 * entry.updates,
                create=2 * entry.creates,
                delete=0 if not entry.creates or entry.deletes == "never" else 1,
            )
        yield sb


@pytest.mark.parametrize("name", WITH_SCHEMA)
def test_exported_records_validate_against_their_stream_schema(served: RunningSandbox, name: str) -> None:
    schema = _schema(name)
    check = Draft7Validator(schema)
    records = served.export(name)
    assert records
    for record in records:
        check.validate(record)
        undeclared = set(record) - set(schema["properties"]) - UNDECLARED.get(name, set())
        assert not undeclared, f"{name}: {undeclared} are not in schemas/{name}.json"


def test_the_check_fails_on_a_record_of_the_wrong_shape() -> None:
    """The schemas are open, not empty: a record whose id is not a number fails."""
    with pytest.raises(ValidationError, match="is not of type"):
        Draft7Validator(_schema(WITH_SCHEMA[0])).validate({"id": "not a number"})
