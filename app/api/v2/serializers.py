"""v2 wire shapes that differ from v1."""

from __future__ import annotations

from typing import Any

from app.api.serialization import instant
from app.domain import declarations
from app.repositories.declarations import DeclarationRow


def declaration_attributes(row: DeclarationRow) -> dict[str, Any]:
    return {
        "participant_id": str(row.user_id),
        "declaration_type": row.declaration_type,
        "course_identifier": row.course_identifier,
        "declaration_date": instant(row.declaration_date),
        "updated_at": instant(row.updated_at),
        "state": declarations.api_state(row.state),
        "has_passed": declarations.has_passed(row),
    }


def declaration(row: DeclarationRow) -> dict[str, Any]:
    return {"id": str(row.id), "type": "participant-declaration", "attributes": declaration_attributes(row)}
