"""Queries behind the v3 delivery partners endpoints.

A provider sees the delivery partners it has a live provider relationship with. Soft-deleted
(discarded) delivery partners and relationships do not count.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.paging import Page
from app.repositories.ecf_participants import CohortScope
from app.repositories.sql import text

# Columns of `delivery_partners` a list may be ordered by (names come from the domain).
SORTABLE_COLUMNS = frozenset({"created_at", "updated_at", "name"})


@dataclass(frozen=True)
class DeliveryPartnerRow:
    id: uuid.UUID
    name: str
    created_at: datetime
    updated_at: datetime
    # Start years of every cohort the partner works with the provider in, ascending.
    cohort_years: list[int]


def _relationship_sql(extra: str = "TRUE") -> str:
    """A live relationship between the provider and delivery partner `dp` (EXISTS body)."""
    return f"""
        SELECT 1 FROM provider_relationships pr
          JOIN cohorts c ON c.id = pr.cohort_id
         WHERE pr.delivery_partner_id = dp.id AND pr.lead_provider_id = :lead_provider_id
           AND pr.discarded_at IS NULL AND {extra}
    """


_DETAILS = """
    SELECT dp.id, dp.name, dp.created_at, dp.updated_at,
           ARRAY(
               SELECT DISTINCT c.start_year FROM provider_relationships pr
                 JOIN cohorts c ON c.id = pr.cohort_id
                WHERE pr.delivery_partner_id = dp.id AND pr.lead_provider_id = :lead_provider_id
                  AND pr.discarded_at IS NULL
                ORDER BY c.start_year
           ) AS cohort_years
"""


def _order_sql(order_by: Sequence[tuple[str, bool]]) -> str:
    parts = []
    for column, descending in order_by:
        if column not in SORTABLE_COLUMNS:
            raise ValueError(f"not a sortable delivery partner column: {column}")
        parts.append(f"dp.{column} {'DESC' if descending else 'ASC'}")
    parts.append("dp.id ASC")  # unique tie-breaker: pages never overlap or skip
    return ", ".join(parts)


def _row(mapping: RowMapping) -> DeliveryPartnerRow:
    return DeliveryPartnerRow(
        id=mapping["id"],
        name=mapping["name"],
        created_at=mapping["created_at"],
        updated_at=mapping["updated_at"],
        cohort_years=[int(y) for y in mapping["cohort_years"]],
    )


class DeliveryPartnerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_for_provider(
        self,
        lead_provider_id: uuid.UUID,
        *,
        cohorts: CohortScope,
        order_by: Sequence[tuple[str, bool]],
        page: Page,
    ) -> list[DeliveryPartnerRow]:
        """One page of the partners the provider works with in any of the cohorts."""
        params: dict[str, Any] = {
            "lead_provider_id": lead_provider_id,
            "limit": page.limit,
            "offset": page.offset,
        }
        order = _order_sql(order_by)
        sql = f"""
            WITH page AS (
                SELECT dp.id FROM delivery_partners dp
                 WHERE dp.discarded_at IS NULL
                   AND EXISTS ({_relationship_sql(cohorts.sql("c.start_year", params))})
                 ORDER BY {order}
                 LIMIT :limit OFFSET :offset
            )
            {_DETAILS}
              FROM page JOIN delivery_partners dp ON dp.id = page.id
             ORDER BY {order}
        """
        result = await self.session.execute(text(sql), params)
        return [_row(r) for r in result.mappings()]

    async def find_for_provider(
        self, lead_provider_id: uuid.UUID, delivery_partner_id: uuid.UUID
    ) -> DeliveryPartnerRow | None:
        """The partner if the provider works with it in any cohort."""
        sql = f"""
            {_DETAILS}
              FROM delivery_partners dp
             WHERE dp.id = :id AND dp.discarded_at IS NULL AND EXISTS ({_relationship_sql()})
        """
        params = {"id": delivery_partner_id, "lead_provider_id": lead_provider_id}
        row = (await self.session.execute(text(sql), params)).mappings().first()
        return _row(row) if row else None
