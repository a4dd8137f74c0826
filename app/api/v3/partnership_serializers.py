"""v3 wire shape of ECF partnerships (plain dicts, validated against the reference by the tests)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.api.serialization import instant, str_or_none
from app.domain.partnerships import induction_tutor_email, last_updated, status
from app.repositories.partnerships import PartnershipRow


def json_datetime(value: datetime | None) -> str | None:
    """A raw datetime as the reference renders it by default: UTC, milliseconds, `Z`."""
    if value is None:
        return None
    moment = value.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def partnership(row: PartnershipRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "type": "partnership",
        "attributes": {
            "cohort": str(row.cohort_year),
            "urn": row.urn,
            "school_id": str(row.school_id),
            "delivery_partner_id": str_or_none(row.delivery_partner_id),
            "delivery_partner_name": row.delivery_partner_name,
            "status": status(row),
            "challenged_reason": row.challenge_reason,
            "challenged_at": json_datetime(row.challenged_at),
            "induction_tutor_name": row.tutor_name,
            "induction_tutor_email": induction_tutor_email(row),
            "created_at": instant(row.created_at),
            "updated_at": instant(last_updated(row)),
        },
    }
