"""v3 wire shapes of participant transfers and unfunded mentors (plain dicts, validated by the tests)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.api.serialization import instant, iso_date
from app.domain.transfers import ParticipantTransfers, Transfer
from app.domain.unfunded_mentors import UnfundedMentor
from app.repositories.transfers import TransferRecordRow


def _day(value: datetime | None) -> str | None:
    """The UTC calendar day of a record's start or end."""
    return iso_date(value.astimezone(UTC).date()) if value is not None else None


def _side(record: TransferRecordRow, when: datetime | None) -> dict[str, Any]:
    return {"school_urn": record.school_urn, "provider": record.lead_provider_name, "date": _day(when)}


def _transfer(item: Transfer) -> dict[str, Any]:
    return {
        "training_record_id": str(item.training_record_id),
        "transfer_type": item.transfer_type,
        "status": item.status,
        "created_at": instant(item.leaving.created_at),
        "leaving": _side(item.leaving, item.leaving.end_date),
        "joining": _side(item.joining, item.joining.start_date) if item.joining is not None else None,
    }


def participant_transfers(row: ParticipantTransfers) -> dict[str, Any]:
    return {
        "id": str(row.user_id),
        "type": "participant-transfer",
        "attributes": {
            "updated_at": instant(row.updated_at),
            "transfers": [_transfer(t) for t in row.transfers],
        },
    }


def unfunded_mentor(row: UnfundedMentor) -> dict[str, Any]:
    return {
        "id": str(row.user_id),
        "type": "unfunded-mentor",
        "attributes": {
            "full_name": row.full_name,
            "email": row.email,
            "teacher_reference_number": row.teacher_reference_number,
            "created_at": instant(row.created_at),
            "updated_at": instant(row.updated_at),
        },
    }
