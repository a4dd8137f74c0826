"""Queries behind the NPQ participant endpoints (v1, v2, v3).

A provider's NPQ participants are the users behind NPQ training records created from the
provider's applications (an NPQ profile shares its id with the accepted application); database
triggers keep them per provider, in both list orders (`npq_participant_users`, migration 0020).
Lists page over user ids first, then load the page's enrolments (with the provider's latest
deferral/withdrawal state) in one query and, for v3, the id changes in another.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.paging import Page
from app.repositories.ecf_participants import EcfParticipantRepository, IdChangeRow
from app.repositories.sql import rows_as, text

# The provider's NPQ training records with their users (body of a CTE or subquery).
_PROVIDER_PROFILES = """
    SELECT pi.user_id, pp.id AS profile_id, pp.created_at AS profile_created_at, pp.training_status
      FROM npq_applications a
      JOIN participant_profiles pp ON pp.id = a.id AND pp.profile_type = 'npq'
      JOIN participant_identities pi ON pi.id = pp.participant_identity_id
     WHERE a.npq_lead_provider_id = :npq_lead_provider_id
"""

UserOrder = Literal["user_created", "first_enrolment"]


class NpqEnrolmentRow(NamedTuple):
    """One of the provider's NPQ training records, with its user and the provider's latest
    state row matching its training status (deferred or withdrawn)."""

    user_id: uuid.UUID
    full_name: str
    user_email: str
    user_updated_at: datetime
    teacher_trn: str | None
    participant_profile_id: uuid.UUID
    identity_email: str | None
    course_identifier: str
    schedule_identifier: str
    cohort_year: int
    eligible_for_funding: bool
    training_status: str
    school_urn: str | None
    targeted_delivery_funding_eligibility: bool
    created_at: datetime
    state_reason: str | None
    state_created_at: datetime | None


@dataclass(frozen=True)
class UserPageQuery:
    updated_since: datetime | None = None
    training_status: str | None = None
    from_participant_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    # Explicit user-column order ((column, descending), ...); else `default_order`.
    order_by: Sequence[tuple[str, bool]] = ()
    default_order: UserOrder = "user_created"


class NpqParticipantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page_user_ids(
        self, npq_lead_provider_id: uuid.UUID, query: UserPageQuery, page: Page
    ) -> list[uuid.UUID]:
        """One page of the provider's NPQ participants (distinct users), filtered and ordered,
        with the user id as the last tie-breaker so pages never overlap."""
        params: dict[str, Any] = {
            "npq_lead_provider_id": npq_lead_provider_id,
            "limit": page.limit,
            "offset": page.offset,
        }
        if query.training_status is None:
            # The provider's users are kept in list order by triggers (migration 0020).
            matching = """
                SELECT m.user_id, m.first_enrolment_at AS first_created_at, m.user_created_at
                  FROM npq_participant_users m WHERE m.npq_lead_provider_id = :npq_lead_provider_id
            """
        else:
            # A user matches when any of their enrolments with the provider has the status.
            params["training_status"] = query.training_status
            matching = f"""
                SELECT mine.user_id, min(mine.profile_created_at) AS first_created_at
                  FROM ({_PROVIDER_PROFILES}) mine
                 GROUP BY mine.user_id HAVING bool_or(mine.training_status = :training_status)
            """
        where: list[str] = []  # conditions on the user (u)
        if query.updated_since is not None:
            params["updated_since"] = query.updated_since
            where.append("u.updated_at > :updated_since")
        if query.from_participant_id is not None:
            params["from_participant_id"] = query.from_participant_id
            where.append(
                "EXISTS (SELECT 1 FROM participant_id_changes ch"
                " WHERE ch.user_id = u.id AND ch.from_participant_id = :from_participant_id)"
            )
        if query.user_id is not None:
            params["user_id"] = query.user_id
            where.append("u.id = :user_id")
        # The user columns a caller may sort by (the kept rows carry the user's creation time;
        # grouped rows do not).
        created = "m.user_created_at" if query.training_status is None else "u.created_at"
        sort_columns = {"created_at": created, "updated_at": "u.updated_at"}
        order = [
            f"{sort_columns[column]} {'DESC' if descending else 'ASC'}"
            for column, descending in query.order_by
            if column in sort_columns
        ]
        if not order:
            order = ["m.first_created_at"] if query.default_order == "first_enrolment" else [created]
        if where or any(o.startswith("u.") for o in order):
            users, key = "JOIN users u ON u.id = m.user_id", "u.id"
        else:
            # Nothing reads the users table (every identity has its user): page the matches alone.
            users, key = "", "m.user_id"
        sql = f"""
            WITH matching AS ({matching})
            SELECT {key} FROM matching m {users}
             WHERE {" AND ".join(where) or "TRUE"}
             ORDER BY {", ".join(order)}, {key} ASC
             LIMIT :limit OFFSET :offset
        """
        result = await self.session.execute(text(sql), params)
        return [row[0] for row in result]

    async def enrolments_for_users(
        self,
        npq_lead_provider_id: uuid.UUID,
        cpd_lead_provider_id: uuid.UUID,
        user_ids: Sequence[uuid.UUID],
    ) -> list[NpqEnrolmentRow]:
        """Every NPQ training record of these users created from the provider's applications,
        oldest first, each with the provider's latest state row for its deferral/withdrawal."""
        if not user_ids:
            return []
        sql = """
            SELECT u.id AS user_id, u.full_name, u.email AS user_email, u.updated_at AS user_updated_at,
                   tp.trn AS teacher_trn, pp.id AS participant_profile_id, pi.email AS identity_email,
                   c.identifier AS course_identifier, s.schedule_identifier, sc.start_year AS cohort_year,
                   a.eligible_for_funding, pp.training_status, pp.school_urn,
                   a.targeted_delivery_funding_eligibility, pp.created_at,
                   st.reason AS state_reason, st.created_at AS state_created_at
              FROM npq_applications a
              JOIN participant_profiles pp ON pp.id = a.id AND pp.profile_type = 'npq'
              JOIN participant_identities pi ON pi.id = pp.participant_identity_id
              JOIN users u ON u.id = pi.user_id
              LEFT JOIN teacher_profiles tp ON tp.user_id = u.id
              JOIN npq_courses c ON c.id = a.npq_course_id
              JOIN schedules s ON s.id = pp.schedule_id
              JOIN cohorts sc ON sc.id = s.cohort_id
              LEFT JOIN LATERAL (
                    SELECT pps.reason, pps.created_at FROM participant_profile_states pps
                     WHERE pps.participant_profile_id = pp.id
                       AND pps.cpd_lead_provider_id = :cpd_lead_provider_id
                       AND pps.state = pp.training_status
                     ORDER BY pps.created_at DESC, pps.id DESC
                     LIMIT 1
              ) st ON pp.training_status IN ('deferred', 'withdrawn')
             WHERE a.npq_lead_provider_id = :npq_lead_provider_id AND pi.user_id = ANY(:user_ids)
             ORDER BY pp.created_at, pp.id
        """
        result = await self.session.execute(
            text(sql),
            {
                "npq_lead_provider_id": npq_lead_provider_id,
                "cpd_lead_provider_id": cpd_lead_provider_id,
                "user_ids": list(user_ids),
            },
        )
        return rows_as(NpqEnrolmentRow, result)

    async def id_changes(self, user_ids: Sequence[uuid.UUID]) -> list[IdChangeRow]:
        """The users' participant id changes, newest first (the query ECF participants use)."""
        return await EcfParticipantRepository(self.session).id_changes(user_ids)
