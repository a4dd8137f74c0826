"""NPQ outcome routes, mounted by every API version (only the serializer differs: v3 adds `updated_at`).

Mounted before the NPQ participant routes, so `/participants/npq/outcomes` is not read as a participant id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from app.api.deps import ClockDep, JsonBodyDep, ListQueryDep, NpqProviderDep, SessionDep, read_only
from app.api.query import filter_parameter, page_parameter, updated_since
from app.api.responses import JSONAPIResponse
from app.api.routing import ResourceRouter
from app.api.v1 import npq_outcome_serializers as flat
from app.api.v1 import npq_schemas as v1_schemas
from app.api.v1.schemas import BAD_REQUEST, FORBIDDEN, UNAUTHORISED, UNPROCESSABLE, jsonapi_request_body
from app.api.v3 import npq_outcome_serializers as v3
from app.api.v3 import npq_schemas as v3_schemas
from app.domain.enums import NPQ_COURSE_IDENTIFIERS
from app.domain.npq_courses import SUPPORT_OFFER_COURSES
from app.domain.npq_outcomes import POSTABLE_STATES, NpqOutcomeService
from app.repositories.npq_outcomes import OutcomeRow

Serializer = Callable[[OutcomeRow], dict[str, Any]]

OUTCOME_FILTER = filter_parameter(
    {
        "created_since": {
            "type": "string",
            "description": "Return only outcomes recorded at or after this date and time (ISO 8601).",
            "example": "2021-05-13T11:21:55Z",
        }
    },
    "Refine NPQ outcomes to return.",
    "filter[created_since]=2020-11-13T11:21:55Z",
)
OUTCOME_REQUEST = jsonapi_request_body(
    "npq-outcome-confirmation",
    {
        "type": "object",
        "required": ["course_identifier", "state", "completion_date"],
        "properties": {
            "course_identifier": {
                "type": "string",
                "enum": [c for c in NPQ_COURSE_IDENTIFIERS if c not in SUPPORT_OFFER_COURSES],
            },
            "state": {"type": "string", "enum": [s.value for s in POSTABLE_STATES]},
            "completion_date": {
                "type": "string",
                "format": "date",
                "example": "2021-05-31",
                "description": "When the participant received the outcome; not in the future.",
            },
        },
    },
)


def build_router(version: str) -> APIRouter:
    """The routes of this area under /api/{version}."""
    router = ResourceRouter(prefix=f"/api/{version}", tags=["NPQ outcomes"])
    is_v3 = version == "v3"
    serialize: Serializer = v3.npq_outcome if is_v3 else flat.npq_outcome
    one: type[BaseModel] = v3_schemas.NPQOutcomeResponse if is_v3 else v1_schemas.NPQOutcomeResponse
    many: type[BaseModel] = (
        v3_schemas.MultipleNPQOutcomesResponse if is_v3 else v1_schemas.MultipleNPQOutcomesResponse
    )

    @read_only
    async def list_outcomes(
        provider: NpqProviderDep, session: SessionDep, query: ListQueryDep
    ) -> JSONAPIResponse:
        """List the NPQ outcomes of the provider's declarations, oldest first."""
        created_since = updated_since(query, "created_since")
        rows = await NpqOutcomeService(session, provider).listing(created_since, query.page)
        return JSONAPIResponse({"data": [serialize(r) for r in rows]})

    @read_only
    async def participant_outcomes(
        participant_id: str, provider: NpqProviderDep, session: SessionDep
    ) -> JSONAPIResponse:
        """List one participant's NPQ outcomes (not paginated)."""
        rows = await NpqOutcomeService(session, provider).for_participant(participant_id)
        return JSONAPIResponse({"data": [serialize(r) for r in rows]})

    async def record_outcome(
        participant_id: str, provider: NpqProviderDep, session: SessionDep, clock: ClockDep, body: JsonBodyDep
    ) -> JSONAPIResponse:
        """Record whether a participant passed or failed their NPQ course."""
        row = await NpqOutcomeService(session, provider).record(participant_id, body, clock)
        return JSONAPIResponse({"data": serialize(row)})

    router.add_api_route(
        "/participants/npq/outcomes",
        list_outcomes,
        summary=list_outcomes.__doc__,
        methods=["GET"],
        operation_id=f"{version}_list_npq_outcomes",
        responses={
            200: {"model": many, "description": "A list of NPQ outcomes"},
            **UNAUTHORISED,
            **FORBIDDEN,
            **BAD_REQUEST,
        },
        openapi_extra={"parameters": [OUTCOME_FILTER, page_parameter("NPQ outcomes")]},
        response_class=JSONAPIResponse,
    )
    router.add_api_route(
        "/participants/npq/{participant_id}/outcomes",
        participant_outcomes,
        summary=participant_outcomes.__doc__,
        methods=["GET"],
        operation_id=f"{version}_list_npq_participant_outcomes",
        responses={
            200: {"model": many, "description": "The participant's NPQ outcomes"},
            **UNAUTHORISED,
            **FORBIDDEN,
        },
        response_class=JSONAPIResponse,
    )
    router.add_api_route(
        "/participants/npq/{participant_id}/outcomes",
        record_outcome,
        summary=record_outcome.__doc__,
        methods=["POST"],
        operation_id=f"{version}_create_npq_participant_outcome",
        responses={
            200: {"model": one, "description": "The participant's latest outcome for the course"},
            **UNAUTHORISED,
            **FORBIDDEN,
            **BAD_REQUEST,
            **UNPROCESSABLE,
        },
        openapi_extra={"requestBody": OUTCOME_REQUEST},
        response_class=JSONAPIResponse,
    )
    return router
