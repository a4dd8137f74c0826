"""v3 financial statements: read-only, open to any lead provider token."""

from __future__ import annotations

from app.api.deps import LeadProviderDep, ListQueryDep, SessionDep, read_only
from app.api.query import (
    COHORT_PROPERTY,
    UPDATED_SINCE_PROPERTY,
    cohort_years,
    filter_parameter,
    page_parameter,
    updated_since,
)
from app.api.responses import JSONAPIResponse
from app.api.routing import ResourceRouter
from app.api.v1.schemas import BAD_REQUEST, FORBIDDEN, NOT_FOUND, UNAUTHORISED
from app.api.v3.schemas import MultipleStatementsResponse, StatementResponse
from app.api.v3.serializers import statement
from app.domain.statements import StatementService, programme_filter
from app.repositories.statements import StatementFilters

router = ResourceRouter(prefix="/api/v3", tags=["Statements"])

STATEMENT_FILTER = filter_parameter(
    {
        "cohort": COHORT_PROPERTY,
        "type": {
            "type": "string",
            "enum": ["ecf", "npq"],
            "description": "Programme.",
        },
        "updated_since": UPDATED_SINCE_PROPERTY,
    },
    "Refine statements to return.",
    "filter[cohort]=2021,2022&filter[type]=ecf&filter[updated_since]=2020-11-13T11:21:55Z",
)


@router.get(
    "/statements",
    operation_id="v3_list_statements",
    responses={
        200: {"model": MultipleStatementsResponse, "description": "A list of statements"},
        **UNAUTHORISED,
        **FORBIDDEN,
        **BAD_REQUEST,
    },
    response_class=JSONAPIResponse,
    openapi_extra={"parameters": [STATEMENT_FILTER, page_parameter("statements")]},
)
@read_only
async def list_statements(
    caller: LeadProviderDep, session: SessionDep, query: ListQueryDep
) -> JSONAPIResponse:
    """List the provider's output-fee statements, earliest payment date first."""
    filters = StatementFilters(
        cohort_years=cohort_years(query),
        programme=programme_filter(query.filter("type")),
        updated_since=updated_since(query),
    )
    rows = await StatementService(session, caller).list(filters, query.page)
    return JSONAPIResponse({"data": [statement(r) for r in rows]})


@router.get(
    "/statements/{id}",
    operation_id="v3_get_statement",
    responses={
        200: {"model": StatementResponse, "description": "A single statement"},
        **UNAUTHORISED,
        **FORBIDDEN,
        **NOT_FOUND,
    },
    response_class=JSONAPIResponse,
)
@read_only
async def get_statement(id: str, caller: LeadProviderDep, session: SessionDep) -> JSONAPIResponse:
    """Get one of the provider's statements."""
    return JSONAPIResponse({"data": statement(await StatementService(session, caller).get(id))})
