"""A statement's month and year as read from its name."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from app.domain import statements
from app.repositories.statements import StatementRow


def _row(name: str) -> StatementRow:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    return StatementRow(
        uuid.uuid4(), name, "ecf", "open", 2023, date(2024, 4, 30), date(2024, 5, 25), now, now
    )


@pytest.mark.parametrize(
    ("name", "month", "year"),
    [
        ("May 2024", "May", "2024"),
        ("  January   2025 ", "January", "2025"),
        ("Output 3 (2024)", "Output", "3"),  # the first run of digits, wherever it is
        ("2024 May", "2024", "2024"),
        ("Final statement", "Final", None),
        ("", "", None),
        ("   ", "", None),
    ],
)
def test_month_and_year_come_from_the_name(name: str, month: str, year: str | None) -> None:
    row = _row(name)
    assert statements.month(row) == month
    assert statements.year(row) == year
    assert (statements.month(row), statements.year(row)) == (month, year)  # the cached answer again
