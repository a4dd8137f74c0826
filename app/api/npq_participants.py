"""NPQ participant routes, mounted by every API version: list, show, and the four PUT actions.

Every version calls the same domain services; what differs is the wire shape (v1: course list,
v2: enrolments, v3: enrolments with withdrawal/deferral and id changes) and v3's extra filters
and sort.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

from fastapi import APIRouter

from app.api.deps import ClockDep, JsonBodyDep, ListQueryDep, NpqProviderDep, SessionDep, read_only
from app.api.query import STRING, ListQuery, filter_parameter, page_parameter, sort_parameter, updated_since
from app.api.responses import JSONAPIResponse
from app.api.routing import ResourceRouter
from app.api.v1 import npq_participant_serializers as v1_wire
from app.api.v1.schemas import (
    BAD_REQUEST,
    FORBIDDEN,
    NOT_FOUND,
    UNAUTHORISED,
    UNPROCESSABLE,
    jsonapi_request_body,
)
from app.api.v2 import npq_participant_serializers as v2_wire
from app.api.v3 import npq_participant_serializers as v3_wire
from app.domain.ecf_actions import Action
from app.domain.enums import NPQ_COURSE_IDENTIFIERS, TrainingStatus
from app.domain.npq_actions import NPQ_DEFER_REASONS, NPQ_WITHDRAW_REASONS, NpqParticipantActions
from app.domain.npq_participants import NPQ_SORTABLE, NpqParticipantFilters, NpqParticipantService

_WIRE: dict[str, ModuleType] = {"v1": v1_wire, "v2": v2_wire, "v3": v3_wire}

_UPDATED_SINCE = {
    **STRING,
    "description": "Return only participants updated after this date and time (ISO 8601).",
    "example": "2021-05-13T11:21:55Z",
}
_V1_FILTER = filter_parameter(
    {"updated_since": _UPDATED_SINCE},
    "Refine NPQ participants to return.",
    "filter[updated_since]=2020-11-13T11:21:55Z",
)
_V3_FILTER = filter_parameter(
    {
        "updated_since": _UPDATED_SINCE,
        "training_status": {
            **STRING,
            "enum": [s.value for s in TrainingStatus],
            "description": "Return only participants with an enrolment in this training status.",
        },
        "from_participant_id": {
            **STRING,
            "format": "uuid",
            "description": "Return only participants whose id was changed from this one.",
        },
    },
    "Refine NPQ participants to return.",
    "filter[training_status]=active&filter[updated_since]=2020-11-13T11:21:55Z",
)
_PAGE = page_parameter("NPQ participants")
_SORT = sort_parameter([f"{sign}{name}" for name in NPQ_SORTABLE for sign in ("", "-")], "NPQ participants")

_SUMMARIES = {
    Action.DEFER: "Notify that an NPQ participant is taking a break from their course",
    Action.RESUME: "Notify that an NPQ participant is resuming their course",
    Action.WITHDRAW: "Notify that an NPQ participant has withdrawn from their course",
    Action.CHANGE_SCHEDULE: "Notify that an NPQ participant is changing training schedule",
}


def _filters(query: ListQuery) -> NpqParticipantFilters:
    return NpqParticipantFilters(
        updated_since=updated_since(query),
        training_status=query.filter("training_status"),
        from_participant_id=query.filter("from_participant_id"),
    )


def _request_body(action: Action) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "course_identifier": {"type": "string", "enum": list(NPQ_COURSE_IDENTIFIERS)}
    }
    required = ["course_identifier"]
    if action is Action.DEFER:
        properties["reason"] = {"type": "string", "enum": list(NPQ_DEFER_REASONS)}
        required.append("reason")
    elif action is Action.WITHDRAW:
        properties["reason"] = {"type": "string", "enum": list(NPQ_WITHDRAW_REASONS)}
        required.append("reason")
    elif action is Action.CHANGE_SCHEDULE:
        properties["schedule_identifier"] = {"type": "string", "enum": list(v2_wire.NPQ_SCHEDULE_IDENTIFIERS)}
        properties["cohort"] = {
            "type": "string",
            "example": "2022",
            "description": "The cohort's start year; defaults to the current schedule's cohort.",
        }
        required.append("schedule_identifier")
    attributes = {"type": "object", "required": required, "properties": properties}
    return jsonapi_request_body(f"participant-{action.value}", attributes)


def build_router(version: str) -> APIRouter:
    """The routes of this area under /api/{version}."""
    router = ResourceRouter(prefix=f"/api/{version}", tags=["NPQ participants"])
    wire = _WIRE[version]
    v3 = version == "v3"
    serialise: Callable[[Any], dict[str, Any]] = wire.npq_participant

    @read_only
    async def list_npq_participants(
        provider: NpqProviderDep, session: SessionDep, query: ListQueryDep
    ) -> JSONAPIResponse:
        """Retrieve multiple NPQ participants."""
        service = NpqParticipantService(session, provider)
        if v3:
            participants = await service.list_v3(_filters(query), query.page, query.sort)
        else:
            participants = await service.list_v1(_filters(query), query.page)
        return JSONAPIResponse({"data": [serialise(p) for p in participants]})

    @read_only
    async def get_npq_participant(id: str, provider: NpqProviderDep, session: SessionDep) -> JSONAPIResponse:
        """Retrieve a single NPQ participant."""
        participant = await NpqParticipantService(session, provider).get(id, with_id_changes=v3)
        return JSONAPIResponse({"data": serialise(participant)})

    router.add_api_route(
        "/participants/npq",
        list_npq_participants,
        methods=["GET"],
        operation_id=f"{version}_list_npq_participants",
        responses={
            200: {"model": wire.MultipleNPQParticipantsResponse, "description": "A list of NPQ participants"},
            **UNAUTHORISED,
            **FORBIDDEN,
            **BAD_REQUEST,
        },
        openapi_extra={"parameters": [_V3_FILTER, _PAGE, _SORT] if v3 else [_V1_FILTER, _PAGE]},
        response_class=JSONAPIResponse,
        summary=list_npq_participants.__doc__,
    )
    router.add_api_route(
        "/participants/npq/{id}",
        get_npq_participant,
        methods=["GET"],
        operation_id=f"{version}_get_npq_participant",
        responses={
            200: {"model": wire.NPQParticipantResponse, "description": "A single NPQ participant"},
            **UNAUTHORISED,
            **FORBIDDEN,
            **NOT_FOUND,
        },
        response_class=JSONAPIResponse,
        summary=get_npq_participant.__doc__,
    )
    for action in Action:
        router.add_api_route(
            f"/participants/npq/{{id}}/{action.value}",
            _action_handler(action, serialise, with_id_changes=v3),
            methods=["PUT"],
            operation_id=f"{version}_{action.value.replace('-', '_')}_npq_participant",
            responses={
                200: {
                    "model": wire.NPQParticipantResponse,
                    "description": "The NPQ participant after the change",
                },
                **UNAUTHORISED,
                **FORBIDDEN,
                **BAD_REQUEST,
                **UNPROCESSABLE,
            },
            openapi_extra={"requestBody": _request_body(action)},
            response_class=JSONAPIResponse,
            summary=_SUMMARIES[action],
        )
    return router


def _action_handler(
    action: Action, serialise: Callable[[Any], dict[str, Any]], *, with_id_changes: bool
) -> Callable[..., Awaitable[JSONAPIResponse]]:
    async def handler(
        id: str, provider: NpqProviderDep, session: SessionDep, clock: ClockDep, body: JsonBodyDep
    ) -> JSONAPIResponse:
        user_id = await NpqParticipantActions(session, provider, clock).run(action, id, body)
        service = NpqParticipantService(session, provider)
        participant = await service.get_by_user_id(user_id, with_id_changes=with_id_changes)
        return JSONAPIResponse({"data": serialise(participant)})

    handler.__doc__ = _SUMMARIES[action]
    return handler
