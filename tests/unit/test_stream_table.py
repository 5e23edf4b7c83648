"""The stream table and the sandbox's resource registry describe the same API: adding a stream is a row, its
schema and its sandbox entry, and nothing that one side has may be missing from the other."""

from __future__ import annotations

import re

import pytest

from bigcommerce_sandbox.registry import REGISTRY, Resource
from source_bigcommerce.cli import probes
from source_bigcommerce.deletes import listed, read_whole
from source_bigcommerce.streams import BY_NAME, STREAMS, StreamSpec, schema

RESOURCES = {resource.name: resource for resource in REGISTRY if resource.exported}
"""The sandbox's resources that are records of their own (``trees`` is a view of the categories)."""

NOT_YET_STREAMS: set[str] = set()
"""Sandbox resources no stream reads yet. Remove a name here when its row lands; the test below fails
until then, and if a name stays after its row exists."""


def _route(spec: StreamSpec) -> str:
    """The stream's path as the registry writes it: ``/v2/orders/{id}/shipments``."""
    return re.sub(r"\{[^}]*\}", "{id}", f"/{spec.api}{spec.path}")


def test_every_registry_resource_has_a_row_unless_it_is_listed_as_not_yet_a_stream() -> None:
    rows = {spec.name for spec in STREAMS}
    assert not NOT_YET_STREAMS & rows, "a stream has its row now: remove it from NOT_YET_STREAMS"
    assert set(RESOURCES) >= NOT_YET_STREAMS, "NOT_YET_STREAMS names a resource the sandbox does not have"
    assert set(RESOURCES) - NOT_YET_STREAMS == rows


@pytest.mark.parametrize("spec", STREAMS, ids=lambda spec: spec.name)
def test_every_row_is_served_by_its_sandbox_resource_at_its_path_scope_key_and_parent(
    spec: StreamSpec,
) -> None:
    resource: Resource = RESOURCES[spec.name]
    assert resource.path == _route(spec)
    assert resource.scope == spec.scope
    # The record's own key; inventory items (a view of the products table, registry.py) and price list records
    # (list, variant and currency) have no id field of their own.
    own = [name for name in spec.primary_key if name != spec.parent_key]
    if len(own) == 1 and "." not in own[0]:
        assert resource.id_field == own[0]
    assert "properties" in schema(spec.name)
    if spec.fetch == "per_parent":
        assert "{id}" in resource.path, "the sandbox serves it one parent at a time"
    if spec.fetch == "bulk":
        assert spec.parent is None, "a bulk stream is not a child"
        # A top-level list, or one list per record of another stream (``per``: price list records).
        assert ("{" in spec.path) == (spec.per is not None), "a bulk stream is a top-level list"
    if spec.per is not None:
        assert "{id}" in resource.path
        assert spec.per in RESOURCES
    if spec.parent is not None:
        assert spec.parent in RESOURCES
        assert BY_NAME[spec.parent].window is not None, "a parent is walked by date"
        # The legacy order children (order_products, transactions) name no parent in the registry.
        assert resource.parent_field in (None, spec.parent_key)


@pytest.mark.parametrize("spec", [spec for spec in STREAMS if listed(spec)], ids=lambda spec: spec.name)
def test_a_listed_stream_confirms_its_deletes_by_id_exactly_where_its_list_takes_id_in(
    spec: StreamSpec,
) -> None:
    # The registry's filters are checked against the specs (test_sandbox_spec_conformance.py): a stream that
    # could ask for the ids its listing left out, and does not, falls back to a listing that must hold still.
    filters = {f.param for f in RESOURCES[spec.name].filters}
    assert spec.id_in == ("id:in" in filters)


def test_check_probes_each_scope_of_the_table_once_on_a_path_of_a_stream_that_needs_it() -> None:
    found = probes()
    assert set(found) == {spec.scope for spec in STREAMS}
    for scope, (api, path, made_up) in found.items():
        streams = [spec for spec in STREAMS if spec.scope == scope]
        assert any(f"/{api}{path}" == _route(spec).replace("{id}", "0") for spec in streams)
        assert made_up == all("{" in spec.path for spec in streams), (
            "a top-level list is probed where one exists"
        )


@pytest.mark.parametrize(
    "spec", [spec for spec in STREAMS if spec.parent is not None], ids=lambda spec: spec.name
)
def test_a_child_follows_its_parents_deletes_by_its_parent_key_or_is_read_whole(spec: StreamSpec) -> None:
    # deletes.Tables.drop marks a deleted or archived parent's children by parent_key; a child read for every
    # parent on every sync is merged whole as well, so the children of a parent no longer walked are marked.
    assert spec.parent_key is not None
    assert read_whole(spec) == (not spec.follows_parent)
    assert not listed(spec)
