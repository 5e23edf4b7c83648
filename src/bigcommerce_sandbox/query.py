"""Query-string parsing: paging, date and id filters, sorts and cursors, with BigCommerce's error texts.

Pure functions that raise ``ParamError``; bodies.param_error turns one into a 422 (v3) or 400 (v2) body, or a 413
when a limit is over the maximum.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import math
import re
from dataclasses import dataclass
from email.utils import parsedate_tz

MAX_LIMIT = 250
DEFAULT_LIMIT = 50
MAX_PAGE = 2**31 - 1
MAX_INT = 2**63 - 1
"""Bounds of integer parameters: BigCommerce's ids are int32 or int64 in the specs, and a page number is
an int32; anything wider is refused as a bad value instead of reaching the store (a 30-digit ``page``
once became a 500)."""


class ParamError(ValueError):
    """A query parameter BigCommerce would reject; ``status`` is 413 for an over-limit page size."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Paging:
    """A page request: ``limit`` as asked and ``size`` as served (smaller where the list caps its pages);
    pages are numbered by the served size, as BigCommerce numbers them."""

    page: int
    limit: int
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def parse_int(name: str, raw: str, maximum: int = MAX_INT) -> int:
    text = raw.strip()
    if not re.fullmatch(r"[+-]?\d{1,19}", text) or abs(int(text)) > maximum:
        # The v3 wording (reference/channels.v3.yml, error_422_invalid_filter_value_resp_example).
        raise ParamError(f'Query parameter "{name}" value must be integer. For input string: "{raw}".')
    return int(text)


def parse_int_list(name: str, raw: str) -> frozenset[int]:
    parts = [p for p in raw.split(",") if p.strip()]
    return frozenset(parse_int(name, p) for p in parts)


def parse_paging(params: dict[str, str], cap: int | None = None) -> Paging:
    """``page`` and ``limit`` checked; ``cap`` (if any) is the most rows this list serves a page."""
    page = parse_int("page", params["page"], MAX_PAGE) if "page" in params else 1
    limit = parse_int("limit", params["limit"], MAX_PAGE) if "limit" in params else DEFAULT_LIMIT
    if page < 1:
        raise ParamError(
            f'Query parameter "page" must be 1 or greater. For input string: "{params["page"]}".'
        )
    if limit < 1:
        raise ParamError(
            f'Query parameter "limit" must be 1 or greater. For input string: "{params["limit"]}".'
        )
    if limit > MAX_LIMIT:
        raise ParamError("The specified limit exceeds the maximum allowed.", status=413)
    return Paging(page=page, limit=limit, size=limit if cap is None else min(limit, cap))


_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)


@dataclass(frozen=True)
class Instant:
    """A parsed filter time: seconds since the epoch (may carry a fraction) and whether only a date was given."""

    seconds: float
    date_only: bool


def parse_instant(name: str, raw: str) -> Instant:
    """RFC 2822 ("Thu, 20 Apr 2017 11:32:00 -0400") or ISO 8601 with Z, an offset, a fraction or no zone
    (read as UTC), or a date alone (midnight UTC), as reference/orders.v2.oas2.yml and customers.v3.yml
    describe their date filters."""
    text = raw.strip()
    m = _ISO.fullmatch(text)
    if m:
        year, month, day, hh, mm, ss, frac, zone = m.groups()
        try:
            seconds = calendar.timegm(
                (int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0), 0, 0, 0)
            )
            _validate_fields(int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0))
        except ValueError:
            raise ParamError(_date_message(name, raw)) from None
        value = float(seconds) + (float("0." + frac) if frac else 0.0)
        if zone and zone not in ("Z", "z"):
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = int(digits[:2]) * 3600 + (int(digits[2:4]) * 60 if len(digits) > 2 else 0)
            value -= sign * offset
        return Instant(value, date_only=hh is None)
    parsed = parsedate_tz(text)
    if parsed is not None and re.search(r"\d{1,2}:\d{2}", text):
        tz = parsed[9] or 0
        try:
            _validate_fields(parsed[1], parsed[2], parsed[3], parsed[4], parsed[5])
        except ValueError:
            raise ParamError(_date_message(name, raw)) from None
        return Instant(float(calendar.timegm((*parsed[:6], 0, 0, 0)) - tz), date_only=False)
    raise ParamError(_date_message(name, raw))


def _validate_fields(month: int, day: int, hour: int, minute: int, second: int) -> None:
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
        raise ValueError


def _date_message(name: str, raw: str) -> str:
    return f'Query parameter "{name}" value must be a date (RFC 2822 or ISO 8601). For input string: "{raw}".'


def lower_bound(instant: Instant) -> int:
    """Records carry whole seconds, so an inclusive ``>= t`` starts at the next whole second."""
    return math.ceil(instant.seconds)


def upper_bound(instant: Instant) -> int:
    return math.floor(instant.seconds)


def with_time_of_day(instant: Instant, now: float) -> Instant:
    """The products quirk: a date-only ``date_modified:min``/``:max`` gets the request's time of day
    appended (reference/catalog/products_catalog.v3.yml, DateModifiedMinParam/DateModifiedMaxParam)."""
    if not instant.date_only:
        return instant
    return Instant(instant.seconds + (int(now) % 86400), date_only=False)


def parse_sort_v2(raw: str, allowed: tuple[str, ...]) -> tuple[str, bool]:
    """``field`` or ``field:asc|desc`` (reference/orders.v2.oas2.yml, the sort parameter)."""
    field, _, direction = raw.strip().partition(":")
    if field not in allowed or direction not in ("", "asc", "desc"):
        raise ParamError(
            f"The sort parameter {raw!r} is invalid. Sort by one of {', '.join(allowed)} with :asc or :desc."
        )
    return field, direction == "desc"


def parse_direction(raw: str | None) -> bool:
    if raw is None or raw == "asc":
        return False
    if raw == "desc":
        return True
    raise ParamError(f'Query parameter "direction" must be asc or desc. For input string: "{raw}".')


def encode_cursor(rid: int) -> str:
    """Customer cursors are base64 of ``id:N`` (the spec's example "aWQ6Nw==" decodes to "id:7")."""
    return base64.b64encode(f"id:{rid}".encode()).decode()


def decode_cursor(name: str, raw: str) -> int:
    try:
        text = base64.b64decode(raw.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ParamError(f'Query parameter "{name}" is not a valid cursor: "{raw}".') from None
    kind, _, value = text.partition(":")
    if kind != "id" or not value.isdigit():
        raise ParamError(f'Query parameter "{name}" is not a valid cursor: "{raw}".')
    return int(value)
