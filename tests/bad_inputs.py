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
from hostile_http import (
    Reply,
    always,
    big_records,
    deep_page,
    endless,
    gzip_bomb,
    in_turn,
    raw_reply,
    v3_page,
    windowed,
)
from source_bigcommerce.streams import STREAMS

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
    locked_duckdb: str
    """A DuckDB file another process holds open."""

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
USERINFO = (
    "Config key 'api_url' is invalid: api_url 'http://…@127.0.0.1:…' carries a user name or password before the "
    "host; remove it (the access token goes in access_token)."
)
QUERY = (
    "Config key 'api_url' is invalid: api_url 'http://127.0.0.1:…/?store=abc' has a query (?...) or a fragment "
    "(#...); give the base URL alone, such as https://api.bigcommerce.com."
)
QUERY_TOKEN = (
    "Config key 'api_url' is invalid: api_url 'http://127.0.0.1:…/?access_token=[access token]' has a query (?...) "
    "or a fragment (#...); give the base URL alone, such as https://api.bigcommerce.com."
)
SPACE = "Config key 'api_url' is invalid: api_url 'http://127.0.0.1:… ' holds a space or a control character; remove it."
PATH_HASH = (
    "Config key 'store_hash' is invalid: store_hash '../sandbox' is not a store hash, which is letters and digits "
    "only, such as 17hoqh4ddx (the part after /stores/ in the API path of your API account)."
)
CONTROL_TOKEN = (
    "Config key 'access_token' is invalid: the token holds a control character (a line break or a tab, say), "
    "which no access token has; copy it again without it."
)
NO_CONFIG = "Config file '…' does not exist."
MISSPELT = "Config key 'max_concurent_requests' is unknown; did you mean 'max_concurrent_requests'?"
UNKNOWN_STREAM = (
    "Catalog file '…' names stream 'nope', which this connector does not have (it has "
    f"{', '.join(spec.name for spec in STREAMS)})."
)
CORRUPT_STATE = "State file '…' is not valid JSON (…); fix it or start without --state."
NEWER_STATE = (
    "State file '…' is not usable: the state of stream 'customers' has state_version 2, written by a newer "
    "source-bigcommerce than this one (which reads 1); upgrade the connector, or remove that stream's state "
    "to read it from start_date."
)
FUTURE_CURSOR = (
    "The state of stream 'customers' has its cursor at 2099-01-01T00:00:00Z, after this sync's start … on "
    "BigCommerce's clock, so reading from it would skip what changes until then; fix or remove that stream's "
    "state, or read the stream again from start_date (sync --full-refresh)."
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
    "store_channel_settings_read_only: the streams pages, channels, channel_listings, sites will be skipped "
    "unless they are granted."
)
UNREACHABLE = (
    "Cannot connect to 127.0.0.1:… (Connection refused) after … attempts: check api_url and that this machine "
    "can reach it."
)
UNTRUSTED = (
    "The TLS certificate of 127.0.0.1:… could not be verified (self-signed certificate): check api_url, or "
    "install the certificate authority of your proxy in the system's trust store."
)
LOCKED_DUCKDB = (
    "The DuckDB file … could not be opened or written (IO Error: Could not set lock on file …: Conflicting lock is "
    "held in … (PID …)…); if another process has it open, close that process, then run the sync again."
)
NO_WORKING_DIR = (
    "dlt's working directory /dev/null/duckdb-… cannot be used (Not a directory); pass --pipelines-dir with a "
    "directory this user can write, or fix DLT_DATA_DIR."
)
NOT_UTF8 = "--dataset 'shop\\udcff' holds bytes that are not UTF-8 text; give it in UTF-8."
BAD_PORT = (
    "--credentials is not a URL whose host and port can be read (Port could not be cast to integer value as "
    "'notaport'); write it as postgresql://user:password@host:5432/database."
)
NO_POSTGRES = (
    "Cannot connect to postgres postgresql://someone:***@127.0.0.1:…/nowhere: …; check --credentials and that "
    "the server is running."
)
FUTURE_STATE_FILE = [
    {
        "type": "STREAM",
        "stream": {
            "stream_descriptor": {"name": "customers"},
            "stream_state": {"date_modified": "2099-01-01T00:00:00Z", "state_version": 1},
        },
    }
]
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
    Case(
        "api_url carries a user name and password (http://someone:hunter2@...)",
        "read",
        lambda env: env.good(api_url=env.store.url.replace("http://", "http://someone:hunter2@")),
        (USERINFO,),
        "TRACE config_error",
    ),
    Case(
        "api_url carries a user name and password (http://someone:hunter2@...)",
        "check",
        lambda env: env.good(api_url=env.store.url.replace("http://", "http://someone:hunter2@")),
        (USERINFO,),
        "CONNECTION_STATUS FAILED",
        exit=0,
    ),
    Case(
        "api_url has a query",
        "read",
        lambda env: env.good(api_url=f"{env.store.url}/?store=abc"),
        (QUERY,),
        "TRACE config_error",
    ),
    Case(
        "api_url carries the access token in its query (the sentence shows it blanked)",
        "read",
        lambda env: env.good(api_url=f"{env.store.url}/?access_token={SECRET}"),
        (QUERY_TOKEN,),
        "TRACE config_error",
    ),
    Case(
        "api_url carries the access token in its query (the sentence shows it blanked)",
        "check",
        lambda env: env.good(api_url=f"{env.store.url}/?access_token={SECRET}"),
        (QUERY_TOKEN,),
        "CONNECTION_STATUS FAILED",
        exit=0,
    ),
    Case(
        "api_url carries the access token in its query (the sentence shows it blanked)",
        "sync",
        lambda env: env.good(api_url=f"{env.store.url}/?access_token={SECRET}"),
        (QUERY_TOKEN,),
        "-",
    ),
    Case(
        "api_url ends in a space",
        "read",
        lambda env: env.good(api_url=f"{env.store.url} "),
        (SPACE,),
        "TRACE config_error",
    ),
    Case(
        "store_hash climbs out of its path segment (../)",
        "read",
        lambda env: env.good(store_hash="../sandbox"),
        (PATH_HASH,),
        "TRACE config_error",
    ),
    Case(
        "store_hash climbs out of its path segment (../)",
        "check",
        lambda env: env.good(store_hash="../sandbox"),
        (PATH_HASH,),
        "CONNECTION_STATUS FAILED",
        exit=0,
    ),
    Case(
        "access_token ends in a line break",
        "read",
        lambda env: env.good(access_token=SECRET + "\n"),
        (CONTROL_TOKEN,),
        "TRACE config_error",
    ),
    Case(
        "access_token ends in a line break",
        "check",
        lambda env: env.good(access_token=SECRET + "\n"),
        (CONTROL_TOKEN,),
        "CONNECTION_STATUS FAILED",
        exit=0,
    ),
    Case(
        "access_token ends in a line break",
        "sync",
        lambda env: env.good(access_token=SECRET + "\n"),
        (CONTROL_TOKEN,),
        "-",
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
        catalog=("customers",),  # a stream not read incrementally is not read from its state
        state=NEWER_STATE_FILE,
    ),
    Case(
        "the state's cursor is after the sync's start (on BigCommerce's clock): that stream fails, the rest are "
        "read",
        "read",
        lambda env: env.good(),
        (FUTURE_CURSOR, "These streams did not sync completely: …."),
        "TRACE config_error",
        catalog=("customers", "brands"),
        state=FUTURE_STATE_FILE,
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
        "the DuckDB file is open in another process",
        "sync",
        lambda env: env.good(),
        (LOCKED_DUCKDB,),
        "-",
        extra=("--credentials", "{locked}"),
    ),
    Case(
        "--pipelines-dir is a file, not a directory",
        "sync",
        lambda env: env.good(),
        (NO_WORKING_DIR,),
        "-",
        extra=("--pipelines-dir", "/dev/null"),
    ),
    Case(
        "--dataset holds bytes that are not UTF-8",
        "sync",
        lambda env: env.good(),
        (NOT_UTF8,),
        "-",
        extra=("--dataset", "shop\udcff"),
    ),
    Case(
        "the postgres URL's port is not a number",
        "sync",
        lambda env: env.good(),
        (BAD_PORT,),
        "-",
        extra=(
            "--destination",
            "postgres",
            "--credentials",
            "postgresql://someone:hunter2@127.0.0.1:notaport/db",
        ),
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


# -- what a server sends ------------------------------------------------------------------------------------

MAX_RSS_MB = 256
"""The most memory (the child's ru_maxrss) a run may take whatever the server sends: about 40 MB of
interpreter and libraries, plus one response of the default max_response_mb (64 MB) as it grows. Before
the limits, a gzip bomb took a read to 4 GB and an endless body to 11 GB."""
SYNC_MAX_RSS_MB = 320
"""The same for ``sync``, which also holds dlt, pyarrow and two DuckDB instances: its cases below took 80-190 MB.
Before the limits, 2,000 records of 1 MB took a sync to 8.5 GB."""
HUGE_RESET = {
    "X-Rate-Limit-Requests-Left": "0",
    "X-Rate-Limit-Time-Reset-Ms": str(10**12),
    "X-Rate-Limit-Requests-Quota": "150",
    "X-Rate-Limit-Time-Window-Ms": "200",
}
"""Rate-limit headers announcing a reset in 10^9 s, in a window of 0.2 s."""
ONE_BRAND = v3_page([{"id": 1, "name": "Sagaform"}])
CAPPED_RESET = (
    "The API announced a rate-limit reset in 1000000000.0 s, longer than its window of 0.2 s; the connector "
    "waits 0.2 s at most instead."
)
RETRY_AFTER = (
    "GET /v3/catalog/brands was told to retry after 99999999 s (Retry-After), longer than one request may wait "
    "(300 s); it was not retried."
)
TOO_LARGE = (
    "GET /v3/catalog/brands answered with a body larger than 64 MB (max_response_mb); raise max_response_mb if "
    "this store's pages really are that large."
)
BOMB = (
    "GET /v3/catalog/brands answered with a body larger than 64 MB once decompressed (max_response_mb); raise "
    "max_response_mb if this store's pages really are that large."
)
TOO_MANY_VALUES = (
    "GET /v3/catalog/brands answered with a body of more than 8,388,608 JSON values, more than max_response_mb "
    "(64 MB) allows; raise max_response_mb if this store's pages really are that large."
)
HUGE_RECORD = (
    "GET /v3/catalog/brands answered with a record (id 1) of 21 MB, more than the 20 MB one record may have; "
    "its stream stops before it."
)
TOO_DEEP = (
    "brands: record 1 cannot be written as JSON: it is nested more than 254 levels deep; the stream stops "
    "before it."
)
NO_ID = "brands: a record came without its id, which tells records apart; the stream stops before it."
ECHOED = "GET /v3/… failed with HTTP 422: Token [access token] is not valid here."
INCOMPLETE = "These streams did not sync completely: brands."
INCOMPLETE_CUSTOMERS = "These streams did not sync completely: customers."
STORE_SHAPE = "GET /v2/store answered with a JSON str, not its object."
NOT_LOADED = "These streams did not load completely: …."
HUGE_AMOUNT = (
    "products record 1: field 'price' holds the amount '1e999999', which a decimal(38, 9) column cannot hold; the "
    "stream stops before it."
)
HUGE_ID = (
    "brands record 9223372036854775808: field 'id' holds 9223372036854775808, beyond the 64-bit whole numbers its "
    "column holds; the stream stops before it."
)
HUGE_FLOAT = (
    "products record 1: field 'brand_id' holds 1e+21, beyond the 64-bit whole numbers its column holds; the stream "
    "stops before it."
)
NUL = (
    "brands record 1: field 'name' holds a NUL character (\\u0000), which Postgres cannot store in text or jsonb; "
    "the stream stops before it."
)
A_CHANNEL = {
    "id": 1,
    "name": "Shop",
    "date_created": "2024-01-01T00:00:00Z",
    "date_modified": "2024-02-01T00:00:00Z",
}
A_PRODUCT = {"id": 1, "name": "Mug", "price": "12.5000", "date_modified": "2024-02-01T00:00:00Z"}


@dataclass(frozen=True)
class Served:
    """Something a server sends that BigCommerce never should: ``routes`` (API path -> reply) script the
    hostile server of tests/hostile_http.py, and the connector must still end in bounded time and memory,
    saying :attr:`says` and never the token. ``tests/e2e/test_hostile_server.py`` runs each one."""

    problem: str
    command: str
    routes: Callable[[], dict[str, Reply]]
    """Built afresh for each run: some replies count the requests they answered."""
    says: tuple[str, ...]
    reports: str
    exit: int = 1
    catalog: tuple[str, ...] = ("brands",)
    completes: tuple[str, ...] = ()
    """Streams that must still end COMPLETE, with their records."""
    logs: tuple[str, ...] = ()
    """LOG messages the run must write on stdout."""
    destination: str = "duckdb"
    """Where ``sync`` loads."""

    @property
    def id(self) -> str:
        return f"{self.command}: {self.problem}"


SERVED: list[Served] = [
    Served(
        "a 429 announces a rate-limit reset in 10^9 s",
        "read",
        lambda: {"/v3/catalog/brands": in_turn(always({}, 429, HUGE_RESET), always(ONE_BRAND))},
        (),
        "RECORD, LOG WARN",
        exit=0,
        completes=("brands",),
        logs=(CAPPED_RESET,),
    ),
    Served(
        "every answer has 0 requests left and a reset in 10^9 s",
        "read",
        lambda: {"/v3/catalog/brands": always(ONE_BRAND, headers=HUGE_RESET)},
        (),
        "RECORD, LOG WARN",
        exit=0,
        completes=("brands",),
        logs=(CAPPED_RESET,),
    ),
    Served(
        "a 429 without rate-limit headers says Retry-After: 99999999 (the other streams go on)",
        "read",
        lambda: {
            "/v3/catalog/brands": always({}, 429, {"Retry-After": "99999999"}),
            "/v3/catalog/categories": always(v3_page([{"id": 1, "name": "Kitchen"}])),
        },
        (RETRY_AFTER, INCOMPLETE),
        "TRACE transient_error",
        catalog=("brands", "categories"),
        completes=("categories",),
    ),
    Served(
        "a list says its total is -3",
        "read",
        lambda: {"/v3/catalog/brands": always(v3_page([], total=-3))},
        ("GET /v3/catalog/brands answered a meta.pagination.total of -3, below zero.", INCOMPLETE),
        "TRACE system_error",
    ),
    Served(
        "a list read by date answers 204 No Content",
        "read",
        lambda: {"/v3/customers": raw_reply(b"", {}, status=204)},
        (
            "GET /v3/customers answered without meta.pagination, which tells where its list ends.",
            INCOMPLETE_CUSTOMERS,
        ),
        "TRACE system_error",
        catalog=("customers",),
    ),
    Served(
        "a list's meta.pagination is a string, not an object",
        "read",
        lambda: {
            "/v3/catalog/brands": always(
                {"data": [{"id": 1, "name": "Sagaform"}], "meta": {"pagination": "1"}}
            )
        },
        ("GET /v3/catalog/brands answered a meta.pagination that is a JSON str, not an object.", INCOMPLETE),
        "TRACE system_error",
    ),
    Served(
        "a channel's listings hold a string, not a record (the channels still load)",
        "read",
        lambda: {
            "/v3/channels": always(v3_page([A_CHANNEL])),
            "/v3/channels/1/listings": always(v3_page(["not a listing"])),
        },
        (
            "channel_listings: a record is a JSON str, not an object; the stream stops before it.",
            "These streams did not sync completely: channel_listings.",
        ),
        "TRACE system_error",
        catalog=("channels", "channel_listings"),
        completes=("channels",),
    ),
    Served(
        "/v2/store answers 200 with a JSON string, not the store's object",
        "read",
        lambda: {"/v2/store": always("hello")},
        (STORE_SHAPE, "These streams did not sync completely: store."),
        "TRACE system_error",
        catalog=("store",),
    ),
    Served(
        "a 2 MB gzip body expands to 2 GB",
        "read",
        lambda: {"/v3/catalog/brands": raw_reply(gzip_bomb(2), {"Content-Encoding": "gzip"})},
        (BOMB, INCOMPLETE),
        "TRACE system_error",
    ),
    Served(
        "a chunked body never ends",
        "read",
        lambda: {"/v3/catalog/brands": endless()},
        (TOO_LARGE, INCOMPLETE),
        "TRACE system_error",
    ),
    Served(
        "a 64 MB body of 22 million empty objects (2 GB once parsed)",
        "read",
        lambda: {"/v3/catalog/brands": raw_reply(b'{"data": [' + b"{}," * 22_000_000 + b"{}]}", {})},
        (TOO_MANY_VALUES, INCOMPLETE),
        "TRACE system_error",
    ),
    Served(
        "pages of 250 records of 1 MB (2,000 records in all)",
        "read",
        lambda: {"/v3/catalog/brands": big_records(250, 1 << 20, total=2000)},
        (TOO_LARGE, INCOMPLETE),
        "TRACE system_error",
    ),
    Served(
        "a record of 21 MB",
        "read",
        lambda: {"/v3/catalog/brands": big_records(1, 21 << 20, total=1)},
        (HUGE_RECORD, INCOMPLETE),
        "TRACE system_error",
    ),
    Served(
        "a record nested 300 levels deep",
        "read",
        lambda: {"/v3/catalog/brands": raw_reply(deep_page(300), {})},
        (TOO_DEEP, INCOMPLETE),
        "TRACE system_error",
    ),
    Served(
        "a record nested 1,000 levels deep",
        "read",
        lambda: {"/v3/catalog/brands": raw_reply(deep_page(1000), {})},
        (TOO_DEEP, INCOMPLETE),
        "TRACE system_error",
    ),
    Served(
        "a record without an id",
        "read",
        lambda: {"/v3/catalog/brands": always(v3_page([{"name": "no id"}]))},
        (NO_ID, INCOMPLETE),
        "TRACE system_error",
    ),
    Served(
        "an error body quotes the access token back",
        "read",
        lambda: {"/v3/catalog/brands": always({"title": f"Token {SECRET} is not valid here"}, 422)},
        (ECHOED, INCOMPLETE),
        "TRACE system_error",
    ),
    Served(
        "an error body quotes the access token back",
        "sync",
        lambda: {"/v3/catalog/brands": always({"title": f"Token {SECRET} is not valid here"}, 422)},
        (ECHOED, NOT_LOADED),
        "summary",
    ),
    Served(
        "a record nested 300 levels deep",
        "sync",
        lambda: {"/v3/catalog/brands": raw_reply(deep_page(300), {})},
        (TOO_DEEP, NOT_LOADED),
        "summary",
    ),
    Served(
        "a record nested 1,000 levels deep",
        "sync",
        lambda: {"/v3/catalog/brands": raw_reply(deep_page(1000), {})},
        (TOO_DEEP, NOT_LOADED),
        "summary",
    ),
    Served(
        "a money value of 1e999999 (no decimal column holds it)",
        "sync",
        lambda: {"/v3/catalog/products": windowed([{**A_PRODUCT, "price": "1e999999"}])},
        (HUGE_AMOUNT, NOT_LOADED),
        "summary",
        catalog=("products",),
    ),
    Served(
        "an id of 2^63 (no bigint column holds it)",
        "sync",
        lambda: {"/v3/catalog/brands": always(v3_page([{"id": 1 << 63, "name": "Sagaform"}]))},
        (HUGE_ID, NOT_LOADED),
        "summary",
    ),
    Served(
        "a whole-number field of 10^21, which JSON parsers read as a float (no bigint column holds it)",
        "sync",
        lambda: {"/v3/catalog/products": windowed([{**A_PRODUCT, "brand_id": 1e21}])},
        (HUGE_FLOAT, NOT_LOADED),
        "summary",
        catalog=("products",),
    ),
    Served(
        "a NUL character in a value (Postgres stores none)",
        "sync",
        lambda: {"/v3/catalog/brands": always(v3_page([{"id": 1, "name": "Saga\x00form"}]))},
        (NUL, NOT_LOADED),
        "summary",
        destination="postgres",
    ),
    Served(
        "pages of 250 records of 1 MB (2,000 records in all)",
        "sync",
        lambda: {"/v3/catalog/brands": big_records(250, 1 << 20, total=2000)},
        (TOO_LARGE, NOT_LOADED),
        "summary",
    ),
    Served(
        "a record of 21 MB",
        "sync",
        lambda: {"/v3/catalog/brands": big_records(1, 21 << 20, total=1)},
        (HUGE_RECORD, NOT_LOADED),
        "summary",
    ),
    Served(
        "an error body quotes the access token back",
        "check",
        lambda: {"/v3/customers": always({"title": f"Token {SECRET} is not valid here"}, 422)},
        (ECHOED,),
        "CONNECTION_STATUS FAILED",
        exit=0,
    ),
]


FIXED: dict[str, Callable[[], dict[str, Reply]]] = {
    "brands": lambda: {"/v3/catalog/brands": always(ONE_BRAND)},
    "products": lambda: {"/v3/catalog/products": windowed([A_PRODUCT])},
}
"""What a server that behaves answers, per stream: a sync after a hostile one must load it."""


def render_table(cases: list[Case] | list[Served]) -> str:
    """A Markdown table of docs/errors.md."""
    lines = [
        "| What is wrong | Command | Exit | stdout | stderr says |",
        "|---|---|---:|---|---|",
    ]
    for case in cases:
        says = "<br>".join(f"`{sentence}`" for sentence in case.says)
        stdout = "<br>".join([case.reports, *(f"`{log}`" for log in getattr(case, "logs", ()))])
        lines.append(f"| {case.problem} | `{case.command}` | {case.exit} | {stdout} | {says} |")
    return "\n".join(lines) + "\n"


BEGIN = "<!-- begin: generated by tools/errors_table.py from tests/bad_inputs.py -->\n"
BEGIN_SERVED = "<!-- begin: generated by tools/errors_table.py from tests/bad_inputs.py SERVED -->\n"
END = "<!-- end: generated -->\n"


def with_table(document: str) -> str:
    """``document`` with the text after :data:`BEGIN` (and after :data:`BEGIN_SERVED`), up to :data:`END`,
    replaced by the current table of :data:`CASES` (and of :data:`SERVED`)."""
    for begin, cases in ((BEGIN, CASES), (BEGIN_SERVED, SERVED)):
        head, found, rest = document.partition(begin)
        if found:
            _, _, tail = rest.partition(END)
            document = f"{head}{begin}{render_table(cases)}{END}{tail}"
    return document
