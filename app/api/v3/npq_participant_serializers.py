"""v3 wire shape of NPQ participants: v2's enrolments plus their email, the provider's own
withdrawal/deferral and creation time; the participant's id changes sit beside them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.api.serialization import instant
from app.api.v2 import npq_participant_serializers as v2
from app.domain.ecf_participants import StatusChange
from app.domain.npq_actions import NPQ_DEFER_REASONS, NPQ_WITHDRAW_REASONS
from app.domain.npq_participants import NpqEnrolment, NpqParticipant


class NPQWithdrawal(BaseModel):
    reason: str | None = Field(json_schema_extra={"enum": list(NPQ_WITHDRAW_REASONS)})
    date: str = Field(json_schema_extra={"format": "date-time"})


class NPQDeferral(BaseModel):
    reason: str | None = Field(json_schema_extra={"enum": list(NPQ_DEFER_REASONS)})
    date: str = Field(json_schema_extra={"format": "date-time"})


class NPQEnrolment(v2.NPQEnrolment):
    email: str | None
    withdrawal: NPQWithdrawal | None
    deferral: NPQDeferral | None
    created_at: str = Field(json_schema_extra={"format": "date-time"})


class ParticipantIdChange(BaseModel):
    from_participant_id: str = Field(json_schema_extra={"format": "uuid"})
    to_participant_id: str = Field(json_schema_extra={"format": "uuid"})
    changed_at: str = Field(json_schema_extra={"format": "date-time"})


class NPQParticipantAttributes(BaseModel):
    full_name: str
    teacher_reference_number: str | None
    updated_at: str = Field(json_schema_extra={"format": "date-time"})
    npq_enrolments: list[NPQEnrolment]
    participant_id_changes: list[ParticipantIdChange]


class NPQParticipant(BaseModel):
    id: str = Field(json_schema_extra={"format": "uuid"})
    type: Literal["npq-participant"]
    attributes: NPQParticipantAttributes


class NPQParticipantResponse(BaseModel):
    data: NPQParticipant


class MultipleNPQParticipantsResponse(BaseModel):
    data: list[NPQParticipant]


def _change(change: StatusChange | None) -> dict[str, Any] | None:
    return None if change is None else {"reason": change.reason, "date": instant(change.date)}


def npq_enrolment(enrolment: NpqEnrolment) -> dict[str, Any]:
    return {
        "email": enrolment.email,
        **v2.npq_enrolment(enrolment),
        "withdrawal": _change(enrolment.withdrawal),
        "deferral": _change(enrolment.deferral),
        "created_at": instant(enrolment.row.created_at),
    }


def npq_participant(participant: NpqParticipant) -> dict[str, Any]:
    return {
        "id": str(participant.user_id),
        "type": "npq-participant",
        "attributes": {
            "full_name": participant.full_name,
            "teacher_reference_number": participant.teacher_reference_number,
            "updated_at": instant(participant.updated_at),
            "npq_enrolments": [npq_enrolment(e) for e in participant.enrolments],
            "participant_id_changes": [
                {
                    "from_participant_id": str(c.from_participant_id),
                    "to_participant_id": str(c.to_participant_id),
                    "changed_at": instant(c.created_at),
                }
                for c in participant.id_changes
            ],
        },
    }
