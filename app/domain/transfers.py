"""Participant transfers between schools as a lead provider sees them (v3 only).

Every transfer is anchored on a *leaving* induction record. Its *joining* record is the first
other unused record of the same training record (oldest first, earlier or later than the leaving
one) that is not leaving, is at a different school and is flagged as a school transfer.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.auth import EcfProvider
from app.domain.enums import InductionStatus
from app.domain.errors import NotFound, record_id
from app.domain.paging import Page
from app.repositories.transfers import TransferRecordRow, TransferRepository

NEW_PROVIDER = "new_provider"
NEW_SCHOOL = "new_school"
UNKNOWN = "unknown"
COMPLETE = "complete"
INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class Transfer:
    training_record_id: uuid.UUID
    transfer_type: str
    status: str
    leaving: TransferRecordRow
    joining: TransferRecordRow | None


@dataclass(frozen=True)
class ParticipantTransfers:
    user_id: uuid.UUID
    updated_at: datetime
    transfers: list[Transfer]


def pair_records(
    records: Sequence[TransferRecordRow], lead_provider_id: uuid.UUID
) -> list[tuple[TransferRecordRow, TransferRecordRow | None]]:
    """The (leaving, joining) pairs of one training record that involve the provider.

    A pair with a joining record is kept when either side is under the provider's partnership;
    a leaving record left unmatched only when it is the provider's own.
    """
    ordered = sorted(records, key=lambda r: (r.created_at, r.induction_record_id))
    # What a leaving record may pair with, oldest first: records that are not leaving ones and are
    # school transfers. Each leaving record, in turn, takes the first still free at another school;
    # a taken one leaves the list (one pass per leaving record, not one over every record).
    free = [r for r in ordered if r.induction_status != InductionStatus.LEAVING and r.school_transfer]
    pairs: list[tuple[TransferRecordRow, TransferRecordRow | None]] = []
    for leaving in ordered:
        if leaving.induction_status != InductionStatus.LEAVING:
            continue
        index = next((i for i, r in enumerate(free) if r.school_id != leaving.school_id), None)
        if index is not None:
            joining = free.pop(index)
            if lead_provider_id in (leaving.lead_provider_id, joining.lead_provider_id):
                pairs.append((leaving, joining))
        elif leaving.lead_provider_id == lead_provider_id:
            pairs.append((leaving, None))
    return pairs


def transfer_type(leaving: TransferRecordRow, joining: TransferRecordRow | None) -> str:
    if joining is None:
        return UNKNOWN
    old, new = leaving.lead_provider_id, joining.lead_provider_id
    if old is not None and new is not None and old != new:
        return NEW_PROVIDER
    return NEW_SCHOOL


def transfer_status(leaving: TransferRecordRow, joining: TransferRecordRow | None, now: datetime) -> str:
    """Complete once the later of the leaving and joining dates is not after the start of today."""
    dates = [d for d in (leaving.end_date, joining.start_date if joining else None) if d is not None]
    if not dates:
        # The reference fails (500) on a leaving record without an end date and no joiner; the
        # move has no date yet, so it cannot have happened.
        return INCOMPLETE
    start_of_today = datetime.combine(now.astimezone(UTC).date(), time.min, tzinfo=UTC)
    return INCOMPLETE if max(dates) > start_of_today else COMPLETE


class TransferService:
    def __init__(self, session: AsyncSession, provider: EcfProvider, now: datetime) -> None:
        self.repo = TransferRepository(session)
        self.provider = provider
        self.now = now

    async def list_transfers(self, updated_since: datetime | None, page: Page) -> list[ParticipantTransfers]:
        user_ids = await self.repo.page_user_ids(
            self.provider.lead_provider_id, updated_since=updated_since, user_id=None, page=page
        )
        return await self._assemble(user_ids)

    async def get_transfers(
        self, participant_id: str, updated_since: datetime | None
    ) -> ParticipantTransfers:
        """One participant's transfers: the same set as the list (and its filter), else 404."""
        user_ids = await self.repo.page_user_ids(
            self.provider.lead_provider_id,
            updated_since=updated_since,
            user_id=record_id(participant_id),
            page=None,
        )
        found = await self._assemble(user_ids)
        if not found:
            raise NotFound()
        return found[0]

    async def _assemble(self, user_ids: list[uuid.UUID]) -> list[ParticipantTransfers]:
        if not user_ids:
            return []
        records = await self.repo.records_for_users(user_ids)
        users_updated_at = await self.repo.users_updated_at(user_ids)
        # Records arrive grouped by user, then training record (oldest first).
        by_profile: dict[uuid.UUID, dict[uuid.UUID, list[TransferRecordRow]]] = {}
        for row in records:
            by_profile.setdefault(row.user_id, {}).setdefault(row.participant_profile_id, []).append(row)

        result: list[ParticipantTransfers] = []
        for user_id in user_ids:
            if user_id not in users_updated_at:
                continue  # removed since the page was read
            transfers: list[Transfer] = []
            for profile_id, profile_records in by_profile.get(user_id, {}).items():
                for leaving, joining in pair_records(profile_records, self.provider.lead_provider_id):
                    transfers.append(
                        Transfer(
                            training_record_id=profile_id,
                            transfer_type=transfer_type(leaving, joining),
                            status=transfer_status(leaving, joining, self.now),
                            leaving=leaving,
                            joining=joining,
                        )
                    )
            shown = [r for t in transfers for r in (t.leaving, t.joining) if r is not None]
            updated_at = max((r.updated_at for r in shown), default=users_updated_at[user_id])
            result.append(ParticipantTransfers(user_id=user_id, updated_at=updated_at, transfers=transfers))
        return result
