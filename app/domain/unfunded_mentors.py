"""Unfunded mentors (v3): mentors of a provider's participants whom the provider does not train."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.auth import EcfProvider
from app.domain.enums import ProfileType
from app.domain.errors import NotFound, record_id
from app.domain.paging import Page
from app.domain.schools import parse_sort
from app.repositories.unfunded_mentors import UnfundedMentorRepository, UnfundedMentorRow

UNFUNDED_MENTOR_SORTABLE = ("created_at", "updated_at")
DEFAULT_ORDER = [("created_at", False)]


@dataclass(frozen=True)
class UnfundedMentor:
    user_id: uuid.UUID
    full_name: str
    email: str
    teacher_reference_number: str | None
    created_at: datetime
    updated_at: datetime


def unfunded_mentor(row: UnfundedMentorRow) -> UnfundedMentor:
    return UnfundedMentor(
        user_id=row.user_id,
        full_name=row.full_name,
        # The mentor training record's own identity, else the user's address.
        email=row.identity_email or row.user_email,
        # A blank teacher-profile TRN falls back to the one the school entered.
        teacher_reference_number=row.teacher_trn if (row.teacher_trn or "").strip() else row.validation_trn,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class UnfundedMentorService:
    def __init__(self, session: AsyncSession, provider: EcfProvider) -> None:
        self.repo = UnfundedMentorRepository(session)
        self.provider = provider

    async def list_mentors(
        self, updated_since: datetime | None, page: Page, sort: str | None = None
    ) -> list[UnfundedMentor]:
        """One entry per mentor training record, by user creation unless sorted otherwise."""
        rows = await self.repo.list_for_provider(
            self.provider.lead_provider_id,
            updated_since=updated_since,
            user_id=None,
            order_by=parse_sort(sort, UNFUNDED_MENTOR_SORTABLE, DEFAULT_ORDER),
            page=page,
        )
        return [unfunded_mentor(r) for r in rows]

    async def get_mentor(self, mentor_id: str, updated_since: datetime | None) -> UnfundedMentor:
        """The user's unfunded-mentor entry (their mentor training record first), else 404."""
        rows = await self.repo.list_for_provider(
            self.provider.lead_provider_id,
            updated_since=updated_since,
            user_id=record_id(mentor_id),
            order_by=DEFAULT_ORDER,
            page=None,
        )
        if not rows:
            raise NotFound()
        preferred = sorted(rows, key=lambda r: r.profile_type != ProfileType.MENTOR)[0]
        return unfunded_mentor(preferred)
