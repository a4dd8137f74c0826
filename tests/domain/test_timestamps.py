"""Timestamps left for the JSON renderer read exactly as the formatted ones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import orjson
import pytest

from app.api.responses import JSONAPIResponse
from app.api.serialization import csv_cell, day, instant, iso_date, rfc3339

LONDON_SUMMER = timezone(timedelta(hours=1))

CASES = [
    datetime(2021, 5, 31, 2, 22, 32, tzinfo=UTC),
    datetime(2021, 5, 31, 2, 22, 32, 999_999, tzinfo=UTC),  # truncated, never rounded up
    datetime(2024, 2, 29, 23, 59, 59, 1, tzinfo=UTC),
    datetime(2021, 5, 31, 3, 22, 32, 500_000, tzinfo=LONDON_SUMMER),  # another offset: shown in UTC
    datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),  # before year 1000: formatted as rfc3339 does
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
]


@pytest.mark.parametrize("value", CASES, ids=[c.isoformat() for c in CASES])
def test_a_rendered_instant_is_the_rfc3339_text(value: datetime) -> None:
    body = JSONAPIResponse({"at": instant(value), "on": value.date()}).body
    assert orjson.loads(body) == {"at": rfc3339(value), "on": value.date().isoformat()}


def test_a_missing_instant_is_null() -> None:
    assert instant(None) is None
    assert JSONAPIResponse({"at": instant(None)}).body == b'{"at":null}'


def test_only_utc_instants_are_left_to_the_renderer() -> None:
    utc = datetime(2022, 1, 1, 12, tzinfo=UTC)
    assert instant(utc) is utc
    assert instant(utc.astimezone(LONDON_SUMMER)) == "2022-01-01T12:00:00Z"


def test_a_csv_cell_of_an_instant_is_its_rfc3339_text() -> None:
    value = datetime(2021, 5, 31, 2, 22, 32, 123_456, tzinfo=UTC)
    assert csv_cell(instant(value)) == "2021-05-31T02:22:32Z"
    assert csv_cell(date(2021, 5, 31)) == "2021-05-31"
    assert csv_cell(True) == "true"


DAYS = [date(2023, 4, 30), date(999, 1, 2), date(1, 1, 1), date(9999, 12, 31)]


@pytest.mark.parametrize("value", DAYS, ids=[d.isoformat() for d in DAYS])
def test_a_rendered_day_is_the_iso_date_text(value: date) -> None:
    assert day(value) is value
    assert orjson.loads(JSONAPIResponse({"on": day(value)}).body) == {"on": iso_date(value)}


def test_a_missing_day_is_null_and_a_datetime_is_formatted_as_before() -> None:
    assert day(None) is None
    at = datetime(2023, 4, 30, 12, tzinfo=UTC)
    assert day(at) == iso_date(at)
