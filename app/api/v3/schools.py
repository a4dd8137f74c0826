"""v3 ECF schools routes: the schools of one cohort, the same for every lead provider."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.api.deps import EcfProviderDep, FilterQueryDep, ListQueryDep, SessionDep, read_only
from app.api.query import (
    STRING,
    UPDATED_SINCE_PROPERTY,
    ListQuery,
    filter_parameter,
    page_parameter,
    sort_parameter,
    updated_since,
)
from app.api.responses import JSONAPIResponse
from app.api.routing import ResourceRouter
from app.api.v1.schemas import BAD_REQUEST, FORBIDDEN, NOT_FOUND, UNAUTHORISED
from app.api.v3.school_serializers import school
from app.domain.enums import InductionProgrammeChoice
from app.domain.schools import SCHOOL_SORTABLE, SchoolService, require_cohort
from app.repositories.schools import SchoolFilters

router = ResourceRouter(prefix="/api/v3", tags=["ECF schools"])


class ECFSchoolAttributes(BaseModel):
    name: str
    urn: str
    cohort: str
    in_partnership: bool
    induction_programme_choice: InductionProgrammeChoice
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    updated_at: str = Field(json_schema_extra={"format": "date-time"})


class ECFSchool(BaseModel):
    id: str = Field(json_schema_extra={"format": "uuid"})
    type: Literal["school"]
    attributes: ECFSchoolAttributes


class ECFSchoolResponse(BaseModel):
    data: ECFSchool


class MultipleECFSchoolsResponse(BaseModel):
    data: list[ECFSchool]


SCHOOL_FILTER: dict[str, Any] = {
    **filter_parameter(
        {
            "cohort": {
                **STRING,
                "description": "Return schools within this cohort (start year).",
                "example": "2022",
            },
            "urn": {**STRING, "description": "Return the school with this URN.", "example": "106286"},
            "updated_since": UPDATED_SINCE_PROPERTY,
        },
        "Refine schools to return. `filter[cohort]` is required.",
        "filter[cohort]=2021&filter[urn]=106286&filter[updated_since]=2020-11-13T11:21:55Z",
    ),
    "required": True,
}
LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": MultipleECFSchoolsResponse, "description": "A list of schools for the given cohort"},
    **UNAUTHORISED,
    **FORBIDDEN,
    **BAD_REQUEST,
}
SHOW_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ECFSchoolResponse, "description": "A single school"},
    **UNAUTHORISED,
    **FORBIDDEN,
    **BAD_REQUEST,
    **NOT_FOUND,
}


def school_filters(query: ListQuery) -> SchoolFilters:
    return SchoolFilters(urn=query.filter("urn"), updated_since=updated_since(query))


@router.get(
    "/schools/ecf",
    operation_id="v3_list_ecf_schools",
    responses=LIST_RESPONSES,
    response_class=JSONAPIResponse,
    openapi_extra={
        "parameters": [
            SCHOOL_FILTER,
            page_parameter("schools"),
            sort_parameter([f"{sign}{name}" for name in SCHOOL_SORTABLE for sign in ("", "-")], "schools"),
        ]
    },
)
@read_only
async def list_ecf_schools(
    provider: EcfProviderDep, session: SessionDep, query: ListQueryDep
) -> JSONAPIResponse:
    """Retrieve the schools of a cohort, with their programme choice and partnership status."""
    year = require_cohort(query.filters.get("cohort"))
    rows = await SchoolService(session).list_schools(year, school_filters(query), query.page, query.sort)
    return JSONAPIResponse({"data": [school(r) for r in rows]})


@router.get(
    "/schools/ecf/{id}",
    operation_id="v3_get_ecf_school",
    responses=SHOW_RESPONSES,
    response_class=JSONAPIResponse,
    openapi_extra={"parameters": [SCHOOL_FILTER]},
)
@read_only
async def get_ecf_school(
    id: str, provider: EcfProviderDep, session: SessionDep, query: FilterQueryDep
) -> JSONAPIResponse:
    """Get a single school as it is in a cohort."""
    year = require_cohort(query.filters.get("cohort"))
    row = await SchoolService(session).get(id, year, school_filters(query))
    return JSONAPIResponse({"data": school(row)})
