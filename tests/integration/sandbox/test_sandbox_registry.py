"""The resource registry is the sandbox: every entry is routed and served, the app serves nothing else,
and every filter and sort an entry declares selects and orders what it says, over real HTTP.

The expectations are computed here from the unfiltered list (itself pinned to the export), not from the
sandbox's own query code, so a new entry is checked by these tests the moment it is added.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sandbox_http import concrete, get

from bigcommerce_sandbox.app import RunningSandbox, Settings, build_app, make_sandbox, running_sandbox
from bigcommerce_sandbox.gate import PREFIX
from bigcommerce_sandbox.registry import EXPORTED, PRESETS, REGISTRY, TABLES, TIE_CLUSTER, Filter, Resource

LISTS = [r for r in REGISTRY if r.kind in ("list", "orders", "fixed") and not r.per_parent and r.routes]
PER_PARENT = [r for r in REGISTRY if r.per_parent]


@pytest.fixture(scope="module")
def store() -> Iterator[RunningSandbox]:
    """One tiny store for the read-only tests of this module."""
    # Enough categories for a second storefront's tree, so tree filters can tell records apart.
    with running_sandbox(Settings(size="tiny", seed=1, anchor=1_750_000_000, categories=60)) as sb:
        yield sb


def _walk(sb: RunningSandbox, entry: Resource, query: str = "", limit: int = 250) -> list[dict[str, Any]]:
    """Every record a list serves for ``query``, page by page (v3 by total_pages, v2 until 204); a list
    read per parent is walked for its busiest parent."""
    out: list[dict[str, Any]] = []
    page = 1
    path = concrete(sb, entry)
    while True:
        reply = get(sb, f"{path}?limit={limit}&page={page}{query}")
        if reply.status == 204 and entry.per_parent:
            return out
        if entry.version == "v2":
            if reply.status == 204:
                return out
            assert reply.status == 200, reply.body
            out.extend(reply.json())
        else:
            assert reply.status == 200, reply.body
            body = reply.json()
            out.extend(body["data"])
            if page >= body["meta"]["pagination"]["total_pages"]:
                return out
        page += 1


# ------------------------------------------------------------------------------------- routed, served


@pytest.mark.parametrize(
    ("entry", "path"), [(r, p) for r in REGISTRY for p in r.routes], ids=lambda v: getattr(v, "name", v)
)
def test_every_registry_route_is_served_in_its_version_shape(
    store: RunningSandbox, entry: Resource, path: str
) -> None:
    reply = get(store, concrete(store, entry, path))
    assert reply.status == 200, reply.body
    body = reply.json()
    if path.endswith("/count"):
        assert isinstance(body["count"], int)
    elif entry.kind == "object" or path.endswith("{id}"):
        assert isinstance(body, dict)
        assert "id" in body
    elif entry.version == "v2":
        assert isinstance(body, list)
        assert body
    elif entry.parent is not None and entry.parent.single:
        assert entry.id_field in body["data"]
        assert body["meta"] == {}
    else:
        assert isinstance(body["data"], list)
        assert body["data"]
        assert "meta" in body


def test_the_app_serves_exactly_the_registry_routes() -> None:
    app = build_app(make_sandbox(Settings(), "http://127.0.0.1:1"))
    served = {
        resource.canonical[len(PREFIX) :]
        for resource in app.router.resources()
        if resource.canonical.startswith(PREFIX)
    }
    assert served == {p for r in REGISTRY for p in r.routes}


@pytest.mark.parametrize("entry", [r for r in LISTS if r.exported], ids=lambda r: r.name)
def test_every_exported_list_walked_equals_its_export(store: RunningSandbox, entry: Resource) -> None:
    include = "&include=" + ",".join(sorted(entry.variants)) if entry.variants else ""
    assert _walk(store, entry, include) == store.export(entry.name)


OWNED_EMBEDDED = [r for r in REGISTRY if r.owned is not None and r.embed]


@pytest.mark.parametrize("entry", OWNED_EMBEDDED, ids=lambda r: r.name)
def test_every_embedded_resource_read_through_its_parent_equals_its_export(
    store: RunningSandbox, entry: Resource
) -> None:
    """The parent's list with the include carries every record of the resource, in id order; the export
    adds the parent's key where the API object lacks it (custom fields' product_id)."""
    assert entry.owned is not None
    assert entry.embed is not None
    parent = next(r for r in REGISTRY if r.name == entry.owned.parent)
    walked: list[dict[str, Any]] = []
    for record in _walk(store, parent, f"&include={entry.embed}"):
        for child in record[entry.embed]:
            if entry.owned.adds_field:
                assert entry.owned.field not in child
                child = {**child, entry.owned.field: record["id"]}
            assert child[entry.owned.field] == record["id"]
            walked.append(child)
    assert walked
    assert walked == store.export(entry.name)


def test_every_table_has_a_size_in_every_preset_and_a_count_flag() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bigcommerce_sandbox.cli", "serve", "--help"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    help_text = done.stdout.decode()
    for name in TABLES:
        entry = next(r for r in REGISTRY if r.name == name)
        assert len(entry.sizes) == len(PRESETS)
        assert all(n > 0 for n in entry.sizes), name
        assert f"--{name.replace('_', '-')} " in help_text, name
    assert set(EXPORTED) >= set(TABLES)


# -------------------------------------------------------------------------------------- filters


def _candidates(flt: Filter, entry: Resource, records: list[dict[str, Any]]) -> list[str]:
    """Values for ``flt`` picked from the records themselves, then one that matches none of them."""
    if flt.op.startswith("id_"):
        ids = sorted(r[entry.id_field] for r in records)
        middle = ids[len(ids) // 2]
        return [f"{ids[1]},{middle}" if flt.kind == "ints" else str(middle)]
    values = [r.get(flt.field) for r in records]
    if flt.op == "any_in":
        return [str(v[0]) for v in values if v]
    if flt.kind == "bool":
        return ["true", "false"]
    distinct = sorted({v for v in values if v not in (None, "")}, key=str)
    if flt.op == "like":
        return [str(v)[1:3].lower() for v in distinct]
    nothing = "-1" if flt.kind in ("int", "ints") else "no-such-value"
    return [str(v) for v in distinct] + [nothing]


def _keeps(flt: Filter, entry: Resource, record: dict[str, Any], raw: str) -> bool:
    """Whether ``record`` passes ``flt`` with ``raw``, worked out here from the record itself."""
    rid: Any = record.get(entry.id_field)  # price list records have no id (and no id filters)
    numbers = [int(p) for p in raw.split(",")] if flt.kind in ("int", "ints") else []
    checks: dict[str, Callable[[], bool]] = {
        "id_eq": lambda: rid == numbers[0],
        "id_in": lambda: rid in numbers,
        "id_not_in": lambda: rid not in numbers,
        "id_min": lambda: rid >= numbers[0],
        "id_max": lambda: rid <= numbers[0],
        "id_greater": lambda: rid > numbers[0],
        "id_less": lambda: rid < numbers[0],
    }
    if flt.op in checks:
        return checks[flt.op]()
    got = record.get(flt.field)
    if flt.op == "like":
        return raw.lower() in str(got).lower()
    if flt.op == "any_in":
        return bool(set(numbers) & set(got or []))
    wanted: Any = {"int": lambda: numbers[0], "bool": lambda: raw == "true"}.get(flt.kind, lambda: raw)()
    if flt.kind in ("ints", "strs"):
        wanted = set(numbers) if flt.kind == "ints" else {p.strip() for p in raw.split(",")}
        return (got in wanted) if flt.op == "in" else (got not in wanted)
    return bool(got == wanted)


FILTERS = [(r, f) for r in LISTS + PER_PARENT for f in r.filters]


@pytest.mark.parametrize(("entry", "flt"), FILTERS, ids=lambda v: getattr(v, "name", None) or v.param)
def test_every_declared_filter_selects_what_it_says(
    store: RunningSandbox, entry: Resource, flt: Filter
) -> None:
    """The first value that selects some records but not all is asked for (one that selects none where
    every record holds the same value); either way the filter must change what is served."""
    everything = _walk(store, entry)
    tried = [
        (raw, [r for r in everything if _keeps(flt, entry, r, raw)])
        for raw in _candidates(flt, entry, everything)
    ]
    raw, expected = next(((v, e) for v, e in tried if 0 < len(e) < len(everything)), tried[-1])
    assert len(expected) < len(everything), f"no value of {flt.param} tells records apart"
    got = _walk(store, entry, f"&{quote(flt.param, safe=':')}={quote(raw, safe=',')}")
    assert got == expected, f"{entry.path}?{flt.param}={raw}"
    if flt.kind in ("int", "ints"):
        bad = get(store, f"{concrete(store, entry)}?{flt.param}=x")
        assert bad.status == (400 if entry.version == "v2" else 422)


# ---------------------------------------------------------------------------------------- dates

DATES = [(r, name) for r in LISTS + PER_PARENT for name in r.dates]


@pytest.mark.parametrize(("entry", "name"), DATES, ids=lambda v: getattr(v, "name", None) or str(v))
def test_every_declared_date_filter_bounds_what_it_says(
    store: RunningSandbox, entry: Resource, name: str
) -> None:
    """``name:min`` and ``name:max`` at the middle record's time keep the records at or after it, and
    at or before it (both inclusive), in the list's order."""
    everything = _walk(store, entry)

    def instant(record: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(record[name])

    stamps = sorted(map(instant, everything))
    middle = stamps[len(stamps) // 2]
    text = middle.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert stamps[0] < middle, f"every {entry.name} has the same {name}: nothing to tell apart"
    for suffix, keep in ((":min", middle.__le__), (":max", middle.__ge__)):
        expected = [r for r in everything if keep(instant(r))]
        assert _walk(store, entry, f"&{name}{suffix}={text}") == expected, f"{name}{suffix}={text}"


# ---------------------------------------------------------------------------------------- sorts


def _sort_value(entry: Resource, record: dict[str, Any], name: str) -> Any:
    value = record.get(name)
    if name.startswith("date_") and isinstance(value, str) and value:
        value = parsedate_to_datetime(value) if entry.version == "v2" else datetime.fromisoformat(value)
    return (value is None, value if value is not None else 0)


def _sort_query(entry: Resource, name: str, desc: bool) -> str:
    direction = "desc" if desc else "asc"
    if entry.sort_style == "direction":
        return f"&sort={name}&direction={direction}"
    return f"&sort={name}:{direction}"


SORTS = [(r, s, desc) for r in LISTS + PER_PARENT for s in r.sorts for desc in (False, True)]


@pytest.mark.parametrize(("entry", "name", "desc"), SORTS, ids=lambda v: getattr(v, "name", None) or str(v))
def test_every_declared_sort_orders_with_ties_by_id(
    store: RunningSandbox, entry: Resource, name: str, desc: bool
) -> None:
    everything = sorted(_walk(store, entry), key=lambda r: r[entry.id_field])
    expected = sorted(everything, key=lambda r: _sort_value(entry, r, name), reverse=desc)
    got = _walk(store, entry, _sort_query(entry, name, desc))
    assert [r[entry.id_field] for r in got] == [r[entry.id_field] for r in expected]
    assert get(store, f"{concrete(store, entry)}?sort=nonsense").status == (
        400 if entry.version == "v2" else 422
    )


# ----------------------------------------------------------------------------------------- the docs

DOCS = Path(__file__).resolve().parents[3] / "docs" / "sandbox.md"


def test_the_docs_list_every_route_and_the_preset_sizes_of_the_registry() -> None:
    text = DOCS.read_text()
    routes = text.split("## Routes", 1)[1].split("\n## ", 1)[0]
    for entry in REGISTRY:
        for path in entry.routes:
            assert f"`{path}`" in routes, f"docs/sandbox.md, Routes, lacks {path}"
    section = text.split("## Store sizes", 1)[1].split("\n## ", 1)[0]
    tables = [block.splitlines() for block in section.split("\n\n") if block.startswith("| Preset |")]
    documented = set()
    for table in tables:
        header = [cell.strip() for cell in table[0].strip("|").split("|")]
        for line in table[2:]:
            cells = [cell.strip().strip("`").replace(",", "") for cell in line.strip("|").split("|")]
            column = PRESETS.index(cells[0])
            for name, cell in zip(header[1:], cells[1:], strict=True):
                documented.add(name)
                if name in TABLES:
                    entry = next(r for r in REGISTRY if r.name == name)
                    assert int(cell) == entry.sizes[column], (
                        f"docs/sandbox.md, Store sizes: {cells[0]} {name}"
                    )
                else:
                    assert name == "tie cluster"
                    assert int(cell) == TIE_CLUSTER[cells[0]]
    assert documented >= set(TABLES), f"docs/sandbox.md, Store sizes, lacks {set(TABLES) - documented}"
