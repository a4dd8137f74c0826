"""ECF schools as lead providers see them (v3): one cohort at a time, the same list for every provider."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.enums import InductionProgrammeChoice
from app.domain.errors import BadRequest, NotFound, record_id
from app.domain.paging import Page
from app.repositories.schools import SchoolEligibility, SchoolFilters, SchoolRepository, SchoolRow

COHORT_FILTER_REQUIRED = "The filter '#/cohort' must be included in your request"
SCHOOL_SORTABLE = ("created_at", "updated_at", "name", "urn")
DEFAULT_ORDER = [("created_at", False)]

# School register (GIAS) codes. Open: "open" and "open, but proposed to close".
OPEN_STATUS_CODES = (1, 3)
ELIGIBLE_TYPE_CODES = (
    1, 2, 3, 5, 6, 7, 8, 12, 14, 15, 18, 28, 31, 32, 33, 34, 35,
    36, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,
)  # fmt: skip
CIP_ONLY_TYPE_CODES = (10, 11, 30, 37)
ELIGIBILITY = SchoolEligibility(
    open_status_codes=OPEN_STATUS_CODES,
    eligible_type_codes=ELIGIBLE_TYPE_CODES,
    cip_only_type_codes=CIP_ONLY_TYPE_CODES,
)
# cohorts.start_year is a smallint: a larger number names no cohort (and must not reach the driver).
_MAX_START_YEAR = 32767
# Ruby's String#to_i: optional spaces and plus sign, then digits (underscores between them allowed).
_LEADING_INTEGER = re.compile(r"^\s*\+?(\d+(?:_\d+)*)", re.ASCII)


@dataclass(frozen=True)
class EcfSchool:
    """A school as shown for one cohort."""

    id: uuid.UUID
    name: str
    urn: str
    cohort: int
    in_partnership: bool
    induction_programme_choice: str
    created_at: datetime
    updated_at: datetime


def parse_sort(
    sort: str | None, sortable: Collection[str], default: list[tuple[str, bool]]
) -> list[tuple[str, bool]]:
    """`sort=-updated_at,name`: known columns only, `-` descending, `+`/none ascending.

    Unknown names are ignored; when nothing usable remains the default order applies, so paging
    is always stable (the reference would drop the ordering altogether).
    """
    order: list[tuple[str, bool]] = []
    for part in (sort or "").split(","):
        part = part.strip()
        if not part:
            continue
        descending = part.startswith("-")
        name = part[1:] if part[0] in "+-" else part
        if name in sortable and name not in (n for n, _ in order):
            order.append((name, descending))
    return order or list(default)


def cohort_start_year(value: str) -> int | None:
    """The single cohort year of `filter[cohort]`, cast to an integer as the reference does
    (leading digits: `"2022"`, `" 2022"` and `"2022,2023"` all name 2022); None names no cohort."""
    match = _LEADING_INTEGER.match(value)
    if not match:
        return None
    digits = match.group(1).replace("_", "")
    if len(digits) > 5:
        return None
    year = int(digits)
    return year if 0 < year <= _MAX_START_YEAR else None


def require_cohort(cohort: str | None) -> int | None:
    """`filter[cohort]` must be given (even blank: a blank or unknown year just matches nothing)."""
    if cohort is None:
        raise BadRequest(COHORT_FILTER_REQUIRED, title="Bad parameter")
    return cohort_start_year(cohort)


def _school(row: SchoolRow, year: int) -> EcfSchool:
    return EcfSchool(
        id=row.id,
        name=row.name,
        urn=row.urn,
        cohort=year,
        in_partnership=row.in_partnership,
        induction_programme_choice=row.induction_programme_choice or InductionProgrammeChoice.NOT_YET_KNOWN,
        created_at=row.created_at,
        updated_at=max(row.updated_at, row.school_cohort_updated_at or row.updated_at),
    )


class SchoolService:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = SchoolRepository(session)

    async def list_schools(
        self, year: int | None, filters: SchoolFilters, page: Page, sort: str | None = None
    ) -> list[EcfSchool]:
        """The cohort's schools; `year` comes from `require_cohort` (None: no cohort, no schools)."""
        return await self._find(year, filters, page, sort, None)

    async def get(self, school_id: str, year: int | None, filters: SchoolFilters) -> EcfSchool:
        """One school of the cohort's list (the list's filters apply too), else 404."""
        found = await self._find(year, filters, Page(1, 1), None, record_id(school_id))
        if not found:
            raise NotFound()
        return found[0]

    async def _find(
        self,
        year: int | None,
        filters: SchoolFilters,
        page: Page,
        sort: str | None,
        school_id: uuid.UUID | None,
    ) -> list[EcfSchool]:
        if year is None:
            return []
        if filters.urn is not None and "\x00" in filters.urn:
            return []  # no URN holds a NUL (and PostgreSQL text cannot)
        rows = await self.repo.list_for_cohort(
            year,
            ELIGIBILITY,
            filters,
            order_by=parse_sort(sort, SCHOOL_SORTABLE, DEFAULT_ORDER),
            page=page,
            school_id=school_id,
        )
        return [_school(r, year) for r in rows]
