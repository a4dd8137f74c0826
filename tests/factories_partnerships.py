"""Factories for the v3 partnerships tests: a provider ready to confirm partnerships, schools with a
contact email, induction tutors and partnerships created in a known order. Each adds rows through the
given session and flushes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Cohort,
    DeliveryPartner,
    InductionCoordinatorProfile,
    InductionCoordinatorProfileSchool,
    LeadProvider,
    Partnership,
    School,
    User,
)
from tests import factories as f
from tests import factories_schools as fs

URL = "/api/v3/partnerships/ecf"


async def school(session: AsyncSession, **values: object) -> School:
    """An eligible school with a contact email (the response's tutor email falls back to it)."""
    k = f.n()
    return await fs.school(
        session, primary_contact_email=values.pop("primary_contact_email", f"school{k}@example.com"), **values
    )


async def tutor(
    session: AsyncSession,
    school_: School,
    *,
    full_name: str | None = None,
    email: str | None = None,
    **values: object,
) -> User:
    """An induction tutor of the school (linked after any earlier one)."""
    k = f.n()
    user = User(
        full_name=full_name or f"Tutor {k}", email=f"tutor{k}@example.com" if email is None else email
    )
    session.add(user)
    await session.flush()
    profile = InductionCoordinatorProfile(user_id=user.id)
    session.add(profile)
    await session.flush()
    session.add(
        InductionCoordinatorProfileSchool(
            induction_coordinator_profile_id=profile.id,
            school_id=school_.id,
            created_at=values.pop("created_at", f.later()),
        )
    )
    await session.flush()
    return user


async def partnership(
    session: AsyncSession,
    school_: School,
    lead_provider: LeadProvider | None,
    year: int = 2022,
    *,
    partner: DeliveryPartner | None = None,
    challenged: bool = False,
    relationship: bool = False,
    pending: bool = False,
    created_at: datetime | None = None,
) -> Partnership:
    """A partnership created after every earlier one (the list's default order)."""
    row = await fs.partnership(
        session,
        school_,
        lead_provider,
        year,
        partner=partner,
        challenged=challenged,
        relationship_=relationship,
        pending=pending,
    )
    moment = created_at or f.later()
    await session.execute(update(Partnership).where(Partnership.id == row.id).values(created_at=moment))
    await session.refresh(row)
    return row


@dataclass
class Ready:
    """A provider that works with a delivery partner in a cohort, and an eligible school."""

    lp: f.Provider
    cohort: Cohort
    school: School
    partner: DeliveryPartner

    @property
    def lead_provider(self) -> LeadProvider:
        assert self.lp.lead_provider is not None
        return self.lp.lead_provider

    def body(self, **overrides: Any) -> dict[str, Any]:
        attributes = {
            "cohort": str(self.cohort.start_year),
            "school_id": str(self.school.id),
            "delivery_partner_id": str(self.partner.id),
        }
        return post_body(**(attributes | overrides))


async def ready(session: AsyncSession, year: int = 2022, lp: f.Provider | None = None) -> Ready:
    provider = lp or await f.provider(session)
    cohort = await f.cohort(session, year)
    partner = await fs.delivery_partner(session)
    await fs.relationship(session, provider.lead_provider, partner, year)
    return Ready(lp=provider, cohort=cohort, school=await school(session), partner=partner)


async def partner_for(
    session: AsyncSession, lp: f.Provider, year: int = 2022, name: str | None = None
) -> DeliveryPartner:
    """Another delivery partner the provider works with in the cohort."""
    partner = await fs.delivery_partner(session, name)
    await fs.relationship(session, lp.lead_provider, partner, year)
    return partner


def post_body(**attributes: Any) -> dict[str, Any]:
    return {"data": {"type": "ecf-partnership", "attributes": attributes}}


def put_body(delivery_partner_id: Any) -> dict[str, Any]:
    return {
        "data": {"type": "ecf-partnership-update", "attributes": {"delivery_partner_id": delivery_partner_id}}
    }
