"""v3 schemas, used to document the API (responses are built as dicts)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from app.api.query import (
    COHORT_PROPERTY,
    STRING,
    UPDATED_SINCE_PROPERTY,
    filter_parameter,
    page_parameter,
    sort_parameter,
)
from app.api.v1.schemas import (
    COURSE_IDENTIFIERS,
    DECLARATION_STATES,
    DECLARATION_TYPES,
    ScheduleIdentifier,
    one_of,
)
from app.domain.declaration_submission import VALID_EVIDENCE_HELD
from app.domain.ecf_actions import DEFER_REASONS, WITHDRAW_REASONS

UUID: JsonDict = {"format": "uuid"}
DATE_TIME: JsonDict = {"format": "date-time"}
DATE: JsonDict = {"format": "date"}


class ECFDeferral(BaseModel):
    reason: str = Field(json_schema_extra=one_of(DEFER_REASONS))
    date: str = Field(json_schema_extra=DATE_TIME)


class ECFWithdrawal(BaseModel):
    reason: str = Field(json_schema_extra=one_of(WITHDRAW_REASONS))
    date: str = Field(json_schema_extra=DATE_TIME)


class ECFEnrolment(BaseModel):
    training_record_id: str = Field(json_schema_extra=UUID)
    email: str
    mentor_id: str | None = Field(json_schema_extra=UUID)
    school_urn: str
    participant_type: Literal["ect", "mentor"]
    cohort: str
    training_status: Literal["active", "deferred", "withdrawn"]
    participant_status: Literal["active", "joining", "leaving", "left", "withdrawn"] | None
    teacher_reference_number_validated: bool | None
    eligible_for_funding: bool | None
    pupil_premium_uplift: bool
    sparsity_uplift: bool
    schedule_identifier: ScheduleIdentifier
    delivery_partner_id: str | None = Field(json_schema_extra=UUID)
    withdrawal: ECFWithdrawal | None
    deferral: ECFDeferral | None
    created_at: str = Field(json_schema_extra=DATE_TIME)
    induction_end_date: str | None = Field(json_schema_extra=DATE)
    mentor_funding_end_date: str | None = Field(
        default=None,
        json_schema_extra=DATE,
        description="Mentor training completion date (not shown in production).",
    )


class ParticipantIdChange(BaseModel):
    from_participant_id: str = Field(json_schema_extra=UUID)
    to_participant_id: str = Field(json_schema_extra=UUID)
    changed_at: str = Field(json_schema_extra=DATE_TIME)


class ECFParticipantAttributes(BaseModel):
    full_name: str
    teacher_reference_number: str | None
    updated_at: str = Field(json_schema_extra=DATE_TIME)
    ecf_enrolments: list[ECFEnrolment]
    participant_id_changes: list[ParticipantIdChange]


class ECFParticipant(BaseModel):
    id: str = Field(json_schema_extra=UUID)
    type: Literal["participant"]
    attributes: ECFParticipantAttributes


class ECFParticipantResponse(BaseModel):
    data: ECFParticipant


class MultipleECFParticipantsResponse(BaseModel):
    data: list[ECFParticipant]


ECF_PARTICIPANT_FILTER = filter_parameter(
    {
        "cohort": COHORT_PROPERTY,
        "updated_since": UPDATED_SINCE_PROPERTY,
        "training_status": {**STRING, "enum": ["active", "deferred", "withdrawn"]},
        "from_participant_id": {**STRING, "format": "uuid"},
    },
    "Refine ECF participants to return.",
    "filter[cohort]=2022&filter[training_status]=active",
)
ECF_PARTICIPANT_PAGE = page_parameter("ECF participants")
ECF_PARTICIPANT_SORT = sort_parameter(
    ["created_at", "-created_at", "updated_at", "-updated_at"], "ECF participants"
)


# ---- participant declarations ---------------------------------------------------------------------


class ParticipantDeclarationAttributes(BaseModel):
    participant_id: str = Field(json_schema_extra=UUID)
    declaration_type: str = Field(json_schema_extra=one_of(DECLARATION_TYPES))
    declaration_date: str = Field(json_schema_extra=DATE_TIME)
    course_identifier: str = Field(json_schema_extra=one_of(COURSE_IDENTIFIERS))
    state: str = Field(json_schema_extra=one_of(DECLARATION_STATES))
    updated_at: str = Field(json_schema_extra=DATE_TIME)
    created_at: str = Field(json_schema_extra=DATE_TIME)
    delivery_partner_id: str | None = Field(
        json_schema_extra=UUID, description="ECF: the participant's delivery partner when declared."
    )
    statement_id: str | None = Field(json_schema_extra=UUID)
    clawback_statement_id: str | None = Field(json_schema_extra=UUID)
    ineligible_for_funding_reason: Literal["duplicate_declaration"] | None
    mentor_id: str | None = Field(json_schema_extra=UUID)
    uplift_paid: bool
    evidence_held: str | None = Field(
        json_schema_extra=one_of(VALID_EVIDENCE_HELD), description="ECF declarations other than `started`."
    )
    has_passed: bool | None = Field(description="NPQ `completed` declarations: the latest outcome.")
    lead_provider_name: str


class ParticipantDeclaration(BaseModel):
    id: str = Field(json_schema_extra=UUID)
    type: Literal["participant-declaration"]
    attributes: ParticipantDeclarationAttributes


class ParticipantDeclarationResponse(BaseModel):
    data: ParticipantDeclaration


class MultipleParticipantDeclarationsResponse(BaseModel):
    data: list[ParticipantDeclaration]


# ---- statements -----------------------------------------------------------------------------------


class StatementAttributes(BaseModel):
    month: str = Field(examples=["May"])
    year: str = Field(examples=["2022"])
    type: Literal["ecf", "npq"]
    cohort: str = Field(examples=["2021"])
    cut_off_date: str = Field(json_schema_extra=DATE)
    payment_date: str = Field(json_schema_extra=DATE)
    paid: bool
    created_at: str = Field(json_schema_extra=DATE_TIME)
    updated_at: str = Field(json_schema_extra=DATE_TIME)


class Statement(BaseModel):
    id: str = Field(json_schema_extra=UUID)
    type: Literal["statement"]
    attributes: StatementAttributes


class StatementResponse(BaseModel):
    data: Statement


class MultipleStatementsResponse(BaseModel):
    data: list[Statement]
