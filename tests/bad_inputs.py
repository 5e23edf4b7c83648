"""The catalogue of bad inputs: what a user gets wrong, what each command answers, and with which exit status.

One list serves two purposes: ``tests/e2e/test_bad_input.py`` runs every case through the console script and
asserts exactly what it says here, and ``docs/errors.md`` carries the table :func:`render_table` makes of it
(``python tools/errors_table.py`` rewrites it; a test fails while the two differ), so the documentation cannot
drift from what the connector does.

A message is the exact sentence printed on stderr, with ``…`` standing for what varies from run to run (a
path, a port, the current time).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bigcommerce_sandbox.app import RunningSandbox

SECRET = "tok-badinput-Xr8Lw3Qz"
"""The access token of every case: distinctive, so a search of all output for it means something."""
MISSING_SCOPES = ("store_v2_content_read_only", "store_channel_settings_read_only")
"""What the ``scoped`` store's token lacks: pages and channels are skipped, the rest read."""


@dataclass
class Env:
    """What the cases point at: stores, a port nobody listens on, an https server nobody should trust."""

    tmp: Path
    store: RunningSandbox
    """Every scope, token :data:`SECRET`."""
    scoped: RunningSandbox
    """Token :data:`SECRET` without :data:`MISSING_SCOPES`."""
    closed_port: int
    tls_url: str
    """https on 127.0.0.1 with a self-signed certificate."""

    def good(self, **changes: Any) -> dict[str, Any]:
        return {**self.store.config, **changes}


Config = Callable[[Env], Any]
"""A config for the case: a dict written as JSON, or bytes written as they are."""


@dataclass(frozen=True)
class Case:
    problem: str
    command: str
    """``read``, ``check``, ``discover`` or ``sync``."""
    config: Config
    says: tuple[str, ...]
    """The sentences on stderr (for ``sync``, its last lines; its progress lines come before), any order."""
    reports: str
    """What a protocol command prints on stdout: ``TRACE <failure_type>`` or ``CONNECTION_STATUS <status>``
    (a line at least); ``summary`` for ``sync``."""
    exit: int = 1
    """``check`` exits 0 whenever it reports a CONNECTION_STATUS, FAILED included: Airbyte takes a non-zero
    exit of ``check`` for a crash and would hide the message (see ``cli.status``)."""
    catalog: tuple[str, ...] = ("brands",)
    state: Any = None
    extra: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        return f"{self.command}: {self.problem}"


def matches(template: str, line: str) -> bool:
    """``line`` is ``template`` with each ``…`` standing for any text."""
    pattern = ".*?".join(re.escape(part) for part in template.split("…"))
    return re.fullmatch(pattern, line) is not None


def _bad_json(env: Env) -> bytes:
    return b'{"store_hash": "x",'


def _missing_key(env: Env) -> dict[str, Any]:
    return {key: value for key, value in env.good().items() if key != "access_token"}


BAD_JSON = "Config file '…' is not valid JSON (…)."
MISSING = "The config is missing the required key 'access_token'."
WRONG_TYPE = (
    "Config key 'max_retries' has the wrong type: input should be a valid integer, unable to parse string as "
    "an integer."
)
NOT_A_DATE = (
    "Config key 'start_date' is invalid: start_date 'yesterday' is neither YYYY-MM-DD nor an RFC 3339 "
    "timestamp with a time zone, such as 2024-01-31T00:00:00Z."
)
FUTURE = (
    "start_date 2099-01-01T00:00:00Z is in the future (it is now …); set it to the earliest modification "
    "time to read, which must be in the past."
)
PLAIN_HTTP = (
    "Config key 'api_url' is invalid: api_url 'http://example.com' uses plain http to a non-loopback host; "
    "use https (http is allowed only for localhost, to reach bigcommerce-sandbox)."
)
NO_CONFIG = "Config file '…' does not exist."
MISSPELT = "Config key 'max_concurent_requests' is unknown; did you mean 'max_concurrent_requests'?"
UNKNOWN_STREAM = (
    "Catalog file '…' names stream 'nope', which this connector does not have (it has customers, orders, "
    "transactions, pages, products, channels, store, order_products, brands, categories)."
)
CORRUPT_STATE = "State file '…' is not valid JSON (…); fix it or start without --state."
NEWER_STATE = (
    "State file '…' is not usable: the state of stream 'customers' has state_version 2, written by a newer "
    "source-bigcommerce than this one (which reads 1); upgrade the connector, or remove that stream's state "
    "to read it from start_date."
)
BAD_TOKEN = (
    "BigCommerce rejected the access token (HTTP 401): check access_token and that its API account still "
    "exists for this store."
)
NO_STORE = (
    "BigCommerce knows no store with the hash 'nostore' (HTTP 404): check store_hash (the part after /stores/ "
    "in the API path of your API account)."
)
SKIPPED = tuple(
    f"Stream {stream} was skipped: GET {path} answered 403, so the API account lacks the OAuth scope {scope}; "
    "grant it (read-only is enough) or deselect the stream."
    for stream, path, scope in (
        ("pages", "/v3/content/pages", "store_v2_content_read_only"),
        ("channels", "/v3/channels", "store_channel_settings_read_only"),
    )
)
SCOPES_CHECKED = (
    "Connected, but the API account lacks the scopes store_v2_content_read_only, "
    "store_channel_settings_read_only: the streams pages, channels will be skipped unless they are granted."
)
UNREACHABLE = (
    "Cannot connect to 127.0.0.1:… (Connection refused) after … attempts: check api_url and that this machine "
    "can reach it."
)
UNTRUSTED = (
    "The TLS certificate of 127.0.0.1:… could not be verified (self-signed certificate): check api_url, or "
    "install the certificate authority of your proxy in the system's trust store."
)
NO_POSTGRES = (
    "Cannot connect to postgres postgresql://someone:***@127.0.0.1:…/nowhere: …; check --credentials and that "
    "the server is running."
)
NEWER_STATE_FILE = [
    {
        "type": "STREAM",
        "stream": {
            "stream_descriptor": {"name": "customers"},
            "stream_state": {"date_modified": "2024-01-01T00:00:00Z", "state_version": 2},
        },
    }
]

CASES: list[Case] = [
    # The config file.
    Case("the config file does not exist", "read", lambda env: None, (NO_CONFIG,), "TRACE config_error"),
    Case("the config is not JSON", "read", _bad_json, (BAD_JSON,), "TRACE config_error"),
    Case("the config is not JSON", "check", _bad_json, (BAD_JSON,), "CONNECTION_STATUS FAILED", exit=0),
    Case("the config is not JSON", "discover", _bad_json, (BAD_JSON,), "TRACE config_error"),
    Case("the config is not JSON", "sync", _bad_json, (BAD_JSON,), "-"),
    Case("a required key is missing", "read", _missing_key, (MISSING,), "TRACE config_error"),
    Case(
        "a key is misspelt (the protocol commands log this as a warning and go on)",
        "sync",
        lambda env: env.good(max_concurent_requests=4),
        (MISSPELT,),
        "-",
    ),
    Case(
        "a key has the wrong type",
        "read",
        lambda env: env.good(max_retries="lots"),
        (WRONG_TYPE,),
        "TRACE config_error",
    ),
    Case(
        "start_date is not a date",
        "read",
        lambda env: env.good(start_date="yesterday"),
        (NOT_A_DATE,),
        "TRACE config_error",
    ),
    Case(
        "start_date is in the future",
        "read",
        lambda env: env.good(start_date="2099-01-01"),
        (FUTURE,),
        "TRACE config_error",
    ),
    Case(
        "start_date is in the future",
        "check",
        lambda env: env.good(start_date="2099-01-01"),
        (FUTURE,),
        "CONNECTION_STATUS FAILED",
        exit=0,
    ),
    Case(
        "start_date is in the future",
        "sync",
        lambda env: env.good(start_date="2099-01-01"),
        (FUTURE,),
        "-",
    ),
    Case(
        "api_url is plain http to a host that is not loopback",
        "read",
        lambda env: env.good(api_url="http://example.com"),
        (PLAIN_HTTP,),
        "TRACE config_error",
    ),
    # The catalog and the state.
    Case(
        "the catalog names a stream that does not exist",
        "read",
        lambda env: env.good(),
        (UNKNOWN_STREAM,),
        "TRACE config_error",
        catalog=("nope",),
    ),
    Case(
        "the state file is not JSON",
        "read",
        lambda env: env.good(),
        (CORRUPT_STATE,),
        "TRACE config_error",
        state=b"{not json",
    ),
    Case(
        "the state was written by a newer version (state_version 2)",
        "read",
        lambda env: env.good(),
        (NEWER_STATE,),
        "TRACE config_error",
        state=NEWER_STATE_FILE,
    ),
    # What BigCommerce answers.
    Case(
        "the access token is wrong (401)",
        "read",
        lambda env: env.good(access_token="tok-badinput-WRONG-0000"),
        (BAD_TOKEN,),
        "TRACE config_error",
    ),
    Case(
        "the access token is wrong (401)",
        "check",
        lambda env: env.good(access_token="tok-badinput-WRONG-0000"),
        (BAD_TOKEN,),
        "CONNECTION_STATUS FAILED",
        exit=0,
    ),
    Case(
        "the access token is wrong (401)",
        "sync",
        lambda env: env.good(access_token="tok-badinput-WRONG-0000"),
        (BAD_TOKEN,),
        "-",
    ),
    Case(
        "the store hash is unknown (404)",
        "read",
        lambda env: env.good(store_hash="nostore"),
        (NO_STORE,),
        "TRACE config_error",
    ),
    Case(
        "the store hash is unknown (404)",
        "check",
        lambda env: env.good(store_hash="nostore"),
        (NO_STORE,),
        "CONNECTION_STATUS FAILED",
        exit=0,
    ),
    Case(
        "the token lacks the scopes of some streams (403): those are skipped and named, the rest are read",
        "read",
        lambda env: env.scoped.config,
        (*SKIPPED, "These streams did not sync completely: …."),
        "TRACE config_error",
        catalog=("customers", "pages", "channels", "brands"),
    ),
    Case(
        "the token lacks the scopes of some streams (403)",
        "check",
        lambda env: env.scoped.config,
        (SCOPES_CHECKED,),
        "CONNECTION_STATUS SUCCEEDED",
        exit=0,
    ),
    # The network.
    Case(
        "api_url is a host nobody listens on",
        "read",
        lambda env: env.good(api_url=f"http://127.0.0.1:{env.closed_port}"),
        (UNREACHABLE,),
        "TRACE transient_error",
    ),
    Case(
        "api_url is a host nobody listens on",
        "check",
        lambda env: env.good(api_url=f"http://127.0.0.1:{env.closed_port}"),
        (UNREACHABLE,),
        "CONNECTION_STATUS FAILED",
        exit=0,
    ),
    Case(
        "api_url is a host nobody listens on",
        "sync",
        lambda env: env.good(api_url=f"http://127.0.0.1:{env.closed_port}"),
        (UNREACHABLE,),
        "-",
    ),
    Case(
        "api_url is https with a certificate that does not verify",
        "read",
        lambda env: env.good(api_url=env.tls_url),
        (UNTRUSTED,),
        "TRACE config_error",
    ),
    Case(
        "api_url is https with a certificate that does not verify",
        "check",
        lambda env: env.good(api_url=env.tls_url),
        (UNTRUSTED,),
        "CONNECTION_STATUS FAILED",
        exit=0,
    ),
    Case(
        "the destination refuses the connection (postgres on a closed port)",
        "sync",
        lambda env: env.good(),
        (NO_POSTGRES,),
        "-",
        extra=(
            "--destination",
            "postgres",
            "--credentials",
            "postgresql://someone:hunter2@127.0.0.1:{port}/nowhere",
        ),
    ),
]


def render_table(cases: list[Case] = CASES) -> str:
    """The Markdown table of docs/errors.md."""
    lines = [
        "| What is wrong | Command | Exit | stdout | stderr says |",
        "|---|---|---:|---|---|",
    ]
    for case in cases:
        says = "<br>".join(f"`{sentence}`" for sentence in case.says)
        lines.append(f"| {case.problem} | `{case.command}` | {case.exit} | {case.reports} | {says} |")
    return "\n".join(lines) + "\n"


BEGIN = "<!-- begin: generated by tools/errors_table.py from tests/bad_inputs.py -->\n"
END = "<!-- end: generated -->\n"


def with_table(document: str) -> str:
    """``document`` with the text between :data:`BEGIN` and :data:`END` replaced by the current table."""
    head, _, rest = document.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}{render_table()}{END}{tail}"
