"""Queries and writes behind the v3 partnerships endpoints.

A provider sees its own partnerships that are not internal `relationship` records, challenged
ones included. Lists page over partnership ids first (filtered and ordered on partnership columns),
then load the page's school, delivery partner and induction tutor in the same statement.

Writes never commit: the request does. Confirmations for one school and cohort are serialised by
a transaction-scoped advisory lock; the unique constraint on (school, lead provider, delivery
partner, cohort) refuses an identical second row even without it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.paging import DEFAULT_MIN_COHORT_EXCLUSIVE, Page
from app.repositories.sql import rows_as, text

# Columns of `partnerships` a list may be ordered by (names come from the domain, never the wire).
SORTABLE_COLUMNS = frozenset({"created_at", "updated_at", "challenged_at", "challenge_reason"})
# Uniqueness rules a second partnership runs into: (school, lead provider, delivery partner, cohort),
# as PostgreSQL names it (the declared name is longer than 63 characters, so it is shortened with a
# hash suffix); and one confirmed partnership per school and cohort, if that index exists.
_UNIQUENESS_RULES = (
    "uq_partnerships_school_id_lead_provider_id_delivery_par_2ee1",
    "uq_partnerships_confirmed_school_cohort",
)
_UNCHALLENGED = "p.challenged_at IS NULL AND p.challenge_reason IS NULL"


class DuplicatePartnership(Exception):
    """A uniqueness rule refused the partnership: another row already has the same school,
    provider, delivery partner and cohort (or is the school's confirmed partnership in the cohort)."""


@dataclass(frozen=True)
class PartnershipFilters:
    cohort_years: list[int] | None = None
    delivery_partner_ids: list[uuid.UUID] | None = None
    updated_since: datetime | None = None


class PartnershipRow(NamedTuple):
    """A partnership as shown, with what its attributes derive from; built positionally from its
    statement's columns (rows_as), cheaper per row than a frozen dataclass from a mapping."""

    id: uuid.UUID
    cohort_year: int
    school_id: uuid.UUID
    urn: str
    delivery_partner_id: uuid.UUID | None
    delivery_partner_name: str | None
    challenge_reason: str | None
    challenged_at: datetime | None
    tutor_name: str | None
    tutor_email: str | None
    primary_contact_email: str | None
    secondary_contact_email: str | None
    created_at: datetime
    updated_at: datetime
    school_updated_at: datetime
    delivery_partner_updated_at: datetime | None
    tutor_updated_at: datetime | None


@dataclass(frozen=True)
class CohortRecord:
    id: uuid.UUID
    start_year: int
    academic_year_start_date: date | None


@dataclass(frozen=True)
class SchoolRecord:
    """What decides whether a school may be partnered (school register codes)."""

    id: uuid.UUID
    school_type_code: int | None
    school_status_code: int | None
    administrative_district_code: str | None
    section_41_approved: bool


@dataclass(frozen=True)
class StoredPartnership:
    id: uuid.UUID
    school_id: uuid.UUID
    lead_provider_id: uuid.UUID
    cohort_id: uuid.UUID
    cohort_year: int
    delivery_partner_id: uuid.UUID | None
    challenge_reason: str | None
    relationship: bool


@dataclass(frozen=True)
class ReportValues:
    """What confirming (or re-confirming) a partnership sets."""

    delivery_partner_id: uuid.UUID
    challenge_deadline: datetime
    report_id: uuid.UUID


@dataclass(frozen=True)
class ReusableRow:
    """A partnership row a confirmation would reuse; `confirmed`: it already is an unchallenged,
    ordinary partnership (only possible when another confirmation got there first)."""

    id: uuid.UUID
    confirmed: bool


@dataclass(frozen=True)
class SchoolCohortRecord:
    id: uuid.UUID
    default_induction_programme_id: uuid.UUID | None


@dataclass(frozen=True)
class ProgrammeRecord:
    id: uuid.UUID
    training_programme: str
    partnership_id: uuid.UUID | None
    partnership_challenged: bool


_DETAILS = """
    SELECT p.id, c.start_year AS cohort_year, s.id AS school_id, s.urn,
           p.delivery_partner_id, dp.name AS delivery_partner_name,
           p.challenge_reason, p.challenged_at,
           tutor.full_name AS tutor_name, tutor.email AS tutor_email,
           s.primary_contact_email, s.secondary_contact_email,
           p.created_at, p.updated_at, s.updated_at AS school_updated_at,
           dp.updated_at AS delivery_partner_updated_at, tutor.updated_at AS tutor_updated_at
      FROM partnerships p
      JOIN cohorts c ON c.id = p.cohort_id
      JOIN schools s ON s.id = p.school_id
      LEFT JOIN delivery_partners dp ON dp.id = p.delivery_partner_id
      LEFT JOIN LATERAL (
          -- The school's first induction tutor: the earliest one linked to it.
          SELECT u.full_name, u.email, u.updated_at
            FROM induction_coordinator_profile_schools icps
            JOIN induction_coordinator_profiles icp ON icp.id = icps.induction_coordinator_profile_id
            JOIN users u ON u.id = icp.user_id
           WHERE icps.school_id = s.id
           ORDER BY icps.created_at, icps.id
           LIMIT 1
      ) tutor ON TRUE
"""

# Any of the school's induction tutors changed since (the partnership's own columns are checked
# separately).
_TUTOR_UPDATED_SINCE = """
    EXISTS (
        SELECT 1 FROM induction_coordinator_profile_schools icps
          JOIN induction_coordinator_profiles icp ON icp.id = icps.induction_coordinator_profile_id
          JOIN users u ON u.id = icp.user_id
         WHERE icps.school_id = p.school_id AND u.updated_at >= :updated_since
    )
"""

_STORED = """
    SELECT p.id, p.school_id, p.lead_provider_id, p.cohort_id, c.start_year AS cohort_year,
           p.delivery_partner_id, p.challenge_reason, p.relationship
      FROM partnerships p JOIN cohorts c ON c.id = p.cohort_id
"""


def _order_sql(order_by: Sequence[tuple[str, bool]]) -> str:
    parts = []
    for column, descending in order_by:
        if column not in SORTABLE_COLUMNS:
            raise ValueError(f"not a sortable partnership column: {column}")
        parts.append(f"p.{column} {'DESC' if descending else 'ASC'}")
    parts.append("p.id ASC")  # unique tie-breaker: pages never overlap or skip
    return ", ".join(parts)


def _row(mapping: RowMapping) -> PartnershipRow:
    return PartnershipRow(**mapping)


class PartnershipRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _one(self, sql: str, params: dict[str, Any]) -> RowMapping | None:
        return (await self.session.execute(text(sql), params)).mappings().first()

    # --- reading ----------------------------------------------------------------------------------

    async def list_for_provider(
        self,
        lead_provider_id: uuid.UUID,
        filters: PartnershipFilters,
        *,
        order_by: Sequence[tuple[str, bool]],
        page: Page,
    ) -> list[PartnershipRow]:
        params: dict[str, Any] = {
            "lead_provider_id": lead_provider_id,
            "limit": page.limit,
            "offset": page.offset,
        }
        where = ["p.lead_provider_id = :lead_provider_id", "NOT p.relationship"]
        if filters.cohort_years is None:
            params["min_year"] = DEFAULT_MIN_COHORT_EXCLUSIVE
            where.append("c.start_year > :min_year")
        else:
            params["cohort_years"] = filters.cohort_years
            where.append("c.start_year = ANY(:cohort_years)")
        if filters.delivery_partner_ids is not None:
            params["delivery_partner_ids"] = filters.delivery_partner_ids
            where.append("p.delivery_partner_id = ANY(:delivery_partner_ids)")
        if filters.updated_since is not None:
            params["updated_since"] = filters.updated_since
            where.append(
                f"""(p.updated_at >= :updated_since
                     OR EXISTS (SELECT 1 FROM schools fs
                                 WHERE fs.id = p.school_id AND fs.updated_at >= :updated_since)
                     OR EXISTS (SELECT 1 FROM delivery_partners fdp
                                 WHERE fdp.id = p.delivery_partner_id AND fdp.updated_at >= :updated_since)
                     OR {_TUTOR_UPDATED_SINCE})"""
            )
        order = _order_sql(order_by)
        sql = f"""
            WITH page AS (
                SELECT p.id FROM partnerships p JOIN cohorts c ON c.id = p.cohort_id
                 WHERE {" AND ".join(where)}
                 ORDER BY {order}
                 LIMIT :limit OFFSET :offset
            )
            {_DETAILS}
              JOIN page ON page.id = p.id
             ORDER BY {order}
        """
        return rows_as(PartnershipRow, await self.session.execute(text(sql), params))

    async def find_for_provider(
        self, lead_provider_id: uuid.UUID, partnership_id: uuid.UUID
    ) -> PartnershipRow | None:
        """One of the provider's partnerships (any cohort, challenged or not), never a relationship."""
        row = await self._one(
            f"{_DETAILS} WHERE p.id = :id AND p.lead_provider_id = :lead_provider_id AND NOT p.relationship",
            {"id": partnership_id, "lead_provider_id": lead_provider_id},
        )
        return _row(row) if row else None

    async def stored_for_provider(
        self, lead_provider_id: uuid.UUID, partnership_id: uuid.UUID, *, for_update: bool = False
    ) -> StoredPartnership | None:
        row = await self._one(
            f"""{_STORED}
                 WHERE p.id = :id AND p.lead_provider_id = :lead_provider_id AND NOT p.relationship
                 {"FOR UPDATE OF p" if for_update else ""}""",
            {"id": partnership_id, "lead_provider_id": lead_provider_id},
        )
        return StoredPartnership(**row) if row else None

    # --- what the confirmation rules look up ------------------------------------------------------

    async def cohort(self, start_year: int) -> CohortRecord | None:
        row = await self._one(
            "SELECT id, start_year, academic_year_start_date FROM cohorts WHERE start_year = :year",
            {"year": start_year},
        )
        return CohortRecord(**row) if row else None

    async def cohort_by_id(self, cohort_id: uuid.UUID) -> CohortRecord:
        row = await self._one(
            "SELECT id, start_year, academic_year_start_date FROM cohorts WHERE id = :id", {"id": cohort_id}
        )
        assert row is not None, "a partnership's cohort exists"
        return CohortRecord(**row)

    async def school(self, school_id: uuid.UUID) -> SchoolRecord | None:
        row = await self._one(
            """SELECT id, school_type_code, school_status_code, administrative_district_code,
                      section_41_approved
                 FROM schools WHERE id = :id""",
            {"id": school_id},
        )
        return SchoolRecord(**row) if row else None

    async def confirmed_lead_providers(self, school_id: uuid.UUID, start_year: int) -> list[uuid.UUID]:
        """Providers holding an unchallenged, non-relationship partnership with the school in the
        cohort with this start year (pending ones included)."""
        result = await self.session.execute(
            text(
                f"""SELECT DISTINCT p.lead_provider_id FROM partnerships p
                      JOIN cohorts c ON c.id = p.cohort_id
                     WHERE p.school_id = :school_id AND c.start_year = :year
                       AND {_UNCHALLENGED} AND NOT p.relationship"""
            ),
            {"school_id": school_id, "year": start_year},
        )
        return [r[0] for r in result.all()]

    async def school_cohort_exists(self, school_id: uuid.UUID, cohort_id: uuid.UUID) -> bool:
        row = await self._one(
            "SELECT 1 FROM school_cohorts WHERE school_id = :school_id AND cohort_id = :cohort_id",
            {"school_id": school_id, "cohort_id": cohort_id},
        )
        return row is not None

    async def delivery_partner_exists(self, delivery_partner_id: uuid.UUID) -> bool:
        """A delivery partner that has not been soft-deleted."""
        row = await self._one(
            "SELECT 1 FROM delivery_partners WHERE id = :id AND discarded_at IS NULL",
            {"id": delivery_partner_id},
        )
        return row is not None

    async def provider_relationship_exists(
        self, lead_provider_id: uuid.UUID, delivery_partner_id: uuid.UUID, cohort_id: uuid.UUID
    ) -> bool:
        row = await self._one(
            """SELECT 1 FROM provider_relationships
                WHERE lead_provider_id = :lead_provider_id AND delivery_partner_id = :delivery_partner_id
                  AND cohort_id = :cohort_id AND discarded_at IS NULL
                LIMIT 1""",
            {
                "lead_provider_id": lead_provider_id,
                "delivery_partner_id": delivery_partner_id,
                "cohort_id": cohort_id,
            },
        )
        return row is not None

    async def other_partnership_with_partner(
        self, partnership: StoredPartnership, delivery_partner_id: uuid.UUID
    ) -> bool:
        """Another partnership of the same school, cohort and provider already names the partner."""
        row = await self._one(
            """SELECT 1 FROM partnerships
                WHERE school_id = :school_id AND cohort_id = :cohort_id
                  AND lead_provider_id = :lead_provider_id AND delivery_partner_id = :delivery_partner_id
                  AND id <> :id
                LIMIT 1""",
            {
                "school_id": partnership.school_id,
                "cohort_id": partnership.cohort_id,
                "lead_provider_id": partnership.lead_provider_id,
                "delivery_partner_id": delivery_partner_id,
                "id": partnership.id,
            },
        )
        return row is not None

    # --- writes -----------------------------------------------------------------------------------

    async def lock_school_cohort(self, school_id: uuid.UUID, cohort_id: uuid.UUID) -> None:
        """Serialise partnership changes for one school and cohort (whatever the provider) until commit."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"partnership:{school_id}:{cohort_id}"},
        )

    async def partnership_to_report(
        self,
        school_id: uuid.UUID,
        cohort_id: uuid.UUID,
        lead_provider_id: uuid.UUID,
        delivery_partner_id: uuid.UUID,
    ) -> ReusableRow | None:
        """The row a confirmation reuses, locked: the provider's `relationship` record with this
        delivery partner, else its ordinary partnership with the school in the cohort (one that
        already names the partner first, so re-pointing it cannot collide with another)."""
        params = {
            "school_id": school_id,
            "cohort_id": cohort_id,
            "lead_provider_id": lead_provider_id,
            "delivery_partner_id": delivery_partner_id,
        }
        base = f"""SELECT p.id, NOT p.relationship AND {_UNCHALLENGED} AS confirmed FROM partnerships p
                    WHERE p.school_id = :school_id AND p.cohort_id = :cohort_id
                      AND p.lead_provider_id = :lead_provider_id"""
        row = await self._one(
            f"""{base} AND p.relationship AND p.delivery_partner_id = :delivery_partner_id
                ORDER BY p.created_at, p.id LIMIT 1 FOR UPDATE""",
            params,
        )
        if row is None:
            row = await self._one(
                f"""{base} AND NOT p.relationship
                    ORDER BY (p.delivery_partner_id IS NOT DISTINCT FROM :delivery_partner_id) DESC,
                             p.created_at, p.id
                    LIMIT 1 FOR UPDATE""",
                params,
            )
        return ReusableRow(**row) if row else None

    async def insert_partnership(
        self,
        school_id: uuid.UUID,
        cohort_id: uuid.UUID,
        lead_provider_id: uuid.UUID,
        values: ReportValues,
        now: datetime,
    ) -> uuid.UUID:
        """Insert inside a savepoint, so a unique-constraint refusal leaves the transaction usable."""
        try:
            async with self.session.begin_nested():
                row = await self._one(
                    """INSERT INTO partnerships
                           (id, school_id, cohort_id, lead_provider_id, delivery_partner_id, pending,
                            relationship, challenge_deadline, report_id, created_at, updated_at)
                       VALUES (gen_random_uuid(), :school_id, :cohort_id, :lead_provider_id,
                            :delivery_partner_id, FALSE, FALSE, :challenge_deadline, :report_id, :now, :now)
                       RETURNING id""",
                    {
                        "school_id": school_id,
                        "cohort_id": cohort_id,
                        "lead_provider_id": lead_provider_id,
                        "delivery_partner_id": values.delivery_partner_id,
                        "challenge_deadline": values.challenge_deadline,
                        "report_id": values.report_id,
                        "now": now,
                    },
                )
        except IntegrityError as exc:
            if any(name in str(exc.orig) for name in _UNIQUENESS_RULES):
                raise DuplicatePartnership() from exc
            raise
        assert row is not None
        return uuid.UUID(str(row["id"]))

    async def report(self, partnership_id: uuid.UUID, values: ReportValues, now: datetime) -> None:
        """Confirm an existing row: an ordinary, unchallenged, active partnership with the partner."""
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    text(
                        """UPDATE partnerships
                              SET relationship = FALSE, challenge_reason = NULL, challenged_at = NULL,
                                  pending = FALSE, delivery_partner_id = :delivery_partner_id,
                                  challenge_deadline = :challenge_deadline, report_id = :report_id,
                                  updated_at = GREATEST(updated_at, :now)
                            WHERE id = :id"""
                    ),
                    {
                        "id": partnership_id,
                        "delivery_partner_id": values.delivery_partner_id,
                        "challenge_deadline": values.challenge_deadline,
                        "report_id": values.report_id,
                        "now": now,
                    },
                )
        except IntegrityError as exc:
            if any(name in str(exc.orig) for name in _UNIQUENESS_RULES):
                raise DuplicatePartnership() from exc
            raise

    # --- the school cohort's induction programme ------------------------------------------------

    async def school_cohort_for_update(
        self, school_id: uuid.UUID, cohort_id: uuid.UUID
    ) -> SchoolCohortRecord | None:
        row = await self._one(
            """SELECT id, default_induction_programme_id FROM school_cohorts
                WHERE school_id = :school_id AND cohort_id = :cohort_id FOR UPDATE""",
            {"school_id": school_id, "cohort_id": cohort_id},
        )
        return SchoolCohortRecord(**row) if row else None

    async def create_school_cohort(
        self, school_id: uuid.UUID, cohort_id: uuid.UUID, choice: str, now: datetime
    ) -> SchoolCohortRecord:
        row = await self._one(
            """INSERT INTO school_cohorts
                   (id, school_id, cohort_id, induction_programme_choice, created_at, updated_at)
               VALUES (gen_random_uuid(), :school_id, :cohort_id, :choice, :now, :now)
               RETURNING id, default_induction_programme_id""",
            {"school_id": school_id, "cohort_id": cohort_id, "choice": choice, "now": now},
        )
        assert row is not None
        return SchoolCohortRecord(**row)

    async def programme(self, programme_id: uuid.UUID) -> ProgrammeRecord | None:
        row = await self._one(
            """SELECT ip.id, ip.training_programme, ip.partnership_id,
                      COALESCE(p.challenge_reason IS NOT NULL, FALSE) AS partnership_challenged
                 FROM induction_programmes ip LEFT JOIN partnerships p ON p.id = ip.partnership_id
                WHERE ip.id = :id""",
            {"id": programme_id},
        )
        return ProgrammeRecord(**row) if row else None

    async def set_programme_partnership(
        self, programme_id: uuid.UUID, partnership_id: uuid.UUID, now: datetime
    ) -> None:
        await self.session.execute(
            text(
                """UPDATE induction_programmes
                      SET partnership_id = :partnership_id, updated_at = GREATEST(updated_at, :now)
                    WHERE id = :id"""
            ),
            {"id": programme_id, "partnership_id": partnership_id, "now": now},
        )

    async def create_programme(
        self, school_cohort_id: uuid.UUID, training_programme: str, partnership_id: uuid.UUID, now: datetime
    ) -> uuid.UUID:
        row = await self._one(
            """INSERT INTO induction_programmes
                   (id, school_cohort_id, partnership_id, training_programme, created_at, updated_at)
               VALUES (gen_random_uuid(), :school_cohort_id, :partnership_id, :training_programme, :now, :now)
               RETURNING id""",
            {
                "school_cohort_id": school_cohort_id,
                "partnership_id": partnership_id,
                "training_programme": training_programme,
                "now": now,
            },
        )
        assert row is not None
        return uuid.UUID(str(row["id"]))

    async def move_participants(
        self, from_programme: uuid.UUID, to_programme: uuid.UUID, now: datetime
    ) -> None:
        """Continue every placement of one programme in another, keeping history: a record that has
        started (and was not already superseded) is copied onto the new programme from now and closed
        as `changed`; one that starts later is moved as it is."""
        params = {"from": from_programme, "to": to_programme, "now": now}
        await self.session.execute(
            text(
                """UPDATE induction_records
                      SET induction_programme_id = :to, updated_at = GREATEST(updated_at, :now)
                    WHERE induction_programme_id = :from AND start_date > :now"""
            ),
            params,
        )
        await self.session.execute(
            text(
                """INSERT INTO induction_records
                       (id, participant_profile_id, induction_programme_id, schedule_id, start_date, end_date,
                        induction_status, training_status, school_transfer, mentor_profile_id,
                        preferred_identity_id, created_at, updated_at)
                   SELECT gen_random_uuid(), participant_profile_id, :to, schedule_id, :now, end_date,
                          induction_status, training_status, school_transfer, mentor_profile_id,
                          preferred_identity_id, :now, :now
                     FROM induction_records
                    WHERE induction_programme_id = :from AND induction_status <> 'changed'"""
            ),
            params,
        )
        await self.session.execute(
            text(
                """UPDATE induction_records
                      SET induction_status = 'changed', end_date = :now,
                          updated_at = GREATEST(updated_at, :now)
                    WHERE induction_programme_id = :from AND induction_status <> 'changed'"""
            ),
            params,
        )

    async def set_default_programme(
        self,
        school_cohort_id: uuid.UUID,
        programme_id: uuid.UUID,
        now: datetime,
        *,
        choice: str | None = None,
    ) -> None:
        """Point the school cohort at its new default programme (and, given a choice, record it and
        opt the school back in to updates)."""
        await self.session.execute(
            text(
                """UPDATE school_cohorts
                      SET default_induction_programme_id = :programme_id,
                          induction_programme_choice =
                              COALESCE(CAST(:choice AS text), induction_programme_choice),
                          opt_out_of_updates = opt_out_of_updates AND CAST(:choice AS text) IS NULL,
                          updated_at = GREATEST(updated_at, :now)
                    WHERE id = :id"""
            ),
            {"id": school_cohort_id, "programme_id": programme_id, "now": now, "choice": choice},
        )
