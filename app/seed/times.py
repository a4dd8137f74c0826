"""Deterministic timestamps for seeded rows.

Rows are stamped from their cohort's calendar rather than the clock, so ordering by
`created_at` is the same on every machine. Only scenario dates that must sit before or after
"today" (joining, leaving, transfers, statement states) are computed from `today`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def at(year: int, month: int = 6, day: int = 1, *, minutes: int = 0) -> datetime:
    """09:00 UTC on the given day, plus `minutes` (to give each row its own instant)."""
    return datetime(year, month, day, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes)


def on(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def first_of_next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


class Clock:
    """Hands out increasing timestamps per cohort year, starting on 1 June of that year.

    Registration for a September cohort happens over the summer, so participants of cohort Y
    are created from 1 June Y onwards, a minute apart, in the order the scenarios build them.
    """

    def __init__(self) -> None:
        self._ticks: dict[int, int] = {}

    def next(self, year: int) -> datetime:
        tick = self._ticks.get(year, 0)
        self._ticks[year] = tick + 1
        return at(year, minutes=tick)
