"""Queries behind what schools do (induction tutors through the internal API, or a provider acting as
one in the sandbox): programme choices, registrations, mentors, transfers, withdrawals, challenges."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories.sql import text


class EmailTaken(Exception):
    """Another user or identity already has the email (the unique index said so)."""


@dataclass(frozen=True)
class SchoolRow:
    id: uuid.UUID
    urn: str
    name: str


@dataclass(frozen=True)
class CohortRow:
    id: uuid.UUID
    start_year: int


@dataclass(frozen=True)
class SchoolCohortRow:
    id: uuid.UUID
    induction_programme_choice: str
    default_induction_programme_id: uuid.UUID | None


@dataclass(frozen=True)
class ProgrammeRow:
    """A school cohort's programme, with the partnership (if any) it trains under."""

    id: uuid.UUID
    school_cohort_id: uuid.UUID
    training_programme: str
    partnership_id: uuid.UUID | None
    lead_provider_id: uuid.UUID | None
    delivery_partner_id: uuid.UUID | None
    partnership_challenged: bool


@dataclass(frozen=True)
class ProfileRow:
    """An ECF training record found by a participant id (current or retired)."""

    id: uuid.UUID
    profile_type: str
    user_id: uuid.UUID
    participant_identity_id: uuid.UUID
    schedule_id: uuid.UUID
    cohort_id: uuid.UUID | None
    status: str


@dataclass(frozen=True)
class RecordRow:
    """A training record's current induction record and the school/provider it sits with."""

    id: uuid.UUID
    participant_profile_id: uuid.UUID
    induction_programme_id: uuid.UUID
    schedule_id: uuid.UUID
    start_date: datetime
    end_date: datetime | None
    induction_status: str
    training_status: str
    mentor_profile_id: uuid.UUID | None
    preferred_identity_id: uuid.UUID | None
    school_id: uuid.UUID
    cohort_id: uuid.UUID
    lead_provider_id: uuid.UUID | None
    delivery_partner_id: uuid.UUID | None


@dataclass(frozen=True)
class PartnershipRow:
    id: uuid.UUID
    school_id: uuid.UUID
    cohort_id: uuid.UUID
    lead_provider_id: uuid.UUID
    challenged_at: datetime | None
    challenge_reason: str | None
    relationship: bool


@dataclass(frozen=True)
class NewPerson:
    user_id: uuid.UUID
    identity_id: uuid.UUID
    teacher_profile_id: uuid.UUID


_RECORD_COLUMNS = """
    ir.id, ir.participant_profile_id, ir.induction_programme_id, ir.schedule_id, ir.start_date,
    ir.end_date, ir.induction_status, ir.training_status, ir.mentor_profile_id, ir.preferred_identity_id,
    sc.school_id, sc.cohort_id, p.lead_provider_id, p.delivery_partner_id
"""


class SchoolActionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _one(self, sql: str, params: dict[str, Any]) -> RowMapping | None:
        return (await self.session.execute(text(sql), params)).mappings().first()

    async def _exec(self, sql: str, params: dict[str, Any]) -> None:
        await self.session.execute(text(sql), params)

    # --- reference data ---------------------------------------------------------------------------

    async def school(self, school_id: uuid.UUID) -> SchoolRow | None:
        row = await self._one("SELECT id, urn, name FROM schools WHERE id = :id", {"id": school_id})
        return SchoolRow(**row) if row else None

    async def cohort(self, start_year: int) -> CohortRow | None:
        row = await self._one(
            "SELECT id, start_year FROM cohorts WHERE start_year = :year", {"year": start_year}
        )
        return CohortRow(**row) if row else None

    async def ecf_schedule(self, cohort_id: uuid.UUID, identifier: str) -> uuid.UUID | None:
        row = await self._one(
            """SELECT id FROM schedules
                WHERE cohort_id = :cohort_id AND schedule_identifier = :identifier
                  AND schedule_type = 'ecf'""",
            {"cohort_id": cohort_id, "identifier": identifier},
        )
        return uuid.UUID(str(row["id"])) if row else None

    # --- school cohorts and programmes ------------------------------------------------------------

    async def lock_school_cohort(self, school_id: uuid.UUID, cohort_id: uuid.UUID) -> None:
        """The same advisory lock providers take when they confirm a partnership for the school and
        cohort, so a programme choice and a confirmation never interleave."""
        await self._exec(
            "SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))",
            {"key": f"partnership:{school_id}:{cohort_id}"},
        )

    async def school_cohort(self, school_id: uuid.UUID, cohort_id: uuid.UUID) -> SchoolCohortRow | None:
        row = await self._one(
            """SELECT id, induction_programme_choice, default_induction_programme_id
                 FROM school_cohorts WHERE school_id = :school_id AND cohort_id = :cohort_id FOR UPDATE""",
            {"school_id": school_id, "cohort_id": cohort_id},
        )
        return SchoolCohortRow(**row) if row else None

    async def create_school_cohort(
        self, school_id: uuid.UUID, cohort_id: uuid.UUID, choice: str, now: datetime
    ) -> SchoolCohortRow:
        row = await self._one(
            """INSERT INTO school_cohorts
                   (id, school_id, cohort_id, induction_programme_choice, created_at, updated_at)
               VALUES (gen_random_uuid(), :school_id, :cohort_id, :choice, :now, :now)
               RETURNING id, induction_programme_choice, default_induction_programme_id""",
            {"school_id": school_id, "cohort_id": cohort_id, "choice": choice, "now": now},
        )
        assert row is not None
        return SchoolCohortRow(**row)

    async def set_choice(
        self, school_cohort_id: uuid.UUID, choice: str, programme_id: uuid.UUID | None, now: datetime
    ) -> None:
        await self._exec(
            """UPDATE school_cohorts
                  SET induction_programme_choice = :choice, default_induction_programme_id = :programme_id,
                      updated_at = GREATEST(updated_at, :now)
                WHERE id = :id""",
            {"id": school_cohort_id, "choice": choice, "programme_id": programme_id, "now": now},
        )

    async def confirmed_partnership(
        self, school_id: uuid.UUID, cohort_id: uuid.UUID
    ) -> PartnershipRow | None:
        """The school's one confirmed (unchallenged, not a transfer relationship) partnership."""
        row = await self._one(
            """SELECT id, school_id, cohort_id, lead_provider_id, challenged_at, challenge_reason,
                      relationship
                 FROM partnerships
                WHERE school_id = :school_id AND cohort_id = :cohort_id AND NOT relationship
                  AND challenged_at IS NULL AND challenge_reason IS NULL""",
            {"school_id": school_id, "cohort_id": cohort_id},
        )
        return PartnershipRow(**row) if row else None

    async def programme(self, programme_id: uuid.UUID) -> ProgrammeRow | None:
        row = await self._one(
            """SELECT ip.id, ip.school_cohort_id, ip.training_programme, ip.partnership_id,
                      p.lead_provider_id, p.delivery_partner_id,
                      COALESCE(p.challenged_at IS NOT NULL OR p.challenge_reason IS NOT NULL, FALSE)
                          AS partnership_challenged
                 FROM induction_programmes ip LEFT JOIN partnerships p ON p.id = ip.partnership_id
                WHERE ip.id = :id""",
            {"id": programme_id},
        )
        return ProgrammeRow(**row) if row else None

    async def create_programme(
        self,
        school_cohort_id: uuid.UUID,
        training_programme: str,
        partnership_id: uuid.UUID | None,
        now: datetime,
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

    async def relationship_programme(
        self,
        school_id: uuid.UUID,
        cohort_id: uuid.UUID,
        lead_provider_id: uuid.UUID,
        delivery_partner_id: uuid.UUID | None,
        now: datetime,
    ) -> uuid.UUID:
        """A programme at the school under a `relationship` partnership with the provider (reused when
        one exists): how a transferring participant keeps training with their provider at a school
        that trains with someone else."""
        partnership = await self._one(
            """SELECT id FROM partnerships
                WHERE school_id = :school_id AND cohort_id = :cohort_id AND lead_provider_id = :lp
                  AND delivery_partner_id IS NOT DISTINCT FROM :dp
                  AND challenged_at IS NULL AND challenge_reason IS NULL""",
            {
                "school_id": school_id,
                "cohort_id": cohort_id,
                "lp": lead_provider_id,
                "dp": delivery_partner_id,
            },
        )
        if partnership is None:
            partnership = await self._one(
                """INSERT INTO partnerships
                       (id, school_id, lead_provider_id, cohort_id, delivery_partner_id, pending,
                        relationship, created_at, updated_at)
                   VALUES (gen_random_uuid(), :school_id, :lp, :cohort_id, :dp, FALSE, TRUE, :now, :now)
                   RETURNING id""",
                {
                    "school_id": school_id,
                    "cohort_id": cohort_id,
                    "lp": lead_provider_id,
                    "dp": delivery_partner_id,
                    "now": now,
                },
            )
            assert partnership is not None
        partnership_id = uuid.UUID(str(partnership["id"]))
        existing = await self._one(
            """SELECT ip.id FROM induction_programmes ip
                 JOIN school_cohorts sc ON sc.id = ip.school_cohort_id
                WHERE sc.school_id = :school_id AND sc.cohort_id = :cohort_id AND ip.partnership_id = :p
                ORDER BY ip.created_at LIMIT 1""",
            {"school_id": school_id, "cohort_id": cohort_id, "p": partnership_id},
        )
        if existing is not None:
            return uuid.UUID(str(existing["id"]))
        school_cohort = await self.school_cohort(school_id, cohort_id)
        if school_cohort is None:
            school_cohort = await self.create_school_cohort(
                school_id, cohort_id, "full_induction_programme", now
            )
        return await self.create_programme(school_cohort.id, "full_induction_programme", partnership_id, now)

    # --- people and training records --------------------------------------------------------------

    async def create_person(
        self, full_name: str, email: str, trn: str | None, school_id: uuid.UUID, now: datetime
    ) -> NewPerson:
        """A user, their original identity (external id = user id) and teacher profile; EmailTaken
        when the email is in use (checked by the unique indexes, so concurrent registrations of
        one email cannot both succeed)."""
        user_id = uuid.uuid4()
        try:
            async with self.session.begin_nested():
                await self._exec(
                    """INSERT INTO users (id, full_name, email, created_at, updated_at)
                       VALUES (:id, :full_name, :email, :now, :now)""",
                    {"id": user_id, "full_name": full_name, "email": email, "now": now},
                )
                identity = await self._one(
                    """INSERT INTO participant_identities
                           (id, user_id, email, external_identifier, origin, created_at, updated_at)
                       VALUES (gen_random_uuid(), :user_id, :email, :user_id, 'ecf', :now, :now)
                       RETURNING id""",
                    {"user_id": user_id, "email": email, "now": now},
                )
        except IntegrityError as exc:
            raise EmailTaken() from exc
        assert identity is not None
        teacher = await self._one(
            """INSERT INTO teacher_profiles (id, user_id, trn, school_id, created_at, updated_at)
               VALUES (gen_random_uuid(), :user_id, :trn, :school_id, :now, :now) RETURNING id""",
            {"user_id": user_id, "trn": trn, "school_id": school_id, "now": now},
        )
        assert teacher is not None
        return NewPerson(user_id, uuid.UUID(str(identity["id"])), uuid.UUID(str(teacher["id"])))

    async def email_in_use(self, email: str) -> bool:
        row = await self._one(
            """SELECT 1 FROM users WHERE lower(email) = lower(:email)
               UNION ALL SELECT 1 FROM participant_identities WHERE lower(email) = lower(:email) LIMIT 1""",
            {"email": email},
        )
        return row is not None

    async def create_profile(
        self,
        *,
        person: NewPerson,
        profile_type: str,
        schedule_id: uuid.UUID,
        school_cohort_id: uuid.UUID,
        school_id: uuid.UUID,
        cohort_id: uuid.UUID,
        induction_start_date: date | None,
        mentor_profile_id: uuid.UUID | None,
        sparsity_uplift: bool,
        pupil_premium_uplift: bool,
        now: datetime,
    ) -> uuid.UUID:
        row = await self._one(
            """INSERT INTO participant_profiles
                   (id, profile_type, participant_identity_id, teacher_profile_id, schedule_id,
                    school_cohort_id, school_id, cohort_id, mentor_profile_id, sparsity_uplift,
                    pupil_premium_uplift, status, training_status, induction_start_date,
                    profile_duplicity, created_at, updated_at)
               VALUES (gen_random_uuid(), :profile_type, :identity_id, :teacher_profile_id, :schedule_id,
                       :school_cohort_id, :school_id, :cohort_id, :mentor_profile_id, :sparsity,
                       :pupil_premium, 'active', 'active', :induction_start_date, 'single', :now, :now)
               RETURNING id""",
            {
                "profile_type": profile_type,
                "identity_id": person.identity_id,
                "teacher_profile_id": person.teacher_profile_id,
                "schedule_id": schedule_id,
                "school_cohort_id": school_cohort_id,
                "school_id": school_id,
                "cohort_id": cohort_id,
                "mentor_profile_id": mentor_profile_id,
                "sparsity": sparsity_uplift,
                "pupil_premium": pupil_premium_uplift,
                "induction_start_date": induction_start_date,
                "now": now,
            },
        )
        assert row is not None
        return uuid.UUID(str(row["id"]))

    async def add_validation_data(
        self, profile_id: uuid.UUID, full_name: str, date_of_birth: date, trn: str | None, now: datetime
    ) -> None:
        await self._exec(
            """INSERT INTO ecf_participant_validation_data
                   (id, participant_profile_id, full_name, date_of_birth, trn, api_failure, created_at,
                    updated_at)
               VALUES (gen_random_uuid(), :profile_id, :full_name, :dob, :trn, FALSE, :now, :now)""",
            {"profile_id": profile_id, "full_name": full_name, "dob": date_of_birth, "trn": trn, "now": now},
        )

    async def add_eligibility(self, profile_id: uuid.UUID, status: str, reason: str, now: datetime) -> None:
        await self._exec(
            """INSERT INTO ecf_participant_eligibilities
                   (id, participant_profile_id, status, reason, manually_validated, created_at, updated_at)
               VALUES (gen_random_uuid(), :profile_id, :status, :reason, FALSE, :now, :now)""",
            {"profile_id": profile_id, "status": status, "reason": reason, "now": now},
        )

    async def uplifts(self, school_id: uuid.UUID, start_year: int) -> tuple[bool, bool]:
        """(sparsity, pupil premium) of the school for the cohort's start year."""
        row = await self._one(
            """SELECT sparsity_incentive, pupil_premium_incentive FROM pupil_premiums
                WHERE school_id = :school_id AND start_year = :year""",
            {"school_id": school_id, "year": start_year},
        )
        return (
            (bool(row["sparsity_incentive"]), bool(row["pupil_premium_incentive"])) if row else (False, False)
        )

    async def add_school_mentor(
        self, profile_id: uuid.UUID, school_id: uuid.UUID, identity_id: uuid.UUID
    ) -> None:
        await self._exec(
            """INSERT INTO school_mentors
                   (id, participant_profile_id, school_id, preferred_identity_id, created_at, updated_at)
               VALUES (gen_random_uuid(), :profile_id, :school_id, :identity_id, now(), now())
               ON CONFLICT (participant_profile_id, school_id) DO NOTHING""",
            {"profile_id": profile_id, "school_id": school_id, "identity_id": identity_id},
        )

    async def add_record(
        self,
        *,
        profile_id: uuid.UUID,
        programme_id: uuid.UUID,
        schedule_id: uuid.UUID,
        start: datetime,
        mentor_profile_id: uuid.UUID | None,
        identity_id: uuid.UUID | None,
        training_status: str,
        school_transfer: bool,
        now: datetime,
    ) -> uuid.UUID:
        row = await self._one(
            """INSERT INTO induction_records
                   (id, participant_profile_id, induction_programme_id, schedule_id, start_date, end_date,
                    induction_status, training_status, school_transfer, mentor_profile_id,
                    preferred_identity_id, created_at, updated_at)
               VALUES (gen_random_uuid(), :profile_id, :programme_id, :schedule_id, :start, NULL, 'active',
                       :training_status, :school_transfer, :mentor, :identity_id, :now, :now)
               RETURNING id""",
            {
                "profile_id": profile_id,
                "programme_id": programme_id,
                "schedule_id": schedule_id,
                "start": start,
                "mentor": mentor_profile_id,
                "identity_id": identity_id,
                "training_status": training_status,
                "school_transfer": school_transfer,
                "now": now,
            },
        )
        assert row is not None
        return uuid.UUID(str(row["id"]))

    async def ecf_profile(self, participant_id: uuid.UUID, profile_type: str | None) -> ProfileRow | None:
        """The user's (newest) ECT or mentor training record, by a current or retired participant id;
        locked until the request commits, so actions on one record run one at a time."""
        type_clause = "AND pp.profile_type = :profile_type" if profile_type else ""
        row = await self._one(
            f"""SELECT pp.id, pp.profile_type, pi.user_id, pp.participant_identity_id, pp.schedule_id,
                       pp.cohort_id, pp.status
                  FROM participant_profiles pp
                  JOIN participant_identities pi ON pi.id = pp.participant_identity_id
                 WHERE pi.user_id = (SELECT user_id FROM participant_identities
                                      WHERE external_identifier = :participant_id)
                   AND pp.profile_type IN ('ect', 'mentor') {type_clause}
                 ORDER BY (pp.profile_type = 'ect') DESC, pp.created_at DESC, pp.id DESC
                 LIMIT 1
                 FOR UPDATE OF pp""",
            {"participant_id": participant_id, "profile_type": profile_type},
        )
        return ProfileRow(**row) if row else None

    async def current_record(
        self, profile_id: uuid.UUID, school_id: uuid.UUID | None = None
    ) -> RecordRow | None:
        """The training record's current induction record (at `school_id` when given): open-ended
        first, then the latest start; locked."""
        school_clause = "AND sc.school_id = :school_id" if school_id is not None else ""
        row = await self._one(
            f"""SELECT {_RECORD_COLUMNS}
                  FROM induction_records ir
                  JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
                  JOIN school_cohorts sc ON sc.id = ip.school_cohort_id
                  LEFT JOIN partnerships p ON p.id = ip.partnership_id
                 WHERE ir.participant_profile_id = :profile_id AND ir.induction_status <> 'changed'
                   {school_clause}
                 ORDER BY (ir.end_date IS NULL) DESC, ir.start_date DESC, ir.created_at DESC, ir.id DESC
                 LIMIT 1
                 FOR UPDATE OF ir""",
            {"profile_id": profile_id, "school_id": school_id},
        )
        return RecordRow(**row) if row else None

    async def close_record(self, record_id: uuid.UUID, status: str, end: datetime, now: datetime) -> None:
        await self._exec(
            """UPDATE induction_records
                  SET induction_status = :status, end_date = :end, updated_at = GREATEST(updated_at, :now)
                WHERE id = :id""",
            {"id": record_id, "status": status, "end": end, "now": now},
        )

    async def set_induction_status(self, record_id: uuid.UUID, status: str, now: datetime) -> None:
        await self._exec(
            """UPDATE induction_records
                  SET induction_status = :status, updated_at = GREATEST(updated_at, :now)
                WHERE id = :id""",
            {"id": record_id, "status": status, "now": now},
        )

    async def continue_record(
        self, record: RecordRow, start: datetime, mentor_profile_id: uuid.UUID | None, now: datetime
    ) -> uuid.UUID:
        """A copy of the record from `start` with a new mentor (the old one is closed by the caller)."""
        row = await self._one(
            """INSERT INTO induction_records
                   (id, participant_profile_id, induction_programme_id, schedule_id, start_date, end_date,
                    induction_status, training_status, school_transfer, mentor_profile_id,
                    preferred_identity_id, created_at, updated_at)
               SELECT gen_random_uuid(), participant_profile_id, induction_programme_id, schedule_id, :start,
                      end_date, induction_status, training_status, school_transfer, :mentor,
                      preferred_identity_id, :now, :now
                 FROM induction_records WHERE id = :id
               RETURNING id""",
            {"id": record.id, "start": start, "mentor": mentor_profile_id, "now": now},
        )
        assert row is not None
        return uuid.UUID(str(row["id"]))

    async def update_profile(self, profile_id: uuid.UUID, values: dict[str, Any], now: datetime) -> None:
        """Set named columns of a training record (names come from this module's callers)."""
        allowed = {"mentor_profile_id", "school_id", "school_cohort_id", "status"}
        assert set(values) <= allowed, f"unexpected columns {set(values) - allowed}"
        assignments = ", ".join(f"{name} = :{name}" for name in values)
        await self._exec(
            f"""UPDATE participant_profiles SET {assignments}, updated_at = GREATEST(updated_at, :now)
                 WHERE id = :id""",
            {**values, "id": profile_id, "now": now},
        )

    async def mentor_at_school(
        self, mentor_participant_id: uuid.UUID, school_id: uuid.UUID
    ) -> uuid.UUID | None:
        """The mentor training record of the participant if it is in the school's mentor pool."""
        row = await self._one(
            """SELECT pp.id FROM participant_profiles pp
                 JOIN participant_identities pi ON pi.id = pp.participant_identity_id
                 JOIN school_mentors sm ON sm.participant_profile_id = pp.id AND sm.school_id = :school_id
                WHERE pp.profile_type = 'mentor'
                  AND pi.user_id = (SELECT user_id FROM participant_identities
                                     WHERE external_identifier = :participant_id)
                ORDER BY pp.created_at DESC LIMIT 1""",
            {"participant_id": mentor_participant_id, "school_id": school_id},
        )
        return uuid.UUID(str(row["id"])) if row else None

    async def remove_from_mentor_pool(self, profile_id: uuid.UUID, school_id: uuid.UUID, on: date) -> None:
        await self._exec(
            """UPDATE school_mentors SET remove_from_school_on = :on, updated_at = now()
                WHERE participant_profile_id = :profile_id AND school_id = :school_id""",
            {"profile_id": profile_id, "school_id": school_id, "on": on},
        )

    # --- partnerships -----------------------------------------------------------------------------

    async def partnership_for_update(self, partnership_id: uuid.UUID) -> PartnershipRow | None:
        row = await self._one(
            """SELECT id, school_id, cohort_id, lead_provider_id, challenged_at, challenge_reason,
                      relationship
                 FROM partnerships WHERE id = :id FOR UPDATE""",
            {"id": partnership_id},
        )
        return PartnershipRow(**row) if row else None

    async def challenge(self, partnership_id: uuid.UUID, reason: str, now: datetime) -> None:
        await self._exec(
            """UPDATE partnerships
                  SET challenged_at = :now, challenge_reason = :reason,
                      updated_at = GREATEST(updated_at, :now)
                WHERE id = :id""",
            {"id": partnership_id, "reason": reason, "now": now},
        )

    async def touch_records_of_partnership(self, partnership_id: uuid.UUID, now: datetime) -> None:
        """Records under a challenged partnership leave the provider's view: move their updated_at
        (the triggers carry it to the participants) so incremental syncs notice."""
        await self._exec(
            """UPDATE induction_records ir SET updated_at = GREATEST(ir.updated_at, :now)
                 FROM induction_programmes ip
                WHERE ip.id = ir.induction_programme_id AND ip.partnership_id = :id""",
            {"id": partnership_id, "now": now},
        )
