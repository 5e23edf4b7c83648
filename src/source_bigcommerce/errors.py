"""The errors a user can meet, each carrying the Airbyte ``failure_type`` it is reported under.

Every message is one sentence that says what to fix. None of them ever contains the access token: the
HTTP layer builds messages from the method, the path and the status only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import orjson

FailureType = Literal["config_error", "system_error", "transient_error"]

MIN_REDACTED = 8
"""Secrets (and runs of a secret's characters) shorter than this are not blanked out of what is shown: they
would match ordinary text."""

MAX_FILE_BYTES = 256 << 20
"""The most read of a file a user gives (config, catalog, state): far more than any of them holds (a state with
the known ids of millions of records is a few MB), so that ``--config /dev/zero`` fails in a sentence instead
of filling the machine's memory."""


class ConnectorError(Exception):
    """A failure with a message fit for a user; the CLI prints it without a traceback unless --debug."""

    failure_type: FailureType = "system_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(ConnectorError):
    """Something the user supplied is wrong: config, catalog, state, credentials, scopes."""

    failure_type: FailureType = "config_error"


class TransientError(ConnectorError):
    """BigCommerce or the network kept failing after every allowed retry; a rerun should succeed."""

    failure_type: FailureType = "transient_error"


def read_json_file(path: str | Path, origin: str, remedy: str = "", *, empty: Any = ...) -> Any:
    """A JSON file a user gave us (config, catalog, state), decoded.

    Every failure is a one-sentence :class:`ConfigError` that names the file as ``origin`` ("Config file
    'x.json'") and ends with ``remedy`` when one is given. An empty file is returned as ``empty`` when the
    caller allows one (a state file); otherwise it is invalid JSON like any other.
    """
    tail = f"; {remedy}" if remedy else ""
    try:
        with Path(path).open("rb") as handle:
            text = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{origin} does not exist{tail}.") from None
    except OSError as exc:
        raise ConfigError(f"{origin} cannot be read ({exc.strerror}){tail}.") from None
    if len(text) > MAX_FILE_BYTES:
        raise ConfigError(
            f"{origin} is larger than {MAX_FILE_BYTES >> 20} MB, which no config, catalog or state is; check the "
            f"path{tail}."
        )
    if empty is not ... and not text.strip():
        return empty
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{origin} is not valid JSON ({exc.args[0]}){tail}.") from None
