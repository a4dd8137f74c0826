"""Queries behind the v3 unfunded mentors endpoints.

An unfunded mentor (of a provider) is a training record named as mentor by one of the
provider's latest induction records (the participant endpoints' visibility core: every cohort,
unchallenged partnerships) that has no latest induction record with the provider itself: it
trains with another provider, or not at all. One row per such training record. The latest
records' refresh keeps them per provider (`ecf_unfunded_mentors`), from the same table the
participant endpoints read, so the two never disagree.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.paging import Page
from app.repositories.sql import rows_as, text

SORTABLE_USER_COLUMNS = frozenset({"created_at", "updated_at"})


class UnfundedMentorRow(NamedTuple):
    """Built positionally (rows_as)."""

    mentor_profile_id: uuid.UUID
    profile_type: str
    user_id: uuid.UUID
    full_name: str
    user_email: str
    identity_email: str | None
    teacher_trn: str | None
    validation_trn: str | None
    created_at: datetime
    updated_at: datetime


class UnfundedMentorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_for_provider(
        self,
        lead_provider_id: uuid.UUID,
        *,
        updated_since: datetime | None,
        user_id: uuid.UUID | None,
        order_by: Sequence[tuple[str, bool]],
        page: Page | None,
    ) -> list[UnfundedMentorRow]:
        """The provider's unfunded mentors: a page of training records ordered by user columns."""
        params: dict[str, Any] = {"lead_provider_id": lead_provider_id}
        user_filters = ["TRUE"]
        if updated_since is not None:
            params["updated_since"] = updated_since
            user_filters.append("u.updated_at >= :updated_since")
        if user_id is not None:
            params["user_id"] = user_id
            user_filters.append("u.id = :user_id")
        for column, _ in order_by:
            if column not in SORTABLE_USER_COLUMNS:
                raise ValueError(f"not a sortable column: {column}")
        order = ", ".join(f"u.{column} {'DESC' if desc else 'ASC'}" for column, desc in order_by)
        page_order = ", ".join(f"k{i} {'DESC' if desc else 'ASC'}" for i, (_, desc) in enumerate(order_by))
        sort_keys = "".join(f", u.{column} AS k{i}" for i, (column, _) in enumerate(order_by))
        limit = ""
        if page is not None:
            params["limit"] = page.limit
            params["offset"] = page.offset
            limit = "LIMIT :limit OFFSET :offset"
        # The provider's mentors come from the kept set (`ecf_unfunded_mentors`, migration 0024):
        # a few hundred rows even for the largest provider, read from its primary key.
        sql = f"""
            WITH mentors AS (
                SELECT mentor_profile_id AS profile_id FROM ecf_unfunded_mentors
                 WHERE lead_provider_id = :lead_provider_id),
            page AS (
                SELECT mp.id AS profile_id, u.id AS user_id{sort_keys}
                  FROM mentors m
                  JOIN participant_profiles mp ON mp.id = m.profile_id
                  JOIN participant_identities pi ON pi.id = mp.participant_identity_id
                  JOIN users u ON u.id = pi.user_id
                 WHERE {" AND ".join(user_filters)}
                 ORDER BY {order}, u.id ASC, mp.id ASC
                 {limit}
            )
            SELECT mp.id AS mentor_profile_id, mp.profile_type, u.id AS user_id, u.full_name,
                   u.email AS user_email, pi.email AS identity_email,
                   tp.trn AS teacher_trn, vd.trn AS validation_trn,
                   u.created_at, u.updated_at
              FROM page
              JOIN participant_profiles mp ON mp.id = page.profile_id
              JOIN participant_identities pi ON pi.id = mp.participant_identity_id
              JOIN users u ON u.id = page.user_id
              LEFT JOIN teacher_profiles tp ON tp.user_id = u.id
              LEFT JOIN ecf_participant_validation_data vd ON vd.participant_profile_id = mp.id
             ORDER BY {page_order}{", " if page_order else ""}page.user_id ASC, page.profile_id ASC
        """
        result = await self.session.execute(text(sql), params)
        return rows_as(UnfundedMentorRow, result)
