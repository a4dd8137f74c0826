"""Factories for NPQ applications: pending ones with every attribute, accepted ones with their
training record, the cohort's NPQ schedules, and people who share a TRN."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.npq_courses import NPQ_COURSE_FAMILIES
from app.models import NpqApplication, Schedule
from app.seed.schedules import npq_schedules
from tests import factories as f


async def schedules(session: AsyncSession, year: int) -> list[Schedule]:
    """Every NPQ schedule the cohort has, with its real milestones."""
    return [await f.schedule(session, year, s.identifier, s.schedule_type) for s in npq_schedules(year)]


async def person(session: AsyncSession, *, full_name: str | None = None) -> f.Person:
    """Someone with a TRN of their own (the shared default TRN would link every test person)."""
    return await f.person(session, full_name=full_name, trn=f"9{f.n():06d}")


async def application(
    session: AsyncSession,
    provider_: f.Provider,
    *,
    person_: f.Person | None = None,
    course: str = "npq-headship",
    year: int | None = 2022,
    status: str = "pending",
    created_at: datetime | None = None,
    with_schedules: bool = True,
    **values: object,
) -> NpqApplication:
    """A pending application (by default) with every attribute the registration service records.

    `year=None` makes an application with no cohort. The cohort's NPQ schedules are created so an
    acceptance can choose one.
    """
    assert provider_.npq_lead_provider is not None
    p = person_ or await person(session)
    c = await f.cohort(session, year) if year is not None else None
    if year is not None and with_schedules:
        await schedules(session, year)
    defaults: dict[str, object] = {
        "eligible_for_funding": True,
        "funding_eligiblity_status_code": "funded",
        "targeted_delivery_funding_eligibility": False,
        "teacher_reference_number": p.teacher_profile.trn,
        "teacher_reference_number_verified": True,
        "school_urn": "123456",
        "school_ukprn": "10012345",
        "headteacher_status": "no",
        "funding_choice": None,
        "works_in_school": True,
        "employer_name": None,
        "employment_role": None,
        "private_childcare_provider_urn": None,
        "teacher_catchment": "england",
        "teacher_catchment_country": "United Kingdom of Great Britain and Northern Ireland",
        "teacher_catchment_iso_country_code": "GBR",
        "itt_provider": None,
        "lead_mentor": False,
        "created_at": created_at or f.later(),
    }
    row = NpqApplication(
        participant_identity_id=p.identity.id,
        npq_lead_provider_id=provider_.npq_lead_provider.id,
        npq_course_id=(await f.npq_course(session, course)).id,
        cohort_id=c.id if c is not None else None,
        lead_provider_approval_status=status,
        **(defaults | values),
    )
    if row.created_at is not None:
        row.updated_at = row.created_at
    session.add(row)
    await session.flush()
    return row


async def accepted(
    session: AsyncSession,
    provider_: f.Provider,
    person_: f.Person,
    *,
    course: str = "npq-headship",
    year: int = 2022,
    eligible_for_funding: bool = True,
) -> f.NpqParticipant:
    """An accepted application with its training record, on the first schedule of the course's family."""
    family = next(s for s in npq_schedules(year) if s.schedule_type is NPQ_COURSE_FAMILIES[course])
    return await f.npq_participant(
        session,
        provider_,
        year,
        course,
        family.identifier,
        person_=person_,
        eligible_for_funding=eligible_for_funding,
        contract=False,
        created_at=f.later(),
    )


async def people_sharing_trn(session: AsyncSession, trn: str, count: int = 2) -> list[f.Person]:
    """Different users whose teacher profiles carry the same TRN, oldest first."""
    people = []
    for _ in range(count):
        person = await f.person(session, trn=trn)
        person.teacher_profile.created_at = f.later()
        people.append(person)
    await session.flush()
    return people
