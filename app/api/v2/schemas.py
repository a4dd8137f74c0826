"""v2 schemas that differ from v1, used to document the API (responses are built as dicts).

Only declarations differ: v2 dropped `eligible_for_payment` and `voided` (the state says both).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.api.v1.schemas import (
    COURSE_IDENTIFIERS,
    DATE_TIME,
    DECLARATION_STATES,
    DECLARATION_TYPES,
    UUID,
    one_of,
)


class ParticipantDeclarationAttributes(BaseModel):
    participant_id: str = Field(json_schema_extra=UUID)
    declaration_type: str = Field(json_schema_extra=one_of(DECLARATION_TYPES))
    declaration_date: str = Field(json_schema_extra=DATE_TIME)
    course_identifier: str = Field(json_schema_extra=one_of(COURSE_IDENTIFIERS))
    state: str = Field(json_schema_extra=one_of(DECLARATION_STATES))
    updated_at: str = Field(json_schema_extra=DATE_TIME)
    has_passed: bool | None = Field(description="NPQ `completed` declarations: the latest outcome.")


class ParticipantDeclaration(BaseModel):
    id: str = Field(json_schema_extra=UUID)
    type: Literal["participant-declaration"]
    attributes: ParticipantDeclarationAttributes


class ParticipantDeclarationResponse(BaseModel):
    data: ParticipantDeclaration


class MultipleParticipantDeclarationsResponse(BaseModel):
    data: list[ParticipantDeclaration]
