"""NPQ application routes, mounted by every API version.

v1 and v2 share the JSON shape and filters (one cohort year); v3 adds `schedule_identifier`, a
cohort list, `participant_id`, `sort` and an optional accept body. The CSV exports are v1/v2 only,
and v2 alone has the enrolments export.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.deps import (
    ClockDep,
    FilterQueryDep,
    JsonBodyDep,
    ListQueryDep,
    NpqProviderDep,
    SessionDep,
    get_sessionmaker,
    read_only,
)
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
    year_to_i,
)
from app.api.responses import JSONAPIResponse
from app.api.routing import ResourceRouter
from app.api.serialization import csv_lines
from app.api.v1 import npq_application_serializers as v1
from app.api.v1 import npq_schemas as v1_schemas
from app.api.v1.schemas import (
    BAD_REQUEST,
    FORBIDDEN,
    NOT_FOUND,
    UNAUTHORISED,
    UNPROCESSABLE,
    jsonapi_request_body,
)
from app.api.v2 import npq_application_serializers as v2
from app.api.v2.npq_participant_serializers import NPQ_SCHEDULE_IDENTIFIERS
from app.api.v3 import npq_application_serializers as v3
from app.api.v3 import npq_schemas as v3_schemas
from app.domain.npq_applications import NpqApplicationService, accept_schedule_identifier
from app.repositories.npq_applications import ApplicationFilters, ApplicationRow

Serializer = Callable[[ApplicationRow], dict[str, Any]]
Maker = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]


def _csv(description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"description": description, "content": {"text/csv": {"schema": {"type": "string"}}}},
        **UNAUTHORISED,
        **FORBIDDEN,
        **BAD_REQUEST,
    }


V1_FILTER = filter_parameter(
    {
        "cohort": {**COHORT_PROPERTY, "description": "Return only applications of this cohort (start year)."},
        "updated_since": {
            **UPDATED_SINCE_PROPERTY,
            "description": "Return only applications updated after this time.",
        },
    },
    "Refine NPQ applications to return.",
    "filter[cohort]=2022&filter[updated_since]=2020-11-13T11:21:55Z",
)
V3_FILTER = filter_parameter(
    {
        "cohort": COHORT_PROPERTY,
        "updated_since": {
            **UPDATED_SINCE_PROPERTY,
            "description": "Return only applications updated after this time.",
        },
        "participant_id": {
            **STRING,
            "format": "uuid",
            "description": "Return only this participant's applications.",
        },
    },
    "Refine NPQ applications to return.",
    "filter[cohort]=2021,2022&filter[participant_id]=7e5bcdbf-c818-4961-8da5-439cab1984e0",
)
ENROLMENTS_FILTER = filter_parameter(
    {
        "updated_since": {
            **UPDATED_SINCE_PROPERTY,
            "description": "Return only enrolments updated after this time.",
        }
    },
    "Refine NPQ enrolments to return.",
    "filter[updated_since]=2020-11-13T11:21:55Z",
)
V3_SORT = sort_parameter(
    [f"{sign}{name}" for name in ("created_at", "updated_at") for sign in ("", "-")], "NPQ applications"
)
ACCEPT_BODY = {
    **jsonapi_request_body(
        "npq-application-accept",
        {
            "type": "object",
            "required": ["schedule_identifier"],
            "properties": {
                "schedule_identifier": {
                    "type": "string",
                    "enum": list(NPQ_SCHEDULE_IDENTIFIERS),
                    "description": "The schedule to place the participant on; chosen by date when absent.",
                }
            },
        },
    ),
    "required": False,
}


# ---- filters ------------------------------------------------------------------------------------


def v1_filters(query: ListQuery) -> ApplicationFilters:
    """One cohort start year, read as the reference casts it (leading digits, else 0)."""
    raw = query.filter("cohort")
    return ApplicationFilters(
        cohort_year=year_to_i(raw) if raw is not None else None, updated_since=updated_since(query)
    )


def v3_filters(query: ListQuery) -> ApplicationFilters:
    return ApplicationFilters(cohort_years=cohort_years(query), updated_since=updated_since(query))


# ---- handlers --------------------------------------------------------------------------------------


def _list_handler(version: str, render: Serializer) -> Callable[..., Awaitable[JSONAPIResponse]]:
    @read_only
    async def list_npq_applications(
        provider: NpqProviderDep, session: SessionDep, query: ListQueryDep
    ) -> JSONAPIResponse:
        """Retrieve multiple NPQ applications."""
        service = NpqApplicationService(session, provider)
        if version == "v3":
            rows = await service.list_applications(
                v3_filters(query), query.page, query.sort, participant_id=query.filter("participant_id")
            )
        else:
            rows = await service.list_applications(v1_filters(query), query.page)
        return JSONAPIResponse({"data": [render(r) for r in rows]})

    return list_npq_applications


def _show_handler(render: Serializer) -> Callable[..., Awaitable[JSONAPIResponse]]:
    @read_only
    async def get_npq_application(id: str, provider: NpqProviderDep, session: SessionDep) -> JSONAPIResponse:
        """Get a single NPQ application."""
        return JSONAPIResponse({"data": render(await NpqApplicationService(session, provider).get(id))})

    return get_npq_application


def _accept_handler(version: str, render: Serializer) -> Callable[..., Awaitable[JSONAPIResponse]]:
    if version == "v3":

        async def accept_v3(
            id: str, provider: NpqProviderDep, session: SessionDep, clock: ClockDep, body: JsonBodyDep
        ) -> JSONAPIResponse:
            """Accept an NPQ application, optionally choosing the participant's schedule."""
            service = NpqApplicationService(session, provider, clock)
            return JSONAPIResponse(
                {"data": render(await service.accept(id, accept_schedule_identifier(body)))}
            )

        return accept_v3

    async def accept(
        id: str, provider: NpqProviderDep, session: SessionDep, clock: ClockDep
    ) -> JSONAPIResponse:
        """Accept an NPQ application (the schedule is chosen by date)."""
        # v1/v2 ignore any request body.
        row = await NpqApplicationService(session, provider, clock).accept(id)
        return JSONAPIResponse({"data": render(row)})

    return accept


def _reject_handler(render: Serializer) -> Callable[..., Awaitable[JSONAPIResponse]]:
    async def reject(
        id: str, provider: NpqProviderDep, session: SessionDep, clock: ClockDep
    ) -> JSONAPIResponse:
        """Reject an NPQ application."""
        row = await NpqApplicationService(session, provider, clock).reject(id)
        return JSONAPIResponse({"data": render(row)})

    return reject


async def _csv_chunks(
    header: Sequence[str], batches: AsyncIterator[list[Any]], to_row: Callable[[Any], list[Any]]
) -> AsyncIterator[str]:
    yield csv_lines(header, ())  # the header comes even when nothing matches
    async for batch in batches:
        yield csv_lines(None, (to_row(r) for r in batch))


def _applications_csv_handler(version: str) -> Callable[..., Awaitable[StreamingResponse]]:
    header = v1.NPQ_APPLICATION_CSV_HEADER if version == "v1" else v2.NPQ_APPLICATION_CSV_HEADER_V2
    to_row = v1.npq_application_csv_row if version == "v1" else v2.npq_application_csv_row

    async def npq_applications_csv(
        provider: NpqProviderDep, query: FilterQueryDep, maker: Maker
    ) -> StreamingResponse:
        """Retrieve all NPQ applications in CSV format (not paginated)."""
        batches = NpqApplicationService.stream(maker, provider, v1_filters(query))
        return StreamingResponse(_csv_chunks(header, batches, to_row), media_type="text/csv")

    return npq_applications_csv


async def npq_enrolments_csv(
    provider: NpqProviderDep, query: FilterQueryDep, maker: Maker
) -> StreamingResponse:
    """Retrieve every NPQ enrolment of your accepted applications in CSV format."""
    filters = ApplicationFilters(updated_since=updated_since(query))
    batches = NpqApplicationService.stream_enrolments(maker, provider, filters)
    return StreamingResponse(
        _csv_chunks(v2.NPQ_ENROLMENT_CSV_HEADER, batches, v2.npq_enrolment_csv_row), media_type="text/csv"
    )


# ---- router ------------------------------------------------------------------------------------------


def build_router(version: str) -> APIRouter:
    """The routes of this area under /api/{version}."""
    router = ResourceRouter(prefix=f"/api/{version}", tags=["NPQ applications"])
    is_v3 = version == "v3"
    render: Serializer = v3.npq_application if is_v3 else v1.npq_application
    one: type[BaseModel] = v3_schemas.NPQApplicationResponse if is_v3 else v1_schemas.NPQApplicationResponse
    many: type[BaseModel] = (
        v3_schemas.MultipleNPQApplicationsResponse if is_v3 else v1_schemas.MultipleNPQApplicationsResponse
    )
    list_params: list[dict[str, Any]] = (
        [V3_FILTER, page_parameter("NPQ applications"), V3_SORT]
        if is_v3
        else [V1_FILTER, page_parameter("NPQ applications")]
    )
    list_handler = _list_handler(version, render)
    router.add_api_route(
        "/npq-applications",
        list_handler,
        summary=list_handler.__doc__,
        methods=["GET"],
        operation_id=f"{version}_list_npq_applications",
        responses={
            200: {"model": many, "description": "A list of NPQ applications"},
            **UNAUTHORISED,
            **FORBIDDEN,
            **BAD_REQUEST,
        },
        openapi_extra={"parameters": list_params},
        response_class=JSONAPIResponse,
    )
    if not is_v3:
        csv_handler = _applications_csv_handler(version)
        router.add_api_route(
            "/npq-applications.csv",
            csv_handler,
            summary=csv_handler.__doc__,
            methods=["GET"],
            operation_id=f"{version}_npq_applications_csv",
            responses=_csv("A CSV file of NPQ applications"),
            openapi_extra={"parameters": [V1_FILTER]},
            response_class=StreamingResponse,
        )
    if version == "v2":
        router.add_api_route(
            "/npq-enrolments.csv",
            npq_enrolments_csv,
            summary=npq_enrolments_csv.__doc__,
            methods=["GET"],
            operation_id=f"{version}_npq_enrolments_csv",
            responses=_csv("A CSV file of NPQ enrolments"),
            openapi_extra={"parameters": [ENROLMENTS_FILTER]},
            response_class=StreamingResponse,
        )
    show_handler = _show_handler(render)
    router.add_api_route(
        "/npq-applications/{id}",
        show_handler,
        summary=show_handler.__doc__,
        methods=["GET"],
        operation_id=f"{version}_get_npq_application",
        responses={
            200: {"model": one, "description": "A single NPQ application"},
            **UNAUTHORISED,
            **FORBIDDEN,
            **NOT_FOUND,
        },
        response_class=JSONAPIResponse,
    )
    action_responses = {**UNAUTHORISED, **FORBIDDEN, **NOT_FOUND, **UNPROCESSABLE}
    accept_handler = _accept_handler(version, render)
    router.add_api_route(
        "/npq-applications/{id}/accept",
        accept_handler,
        summary=accept_handler.__doc__,
        methods=["POST"],
        operation_id=f"{version}_accept_npq_application",
        responses={
            200: {"model": one, "description": "The accepted NPQ application"},
            **action_responses,
            **(BAD_REQUEST if is_v3 else {}),
        },
        openapi_extra={"requestBody": ACCEPT_BODY} if is_v3 else None,
        response_class=JSONAPIResponse,
    )
    reject_handler = _reject_handler(render)
    router.add_api_route(
        "/npq-applications/{id}/reject",
        reject_handler,
        summary=reject_handler.__doc__,
        methods=["POST"],
        operation_id=f"{version}_reject_npq_application",
        responses={200: {"model": one, "description": "The rejected NPQ application"}, **action_responses},
        response_class=JSONAPIResponse,
    )
    return router
