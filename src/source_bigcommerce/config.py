"""The connector's configuration: one table of options (:data:`OPTIONS`), from which both the Airbyte
spec's JSON Schema and the validation of a config file are made.

A config file written for Airbyte's archived source-bigcommerce (``store_hash``, ``access_token``,
``start_date`` as ``YYYY-MM-DD``) is accepted unchanged; every other key is optional. A key no option has
is named with the closest valid one (:func:`unknown_key`): an error by default, because a misspelt key
(``max_concurent_requests``) would otherwise do nothing, silently; the Airbyte protocol commands only warn,
because the spec allows other keys (``additionalProperties: true``) and a platform may add its own.

Values are taken as leniently as pydantic's default mode took them, when this was a pydantic model:
``"16"``, ``"16.0"`` or ``16.0`` for an integer, ``true`` for 1; the error sentences are pydantic's words too.

The table replaced that model because importing pydantic and building the model cost about 0.45 G
instructions on every run: two fifths of the connector's start-up, spent to check seven keys.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from source_bigcommerce.dates import from_epoch, to_epoch
from source_bigcommerce.errors import MIN_REDACTED, ConfigError, read_json_file

DEFAULT_API_URL = "https://api.bigcommerce.com"
DEFAULT_MAX_CONCURRENT_REQUESTS = 16
DEFAULT_MAX_RESPONSE_MB = 64
"""Generous: a page of 250 orders with their line items is a few MB."""
MB = 1 << 20

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ZONED = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
STORE_HASH = re.compile(r"^[A-Za-z0-9]{1,64}$")
"""What a store hash is made of (``17hoqh4ddx`` in reference/orders.v2.oas2.yml's examples): it becomes a
segment of every request's path, so nothing that could change the path (``/``, ``..``, ``%``) gets in."""
SHOWN_TOKEN = "[access token]"
"""What a sentence about a config value shows where that value holds the access token."""
PRINTABLE = re.compile(r"^[^\u0000-\u001f\u007f]*$")
"""A header value without control characters: a line break in the token would end the header."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and any loopback address (127.0.0.0/8, ::1)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_start_date(value: str) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an RFC 3339 timestamp with a zone, as an aware UTC datetime."""
    text = value.strip()
    if not _DATE.match(text) and not _ZONED.match(text):
        raise ValueError(
            f"start_date {value!r} is neither YYYY-MM-DD nor an RFC 3339 timestamp with a time zone, "
            "such as 2024-01-31T00:00:00Z"
        )
    try:
        return datetime.fromtimestamp(to_epoch(text), tz=timezone.utc)
    except ValueError:
        raise ValueError(f"start_date {value!r} is not a real date") from None


def refuse_future_start(start_date: int, now: float) -> None:
    """Refuse a ``start_date`` (epoch second) later than ``now``: it would read nothing and save a cursor in
    the future, so every later sync would read nothing either.

    parse_config cannot check this itself, because it has no clock: the engine and ``check`` call this with
    the clock they were given.

    Raises:
        ConfigError: ``start_date`` is in the future.
    """
    if start_date > now:
        raise ConfigError(
            f"start_date {from_epoch(start_date)} is in the future (it is now {from_epoch(int(now))}); "
            "set it to the earliest modification time to read, which must be in the past."
        )


def _start_date(value: str) -> str:
    parse_start_date(value)
    return value


def _store_hash(value: str) -> str:
    if not STORE_HASH.fullmatch(value):
        raise ValueError(
            f"store_hash {value!r} is not a store hash, which is letters and digits only, such as 17hoqh4ddx "
            "(the part after /stores/ in the API path of your API account)"
        )
    return value


def _access_token(value: str) -> str:
    if not PRINTABLE.fullmatch(value):
        # The value itself is never shown: it is a secret.
        raise ValueError(
            "the token holds a control character (a line break or a tab, say), which no access token has; "
            "copy it again without it"
        )
    return value


def _api_url(value: str) -> str:
    parts = urlsplit(value)
    if "@" in parts.netloc:
        # Shown without the part before the host: it may be a password.
        shown = f"{parts.scheme}://…@{parts.netloc.rpartition('@')[2]}"
        raise ValueError(
            f"api_url {shown!r} carries a user name or password before the host; remove it "
            "(the access token goes in access_token)"
        )
    if not value.isprintable() or any(char.isspace() for char in value):
        raise ValueError(f"api_url {value!r} holds a space or a control character; remove it")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValueError(
            f"api_url {value!r} has a query (?...) or a fragment (#...); give the base URL alone, "
            f"such as {DEFAULT_API_URL}"
        )
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"api_url {value!r} is not an http(s) URL")
    try:
        parts.port  # noqa: B018 - urlsplit reads the port only when asked for it
    except ValueError:
        raise ValueError(f"api_url {value!r} has a port that is not a number from 0 to 65535") from None
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(
            f"api_url {value!r} uses plain http to a non-loopback host; use https "
            "(http is allowed only for localhost, to reach bigcommerce-sandbox)"
        )
    return value.rstrip("/")


Kind = Literal["string", "integer", "number", "boolean"]


@dataclass(frozen=True)
class Option:
    """One config key: what the spec says about it, and how a value of it is checked."""

    name: str
    kind: Kind
    title: str
    description: str
    default: str | int | float | bool | None = None
    """``None``: the key is required."""
    limits: Mapping[str, int] = field(default_factory=dict)
    """JSON Schema keywords, checked here as well: those :data:`LIMITS` knows."""
    examples: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    """Given to the spec as JSON Schema ``pattern``, so platforms refuse what ``check`` refuses. ``check``
    enforces it here, whole (``fullmatch``: the ``$`` of Python's and Java's validators lets a final line
    break through), in a sentence that says what the value should be."""
    secret: bool = False
    """Marked ``airbyte_secret``, so platforms mask it; the connector never prints it either."""
    check: Callable[[str], str] | None = None
    """Raises ValueError with a sentence, or returns the value to keep (``api_url`` loses a final slash)."""


OPTIONS: tuple[Option, ...] = (
    Option(
        "store_hash",
        "string",
        "Store Hash",
        "The store's hash code. For https://api.bigcommerce.com/stores/HASH_CODE/v3/, "
        "the store hash is 'HASH_CODE'.",
        limits={"minLength": 1},
        pattern=STORE_HASH,
        check=_store_hash,
    ),
    Option(
        "access_token",
        "string",
        "Access Token",
        "The access token of a store-level API account (Settings > Store-level API accounts).",
        pattern=PRINTABLE,
        secret=True,
        check=_access_token,
    ),
    Option(
        "start_date",
        "string",
        "Start date",
        "Records last modified before this moment are not read. YYYY-MM-DD (midnight UTC) "
        "or an RFC 3339 timestamp.",
        examples=("2021-01-01", "2021-01-01T00:00:00Z"),
        check=_start_date,
    ),
    Option(
        "api_url",
        "string",
        "API URL",
        "Base URL of the BigCommerce API. Change it only to point at a proxy or at bigcommerce-sandbox; "
        "plain http:// is accepted for loopback hosts only.",
        default=DEFAULT_API_URL,
        check=_api_url,
    ),
    Option(
        "max_concurrent_requests",
        "integer",
        "Maximum concurrent requests",
        "Requests in flight at once, across all streams. The store's rate-limit quota is honoured "
        "whatever this is; raise it on unlimited plans with high latency.",
        default=DEFAULT_MAX_CONCURRENT_REQUESTS,
        limits={"minimum": 1, "maximum": 256},
    ),
    Option(
        "request_timeout_seconds",
        "number",
        "Request timeout (seconds)",
        "How long one request may take, body included, before it is retried.",
        default=60.0,
        limits={"exclusiveMinimum": 0, "maximum": 600},
    ),
    Option(
        "max_retries",
        "integer",
        "Maximum retries",
        "Retries of one request after a server error, a timeout or a broken connection, before its "
        "stream fails. Waits for the rate-limit window to reset do not count.",
        default=8,
        limits={"minimum": 0, "maximum": 50},
    ),
    Option(
        "max_response_mb",
        "integer",
        "Maximum response size (MB)",
        "The largest response body accepted, in MiB after decompression. A larger one fails its stream "
        "instead of filling the machine's memory.",
        default=DEFAULT_MAX_RESPONSE_MB,
        limits={"minimum": 1, "maximum": 1024},
    ),
    Option(
        "emit_deletes",
        "boolean",
        "Emit deletes",
        "Incremental streams also send the records that left the store: a customer, product or channel "
        "deleted sends its id with _ab_cdc_deleted_at, and an archived order carries _ab_cdc_deleted_at, so "
        "a destination in append-deduped mode deletes them. The ids known are kept in the state.",
        default=False,
    ),
)


@dataclass(frozen=True)
class Config:
    """What the connector needs to read one BigCommerce store: :data:`OPTIONS`, validated."""

    store_hash: str
    access_token: str = field(repr=False)
    start_date: str
    api_url: str
    max_concurrent_requests: int
    request_timeout_seconds: float
    max_retries: int
    max_response_mb: int
    emit_deletes: bool

    @property
    def start(self) -> datetime:
        return parse_start_date(self.start_date)

    @property
    def max_response_bytes(self) -> int:
        return self.max_response_mb * MB


def spec_schema() -> dict[str, Any]:
    """The connectionSpecification of the SPEC message: :data:`OPTIONS` as JSON Schema, Airbyte's dialect."""
    properties: dict[str, Any] = {}
    for order, option in enumerate(OPTIONS):
        prop: dict[str, Any] = {
            "title": option.title,
            "description": option.description,
            "type": option.kind,
            "order": order,
            **option.limits,
        }
        if option.default is not None:
            prop["default"] = option.default
        if option.examples:
            prop["examples"] = list(option.examples)
        if option.pattern is not None:
            prop["pattern"] = option.pattern.pattern
        if option.secret:
            prop["airbyte_secret"] = True
        properties[option.name] = prop
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "BigCommerce Source Spec",
        "description": "What the connector needs to read one BigCommerce store.",
        "type": "object",
        "required": [option.name for option in OPTIONS if option.default is None],
        "additionalProperties": True,
        "properties": properties,
    }


def unknown_key(key: str) -> str:
    """The sentence for a config key no option has: the closest valid key, or all of them when none is
    close. It names keys only, never a value, which may be a secret."""
    names = [option.name for option in OPTIONS]
    close = difflib.get_close_matches(key, names, n=1)
    if close:
        return f"Config key {key!r} is unknown; did you mean {close[0]!r}?"
    return f"Config key {key!r} is unknown; the keys are {', '.join(names)}."


def parse_config(raw: Any, *, on_unknown_key: Callable[[str], None] | None = None) -> Config:
    """Validate a decoded config; the first problem is a :class:`ConfigError` whose one sentence says what
    to fix and never holds a secret's value.

    Args:
        raw: the decoded config.
        on_unknown_key: receives :func:`unknown_key`'s sentence for each key no option has, which is then
            ignored; without it the first such key is the error. Unknown keys are checked first, so a
            misspelt required key is named as misspelt rather than as missing.
    """
    if not isinstance(raw, dict):
        raise ConfigError(
            'The config must be a JSON object such as {"store_hash": ..., "access_token": ...}.'
        )
    try:
        return _parse(raw, on_unknown_key)
    except ConfigError as error:
        token = raw.get("access_token")
        if not isinstance(token, str) or len(token) < MIN_REDACTED:
            raise
        # A sentence quotes the value it refuses (as it is, or by repr), and a user may have pasted the token
        # into another key (an api_url with ?access_token=...); nothing downstream blanks it yet, as the config
        # never parsed.
        message = error.message
        for form in sorted({token, repr(token)[1:-1]}, key=len, reverse=True):
            message = message.replace(form, SHOWN_TOKEN)
        raise ConfigError(message) from None


def _parse(raw: dict[str, Any], on_unknown_key: Callable[[str], None] | None) -> Config:
    known = {option.name for option in OPTIONS}
    for key in raw:
        if key not in known:
            if on_unknown_key is None:
                raise ConfigError(unknown_key(key))
            on_unknown_key(unknown_key(key))
    values: dict[str, Any] = {}
    for option in OPTIONS:
        if option.name not in raw:
            if option.default is None:
                raise ConfigError(f"The config is missing the required key {option.name!r}.")
            values[option.name] = option.default
            continue
        try:
            value = _typed(option.kind, raw[option.name])
            _within(option.limits, value)
            values[option.name] = option.check(value) if option.check else value
        except TypeError as exc:
            raise ConfigError(f"Config key {option.name!r} has the wrong type: {exc}.") from None
        except ValueError as exc:
            raise ConfigError(f"Config key {option.name!r} is invalid: {exc}.") from None
    return Config(**values)


def load_config(path: str | Path, *, on_unknown_key: Callable[[str], None] | None = None) -> Config:
    """Read and validate a config file; every failure is a :class:`ConfigError` with one clear sentence.
    ``on_unknown_key`` as in :func:`parse_config`."""
    return parse_config(read_json_file(path, f"Config file {str(path)!r}"), on_unknown_key=on_unknown_key)


def _typed(kind: Kind, value: Any) -> Any:
    """``value`` as ``kind``, taken as leniently as pydantic's lax mode took it.

    Raises:
        TypeError: not a value of that kind, with the sentence's end ("input should be a valid integer").
        ValueError: of that kind but not exact, such as 2.5 for an integer.
    """
    if kind == "string":
        if isinstance(value, str):
            return value
        raise TypeError("input should be a valid string")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise TypeError("input should be a valid boolean")
    if not isinstance(value, int | float | str):
        raise TypeError(f"input should be a valid {kind}")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            article = "an" if kind == "integer" else "a"
            raise TypeError(
                f"input should be a valid {kind}, unable to parse string as {article} {kind}"
            ) from None
    if kind == "number":
        try:
            return float(value)
        except OverflowError:
            raise ValueError("input should be a finite number") from None
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("input should be a valid integer, got a number with a fractional part")
    return int(value)


LIMITS: Mapping[str, tuple[Callable[[Any, int], bool], Callable[[int], str]]] = {
    # Each test says "within", so that NaN, which compares false with everything, is refused.
    "minLength": (
        lambda value, limit: len(value) >= limit,
        lambda limit: f"string should have at least {limit} character{'s' * (limit != 1)}",
    ),
    "minimum": (
        lambda value, limit: value >= limit,
        lambda limit: f"input should be greater than or equal to {limit}",
    ),
    "exclusiveMinimum": (
        lambda value, limit: value > limit,
        lambda limit: f"input should be greater than {limit}",
    ),
    "maximum": (
        lambda value, limit: value <= limit,
        lambda limit: f"input should be less than or equal to {limit}",
    ),
}
"""The JSON Schema keywords an :class:`Option` may limit its values by: the test, and pydantic's words."""


def _within(limits: Mapping[str, int], value: Any) -> None:
    """Raises ValueError when ``value`` breaks one of the JSON Schema ``limits``."""
    for keyword, limit in limits.items():
        within, words = LIMITS[keyword]
        if not within(value, limit):
            raise ValueError(words(limit))
