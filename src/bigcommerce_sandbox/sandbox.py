"""One running sandbox: its settings, store, rate limiter, fault plan, strictness and request statistics.

Nothing here is global: each server owns all of it, and the routes reach it through ``SANDBOX``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bigcommerce_sandbox.basis import make_basis, record_hash
from bigcommerce_sandbox.faults import FaultPlan, parse_faults
from bigcommerce_sandbox.limits import PLANS, FixedWindowLimiter
from bigcommerce_sandbox.registry import READ_SCOPES, REGISTRY
from bigcommerce_sandbox.settings import Settings
from bigcommerce_sandbox.store import Store, sizes_for
from bigcommerce_sandbox.strict import LaggingAnswers, Strictness

# ------------------------------------------------------------------------------------------- stats


@dataclass
class Stats:
    """Requests per route template and status, 429s served and peak concurrency (admin routes excluded)."""

    routes: dict[str, dict[str, int]] = field(default_factory=dict)
    total: int = 0
    responses_429: int = 0
    rate_limited: int = 0
    in_flight: int = 0
    peak_concurrency: int = 0

    def record(self, route: str, status: int) -> None:
        by_status = self.routes.setdefault(route, {})
        key = str(status)
        by_status[key] = by_status.get(key, 0) + 1
        self.total += 1
        if status == 429:
            self.responses_429 += 1

    def as_json(self) -> dict[str, Any]:
        return {
            "total_requests": self.total,
            "requests": {
                route: {"total": sum(counts.values()), "by_status": dict(sorted(counts.items()))}
                for route, counts in sorted(self.routes.items())
            },
            "responses_429": self.responses_429,
            "rate_limited": self.rate_limited,
            "peak_concurrency": self.peak_concurrency,
            "in_flight": self.in_flight,
        }

    def reset(self) -> None:
        self.routes = {}
        self.total = self.responses_429 = self.rate_limited = 0
        self.peak_concurrency = self.in_flight


# --------------------------------------------------------------------------------------- the server


@dataclass
class Sandbox:
    """One running sandbox: its settings, store and the per-server state the gate needs."""

    settings: Settings
    store: Store
    base_url: str
    limiter: FixedWindowLimiter
    faults: FaultPlan
    granted: frozenset[str]
    strict: Strictness = field(default_factory=lambda: Strictness(page_caps={}))
    counts: LaggingAnswers = field(default_factory=lambda: LaggingAnswers(0))
    stats: Stats = field(default_factory=Stats)
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    served: int = 0
    """API requests handed to a route so far (never reset): with the seed, it salts shuffled ties."""

    def now(self) -> int:
        return int(self.settings.clock())

    def tie_salt(self) -> int | None:
        """The order of tied records for this request, or None when ties keep id order."""
        if not self.strict.shuffle_ties:
            return None
        return record_hash(self.store.basis.key("times"), self.served)


def build_store(settings: Settings, base_url: str) -> Store:
    counts, tie_cluster = sizes_for(
        settings.size, {**settings.count_overrides(), "tie_cluster": settings.tie_cluster}
    )
    anchor = settings.anchor if settings.anchor is not None else int(settings.clock())
    basis = make_basis(
        seed=settings.seed,
        anchor=anchor,
        store_hash=settings.store_hash,
        api_base=base_url,
        counts=counts,
        layouts={r.name: r.ids for r in REGISTRY},
        tied=frozenset(r.name for r in REGISTRY if r.tied),
        tie_cluster=tie_cluster,
        rare_dates=settings.strictness().fill_rare_dates,
    )
    store = Store(basis, cache_bytes=settings.cache_mb * 1024 * 1024)
    if settings.warm:
        store.warm()
    return store


def granted_scopes(scopes: tuple[str, ...] | None) -> frozenset[str]:
    """Scopes a token holds; a modify scope such as store_v2_orders grants its read-only variant."""
    if scopes is None:
        return frozenset(READ_SCOPES)
    out = set()
    for scope in scopes:
        out.add(scope)
        if not scope.endswith("_read_only"):
            out.add(scope + "_read_only")
    return frozenset(out)


def make_sandbox(settings: Settings, base_url: str) -> Sandbox:
    quota, window = PLANS[settings.plan]
    if settings.quota is not None:
        quota = settings.quota
    if settings.window_ms is not None:
        window = settings.window_ms
    strict = settings.strictness()
    return Sandbox(
        settings=settings,
        store=build_store(settings, base_url),
        base_url=base_url,
        limiter=FixedWindowLimiter(quota, window, clock=settings.monotonic),
        faults=FaultPlan(parse_faults(settings.faults), settings.seed),
        granted=granted_scopes(settings.scopes),
        strict=strict,
        counts=LaggingAnswers(strict.count_lag),
        rng=random.Random(settings.seed),
    )


SANDBOX = web.AppKey("sandbox", Sandbox)


def sandbox_of(request: web.Request) -> Sandbox:
    return request.app[SANDBOX]
