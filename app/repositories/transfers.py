"""Queries behind the v3 transfers endpoints.

A participant appears when one of their training records has (a) an induction record under a
partnership of the provider that is a school transfer or is leaving, and (b) a leaving induction
record with any provider. Challenged partnerships count (unlike the participant endpoints). That
set is kept per provider and training record by database triggers (`ecf_transfer_participants`,
migration 0019).

Lists page over user ids first, then load every induction record of the page's users in one
query; pairing leaving and joining records is done by the domain.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.paging import Page
from app.repositories.sql import rows_as, text


class TransferRecordRow(NamedTuple):
    """One induction record of a training record, with what a transfer shows of it (built
    positionally: rows_as; a page reads several per participant)."""

    induction_record_id: uuid.UUID
    participant_profile_id: uuid.UUID
    user_id: uuid.UUID
    induction_status: str
    school_transfer: bool
    school_id: uuid.UUID
    school_urn: str
    lead_provider_id: uuid.UUID | None
    lead_provider_name: str | None
    start_date: datetime
    end_date: datetime | None
    created_at: datetime
    updated_at: datetime


class TransferRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page_user_ids(
        self,
        lead_provider_id: uuid.UUID,
        *,
        updated_since: datetime | None,
        user_id: uuid.UUID | None,
        page: Page | None,
    ) -> list[uuid.UUID]:
        """Users with a transfer the provider may be involved in, one page of them.

        Ordered by creation; with `updated_since`, by last update (as the reference syncs).
        """
        params: dict[str, Any] = {"lead_provider_id": lead_provider_id}
        limit = ""
        if page is not None:
            params["limit"] = page.limit
            params["offset"] = page.offset
            limit = "LIMIT :limit OFFSET :offset"
        if updated_since is None:
            # In creation order the set alone gives the page: one range of its list-order index.
            only_user = ""
            if user_id is not None:
                params["user_id"] = user_id
                only_user = "AND t.user_id = :user_id"
            sql = f"""
                SELECT DISTINCT t.user_id, t.user_created_at FROM ecf_transfer_participants t
                 WHERE t.lead_provider_id = :lead_provider_id {only_user}
                 ORDER BY t.user_created_at ASC, t.user_id ASC
                 {limit}
            """
        else:
            params["updated_since"] = updated_since
            user_filters = ["u.updated_at >= :updated_since"]
            if user_id is not None:
                params["user_id"] = user_id
                user_filters.append("u.id = :user_id")
            sql = f"""
                SELECT u.id FROM users u
                 WHERE {" AND ".join(user_filters)}
                   AND u.id IN (SELECT t.user_id FROM ecf_transfer_participants t
                                 WHERE t.lead_provider_id = :lead_provider_id)
                 ORDER BY u.updated_at ASC, u.id ASC
                 {limit}
            """
        result = await self.session.execute(text(sql), params)
        return [row[0] for row in result]

    async def records_for_users(self, user_ids: Sequence[uuid.UUID]) -> list[TransferRecordRow]:
        """Every induction record of the users' ECF training records (any provider).

        Ordered by user, training record (oldest first) and record creation.
        """
        if not user_ids:
            return []
        sql = """
            SELECT ir.id AS induction_record_id, ir.participant_profile_id, pi.user_id,
                   ir.induction_status, ir.school_transfer, sc.school_id, sch.urn AS school_urn,
                   p.lead_provider_id, lp.name AS lead_provider_name,
                   ir.start_date, ir.end_date, ir.created_at, ir.updated_at
              FROM induction_records ir
              JOIN participant_profiles pp ON pp.id = ir.participant_profile_id
              JOIN participant_identities pi ON pi.id = pp.participant_identity_id
              JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
              JOIN school_cohorts sc ON sc.id = ip.school_cohort_id
              JOIN schools sch ON sch.id = sc.school_id
              LEFT JOIN partnerships p ON p.id = ip.partnership_id
              LEFT JOIN lead_providers lp ON lp.id = p.lead_provider_id
             WHERE pi.user_id = ANY(:user_ids)
               AND pp.profile_type IN ('ect', 'mentor')
             ORDER BY pi.user_id, pp.created_at, pp.id, ir.created_at, ir.id
        """
        result = await self.session.execute(text(sql), {"user_ids": list(user_ids)})
        return rows_as(TransferRecordRow, result)

    async def users_updated_at(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, datetime]:
        if not user_ids:
            return {}
        result = await self.session.execute(
            text("SELECT id, updated_at FROM users WHERE id = ANY(:user_ids)"), {"user_ids": list(user_ids)}
        )
        return {row[0]: row[1] for row in result}
