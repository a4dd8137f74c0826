"""Queries and writes behind the NPQ application endpoints (list, show, CSV, accept, reject).

Reading: lists page over application ids first (provider, filters, order, offset/limit on the
provider's created_at index), then load that page's rows in one query. "Previously funded" is a
correlated EXISTS in that same query, so a page costs two statements whatever its size. CSV
exports run the row query unpaged from a server-side cursor.

Writing: the accept rules live in `app.domain.npq_applications`; this module only reads, locks and
writes rows, and never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.npq_courses import SUPPORT_OFFER_COURSES
from app.domain.paging import DEFAULT_MIN_COHORT_EXCLUSIVE, Page
from app.repositories.sql import rows_as, text

# Application columns the NPQ registration service writes (everything the providers' API shows).
APPLICATION_FIELDS = (
    "eligible_for_funding",
    "funding_eligiblity_status_code",
    "targeted_delivery_funding_eligibility",
    "targeted_support_funding_eligibility",
    "tsf_primary_eligibility",
    "tsf_primary_plus_eligibility",
    "funded_place",
    "teacher_reference_number",
    "teacher_reference_number_verified",
    "date_of_birth",
    "nino",
    "school_urn",
    "school_ukprn",
    "headteacher_status",
    "funding_choice",
    "works_in_school",
    "works_in_nursery",
    "works_in_childcare",
    "kind_of_nursery",
    "private_childcare_provider_urn",
    "employer_name",
    "employment_role",
    "employment_type",
    "teacher_catchment",
    "teacher_catchment_country",
    "teacher_catchment_iso_country_code",
    "itt_provider",
    "lead_mentor",
    "primary_establishment",
    "number_of_pupils",
    "notes",
)

# Application columns a v3 `sort` may name (the reference accepts any column of the table).
SORTABLE_COLUMNS = (
    "id",
    "participant_identity_id",
    "npq_lead_provider_id",
    "npq_course_id",
    "cohort_id",
    "schedule_id",
    "lead_provider_approval_status",
    *APPLICATION_FIELDS,
    "eligible_for_funding_updated_at",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class ApplicationFilters:
    """What a list or CSV export is narrowed to. No cohort filter means every cohort after 2020."""

    cohort_years: list[int] | None = None  # v3: any of these start years
    cohort_year: int | None = None  # v1/v2: this start year; an unknown one matches "no cohort"
    updated_since: datetime | None = None  # application row's updated_at, strictly after
    user_id: uuid.UUID | None = None  # v3 participant_id


class ApplicationRow(NamedTuple):
    """One application with everything any version shows (derived values are computed by the domain)."""

    id: uuid.UUID
    user_id: uuid.UUID
    full_name: str
    email: str
    course_identifier: str
    status: str
    employer_name: str | None
    employment_role: str | None
    funding_choice: str | None
    headteacher_status: str | None
    eligible_for_funding: bool
    previously_funded: bool
    private_childcare_provider_urn: str | None
    teacher_reference_number: str | None
    teacher_reference_number_verified: bool
    school_urn: str | None
    school_ukprn: str | None
    works_in_school: bool | None
    created_at: datetime
    updated_at: datetime
    cohort_year: int | None
    targeted_delivery_funding_eligibility: bool
    teacher_catchment: str | None
    teacher_catchment_iso_country_code: str | None
    teacher_catchment_country: str | None
    itt_provider: str | None
    lead_mentor: bool
    schedule_identifier: str | None


@dataclass(frozen=True)
class EnrolmentCsvRow:
    """One NPQ training record of the provider, as the v2 enrolments export shows it."""

    user_id: uuid.UUID
    course_identifier: str
    schedule_identifier: str
    cohort_year: int
    application_id: uuid.UUID
    eligible_for_funding: bool
    training_status: str
    school_urn: str | None


@dataclass(frozen=True)
class AcceptTarget:
    """An application about to be accepted or rejected, with the people and TRNs around it."""

    id: uuid.UUID
    status: str
    participant_identity_id: uuid.UUID
    user_id: uuid.UUID
    npq_course_id: uuid.UUID
    course_identifier: str
    cohort_id: uuid.UUID | None
    cohort_year: int | None
    teacher_reference_number: str | None
    teacher_reference_number_verified: bool
    school_urn: str | None
    school_ukprn: str | None
    teacher_profile_id: uuid.UUID | None
    teacher_profile_trn: str | None


@dataclass(frozen=True)
class NpqSchedule:
    id: uuid.UUID
    schedule_identifier: str
    schedule_type: str


_ROW_COLUMNS = """
    a.id, pi.user_id, u.full_name, pi.email, co.identifier AS course_identifier,
    a.lead_provider_approval_status AS status, a.employer_name, a.employment_role, a.funding_choice,
    a.headteacher_status, a.eligible_for_funding,
    EXISTS (
        SELECT 1 FROM npq_applications o JOIN npq_courses oc ON oc.id = o.npq_course_id
         WHERE o.participant_identity_id = a.participant_identity_id AND o.id <> a.id
           AND o.lead_provider_approval_status = 'accepted' AND o.eligible_for_funding
           AND (o.npq_course_id = a.npq_course_id
                OR (oc.identifier = ANY(:rebranded) AND co.identifier = ANY(:rebranded)))
    ) AS previously_funded,
    a.private_childcare_provider_urn, a.teacher_reference_number, a.teacher_reference_number_verified,
    a.school_urn, a.school_ukprn, a.works_in_school, a.created_at,
    GREATEST(a.updated_at, u.updated_at, pi.updated_at, pp.updated_at) AS updated_at,
    c.start_year AS cohort_year, a.targeted_delivery_funding_eligibility, a.teacher_catchment,
    a.teacher_catchment_iso_country_code, a.teacher_catchment_country, a.itt_provider, a.lead_mentor,
    s.schedule_identifier
"""

_ROW_JOINS = """
    JOIN participant_identities pi ON pi.id = a.participant_identity_id
    JOIN users u ON u.id = pi.user_id
    JOIN npq_courses co ON co.id = a.npq_course_id
    LEFT JOIN cohorts c ON c.id = a.cohort_id
    LEFT JOIN participant_profiles pp ON pp.id = a.id AND pp.profile_type = 'npq'
    LEFT JOIN schedules s ON s.id = pp.schedule_id
"""


def _filter_sql(npq_lead_provider_id: uuid.UUID, filters: ApplicationFilters, params: dict[str, Any]) -> str:
    """The WHERE clause over `npq_applications a` (the provider's applications, filtered)."""
    params["npq_lead_provider_id"] = npq_lead_provider_id
    where = ["a.npq_lead_provider_id = :npq_lead_provider_id"]
    if filters.cohort_year is not None:
        # The reference looks the year up and filters on the cohort it finds, or on none.
        params["cohort_year"] = filters.cohort_year
        where.append(
            "a.cohort_id IS NOT DISTINCT FROM (SELECT id FROM cohorts WHERE start_year = :cohort_year)"
        )
    elif filters.cohort_years is not None:
        params["cohort_years"] = filters.cohort_years
        where.append("a.cohort_id IN (SELECT id FROM cohorts WHERE start_year = ANY(:cohort_years))")
    else:
        params["min_cohort"] = DEFAULT_MIN_COHORT_EXCLUSIVE
        where.append("a.cohort_id IN (SELECT id FROM cohorts WHERE start_year > :min_cohort)")
    if filters.updated_since is not None:
        params["updated_since"] = filters.updated_since
        where.append("a.updated_at > :updated_since")
    if filters.user_id is not None:
        params["user_id"] = filters.user_id
        where.append(
            "a.participant_identity_id IN (SELECT id FROM participant_identities WHERE user_id = :user_id)"
        )
    return " AND ".join(where)


def _order_sql(order_by: Sequence[tuple[str, bool]]) -> str:
    """ORDER BY over whitelisted application columns, the id last so pages never overlap."""
    keys = [
        f"a.{column} {'DESC' if desc else 'ASC'}" for column, desc in order_by if column in SORTABLE_COLUMNS
    ]
    return ", ".join([*keys, "a.id ASC"])


def _row(mapping: RowMapping) -> ApplicationRow:
    return ApplicationRow(**mapping)


class NpqApplicationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _one(self, sql: str, params: dict[str, Any]) -> RowMapping | None:
        return (await self.session.execute(text(sql), params)).mappings().first()

    # ---- reading ----------------------------------------------------------------------------

    async def page_ids(
        self,
        npq_lead_provider_id: uuid.UUID,
        filters: ApplicationFilters,
        order_by: Sequence[tuple[str, bool]],
        page: Page,
    ) -> list[uuid.UUID]:
        params: dict[str, Any] = {"limit": page.limit, "offset": page.offset}
        where = _filter_sql(npq_lead_provider_id, filters, params)
        sql = f"""SELECT a.id FROM npq_applications a WHERE {where}
                  ORDER BY {_order_sql(order_by)} LIMIT :limit OFFSET :offset"""
        result = await self.session.execute(text(sql), params)
        return [row[0] for row in result]

    async def rows(self, ids: Sequence[uuid.UUID]) -> list[ApplicationRow]:
        """These applications, in the order given."""
        if not ids:
            return []
        sql = f"""SELECT {_ROW_COLUMNS}
                    FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS page(id, position)
                    JOIN npq_applications a ON a.id = page.id
                    {_ROW_JOINS}
                   ORDER BY page.position"""
        result = await self.session.execute(
            text(sql), {"ids": list(ids), "rebranded": list(SUPPORT_OFFER_COURSES)}
        )
        return rows_as(ApplicationRow, result)

    async def find_for_provider(
        self, npq_lead_provider_id: uuid.UUID, application_id: uuid.UUID
    ) -> ApplicationRow | None:
        sql = f"""SELECT {_ROW_COLUMNS} FROM npq_applications a {_ROW_JOINS}
                   WHERE a.id = :id AND a.npq_lead_provider_id = :npq_lead_provider_id"""
        row = await self._one(
            sql,
            {
                "id": application_id,
                "npq_lead_provider_id": npq_lead_provider_id,
                "rebranded": list(SUPPORT_OFFER_COURSES),
            },
        )
        return _row(row) if row else None

    @staticmethod
    async def stream_rows(
        maker: async_sessionmaker[AsyncSession],
        npq_lead_provider_id: uuid.UUID,
        filters: ApplicationFilters,
        order_by: Sequence[tuple[str, bool]],
        batch_size: int = 1000,
    ) -> AsyncIterator[list[ApplicationRow]]:
        """Every matching application, in batches from a server-side cursor (memory stays flat)."""
        params: dict[str, Any] = {"rebranded": list(SUPPORT_OFFER_COURSES)}
        where = _filter_sql(npq_lead_provider_id, filters, params)
        sql = f"""SELECT {_ROW_COLUMNS} FROM npq_applications a {_ROW_JOINS}
                   WHERE {where} ORDER BY {_order_sql(order_by)}"""
        async with maker() as session:
            result = await session.stream(text(sql).execution_options(yield_per=batch_size), params)
            async for partition in result.mappings().partitions(batch_size):
                yield [_row(r) for r in partition]

    @staticmethod
    async def stream_enrolments(
        maker: async_sessionmaker[AsyncSession],
        npq_lead_provider_id: uuid.UUID,
        updated_since: datetime | None,
        batch_size: int = 1000,
    ) -> AsyncIterator[list[EnrolmentCsvRow]]:
        """The provider's NPQ training records (one per accepted application), oldest change first."""
        params: dict[str, Any] = {"npq_lead_provider_id": npq_lead_provider_id}
        since = ""
        if updated_since is not None:
            params["updated_since"] = updated_since
            since = "AND pp.updated_at > :updated_since"
        sql = f"""SELECT pi.user_id, co.identifier AS course_identifier, s.schedule_identifier,
                         c.start_year AS cohort_year, a.id AS application_id, a.eligible_for_funding,
                         pp.training_status, pp.school_urn
                    FROM npq_applications a
                    JOIN participant_profiles pp ON pp.id = a.id AND pp.profile_type = 'npq'
                    JOIN participant_identities pi ON pi.id = pp.participant_identity_id
                    JOIN npq_courses co ON co.id = a.npq_course_id
                    JOIN schedules s ON s.id = pp.schedule_id
                    JOIN cohorts c ON c.id = s.cohort_id
                   WHERE a.npq_lead_provider_id = :npq_lead_provider_id {since}
                   ORDER BY pp.updated_at, pp.id"""
        async with maker() as session:
            result = await session.stream(text(sql).execution_options(yield_per=batch_size), params)
            async for partition in result.mappings().partitions(batch_size):
                yield [EnrolmentCsvRow(**r) for r in partition]

    # ---- accept / reject: reading under locks ---------------------------------------------------

    async def target(
        self, npq_lead_provider_id: uuid.UUID, application_id: uuid.UUID, *, for_update: bool = False
    ) -> AcceptTarget | None:
        """The provider's application (FOR UPDATE locks its row until the request commits)."""
        row = await self._one(
            f"""SELECT a.id, a.lead_provider_approval_status AS status, a.participant_identity_id,
                       pi.user_id, a.npq_course_id, co.identifier AS course_identifier, a.cohort_id,
                       c.start_year AS cohort_year, a.teacher_reference_number,
                       a.teacher_reference_number_verified, a.school_urn, a.school_ukprn,
                       tp.id AS teacher_profile_id, tp.trn AS teacher_profile_trn
                  FROM npq_applications a
                  JOIN participant_identities pi ON pi.id = a.participant_identity_id
                  JOIN npq_courses co ON co.id = a.npq_course_id
                  LEFT JOIN cohorts c ON c.id = a.cohort_id
                  LEFT JOIN teacher_profiles tp ON tp.user_id = pi.user_id
                 WHERE a.id = :id AND a.npq_lead_provider_id = :npq_lead_provider_id
                 {"FOR UPDATE OF a" if for_update else ""}""",
            {"id": application_id, "npq_lead_provider_id": npq_lead_provider_id},
        )
        return AcceptTarget(**row) if row else None

    async def advisory_lock(self, key: str) -> None:
        """A transaction-scoped lock on `key`, released when the request's transaction ends."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
        )

    async def oldest_other_user_with_trn(
        self, trn: str, teacher_profile_id: uuid.UUID | None
    ) -> uuid.UUID | None:
        """The user behind the oldest other teacher profile carrying this TRN."""
        row = await self._one(
            """SELECT user_id FROM teacher_profiles
                WHERE trn = :trn AND (CAST(:tp AS uuid) IS NULL OR id <> CAST(:tp AS uuid))
                ORDER BY created_at, id LIMIT 1""",
            {"trn": trn, "tp": teacher_profile_id},
        )
        return row["user_id"] if row else None

    async def accepted_elsewhere(
        self, application_id: uuid.UUID, user_ids: Sequence[uuid.UUID], course_identifiers: Sequence[str]
    ) -> bool:
        """Another accepted application (any provider, any cohort) of these users for these courses."""
        row = await self._one(
            """SELECT 1 FROM npq_applications a
                 JOIN participant_identities pi ON pi.id = a.participant_identity_id
                 JOIN npq_courses co ON co.id = a.npq_course_id
                WHERE a.lead_provider_approval_status = 'accepted' AND a.id <> :id
                  AND pi.user_id = ANY(:user_ids) AND co.identifier = ANY(:courses)
                LIMIT 1""",
            {"id": application_id, "user_ids": list(user_ids), "courses": list(course_identifiers)},
        )
        return row is not None

    async def npq_schedule(self, cohort_id: uuid.UUID, identifier: str) -> NpqSchedule | None:
        """The cohort's NPQ schedule with this identifier (or alias); the identifier wins over an alias."""
        row = await self._one(
            """SELECT id, schedule_identifier, schedule_type FROM schedules
                WHERE cohort_id = :cohort_id AND schedule_type LIKE 'npq%'
                  AND (schedule_identifier = :identifier OR identifier_alias = :identifier)
                ORDER BY (schedule_identifier = :identifier) DESC, created_at, id LIMIT 1""",
            {"cohort_id": cohort_id, "identifier": identifier},
        )
        return NpqSchedule(**row) if row else None

    async def first_schedule_of_type(self, cohort_id: uuid.UUID, schedule_type: str) -> NpqSchedule | None:
        """The cohort's earliest-starting schedule of a family."""
        row = await self._one(
            """SELECT s.id, s.schedule_identifier, s.schedule_type FROM schedules s
                WHERE s.cohort_id = :cohort_id AND s.schedule_type = :schedule_type
                ORDER BY (SELECT min(m.start_date) FROM milestones m WHERE m.schedule_id = s.id) NULLS LAST,
                         s.created_at, s.id
                LIMIT 1""",
            {"cohort_id": cohort_id, "schedule_type": schedule_type},
        )
        return NpqSchedule(**row) if row else None

    # ---- accept / reject: writing ---------------------------------------------------------------

    async def teacher_profile(self, user_id: uuid.UUID, trn: str | None, now: datetime) -> uuid.UUID:
        """The user's teacher profile (created when missing); a given TRN replaces the stored one."""
        params = {"user_id": user_id, "trn": trn, "now": now}
        await self.session.execute(
            text(
                """INSERT INTO teacher_profiles (user_id, trn, created_at, updated_at)
                   VALUES (:user_id, :trn, :now, :now)
                   ON CONFLICT (user_id) DO UPDATE
                      SET trn = EXCLUDED.trn, updated_at = GREATEST(teacher_profiles.updated_at, :now)
                    WHERE CAST(:trn AS varchar) IS NOT NULL
                      AND teacher_profiles.trn IS DISTINCT FROM EXCLUDED.trn"""
            ),
            params,
        )
        row = await self._one(
            "SELECT id FROM teacher_profiles WHERE user_id = :user_id", {"user_id": user_id}
        )
        assert row is not None, "the teacher profile was just ensured"
        profile_id: uuid.UUID = row["id"]
        return profile_id

    async def create_npq_profile(
        self,
        target: AcceptTarget,
        teacher_profile_id: uuid.UUID,
        schedule_id: uuid.UUID,
        cohort_id: uuid.UUID | None,
        cpd_lead_provider_id: uuid.UUID,
        now: datetime,
    ) -> None:
        """The training record the application becomes (same id), with its first `active` state."""
        await self.session.execute(
            text(
                """INSERT INTO participant_profiles
                       (id, profile_type, participant_identity_id, teacher_profile_id, schedule_id, cohort_id,
                        npq_course_id, school_urn, school_ukprn, status, training_status,
                        profile_duplicity, created_at, updated_at)
                   VALUES (:id, 'npq', :identity_id, :teacher_profile_id, :schedule_id, :cohort_id,
                           :course_id, :school_urn, :school_ukprn, 'active', 'active', 'single',
                           :now, :now)"""
            ),
            {
                "id": target.id,
                "identity_id": target.participant_identity_id,
                "teacher_profile_id": teacher_profile_id,
                "schedule_id": schedule_id,
                "cohort_id": cohort_id,
                "course_id": target.npq_course_id,
                "school_urn": target.school_urn,
                "school_ukprn": target.school_ukprn,
                "now": now,
            },
        )
        await self.session.execute(
            text(
                """INSERT INTO participant_profile_states
                       (participant_profile_id, cpd_lead_provider_id, state, created_at, updated_at)
                   VALUES (:id, :cpd, 'active', :now, :now)"""
            ),
            {"id": target.id, "cpd": cpd_lead_provider_id, "now": now},
        )

    async def set_status(
        self, application_id: uuid.UUID, status: str, now: datetime, schedule_id: uuid.UUID | None = None
    ) -> None:
        await self.session.execute(
            text(
                """UPDATE npq_applications
                      SET lead_provider_approval_status = :status,
                          schedule_id = COALESCE(CAST(:schedule_id AS uuid), schedule_id),
                          updated_at = GREATEST(updated_at, :now)
                    WHERE id = :id"""
            ),
            {"id": application_id, "status": status, "schedule_id": schedule_id, "now": now},
        )

    async def reject_same_course_and_cohort(self, target: AcceptTarget, now: datetime) -> None:
        """The user's other applications for exactly this course and cohort, at any provider."""
        await self.session.execute(
            text(
                """UPDATE npq_applications a
                      SET lead_provider_approval_status = 'rejected',
                          updated_at = GREATEST(a.updated_at, :now)
                     FROM participant_identities pi
                    WHERE pi.id = a.participant_identity_id AND pi.user_id = :user_id
                      AND a.npq_course_id = :course_id
                      AND a.cohort_id IS NOT DISTINCT FROM CAST(:cohort_id AS uuid)
                      AND a.id <> :id AND a.lead_provider_approval_status <> 'rejected'"""
            ),
            {
                "id": target.id,
                "user_id": target.user_id,
                "course_id": target.npq_course_id,
                "cohort_id": target.cohort_id,
                "now": now,
            },
        )
