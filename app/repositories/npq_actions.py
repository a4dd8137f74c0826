"""Queries and writes behind the NPQ participant actions (defer, resume, withdraw, change-schedule).

Who the participant is comes from the NPQ lookups declarations use; schedules, milestones, live
declarations and the state/schedule history writes are the ones ECF actions use. The rules live
in `app.domain.npq_actions`; nothing here commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from app.repositories.declaration_writes import DeclarationWriteRepository
from app.repositories.ecf_actions import EcfActionRepository
from app.repositories.sql import text


@dataclass(frozen=True)
class LockedNpqProfile:
    """An NPQ training record as it stands once its row is locked."""

    id: uuid.UUID
    training_status: str
    schedule_id: uuid.UUID
    schedule_cohort_year: int
    application_status: str
    application_cohort_id: uuid.UUID | None


class NpqActionRepository(EcfActionRepository, DeclarationWriteRepository):
    async def lock_npq_profile(self, profile_id: uuid.UUID) -> LockedNpqProfile:
        """Lock the training record until the request commits (concurrent actions queue here),
        then read what the rules judge."""
        await self.lock_profile(profile_id)
        row = await self._one(
            """SELECT pp.id, pp.training_status, pp.schedule_id, c.start_year AS schedule_cohort_year,
                      a.lead_provider_approval_status AS application_status,
                      a.cohort_id AS application_cohort_id
                 FROM participant_profiles pp
                 JOIN schedules s ON s.id = pp.schedule_id
                 JOIN cohorts c ON c.id = s.cohort_id
                 JOIN npq_applications a ON a.id = pp.id
                WHERE pp.id = :id""",
            {"id": profile_id},
        )
        return LockedNpqProfile(**row)

    async def has_any_declaration(self, profile_id: uuid.UUID) -> bool:
        """Any declaration of the training record, whatever its type or state."""
        row = await self._one(
            "SELECT 1 FROM participant_declarations WHERE participant_profile_id = :id LIMIT 1",
            {"id": profile_id},
        )
        return row is not None

    async def has_started_declaration(self, profile_id: uuid.UUID, course_identifier: str) -> bool:
        """A `started` declaration of the training record for the course, in any state."""
        row = await self._one(
            """SELECT 1 FROM participant_declarations
                WHERE participant_profile_id = :id AND course_identifier = :course
                  AND declaration_type = 'started' LIMIT 1""",
            {"id": profile_id, "course": course_identifier},
        )
        return row is not None

    async def sync_application_cohort(
        self, application_id: uuid.UUID, cohort_id: uuid.UUID, now: datetime
    ) -> None:
        """The application follows its training record into the new schedule's cohort."""
        await self.session.execute(
            text(
                """UPDATE npq_applications
                      SET cohort_id = :cohort_id, updated_at = GREATEST(updated_at, :now)
                    WHERE id = :id AND cohort_id IS DISTINCT FROM :cohort_id"""
            ),
            {"id": application_id, "cohort_id": cohort_id, "now": now},
        )
