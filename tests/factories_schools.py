"""Factories for schools, school cohorts, partnerships and delivery partners (v3 schools and
delivery partners tests). Each adds rows through the test session and flushes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.enums import InductionProgrammeChoice
from app.models import (
    DeliveryPartner,
    LeadProvider,
    Partnership,
    ProviderRelationship,
    School,
    SchoolCohort,
)
from tests import factories as f

# Register codes of a school that is open, in England and of an eligible establishment type.
ELIGIBLE = {"school_status_code": 1, "administrative_district_code": "E09000001", "school_type_code": 1}


async def school(session: AsyncSession, **values: object) -> School:
    """An eligible school (unless told otherwise) created after every earlier one."""
    return await f.school(session, created_at=values.pop("created_at", f.later()), **values)


async def school_cohort(
    session: AsyncSession,
    school_: School,
    year: int,
    choice: str | None = InductionProgrammeChoice.FULL_INDUCTION_PROGRAMME,
) -> SchoolCohort:
    c = await f.cohort(session, year)
    row = SchoolCohort(school_id=school_.id, cohort_id=c.id)
    if choice is not None:
        row.induction_programme_choice = choice
    session.add(row)
    await session.flush()
    return row


async def delivery_partner(
    session: AsyncSession, name: str | None = None, *, discarded: bool = False, **values: object
) -> DeliveryPartner:
    row = DeliveryPartner(
        name=name or f"Delivery Partner {f.n()}",
        discarded_at=f.at(-1) if discarded else None,
        created_at=values.pop("created_at", f.later()),
        **values,
    )
    session.add(row)
    await session.flush()
    return row


async def relationship(
    session: AsyncSession,
    lead_provider: LeadProvider | None,
    partner: DeliveryPartner,
    year: int,
    *,
    discarded: bool = False,
) -> ProviderRelationship:
    """The provider may work with the delivery partner in the cohort."""
    assert lead_provider is not None
    c = await f.cohort(session, year)
    row = ProviderRelationship(
        lead_provider_id=lead_provider.id,
        delivery_partner_id=partner.id,
        cohort_id=c.id,
        discarded_at=f.at(-1) if discarded else None,
    )
    session.add(row)
    await session.flush()
    return row


async def partnership(
    session: AsyncSession,
    school_: School,
    lead_provider: LeadProvider | None,
    year: int,
    *,
    partner: DeliveryPartner | None = None,
    challenged: bool = False,
    challenge_reason_only: bool = False,
    relationship_: bool = False,
    pending: bool = False,
) -> Partnership:
    """A partnership of the school in the cohort (`challenge_reason_only`: a reason without a date)."""
    assert lead_provider is not None
    c = await f.cohort(session, year)
    dp = partner or await delivery_partner(session)
    row = Partnership(
        school_id=school_.id,
        lead_provider_id=lead_provider.id,
        cohort_id=c.id,
        delivery_partner_id=dp.id,
        challenged_at=f.at(-1) if challenged else None,
        challenge_reason="mistake" if challenged or challenge_reason_only else None,
        relationship_=relationship_,
        pending=pending,
    )
    session.add(row)
    await session.flush()
    return row


async def set_updated_at(
    session: AsyncSession,
    model: type[School | SchoolCohort | DeliveryPartner],
    ident: object,
    value: datetime,
) -> None:
    """Move a row's `updated_at` (an explicit value wins over the column's on-update default)."""
    await session.execute(update(model).where(model.id == ident).values(updated_at=value))
