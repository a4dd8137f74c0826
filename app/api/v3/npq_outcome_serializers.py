"""NPQ outcome wire shape of v3: v1's attributes plus `updated_at`."""

from __future__ import annotations

from typing import Any

from app.api.serialization import instant
from app.api.v1.npq_outcome_serializers import OUTCOME_TYPE, npq_outcome_attributes
from app.repositories.npq_outcomes import OutcomeRow


def npq_outcome(row: OutcomeRow) -> dict[str, Any]:
    attributes = npq_outcome_attributes(row) | {"updated_at": instant(row.updated_at)}
    return {"id": str(row.id), "type": OUTCOME_TYPE, "attributes": attributes}
