"""ECF participants as lead providers see them: visibility, statuses, v1 rows and v3 users."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.auth import EcfProvider
from app.domain.enums import EligibilityReason, EligibilityStatus, InductionStatus, TrainingStatus
from app.domain.errors import BadRequest, NotFound
from app.domain.paging import Page
from app.repositories.ecf_participants import (
    CohortScope,
    EcfParticipantRepository,
    EnrolmentRow,
    IdChangeRow,
    StateRow,
)
from app.repositories.participant_documents import (
    DocumentKey,
    NewDocument,
    ParticipantDocumentRepository,
    Shape,
    StoredDocument,
)

TRAINING_STATUS_FILTER_ERROR = 'The filter \'#/training_status\' must be ["active", "deferred", "withdrawn"]'
V3_SORTABLE = ("created_at", "updated_at")


def v1_status(induction_status: str) -> str:
    """v1/v2 `status`: the school's view only (provider deferral does not change it)."""
    if induction_status in (InductionStatus.WITHDRAWN, InductionStatus.CHANGED):
        return "withdrawn"
    return "active"


def participant_status(record: EnrolmentRow, now: datetime) -> str | None:
    """v3 `participant_status`: end date first, then a future start, then the school status."""
    if record.end_date is not None:
        return "leaving" if record.end_date > now else "left"
    if record.start_date > now:
        return "joining"
    if record.induction_status in (InductionStatus.ACTIVE, InductionStatus.COMPLETED):
        return "active"
    if record.induction_status in (InductionStatus.WITHDRAWN, InductionStatus.CHANGED):
        return "withdrawn"
    return None  # `leaving` without an end date


def eligible_for_funding(record: EnrolmentRow) -> bool | None:
    if record.eligibility_status == EligibilityStatus.ELIGIBLE:
        return True
    if record.eligibility_status == EligibilityStatus.INELIGIBLE:
        return False
    return None


def v1_trn(record: EnrolmentRow) -> str | None:
    return record.teacher_trn or record.validation_trn


def trn_validated(record: EnrolmentRow) -> bool | None:
    """Null without a TRN; true when eligibility was checked against that TRN."""
    if v1_trn(record) is None:
        return None
    return bool(record.eligibility_reason) and record.eligibility_reason != EligibilityReason.DIFFERENT_TRN


def email(record: EnrolmentRow) -> str:
    return record.preferred_email or record.user_email


def v1_updated_at(record: EnrolmentRow) -> datetime:
    return max(
        record.profile_updated_at,
        record.user_updated_at,
        record.identity_updated_at,
        record.record_updated_at,
    )


class Rendered(NamedTuple):
    """A document built for a key, with the clock window it holds in (None: open)."""

    key_id: uuid.UUID
    body: bytes
    valid_from: datetime | None
    valid_until: datetime | None


class StatusChange(NamedTuple):
    reason: str | None
    date: datetime


class V3Enrolment(NamedTuple):
    record: EnrolmentRow
    participant_status: str | None
    withdrawal: StatusChange | None
    deferral: StatusChange | None


class V3Participant(NamedTuple):
    user_id: uuid.UUID
    full_name: str
    teacher_reference_number: str | None
    updated_at: datetime
    enrolments: list[V3Enrolment]
    id_changes: list[IdChangeRow]


@dataclass(frozen=True)
class ParticipantFilters:
    cohorts: CohortScope = field(default_factory=lambda: CohortScope(None))
    updated_since: datetime | None = None
    training_status: str | None = None
    from_participant_id: str | None = None


def parse_training_status(value: str | None) -> str | None:
    if value is None:
        return None
    if value not in {s.value for s in TrainingStatus}:
        raise BadRequest(TRAINING_STATUS_FILTER_ERROR)
    return value


def parse_v3_sort(sort: str | None) -> list[tuple[str, bool]]:
    """`sort=-updated_at,created_at`: known user columns only; unknown names are ignored.

    When nothing usable remains the default order (created_at ascending) applies, so
    paging is always stable.
    """
    order: list[tuple[str, bool]] = []
    for part in (sort or "").split(","):
        part = part.strip()
        if not part:
            continue
        descending = part.startswith("-")
        name = part.lstrip("+-")
        if name in V3_SORTABLE and name not in (n for n, _ in order):
            order.append((name, descending))
    return order or [("created_at", False)]


def _bodies(documents: list[StoredDocument], fresh: dict[uuid.UUID, NewDocument]) -> list[bytes]:
    """The page's bodies in order; a key rendered from nothing (gone since the page was read)
    is left out."""
    bodies: list[bytes] = []
    for document in documents:
        if document.body is not None:
            bodies.append(document.body)
        elif document.key_id in fresh:
            bodies.append(fresh[document.key_id].body)
    return bodies


def _parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


class EcfParticipantService:
    def __init__(self, session: AsyncSession, provider: EcfProvider, now: datetime) -> None:
        self.repo = EcfParticipantRepository(session)
        self.documents = ParticipantDocumentRepository(session)
        self.provider = provider
        self.now = now

    # ---- v1 / v2 -----------------------------------------------------------------------------

    async def list_rows(self, filters: ParticipantFilters, page: Page) -> list[EnrolmentRow]:
        return await self.repo.list_v1(
            self.provider.lead_provider_id,
            cohorts=filters.cohorts,
            updated_since=filters.updated_since,
            page=page,
        )

    async def get_row(self, participant_id: str) -> EnrolmentRow:
        """One training record of the user; the ECT one when they are also a mentor."""
        user_id = _parse_uuid(participant_id)
        if user_id is None:
            raise NotFound()
        rows = await self.repo.find_v1(self.provider.lead_provider_id, user_id, cohorts=CohortScope(None))
        if not rows:
            raise NotFound()
        return sorted(rows, key=lambda r: r.profile_type != "ect")[0]

    @staticmethod
    def stream_rows(
        maker: async_sessionmaker[AsyncSession], provider: EcfProvider, filters: ParticipantFilters
    ) -> AsyncIterator[list[EnrolmentRow]]:
        return EcfParticipantRepository.stream_v1(
            maker, provider.lead_provider_id, cohorts=filters.cohorts, updated_since=filters.updated_since
        )

    # ---- v3 -------------------------------------------------------------------------------------

    async def list_participants(
        self,
        filters: ParticipantFilters,
        page: Page,
        sort: str | None = None,
        user_id: uuid.UUID | None = None,
    ) -> list[V3Participant]:
        return await self._assemble(await self._page_user_ids(filters, page, sort, user_id))

    async def _page_user_ids(
        self,
        filters: ParticipantFilters,
        page: Page,
        sort: str | None,
        user_id: uuid.UUID | None = None,
    ) -> list[uuid.UUID]:
        from_id: uuid.UUID | None = None
        if filters.from_participant_id is not None:
            from_id = _parse_uuid(filters.from_participant_id)
            if from_id is None:
                return []  # not a participant id: nothing can match
        return await self.repo.page_v3_user_ids(
            self.provider.lead_provider_id,
            cohorts=filters.cohorts,
            updated_since=filters.updated_since,
            training_status=filters.training_status,
            from_participant_id=from_id,
            user_id=user_id,
            order_by=parse_v3_sort(sort),
            page=page,
        )

    # ---- rendered documents (list pages) -------------------------------------------------------

    async def list_row_documents(
        self,
        filters: ParticipantFilters,
        page: Page,
        render: Callable[[EnrolmentRow], bytes],
        *,
        reuse: bool,
    ) -> list[bytes]:
        """A v1/v2 page as rendered rows: stored documents where current, the rest rendered from
        the database (and stored). A row's rendering depends on its induction record alone.
        Without `reuse`, every row is rendered from the database and nothing is stored."""
        if not reuse:
            return [render(row) for row in await self.list_rows(filters, page)]
        keys = await self.repo.page_v1_keys(
            self.provider.lead_provider_id,
            cohorts=filters.cohorts,
            updated_since=filters.updated_since,
            page=page,
        )

        async def build(record_ids: list[uuid.UUID]) -> list[Rendered]:
            return [
                Rendered(r.induction_record_id, render(r), None, None)
                for r in await self.repo.records(record_ids)
            ]

        return await self._documents(Shape.FLAT, [DocumentKey(*k) for k in keys], build)

    async def list_participant_documents(
        self,
        filters: ParticipantFilters,
        page: Page,
        sort: str | None,
        *,
        render: Callable[[V3Participant], bytes],
        shows_mentor_funding: bool,
        reuse: bool,
    ) -> list[bytes]:
        """A v3 page as rendered participants: stored documents where current (for this shape and
        clock), the rest assembled from the database (and stored). Without `reuse`, every
        participant is assembled and nothing is stored."""
        if not reuse:
            return [render(p) for p in await self.list_participants(filters, page, sort)]
        user_ids = await self._page_user_ids(filters, page, sort)

        async def build(missing: list[uuid.UUID]) -> list[Rendered]:
            return [Rendered(p.user_id, render(p), *self._validity(p)) for p in await self._assemble(missing)]

        shape = Shape.NESTED_WITH_MENTOR_FUNDING if shows_mentor_funding else Shape.NESTED
        return await self._documents(shape, [DocumentKey(u, u) for u in user_ids], build)

    async def _documents(
        self,
        shape: Shape,
        keys: list[DocumentKey],
        build: Callable[[list[uuid.UUID]], Awaitable[list[Rendered]]],
    ) -> list[bytes]:
        """The keys' current documents, the missing ones built (and stored), in the keys' order.

        The versions are read first, in their own statement: whatever `build` reads afterwards
        is at least as new as the version its document is stored with (see migration 0025)."""
        documents = await self.documents.current(self.provider.lead_provider_id, shape, keys, self.now)
        missing = {d.key_id: d for d in documents if d.body is None}
        fresh: dict[uuid.UUID, NewDocument] = {}
        for item in await build(list(missing)) if missing else []:
            stored = missing[item.key_id]
            fresh[item.key_id] = NewDocument(
                item.key_id, stored.user_id, stored.version, item.valid_from, item.valid_until, item.body
            )
        await self.documents.store(self.provider.lead_provider_id, shape, list(fresh.values()))
        return _bodies(documents, fresh)

    def _validity(self, participant: V3Participant) -> tuple[datetime | None, datetime | None]:
        """The clock window in which every enrolment keeps its participant_status: each status
        turns at the end date when there is one, else at the start date."""
        valid_from: datetime | None = None
        valid_until: datetime | None = None
        for enrolment in participant.enrolments:
            record = enrolment.record
            turn = record.end_date if record.end_date is not None else record.start_date
            if turn > self.now:
                valid_until = turn if valid_until is None else min(valid_until, turn)
            else:
                valid_from = turn if valid_from is None else max(valid_from, turn)
        return valid_from, valid_until

    async def get_participant(self, participant_id: str, filters: ParticipantFilters) -> V3Participant:
        user_id = _parse_uuid(participant_id)
        if user_id is None:
            raise NotFound()
        found = await self.list_participants(filters, Page(1, 1), user_id=user_id)
        if not found:
            raise NotFound()
        return found[0]

    # ---- after an action --------------------------------------------------------------------

    async def record_row(self, induction_record_id: uuid.UUID) -> EnrolmentRow:
        """The flat (v1/v2) view of the induction record an action produced."""
        row = await self.repo.find_record(induction_record_id)
        assert row is not None, "an action's induction record exists"
        return row

    async def participant_after_action(self, induction_record_id: uuid.UUID) -> V3Participant:
        """The v3 view of the participant an action changed: enrolments come from unchallenged
        partnerships only, so one under a challenged partnership is not listed."""
        row = await self.record_row(induction_record_id)
        found = await self._assemble([row.user_id])
        if found:
            return found[0]
        return V3Participant(
            user_id=row.user_id,
            full_name=row.full_name,
            teacher_reference_number=row.teacher_trn,
            updated_at=row.user_updated_at,
            enrolments=[],
            id_changes=await self.repo.id_changes([row.user_id]),
        )

    async def _assemble(self, user_ids: list[uuid.UUID]) -> list[V3Participant]:
        if not user_ids:
            return []
        enrolments = await self.repo.enrolments_for_users(self.provider.lead_provider_id, user_ids)
        changes = await self.repo.id_changes(user_ids)
        states = await self.repo.latest_provider_states(
            [e.participant_profile_id for e in enrolments], self.provider.cpd_lead_provider_id
        )
        state_by_key: dict[tuple[uuid.UUID, str], StateRow] = {
            (s.participant_profile_id, s.state): s for s in states
        }
        by_user: dict[uuid.UUID, list[EnrolmentRow]] = {}
        for row in enrolments:
            by_user.setdefault(row.user_id, []).append(row)
        changes_by_user: dict[uuid.UUID, list[IdChangeRow]] = {}
        for change in changes:
            changes_by_user.setdefault(change.user_id, []).append(change)

        participants: list[V3Participant] = []
        for user_id in user_ids:
            rows = by_user.get(user_id)
            if not rows:
                continue
            first = rows[0]
            participants.append(
                V3Participant(
                    user_id=user_id,
                    full_name=first.full_name,
                    # v3 shows the teacher profile's TRN only (no fallback to validation data)
                    teacher_reference_number=first.teacher_trn,
                    # users.updated_at is already the latest change to anything shown: the
                    # propagation triggers (migration 0002) copy every newer child timestamp up.
                    updated_at=first.user_updated_at,
                    enrolments=[self._enrolment(r, state_by_key) for r in rows],
                    id_changes=changes_by_user.get(user_id, []),
                )
            )
        return participants

    def _enrolment(self, row: EnrolmentRow, states: dict[tuple[uuid.UUID, str], StateRow]) -> V3Enrolment:
        def change(state: str) -> StatusChange | None:
            if row.training_status != state:
                return None
            found = states.get((row.participant_profile_id, state))
            return StatusChange(found.reason, found.created_at) if found else None

        return V3Enrolment(
            record=row,
            participant_status=participant_status(row, self.now),
            withdrawal=change(TrainingStatus.WITHDRAWN),
            deferral=change(TrainingStatus.DEFERRED),
        )
