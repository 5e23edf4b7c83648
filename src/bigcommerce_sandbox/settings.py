"""Settings: how a sandbox is generated and behaves, checked once, with the stingy options resolved."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bigcommerce_sandbox.basis import TS_BASE
from bigcommerce_sandbox.faults import parse_faults
from bigcommerce_sandbox.limits import PLANS
from bigcommerce_sandbox.registry import PAGED, PRESETS, TABLES
from bigcommerce_sandbox.strict import (
    STRICT_COUNT_LAG,
    STRICT_HEAVY_PAGE_ITEMS,
    Strictness,
    resolve_page_caps,
)

_NAMED_COUNTS = ("customers", "orders", "products", "brands", "categories", "channels", "pages")


@dataclass(frozen=True)
class Settings:
    """How a sandbox is generated and behaves. Every field has a CLI flag of the same name (cli.py;
    ``page_cap`` and ``page_caps`` share ``--page-cap N|RESOURCE=N``, and ``counts`` is a ``--NAME N``
    flag per resource of the registry).

    Record counts: ``counts={"customers": 600}`` for any resource with a table in the registry;
    ``customers=600`` and the six fields beside it are shorthands kept for the original resources.

    ``clock`` gives the wall time used for "now" (mutations, the products date quirk); ``monotonic``
    drives the rate-limit windows. Both are injectable so tests need no sleeping.

    ``strict`` turns on every stingy option of strict.py; each option left at None follows it, and any
    set explicitly wins (``Settings(strict=True, shuffle_ties=False)``).
    """

    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 1
    size: str = "tiny"
    customers: int | None = None
    orders: int | None = None
    products: int | None = None
    brands: int | None = None
    categories: int | None = None
    channels: int | None = None
    pages: int | None = None
    counts: Mapping[str, int] | None = None
    tie_cluster: int | None = None
    anchor: int | None = None
    plan: str = "unlimited"
    quota: int | None = None
    window_ms: int | None = None
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    faults: str = ""
    scopes: tuple[str, ...] | None = None
    activity: float = 0.0
    store_hash: str = "sandbox"
    token: str = "sandbox-token"
    allow_remote: bool = False
    cache_mb: int = 256
    warm: bool = False
    strict: bool = False
    page_cap: int | None = None
    page_caps: Mapping[str, int] | None = None
    shuffle_ties: bool | None = None
    count_lag: int | None = None
    heavy_page_items: int | None = None
    hide_archived: bool | None = None
    reject_encoded_dates: bool | None = None
    reject_unknown_params: bool | None = None
    fill_rare_dates: bool | None = None
    clock: Callable[[], float] = field(default=time.time, compare=False)
    monotonic: Callable[[], float] = field(default=time.monotonic, compare=False)

    def validate(self) -> None:
        """Raise ValueError with one sentence naming what to fix."""
        if self.size not in PRESETS:
            raise ValueError(f"--size must be one of {', '.join(PRESETS)}, not {self.size!r}")
        if self.plan not in PLANS:
            raise ValueError(f"--plan must be one of {', '.join(PLANS)}, not {self.plan!r}")
        for name in self.counts or {}:
            if name not in TABLES:
                raise ValueError(f"there is no resource {name!r} to size; use one of {', '.join(TABLES)}")
        for name, value in (*self.count_overrides().items(), ("tie_cluster", self.tie_cluster)):
            if value is not None and value < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be zero or more, not {value}")
        if self.quota is not None and self.quota < 1:
            raise ValueError(f"--quota must be at least 1, not {self.quota}")
        if self.window_ms is not None and self.window_ms < 1:
            raise ValueError(f"--window-ms must be at least 1, not {self.window_ms}")
        if self.latency_ms < 0 or self.jitter_ms < 0:
            raise ValueError("--latency-ms and --jitter-ms must be zero or more")
        if self.cache_mb < 0:
            raise ValueError(f"--cache-mb must be zero or more, not {self.cache_mb}")
        if self.activity < 0:
            raise ValueError(f"--activity must be zero or more, not {self.activity}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"--port must be between 0 and 65535, not {self.port}")
        if not self.store_hash or "/" in self.store_hash:
            raise ValueError("--store-hash must be a non-empty name without slashes")
        if not self.token:
            raise ValueError("--token must not be empty")
        if self.anchor is not None and self.anchor < TS_BASE + 5 * 365 * 86400:
            raise ValueError("--anchor must be after 2005-01-01 so four years of history fit after 2000")
        if not self.allow_remote and not is_loopback(self.host):
            raise ValueError(
                f"refusing to bind {self.host!r}: the sandbox has no real security, so it listens on loopback "
                "only unless --allow-remote is given"
            )
        if self.page_cap is not None and self.page_cap < 1:
            raise ValueError(f"--page-cap must be at least 1, not {self.page_cap}")
        for resource, cap in (self.page_caps or {}).items():
            if resource not in PAGED:
                raise ValueError(f"--page-cap {resource}=... names no list; use one of {', '.join(PAGED)}")
            if cap < 1:
                raise ValueError(f"--page-cap {resource}={cap} must be at least 1")
        for name in ("count_lag", "heavy_page_items"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be zero or more, not {value}")
        parse_faults(self.faults)

    def count_overrides(self) -> dict[str, int | None]:
        """Record counts asked for, per resource (None: the preset's)."""
        named = {name: getattr(self, name) for name in _NAMED_COUNTS}
        return {**named, **(self.counts or {})}

    def strictness(self) -> Strictness:
        def on(value: bool | None) -> bool:
            return self.strict if value is None else value

        def amount(value: int | None, strict_value: int) -> int:
            return (strict_value if self.strict else 0) if value is None else value

        return Strictness(
            page_caps=resolve_page_caps(self.strict, self.page_cap, self.page_caps),
            shuffle_ties=on(self.shuffle_ties),
            count_lag=amount(self.count_lag, STRICT_COUNT_LAG),
            heavy_page_items=amount(self.heavy_page_items, STRICT_HEAVY_PAGE_ITEMS),
            hide_archived=on(self.hide_archived),
            reject_encoded_dates=on(self.reject_encoded_dates),
            reject_unknown_params=on(self.reject_unknown_params),
            fill_rare_dates=on(self.fill_rare_dates),
        )


def is_loopback(host: str | None) -> bool:
    """Whether a host name or address is this machine's loopback: ``localhost`` or an address in
    127.0.0.0/8 or ::1, parsed as an address (``127.attacker.example`` is a name, not loopback)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
