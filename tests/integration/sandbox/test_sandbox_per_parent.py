"""Children of other records (a registry entry with ``parent=``), over real HTTP: every parent's children
walked equal the export, mutations show in the routes and the export, a deleted parent takes its
children along, and the children do not depend on when the resource is first used; where they are read
per parent, an unknown parent is a 404 and a parent without children answers as its spec says. A list of
every parent's children (refunds) is read whole and split by parent here. Each test runs for every such
entry, so a new one is checked once it is added.
"""

from __future__ import annotations

import urllib.error
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from sandbox_http import busiest_parent, get

from bigcommerce_sandbox.app import RunningSandbox, SandboxFactory, Settings, running_sandbox
from bigcommerce_sandbox.registry import BY_NAME, REGISTRY, Parent, Resource
from conftest import STRICT_STORE

CHILDREN = [r for r in REGISTRY if r.parent is not None]
PER_PARENT = [r for r in CHILDREN if r.per_parent]
ANCHOR = 1_750_000_000


def _parent(entry: Resource) -> Parent:
    assert entry.parent is not None
    return entry.parent


def _children(sb: RunningSandbox, entry: Resource, pid: int, limit: int = 250) -> list[dict[str, Any]]:
    """Every child of one parent: its route walked page by page (v2 until 204; v3 by total_pages, or
    204), its one child (registry.Parent.single; none where it is a 404), or the whole list's records
    that name it."""
    if _parent(entry).single:
        reply = get(sb, entry.path.replace("{id}", str(pid)))
        return [] if reply.status == 404 else [reply.json()["data"]]
    if not entry.per_parent:
        return [r for r in _walk(sb, entry.path, entry, limit) if int(r[_parent(entry).field]) == pid]
    return _walk(sb, entry.path.replace("{id}", str(pid)), entry, limit)


def _walk(sb: RunningSandbox, path: str, entry: Resource, limit: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        reply = get(sb, f"{path}?limit={limit}&page={page}")
        if reply.status == 204:
            assert reply.body == b""
            return out
        assert reply.status == 200, reply.body
        body = reply.json()
        if entry.version == "v2":
            out.extend(body)
        else:
            out.extend(body["data"])
            if page >= body["meta"]["pagination"]["total_pages"]:
                return out
        page += 1


def _parent_ids(sb: RunningSandbox, entry: Resource) -> list[int]:
    return [r["id"] for r in sb.export(_parent(entry).resource)]


@pytest.fixture(params=["default", "strict"])
def served(request: pytest.FixtureRequest, sandbox_factory: SandboxFactory) -> RunningSandbox:
    if request.param == "strict":
        return sandbox_factory(strict=True, **STRICT_STORE)
    return sandbox_factory(size="tiny", seed=1)


@pytest.mark.parametrize("entry", CHILDREN, ids=lambda r: r.name)
def test_every_parents_children_walked_equal_the_export(served: RunningSandbox, entry: Resource) -> None:
    exported = served.export(entry.name)
    walked = [child for pid in _parent_ids(served, entry) for child in _children(served, entry, pid)]
    if not entry.per_parent:
        # A list of every parent's children is in id order; the export is the list.
        walked.sort(key=lambda child: child[entry.id_field])
    assert walked == exported
    field = _parent(entry).field
    assert all(int(child[field]) in _parent_ids(served, entry) for child in exported)
    # Some parents have children and some (of a store this size) have none or more than one.
    per_parent = {int(child[field]) for child in exported}
    assert 0 < len(per_parent) <= len(exported)


@pytest.mark.parametrize("entry", CHILDREN, ids=lambda r: r.name)
def test_one_parent_walked_a_child_a_page_equals_one_page(sandbox: RunningSandbox, entry: Resource) -> None:
    pid = busiest_parent(sandbox, entry)
    assert _children(sandbox, entry, pid, limit=1) == _children(sandbox, entry, pid)


@pytest.mark.parametrize("entry", PER_PARENT, ids=lambda r: r.name)
def test_an_unknown_parent_is_404_in_the_version_shape(sandbox: RunningSandbox, entry: Resource) -> None:
    unknown = max(_parent_ids(sandbox, entry)) + 1000
    for pid in (str(unknown), "abc"):
        reply = get(sandbox, entry.path.replace("{id}", pid))
        if _parent(entry).missing == 200 and pid.isdigit():
            # channels.v3.yml, listings: "if the Channel is not found ... a 200 response with empty data".
            assert (reply.status, reply.json()["data"]) == (200, [])
            continue
        assert reply.status == 404
        body = reply.json()
        assert (body[0] if entry.version == "v2" else body)["status"] == 404


@pytest.mark.parametrize("entry", PER_PARENT, ids=lambda r: r.name)
def test_a_parent_without_children_answers_as_its_spec_says(sandbox: RunningSandbox, entry: Resource) -> None:
    parent = _parent(entry)
    # A parent created by a mutation starts with no children.
    pid = sandbox.mutate(parent.resource, create=1)[parent.resource]["created"][0]
    reply = get(sandbox, entry.path.replace("{id}", str(pid)))
    if parent.single:
        assert reply.status == 404
    elif entry.version == "v2" or parent.empty == 204:
        assert (reply.status, reply.body) == (204, b"")
    else:
        assert reply.status == 200
        body = reply.json()
        assert body["data"] == []
        assert body["meta"]["pagination"]["total"] == 0


def _stamp(text: str) -> int:
    if text[:1].isdigit():
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    return int(parsedate_to_datetime(text).timestamp())


@pytest.mark.parametrize("entry", CHILDREN, ids=lambda r: r.name)
def test_child_mutations_show_in_the_routes_and_the_export(
    sandbox_factory: SandboxFactory, entry: Resource
) -> None:
    now = ANCHOR + 3600
    sb = sandbox_factory(size="tiny", seed=1, anchor=ANCHOR, clock=lambda: float(now))
    parent = _parent(entry)
    key = entry.id_field
    before = {r[key]: r for r in sb.export(entry.name)}
    # What the API allows (refunds cannot be edited or deleted: reference/orders.v3.yml), and what the
    # store holds (a tiny store has two sites, one per storefront: one updated, one deleted).
    asked = {
        "update": min(2 * entry.updates, len(before) - 1),
        "create": 2,
        "delete": int(entry.deletes != "never"),
    }
    result = sb.mutate(entry.name, update=asked["update"], create=asked["create"], delete=asked["delete"])
    changed = result[entry.name]
    assert [len(changed[f"{action}d"]) for action in asked] == list(asked.values())
    after = {r[key]: r for r in sb.export(entry.name)}
    assert set(after) == (set(before) - set(changed["deleted"])) | set(changed["created"])
    assert min(changed["created"]) > max(before)
    for cid in changed["updated"]:
        assert after[cid] != before[cid], f"updating {entry.name} {cid} changed nothing"
    touched = set()
    for cid in changed["created"] + changed["updated"]:
        pid = int(after[cid][parent.field])
        assert after[cid] in _children(sb, entry, pid)
        touched.add(pid)
    for cid in changed["deleted"]:
        gone = before[cid]
        assert cid not in [c[key] for c in _children(sb, entry, int(gone[parent.field]))]
        touched.add(int(gone[parent.field]))
    if parent.moves_parent:
        assert set(result[parent.resource]["updated"]) == touched
        parents = {r["id"]: r for r in sb.export(parent.resource)}
        assert all(_stamp(parents[pid]["date_modified"]) == now for pid in touched)
    else:
        assert set(result) == {entry.name}
    for action, allowed in asked.items():
        if not allowed:
            with pytest.raises(urllib.error.HTTPError) as refused:
                sb.mutate(entry.name, **{action: 1})  # type: ignore[arg-type]
            with refused.value:
                assert refused.value.code == 400


@pytest.mark.parametrize("entry", CHILDREN, ids=lambda r: r.name)
def test_a_deleted_parent_takes_its_children_along_unless_it_stays_listed(
    sandbox: RunningSandbox, entry: Resource
) -> None:
    parent = _parent(entry)
    pid = busiest_parent(sandbox, entry)
    children = _children(sandbox, entry, pid)
    assert children
    # Delete parents until the busiest one goes (a mutation picks which; the pick replays exactly).
    for _ in range(len(_parent_ids(sandbox, entry))):
        if pid in sandbox.mutate(parent.resource, delete=1)[parent.resource]["deleted"]:
            break
    exported = [c for c in sandbox.export(entry.name) if int(c[parent.field]) == pid]
    if BY_NAME[parent.resource].deletes == "remove":
        if entry.per_parent:
            assert get(sandbox, entry.path.replace("{id}", str(pid))).status == 404
        else:
            assert _children(sandbox, entry, pid) == []
        assert exported == []
    else:
        # Archived orders and deleted channels stay listed, and so do their children.
        assert _children(sandbox, entry, pid) == exported == children


@pytest.mark.parametrize("entry", CHILDREN, ids=lambda r: r.name)
def test_children_do_not_depend_on_when_the_resource_is_first_used(entry: Resource) -> None:
    """Built on first use, the children are the same whatever the parents went through before: new
    parents have none, and removed parents' children are gone, the others' unchanged."""
    parent = _parent(entry)
    with running_sandbox(Settings(seed=5, anchor=ANCHOR)) as first:
        port = int(first.url.rsplit(":", 1)[1])
        at_once = first.export(entry.name)
    # The same port, so links to the sandbox's URL would match too.
    with running_sandbox(Settings(seed=5, anchor=ANCHOR, port=port)) as later:
        changed = later.mutate(parent.resource, create=2)
        removed: list[int] = []
        if BY_NAME[parent.resource].deletes == "remove":
            removed = later.mutate(parent.resource, delete=2)[parent.resource]["deleted"]
        assert changed[parent.resource]["created"]
        assert later.export(entry.name) == [c for c in at_once if int(c[parent.field]) not in removed]
