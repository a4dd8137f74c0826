"""v3 participant declaration read routes."""

from __future__ import annotations

from app.api.deps import ClockDep, JsonBodyDep, LeadProviderDep, ListQueryDep, SessionDep, read_only
from app.api.query import (
    COHORT_PROPERTY,
    UPDATED_SINCE_PROPERTY,
    ListQuery,
    cohort_years,
    filter_parameter,
    page_parameter,
    updated_since,
)
from app.api.responses import JSONAPIResponse
from app.api.routing import ResourceRouter
from app.api.v1.schemas import (
    BAD_REQUEST,
    FORBIDDEN,
    NOT_FOUND,
    UNAUTHORISED,
    UNPROCESSABLE,
    Responses,
    declaration_request_body,
)
from app.api.v3.schemas import MultipleParticipantDeclarationsResponse, ParticipantDeclarationResponse
from app.api.v3.serializers import declaration
from app.domain.declarations import DeclarationService, parse_ids
from app.repositories.declarations import DeclarationFilters

router = ResourceRouter(prefix="/api/v3", tags=["Participant declarations"])

DECLARATION_FILTER = filter_parameter(
    {
        "cohort": COHORT_PROPERTY,
        "participant_id": {"type": "string", "description": "Comma-separated participant ids."},
        "updated_since": UPDATED_SINCE_PROPERTY,
        "delivery_partner_id": {"type": "string", "description": "Comma-separated delivery partner ids."},
    },
    "Refine participant declarations to return.",
    "filter[cohort]=2022&filter[delivery_partner_id]=42a9ef2f-9059-400a-92ff-4830a629d0c5",
)


LIST: Responses = {
    200: {"model": MultipleParticipantDeclarationsResponse, "description": "A list of declarations"}
}
SHOW: Responses = {200: {"model": ParticipantDeclarationResponse, "description": "A single declaration"}}


def v3_filters(query: ListQuery) -> DeclarationFilters:
    return DeclarationFilters(
        participant_ids=parse_ids(query.filter("participant_id"), single=False),
        updated_since=updated_since(query),
        cohort_years=cohort_years(query),
        delivery_partner_ids=parse_ids(query.filter("delivery_partner_id"), single=False),
    )


@router.get(
    "/participant-declarations",
    operation_id="v3_list_participant_declarations",
    responses={**LIST, **UNAUTHORISED, **FORBIDDEN, **BAD_REQUEST},
    response_class=JSONAPIResponse,
    openapi_extra={"parameters": [DECLARATION_FILTER, page_parameter("participant declarations")]},
)
@read_only
async def list_declarations(
    caller: LeadProviderDep, session: SessionDep, query: ListQueryDep
) -> JSONAPIResponse:
    """List participant declarations."""
    rows = await DeclarationService(session, caller).list(v3_filters(query), query.page)
    return JSONAPIResponse({"data": [declaration(r) for r in rows]})


@router.get(
    "/participant-declarations/{id}",
    operation_id="v3_get_participant_declaration",
    responses={**SHOW, **UNAUTHORISED, **FORBIDDEN, **NOT_FOUND},
    response_class=JSONAPIResponse,
)
@read_only
async def get_declaration(id: str, caller: LeadProviderDep, session: SessionDep) -> JSONAPIResponse:
    """Get a single participant declaration."""
    return JSONAPIResponse({"data": declaration(await DeclarationService(session, caller).get(id))})


@router.post(
    "/participant-declarations",
    operation_id="v3_create_participant_declaration",
    responses={**SHOW, **UNAUTHORISED, **FORBIDDEN, **BAD_REQUEST, **UNPROCESSABLE},
    response_class=JSONAPIResponse,
    openapi_extra={"requestBody": declaration_request_body()},
)
async def create_declaration(
    caller: LeadProviderDep, session: SessionDep, clock: ClockDep, body: JsonBodyDep
) -> JSONAPIResponse:
    """Declare that a participant has reached a milestone."""
    return JSONAPIResponse(
        {"data": declaration(await DeclarationService(session, caller).submit(body, clock))}
    )


@router.put(
    "/participant-declarations/{id}/void",
    operation_id="v3_void_participant_declaration",
    responses={**SHOW, **UNAUTHORISED, **FORBIDDEN, **NOT_FOUND, **UNPROCESSABLE},
    response_class=JSONAPIResponse,
)
async def void_declaration(
    id: str, caller: LeadProviderDep, session: SessionDep, clock: ClockDep
) -> JSONAPIResponse:
    """Void a declaration (a paid one is clawed back)."""
    return JSONAPIResponse({"data": declaration(await DeclarationService(session, caller).void(id, clock))})
