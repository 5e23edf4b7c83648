from __future__ import annotations

import email.utils
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from source_bigcommerce.dates import api_param, from_epoch, to_date, to_epoch, to_rfc3339

UTC = timezone.utc

offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
moments = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 12, 31), timezones=offsets)
whole_seconds = moments.map(lambda moment: moment.replace(microsecond=0))


def canonical(moment: datetime) -> str:
    """The oracle: the stdlib's own UTC rendering of the moment, in the connector's canonical layout."""
    utc = moment.astimezone(UTC)
    fraction = f".{utc.microsecond:06d}" if utc.microsecond else ""
    return f"{utc.replace(microsecond=0, tzinfo=None).isoformat()}{fraction}Z"


@given(whole_seconds)
def test_rfc2822_with_any_offset_converts_to_the_same_utc_moment(moment: datetime) -> None:
    text = email.utils.format_datetime(moment)
    assert to_rfc3339(text) == canonical(moment)
    assert to_epoch(text) == int(moment.timestamp())


@given(moments)
def test_iso8601_with_any_offset_converts_to_the_same_utc_moment(moment: datetime) -> None:
    text = moment.isoformat()
    assert to_rfc3339(text) == canonical(moment)
    assert to_epoch(text) == int(moment.replace(microsecond=0).timestamp())


@given(moments)
def test_canonical_output_is_a_fixed_point(moment: datetime) -> None:
    once = to_rfc3339(moment.isoformat())
    assert once is not None
    assert to_rfc3339(once) == once


@given(st.integers(min_value=0, max_value=int(datetime(2100, 12, 31, tzinfo=UTC).timestamp())))
def test_epoch_round_trips_through_the_canonical_form(seconds: int) -> None:
    assert to_epoch(from_epoch(seconds)) == seconds


@given(whole_seconds)
def test_from_epoch_renders_the_moment_canonically(moment: datetime) -> None:
    assert from_epoch(int(moment.timestamp())) == canonical(moment)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # reference/orders.v2.oas2.yml, order examples (RFC 2822, UTC).
        ("Tue, 20 Nov 2012 00:00:00 +0000", "2012-11-20T00:00:00Z"),
        ("Wed, 10 Jan 2018 21:05:30 +0000", "2018-01-10T21:05:30Z"),
        # reference/orders.v2.oas2.yml, min_date_modified description: both filter spellings.
        ("Thu, 20 Apr 2017 11:32:00 -0400", "2017-04-20T15:32:00Z"),
        ("2017-04-20T11:32:00.000-04:00", "2017-04-20T15:32:00.000Z"),
        # reference/catalog/products_catalog.v3.yml and reference/customers.v3.yml.
        ("2018-08-15T14:49:05+00:00", "2018-08-15T14:49:05Z"),
        ("2018-11-13T21:42:06Z", "2018-11-13T21:42:06Z"),
        ("2022-06-16T18:39:00.123+00:00", "2022-06-16T18:39:00.123Z"),
        # The archived connector's abnormal_state.json: no zone at all, read as UTC.
        ("2080-07-30T22:16:46", "2080-07-30T22:16:46Z"),
        ("2080-07-30T22:16:40", "2080-07-30T22:16:40Z"),
        # A config start_date.
        ("2021-01-01", "2021-01-01T00:00:00Z"),
        # reference/customers.v2.yml, customer group examples: UTC without a zone.
        ("2023-07-17 06:30:41", "2023-07-17T06:30:41Z"),
        # reference/marketing.v2.yml, gift certificate examples: Unix seconds in a string.
        ("1672670738", "2023-01-02T14:45:38Z"),
        ("1603306", "1970-01-19T13:21:46Z"),
        # Looser spellings take the general path.
        ("2024-05-14t09:34:00z", "2024-05-14T09:34:00Z"),
        ("Mon, 2 Jan 2023 05:00:00 GMT", "2023-01-02T05:00:00Z"),
        ("2024-05-14T23:30:00-01:00", "2024-05-15T00:30:00Z"),
    ],
)
def test_every_bigcommerce_spelling_becomes_rfc3339_utc(text: str, expected: str) -> None:
    assert to_rfc3339(text) == expected


def test_an_empty_date_is_none() -> None:
    assert to_rfc3339("") is None


def test_a_canonical_value_is_returned_as_the_same_object() -> None:
    value = "".join(["2024-05-14T09:34:00", "Z"])
    assert to_rfc3339(value) is value


@pytest.mark.parametrize(
    "garbage",
    [
        "yesterday",
        "2024/05/14",
        "2024-05-14T25:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-1x-14T09:34:00Z",
        "Tue, 20 Foo 2012 00:00:00 +0000",
        "Tue, 20 Nov 2012 00:00:00 +2500",
        "2024-05-14T09:34:00+24:00",
        " ",
        "Z",
        "0x1",
        "123456789012",
    ],
)
def test_garbage_is_rejected_with_value_error(garbage: str) -> None:
    with pytest.raises(ValueError, match="is not"):
        to_rfc3339(garbage)
    with pytest.raises(ValueError, match="is not"):
        to_epoch(garbage)


def test_a_day_that_does_not_exist_is_rejected_by_to_epoch() -> None:
    with pytest.raises(ValueError, match="not a valid moment"):
        to_epoch("2023-02-29T00:00:00Z")
    with pytest.raises(ValueError, match="not a valid moment"):
        to_epoch("Wed, 29 Feb 2023 00:00:00 +0000")


def test_to_epoch_of_an_empty_string_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        to_epoch("")


def test_to_epoch_floors_a_fraction() -> None:
    assert to_epoch("1970-01-01T00:00:01.999Z") == 1
    assert to_epoch("1969-12-31T23:59:59.5Z") == -1


def test_to_epoch_agrees_across_spellings_of_one_moment() -> None:
    spellings = [
        "2012-11-20T00:00:00Z",
        "2012-11-20T00:00:00+00:00",
        "2012-11-20T00:00:00",
        "2012-11-20",
        "Tue, 20 Nov 2012 00:00:00 +0000",
        "Mon, 19 Nov 2012 19:00:00 -0500",
    ]
    assert len({to_epoch(text) for text in spellings}) == 1


def test_api_param_writes_full_timestamps_in_both_styles() -> None:
    seconds = to_epoch("2024-05-14T09:34:00Z")
    assert api_param(seconds, "iso_z") == "2024-05-14T09:34:00Z"
    assert api_param(seconds, "iso_offset") == "2024-05-14T09:34:00+00:00"
    assert api_param(0, "iso_z") == "1970-01-01T00:00:00Z"


# -- every spelling BigCommerce or a state file may use, and the API's own bounds, round-trip ----------------

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def offset_text(moment: datetime, colon: bool) -> str:
    offset = moment.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{':' if colon else ''}{rest:02d}"


@given(whole_seconds, st.booleans(), st.booleans(), st.booleans())
def test_rfc2822_in_any_spelling_reads_as_the_standard_library_reads_it(
    moment: datetime, weekday: bool, padded: bool, gmt: bool
) -> None:
    zone = "GMT" if gmt else offset_text(moment, colon=False)
    moment = moment.astimezone(UTC) if gmt else moment
    day = f"{moment.day:02d}" if padded else str(moment.day)
    text = (
        f"{DAYS[moment.weekday()]}, " if weekday else ""
    ) + f"{day} {MONTHS[moment.month - 1]} {moment.year} {moment:%H:%M:%S} {zone}"
    assert to_epoch(text) == int(email.utils.parsedate_to_datetime(text).timestamp())
    assert to_rfc3339(text) == canonical(moment)


@given(moments, st.sampled_from(["T", "t", " "]), st.booleans(), st.booleans())
def test_iso8601_in_any_spelling_reads_as_the_standard_library_reads_it(
    moment: datetime, separator: str, colon: bool, zulu: bool
) -> None:
    if zulu:
        moment = moment.astimezone(UTC)
    fraction = f".{moment.microsecond:06d}" if moment.microsecond else ""
    zone = "z" if zulu else offset_text(moment, colon)
    text = f"{moment:%Y-%m-%d}{separator}{moment:%H:%M:%S}{fraction}{zone}"
    assert to_rfc3339(text) == canonical(moment)
    assert to_epoch(text) == int(moment.replace(microsecond=0).timestamp())


@given(st.integers(min_value=0, max_value=int(datetime(2100, 12, 31, tzinfo=UTC).timestamp())))
def test_window_bounds_written_for_the_api_read_back_as_the_same_second(seconds: int) -> None:
    for style in ("iso_z", "iso_offset"):
        text = api_param(seconds, style)
        assert to_epoch(text) == seconds
        assert datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() == seconds


def test_a_calendar_date_stays_a_date_and_a_timestamp_gives_its_utc_day() -> None:
    assert to_date("2023-04-17") == "2023-04-17"
    assert to_date("Fri, 24 Dec 2021 00:00:00 +0000") == "2021-12-24"
    assert to_date("2021-12-24T23:30:00-02:00") == "2021-12-25"
    assert to_date("") is None
    with pytest.raises(ValueError, match="'soon' is not"):
        to_date("soon")
