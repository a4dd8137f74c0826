"""Pure rules: timestamp and integer parsing as the contract defines them, statuses, sorting, settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.api.query import parse_iso8601, ruby_to_i
from app.domain.ecf_participants import parse_v3_sort, v1_status
from app.domain.errors import ValidationFailed
from app.settings import Environment, Settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-05-13T11:21:55Z", datetime(2021, 5, 13, 11, 21, 55, tzinfo=UTC)),
        ("2021-05-13t11:21:55z", datetime(2021, 5, 13, 11, 21, 55, tzinfo=UTC)),
        ("2021-05-13T11:21:55.250Z", datetime(2021, 5, 13, 11, 21, 55, 250000, tzinfo=UTC)),
        ("2021-05-13T11:21:55+01:00", datetime(2021, 5, 13, 11, 21, 55, tzinfo=timezone(timedelta(hours=1)))),
        (
            "2021-05-13T11:21:55-0130",
            datetime(2021, 5, 13, 11, 21, 55, tzinfo=timezone(-timedelta(hours=1, minutes=30))),
        ),
        ("2021-05-13T11:21:55+02", datetime(2021, 5, 13, 11, 21, 55, tzinfo=timezone(timedelta(hours=2)))),
        ("2021-05-13T11:21:55", datetime(2021, 5, 13, 11, 21, 55, tzinfo=UTC)),
        ("2021-05-13", datetime(2021, 5, 13, tzinfo=UTC)),
        (" 2021-05-13 ", datetime(2021, 5, 13, tzinfo=UTC)),
    ],
)
def test_iso8601_accepted(value: str, expected: datetime) -> None:
    assert parse_iso8601(value) == expected


@pytest.mark.parametrize(
    "value",
    ["yesterday", "2021-13-01", "2021-02-30", "2021-05-13 11:21:55", "2021-05-13T11:21", "13/05/2021", ""],
)
def test_iso8601_rejected(value: str) -> None:
    assert parse_iso8601(value) is None


@pytest.mark.parametrize(
    ("value", "expected"), [("10", 10), ("10abc", 10), ("abc", 0), (" 7", 7), ("-3", -3), ("", 0)]
)
def test_ruby_to_i(value: str, expected: int) -> None:
    assert ruby_to_i(value) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("active", "active"),
        ("completed", "active"),
        ("leaving", "active"),
        ("withdrawn", "withdrawn"),
        ("changed", "withdrawn"),
    ],
)
def test_v1_status(status: str, expected: str) -> None:
    assert v1_status(status) == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (None, [("created_at", False)]),
        ("-updated_at", [("updated_at", True)]),
        ("+created_at,-updated_at", [("created_at", False), ("updated_at", True)]),
        ("email,-password", [("created_at", False)]),
        ("updated_at,updated_at", [("updated_at", False)]),
    ],
)
def test_v3_sort(sort: str | None, expected: list[tuple[str, bool]]) -> None:
    assert parse_v3_sort(sort) == expected


def test_production_refuses_the_default_token_key() -> None:
    with pytest.raises(ValueError, match="TOKEN_HMAC_KEY"):
        Settings(environment=Environment.PRODUCTION)


def test_validation_errors_group_per_attribute_in_first_seen_order() -> None:
    error = ValidationFailed([("b", "one"), ("a", "two"), ("b", "three"), ("b", "one")])
    assert error.grouped() == [("b", "one, three"), ("a", "two")]
