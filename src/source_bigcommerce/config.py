"""The connector's configuration: one pydantic model, from which the Airbyte spec's JSON Schema is generated.

A config file written for Airbyte's archived source-bigcommerce (``store_hash``, ``access_token``,
``start_date`` as ``YYYY-MM-DD``) is accepted unchanged; every other key is optional. Unknown keys are
ignored, as Airbyte's spec allows (``additionalProperties: true``).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from source_bigcommerce.dates import from_epoch, to_epoch
from source_bigcommerce.errors import ConfigError, read_json_file

DEFAULT_API_URL = "https://api.bigcommerce.com"
DEFAULT_MAX_CONCURRENT_REQUESTS = 16

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ZONED = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


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

    The model cannot check this itself, because it has no clock: the engine and ``check`` call this with
    the clock they were given.

    Raises:
        ConfigError: ``start_date`` is in the future.
    """
    if start_date > now:
        raise ConfigError(
            f"start_date {from_epoch(start_date)} is in the future (it is now {from_epoch(int(now))}); "
            "set it to the earliest modification time to read, which must be in the past."
        )


class Config(BaseModel):
    """What the connector needs to read one BigCommerce store."""

    model_config = ConfigDict(extra="ignore", frozen=True, title="BigCommerce Source Spec")

    store_hash: Annotated[
        str,
        Field(
            min_length=1,
            title="Store Hash",
            description=(
                "The store's hash code. For https://api.bigcommerce.com/stores/HASH_CODE/v3/, "
                "the store hash is 'HASH_CODE'."
            ),
            json_schema_extra={"order": 0},
        ),
    ]
    access_token: Annotated[
        SecretStr,
        Field(
            title="Access Token",
            description="The access token of a store-level API account (Settings > Store-level API accounts).",
            json_schema_extra={"airbyte_secret": True, "order": 1},
        ),
    ]
    start_date: Annotated[
        str,
        Field(
            title="Start date",
            description=(
                "Records last modified before this moment are not read. YYYY-MM-DD (midnight UTC) "
                "or an RFC 3339 timestamp."
            ),
            examples=["2021-01-01", "2021-01-01T00:00:00Z"],
            json_schema_extra={"order": 2},
        ),
    ]
    api_url: Annotated[
        str,
        Field(
            title="API URL",
            description=(
                "Base URL of the BigCommerce API. Change it only to point at a proxy or at bigcommerce-sandbox; "
                "plain http:// is accepted for loopback hosts only."
            ),
            json_schema_extra={"order": 3},
        ),
    ] = DEFAULT_API_URL
    max_concurrent_requests: Annotated[
        int,
        Field(
            ge=1,
            le=256,
            title="Maximum concurrent requests",
            description=(
                "Requests in flight at once, across all streams. The store's rate-limit quota is honoured "
                "whatever this is; raise it on unlimited plans with high latency."
            ),
            json_schema_extra={"order": 4},
        ),
    ] = DEFAULT_MAX_CONCURRENT_REQUESTS
    request_timeout_seconds: Annotated[
        float,
        Field(
            gt=0,
            le=600,
            title="Request timeout (seconds)",
            description="How long one request may take, body included, before it is retried.",
            json_schema_extra={"order": 5},
        ),
    ] = 60.0
    max_retries: Annotated[
        int,
        Field(
            ge=0,
            le=50,
            title="Maximum retries",
            description=(
                "Retries of one request after a server error, a timeout or a broken connection, before its "
                "stream fails. Waits for the rate-limit window to reset do not count."
            ),
            json_schema_extra={"order": 6},
        ),
    ] = 8

    @field_validator("start_date")
    @classmethod
    def _start_date_parses(cls, value: str) -> str:
        parse_start_date(value)
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url_is_safe(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"api_url {value!r} is not an http(s) URL")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError(
                f"api_url {value!r} uses plain http to a non-loopback host; use https "
                "(http is allowed only for localhost, to reach bigcommerce-sandbox)"
            )
        return value.rstrip("/")

    @property
    def start(self) -> datetime:
        return parse_start_date(self.start_date)

    @property
    def token(self) -> str:
        return self.access_token.get_secret_value()


def spec_schema() -> dict[str, Any]:
    """The connectionSpecification of the SPEC message: the model's JSON Schema, in Airbyte's dialect."""
    schema = Config.model_json_schema()
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["additionalProperties"] = True
    props = schema["properties"]
    # pydantic writes SecretStr as a password-formatted string; Airbyte wants airbyte_secret (kept above).
    props["access_token"].pop("format", None)
    props["access_token"].pop("writeOnly", None)
    return schema


def parse_config(raw: Any) -> Config:
    """Validate a decoded config, turning pydantic's report into one sentence that says what to fix."""
    if not isinstance(raw, dict):
        raise ConfigError(
            'The config must be a JSON object such as {"store_hash": ..., "access_token": ...}.'
        )
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; every failure is a :class:`ConfigError` with one clear sentence."""
    return parse_config(read_json_file(path, f"Config file {str(path)!r}"))


def describe_validation_error(exc: ValidationError) -> str:
    """The first problem pydantic found, as a sentence naming the key; never echoes a secret's value."""
    error = exc.errors(include_input=False, include_url=False)[0]
    key = ".".join(str(part) for part in error["loc"]) or "config"
    kind = error["type"]
    if kind == "missing":
        return f"The config is missing the required key {key!r}."
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind in ("string_type", "int_type", "int_parsing", "float_type", "float_parsing", "bool_type"):
        return f"Config key {key!r} has the wrong type: {message[0].lower()}{message[1:]}."
    return f"Config key {key!r} is invalid: {message[0].lower()}{message[1:]}."
