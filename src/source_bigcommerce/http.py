"""The HTTP client: one aiohttp session per store, the auth header, classification of every outcome, and
bounded retries.

What happens to a response is decided by one table (:data:`OUTCOMES`), in the manner of Airbyte's
``DEFAULT_ERROR_MAPPING``: success, retry after a pause, wait for the rate-limit reset, or fail with a
sentence for the user. The pause before a retry grows exponentially and every wait is logged with its
reason. Retries are bounded in count (``max_retries``) and in time (``MAX_RETRY_SECONDS``: no retry starts
whose pause would pass it). A 429 with rate-limit headers is bounded separately (``MAX_RATE_LIMITED``),
because waiting for the store's window is not a failure; a 429 without them is platform load, held by the
governor for every request and counted as a retry like a 5xx.

A host that cannot be reached at all raises :class:`Unreachable`, which ends the whole read in one
sentence rather than failing each stream after minutes of retries; a certificate that fails verification
raises :class:`Untrusted` at once.

Messages are built from the method, path and status only: the access token travels in a header and
appears in no message, log or exception. TLS certificates are always verified for https.
"""

from __future__ import annotations

import asyncio
import enum
import os
import socket
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import orjson

from source_bigcommerce import __version__
from source_bigcommerce.config import DEFAULT_MAX_RESPONSE_MB, MB
from source_bigcommerce.errors import MIN_REDACTED, ConfigError, ConnectorError, TransientError
from source_bigcommerce.lanes import Lanes, lane_of
from source_bigcommerce.protocol import LogLevel
from source_bigcommerce.ratelimit import PLATFORM_BACKOFF_S, Clock, Governor, Quota, Sleep
from source_bigcommerce.tls import client_context, import_without_trust_store

# aiohttp's import-time TLS contexts would parse the CA bundle for nothing; make_session brings its own.
with import_without_trust_store("aiohttp"):
    import aiohttp

Log = Callable[[LogLevel, str], None]
"""``log(level, message)``: where the client reports waits and retries (LOG messages, or stderr)."""

BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
"""Pause before the 1st, 2nd, ... retry of one request; the last value repeats."""
MAX_RETRY_SECONDS = 300.0
"""No request keeps retrying server errors for longer than this, whatever ``max_retries`` allows."""
MAX_RATE_LIMITED = 40
"""429s one request may meet before its stream fails: 40 Standard-plan windows is 20 minutes of waiting, and
no wait is longer than ``ratelimit.MAX_WINDOW_S`` (40 minutes in all, whatever a server announces)."""
MAX_RECORD_BYTES = 20 * MB
"""The largest record a stream may deliver, written as JSON: Airbyte Cloud's limit for one record ("Size of
a single record: 20MB", docs.airbyte.com, Airbyte Cloud limits). No BigCommerce record comes near it."""
BYTES_PER_VALUE = 8
"""A body may hold one JSON value per this many bytes of ``max_response_mb`` (estimated by
:func:`json_values`), and at least :data:`MIN_VALUES`. Parsed, a value costs 30 to 60 bytes of Python objects
(an empty object 64), so a body of ``{},{},...`` took 24 times its size: 2 GB for 64 MB, a read's memory
bound many times over. BigCommerce's pages run at about one value per 13 bytes (4.5 times their size parsed);
at most one per 8 bytes keeps any body near that, and an honest page meets the byte limit first."""
MIN_VALUES = 100_000
"""Values a body may always hold, whatever ``max_response_mb``: 250 records of 400 values."""
MAX_SHOWN_CHARS = 200
"""How much of an error body's title or message a sentence quotes."""
REDACTED_TEXT = "[access token]"
"""What stands in a server's text where it quoted the access token back."""


class Outcome(enum.Enum):
    OK = "ok"
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    FAIL = "fail"


OUTCOMES: Mapping[int, Outcome] = {
    200: Outcome.OK,
    204: Outcome.OK,
    401: Outcome.UNAUTHORIZED,
    403: Outcome.FORBIDDEN,
    404: Outcome.NOT_FOUND,
    408: Outcome.RETRY,
    429: Outcome.RATE_LIMITED,
    500: Outcome.RETRY,
    502: Outcome.RETRY,
    # BigCommerce answers 503 when the store is down for maintenance and on transactions when its payment
    # service is unavailable (bigcommerce/docs PR #732); both pass.
    503: Outcome.RETRY,
    504: Outcome.RETRY,
    520: Outcome.RETRY,
    522: Outcome.RETRY,
    524: Outcome.RETRY,
}
"""Statuses not listed fail their request: another 4xx is a request we should not have made."""


class ApiError(ConnectorError):
    """A response that retrying will not change."""

    def __init__(self, message: str, status: int, path: str) -> None:
        super().__init__(message)
        self.status = status
        self.path = path


class Unauthorized(ApiError, ConfigError):
    """401: the token is wrong or revoked. Nothing can be read; the whole run stops."""


class Forbidden(ApiError, ConfigError):
    """403: the API account lacks the endpoint's OAuth scope; the stream is skipped and named."""


class NotFound(ApiError, ConfigError):
    """404: an unknown store (at the first request) or a record gone since it was listed."""


class Unreachable(TransientError):
    """No connection to the API could be made, through every retry: a wrong ``api_url`` or no network."""


class Untrusted(ConfigError):
    """The server's TLS certificate failed verification; retrying cannot help and it is never skipped."""


class TooLarge(ConnectorError):
    """A response body beyond ``max_response_mb``, or a record beyond :data:`MAX_RECORD_BYTES`: its stream
    fails at once, as asking again would bring the same bytes back."""


class HeavyPage(TransientError):
    """A list page answered 500 or timed out, and its caller would rather ask for it in smaller pages than
    retry it as it is: BigCommerce advises a smaller ``limit`` for an expensive call that fails so
    (docs/start/about/status-codes.mdx, 500). Raised only for requests made with ``shrinkable=True``."""


UNREACHABLE_REMEDY = "check api_url and that this machine can reach it"


@dataclass(frozen=True)
class Pauses:
    """The waits before retries, injectable so tests drive every fault path in milliseconds."""

    retry: Sequence[float] = BACKOFF_S
    """Before the 1st, 2nd, ... retry after a server error, a timeout or a broken connection."""
    platform: Sequence[float] = PLATFORM_BACKOFF_S
    """After consecutive 429s without rate-limit headers (the governor holds every request this long)."""


DEFAULT_PAUSES = Pauses()


class Breaker:
    """Shared by requests that fail together - every ``/v3/orders/{id}/transactions`` answers 503 while
    BigCommerce's payment service is down - so that they retry one at a time.

    The first of them to need a retry becomes the probe and holds the breaker while it retries; the others
    wait, before their next attempt (and before a first attempt not yet sent), for its verdict. If the probe
    gets through, they go on; if it gives up, the breaker trips and they all fail at once with its error.
    A whole stream's outage so costs one request's retries and the requests already in flight, instead of
    every request's retries, paid from the store's quota that the other streams share.
    """

    def __init__(self) -> None:
        self._probe = asyncio.Lock()
        self.tripped: ConnectorError | None = None

    @property
    def probing(self) -> bool:
        return self._probe.locked()

    async def verdict(self) -> None:
        """Wait while another request probes; raise its error if it gave up."""
        while self._probe.locked():
            async with self._probe:
                pass
        if self.tripped is not None:
            raise self.tripped


class _Gated:
    """An attempt not sent: another request is probing the same breaker."""


_GATED = _Gated()


@dataclass(frozen=True)
class Response:
    status: int
    body: Any
    """Parsed JSON, or None for 204 and empty bodies."""
    date: str | None
    """The ``Date`` header: BigCommerce's clock, which the engine uses to pin the sync's start."""

    def server_time(self) -> int | None:
        """The ``Date`` header as epoch seconds, or None when absent or unreadable."""
        if not self.date:
            return None
        try:
            return int(parsedate_to_datetime(self.date).timestamp())
        except (TypeError, ValueError):
            return None


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    heavy_pages: int = 0
    """List pages that answered 500 or timed out and were asked for again in smaller pages (HeavyPage)."""


class Client:
    """GETs against one store's API, through the governor, at most ``concurrency`` at a time, shared fairly
    between endpoints (:mod:`source_bigcommerce.lanes`)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_url: str,
        store_hash: str,
        token: str,
        governor: Governor,
        concurrency: int,
        timeout_s: float,
        max_retries: int,
        clock: Clock,
        sleep: Sleep,
        log: Log,
        backoff: Sequence[float] = BACKOFF_S,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_MB * MB,
    ) -> None:
        """``backoff`` replaces :data:`BACKOFF_S`, the pauses before retries (tests use milliseconds);
        ``max_response_bytes`` is the largest body read, counted after decompression."""
        self._session = session
        self._base = f"{api_url.rstrip('/')}/stores/{store_hash}"
        self._headers = {
            "X-Auth-Token": token,
            "Accept": "application/json",
            "User-Agent": f"source-bigcommerce/{__version__}",
        }
        self._token = token
        self._max_response = max_response_bytes
        self._governor = governor
        self._slots = Lanes(concurrency)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_retries = max_retries
        self._clock = clock
        self._sleep = sleep
        self._log = log
        self._backoff = tuple(backoff) or BACKOFF_S
        self.stats = ClientStats()

    @property
    def governor(self) -> Governor:
        return self._governor

    async def get(
        self,
        api: str,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        max_retries: int | None = None,
        breaker: Breaker | None = None,
        shrinkable: bool = False,
    ) -> Response:
        """GET ``/{api}{path}``; retries what can pass, raises :class:`ApiError` or TransientError otherwise.

        Requests given one :class:`Breaker` retry one at a time and give up together. A ``shrinkable`` list
        page that answers 500 or times out raises :class:`HeavyPage` at once instead of being retried.
        """
        if breaker is None:
            return await self._get(api, path, params, max_retries, None, shrinkable)
        probe = _Probe(breaker)
        try:
            return await self._get(api, path, params, max_retries, probe, shrinkable)
        except (TransientError, Untrusted) as error:
            if probe.holding:
                breaker.tripped = error
            raise
        finally:
            probe.release()

    async def _get(
        self,
        api: str,
        path: str,
        params: Mapping[str, str] | None,
        max_retries: int | None,
        probe: _Probe | None,
        shrinkable: bool = False,
    ) -> Response:
        where = f"GET /{api}{path}"
        url = f"{self._base}/{api}{path}"
        lane = lane_of(api, path)
        retries_allowed = self._max_retries if max_retries is None else max_retries
        failures = 0
        rate_limited = 0
        started = self._clock()
        while True:
            if probe is not None and not probe.holding:
                await probe.breaker.verdict()
            result = await self._attempt(url, params, where, lane, probe)
            if isinstance(result, Response):
                return result
            if isinstance(result, _Gated):
                continue
            if not isinstance(result, _Failed):  # a 429 with headers, already waited for
                rate_limited += 1
                if rate_limited > MAX_RATE_LIMITED:
                    raise TransientError(
                        f"{where} was still rate limited (429) after {MAX_RATE_LIMITED} waits for the quota "
                        "to reset; another app may be using the store's whole quota."
                    )
                continue
            if shrinkable and result.heavy:
                self.stats.heavy_pages += 1
                raise HeavyPage(f"{where}: {result.reason}")
            failures += 1
            # A 429 without headers is already held by the governor, for every request: no second wait,
            # unless the server asked this request for a longer one.
            pause = (
                result.held
                if result.held is not None
                else self._backoff[min(failures, len(self._backoff)) - 1]
            )
            if result.after is not None:
                pause = max(pause, result.after)
            if failures > retries_allowed or self._clock() - started + pause > MAX_RETRY_SECONDS:
                if result.unreachable:
                    raise Unreachable(
                        f"C{result.reason[1:]} after {failures} attempts: {UNREACHABLE_REMEDY}."
                    )
                if result.after is not None and failures <= retries_allowed:
                    if result.after > MAX_RETRY_SECONDS:
                        raise TransientError(
                            f"{where} was told to retry after {result.after:.0f} s (Retry-After), longer than "
                            f"one request may wait ({MAX_RETRY_SECONDS:g} s); it was not retried."
                        )
                    # A wait within the budget, but not on top of those already spent: say what was.
                    raise TransientError(
                        f"{where} was told to retry after {result.after:.0f} s (Retry-After) after "
                        f"{failures} attempts over {self._clock() - started:.0f} s, which would pass the "
                        f"{MAX_RETRY_SECONDS:g} s one request may take; it was not retried again."
                    )
                raise TransientError(f"{where} failed after {failures} attempts: {result.reason}.")
            self.stats.retries += 1
            if probe is not None and not probe.holding and not await probe.take():
                self._log(
                    "WARN",
                    f"{where}: {result.reason}; retry {failures} of {retries_allowed} once the request "
                    "already retrying the same failure gets through.",
                )
                continue
            self._log(
                "WARN", f"{where}: {result.reason}; retry {failures} of {retries_allowed} in {pause:.3g} s."
            )
            if pause > (result.held or 0.0):
                await self._sleep(pause)

    async def _attempt(
        self, url: str, params: Mapping[str, str] | None, where: str, lane: str, probe: _Probe | None = None
    ) -> Response | Literal[Outcome.RATE_LIMITED] | _Failed | _Gated:
        """One try: the Response, RATE_LIMITED (already waited for), why it should be retried, or _GATED
        when another request started probing the breaker while this one waited for a slot."""
        async with self._slots.slot(lane):
            if probe is not None and not probe.holding and probe.breaker.probing:
                return _GATED
            await self._governor.acquire()
            try:
                return await self._exchange(url, params, where)
            finally:
                self._governor.release()

    async def _exchange(
        self, url: str, params: Mapping[str, str] | None, where: str
    ) -> Response | Literal[Outcome.RATE_LIMITED] | _Failed:
        """The request and what its answer means; the caller holds a slot and the governor's permission."""
        self.stats.requests += 1
        sent_at = self._clock()
        try:
            async with self._session.get(
                url, params=params, headers=self._headers, timeout=self._timeout, allow_redirects=False
            ) as resp:
                received_at = self._clock()
                status = resp.status
                headers = resp.headers
                raw = await _read_within(resp, self._max_response)
        except asyncio.TimeoutError:
            return _Failed(f"no complete answer within {self._timeout.total:g} s", heavy=True)
        except aiohttp.ClientConnectorCertificateError as exc:
            raise Untrusted(
                f"The TLS certificate of {exc.host}:{exc.port} could not be verified "
                f"({_ssl_reason(exc.certificate_error)}): check api_url, or install the certificate "
                "authority of your proxy in the system's trust store."
            ) from None
        except aiohttp.ClientConnectorError as exc:
            return _Failed(
                f"cannot connect to {exc.host}:{exc.port} ({_os_reason(exc.os_error)})", unreachable=True
            )
        except aiohttp.ClientPayloadError as exc:
            reset = isinstance(exc.__cause__, ConnectionResetError) or "reset" in str(exc).lower()
            return _Failed(
                "the connection was reset mid-body" if reset else "the response body was cut short"
            )
        except aiohttp.ServerDisconnectedError:
            return _Failed("the server closed the connection")
        except aiohttp.ClientError as exc:
            return _Failed(f"connection error ({type(exc).__name__})")
        self.stats.statuses[status] += 1
        outcome = OUTCOMES.get(status, Outcome.FAIL)
        if outcome is Outcome.RATE_LIMITED:
            pause = self._governor.rate_limited(sent_at, received_at, headers)
            if Quota.from_headers(headers) is None:
                # Platform load, not the store's quota (bigcommerce/docs PR #325): a retry like a 5xx. A
                # Retry-After holds this request only; the governor holds the others for its own backoff.
                return _Failed(
                    "HTTP 429 without rate-limit headers (BigCommerce is under load)",
                    held=pause,
                    after=_retry_after(headers),
                )
            self._log(
                "INFO", f"{where}: rate limited (429); every request waits {pause:.1f} s for the quota."
            )
            return Outcome.RATE_LIMITED
        self._governor.observe(sent_at, received_at, headers)
        if raw is None:
            unpacked = " once decompressed" if headers.get("Content-Encoding") else ""
            raise TooLarge(
                f"{where} answered with a body larger than {self._max_response // MB} MB{unpacked} "
                "(max_response_mb); raise max_response_mb if this store's pages really are that large."
            )
        values_allowed = max(self._max_response // BYTES_PER_VALUE, MIN_VALUES)
        if len(raw) > values_allowed and json_values(raw) > values_allowed:
            raise TooLarge(
                f"{where} answered with a body of more than {values_allowed:,} JSON values, more than "
                f"max_response_mb ({self._max_response // MB} MB) allows; raise max_response_mb if this "
                "store's pages really are that large."
            )
        if outcome is Outcome.OK:
            try:
                body = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                return _Failed(f"HTTP {status} with a body that is not valid JSON")
            if len(raw) > MAX_RECORD_BYTES:
                self._refuse_large_record(body, where)
            return Response(status=status, body=body, date=headers.get("Date"))
        if outcome is Outcome.RETRY:
            return _Failed(f"HTTP {status}", heavy=status == 500)
        raise _error(outcome, status, where, _detail(raw, self._token))

    def _refuse_large_record(self, body: Any, where: str) -> None:
        """Raise :class:`TooLarge` for the first record of ``body`` whose JSON passes :data:`MAX_RECORD_BYTES`.

        Only a body larger than the limit can hold such a record, so ordinary pages never pay for this.
        """
        if isinstance(body, dict) and isinstance(body.get("data"), list):
            body = body["data"]
        for record in body if isinstance(body, list) else [body]:
            try:
                size = len(orjson.dumps(record))
            except orjson.JSONEncodeError:
                continue  # nested too deep to write: refused where it would be written
            if size > MAX_RECORD_BYTES:
                ident = record.get("id") if isinstance(record, dict) else None
                raise TooLarge(
                    f"{where} answered with a record (id {shown(repr(ident), self._token)}) of "
                    f"{size / MB:.0f} MB, more than the {MAX_RECORD_BYTES // MB} MB one record may have; "
                    "its stream stops before it."
                )


@dataclass(frozen=True)
class _Failed:
    """Why one attempt should be retried."""

    reason: str
    unreachable: bool = False
    """No connection could be made: retried, and if it never comes, :class:`Unreachable`."""
    held: float | None = None
    """The governor already holds every request this long (a 429 without headers); no second pause."""
    after: float | None = None
    """The server asked this request to wait this long before retrying (``Retry-After``)."""
    heavy: bool = False
    """A 500 or a timeout: what an expensive list page meets (HeavyPage)."""


class _Probe:
    """One request's hold on a :class:`Breaker`."""

    def __init__(self, breaker: Breaker) -> None:
        self.breaker = breaker
        self.holding = False

    async def take(self) -> bool:
        """Become the probe, unless another request already is."""
        if self.breaker.probing:
            return False
        await self.breaker._probe.acquire()  # free, and nothing awaits between the check and here
        self.holding = True
        return True

    def release(self) -> None:
        if self.holding:
            self.holding = False
            self.breaker._probe.release()


def _os_reason(error: OSError) -> str:
    """``Connection refused`` rather than asyncio's ``Connect call failed ('127.0.0.1', 9)``; a failed name
    lookup says so in the resolver's words (its error numbers are not ``errno`` values)."""
    if isinstance(error, socket.gaierror):
        return error.strerror or "the host name cannot be resolved"
    if error.errno and error.errno > 0:
        return os.strerror(error.errno)
    return error.strerror or type(error).__name__


def _ssl_reason(error: BaseException) -> str:
    return getattr(error, "verify_message", None) or getattr(error, "reason", None) or type(error).__name__


def _error(outcome: Outcome, status: int, where: str, detail: str) -> ApiError:
    if outcome is Outcome.UNAUTHORIZED:
        return Unauthorized(
            "BigCommerce rejected the access token (HTTP 401): check access_token and that its API account "
            "still exists for this store.",
            status,
            where,
        )
    if outcome is Outcome.FORBIDDEN:
        return Forbidden(f"{where} was refused (HTTP 403){detail}.", status, where)
    if outcome is Outcome.NOT_FOUND:
        return NotFound(f"{where} was not found (HTTP 404){detail}.", status, where)
    return ApiError(f"{where} failed with HTTP {status}{detail}.", status, where)


def _detail(raw: bytes, token: str) -> str:
    """The title (v3) or message (v2) of an error body, for the user, as :func:`shown`; never the request."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    if isinstance(body, dict):
        text = body.get("title") or body.get("message")
        if isinstance(text, str) and text.strip():
            return f": {shown(text, token).rstrip('.')}"
    return ""


def shown(text: str, token: str) -> str:
    """Text a server wrote, fit to quote in a sentence: on one line, at most :data:`MAX_SHOWN_CHARS`
    characters, and the access token, should the server have quoted it back, replaced by
    :data:`REDACTED_TEXT`."""
    text = " ".join(text.split())
    if len(token) >= MIN_REDACTED:
        text = text.replace(token, REDACTED_TEXT)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 1] + "…"


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` (or BigCommerce's ``X-Retry-After``) in seconds; None when absent or not a number."""
    value = (headers.get("Retry-After") or headers.get("X-Retry-After") or "").strip()
    # ASCII digits only: str.isdigit() takes "²", which float() refuses.
    return float(value) if value.isascii() and value.isdigit() else None


def json_values(raw: bytes) -> int:
    """About how many values parsing ``raw`` makes, a member of an object (its key, cached by orjson, and
    its value) counting once: its commas, braces and brackets, more where strings hold those characters.
    Counting is a few milliseconds for 64 MB, and runs only on bodies larger than the values they may hold."""
    return raw.count(b",") + raw.count(b"{") + raw.count(b"[")


async def _read_within(resp: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The body, read as it arrives; None, with the connection closed, as soon as it passes ``limit``
    bytes. aiohttp decompresses in bounded steps as the body is read (>= 3.14.4), so a small gzip that
    expands to gigabytes stops here too, after ``limit`` bytes of it."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > limit:
            resp.close()
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def make_session(concurrency: int, api_url: str) -> aiohttp.ClientSession:
    """The session every request goes through: pooled connections, certificates verified, no cookies kept.

    Its TLS context is built here, for https only. ``ssl=True`` (plain http) leaves aiohttp's default,
    which holds no certificates (tls.py), so an https request on such a session could only fail.
    """
    tls = client_context() if urlsplit(api_url).scheme == "https" else True
    connector = aiohttp.TCPConnector(limit=concurrency, ttl_dns_cache=300, ssl=tls)
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())


async def real_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)
