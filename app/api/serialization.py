"""Value formats shared by every version's serializers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

# Cells starting with these are read as formulas by spreadsheet programs.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def rfc3339(value: datetime | None) -> str | None:
    """UTC, second precision, `Z` suffix: 2021-05-31T02:22:32Z."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    if value.year < 1000:  # strftime does not pad years before 1000; keep its output
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    # isoformat is several times faster than strftime (a hot path: every timestamp of every page).
    return value.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def instant(value: datetime | None) -> datetime | str | None:
    """A timestamp for a JSON body, written as rfc3339() writes it.

    A UTC datetime is handed to the response renderer as it is: orjson writes it (second
    precision, `Z`; see JSONAPIResponse) about thirty times faster than formatting it here, which
    matters on pages of thousands of records. Anything else is formatted here, to the same text.
    """
    if value is not None and value.tzinfo is UTC and value.year >= 1000:
        return value
    return rfc3339(value)


def iso_date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def day(value: date | None) -> date | str | None:
    """A date for a JSON body, written as iso_date() writes it (YYYY-MM-DD).

    A plain date is handed to the response renderer as it is: orjson writes the same text without
    a Python call per value. Anything else (a datetime, a date subclass) goes through iso_date().
    """
    if value is None or type(value) is date:
        return value
    return iso_date(value)


def str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def csv_cell(value: Any) -> str:
    """A cell as the reference writes it (nil → empty, booleans lowercase), formula-safe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):  # an instant() left for the JSON renderer
        return rfc3339(value) or ""
    text = str(value)
    if text.startswith(_FORMULA_PREFIXES):
        # Neutralise spreadsheet formula injection: the leading quote makes it plain text.
        return "'" + text
    return text


def csv_lines(header: Sequence[str] | None, rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue()
