"""NPQ outcome wire shape of v1 (v2 reuses it)."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.api.serialization import instant
from app.repositories.npq_outcomes import OutcomeRow

OUTCOME_TYPE = "participant-outcome"


def completion_date(value: date) -> str:
    """A date as the reference renders it: midnight UTC with a numeric offset (2021-05-31T00:00:00+00:00)."""
    return f"{value.isoformat()}T00:00:00+00:00"


def npq_outcome_attributes(row: OutcomeRow) -> dict[str, Any]:
    return {
        "state": row.state,
        "completion_date": completion_date(row.completion_date),
        "course_identifier": row.course_identifier,
        "participant_id": str(row.participant_id),
        "created_at": instant(row.created_at),
    }


def npq_outcome(row: OutcomeRow) -> dict[str, Any]:
    return {"id": str(row.id), "type": OUTCOME_TYPE, "attributes": npq_outcome_attributes(row)}
