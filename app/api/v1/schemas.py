"""v1 request/response schemas. Used to document the API; responses are built as dicts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.api.query import COHORT_PROPERTY, UPDATED_SINCE_PROPERTY, filter_parameter, page_parameter

ScheduleIdentifier = Literal[
    "ecf-standard-september",
    "ecf-standard-january",
    "ecf-standard-april",
    "ecf-reduced-september",
    "ecf-reduced-january",
    "ecf-reduced-april",
    "ecf-extended-september",
    "ecf-extended-january",
    "ecf-extended-april",
    "ecf-replacement-september",
    "ecf-replacement-january",
    "ecf-replacement-april",
]


class ECFParticipantAttributes(BaseModel):
    email: str | None
    full_name: str
    mentor_id: str | None = Field(json_schema_extra={"format": "uuid"})
    school_urn: str
    participant_type: Literal["ect", "mentor"]
    cohort: str
    status: Literal["active", "withdrawn"]
    teacher_reference_number: str | None
    teacher_reference_number_validated: bool | None
    eligible_for_funding: bool | None
    pupil_premium_uplift: bool
    sparsity_uplift: bool
    training_status: Literal["active", "deferred", "withdrawn"]
    training_record_id: str = Field(json_schema_extra={"format": "uuid"})
    schedule_identifier: ScheduleIdentifier
    updated_at: str = Field(json_schema_extra={"format": "date-time"})


class ECFParticipant(BaseModel):
    id: str = Field(json_schema_extra={"format": "uuid"})
    type: Literal["participant"]
    attributes: ECFParticipantAttributes


class ECFParticipantResponse(BaseModel):
    data: ECFParticipant


class MultipleECFParticipantsResponse(BaseModel):
    data: list[ECFParticipant]


class UnauthorisedResponse(BaseModel):
    error: str = Field(examples=["HTTP Token: Access denied"])


class NotFoundResponse(BaseModel):
    error: str = Field(examples=["Resource not Found"])


class ErrorItem(BaseModel):
    title: str
    detail: str


class ErrorResponse(BaseModel):
    errors: list[ErrorItem]


Responses = dict[int | str, dict[str, Any]]

UNAUTHORISED: Responses = {401: {"model": UnauthorisedResponse, "description": "Unauthorized"}}
FORBIDDEN: Responses = {403: {"description": "The token's provider may not use this endpoint"}}
NOT_FOUND: Responses = {404: {"model": NotFoundResponse, "description": "Not found"}}
BAD_REQUEST: Responses = {400: {"model": ErrorResponse, "description": "Bad request (filters or pagination)"}}

ECF_PARTICIPANT_FILTER = filter_parameter(
    {"cohort": COHORT_PROPERTY, "updated_since": UPDATED_SINCE_PROPERTY},
    "Refine ECF participants to return.",
    "filter[cohort]=2022&filter[updated_since]=2020-11-13T11:21:55Z",
)
ECF_PARTICIPANT_PAGE = page_parameter("ECF participants")

DECLARATION_TYPES = [
    "started",
    "retained-1",
    "retained-2",
    "retained-3",
    "retained-4",
    "completed",
    "extended-1",
    "extended-2",
    "extended-3",
]
UNPROCESSABLE: Responses = {422: {"model": ErrorResponse, "description": "Bad or missing parameters"}}


def declaration_request_body() -> dict[str, Any]:
    """The POST body, documented inline (the handler reads it itself to keep the contract's errors)."""
    attributes = {
        "type": "object",
        "required": ["participant_id", "declaration_type", "declaration_date", "course_identifier"],
        "properties": {
            "participant_id": {"type": "string", "format": "uuid"},
            "declaration_type": {"type": "string", "enum": DECLARATION_TYPES},
            "declaration_date": {"type": "string", "format": "date-time"},
            "course_identifier": {"type": "string", "example": "ecf-induction"},
            "evidence_held": {
                "type": "string",
                "enum": ["training-event-attended", "self-study-material-completed", "other"],
                "description": "ECF declarations other than `started`.",
            },
            "has_passed": {"type": "boolean", "description": "NPQ `completed` declarations."},
        },
    }
    return jsonapi_request_body("participant-declaration", attributes)


def jsonapi_request_body(type_name: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI requestBody: a JSON:API document of one resource of `type_name`."""
    schema = {
        "type": "object",
        "required": ["data"],
        "properties": {
            "data": {
                "type": "object",
                "required": ["type", "attributes"],
                "properties": {
                    "type": {"type": "string", "enum": [type_name]},
                    "attributes": attributes,
                },
            }
        },
    }
    return {"required": True, "content": {"application/json": {"schema": schema}}}
