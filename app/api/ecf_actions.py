"""PUT routes for ECF participant actions, shared by every API version.

Each version mounts the same four actions; only the response shape differs (v1/v2: the flat
participant of the changed induction record; v3: the nested participant).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, get_args

from fastapi import APIRouter
from pydantic import BaseModel

from app.api.deps import ClockDep, EcfProviderDep, JsonBodyDep, SessionDep, SettingsDep
from app.api.responses import JSONAPIResponse
from app.api.v1 import serializers as flat
from app.api.v1.schemas import (
    BAD_REQUEST,
    FORBIDDEN,
    UNAUTHORISED,
    UNPROCESSABLE,
    ScheduleIdentifier,
    jsonapi_request_body,
)
from app.api.v3 import serializers as nested
from app.domain.ecf_actions import (
    DEFER_REASONS,
    WITHDRAW_REASONS,
    Action,
    ActionResult,
    EcfParticipantActions,
)
from app.domain.ecf_participants import EcfParticipantService
from app.settings import Settings

Render = Callable[[EcfParticipantService, ActionResult, Settings], Awaitable[dict[str, Any]]]

_ATTRIBUTES: dict[Action, dict[str, Any]] = {
    Action.DEFER: {"reason": {"type": "string", "enum": list(DEFER_REASONS)}},
    Action.RESUME: {},
    Action.WITHDRAW: {"reason": {"type": "string", "enum": list(WITHDRAW_REASONS)}},
    Action.CHANGE_SCHEDULE: {
        "schedule_identifier": {
            "type": "string",
            "enum": list(get_args(ScheduleIdentifier)),
            "example": "ecf-standard-january",
        },
        "cohort": {"type": "string", "example": "2021", "description": "Defaults to the current cohort."},
    },
}
_SUMMARIES = {
    Action.DEFER: "Notify that an ECF participant is taking a break from their course",
    Action.RESUME: "Notify that an ECF participant is resuming their course",
    Action.WITHDRAW: "Notify that an ECF participant has withdrawn from their course",
    Action.CHANGE_SCHEDULE: "Notify that an ECF participant is changing training schedule",
}


def request_body(action: Action) -> dict[str, Any]:
    required = ["course_identifier", *(["reason"] if action in (Action.DEFER, Action.WITHDRAW) else [])]
    if action is Action.CHANGE_SCHEDULE:
        required.append("schedule_identifier")
    attributes = {
        "type": "object",
        "required": required,
        "properties": {
            "course_identifier": {"type": "string", "enum": ["ecf-induction", "ecf-mentor"]},
            **_ATTRIBUTES[action],
        },
    }
    return jsonapi_request_body(f"participant-{action.value}", attributes)


async def render_flat(
    service: EcfParticipantService, result: ActionResult, settings: Settings
) -> dict[str, Any]:
    return flat.ecf_participant(await service.record_row(result.induction_record_id))


async def render_nested(
    service: EcfParticipantService, result: ActionResult, settings: Settings
) -> dict[str, Any]:
    participant = await service.participant_after_action(result.induction_record_id)
    return nested.ecf_participant(participant, include_mentor_funding_end_date=not settings.is_production)


def _handler(action: Action, render: Render) -> Callable[..., Awaitable[JSONAPIResponse]]:
    async def handler(
        id: str,
        provider: EcfProviderDep,
        session: SessionDep,
        clock: ClockDep,
        settings: SettingsDep,
        body: JsonBodyDep,
    ) -> JSONAPIResponse:
        result = await EcfParticipantActions(session, provider, clock).run(action, id, body)
        service = EcfParticipantService(session, provider, clock.now())
        return JSONAPIResponse({"data": await render(service, result, settings)})

    handler.__doc__ = _SUMMARIES[action]
    return handler


def add_action_routes(
    router: APIRouter,
    version: str,
    render: Render,
    response_model: type[BaseModel],
    *,
    base: str = "/participants/ecf",
    legacy: bool = False,
) -> None:
    """The four action routes under `base`; `legacy` marks v1's older `/participants/{id}/...` paths."""
    for action in Action:
        name = action.value.replace("-", "_")
        router.add_api_route(
            f"{base}/{{id}}/{action.value}",
            _handler(action, render),
            methods=["PUT"],
            operation_id=f"{version}_{name}_participant" if legacy else f"{version}_{name}_ecf_participant",
            responses={
                200: {"model": response_model, "description": "The ECF participant after the change"},
                **UNAUTHORISED,
                **FORBIDDEN,
                **BAD_REQUEST,
                **UNPROCESSABLE,
            },
            openapi_extra={"requestBody": request_body(action)},
            response_class=JSONAPIResponse,
            summary=_SUMMARIES[action],
            description=f"An older path of `PUT /api/{version}/participants/ecf/{{id}}/{action.value}`."
            if legacy
            else None,
            deprecated=legacy or None,
        )


__all__ = ["add_action_routes", "render_flat", "render_nested"]
