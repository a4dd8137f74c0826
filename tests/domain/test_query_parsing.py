"""Query and header parsing as the contract defines it (ecf.md §1.4, §1.5, §1.9): Ruby `to_i`, Ruby
`Time.iso8601`, bracketed `filter[...]`/`page[...]` parameters and `X-With-Server-Date`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from starlette.requests import Request

from app.api.deps import clock_for
from app.api.query import (
    PAGINATION_ERROR,
    ListQuery,
    cohort_years,
    parse_iso8601,
    parse_list_query,
    ruby_to_i,
    updated_since,
)
from app.clock import SYSTEM_CLOCK
from app.domain.errors import BadRequest
from app.domain.paging import Page
from app.settings import Environment, Settings


def tz(hours: int, minutes: int = 0) -> timezone:
    sign = -1 if hours < 0 else 1
    return timezone(sign * timedelta(hours=abs(hours), minutes=minutes))


def query(string: str) -> ListQuery:
    return parse_list_query(Request({"type": "http", "query_string": string.encode()}))


def with_server_date(value: str) -> Request:
    return Request({"type": "http", "headers": [(b"x-with-server-date", value.encode())]})


# ---- Ruby to_i ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10", 10),
        ("10abc", 10),
        ("abc", 0),
        ("", 0),
        (" 7", 7),
        ("-3", -3),
        ("+4", 4),
        ("2.9", 2),
        ("0x10", 0),
    ],
)
def test_ruby_to_i(value: str, expected: int) -> None:
    assert ruby_to_i(value) == expected


def test_ruby_to_i_reads_underscores_between_digits() -> None:
    assert ruby_to_i("1_000") == 1000


# ---- Ruby Time.iso8601 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2021-05-13T11:21:55Z", datetime(2021, 5, 13, 11, 21, 55, tzinfo=UTC), id="zulu"),
        pytest.param(
            "2021-05-13t11:21:55z", datetime(2021, 5, 13, 11, 21, 55, tzinfo=UTC), id="lowercase-t-z"
        ),
        pytest.param(
            "2021-05-13T11:21:55+01:00", datetime(2021, 5, 13, 11, 21, 55, tzinfo=tz(1)), id="+hh:mm"
        ),
        pytest.param(
            "2021-05-13T11:21:55-0130", datetime(2021, 5, 13, 11, 21, 55, tzinfo=tz(-1, 30)), id="-hhmm"
        ),
        pytest.param("2021-05-13T11:21:55+02", datetime(2021, 5, 13, 11, 21, 55, tzinfo=tz(2)), id="+hh"),
        pytest.param("2021-05-13T11:21:55-00:00", datetime(2021, 5, 13, 11, 21, 55, tzinfo=UTC), id="-00:00"),
        pytest.param(
            "2021-05-13T11:21:55.250Z", datetime(2021, 5, 13, 11, 21, 55, 250000, tzinfo=UTC), id="fraction"
        ),
        pytest.param(
            "2021-05-13T11:21:55.5+01:00",
            datetime(2021, 5, 13, 10, 21, 55, 500000, tzinfo=UTC),
            id="fraction-zone",
        ),
        pytest.param(
            "2021-05-13T11:21:55", datetime(2021, 5, 13, 11, 21, 55, tzinfo=UTC), id="no-zone-is-utc"
        ),
        pytest.param("2021-05-13", datetime(2021, 5, 13, tzinfo=UTC), id="bare-date"),
        pytest.param("2021-05-13Z", datetime(2021, 5, 13, tzinfo=UTC), id="bare-date-zulu"),
        pytest.param("2021-05-13+01:00", datetime(2021, 5, 13, tzinfo=tz(1)), id="bare-date-zone"),
        pytest.param(
            " 2021-05-13T11:21:55Z ", datetime(2021, 5, 13, 11, 21, 55, tzinfo=UTC), id="whitespace"
        ),
    ],
)
def test_iso8601_accepted(value: str, expected: datetime) -> None:
    assert parse_iso8601(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("yesterday", id="words"),
        pytest.param("13/05/2021", id="other-format"),
        pytest.param("2021-5-13", id="one-digit-month"),
        pytest.param("2021-05-13 11:21:55", id="space-separator"),
        pytest.param("2021-05-13T11:21", id="no-seconds"),
        pytest.param("2021-05-13T11:21:55+1", id="one-digit-zone"),
        pytest.param("2021-05-13T11:21:55.Z", id="empty-fraction"),
        pytest.param("2021-05-13T11:21:55 UTC", id="zone-name"),
        pytest.param("2021-13-01", id="month-13"),
        pytest.param("2021-00-10", id="month-0"),
        pytest.param("2021-05-32", id="day-32"),
        pytest.param("2021-05-00", id="day-0"),
        pytest.param("2021-05-13T25:00:00Z", id="hour-25"),
        pytest.param("2021-05-13T11:60:00Z", id="minute-60"),
    ],
)
def test_iso8601_rejected(value: str) -> None:
    assert parse_iso8601(value) is None


@pytest.mark.parametrize("value", ["0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z"])
def test_iso8601_years_outside_python_datetime_are_accepted(value: str) -> None:
    assert parse_iso8601(value) is not None


# ---- filter[updated_since] and filter[cohort] ---------------------------------------------------


def test_updated_since_is_parsed() -> None:
    assert updated_since(query("filter[updated_since]=2021-05-13T11:21:55Z")) == datetime(
        2021, 5, 13, 11, 21, 55, tzinfo=UTC
    )


def test_updated_since_is_url_decoded_once_more_when_needed() -> None:
    # %253A arrives as %3A after the usual decoding; the filter decodes it once more.
    parsed = updated_since(query("filter[updated_since]=2021-05-13T11%253A21%253A55%252B01%253A00"))
    assert parsed == datetime(2021, 5, 13, 11, 21, 55, tzinfo=tz(1))


@pytest.mark.parametrize("string", ["", "filter[updated_since]=", "filter[updated_since]=%20"])
def test_absent_or_blank_updated_since_is_not_applied(string: str) -> None:
    assert updated_since(query(string)) is None


def test_invalid_updated_since_is_a_bad_request() -> None:
    with pytest.raises(BadRequest) as raised:
        updated_since(query("filter[updated_since]=yesterday"))
    assert (raised.value.title, raised.value.detail) == (
        "Bad request",
        "The filter '#/updated_since' must be a valid RCF3339 date",
    )


@pytest.mark.parametrize(
    ("string", "expected"),
    [
        pytest.param("", None, id="absent-is-default"),
        pytest.param("filter[cohort]=", None, id="blank-is-default"),
        pytest.param("filter[cohort]=2022", [2022], id="one"),
        pytest.param("filter[cohort]=2021,2022", [2021, 2022], id="several"),
        pytest.param("filter[cohort]=2021,%202022", [2021, 2022], id="spaces"),
        pytest.param("filter[cohort]=abc", [], id="garbage-matches-nothing"),
        pytest.param("filter[cohort]=abc,2022", [2022], id="garbage-dropped"),
    ],
)
def test_cohort_years(string: str, expected: list[int] | None) -> None:
    assert cohort_years(query(string)) == expected


# ---- bracketed parameters -----------------------------------------------------------------------


def test_defaults() -> None:
    assert query("") == ListQuery(filters={}, page=Page(1, 100), sort=None)


def test_filters_page_and_sort_are_read() -> None:
    parsed = query("filter[cohort]=2022&filter[colour]=blue&page[page]=3&page[per_page]=25&sort=-updated_at")
    assert parsed == ListQuery(
        filters={"cohort": "2022", "colour": "blue"}, page=Page(3, 25), sort="-updated_at"
    )


def test_percent_encoded_brackets_are_read() -> None:
    assert query("filter%5Bcohort%5D=2022").filters == {"cohort": "2022"}


def test_other_parameters_are_ignored() -> None:
    assert query("include[x]=1&fields=a&cohort=2022") == ListQuery()


def test_blank_filter_value_reads_as_absent() -> None:
    parsed = query("filter[cohort]=")
    assert parsed.has_filter_key("cohort")
    assert parsed.filter("cohort") is None


@pytest.mark.parametrize(
    ("string", "expected"),
    [
        pytest.param("page[per_page]=3000", Page(1, 3000), id="maximum"),
        pytest.param("page[per_page]=3001", Page(1, 3000), id="capped"),
        pytest.param("page[per_page]=2abc", Page(1, 2), id="leading-digits"),
        pytest.param("page[page]=2&page[per_page]=1", Page(2, 1), id="smallest"),
    ],
)
def test_page(string: str, expected: Page) -> None:
    assert query(string).page == expected


@pytest.mark.parametrize(
    "string",
    ["page[page]=0", "page[per_page]=0", "page[page]=abc", "page[per_page]=", "page[page]=-1", "page=2"],
)
def test_invalid_page_is_a_bad_request(string: str) -> None:
    with pytest.raises(BadRequest) as raised:
        query(string)
    assert (raised.value.title, raised.value.detail) == ("Bad request", PAGINATION_ERROR)


def test_filter_that_is_not_a_hash_is_a_bad_parameter() -> None:
    with pytest.raises(BadRequest) as raised:
        query("filter=abc")
    assert (raised.value.title, raised.value.detail) == ("Bad parameter", "Filter must be a hash")


# ---- X-With-Server-Date ---------------------------------------------------------------------------


TEST_SETTINGS = Settings(environment=Environment.TEST)
PRODUCTION_SETTINGS = Settings(environment=Environment.PRODUCTION, token_hmac_key="x" * 32)


@pytest.mark.parametrize("environment", [Environment.TEST, Environment.SANDBOX, Environment.DEVELOPMENT])
def test_server_date_moves_the_clock_outside_production(environment: Environment) -> None:
    clock = clock_for(with_server_date("2030-01-01T00:00:00Z"), Settings(environment=environment))
    assert abs(clock.now() - datetime(2030, 1, 1, tzinfo=UTC)) < timedelta(seconds=5)


def test_without_the_header_the_clock_is_the_system_clock() -> None:
    assert clock_for(Request({"type": "http", "headers": []}), TEST_SETTINGS) is SYSTEM_CLOCK


def test_production_ignores_the_server_date() -> None:
    assert clock_for(with_server_date("2030-01-01T00:00:00Z"), PRODUCTION_SETTINGS) is SYSTEM_CLOCK


def test_production_ignores_even_an_unparseable_server_date() -> None:
    assert clock_for(with_server_date("next tuesday"), PRODUCTION_SETTINGS) is SYSTEM_CLOCK


def test_unparseable_server_date_is_a_bad_request() -> None:
    with pytest.raises(BadRequest) as raised:
        clock_for(with_server_date("next tuesday"), TEST_SETTINGS)
    assert raised.value.detail == "The 'X-With-Server-Date' header must be an ISO 8601 date and time"
