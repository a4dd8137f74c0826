"""v3 ECF participant routes."""

from __future__ import annotations

from typing import Any

from app.api.deps import (
    ClockDep,
    EcfProviderDep,
    FilterQueryDep,
    ListQueryDep,
    SessionDep,
    SettingsDep,
    read_only,
)
from app.api.ecf_actions import add_action_routes, render_nested
from app.api.query import ListQuery, cohort_years, updated_since
from app.api.responses import JSONAPIResponse, RenderedListResponse, render_json
from app.api.routing import ResourceRouter
from app.api.v1.schemas import BAD_REQUEST, FORBIDDEN, NOT_FOUND, UNAUTHORISED
from app.api.v3 import schemas
from app.api.v3.serializers import ecf_participant
from app.domain.ecf_participants import (
    EcfParticipantService,
    ParticipantFilters,
    V3Participant,
    parse_training_status,
)
from app.repositories.ecf_participants import CohortScope

router = ResourceRouter(prefix="/api/v3", tags=["ECF participants"])


def v3_filters(query: ListQuery) -> ParticipantFilters:
    return ParticipantFilters(
        cohorts=CohortScope(cohort_years(query)),
        updated_since=updated_since(query),
        training_status=parse_training_status(query.filter("training_status")),
        from_participant_id=query.filter("from_participant_id"),
    )


LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": schemas.MultipleECFParticipantsResponse, "description": "A list of ECF participants"},
    **UNAUTHORISED,
    **FORBIDDEN,
    **BAD_REQUEST,
}
SHOW_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": schemas.ECFParticipantResponse, "description": "A single ECF participant"},
    **UNAUTHORISED,
    **FORBIDDEN,
    **BAD_REQUEST,
    **NOT_FOUND,
}


@router.get(
    "/participants/ecf",
    operation_id="v3_list_ecf_participants",
    responses=LIST_RESPONSES,
    response_class=JSONAPIResponse,
    openapi_extra={
        "parameters": [
            schemas.ECF_PARTICIPANT_FILTER,
            schemas.ECF_PARTICIPANT_PAGE,
            schemas.ECF_PARTICIPANT_SORT,
        ]
    },
)
@read_only
async def list_ecf_participants(
    provider: EcfProviderDep, session: SessionDep, clock: ClockDep, settings: SettingsDep, query: ListQueryDep
) -> RenderedListResponse:
    """Retrieve multiple ECF participants, each with its enrolments."""
    include = not settings.is_production

    def render(participant: V3Participant) -> bytes:
        return render_json(ecf_participant(participant, include_mentor_funding_end_date=include))

    service = EcfParticipantService(session, provider, clock.now())
    items = await service.list_participant_documents(
        v3_filters(query),
        query.page,
        query.sort,
        render=render,
        shows_mentor_funding=include,
        reuse=settings.participant_documents,
    )
    return RenderedListResponse(items)


@router.get(
    "/participants/ecf/{id}",
    operation_id="v3_get_ecf_participant",
    responses=SHOW_RESPONSES,
    response_class=JSONAPIResponse,
    # The participant is looked up among the list's results, so the list's filters apply.
    openapi_extra={"parameters": [schemas.ECF_PARTICIPANT_FILTER]},
)
@read_only
async def get_ecf_participant(
    id: str,
    provider: EcfProviderDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    query: FilterQueryDep,
) -> JSONAPIResponse:
    """Get a single ECF participant with its enrolments."""
    service = EcfParticipantService(session, provider, clock.now())
    participant = await service.get_participant(id, v3_filters(query))
    include = not settings.is_production
    return JSONAPIResponse({"data": ecf_participant(participant, include_mentor_funding_end_date=include)})


add_action_routes(router, "v3", render_nested, schemas.ECFParticipantResponse)
