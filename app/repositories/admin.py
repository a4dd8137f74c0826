"""Queries and writes behind DfE operators' internal API: reference data (providers, delivery
partners, cohorts, schedules, schools), ECF funding eligibility, induction completion and merging
duplicate participants. The rules live in `app.domain.admin`; nothing here commits.

Inserts of rows with a natural key use `ON CONFLICT DO NOTHING ... RETURNING`, so a duplicate
(even a concurrent one) comes back as "nothing inserted" for the domain to report, never as an
integrity error that would abort the request's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories.declaration_writes import StoredDeclaration
from app.repositories.sql import text

# ---- rows returned to the API -------------------------------------------------------------------


@dataclass(frozen=True)
class LeadProviderRow:
    id: uuid.UUID
    name: str
    lead_provider_id: uuid.UUID | None
    npq_lead_provider_id: uuid.UUID | None
    ecf_vat_chargeable: bool | None
    npq_vat_chargeable: bool | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class RelationshipRow:
    lead_provider_id: uuid.UUID
    cpd_lead_provider_id: uuid.UUID | None
    lead_provider_name: str
    cohort_year: int


@dataclass(frozen=True)
class DeliveryPartnerRow:
    id: uuid.UUID
    name: str
    created_at: datetime
    updated_at: datetime
    relationships: list[RelationshipRow]


@dataclass(frozen=True)
class CohortRow:
    id: uuid.UUID
    start_year: int
    registration_start_date: date | None
    academic_year_start_date: date | None
    npq_registration_start_date: date | None
    automatic_assignment_period_end_date: date | None
    mentor_funding: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MilestoneRow:
    declaration_type: str
    name: str
    start_date: date
    milestone_date: date | None
    payment_date: date


@dataclass(frozen=True)
class ScheduleRow:
    id: uuid.UUID
    schedule_identifier: str
    name: str
    schedule_type: str
    identifier_alias: str | None
    cohort_year: int
    created_at: datetime
    updated_at: datetime
    milestones: list[MilestoneRow]


SCHOOL_FIELDS = (
    "urn",
    "name",
    "ukprn",
    "school_type_code",
    "school_status_code",
    "administrative_district_code",
    "section_41_approved",
    "primary_contact_email",
    "secondary_contact_email",
    "address_line1",
    "postcode",
    "local_authority_id",
)


@dataclass(frozen=True)
class SchoolRow:
    id: uuid.UUID
    local_authority_code: str | None
    created_at: datetime
    updated_at: datetime
    fields: dict[str, Any]


@dataclass(frozen=True)
class TrainingRecordRow:
    id: uuid.UUID
    profile_type: str
    user_id: uuid.UUID
    induction_start_date: date | None
    induction_completion_date: date | None
    eligibility_status: str | None
    eligibility_reason: str | None
    updated_at: datetime


@dataclass(frozen=True)
class UserLock:
    id: uuid.UUID
    archived_at: datetime | None
    merged_into: uuid.UUID | None


@dataclass(frozen=True)
class MergeCounts:
    identities: int
    training_records: int
    npq_applications: int
    declarations: int


class AdminRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _one(self, sql: str, params: dict[str, Any]) -> RowMapping | None:
        return (await self.session.execute(text(sql), params)).mappings().first()

    async def _all(self, sql: str, params: dict[str, Any]) -> Sequence[RowMapping]:
        return (await self.session.execute(text(sql), params)).mappings().all()

    async def _id(self, sql: str, params: dict[str, Any]) -> uuid.UUID | None:
        row = await self._one(sql, params)
        return row["id"] if row else None

    # ---- look-ups ---------------------------------------------------------------------------------

    async def cohort_id(self, start_year: int) -> uuid.UUID | None:
        return await self._id("SELECT id FROM cohorts WHERE start_year = :y", {"y": start_year})

    async def ecf_role(self, provider_id: uuid.UUID) -> uuid.UUID | None:
        """The ECF role (lead_providers.id) of a provider named by its CPD id or the role's own id."""
        return await self._id(
            """SELECT id FROM lead_providers WHERE cpd_lead_provider_id = :id OR id = :id
                ORDER BY (cpd_lead_provider_id = :id) DESC LIMIT 1""",
            {"id": provider_id},
        )

    async def local_authority_id(self, code: str) -> uuid.UUID | None:
        return await self._id("SELECT id FROM local_authorities WHERE code = :code", {"code": code})

    # ---- lead providers ---------------------------------------------------------------------------

    async def insert_cpd_lead_provider(self, name: str, now: datetime) -> uuid.UUID | None:
        return await self._id(
            """INSERT INTO cpd_lead_providers (id, name, created_at, updated_at)
               VALUES (gen_random_uuid(), :name, :now, :now)
               ON CONFLICT (name) DO NOTHING RETURNING id""",
            {"name": name, "now": now},
        )

    async def insert_role(
        self, table: str, name: str, cpd_id: uuid.UUID, vat_chargeable: bool, now: datetime
    ) -> None:
        assert table in ("lead_providers", "npq_lead_providers")
        await self.session.execute(
            text(
                f"""INSERT INTO {table}
                           (id, name, cpd_lead_provider_id, vat_chargeable, created_at, updated_at)
                    VALUES (gen_random_uuid(), :name, :cpd_id, :vat, :now, :now)"""
            ),
            {"name": name, "cpd_id": cpd_id, "vat": vat_chargeable, "now": now},
        )

    async def lead_provider(self, cpd_id: uuid.UUID) -> LeadProviderRow | None:
        row = await self._one(
            """SELECT cpd.id, cpd.name, lp.id AS lead_provider_id, nlp.id AS npq_lead_provider_id,
                      lp.vat_chargeable AS ecf_vat_chargeable, nlp.vat_chargeable AS npq_vat_chargeable,
                      cpd.created_at, cpd.updated_at
                 FROM cpd_lead_providers cpd
                 LEFT JOIN lead_providers lp ON lp.cpd_lead_provider_id = cpd.id
                 LEFT JOIN npq_lead_providers nlp ON nlp.cpd_lead_provider_id = cpd.id
                WHERE cpd.id = :id""",
            {"id": cpd_id},
        )
        return LeadProviderRow(**row) if row else None

    # ---- delivery partners ------------------------------------------------------------------------

    async def insert_delivery_partner(self, name: str, now: datetime) -> uuid.UUID:
        found = await self._id(
            """INSERT INTO delivery_partners (id, name, created_at, updated_at)
               VALUES (gen_random_uuid(), :name, :now, :now) RETURNING id""",
            {"name": name, "now": now},
        )
        assert found is not None
        return found

    async def insert_relationship(
        self, lead_provider_id: uuid.UUID, delivery_partner_id: uuid.UUID, cohort_id: uuid.UUID, now: datetime
    ) -> None:
        await self.session.execute(
            text(
                """INSERT INTO provider_relationships
                       (id, lead_provider_id, delivery_partner_id, cohort_id, created_at, updated_at)
                   VALUES (gen_random_uuid(), :lp, :dp, :cohort, :now, :now)
                   ON CONFLICT (lead_provider_id, delivery_partner_id, cohort_id)
                   WHERE discarded_at IS NULL DO NOTHING"""
            ),
            {"lp": lead_provider_id, "dp": delivery_partner_id, "cohort": cohort_id, "now": now},
        )

    async def delivery_partner(self, delivery_partner_id: uuid.UUID) -> DeliveryPartnerRow | None:
        row = await self._one(
            "SELECT id, name, created_at, updated_at FROM delivery_partners WHERE id = :id",
            {"id": delivery_partner_id},
        )
        if row is None:
            return None
        relationships = await self._all(
            """SELECT pr.lead_provider_id, lp.cpd_lead_provider_id, lp.name AS lead_provider_name,
                      c.start_year AS cohort_year
                 FROM provider_relationships pr
                 JOIN lead_providers lp ON lp.id = pr.lead_provider_id
                 JOIN cohorts c ON c.id = pr.cohort_id
                WHERE pr.delivery_partner_id = :id AND pr.discarded_at IS NULL
                ORDER BY lp.name, c.start_year""",
            {"id": delivery_partner_id},
        )
        return DeliveryPartnerRow(**row, relationships=[RelationshipRow(**r) for r in relationships])

    # ---- cohorts ----------------------------------------------------------------------------------

    async def insert_cohort(self, values: dict[str, Any], now: datetime) -> uuid.UUID | None:
        columns = "".join(f", {k}" for k in values)
        placeholders = "".join(f", :{k}" for k in values)
        return await self._id(
            f"""INSERT INTO cohorts (id, created_at, updated_at{columns})
                VALUES (gen_random_uuid(), :now, :now{placeholders})
                ON CONFLICT (start_year) DO NOTHING RETURNING id""",
            {"now": now, **values},
        )

    async def cohort(self, cohort_id: uuid.UUID) -> CohortRow | None:
        row = await self._one(
            f"SELECT {', '.join(CohortRow.__dataclass_fields__)} FROM cohorts WHERE id = :id",
            {"id": cohort_id},
        )
        return CohortRow(**row) if row else None

    # ---- schedules --------------------------------------------------------------------------------

    async def insert_schedule(
        self,
        cohort_id: uuid.UUID,
        identifier: str,
        name: str,
        schedule_type: str,
        alias: str | None,
        now: datetime,
    ) -> uuid.UUID | None:
        return await self._id(
            """INSERT INTO schedules
                   (id, cohort_id, schedule_identifier, name, schedule_type, identifier_alias,
                    created_at, updated_at)
               VALUES (gen_random_uuid(), :cohort_id, :identifier, :name, :type, :alias, :now, :now)
               ON CONFLICT (cohort_id, schedule_identifier) DO NOTHING RETURNING id""",
            {
                "cohort_id": cohort_id,
                "identifier": identifier,
                "name": name,
                "type": schedule_type,
                "alias": alias,
                "now": now,
            },
        )

    async def insert_milestone(self, schedule_id: uuid.UUID, milestone: MilestoneRow, now: datetime) -> None:
        await self.session.execute(
            text(
                """INSERT INTO milestones
                       (id, schedule_id, name, declaration_type, start_date, milestone_date, payment_date,
                        created_at, updated_at)
                   VALUES (gen_random_uuid(), :schedule_id, :name, :declaration_type, :start_date,
                           :milestone_date, :payment_date, :now, :now)"""
            ),
            {"schedule_id": schedule_id, "now": now, **milestone.__dict__},
        )

    async def schedule(self, schedule_id: uuid.UUID) -> ScheduleRow | None:
        row = await self._one(
            """SELECT s.id, s.schedule_identifier, s.name, s.schedule_type, s.identifier_alias,
                      c.start_year AS cohort_year, s.created_at, s.updated_at
                 FROM schedules s JOIN cohorts c ON c.id = s.cohort_id WHERE s.id = :id""",
            {"id": schedule_id},
        )
        if row is None:
            return None
        milestones = await self._all(
            """SELECT declaration_type, name, start_date, milestone_date, payment_date FROM milestones
                WHERE schedule_id = :id ORDER BY start_date, declaration_type""",
            {"id": schedule_id},
        )
        return ScheduleRow(**row, milestones=[MilestoneRow(**m) for m in milestones])

    # ---- schools ----------------------------------------------------------------------------------

    async def insert_school(self, values: dict[str, Any], now: datetime) -> uuid.UUID | None:
        columns = "".join(f", {k}" for k in values if k in SCHOOL_FIELDS)
        placeholders = "".join(f", :{k}" for k in values if k in SCHOOL_FIELDS)
        return await self._id(
            f"""INSERT INTO schools (id, created_at, updated_at{columns})
                VALUES (gen_random_uuid(), :now, :now{placeholders})
                ON CONFLICT (urn) DO NOTHING RETURNING id""",
            {"now": now, **{k: v for k, v in values.items() if k in SCHOOL_FIELDS}},
        )

    async def school(self, school_id: uuid.UUID) -> SchoolRow | None:
        row = await self._one(
            f"""SELECT s.id, la.code AS local_authority_code, s.created_at, s.updated_at,
                       {", ".join(f"s.{k}" for k in SCHOOL_FIELDS)}
                  FROM schools s LEFT JOIN local_authorities la ON la.id = s.local_authority_id
                 WHERE s.id = :id""",
            {"id": school_id},
        )
        if row is None:
            return None
        values = dict(row)
        head = {k: values.pop(k) for k in ("id", "local_authority_code", "created_at", "updated_at")}
        return SchoolRow(**head, fields=values)

    # ---- training records: eligibility and induction completion ---------------------------------

    async def training_record(
        self, profile_id: uuid.UUID, *, for_update: bool = False
    ) -> TrainingRecordRow | None:
        row = await self._one(
            f"""SELECT pp.id, pp.profile_type, pi.user_id, pp.induction_start_date,
                       pp.induction_completion_date,
                       e.status AS eligibility_status, e.reason AS eligibility_reason, pp.updated_at
                  FROM participant_profiles pp
                  JOIN participant_identities pi ON pi.id = pp.participant_identity_id
                  LEFT JOIN ecf_participant_eligibilities e ON e.participant_profile_id = pp.id
                 WHERE pp.id = :id {"FOR UPDATE OF pp" if for_update else ""}""",
            {"id": profile_id},
        )
        return TrainingRecordRow(**row) if row else None

    async def set_eligibility(
        self, profile_id: uuid.UUID, status: str, reason: str | None, now: datetime
    ) -> None:
        """Create or replace the record's eligibility, marked as manually validated (a trigger moves
        the training record's and the user's updated_at with it)."""
        await self.session.execute(
            text(
                """INSERT INTO ecf_participant_eligibilities
                       (id, participant_profile_id, status, reason, manually_validated,
                        created_at, updated_at)
                   VALUES (gen_random_uuid(), :id, :status, :reason, true, :now, :now)
                   ON CONFLICT (participant_profile_id) DO UPDATE
                      SET status = EXCLUDED.status, reason = EXCLUDED.reason, manually_validated = true,
                          updated_at = GREATEST(
                              ecf_participant_eligibilities.updated_at, EXCLUDED.updated_at)"""
            ),
            {"id": profile_id, "status": status, "reason": reason, "now": now},
        )

    async def submitted_declarations(self, profile_id: uuid.UUID) -> list[StoredDeclaration]:
        """The record's `submitted` declarations, locked, oldest first."""
        rows = await self._all(
            """SELECT d.id, d.programme, d.state, d.declaration_type, d.course_identifier, d.declaration_date,
                      d.participant_profile_id, d.cpd_lead_provider_id, d.cohort_id, pp.profile_type
                 FROM participant_declarations d
                 JOIN participant_profiles pp ON pp.id = d.participant_profile_id
                WHERE d.participant_profile_id = :id AND d.state = 'submitted'
                ORDER BY d.created_at, d.id
                  FOR UPDATE OF d""",
            {"id": profile_id},
        )
        return [StoredDeclaration(**r) for r in rows]

    async def set_induction_completion(
        self, profile_id: uuid.UUID, completed_on: date | None, now: datetime
    ) -> None:
        await self.session.execute(
            text(
                """UPDATE participant_profiles
                      SET induction_completion_date = :completed_on, updated_at = GREATEST(updated_at, :now)
                    WHERE id = :id"""
            ),
            {"id": profile_id, "completed_on": completed_on, "now": now},
        )

    # ---- merging participants ---------------------------------------------------------------------

    async def lock_users(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, UserLock]:
        """Lock the users one by one in id order (two merges over the same pair never deadlock), and
        say for each whether it has already been merged into another."""
        found: dict[uuid.UUID, UserLock] = {}
        for user_id in sorted(set(user_ids)):
            row = await self._one(
                """SELECT u.id, u.archived_at,
                          (SELECT ch.to_participant_id FROM participant_id_changes ch
                            WHERE ch.from_participant_id = u.id
                            ORDER BY ch.created_at DESC, ch.id DESC LIMIT 1) AS merged_into
                     FROM users u WHERE u.id = :id FOR UPDATE OF u""",
                {"id": user_id},
            )
            if row is not None:
                found[user_id] = UserLock(**row)
        return found

    async def identity_ids(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        rows = await self._all(
            "SELECT id FROM participant_identities WHERE user_id = :id ORDER BY created_at, id",
            {"id": user_id},
        )
        return [r["id"] for r in rows]

    async def move_identities(
        self, identity_ids: Sequence[uuid.UUID], to_user: uuid.UUID, now: datetime
    ) -> None:
        """Identities change hands and keep their external_identifier (the retired id)."""
        await self.session.execute(
            text(
                """UPDATE participant_identities SET user_id = :to, updated_at = GREATEST(updated_at, :now)
                    WHERE id = ANY(:ids)"""
            ),
            {"ids": list(identity_ids), "to": to_user, "now": now},
        )

    async def touch_records_of_identities(
        self, identity_ids: Sequence[uuid.UUID], now: datetime
    ) -> tuple[int, int]:
        """Move updated_at of the training records and NPQ applications hanging off these identities,
        so providers' syncs of either see the new participant id. Returns how many of each."""
        params = {"ids": list(identity_ids), "now": now}
        profiles = await self.session.execute(
            text(
                """UPDATE participant_profiles SET updated_at = GREATEST(updated_at, :now)
                    WHERE participant_identity_id = ANY(:ids) RETURNING id"""
            ),
            params,
        )
        applications = await self.session.execute(
            text(
                """UPDATE npq_applications SET updated_at = GREATEST(updated_at, :now)
                    WHERE participant_identity_id = ANY(:ids) RETURNING id"""
            ),
            params,
        )
        return len(profiles.all()), len(applications.all())

    async def teacher_profile(self, user_id: uuid.UUID) -> tuple[uuid.UUID, str | None] | None:
        row = await self._one("SELECT id, trn FROM teacher_profiles WHERE user_id = :id", {"id": user_id})
        return (row["id"], row["trn"]) if row else None

    async def give_teacher_profile(
        self, teacher_profile_id: uuid.UUID, to_user: uuid.UUID, now: datetime
    ) -> None:
        await self.session.execute(
            text(
                """UPDATE teacher_profiles SET user_id = :to, updated_at = GREATEST(updated_at, :now)
                    WHERE id = :id"""
            ),
            {"id": teacher_profile_id, "to": to_user, "now": now},
        )

    async def fold_teacher_profile(
        self, from_profile: uuid.UUID, into_profile: uuid.UUID, trn: str | None, now: datetime
    ) -> None:
        """Training records of the retired teacher profile join the survivor's (which takes the TRN
        if it has none); the retired one is then removed, so no other user keeps the TRN."""
        params = {"from": from_profile, "into": into_profile, "trn": trn, "now": now}
        await self.session.execute(
            text(
                """UPDATE participant_profiles
                      SET teacher_profile_id = :into, updated_at = GREATEST(updated_at, :now)
                    WHERE teacher_profile_id = :from"""
            ),
            params,
        )
        await self.session.execute(
            text(
                """UPDATE teacher_profiles SET trn = COALESCE(trn, CAST(:trn AS varchar)),
                          updated_at = GREATEST(updated_at, :now)
                    WHERE id = :into"""
            ),
            params,
        )
        await self.session.execute(text("DELETE FROM teacher_profiles WHERE id = :from"), params)

    async def move_induction_tutor(self, from_user: uuid.UUID, to_user: uuid.UUID, now: datetime) -> None:
        """An induction tutor profile follows the person; if both had one, the schools of the retired
        one join the survivor's and the retired profile is removed."""
        params = {"from": from_user, "to": to_user, "now": now}
        survivor = await self._id("SELECT id FROM induction_coordinator_profiles WHERE user_id = :to", params)
        retired = await self._id(
            "SELECT id FROM induction_coordinator_profiles WHERE user_id = :from", params
        )
        if retired is None:
            return
        if survivor is None:
            await self.session.execute(
                text(
                    """UPDATE induction_coordinator_profiles SET user_id = :to,
                              updated_at = GREATEST(updated_at, :now) WHERE id = :retired"""
                ),
                {**params, "retired": retired},
            )
            return
        await self.session.execute(
            text(
                """INSERT INTO induction_coordinator_profile_schools
                       (id, induction_coordinator_profile_id, school_id, created_at, updated_at)
                   SELECT gen_random_uuid(), :survivor, school_id, :now, :now
                     FROM induction_coordinator_profile_schools
                    WHERE induction_coordinator_profile_id = :retired
                   ON CONFLICT (induction_coordinator_profile_id, school_id) DO NOTHING"""
            ),
            {**params, "survivor": survivor, "retired": retired},
        )
        await self.session.execute(
            text(
                "DELETE FROM induction_coordinator_profile_schools"
                " WHERE induction_coordinator_profile_id = :r"
            ),
            {"r": retired},
        )
        await self.session.execute(
            text("DELETE FROM induction_coordinator_profiles WHERE id = :r"), {"r": retired}
        )

    async def move_declarations(self, from_user: uuid.UUID, to_user: uuid.UUID, now: datetime) -> int:
        """Declarations of (and mentor links to) the retired user now name the survivor; their
        updated_at moves so providers' declaration syncs see the new participant id."""
        params = {"from": from_user, "to": to_user, "now": now}
        moved = await self.session.execute(
            text(
                """UPDATE participant_declarations SET user_id = :to, updated_at = GREATEST(updated_at, :now)
                    WHERE user_id = :from RETURNING id"""
            ),
            params,
        )
        await self.session.execute(
            text(
                """UPDATE participant_declarations SET mentor_user_id = :to,
                          updated_at = GREATEST(updated_at, :now)
                    WHERE mentor_user_id = :from"""
            ),
            params,
        )
        return len(moved.all())

    async def record_id_change(self, from_user: uuid.UUID, to_user: uuid.UUID, now: datetime) -> uuid.UUID:
        """Earlier changes of the retired user now belong to the survivor, then the new one is added."""
        params = {"from": from_user, "to": to_user, "now": now}
        await self.session.execute(
            text(
                """UPDATE participant_id_changes SET user_id = :to, updated_at = GREATEST(updated_at, :now)
                    WHERE user_id = :from"""
            ),
            params,
        )
        change = await self._id(
            """INSERT INTO participant_id_changes
                   (id, user_id, from_participant_id, to_participant_id, created_at, updated_at)
               VALUES (gen_random_uuid(), :to, :from, :to, :now, :now) RETURNING id""",
            params,
        )
        assert change is not None
        return change

    async def retire_user(self, from_user: uuid.UUID, to_user: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            text(
                """UPDATE users SET archived_at = CASE WHEN id = :from THEN :now ELSE archived_at END,
                          updated_at = GREATEST(updated_at, :now)
                    WHERE id IN (:from, :to)"""
            ),
            {"from": from_user, "to": to_user, "now": now},
        )
