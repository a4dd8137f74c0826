"""v3 transfers routes: participants who moved school, as the providers involved see them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.api.deps import ClockDep, EcfProviderDep, FilterQueryDep, ListQueryDep, SessionDep, read_only
from app.api.query import UPDATED_SINCE_PROPERTY, filter_parameter, page_parameter, updated_since
from app.api.responses import JSONAPIResponse
from app.api.routing import ResourceRouter
from app.api.v1.schemas import BAD_REQUEST, FORBIDDEN, NOT_FOUND, UNAUTHORISED
from app.api.v3.transfer_serializers import participant_transfers
from app.domain.transfers import TransferService

router = ResourceRouter(prefix="/api/v3", tags=["Participant transfers"])


class TransferSide(BaseModel):
    school_urn: str
    provider: str | None = Field(description="Name of the lead provider training at that school.")
    date: str | None = Field(json_schema_extra={"format": "date"})


class TransferItem(BaseModel):
    training_record_id: str = Field(json_schema_extra={"format": "uuid"})
    transfer_type: Literal["new_school", "new_provider", "unknown"]
    status: Literal["incomplete", "complete"]
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    leaving: TransferSide
    joining: TransferSide | None


class ParticipantTransferAttributes(BaseModel):
    updated_at: str = Field(json_schema_extra={"format": "date-time"})
    transfers: list[TransferItem]


class ParticipantTransfer(BaseModel):
    id: str = Field(json_schema_extra={"format": "uuid"})
    type: Literal["participant-transfer"]
    attributes: ParticipantTransferAttributes


class ParticipantTransferResponse(BaseModel):
    data: ParticipantTransfer


class ParticipantTransfersResponse(BaseModel):
    data: list[ParticipantTransfer]


TRANSFER_FILTER = filter_parameter(
    {"updated_since": UPDATED_SINCE_PROPERTY},
    "Refine participant transfers to return.",
    "filter[updated_since]=2020-11-13T11:21:55Z",
)
LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ParticipantTransfersResponse, "description": "A list of ECF participant transfers"},
    **UNAUTHORISED,
    **FORBIDDEN,
    **BAD_REQUEST,
}
SHOW_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ParticipantTransferResponse, "description": "A single participant's transfers"},
    **UNAUTHORISED,
    **FORBIDDEN,
    **BAD_REQUEST,
    **NOT_FOUND,
}


@router.get(
    "/participants/ecf/transfers",
    operation_id="v3_list_participant_transfers",
    responses=LIST_RESPONSES,
    response_class=JSONAPIResponse,
    openapi_extra={"parameters": [TRANSFER_FILTER, page_parameter("participant transfers")]},
)
@read_only
async def list_transfers(
    provider: EcfProviderDep, session: SessionDep, clock: ClockDep, query: ListQueryDep
) -> JSONAPIResponse:
    """Retrieve participants with transfers involving you, oldest participant first."""
    service = TransferService(session, provider, clock.now())
    rows = await service.list_transfers(updated_since(query), query.page)
    return JSONAPIResponse({"data": [participant_transfers(r) for r in rows]})


@router.get(
    "/participants/ecf/{id}/transfers",
    operation_id="v3_get_participant_transfers",
    responses=SHOW_RESPONSES,
    response_class=JSONAPIResponse,
    openapi_extra={"parameters": [TRANSFER_FILTER]},
)
@read_only
async def get_participant_transfers(
    id: str, provider: EcfProviderDep, session: SessionDep, clock: ClockDep, query: FilterQueryDep
) -> JSONAPIResponse:
    """Get a single participant's transfers involving you."""
    service = TransferService(session, provider, clock.now())
    row = await service.get_transfers(id, updated_since(query))
    return JSONAPIResponse({"data": participant_transfers(row)})
