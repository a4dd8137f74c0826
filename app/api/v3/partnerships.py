"""v3 partnerships routes: the provider's partnerships with schools, confirming and changing them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.api.deps import ClockDep, EcfProviderDep, JsonBodyDep, ListQueryDep, SessionDep, read_only
from app.api.query import (
    COHORT_PROPERTY,
    STRING,
    UPDATED_SINCE_PROPERTY,
    ListQuery,
    cohort_years,
    filter_parameter,
    page_parameter,
    sort_parameter,
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
    jsonapi_request_body,
)
from app.api.v3.partnership_serializers import partnership
from app.domain.declarations import parse_ids
from app.domain.enums import ChallengeReason
from app.domain.partnerships import PARTNERSHIP_SORTABLE, PartnershipService
from app.repositories.partnerships import PartnershipFilters

router = ResourceRouter(prefix="/api/v3", tags=["ECF partnerships"])


class ECFPartnershipAttributes(BaseModel):
    cohort: str
    urn: str
    school_id: str = Field(json_schema_extra={"format": "uuid"})
    delivery_partner_id: str = Field(json_schema_extra={"format": "uuid"})
    delivery_partner_name: str | None
    status: Literal["active", "challenged"]
    challenged_reason: ChallengeReason | None
    challenged_at: str | None = Field(json_schema_extra={"format": "date-time"})
    induction_tutor_name: str | None
    induction_tutor_email: str | None
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    updated_at: str = Field(json_schema_extra={"format": "date-time"})


class ECFPartnership(BaseModel):
    id: str = Field(json_schema_extra={"format": "uuid"})
    type: Literal["partnership"]
    attributes: ECFPartnershipAttributes


class ECFPartnershipResponse(BaseModel):
    data: ECFPartnership


class MultipleECFPartnershipsResponse(BaseModel):
    data: list[ECFPartnership]


PARTNERSHIP_FILTER = filter_parameter(
    {
        "cohort": COHORT_PROPERTY,
        "updated_since": UPDATED_SINCE_PROPERTY,
        "delivery_partner_id": {
            **STRING,
            "description": "Return partnerships with these delivery partners (comma-separated ids).",
            "example": "42a9ef2f-9059-400a-92ff-4830a629d0c5,92f6e54b-57fe-4a62-89cc-e83d6b0f734b",
        },
    },
    "Refine partnerships to return.",
    "filter[cohort]=2021,2022",
)
LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": MultipleECFPartnershipsResponse, "description": "A list of ECF partnerships"},
    **UNAUTHORISED,
    **FORBIDDEN,
    **BAD_REQUEST,
}
SHOW_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ECFPartnershipResponse, "description": "A single partnership"},
    **UNAUTHORISED,
    **FORBIDDEN,
    **NOT_FOUND,
}
CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ECFPartnershipResponse, "description": "The confirmed partnership"},
    **UNAUTHORISED,
    **FORBIDDEN,
    **BAD_REQUEST,
    **UNPROCESSABLE,
}
UPDATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ECFPartnershipResponse, "description": "The updated partnership"},
    **UNAUTHORISED,
    **FORBIDDEN,
    **BAD_REQUEST,
    **NOT_FOUND,
    **UNPROCESSABLE,
}
UUID = {"type": "string", "format": "uuid"}
CREATE_BODY = jsonapi_request_body(
    "ecf-partnership",
    {
        "type": "object",
        "required": ["cohort", "school_id", "delivery_partner_id"],
        "properties": {
            "cohort": {
                **STRING,
                "example": "2021",
                "description": "The cohort (start year) of the partnership.",
            },
            "school_id": {**UUID, "description": "The school you are partnering with."},
            "delivery_partner_id": {**UUID, "description": "The delivery partner you will work with."},
        },
    },
)
UPDATE_BODY = jsonapi_request_body(
    "ecf-partnership-update",
    {
        "type": "object",
        "required": ["delivery_partner_id"],
        "properties": {"delivery_partner_id": {**UUID, "description": "The new delivery partner."}},
    },
)


def partnership_filters(query: ListQuery) -> PartnershipFilters:
    return PartnershipFilters(
        cohort_years=cohort_years(query),
        delivery_partner_ids=parse_ids(query.filter("delivery_partner_id"), single=False),
        updated_since=updated_since(query),
    )


@router.get(
    "/partnerships/ecf",
    operation_id="v3_list_ecf_partnerships",
    responses=LIST_RESPONSES,
    response_class=JSONAPIResponse,
    openapi_extra={
        "parameters": [
            PARTNERSHIP_FILTER,
            page_parameter("partnerships"),
            sort_parameter(
                [f"{sign}{name}" for name in PARTNERSHIP_SORTABLE for sign in ("", "-")], "partnerships"
            ),
        ]
    },
)
@read_only
async def list_ecf_partnerships(
    provider: EcfProviderDep, session: SessionDep, query: ListQueryDep
) -> JSONAPIResponse:
    """Retrieve your partnerships with schools, challenged ones included."""
    service = PartnershipService(session, provider)
    rows = await service.list_partnerships(partnership_filters(query), query.page, query.sort)
    return JSONAPIResponse({"data": [partnership(r) for r in rows]})


@router.get(
    "/partnerships/ecf/{id}",
    operation_id="v3_get_ecf_partnership",
    responses=SHOW_RESPONSES,
    response_class=JSONAPIResponse,
)
@read_only
async def get_ecf_partnership(id: str, provider: EcfProviderDep, session: SessionDep) -> JSONAPIResponse:
    """Get one of your partnerships."""
    return JSONAPIResponse({"data": partnership(await PartnershipService(session, provider).get(id))})


@router.post(
    "/partnerships/ecf",
    operation_id="v3_create_ecf_partnership",
    responses=CREATE_RESPONSES,
    response_class=JSONAPIResponse,
    openapi_extra={"requestBody": CREATE_BODY},
)
async def create_ecf_partnership(
    provider: EcfProviderDep, session: SessionDep, clock: ClockDep, body: JsonBodyDep
) -> JSONAPIResponse:
    """Confirm a partnership with a school and delivery partner for a cohort."""
    row = await PartnershipService(session, provider, clock).create(body)
    return JSONAPIResponse({"data": partnership(row)})


@router.put(
    "/partnerships/ecf/{id}",
    operation_id="v3_update_ecf_partnership",
    responses=UPDATE_RESPONSES,
    response_class=JSONAPIResponse,
    openapi_extra={"requestBody": UPDATE_BODY},
)
async def update_ecf_partnership(
    id: str, provider: EcfProviderDep, session: SessionDep, clock: ClockDep, body: JsonBodyDep
) -> JSONAPIResponse:
    """Change the delivery partner of one of your partnerships."""
    row = await PartnershipService(session, provider, clock).update(id, body)
    return JSONAPIResponse({"data": partnership(row)})


# The reference routes PATCH to the same update; undocumented there too.
router.add_api_route(
    "/partnerships/ecf/{id}",
    update_ecf_partnership,
    methods=["PATCH"],
    response_class=JSONAPIResponse,
    include_in_schema=False,
)
