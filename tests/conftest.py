"""Shared fixtures: a running bigcommerce-sandbox for any test that needs a BigCommerce to talk to.

``sandbox`` is a tiny store (seed 1, no rate limit, no latency, no faults) served on a free loopback
port for one test. ``sandbox_factory(**overrides)`` starts one with any ``bigcommerce_sandbox.app.Settings``
fields changed, e.g. ``sandbox_factory(quota=5, window_ms=500)`` or ``sandbox_factory(faults="503 n=1")``;
every sandbox it started stops at the end of the test.

Both yield a ``RunningSandbox``: ``.url`` (``http://127.0.0.1:PORT``), ``.config`` (a ready connector
config: api_url, store_hash, access_token, start_date), ``.settings``, and helpers that go over HTTP to
the admin routes: ``.stats()``, ``.reset_stats()``, ``.mutate(resource, update=, create=, delete=)``,
``.export(resource)`` (the ground truth: every record exactly as its endpoint returns it).
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
