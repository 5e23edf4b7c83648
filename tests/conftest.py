"""Shared fixtures: a running bigcommerce-sandbox for any test that needs a BigCommerce to talk to.

``sandbox`` is a tiny store (seed 1, no rate limit, no latency, no faults) served on a free loopback
port for one test. ``sandbox_factory(**overrides)`` starts one with any ``bigcommerce_sandbox.app.Settings``
fields changed, e.g. ``sandbox_factory(quota=5, window_ms=500)`` or ``sandbox_factory(faults="503 n=1")``;
every sandbox it started stops at the end of the test.

Both yield a ``RunningSandbox``: ``.url`` (``http://127.0.0.1:PORT``), ``.config`` (a ready connector
config: api_url, store_hash, access_token, start_date), ``.settings``, and helpers that go over HTTP to
the admin routes: ``.stats()``, ``.reset_stats()``, ``.mutate(resource, update=, create=, delete=,
archive=, bump_date_modified=)``, ``.export(resource)`` (the ground truth: every record exactly as its
endpoint returns it).

``strict_sandbox`` is a store served with every stingy option on (``Settings(strict=True)``: capped
pages, shuffled ties, a lagging order count, heavy pages failing, archived orders hidden, ...; see
docs/sandbox.md), sized so that every list spans several capped pages and the tie cluster is larger than
any page. ``STRICT_STORE`` holds those sizes for ``sandbox_factory(strict=True, **STRICT_STORE, ...)``.

The read suite runs against both: ``world`` is ``"default"`` or ``"strict"`` (a test taking it, or
``world_sandbox`` or ``world_factory``, runs once for each). ``world_sandbox`` is the ``sandbox`` in the
default world and the ``strict_sandbox`` in the strict one; ``world_factory(**overrides)`` is
``sandbox_factory`` with ``strict=True`` added in the strict world (a test sizing its own store sizes it
beyond the caps itself).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from bigcommerce_sandbox.app import RunningSandbox, SandboxFactory, Settings, running_sandbox


@pytest.fixture
def sandbox_factory() -> Iterator[SandboxFactory]:
    with contextlib.ExitStack() as stack:

        def start(**overrides: Any) -> RunningSandbox:
            return stack.enter_context(running_sandbox(Settings(**overrides)))

        yield start


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> RunningSandbox:
    return sandbox_factory(size="tiny", seed=1)


STRICT_STORE: dict[str, Any] = {
    "size": "tiny",
    "seed": 1,
    "customers": 130,
    "orders": 150,
    "products": 100,
    "brands": 90,
    "categories": 100,
    "channels": 35,
    "pages": 35,
    "tie_cluster": 75,
}


@pytest.fixture
def strict_sandbox(sandbox_factory: SandboxFactory) -> RunningSandbox:
    return sandbox_factory(strict=True, **STRICT_STORE)


WORLD_STORES: dict[str, dict[str, Any]] = {
    "default": {"size": "tiny", "seed": 1},
    "strict": {"strict": True, **STRICT_STORE},
}
"""The store each world serves: Settings fields, for ``Settings(**{**WORLD_STORES[world], "seed": 7})``."""
WORLDS = tuple(WORLD_STORES)


@pytest.fixture(params=WORLDS)
def world(request: pytest.FixtureRequest) -> str:
    world: str = request.param
    return world


@pytest.fixture
def world_sandbox(world: str, sandbox_factory: SandboxFactory) -> RunningSandbox:
    return sandbox_factory(**WORLD_STORES[world])


@pytest.fixture
def world_factory(world: str, sandbox_factory: SandboxFactory) -> SandboxFactory:
    def start(**overrides: Any) -> RunningSandbox:
        return sandbox_factory(strict=world == "strict", **overrides)

    return start
