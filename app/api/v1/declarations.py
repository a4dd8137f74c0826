"""v1 participant declaration read routes (v2 mounts them with its own serializer)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.deps import (
    ClockDep,
    FilterQueryDep,
    JsonBodyDep,
    LeadProviderDep,
    ListQueryDep,
    SessionDep,
    get_sessionmaker,
    read_only,
)
from app.api.query import UPDATED_SINCE_PROPERTY, ListQuery, filter_parameter, page_parameter, updated_since
from app.api.responses import JSONAPIResponse
from app.api.routing import ResourceRouter
from app.api.serialization import csv_lines
from app.api.v1 import schemas
from app.api.v1 import serializers as v1_serializers
from app.api.v2 import schemas as v2_schemas
from app.domain.auth import LeadProviderCaller
from app.domain.declarations import DeclarationService, parse_ids
from app.repositories.declarations import DeclarationFilters, DeclarationRow

Serializer = Callable[[DeclarationRow], dict[str, Any]]

# The documented 200 bodies (one declaration, a list) of each version mounting these routes.
RESPONSE_MODELS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "v1": (schemas.ParticipantDeclarationResponse, schemas.MultipleParticipantDeclarationsResponse),
    "v2": (v2_schemas.ParticipantDeclarationResponse, v2_schemas.MultipleParticipantDeclarationsResponse),
}

DECLARATION_FILTER = filter_parameter(
    {"updated_since": UPDATED_SINCE_PROPERTY, "participant_id": {"type": "string", "format": "uuid"}},
    "Refine participant declarations to return.",
    "filter[participant_id]=ab3a7848-1208-7679-942a-b4a70eed400a&filter[updated_since]=2020-11-13T11:21:55Z",
)


def v1_filters(query: ListQuery) -> DeclarationFilters:
    # v1/v2: one participant id, and updated_since is exclusive
    return DeclarationFilters(
        participant_ids=parse_ids(query.filter("participant_id"), single=True),
        updated_since=updated_since(query),
        updated_since_inclusive=False,
    )


def build_router(version: str, serialize: Serializer, serialize_attributes: Serializer) -> APIRouter:
    router = ResourceRouter(prefix=f"/api/{version}", tags=["Participant declarations"])

    @read_only
    async def list_declarations(
        caller: LeadProviderDep, session: SessionDep, query: ListQueryDep
    ) -> JSONAPIResponse:
        """List participant declarations."""
        rows = await DeclarationService(session, caller).list(v1_filters(query), query.page)
        return JSONAPIResponse({"data": [serialize(r) for r in rows]})

    @read_only
    async def get_declaration(id: str, caller: LeadProviderDep, session: SessionDep) -> JSONAPIResponse:
        """Get a single participant declaration."""
        row = await DeclarationService(session, caller).get(id)
        return JSONAPIResponse({"data": serialize(row)})

    async def chunks(
        maker: async_sessionmaker[AsyncSession], caller: LeadProviderCaller, filters: DeclarationFilters
    ) -> AsyncIterator[str]:
        header: list[str] | None = None
        async for batch in DeclarationService.stream(maker, caller, filters):
            lines = []
            for row in batch:
                attributes = serialize_attributes(row)
                if header is None:
                    # The header comes from the first record; no rows means an empty body.
                    header = ["id", *attributes]
                    lines.append(header)
                lines.append([str(row.id), *attributes.values()])
            yield csv_lines(None, lines)

    async def declarations_csv(
        caller: LeadProviderDep,
        query: FilterQueryDep,
        maker: Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)],
    ) -> StreamingResponse:
        """All participant declarations in CSV format (not paginated)."""
        return StreamingResponse(chunks(maker, caller, v1_filters(query)), media_type="text/csv")

    async def create_declaration(
        caller: LeadProviderDep, session: SessionDep, clock: ClockDep, body: JsonBodyDep
    ) -> JSONAPIResponse:
        """Declare that a participant has reached a milestone."""
        row = await DeclarationService(session, caller).submit(body, clock)
        return JSONAPIResponse({"data": serialize(row)})

    async def void_declaration(
        id: str, caller: LeadProviderDep, session: SessionDep, clock: ClockDep
    ) -> JSONAPIResponse:
        """Void a declaration (a paid one is clawed back)."""
        row = await DeclarationService(session, caller).void(id, clock)
        return JSONAPIResponse({"data": serialize(row)})

    common: dict[str, Any] = {"response_class": JSONAPIResponse}
    single_model, list_model = RESPONSE_MODELS[version]
    single: schemas.Responses = {200: {"model": single_model, "description": "A single declaration"}}
    many: schemas.Responses = {200: {"model": list_model, "description": "A list of declarations"}}
    csv: schemas.Responses = {
        200: {
            "description": "Every declaration, one per row (not paginated)",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
    router.add_api_route(
        "/participant-declarations",
        list_declarations,
        methods=["GET"],
        operation_id=f"{version}_list_participant_declarations",
        responses={**many, **schemas.UNAUTHORISED, **schemas.FORBIDDEN, **schemas.BAD_REQUEST},
        openapi_extra={"parameters": [DECLARATION_FILTER, page_parameter("participant declarations")]},
        **common,
    )
    router.add_api_route(
        "/participant-declarations",
        create_declaration,
        methods=["POST"],
        operation_id=f"{version}_create_participant_declaration",
        responses={
            **single,
            **schemas.UNAUTHORISED,
            **schemas.FORBIDDEN,
            **schemas.BAD_REQUEST,
            **schemas.UNPROCESSABLE,
        },
        openapi_extra={"requestBody": schemas.declaration_request_body()},
        **common,
    )
    router.add_api_route(
        "/participant-declarations.csv",
        declarations_csv,
        methods=["GET"],
        operation_id=f"{version}_participant_declarations_csv",
        response_class=StreamingResponse,
        responses={**csv, **schemas.UNAUTHORISED, **schemas.FORBIDDEN, **schemas.BAD_REQUEST},
        openapi_extra={"parameters": [DECLARATION_FILTER]},
    )
    router.add_api_route(
        "/participant-declarations/{id}",
        get_declaration,
        methods=["GET"],
        operation_id=f"{version}_get_participant_declaration",
        responses={**single, **schemas.UNAUTHORISED, **schemas.FORBIDDEN, **schemas.NOT_FOUND},
        **common,
    )
    router.add_api_route(
        "/participant-declarations/{id}/void",
        void_declaration,
        methods=["PUT"],
        operation_id=f"{version}_void_participant_declaration",
        responses={
            **single,
            **schemas.UNAUTHORISED,
            **schemas.FORBIDDEN,
            **schemas.NOT_FOUND,
            **schemas.UNPROCESSABLE,
        },
        **common,
    )
    return router


router = build_router("v1", v1_serializers.declaration, v1_serializers.declaration_attributes)
