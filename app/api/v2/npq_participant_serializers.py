"""v2 wire shape of NPQ participants: the user with one object per enrolment."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.api.serialization import instant
from app.domain.enums import NPQ_COURSE_IDENTIFIERS
from app.domain.npq_participants import NpqEnrolment, NpqParticipant

TrainingStatusValue = Literal["active", "deferred", "withdrawn"]
# The schedules the contract names for NPQ (documentation; every cohort uses these identifiers).
NPQ_SCHEDULE_IDENTIFIERS = (
    "npq-aso-march",
    "npq-aso-june",
    "npq-aso-november",
    "npq-aso-december",
    "npq-ehco-march",
    "npq-ehco-june",
    "npq-ehco-november",
    "npq-ehco-december",
    "npq-leadership-autumn",
    "npq-leadership-spring",
    "npq-specialist-autumn",
    "npq-specialist-spring",
)


class NPQEnrolment(BaseModel):
    course_identifier: str = Field(json_schema_extra={"enum": list(NPQ_COURSE_IDENTIFIERS)})
    schedule_identifier: str = Field(json_schema_extra={"enum": list(NPQ_SCHEDULE_IDENTIFIERS)})
    cohort: str
    npq_application_id: str = Field(json_schema_extra={"format": "uuid"})
    eligible_for_funding: bool
    training_status: TrainingStatusValue
    school_urn: str | None
    targeted_delivery_funding_eligibility: bool


class NPQParticipantAttributes(BaseModel):
    email: str | None
    full_name: str
    teacher_reference_number: str | None
    updated_at: str = Field(json_schema_extra={"format": "date-time"})
    npq_enrolments: list[NPQEnrolment]


class NPQParticipant(BaseModel):
    id: str = Field(json_schema_extra={"format": "uuid"})
    type: Literal["npq-participant"]
    attributes: NPQParticipantAttributes


class NPQParticipantResponse(BaseModel):
    data: NPQParticipant


class MultipleNPQParticipantsResponse(BaseModel):
    data: list[NPQParticipant]


def npq_enrolment(enrolment: NpqEnrolment) -> dict[str, Any]:
    row = enrolment.row
    return {
        "course_identifier": row.course_identifier,
        "schedule_identifier": row.schedule_identifier,
        "cohort": str(row.cohort_year),
        "npq_application_id": str(row.participant_profile_id),
        "eligible_for_funding": row.eligible_for_funding,
        "training_status": row.training_status,
        "school_urn": row.school_urn,
        "targeted_delivery_funding_eligibility": row.targeted_delivery_funding_eligibility,
    }


def npq_participant(participant: NpqParticipant) -> dict[str, Any]:
    return {
        "id": str(participant.user_id),
        "type": "npq-participant",
        "attributes": {
            "email": participant.email,
            "full_name": participant.full_name,
            "teacher_reference_number": participant.teacher_reference_number,
            "updated_at": instant(participant.updated_at),
            "npq_enrolments": [npq_enrolment(e) for e in participant.enrolments],
        },
    }
