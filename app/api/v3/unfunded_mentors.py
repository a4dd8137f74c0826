"""v3 unfunded mentors routes: mentors of your participants whom you do not train."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.api.deps import EcfProviderDep, FilterQueryDep, ListQueryDep, SessionDep, read_only
from app.api.query import (
    UPDATED_SINCE_PROPERTY,
    filter_parameter,
    page_parameter,
    sort_parameter,
    updated_since,
)
from app.api.responses import JSONAPIResponse
from app.api.routing import ResourceRouter
from app.api.v1.schemas import BAD_REQUEST, FORBIDDEN, NOT_FOUND, UNAUTHORISED
from app.api.v3.transfer_serializers import unfunded_mentor
from app.domain.unfunded_mentors import UNFUNDED_MENTOR_SORTABLE, UnfundedMentorService

router = ResourceRouter(prefix="/api/v3", tags=["Unfunded mentors"])


class UnfundedMentorAttributes(BaseModel):
    full_name: str
    email: str
    teacher_reference_number: str | None
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    updated_at: str = Field(json_schema_extra={"format": "date-time"})


class UnfundedMentor(BaseModel):
    id: str = Field(json_schema_extra={"format": "uuid"})
    type: Literal["unfunded-mentor"]
    attributes: UnfundedMentorAttributes


class UnfundedMentorResponse(BaseModel):
    data: UnfundedMentor


class UnfundedMentorsResponse(BaseModel):
    data: list[UnfundedMentor]


UNFUNDED_MENTOR_FILTER = filter_parameter(
    {"updated_since": UPDATED_SINCE_PROPERTY},
    "Refine unfunded mentors to return.",
    "filter[updated_since]=2020-11-13T11:21:55Z",
)
LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": UnfundedMentorsResponse, "description": "A list of unfunded mentors"},
    **UNAUTHORISED,
    **FORBIDDEN,
    **BAD_REQUEST,
}
SHOW_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": UnfundedMentorResponse, "description": "A single unfunded mentor"},
    **UNAUTHORISED,
    **FORBIDDEN,
    **BAD_REQUEST,
    **NOT_FOUND,
}


@router.get(
    "/unfunded-mentors/ecf",
    operation_id="v3_list_unfunded_mentors",
    responses=LIST_RESPONSES,
    response_class=JSONAPIResponse,
    openapi_extra={
        "parameters": [
            UNFUNDED_MENTOR_FILTER,
            page_parameter("unfunded mentors"),
            sort_parameter(
                [f"{sign}{name}" for name in UNFUNDED_MENTOR_SORTABLE for sign in ("", "-")],
                "unfunded mentors",
            ),
        ]
    },
)
@read_only
async def list_unfunded_mentors(
    provider: EcfProviderDep, session: SessionDep, query: ListQueryDep
) -> JSONAPIResponse:
    """Retrieve the mentors of your participants who do not train with you."""
    service = UnfundedMentorService(session, provider)
    rows = await service.list_mentors(updated_since(query), query.page, query.sort)
    return JSONAPIResponse({"data": [unfunded_mentor(r) for r in rows]})


@router.get(
    "/unfunded-mentors/ecf/{id}",
    operation_id="v3_get_unfunded_mentor",
    responses=SHOW_RESPONSES,
    response_class=JSONAPIResponse,
    openapi_extra={"parameters": [UNFUNDED_MENTOR_FILTER]},
)
@read_only
async def get_unfunded_mentor(
    id: str, provider: EcfProviderDep, session: SessionDep, query: FilterQueryDep
) -> JSONAPIResponse:
    """Get one of your participants' mentors who does not train with you."""
    service = UnfundedMentorService(session, provider)
    return JSONAPIResponse({"data": unfunded_mentor(await service.get_mentor(id, updated_since(query)))})
