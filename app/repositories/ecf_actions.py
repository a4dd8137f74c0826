"""Queries and writes behind the ECF participant actions (defer, resume, withdraw, change-schedule).

The rules live in `app.domain.ecf_actions`; this module only reads and writes rows, never commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.repositories.participant_lookup import Milestone, ParticipantLookup
from app.repositories.sql import text

LIVE_STATES = ("submitted", "eligible", "payable", "paid")


@dataclass(frozen=True)
class ActionRecord:
    """The caller's latest induction record of a profile (challenged partnerships included)."""

    id: uuid.UUID
    participant_profile_id: uuid.UUID
    induction_programme_id: uuid.UUID
    schedule_id: uuid.UUID
    schedule_cohort_year: int
    training_status: str
    start_date: datetime
    end_date: datetime | None
    school_transfer: bool
    school_id: uuid.UUID
    school_cohort_year: int


@dataclass(frozen=True)
class ScheduleChoice:
    id: uuid.UUID
    schedule_identifier: str
    schedule_type: str
    cohort_id: uuid.UUID
    cohort_year: int


@dataclass(frozen=True)
class LiveDeclaration:
    declaration_type: str
    declaration_date: datetime


@dataclass(frozen=True)
class PartnershipMatch:
    id: uuid.UUID
    relationship: bool


@dataclass(frozen=True)
class SchoolCohortRow:
    id: uuid.UUID
    cohort_id: uuid.UUID
    default_induction_programme_id: uuid.UUID | None


# Every column an induction record is copied with when it is re-versioned.
_RECORD_COPY_COLUMNS = (
    "participant_profile_id, induction_programme_id, schedule_id, end_date, induction_status, "
    "training_status, school_transfer, mentor_profile_id, preferred_identity_id"
)


class EcfActionRepository(ParticipantLookup):
    async def lock_profile(self, profile_id: uuid.UUID) -> None:
        """Serialise actions on one training record until the request commits."""
        await self.session.execute(
            text("SELECT 1 FROM participant_profiles WHERE id = :id FOR UPDATE"), {"id": profile_id}
        )

    async def relevant_record(
        self, profile_id: uuid.UUID, lead_provider_id: uuid.UUID
    ) -> ActionRecord | None:
        row = await self._one(
            """SELECT ir.id, ir.participant_profile_id, ir.induction_programme_id, ir.schedule_id,
                      sch_c.start_year AS schedule_cohort_year, ir.training_status, ir.start_date,
                      ir.end_date, ir.school_transfer, sc.school_id, sc_c.start_year AS school_cohort_year
                 FROM induction_records ir
                 JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
                 JOIN partnerships p ON p.id = ip.partnership_id
                 JOIN school_cohorts sc ON sc.id = ip.school_cohort_id
                 JOIN cohorts sc_c ON sc_c.id = sc.cohort_id
                 JOIN schedules s ON s.id = ir.schedule_id
                 JOIN cohorts sch_c ON sch_c.id = s.cohort_id
                WHERE ir.participant_profile_id = :profile_id AND p.lead_provider_id = :lead_provider_id
                ORDER BY (ir.end_date IS NULL) DESC, ir.start_date DESC, ir.created_at DESC, ir.id DESC
                LIMIT 1""",
            {"profile_id": profile_id, "lead_provider_id": lead_provider_id},
        )
        return ActionRecord(**row) if row else None

    # --- defer / resume / withdraw -------------------------------------------------------------

    async def add_state(
        self,
        profile_id: uuid.UUID,
        cpd_lead_provider_id: uuid.UUID,
        state: str,
        reason: str | None,
        now: datetime,
    ) -> None:
        await self.session.execute(
            text(
                """INSERT INTO participant_profile_states
                       (participant_profile_id, cpd_lead_provider_id, state, reason, created_at, updated_at)
                   VALUES (:profile_id, :cpd, :state, :reason, :now, :now)"""
            ),
            {
                "profile_id": profile_id,
                "cpd": cpd_lead_provider_id,
                "state": state,
                "reason": reason,
                "now": now,
            },
        )

    async def set_profile_training_status(self, profile_id: uuid.UUID, status: str, now: datetime) -> None:
        await self.session.execute(
            text(
                """UPDATE participant_profiles
                      SET training_status = :status, updated_at = GREATEST(updated_at, :now)
                    WHERE id = :id"""
            ),
            {"id": profile_id, "status": status, "now": now},
        )

    # --- re-versioning an induction record ------------------------------------------------------

    async def update_record(self, record_id: uuid.UUID, values: dict[str, Any], now: datetime) -> None:
        sets = ", ".join(f"{column} = :{column}" for column in values)
        await self.session.execute(
            text(
                f"UPDATE induction_records SET {sets}, updated_at = GREATEST(updated_at, :now) WHERE id = :id"
            ),
            {**values, "id": record_id, "now": now},
        )

    async def copy_record(
        self, record_id: uuid.UUID, values: dict[str, Any], start_date: datetime, now: datetime
    ) -> uuid.UUID:
        """A copy of the record starting at `start_date` with `values` changed; returns its id."""
        columns = [c.strip() for c in _RECORD_COPY_COLUMNS.split(",")]
        select_list = ", ".join(f":{c}" if c in values else c for c in columns)
        new_id = (
            await self.session.execute(
                text(
                    f"""INSERT INTO induction_records
                            ({_RECORD_COPY_COLUMNS}, start_date, created_at, updated_at)
                        SELECT {select_list}, :start_date, :now, :now FROM induction_records WHERE id = :id
                        RETURNING id"""
                ),
                {**values, "id": record_id, "start_date": start_date, "now": now},
            )
        ).scalar_one()
        return uuid.UUID(str(new_id))

    # --- change-schedule ------------------------------------------------------------------------

    async def cohort_id(self, start_year: int) -> uuid.UUID | None:
        # Start years are smallints: a number none holds names no cohort (and would fail the query).
        if not -(2**15) <= start_year < 2**15:
            return None
        row = await self._one("SELECT id FROM cohorts WHERE start_year = :year", {"year": start_year})
        return row["id"] if row else None

    async def schedule_cohort_year(self, schedule_id: uuid.UUID) -> int:
        row = await self._one(
            "SELECT c.start_year FROM schedules s JOIN cohorts c ON c.id = s.cohort_id WHERE s.id = :id",
            {"id": schedule_id},
        )
        return int(row["start_year"])

    async def current_cohort_year(self, today: date) -> int | None:
        row = await self._one(
            """SELECT start_year FROM cohorts WHERE registration_start_date <= :today
                ORDER BY start_year DESC LIMIT 1""",
            {"today": today},
        )
        return int(row["start_year"]) if row else None

    async def schedule(self, cohort_year: int, identifier: str) -> ScheduleChoice | None:
        row = await self._one(
            """SELECT s.id, s.schedule_identifier, s.schedule_type, s.cohort_id, c.start_year AS cohort_year
                 FROM schedules s JOIN cohorts c ON c.id = s.cohort_id
                WHERE c.start_year = :year
                  AND (s.schedule_identifier = :identifier OR s.identifier_alias = :identifier)
                ORDER BY (s.schedule_identifier = :identifier) DESC, s.created_at
                LIMIT 1""",
            {"year": cohort_year, "identifier": identifier},
        )
        return ScheduleChoice(**row) if row else None

    async def live_declarations(self, profile_id: uuid.UUID) -> list[LiveDeclaration]:
        rows = await self.session.execute(
            text(
                """SELECT declaration_type, declaration_date FROM participant_declarations
                    WHERE participant_profile_id = :profile_id AND state = ANY(:states)"""
            ),
            {"profile_id": profile_id, "states": list(LIVE_STATES)},
        )
        return [LiveDeclaration(**r) for r in rows.mappings()]

    async def milestones(self, schedule_id: uuid.UUID) -> dict[str, Milestone]:
        rows = await self.session.execute(
            text(
                """SELECT DISTINCT ON (declaration_type) declaration_type, start_date, milestone_date
                     FROM milestones WHERE schedule_id = :schedule_id
                    ORDER BY declaration_type, start_date"""
            ),
            {"schedule_id": schedule_id},
        )
        return {
            r["declaration_type"]: Milestone(r["start_date"], r["milestone_date"]) for r in rows.mappings()
        }

    async def active_partnership(
        self, school_id: uuid.UUID, lead_provider_id: uuid.UUID, cohort_year: int, *, allow_relationship: bool
    ) -> PartnershipMatch | None:
        """The provider's unchallenged, confirmed partnership with the school for the cohort;
        ordinary partnerships first."""
        row = await self._one(
            f"""SELECT p.id, p.relationship FROM partnerships p JOIN cohorts c ON c.id = p.cohort_id
                 WHERE p.school_id = :school_id AND p.lead_provider_id = :lead_provider_id
                   AND c.start_year = :year AND p.challenged_at IS NULL AND p.challenge_reason IS NULL
                   AND NOT p.pending {"" if allow_relationship else "AND NOT p.relationship"}
                 ORDER BY p.relationship, p.created_at LIMIT 1""",
            {"school_id": school_id, "lead_provider_id": lead_provider_id, "year": cohort_year},
        )
        return PartnershipMatch(**row) if row else None

    async def school_cohort(self, school_id: uuid.UUID, cohort_year: int) -> SchoolCohortRow | None:
        row = await self._one(
            """SELECT sc.id, sc.cohort_id, sc.default_induction_programme_id
                 FROM school_cohorts sc JOIN cohorts c ON c.id = sc.cohort_id
                WHERE sc.school_id = :school_id AND c.start_year = :year""",
            {"school_id": school_id, "year": cohort_year},
        )
        return SchoolCohortRow(**row) if row else None

    async def record_schedule_change(
        self,
        profile_id: uuid.UUID,
        schedule: ScheduleChoice,
        school_cohort_id: uuid.UUID | None,
        now: datetime,
    ) -> None:
        await self.session.execute(
            text(
                """INSERT INTO participant_profile_schedules
                       (participant_profile_id, schedule_id, created_at, updated_at)
                   VALUES (:profile_id, :schedule_id, :now, :now)"""
            ),
            {"profile_id": profile_id, "schedule_id": schedule.id, "now": now},
        )
        await self.session.execute(
            text(
                """UPDATE participant_profiles
                      SET schedule_id = :schedule_id, cohort_id = :cohort_id,
                          school_cohort_id = COALESCE(:school_cohort_id, school_cohort_id),
                          updated_at = GREATEST(updated_at, :now)
                    WHERE id = :profile_id"""
            ),
            {
                "profile_id": profile_id,
                "schedule_id": schedule.id,
                "cohort_id": schedule.cohort_id,
                "school_cohort_id": school_cohort_id,
                "now": now,
            },
        )
