"""Who a participant is: the identity and training record an API request names.

Shared by declarations and participant actions: a path or body id is a user id, or the retired
id of a merged participant (an identity's `external_identifier`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories.sql import text


@dataclass(frozen=True)
class Identity:
    id: uuid.UUID
    user_id: uuid.UUID


@dataclass(frozen=True)
class Profile:
    id: uuid.UUID
    profile_type: str
    user_id: uuid.UUID
    schedule_id: uuid.UUID
    schedule_cohort_id: uuid.UUID
    sparsity_uplift: bool
    pupil_premium_uplift: bool


@dataclass(frozen=True)
class Milestone:
    start_date: date
    milestone_date: date | None


PROFILE_COLUMNS = """
    pp.id, pp.profile_type, pi.user_id, pp.schedule_id, s.cohort_id AS schedule_cohort_id,
    pp.sparsity_uplift, pp.pupil_premium_uplift
"""


# The user's first identity with a training record of the type (:user_id, :profile_type).
_IDENTITY_WITH_PROFILE = """SELECT pi.id, pi.user_id FROM participant_identities pi
     JOIN participant_profiles pp ON pp.participant_identity_id = pi.id
    WHERE pi.user_id = :user_id AND pp.profile_type = :profile_type
    ORDER BY pi.created_at, pi.id LIMIT 1"""


def _active_ecf_profile(identity_id: str) -> str:
    """The identity's first active training record of the type (:profile_type)."""
    return f"""SELECT {PROFILE_COLUMNS} FROM participant_profiles pp
         JOIN participant_identities pi ON pi.id = pp.participant_identity_id
         JOIN schedules s ON s.id = pp.schedule_id
        WHERE pp.participant_identity_id = {identity_id} AND pp.profile_type = :profile_type
          AND pp.status = 'active'
        ORDER BY pp.created_at, pp.id LIMIT 1"""


# The kinds of the user's active training records (ect, mentor, npq).
ACTIVE_PROFILE_TYPES = """SELECT DISTINCT pp.profile_type FROM participant_profiles pp
     JOIN participant_identities pi ON pi.id = pp.participant_identity_id
    WHERE pi.user_id = :user_id AND pp.status = 'active'"""


class ParticipantLookup:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _one(self, sql: str, params: dict[str, Any]) -> Any:
        return (await self.session.execute(text(sql), params)).mappings().first()

    async def identity_with_profile(self, user_id: uuid.UUID, profile_type: str) -> Identity | None:
        row = await self._one(_IDENTITY_WITH_PROFILE, {"user_id": user_id, "profile_type": profile_type})
        return Identity(**row) if row else None

    async def identity_with_active_ecf_profile(
        self, user_id: uuid.UUID, profile_type: str
    ) -> tuple[Identity, Profile | None] | None:
        """`identity_with_profile`, then that identity's `active_ecf_profile`, in one statement
        (a declaration's first two lookups); None when the user has no such identity."""
        row = await self._one(
            f"""SELECT i.id AS identity_id, i.user_id AS identity_user_id, p.*
                  FROM ({_IDENTITY_WITH_PROFILE}) i
                  LEFT JOIN LATERAL ({_active_ecf_profile("i.id")}) p ON TRUE""",
            {"user_id": user_id, "profile_type": profile_type},
        )
        if row is None:
            return None
        identity = Identity(id=row["identity_id"], user_id=row["identity_user_id"])
        if row["id"] is None:
            return identity, None
        return identity, Profile(**{name: row[name] for name in Profile.__dataclass_fields__})

    async def identity_by_external_id(self, participant_id: uuid.UUID) -> Identity | None:
        row = await self._one(
            "SELECT id, user_id FROM participant_identities WHERE external_identifier = :id",
            {"id": participant_id},
        )
        return Identity(**row) if row else None

    async def active_ecf_profile(self, identity_id: uuid.UUID, profile_type: str) -> Profile | None:
        row = await self._one(
            _active_ecf_profile(":identity_id"), {"identity_id": identity_id, "profile_type": profile_type}
        )
        return Profile(**row) if row else None

    async def active_profile_types(self, user_id: uuid.UUID) -> set[str]:
        rows = await self.session.execute(text(ACTIVE_PROFILE_TYPES), {"user_id": user_id})
        return {r[0] for r in rows}
