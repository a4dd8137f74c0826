"""v1 ECF participant routes (v2 mounts the same handlers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.deps import (
    ClockDep,
    EcfProviderDep,
    FilterQueryDep,
    ListQueryDep,
    SessionDep,
    SettingsDep,
    get_sessionmaker,
    read_only,
)
from app.api.ecf_actions import add_action_routes, render_flat
from app.api.query import ListQuery, cohort_years, updated_since
from app.api.responses import JSONAPIResponse, RenderedListResponse, render_json
from app.api.routing import ResourceRouter
from app.api.serialization import csv_lines
from app.api.v1 import schemas
from app.api.v1.serializers import ECF_PARTICIPANT_CSV_HEADER, ecf_participant, ecf_participant_csv_row
from app.domain.auth import EcfProvider
from app.domain.ecf_participants import EcfParticipantService, ParticipantFilters
from app.repositories.ecf_participants import CohortScope, EnrolmentRow

LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": schemas.MultipleECFParticipantsResponse, "description": "A list of ECF participants"},
    **schemas.UNAUTHORISED,
    **schemas.FORBIDDEN,
    **schemas.BAD_REQUEST,
}
SHOW_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": schemas.ECFParticipantResponse, "description": "A single ECF participant"},
    **schemas.UNAUTHORISED,
    **schemas.FORBIDDEN,
    **schemas.NOT_FOUND,
}
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A CSV file of ECF participants",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    },
    **schemas.UNAUTHORISED,
    **schemas.FORBIDDEN,
    **schemas.BAD_REQUEST,
}


def v1_filters(query: ListQuery) -> ParticipantFilters:
    return ParticipantFilters(cohorts=CohortScope(cohort_years(query)), updated_since=updated_since(query))


def _render(row: EnrolmentRow) -> bytes:
    return render_json(ecf_participant(row))


@read_only
async def list_ecf_participants(
    provider: EcfProviderDep, session: SessionDep, clock: ClockDep, settings: SettingsDep, query: ListQueryDep
) -> RenderedListResponse:
    """Retrieve multiple ECF participants (one item per training record)."""
    service = EcfParticipantService(session, provider, clock.now())
    items = await service.list_row_documents(
        v1_filters(query), query.page, _render, reuse=settings.participant_documents
    )
    return RenderedListResponse(items)


@read_only
async def get_ecf_participant(
    id: str, provider: EcfProviderDep, session: SessionDep, clock: ClockDep
) -> JSONAPIResponse:
    """Get a single ECF participant (the ECT record when they are also a mentor)."""
    row = await EcfParticipantService(session, provider, clock.now()).get_row(id)
    return JSONAPIResponse({"data": ecf_participant(row)})


async def _csv_chunks(
    maker: async_sessionmaker[AsyncSession], provider: EcfProvider, filters: ParticipantFilters
) -> AsyncIterator[str]:
    first = True
    async for batch in EcfParticipantService.stream_rows(maker, provider, filters):
        # No rows at all gives an empty body (no header), as the reference does.
        yield csv_lines(
            ECF_PARTICIPANT_CSV_HEADER if first else None, (ecf_participant_csv_row(r) for r in batch)
        )
        first = False


async def ecf_participants_csv(
    provider: EcfProviderDep,
    query: FilterQueryDep,
    maker: Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)],
) -> StreamingResponse:
    """Retrieve all ECF participants in CSV format (not paginated)."""
    filters = v1_filters(query)
    return StreamingResponse(_csv_chunks(maker, provider, filters), media_type="text/csv")


def build_router(version: str) -> APIRouter:
    """The v1 ECF participant routes under /api/{version}; v2 serves the same contract."""
    router = ResourceRouter(prefix=f"/api/{version}", tags=["ECF participants"])
    list_extra = {"parameters": [schemas.ECF_PARTICIPANT_FILTER, schemas.ECF_PARTICIPANT_PAGE]}
    csv_extra = {"parameters": [schemas.ECF_PARTICIPANT_FILTER]}
    router.add_api_route(
        "/participants/ecf",
        list_ecf_participants,
        methods=["GET"],
        operation_id=f"{version}_list_ecf_participants",
        responses=LIST_RESPONSES,
        openapi_extra=list_extra,
        response_class=JSONAPIResponse,
    )
    router.add_api_route(
        "/participants/ecf.csv",
        ecf_participants_csv,
        methods=["GET"],
        operation_id=f"{version}_ecf_participants_csv",
        responses=CSV_RESPONSES,
        openapi_extra=csv_extra,
        response_class=StreamingResponse,
    )
    router.add_api_route(
        "/participants/ecf/{id}",
        get_ecf_participant,
        methods=["GET"],
        operation_id=f"{version}_get_ecf_participant",
        responses=SHOW_RESPONSES,
        response_class=JSONAPIResponse,
    )
    add_action_routes(router, version, render_flat, schemas.ECFParticipantResponse)
    # Undocumented aliases the reference still serves.
    router.add_api_route("/participants", list_ecf_participants, methods=["GET"], include_in_schema=False)
    router.add_api_route("/participants.csv", ecf_participants_csv, methods=["GET"], include_in_schema=False)
    if version == "v1":
        add_action_routes(
            router, version, render_flat, schemas.ECFParticipantResponse, base="/participants", legacy=True
        )
    return router


router = build_router("v1")
