"""v3 wire shapes of ECF schools and delivery partners (plain dicts, validated by the tests)."""

from __future__ import annotations

from typing import Any

from app.api.serialization import instant
from app.domain.schools import EcfSchool
from app.repositories.delivery_partners import DeliveryPartnerRow


def school(row: EcfSchool) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "type": "school",
        "attributes": {
            "name": row.name,
            "urn": row.urn,
            "cohort": str(row.cohort),
            "in_partnership": row.in_partnership,
            "induction_programme_choice": row.induction_programme_choice,
            "created_at": instant(row.created_at),
            "updated_at": instant(row.updated_at),
        },
    }


def delivery_partner(row: DeliveryPartnerRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "type": "delivery-partner",
        "attributes": {
            "name": row.name,
            "cohort": [str(year) for year in row.cohort_years],
            "created_at": instant(row.created_at),
            "updated_at": instant(row.updated_at),
        },
    }
