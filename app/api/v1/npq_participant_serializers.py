"""v1 wire shape of NPQ participants: the user with the course identifiers of their enrolments."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.api.serialization import instant
from app.domain.npq_participants import NpqParticipant


class NPQParticipantAttributes(BaseModel):
    participant_id: str = Field(json_schema_extra={"format": "uuid"})
    email: str | None
    full_name: str
    npq_courses: list[str]
    teacher_reference_number: str | None
    updated_at: str = Field(json_schema_extra={"format": "date-time"})


class NPQParticipant(BaseModel):
    id: str = Field(json_schema_extra={"format": "uuid"})
    type: Literal["npq-participant"]
    attributes: NPQParticipantAttributes


class NPQParticipantResponse(BaseModel):
    data: NPQParticipant


class MultipleNPQParticipantsResponse(BaseModel):
    data: list[NPQParticipant]


def npq_participant(participant: NpqParticipant) -> dict[str, Any]:
    return {
        "id": str(participant.user_id),
        "type": "npq-participant",
        "attributes": {
            "participant_id": str(participant.user_id),
            "email": participant.email,
            "full_name": participant.full_name,
            "npq_courses": [e.row.course_identifier for e in participant.enrolments],
            "teacher_reference_number": participant.teacher_reference_number,
            "updated_at": instant(participant.updated_at),
        },
    }
