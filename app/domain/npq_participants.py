"""NPQ participants as a lead provider sees them (every API version).

A participant is a user behind NPQ training records created from the provider's applications;
each such record is one of their enrolments. Every version lists users (one item per user, in
a stable order); what each version shows of them is the serializers' business.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.auth import NpqProvider
from app.domain.ecf_participants import StatusChange, parse_training_status
from app.domain.enums import TrainingStatus
from app.domain.errors import NotFound, record_id
from app.domain.paging import Page
from app.repositories.ecf_participants import IdChangeRow
from app.repositories.npq_participants import NpqEnrolmentRow, NpqParticipantRepository, UserPageQuery

NPQ_SORTABLE = ("created_at", "updated_at")


@dataclass(frozen=True)
class NpqEnrolment:
    row: NpqEnrolmentRow
    withdrawal: StatusChange | None
    deferral: StatusChange | None

    @property
    def email(self) -> str:
        """The email of the identity the enrolment belongs to, else the user's."""
        return self.row.identity_email or self.row.user_email


@dataclass(frozen=True)
class NpqParticipant:
    user_id: uuid.UUID
    full_name: str
    email: str
    teacher_reference_number: str | None
    updated_at: datetime
    enrolments: list[NpqEnrolment]
    id_changes: list[IdChangeRow] = field(default_factory=list)


@dataclass(frozen=True)
class NpqParticipantFilters:
    updated_since: datetime | None = None
    training_status: str | None = None
    from_participant_id: str | None = None


def parse_sort(sort: str | None) -> list[tuple[str, bool]]:
    """`sort=-updated_at,created_at` on user columns; unknown names are ignored. Empty means the
    default order (the user's first enrolment with the provider)."""
    order: list[tuple[str, bool]] = []
    for part in (sort or "").split(","):
        part = part.strip()
        name = part.lstrip("+-")
        if name in NPQ_SORTABLE and name not in (n for n, _ in order):
            order.append((name, part.startswith("-")))
    return order


def _status_change(row: NpqEnrolmentRow, status: TrainingStatus) -> StatusChange | None:
    """The provider's own latest deferral/withdrawal of a record currently in that status."""
    if row.training_status != status or row.state_created_at is None:
        return None
    return StatusChange(row.state_reason, row.state_created_at)


class NpqParticipantService:
    def __init__(self, session: AsyncSession, provider: NpqProvider) -> None:
        self.repo = NpqParticipantRepository(session)
        self.provider = provider

    async def list_v1(self, filters: NpqParticipantFilters, page: Page) -> list[NpqParticipant]:
        """v1/v2: one item per user (the reference can repeat a user with two enrolments; we do
        not), ordered by user creation so paging is stable."""
        query = UserPageQuery(updated_since=filters.updated_since)
        user_ids = await self.repo.page_user_ids(self.provider.npq_lead_provider_id, query, page)
        return await self._assemble(user_ids, with_id_changes=False)

    async def list_v3(
        self, filters: NpqParticipantFilters, page: Page, sort: str | None
    ) -> list[NpqParticipant]:
        training_status = parse_training_status(filters.training_status)
        from_id: uuid.UUID | None = None
        if filters.from_participant_id is not None:
            try:
                from_id = uuid.UUID(filters.from_participant_id)
            except ValueError:
                return []  # not a participant id: nothing can match
        query = UserPageQuery(
            updated_since=filters.updated_since,
            training_status=training_status,
            from_participant_id=from_id,
            order_by=parse_sort(sort),
            default_order="first_enrolment",
        )
        user_ids = await self.repo.page_user_ids(self.provider.npq_lead_provider_id, query, page)
        return await self._assemble(user_ids, with_id_changes=True)

    async def get(self, participant_id: str, *, with_id_changes: bool) -> NpqParticipant:
        """One of the provider's NPQ participants by user id; anyone else is a 404."""
        return await self.get_by_user_id(record_id(participant_id), with_id_changes=with_id_changes)

    async def get_by_user_id(self, user_id: uuid.UUID, *, with_id_changes: bool) -> NpqParticipant:
        found = await self._assemble([user_id], with_id_changes=with_id_changes)
        if not found:
            raise NotFound()
        return found[0]

    async def _assemble(self, user_ids: list[uuid.UUID], *, with_id_changes: bool) -> list[NpqParticipant]:
        if not user_ids:
            return []
        rows = await self.repo.enrolments_for_users(
            self.provider.npq_lead_provider_id, self.provider.cpd_lead_provider_id, user_ids
        )
        by_user: dict[uuid.UUID, list[NpqEnrolmentRow]] = {}
        for row in rows:
            by_user.setdefault(row.user_id, []).append(row)
        changes_by_user: dict[uuid.UUID, list[IdChangeRow]] = {}
        if with_id_changes and by_user:
            for change in await self.repo.id_changes(list(by_user)):
                changes_by_user.setdefault(change.user_id, []).append(change)

        participants: list[NpqParticipant] = []
        for user_id in user_ids:  # keep the page's order
            enrolments = by_user.get(user_id)
            if not enrolments:
                continue
            first = enrolments[0]
            participants.append(
                NpqParticipant(
                    user_id=user_id,
                    full_name=first.full_name,
                    email=first.user_email,
                    teacher_reference_number=first.teacher_trn,
                    updated_at=first.user_updated_at,
                    enrolments=[
                        NpqEnrolment(
                            row=r,
                            withdrawal=_status_change(r, TrainingStatus.WITHDRAWN),
                            deferral=_status_change(r, TrainingStatus.DEFERRED),
                        )
                        for r in enrolments
                    ],
                    id_changes=changes_by_user.get(user_id, []),
                )
            )
        return participants
