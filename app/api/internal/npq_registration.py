"""The NPQ registration service's internal API (`/api/internal/npq-applications`): it creates
applications, which lead providers then see in `npq-applications`, and updates their funding
eligibility. Administrators may act as the registration service."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter

from app.api.deps import ClockDep, JsonBodyDep, SessionDep
from app.api.internal.deps import NpqRegistrationCallerDep
from app.api.responses import JSONAPIResponse
from app.api.serialization import iso_date, rfc3339, str_or_none
from app.api.v1.schemas import (
    BAD_REQUEST,
    FORBIDDEN,
    NOT_FOUND,
    UNAUTHORISED,
    UNPROCESSABLE,
    Responses,
    jsonapi_request_body,
)
from app.domain.declaration_submission import request_attributes
from app.domain.enums import NPQ_COURSE_IDENTIFIERS
from app.domain.npq_registration import (
    CATCHMENTS,
    ELIGIBILITY_FIELDS,
    FIELD_KINDS,
    FUNDING_CHOICES,
    HEADTEACHER_STATUSES,
    NpqRegistrationService,
)
from app.repositories.npq_registration import RegisteredApplication

router = APIRouter(prefix="/npq-applications", tags=["Internal: NPQ registration"])

CALLER: Responses = {**UNAUTHORISED, **FORBIDDEN}
TYPE = "npq-application"


def _field_schema(name: str) -> dict[str, Any]:
    kind, option = FIELD_KINDS[name]
    if kind == "flag":
        return {"type": "boolean", "default": False}
    if kind == "maybe":
        return {"type": "boolean", "nullable": True}
    if kind == "date":
        return {"type": "string", "format": "date", "nullable": True}
    if kind == "int":
        return {"type": "integer", "minimum": 0, "nullable": True}
    if kind == "choice":
        return {"type": "string", "enum": list(option), "nullable": True}
    if kind == "iso":
        return {"type": "string", "minLength": 3, "maxLength": 3, "example": "GBR", "nullable": True}
    return {"type": "string", "maxLength": option, "nullable": True}


FIELD_SCHEMAS = {name: _field_schema(name) for name in FIELD_KINDS}
assert FIELD_SCHEMAS["headteacher_status"]["enum"] == list(HEADTEACHER_STATUSES)
assert FIELD_SCHEMAS["funding_choice"]["enum"] == list(FUNDING_CHOICES)
assert FIELD_SCHEMAS["teacher_catchment"]["enum"] == list(CATCHMENTS)

CREATE_BODY = jsonapi_request_body(
    TYPE,
    {
        "type": "object",
        "description": (
            "The applicant is an existing participant (`participant_id`) or an email: a known email is "
            "that person, a new one creates the participant (`full_name` needed)."
        ),
        "required": ["course_identifier", "lead_provider_id", "cohort"],
        "properties": {
            "participant_id": {"type": "string", "format": "uuid"},
            "email": {"type": "string", "format": "email"},
            "full_name": {"type": "string"},
            "course_identifier": {"type": "string", "enum": list(NPQ_COURSE_IDENTIFIERS)},
            "lead_provider_id": {
                "type": "string",
                "format": "uuid",
                "description": "CPD lead provider id of a provider with an NPQ role.",
            },
            "cohort": {"type": "integer", "example": 2025},
            **FIELD_SCHEMAS,
        },
    },
)
ELIGIBILITY_BODY = jsonapi_request_body(
    TYPE,
    {
        "type": "object",
        "description": "Only the attributes sent change; at least one is needed.",
        "minProperties": 1,
        "properties": {name: FIELD_SCHEMAS[name] for name in ELIGIBILITY_FIELDS},
    },
)


def application_document(a: RegisteredApplication) -> dict[str, Any]:
    fields = {k: iso_date(v) if isinstance(v, date) else v for k, v in a.fields.items()}
    return {
        "data": {
            "id": str(a.id),
            "type": TYPE,
            "attributes": {
                "participant_id": str(a.user_id),
                "full_name": a.full_name,
                "email": a.email,
                "course_identifier": a.course_identifier,
                "lead_provider_id": str_or_none(a.cpd_lead_provider_id),
                "npq_lead_provider_id": str(a.npq_lead_provider_id),
                "cohort": str_or_none(a.cohort_year),
                "status": a.status,
                **fields,
                "eligible_for_funding_updated_at": rfc3339(a.eligible_for_funding_updated_at),
                "created_at": rfc3339(a.created_at),
                "updated_at": rfc3339(a.updated_at),
            },
        }
    }


@router.post(
    "",
    operation_id="internal_create_npq_application",
    status_code=201,
    responses={**CALLER, **BAD_REQUEST, **UNPROCESSABLE},
    response_class=JSONAPIResponse,
    openapi_extra={"requestBody": CREATE_BODY},
)
async def create_application(
    _: NpqRegistrationCallerDep, session: SessionDep, clock: ClockDep, body: JsonBodyDep
) -> JSONAPIResponse:
    """Create a pending NPQ application (and the participant, for a new email)."""
    created = await NpqRegistrationService(session, clock).create(request_attributes(body))
    return JSONAPIResponse(application_document(created), status_code=201)


@router.get(
    "/{id}",
    operation_id="internal_get_npq_application",
    responses={**CALLER, **NOT_FOUND},
    response_class=JSONAPIResponse,
)
async def get_application(
    id: str, _: NpqRegistrationCallerDep, session: SessionDep, clock: ClockDep
) -> JSONAPIResponse:
    """Get an NPQ application, whichever provider it is with."""
    return JSONAPIResponse(application_document(await NpqRegistrationService(session, clock).get(id)))


@router.patch(
    "/{id}",
    operation_id="internal_update_npq_application_eligibility",
    responses={**CALLER, **BAD_REQUEST, **NOT_FOUND, **UNPROCESSABLE},
    response_class=JSONAPIResponse,
    openapi_extra={"requestBody": ELIGIBILITY_BODY},
)
async def update_eligibility(
    id: str, _: NpqRegistrationCallerDep, session: SessionDep, clock: ClockDep, body: JsonBodyDep
) -> JSONAPIResponse:
    """Change an application's funding eligibility; providers' `updated_since` syncs see it."""
    service = NpqRegistrationService(session, clock)
    return JSONAPIResponse(
        application_document(await service.update_eligibility(id, request_attributes(body)))
    )
