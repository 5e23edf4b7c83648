"""The errors a user can meet, each carrying the Airbyte ``failure_type`` it is reported under.

Every message is one sentence that says what to fix. None of them ever contains the access token: the
HTTP layer builds messages from the method, the path and the status only.
"""

from __future__ import annotations

from typing import Literal

FailureType = Literal["config_error", "system_error", "transient_error"]


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
