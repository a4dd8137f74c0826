"""v3 delivery partners routes: the partners a lead provider works with."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.api.deps import EcfProviderDep, ListQueryDep, SessionDep, read_only
from app.api.query import COHORT_PROPERTY, cohort_years, filter_parameter, page_parameter, sort_parameter
from app.api.responses import JSONAPIResponse
from app.api.routing import ResourceRouter
from app.api.v1.schemas import BAD_REQUEST, FORBIDDEN, NOT_FOUND, UNAUTHORISED
from app.api.v3.school_serializers import delivery_partner
from app.domain.delivery_partners import DELIVERY_PARTNER_SORTABLE, DeliveryPartnerService

router = ResourceRouter(prefix="/api/v3", tags=["Delivery partners"])


class DeliveryPartnerAttributes(BaseModel):
    name: str
    cohort: list[str] = Field(description="Every cohort the partner works with you in (start years).")
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    updated_at: str = Field(json_schema_extra={"format": "date-time"})


class DeliveryPartner(BaseModel):
    id: str = Field(json_schema_extra={"format": "uuid"})
    type: Literal["delivery-partner"]
    attributes: DeliveryPartnerAttributes


class DeliveryPartnerResponse(BaseModel):
    data: DeliveryPartner


class DeliveryPartnersResponse(BaseModel):
    data: list[DeliveryPartner]


DELIVERY_PARTNER_FILTER = filter_parameter(
    {"cohort": COHORT_PROPERTY}, "Refine delivery partners to return.", "filter[cohort]=2021,2022"
)
LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": DeliveryPartnersResponse, "description": "A list of delivery partners"},
    **UNAUTHORISED,
    **FORBIDDEN,
    **BAD_REQUEST,
}
SHOW_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": DeliveryPartnerResponse, "description": "A single delivery partner"},
    **UNAUTHORISED,
    **FORBIDDEN,
    **NOT_FOUND,
}


@router.get(
    "/delivery-partners",
    operation_id="v3_list_delivery_partners",
    responses=LIST_RESPONSES,
    response_class=JSONAPIResponse,
    openapi_extra={
        "parameters": [
            DELIVERY_PARTNER_FILTER,
            page_parameter("delivery partners"),
            sort_parameter(
                [f"{sign}{name}" for name in DELIVERY_PARTNER_SORTABLE for sign in ("", "-")],
                "delivery partners",
            ),
        ]
    },
)
@read_only
async def list_delivery_partners(
    provider: EcfProviderDep, session: SessionDep, query: ListQueryDep
) -> JSONAPIResponse:
    """Retrieve the delivery partners you work with, each with its cohorts."""
    service = DeliveryPartnerService(session, provider)
    rows = await service.list_partners(cohort_years(query), query.page, query.sort)
    return JSONAPIResponse({"data": [delivery_partner(r) for r in rows]})


@router.get(
    "/delivery-partners/{id}",
    operation_id="v3_get_delivery_partner",
    responses=SHOW_RESPONSES,
    response_class=JSONAPIResponse,
)
@read_only
async def get_delivery_partner(id: str, provider: EcfProviderDep, session: SessionDep) -> JSONAPIResponse:
    """Get a delivery partner you work with."""
    return JSONAPIResponse(
        {"data": delivery_partner(await DeliveryPartnerService(session, provider).get(id))}
    )
