"""v1 request/response schemas. Used to document the API; responses are built as dicts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from app.api.query import COHORT_PROPERTY, UPDATED_SINCE_PROPERTY, filter_parameter, page_parameter
from app.domain.declaration_submission import VALID_EVIDENCE_HELD
from app.domain.enums import ECF_COURSE_IDENTIFIERS, NPQ_COURSE_IDENTIFIERS, DeclarationState, DeclarationType
from app.domain.npq_courses import SUPPORT_OFFER_COURSES

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
BAD_REQUEST: Responses = {
    400: {"model": ErrorResponse, "description": "Bad request (a malformed filter, page or request body)"}
}

ECF_PARTICIPANT_FILTER = filter_parameter(
    {"cohort": COHORT_PROPERTY, "updated_since": UPDATED_SINCE_PROPERTY},
    "Refine ECF participants to return.",
    "filter[cohort]=2022&filter[updated_since]=2020-11-13T11:21:55Z",
)
ECF_PARTICIPANT_PAGE = page_parameter("ECF participants")

DECLARATION_TYPES = [t.value for t in DeclarationType]
UNPROCESSABLE: Responses = {422: {"model": ErrorResponse, "description": "Bad or missing parameters"}}

# ---- participant declarations ---------------------------------------------------------------------

# States are stored with underscores and shown dasherised (see app.domain.declarations.api_state).
DECLARATION_STATES = [s.value.replace("_", "-") for s in DeclarationState]
COURSE_IDENTIFIERS = [*ECF_COURSE_IDENTIFIERS, *NPQ_COURSE_IDENTIFIERS]
UUID: JsonDict = {"format": "uuid"}
DATE_TIME: JsonDict = {"format": "date-time"}


def one_of(values: Iterable[str]) -> JsonDict:
    """An `enum` for a string field documented from a domain constant (responses are not validated)."""
    return {"enum": list(values)}


class ParticipantDeclarationAttributes(BaseModel):
    participant_id: str = Field(json_schema_extra=UUID)
    declaration_type: str = Field(json_schema_extra=one_of(DECLARATION_TYPES))
    declaration_date: str = Field(json_schema_extra=DATE_TIME)
    course_identifier: str = Field(json_schema_extra=one_of(COURSE_IDENTIFIERS))
    eligible_for_payment: bool = Field(description="The declaration is eligible or payable.")
    voided: bool
    state: str = Field(json_schema_extra=one_of(DECLARATION_STATES))
    updated_at: str = Field(json_schema_extra=DATE_TIME)
    has_passed: bool | None = Field(description="NPQ `completed` declarations: the latest outcome.")


class ParticipantDeclaration(BaseModel):
    id: str = Field(json_schema_extra=UUID)
    type: Literal["participant-declaration"]
    attributes: ParticipantDeclarationAttributes


class ParticipantDeclarationResponse(BaseModel):
    data: ParticipantDeclaration


class MultipleParticipantDeclarationsResponse(BaseModel):
    data: list[ParticipantDeclaration]


def _declaration_alternative(
    title: str,
    declaration_types: Iterable[str],
    courses: Iterable[str],
    extra: dict[str, dict[str, Any]],
    required_extra: Iterable[str] = (),
) -> dict[str, Any]:
    return {
        "title": title,
        "type": "object",
        "required": [
            "participant_id",
            "declaration_type",
            "declaration_date",
            "course_identifier",
            *required_extra,
        ],
        "properties": {
            "participant_id": {"type": "string", "format": "uuid"},
            "declaration_type": {"type": "string", "enum": list(declaration_types)},
            "declaration_date": {
                "type": "string",
                "format": "date-time",
                "example": "2021-05-31T02:21:32.000Z",
            },
            "course_identifier": {"type": "string", "enum": list(courses)},
            **extra,
        },
    }


def declaration_request_body() -> dict[str, Any]:
    """The POST body, one alternative per programme and declaration type (the handler reads the
    body itself so that a malformed one gets the contract's errors, in the contract's order)."""
    evidence = {
        "evidence_held": {
            "type": "string",
            "enum": list(VALID_EVIDENCE_HELD),
            "description": "The evidence you hold that the participant met the milestone.",
        }
    }
    has_passed = {
        "has_passed": {
            "type": "boolean",
            "description": "Whether the participant passed; required except for "
            + " and ".join(f"`{c}`" for c in SUPPORT_OFFER_COURSES)
            + ".",
        }
    }
    retained = [t for t in DECLARATION_TYPES if t.startswith("retained-")]
    extended = [t for t in DECLARATION_TYPES if t.startswith("extended-")]
    ecf, npq = list(ECF_COURSE_IDENTIFIERS), list(NPQ_COURSE_IDENTIFIERS)
    alternatives = [
        _declaration_alternative("ECF started declaration", ["started"], ecf, {}),
        _declaration_alternative("ECF retained declaration", retained, ecf, evidence, ["evidence_held"]),
        _declaration_alternative(
            "ECF completed declaration", ["completed"], ecf, evidence, ["evidence_held"]
        ),
        _declaration_alternative("ECF extended declaration", extended, ecf, evidence, ["evidence_held"]),
        _declaration_alternative("NPQ started declaration", ["started"], npq, {}),
        # NPQ schedules have two retention milestones.
        _declaration_alternative("NPQ retained declaration", retained[:2], npq, {}),
        _declaration_alternative("NPQ completed declaration", ["completed"], npq, has_passed),
    ]
    return jsonapi_request_body("participant-declaration", {"anyOf": alternatives})


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
