"""Queries behind the v3 ECF schools endpoints.

The list is not scoped to the calling provider: every lead provider sees the same schools for a
cohort. Pages are taken over school ids first (ordered on an indexed school column), then the page's
cohort details are loaded in the same statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.paging import Page
from app.repositories.sql import rows_as, text

# Columns of `schools` a list may be ordered by (names come from the domain, never from the wire).
SORTABLE_COLUMNS = frozenset({"created_at", "updated_at", "name", "urn"})


@dataclass(frozen=True)
class SchoolEligibility:
    """The school register codes that decide whether a school is eligible or CIP-only."""

    open_status_codes: tuple[int, ...]
    eligible_type_codes: tuple[int, ...]
    cip_only_type_codes: tuple[int, ...]


@dataclass(frozen=True)
class SchoolFilters:
    urn: str | None = None
    updated_since: datetime | None = None


class SchoolRow(NamedTuple):
    """A school with its data for one cohort (built positionally: rows_as)."""

    id: uuid.UUID
    name: str
    urn: str
    created_at: datetime
    updated_at: datetime
    induction_programme_choice: str | None
    school_cohort_updated_at: datetime | None
    in_partnership: bool


# Open, in England, and an eligible establishment type or section 41 approved.
_ELIGIBLE = """
    s.school_status_code = ANY(:open_status_codes)
    AND (s.administrative_district_code ILIKE 'E%' OR s.administrative_district_code = '9999')
    AND (s.school_type_code = ANY(:eligible_type_codes) OR s.section_41_approved)
"""
# Not (open and of a type that may only run the core induction programme); unknown codes are not CIP-only.
_NOT_CIP_ONLY = """
    NOT COALESCE(
        s.school_status_code = ANY(:open_status_codes) AND s.school_type_code = ANY(:cip_only_type_codes),
        FALSE
    )
"""
_UNCHALLENGED = "p.challenged_at IS NULL AND p.challenge_reason IS NULL"


def _order_sql(order_by: Sequence[tuple[str, bool]], alias: str) -> str:
    parts = []
    for column, descending in order_by:
        if column not in SORTABLE_COLUMNS:
            raise ValueError(f"not a sortable school column: {column}")
        parts.append(f"{alias}.{column} {'DESC' if descending else 'ASC'}")
    parts.append(f"{alias}.id ASC")  # unique tie-breaker: pages never overlap or skip
    return ", ".join(parts)


class SchoolRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_for_cohort(
        self,
        start_year: int,
        eligibility: SchoolEligibility,
        filters: SchoolFilters,
        *,
        order_by: Sequence[tuple[str, bool]],
        page: Page,
        school_id: uuid.UUID | None = None,
    ) -> list[SchoolRow]:
        """Schools visible in the cohort starting in `start_year`: eligible and not CIP-only, or
        partnered in the cohort; none when no cohort starts that year.

        A partnership makes a school visible when it is unchallenged and not an internal
        `relationship` record, whichever provider holds it. The cohort is looked up in the same
        statement (a round trip less than asking for it first); joined to it, an unknown year
        lists nothing.
        """
        params: dict[str, Any] = {
            "start_year": start_year,
            "open_status_codes": list(eligibility.open_status_codes),
            "eligible_type_codes": list(eligibility.eligible_type_codes),
            "cip_only_type_codes": list(eligibility.cip_only_type_codes),
            "limit": page.limit,
            "offset": page.offset,
        }
        where = [
            f"""(
                (({_ELIGIBLE}) AND ({_NOT_CIP_ONLY}))
                OR EXISTS (
                    SELECT 1 FROM partnerships p
                     WHERE p.school_id = s.id AND p.cohort_id = c.id
                       AND {_UNCHALLENGED} AND NOT p.relationship
                )
            )""",
        ]
        if filters.urn is not None:
            params["urn"] = filters.urn
            where.append("s.urn = :urn")
        if filters.updated_since is not None:
            # The school or any of its school cohorts (whatever the cohort) changed since.
            params["updated_since"] = filters.updated_since
            where.append(
                "(s.updated_at >= :updated_since OR EXISTS ("
                " SELECT 1 FROM school_cohorts fsc"
                " WHERE fsc.school_id = s.id AND fsc.updated_at >= :updated_since))"
            )
        if school_id is not None:
            params["school_id"] = school_id
            where.append("s.id = :school_id")
        sql = f"""
            WITH cohort AS (SELECT id FROM cohorts WHERE start_year = :start_year),
            page AS (
                SELECT s.id FROM cohort c, schools s
                 WHERE {" AND ".join(where)}
                 ORDER BY {_order_sql(order_by, "s")}
                 LIMIT :limit OFFSET :offset
            )
            SELECT s.id, s.name, s.urn, s.created_at, s.updated_at,
                   sc.induction_programme_choice, sc.updated_at AS school_cohort_updated_at,
                   EXISTS (
                       SELECT 1 FROM partnerships p
                        WHERE p.school_id = s.id AND p.cohort_id = c.id AND {_UNCHALLENGED}
                   ) AS in_partnership
              FROM page
              JOIN schools s ON s.id = page.id
             CROSS JOIN cohort c
              LEFT JOIN school_cohorts sc ON sc.school_id = s.id AND sc.cohort_id = c.id
             ORDER BY {_order_sql(order_by, "s")}
        """
        return rows_as(SchoolRow, await self.session.execute(text(sql), params))
