"""v3 NPQ response schemas: v1's NPQ application with the accepted training record's schedule, and
v1's NPQ outcome with `updated_at`. Used to document the API only (responses are built as dicts)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.api.v1 import npq_schemas as v1
from app.api.v1.schemas import DATE_TIME, UUID
from app.api.v2.npq_participant_serializers import NPQ_SCHEDULE_IDENTIFIERS

# ---- NPQ applications -----------------------------------------------------------------------------


class NPQApplicationAttributes(v1.NPQApplicationAttributes):
    schedule_identifier: str | None = Field(
        json_schema_extra={"enum": [*NPQ_SCHEDULE_IDENTIFIERS, None]},
        description="The schedule of the accepted application's training record; null until accepted.",
    )


class NPQApplication(BaseModel):
    id: str = Field(json_schema_extra=UUID)
    type: Literal["npq_application"]
    attributes: NPQApplicationAttributes


class NPQApplicationResponse(BaseModel):
    data: NPQApplication


class MultipleNPQApplicationsResponse(BaseModel):
    data: list[NPQApplication]


# ---- NPQ outcomes ---------------------------------------------------------------------------------


class NPQOutcomeAttributes(v1.NPQOutcomeAttributes):
    updated_at: str = Field(json_schema_extra=DATE_TIME)


class NPQOutcome(BaseModel):
    id: str = Field(json_schema_extra=UUID)
    type: Literal["participant-outcome"]
    attributes: NPQOutcomeAttributes


class NPQOutcomeResponse(BaseModel):
    data: NPQOutcome


class MultipleNPQOutcomesResponse(BaseModel):
    data: list[NPQOutcome]
