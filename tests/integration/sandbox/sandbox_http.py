"""A tiny synchronous HTTP client for sandbox tests: one call, the status, headers and raw body back."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import orjson

from bigcommerce_sandbox.app import RunningSandbox


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
