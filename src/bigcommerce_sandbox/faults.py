"""Fault injection: a small grammar of rules and their deterministic schedule.

A spec is rules separated by ``;``. Each rule is whitespace-separated tokens::

    KIND[:DELAY_MS]  WHEN  [PATH]

KIND   500 | 502 | 503 | 504 | 429 (platform load: no rate-limit headers) | reset (headers and part of the
       body, then the connection is reset) | truncate (Content-Length promises more than is sent, then
       the connection closes) | badjson (200 with a body that is not JSON) | slow (the normal answer after
       DELAY_MS, default 30000).
WHEN   p=0.05 or 5%       each request matching PATH fails with that probability;
       n=3 | n=3,7 | n=2-4 | n=10+   the Nth matching requests (1-based) fail.
PATH   /v3/catalog/products (a prefix on whole segments) or /v3/orders/*/transactions (``*`` is one
       segment); the path after /stores/{store_hash}. Without PATH, every API request matches. A query
       after it (/v3/catalog/products?include_fields=id) narrows the rule to requests carrying those values,
       so a test can fail one kind of request on a path whatever the number of others.

Example: ``503 n=3 /v3/catalog/products; reset p=0.02; slow:5000 n=1 /v2/orders``.

Each rule counts its own matching requests, so the decision for a request depends only on the seed, the
spec and that ordinal: a failing test replays exactly. The first rule that fires wins.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

KINDS = ("500", "502", "503", "504", "429", "reset", "truncate", "badjson", "slow")
DEFAULT_SLOW_MS = 30_000
_MASK64 = (1 << 64) - 1


class FaultSpecError(ValueError):
    """A --faults spec that cannot be parsed; the message says which rule and why."""


@dataclass(frozen=True)
class FaultRule:
    kind: str
    rate: float | None
    schedule: tuple[tuple[int, int | None], ...]
    path: tuple[str, ...] | None
    delay_ms: int = DEFAULT_SLOW_MS
    text: str = ""
    query: tuple[tuple[str, str], ...] = ()

    def matches(self, segments: list[str], query: Mapping[str, str]) -> bool:
        if any(query.get(name) != value for name, value in self.query):
            return False
        if self.path is None:
            return True
        if len(segments) < len(self.path):
            return False
        return all(want in ("*", got) for want, got in zip(self.path, segments, strict=False))

    def fires(self, seed: int, index: int, ordinal: int) -> bool:
        if self.rate is not None:
            return _unit(seed, index, ordinal) < self.rate
        return any(lo <= ordinal and (hi is None or ordinal <= hi) for lo, hi in self.schedule)


def parse_faults(spec: str) -> tuple[FaultRule, ...]:
    rules = []
    for text in (part.strip() for part in spec.split(";")):
        if text:
            rules.append(_parse_rule(text))
    return tuple(rules)


def _parse_rule(text: str) -> FaultRule:
    tokens = text.split()
    if len(tokens) not in (2, 3):
        raise FaultSpecError(
            f"fault rule {text!r} must be KIND WHEN [PATH], e.g. '503 n=3 /v3/catalog/products'"
        )
    kind, _, delay = tokens[0].partition(":")
    if kind not in KINDS:
        raise FaultSpecError(f"fault rule {text!r}: unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    delay_ms = DEFAULT_SLOW_MS
    if delay:
        if kind != "slow" or not delay.isdigit():
            raise FaultSpecError(f"fault rule {text!r}: only slow takes a delay, written slow:MILLISECONDS")
        delay_ms = int(delay)
    rate, schedule = _parse_when(text, tokens[1])
    path = None
    query: tuple[tuple[str, str], ...] = ()
    if len(tokens) == 3:
        if not tokens[2].startswith("/"):
            raise FaultSpecError(
                f"fault rule {text!r}: the path must start with /, e.g. /v3/catalog/products"
            )
        route, _, wanted = tokens[2].partition("?")
        path = tuple(s for s in route.split("/") if s)
        query = tuple(parse_qsl(wanted, keep_blank_values=True))
    return FaultRule(
        kind=kind, rate=rate, schedule=schedule, path=path, delay_ms=delay_ms, text=text, query=query
    )


def _parse_when(text: str, token: str) -> tuple[float | None, tuple[tuple[int, int | None], ...]]:
    if token.endswith("%") or token.startswith("p="):
        raw = token[2:] if token.startswith("p=") else token[:-1]
        try:
            value = float(raw) / (100 if token.endswith("%") else 1)
        except ValueError:
            raise FaultSpecError(
                f"fault rule {text!r}: {token!r} is not a rate such as p=0.05 or 5%"
            ) from None
        if not 0 <= value <= 1:
            raise FaultSpecError(f"fault rule {text!r}: a rate must be between 0 and 1 (0% and 100%)")
        return value, ()
    if token.startswith("n="):
        ranges: list[tuple[int, int | None]] = []
        for item in token[2:].split(","):
            m = re.fullmatch(r"(\d+)(?:(-)(\d+)|(\+))?", item)
            if not m or int(m.group(1)) < 1:
                raise FaultSpecError(f"fault rule {text!r}: {item!r} is not an ordinal such as 3, 2-4 or 10+")
            lo = int(m.group(1))
            hi: int | None = int(m.group(3)) if m.group(3) else (None if m.group(4) else lo)
            if hi is not None and hi < lo:
                raise FaultSpecError(f"fault rule {text!r}: the range {item!r} ends before it starts")
            ranges.append((lo, hi))
        return None, tuple(ranges)
    raise FaultSpecError(f"fault rule {text!r}: WHEN must be p=RATE, RATE% or n=ORDINALS, not {token!r}")


def _unit(seed: int, index: int, ordinal: int) -> float:
    x = (seed * 0x9E3779B97F4A7C15 + index * 0xD1B54A32D192ED03 + ordinal * 0x94D049BB133111EB) & _MASK64
    x ^= zlib.crc32(b"faults")
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    x ^= x >> 31
    return x / 2.0**64


@dataclass
class FaultPlan:
    """The rules with their per-rule ordinals; one per running sandbox."""

    rules: tuple[FaultRule, ...]
    seed: int
    counts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.rules)

    def decide(self, path: str, query: Mapping[str, str] | None = None) -> FaultRule | None:
        """Count this request against every rule whose path (and query) matches; return the first that fires."""
        if not self.rules:
            return None
        segments = [s for s in path.split("/") if s]
        chosen: FaultRule | None = None
        for index, rule in enumerate(self.rules):
            if rule.matches(segments, query or {}):
                self.counts[index] += 1
                if chosen is None and rule.fires(self.seed, index, self.counts[index]):
                    chosen = rule
        return chosen
