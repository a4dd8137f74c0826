"""Bracketed query parameters: `filter[...]`, `page[...]` and `sort`.

FastAPI does not parse `filter[cohort]=2022`, so every list endpoint reads them here
and gets typed values or the contract's 400 errors. The same module builds the OpenAPI
parameter descriptions, so generated clients see what the endpoint really accepts.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote_plus

from starlette.requests import Request

from app.domain.errors import BadRequest
from app.domain.paging import MAX_PER_PAGE, Page

PAGINATION_ERROR = (
    "The '#/page[page]' and '#/page[per_page]' parameter values must be a valid number "
    "(equal and more than 1)"
)
UPDATED_SINCE_ERROR = "The filter '#/updated_since' must be a valid RCF3339 date"
FILTER_NOT_A_HASH = "Filter must be a hash"

_BRACKET = re.compile(r"^([a-z_]+)\[([^\]]*)\]$")
_RUBY_INT = re.compile(r"^\s*([+-]?\d+(?:_\d+)*)")
# Beyond this page number no list has rows; capping keeps the offset inside a bigint.
_MAX_PAGE_NUMBER = 1_000_000_000
# Ruby's Time.iso8601 (XML Schema dateTime), with an optional time part.
_ISO8601 = re.compile(
    r"^\s*(-?\d{4,})-(\d\d)-(\d\d)"
    r"(?:T(\d\d):(\d\d):(\d\d)(\.\d+)?)?"
    r"(Z|[+-]\d\d(?::?\d\d)?)?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ListQuery:
    """The bracketed parameters of one request, validated."""

    filters: dict[str, str] = field(default_factory=dict)
    page: Page = field(default_factory=Page)
    sort: str | None = None

    def filter(self, name: str) -> str | None:
        """The filter's value, or None when absent or blank (blank means "not applied")."""
        value = self.filters.get(name)
        if value is None or value.strip() == "":
            return None
        return value

    def has_filter_key(self, name: str) -> bool:
        return name in self.filters


def ruby_to_i(value: str) -> int:
    """Integer conversion as the reference does it: leading digits, else 0."""
    match = _RUBY_INT.match(value)
    return int(match.group(1).replace("_", "")) if match else 0


def year_to_i(value: str) -> int:
    """A start year read like `ruby_to_i`; a number no year column can hold (start years are
    smallints) is 0, which names no cohort either, instead of failing the query."""
    year = ruby_to_i(value)
    return year if -(2**15) <= year < 2**15 else 0


def parse_list_query(request: Request, *, paginated: bool = True) -> ListQuery:
    """Read the bracketed parameters; `paginated=False` ignores `page` (CSV and show routes)."""
    filters: dict[str, str] = {}
    page_values: dict[str, str] = {}
    filter_is_scalar = False
    page_is_scalar = False
    sort: str | None = None
    for key, value in request.query_params.multi_items():
        if key == "filter":
            filter_is_scalar = True
            continue
        if key == "page" and paginated:
            page_is_scalar = True
            continue
        if key == "sort":
            sort = value
            continue
        match = _BRACKET.match(key)
        if not match:
            continue
        group, name = match.groups()
        if group == "filter":
            filters[name] = value
        elif group == "page" and paginated:
            page_values[name] = value
    if filter_is_scalar and not filters:
        raise BadRequest(FILTER_NOT_A_HASH, title="Bad parameter")
    if page_is_scalar and not page_values:
        # The reference fails with a 500 here; a scalar `page` is a malformed pagination value.
        raise BadRequest(PAGINATION_ERROR)
    return ListQuery(filters=filters, page=_page(page_values), sort=sort)


def _page(values: dict[str, str]) -> Page:
    number = ruby_to_i(values["page"]) if "page" in values else 1
    per_page = ruby_to_i(values["per_page"]) if "per_page" in values else 100
    if number < 1 or per_page < 1:
        raise BadRequest(PAGINATION_ERROR)
    return Page(number=min(number, _MAX_PAGE_NUMBER), per_page=min(per_page, MAX_PER_PAGE))


def parse_iso8601(value: str) -> datetime | None:
    """Parse like Ruby's Time.iso8601; None when the value is not such a timestamp."""
    match = _ISO8601.match(value)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if int(year) < 1:
        # Ruby accepts any year; before Python's range means "since the beginning".
        return datetime.min.replace(tzinfo=UTC)
    if int(year) > 9999:
        return datetime.max.replace(tzinfo=UTC)
    try:
        micro = round(float(fraction) * 1_000_000) if fraction else 0
        parsed = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            min(micro, 999_999),
        ).replace(tzinfo=_zone(zone))
    except ValueError:  # a field or a zone offset out of range (e.g. +99:00)
        return None
    return parsed


def _zone(zone: str | None) -> timezone:
    if not zone or zone.upper() == "Z":
        return UTC
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4]) if len(digits) > 2 else 0
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def updated_since(query: ListQuery, name: str = "updated_since") -> datetime | None:
    """`filter[updated_since]` (or another timestamp filter), retried once URL-decoded."""
    raw = query.filter(name)
    if raw is None:
        return None
    parsed = parse_iso8601(raw) or parse_iso8601(unquote_plus(raw))
    if parsed is None:
        raise BadRequest(f"The filter '#/{name}' must be a valid RCF3339 date")
    return parsed


def cohort_years(query: ListQuery) -> list[int] | None:
    """`filter[cohort]` as start years; None = the default (every cohort after 2020).

    Values that are not years simply match nothing, as in the reference.
    """
    raw = query.filter("cohort")
    if raw is None:
        return None
    years: list[int] = []
    for part in raw.split(","):
        part = part.strip()
        if part.isdigit() and len(part) <= 4:
            years.append(int(part))
    return years


def uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# ---- OpenAPI descriptions of the bracketed parameters --------------------------------------


def filter_parameter(properties: dict[str, dict[str, Any]], description: str, example: str) -> dict[str, Any]:
    return {
        "name": "filter",
        "in": "query",
        "required": False,
        "style": "deepObject",
        "explode": True,
        "description": description,
        "example": example,
        "schema": {"type": "object", "properties": properties},
    }


def page_parameter(what: str) -> dict[str, Any]:
    return {
        "name": "page",
        "in": "query",
        "required": False,
        "style": "deepObject",
        "explode": True,
        "description": f"Pagination options to navigate through the list of {what}.",
        "example": "page[page]=1&page[per_page]=5",
        "schema": {
            "type": "object",
            "properties": {
                "page": {"type": "integer", "description": "Page number, from 1 (default 1)."},
                "per_page": {
                    "type": "integer",
                    "description": f"Items per page (default 100, values above {MAX_PER_PAGE} are capped).",
                },
            },
        },
    }


def sort_parameter(values: list[str], what: str) -> dict[str, Any]:
    return {
        "name": "sort",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "description": f"Sort {what} being returned.",
        "example": f"sort={values[-1]}" if values else "sort=created_at",
        "schema": {"type": "array", "items": {"type": "string", "enum": values}},
    }


STRING = {"type": "string"}
UPDATED_SINCE_PROPERTY = {
    "type": "string",
    "description": "Return only records updated at or after this date and time (ISO 8601).",
    "example": "2021-05-13T11:21:55Z",
}
COHORT_PROPERTY = {
    "type": "string",
    "description": "Return only records of these cohorts (comma-separated start years).",
    "example": "2022",
}
