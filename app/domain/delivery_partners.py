"""Delivery partners a lead provider works with (v3)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.auth import EcfProvider
from app.domain.errors import NotFound, record_id
from app.domain.paging import Page
from app.domain.schools import parse_sort
from app.repositories.delivery_partners import DeliveryPartnerRepository, DeliveryPartnerRow
from app.repositories.ecf_participants import CohortScope

DELIVERY_PARTNER_SORTABLE = ("created_at", "updated_at", "name")
DEFAULT_ORDER = [("created_at", False)]


class DeliveryPartnerService:
    def __init__(self, session: AsyncSession, provider: EcfProvider) -> None:
        self.repo = DeliveryPartnerRepository(session)
        self.provider = provider

    async def list_partners(
        self, cohort_years: list[int] | None, page: Page, sort: str | None = None
    ) -> list[DeliveryPartnerRow]:
        """Partners with a relationship in one of the cohorts (default: every cohort after 2020).

        Each one lists all its cohorts with the provider, whatever the filter.
        """
        return await self.repo.list_for_provider(
            self.provider.lead_provider_id,
            cohorts=CohortScope(cohort_years),
            order_by=parse_sort(sort, DELIVERY_PARTNER_SORTABLE, DEFAULT_ORDER),
            page=page,
        )

    async def get(self, delivery_partner_id: str) -> DeliveryPartnerRow:
        """A partner the provider works with in any cohort (2020 included), else 404."""
        row = await self.repo.find_for_provider(
            self.provider.lead_provider_id, record_id(delivery_partner_id)
        )
        if row is None:
            raise NotFound()
        return row
