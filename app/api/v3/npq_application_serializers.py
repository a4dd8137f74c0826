"""v3 NPQ application wire shape: v1's attributes plus the accepted training record's schedule."""

from __future__ import annotations

from typing import Any

from app.api.v1.npq_application_serializers import NPQ_APPLICATION_TYPE, npq_application_attributes
from app.repositories.npq_applications import ApplicationRow


def npq_application(row: ApplicationRow) -> dict[str, Any]:
    # The reference shows schedule_identifier only under its `accept_npq_application_can_change_schedule`
    # feature flag; this service runs with that flag on.
    attributes = {**npq_application_attributes(row), "schedule_identifier": row.schedule_identifier}
    return {"id": str(row.id), "type": NPQ_APPLICATION_TYPE, "attributes": attributes}
