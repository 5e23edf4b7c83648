"""A tiny synchronous HTTP client for sandbox tests: one call, the status, headers and raw body back."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson

from bigcommerce_sandbox.app import RunningSandbox
from bigcommerce_sandbox.registry import Resource


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def get(sb: RunningSandbox, path: str, *, token: str | None = None, store: str | None = None) -> Reply:
    """GET ``/stores/{store}{path}`` with the sandbox's token unless another is given ("" sends none)."""
    url = f"{sb.url}/stores/{store or sb.settings.store_hash}{path}"
    return get_url(url, token=sb.settings.token if token is None else token)


def get_url(url: str, *, token: str = "") -> Reply:
    request = urllib.request.Request(url, headers={"X-Auth-Token": token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Reply(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as err:
        with err:
            return Reply(err.code, dict(err.headers.items()), err.read())


def busiest_parent(sb: RunningSandbox, entry: Resource) -> int:
    """The parent with the most children of a resource read per parent (ties: the lowest id); for
    orders' line items and transactions, the first order that has both."""
    if entry.parent_field is None:
        with_both = {int(t["order_id"]) for t in sb.export("transactions")} & {
            p["order_id"] for p in sb.export("order_products")
        }
        return min(with_both)
    counts = Counter(int(r[entry.parent_field]) for r in sb.export(entry.name))
    return min(counts, key=lambda pid: (-counts[pid], pid))


def concrete(sb: RunningSandbox, entry: Resource, path: str | None = None) -> str:
    """``path`` (the entry's own by default) with ``{id}`` replaced by :func:`busiest_parent`."""
    path = entry.path if path is None else path
    return path.replace("{id}", str(busiest_parent(sb, entry))) if "{id}" in path else path
