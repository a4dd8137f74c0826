"""Small factories: each adds rows through the test session and flushes. Tests name only what matters."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.enums import (
    InductionProgrammeChoice,
    InductionStatus,
    ScheduleType,
    TokenScope,
    TrainingProgramme,
    TrainingStatus,
)
from app.models import (
    ApiToken,
    Cohort,
    CpdLeadProvider,
    DeliveryPartner,
    EcfParticipantEligibility,
    EcfParticipantValidationData,
    InductionProgramme,
    InductionRecord,
    LeadProvider,
    Milestone,
    NpqApplication,
    NpqContract,
    NpqCourse,
    NpqLeadProvider,
    ParticipantDeclaration,
    ParticipantIdChange,
    ParticipantIdentity,
    ParticipantProfile,
    ParticipantProfileState,
    Partnership,
    ProviderRelationship,
    Schedule,
    School,
    SchoolCohort,
    Statement,
    StatementLineItem,
    TeacherProfile,
    User,
)
from app.security import hash_token
from app.seed.schedules import find_schedule
from tests.conftest import TEST_HMAC_KEY

_seq = itertools.count(1)


def n() -> int:
    return next(_seq)


def later() -> datetime:
    """A creation time that strictly increases with each call within a test run.

    Rows flushed in one transaction would otherwise share `now()`, leaving their
    order to random UUIDs.
    """
    return datetime.now(UTC) - timedelta(days=1) + timedelta(milliseconds=n())


def at(days: int = 0, base: datetime | None = None) -> datetime:
    """A timestamp `days` from now (negative = past)."""
    return (base or datetime.now(UTC)) + timedelta(days=days)


async def cohort(session: AsyncSession, year: int) -> Cohort:
    found = (await session.execute(select(Cohort).where(Cohort.start_year == year))).scalar_one_or_none()
    if found:
        return found
    row = Cohort(
        start_year=year, academic_year_start_date=date(year, 9, 1), registration_start_date=date(year, 5, 1)
    )
    session.add(row)
    await session.flush()
    return row


async def schedule(
    session: AsyncSession,
    year: int,
    identifier: str = "ecf-standard-september",
    schedule_type: str = ScheduleType.ECF,
) -> Schedule:
    c = await cohort(session, year)
    found = (
        await session.execute(
            select(Schedule).where(Schedule.cohort_id == c.id, Schedule.schedule_identifier == identifier)
        )
    ).scalar_one_or_none()
    if found:
        return found
    try:
        data = find_schedule(year, identifier)
    except KeyError:  # a cohort without published schedules: no milestones
        data = None
    row = Schedule(
        cohort_id=c.id,
        schedule_identifier=identifier,
        name=data.name if data else identifier,
        schedule_type=data.schedule_type if data else schedule_type,
    )
    session.add(row)
    await session.flush()
    # The real milestones of the schedule, so declaration windows are the contract's.
    for m in data.milestones if data else ():
        session.add(
            Milestone(
                schedule_id=row.id,
                name=m.declaration_type,
                declaration_type=m.declaration_type,
                start_date=m.start_date,
                milestone_date=m.milestone_date,
                payment_date=m.payment_date,
            )
        )
    await session.flush()
    return row


@dataclass
class Provider:
    cpd: CpdLeadProvider
    lead_provider: LeadProvider | None
    npq_lead_provider: NpqLeadProvider | None
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def provider(
    session: AsyncSession,
    name: str | None = None,
    *,
    ecf: bool = True,
    npq: bool = False,
    token: str | None = None,
) -> Provider:
    name = name or f"Provider {n()}"
    cpd = CpdLeadProvider(name=name)
    session.add(cpd)
    await session.flush()
    lp = LeadProvider(name=name, cpd_lead_provider_id=cpd.id) if ecf else None
    npq_lp = NpqLeadProvider(name=name, cpd_lead_provider_id=cpd.id) if npq else None
    for row in (lp, npq_lp):
        if row is not None:
            session.add(row)
    raw = token or f"token-{uuid.uuid4()}"
    session.add(
        ApiToken(
            hashed_token=hash_token(raw, TEST_HMAC_KEY),
            scope=TokenScope.LEAD_PROVIDER,
            cpd_lead_provider_id=cpd.id,
        )
    )
    await session.flush()
    return Provider(cpd=cpd, lead_provider=lp, npq_lead_provider=npq_lp, token=raw)


async def school(session: AsyncSession, **values: object) -> School:
    k = n()
    row = School(
        urn=str(values.pop("urn", f"{100000 + k}")),
        name=str(values.pop("name", f"School {k}")),
        school_type_code=values.pop("school_type_code", 1),
        school_status_code=values.pop("school_status_code", 1),
        administrative_district_code=values.pop("administrative_district_code", "E09000001"),
        **values,
    )
    session.add(row)
    await session.flush()
    return row


@dataclass
class Programme:
    school: School
    school_cohort: SchoolCohort
    programme: InductionProgramme
    partnership: Partnership | None
    delivery_partner: DeliveryPartner | None


async def programme(
    session: AsyncSession,
    lead_provider: LeadProvider | None,
    year: int,
    *,
    school_: School | None = None,
    challenged: bool = False,
    relationship: bool = False,
    delivery_partner: DeliveryPartner | None = None,
) -> Programme:
    """A school cohort with an induction programme; full induction (partnered) when a provider is given."""
    c = await cohort(session, year)
    s = school_ or await school(session)
    sc = (
        await session.execute(
            select(SchoolCohort).where(SchoolCohort.school_id == s.id, SchoolCohort.cohort_id == c.id)
        )
    ).scalar_one_or_none()
    if sc is None:
        sc = SchoolCohort(
            school_id=s.id,
            cohort_id=c.id,
            induction_programme_choice=(
                InductionProgrammeChoice.FULL_INDUCTION_PROGRAMME
                if lead_provider
                else InductionProgrammeChoice.CORE_INDUCTION_PROGRAMME
            ),
        )
        session.add(sc)
        await session.flush()
    partnership = None
    dp = delivery_partner
    if lead_provider is not None:
        if dp is None:
            dp = DeliveryPartner(name=f"Delivery Partner {n()}")
            session.add(dp)
            await session.flush()
        session.add(
            ProviderRelationship(lead_provider_id=lead_provider.id, delivery_partner_id=dp.id, cohort_id=c.id)
        )
        partnership = Partnership(
            school_id=s.id,
            lead_provider_id=lead_provider.id,
            cohort_id=c.id,
            delivery_partner_id=dp.id,
            relationship_=relationship,
            challenged_at=at(-1) if challenged else None,
            challenge_reason="mistake" if challenged else None,
        )
        session.add(partnership)
        await session.flush()
    ip = InductionProgramme(
        school_cohort_id=sc.id,
        partnership_id=partnership.id if partnership else None,
        training_programme=TrainingProgramme.FULL_INDUCTION_PROGRAMME
        if lead_provider
        else TrainingProgramme.CORE_INDUCTION_PROGRAMME,
    )
    session.add(ip)
    await session.flush()
    return Programme(school=s, school_cohort=sc, programme=ip, partnership=partnership, delivery_partner=dp)


@dataclass
class Person:
    user: User
    identity: ParticipantIdentity
    teacher_profile: TeacherProfile


async def person(
    session: AsyncSession,
    *,
    full_name: str | None = None,
    trn: str | None = "1234567",
    created_at: datetime | None = None,
) -> Person:
    k = n()
    user = User(full_name=full_name or f"Person {k}", email=f"person{k}-{uuid.uuid4().hex[:6]}@example.com")
    if created_at is not None:
        user.created_at = created_at
        user.updated_at = created_at
    session.add(user)
    await session.flush()
    identity = ParticipantIdentity(user_id=user.id, email=user.email, external_identifier=user.id)
    teacher = TeacherProfile(user_id=user.id, trn=trn)
    session.add_all([identity, teacher])
    await session.flush()
    return Person(user=user, identity=identity, teacher_profile=teacher)


@dataclass
class Participant:
    person: Person
    profile: ParticipantProfile
    record: InductionRecord
    programme: Programme

    @property
    def id(self) -> str:
        return str(self.person.user.id)


async def participant(
    session: AsyncSession,
    lead_provider: LeadProvider | None,
    year: int = 2022,
    *,
    profile_type: str = "ect",
    person_: Person | None = None,
    programme_: Programme | None = None,
    schedule_identifier: str = "ecf-standard-september",
    eligibility: str | None = "eligible",
    eligibility_reason: str | None = "none",
    induction_status: str = InductionStatus.ACTIVE,
    training_status: str = TrainingStatus.ACTIVE,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    mentor: ParticipantProfile | None = None,
    school_transfer: bool = False,
    created_at: datetime | None = None,
    **profile_values: object,
) -> Participant:
    """An ECT or mentor with one induction record under `lead_provider` (or a CIP school when None)."""
    p = person_ or await person(session, created_at=created_at)
    prog = programme_ or await programme(session, lead_provider, year)
    sched = await schedule(session, year, schedule_identifier)
    profile = ParticipantProfile(
        profile_type=profile_type,
        participant_identity_id=p.identity.id,
        teacher_profile_id=p.teacher_profile.id,
        schedule_id=sched.id,
        school_cohort_id=prog.school_cohort.id,
        school_id=prog.school.id,
        cohort_id=prog.school_cohort.cohort_id,
        mentor_profile_id=mentor.id if mentor else None,
        **profile_values,
    )
    session.add(profile)
    await session.flush()
    if eligibility is not None:
        session.add(
            EcfParticipantEligibility(
                participant_profile_id=profile.id, status=eligibility, reason=eligibility_reason
            )
        )
    record = InductionRecord(
        participant_profile_id=profile.id,
        induction_programme_id=prog.programme.id,
        schedule_id=sched.id,
        start_date=start_date or at(-30),
        end_date=end_date,
        induction_status=induction_status,
        training_status=training_status,
        mentor_profile_id=mentor.id if mentor else None,
        preferred_identity_id=p.identity.id,
        school_transfer=school_transfer,
    )
    session.add(record)
    await session.flush()
    return Participant(person=p, profile=profile, record=record, programme=prog)


async def induction_record(
    session: AsyncSession, participant_: Participant, programme_: Programme, **values: object
) -> InductionRecord:
    """Another placement for an existing training record."""
    record = InductionRecord(
        participant_profile_id=participant_.profile.id,
        induction_programme_id=programme_.programme.id,
        schedule_id=values.pop("schedule_id", participant_.record.schedule_id),
        start_date=values.pop("start_date", at(-1)),
        preferred_identity_id=participant_.person.identity.id,
        **values,
    )
    session.add(record)
    await session.flush()
    return record


async def profile_state(
    session: AsyncSession,
    participant_: Participant,
    provider_: Provider,
    state: str,
    reason: str | None,
    created_at: datetime | None = None,
) -> ParticipantProfileState:
    row = ParticipantProfileState(
        participant_profile_id=participant_.profile.id,
        cpd_lead_provider_id=provider_.cpd.id,
        state=state,
        reason=reason,
    )
    if created_at is not None:
        row.created_at = created_at
    session.add(row)
    await session.flush()
    return row


async def validation_data(session: AsyncSession, participant_: Participant, trn: str) -> None:
    session.add(EcfParticipantValidationData(participant_profile_id=participant_.profile.id, trn=trn))
    await session.flush()


async def id_change(session: AsyncSession, survivor: Person, retired: Person) -> ParticipantIdChange:
    row = ParticipantIdChange(
        user_id=survivor.user.id, from_participant_id=retired.user.id, to_participant_id=survivor.user.id
    )
    session.add(row)
    await session.flush()
    return row


async def declaration(
    session: AsyncSession,
    participant_: Participant,
    provider_: Provider,
    *,
    state: str = "submitted",
    declaration_type: str = "started",
    course_identifier: str | None = None,
    **values: object,
) -> ParticipantDeclaration:
    course = course_identifier or (
        "ecf-mentor" if participant_.profile.profile_type == "mentor" else "ecf-induction"
    )
    placement = getattr(participant_, "programme", None)  # NPQ participants have none
    dp = placement.delivery_partner if placement else None
    row = ParticipantDeclaration(
        programme=values.pop("programme", "ecf"),
        user_id=participant_.person.user.id,
        participant_profile_id=participant_.profile.id,
        cpd_lead_provider_id=provider_.cpd.id,
        declaration_type=declaration_type,
        declaration_date=values.pop("declaration_date", at(-5)),
        course_identifier=course,
        state=state,
        delivery_partner_id=dp.id if dp else None,
        evidence_held=values.pop("evidence_held", None),
        created_at=values.pop("created_at", later()),
        **values,
    )
    session.add(row)
    await session.flush()
    return row


async def statement(
    session: AsyncSession, provider_: Provider, year: int = 2022, **values: object
) -> Statement:
    c = await cohort(session, year)
    row = Statement(
        programme=values.pop("programme", "ecf"),
        name=values.pop("name", f"January {year + 1} {n()}"),
        cpd_lead_provider_id=provider_.cpd.id,
        cohort_id=c.id,
        deadline_date=values.pop("deadline_date", date(year + 1, 1, 31)),
        payment_date=values.pop("payment_date", date(year + 1, 2, 25)),
        **values,
    )
    session.add(row)
    await session.flush()
    return row


async def line_item(
    session: AsyncSession, statement_: Statement, declaration_: ParticipantDeclaration, state: str
) -> None:
    session.add(
        StatementLineItem(statement_id=statement_.id, participant_declaration_id=declaration_.id, state=state)
    )
    await session.flush()


async def npq_course(session: AsyncSession, identifier: str) -> NpqCourse:
    found = (
        await session.execute(select(NpqCourse).where(NpqCourse.identifier == identifier))
    ).scalar_one_or_none()
    if found:
        return found
    row = NpqCourse(name=identifier, identifier=identifier)
    session.add(row)
    await session.flush()
    return row


async def npq_contract(session: AsyncSession, provider_: Provider, year: int, course_identifier: str) -> None:
    assert provider_.npq_lead_provider is not None
    c = await cohort(session, year)
    session.add(
        NpqContract(
            npq_lead_provider_id=provider_.npq_lead_provider.id,
            cohort_id=c.id,
            course_identifier=course_identifier,
            recruitment_target=100,
            per_participant=Decimal("1000"),
        )
    )
    await session.flush()


@dataclass
class NpqParticipant:
    person: Person
    application: NpqApplication
    profile: ParticipantProfile

    @property
    def id(self) -> str:
        return str(self.person.user.id)


async def npq_participant(
    session: AsyncSession,
    provider_: Provider,
    year: int = 2022,
    course_identifier: str = "npq-headship",
    schedule_identifier: str = "npq-leadership-autumn",
    *,
    person_: Person | None = None,
    eligible_for_funding: bool = True,
    status: str = "accepted",
    contract: bool = True,
    **values: object,
) -> NpqParticipant:
    """An accepted NPQ application with its training record (same id) on a real NPQ schedule."""
    assert provider_.npq_lead_provider is not None
    p = person_ or await person(session)
    course = await npq_course(session, course_identifier)
    sched = await schedule(session, year, schedule_identifier)
    c = await cohort(session, year)
    application = NpqApplication(
        participant_identity_id=p.identity.id,
        npq_lead_provider_id=provider_.npq_lead_provider.id,
        npq_course_id=course.id,
        cohort_id=c.id,
        schedule_id=sched.id,
        lead_provider_approval_status=status,
        eligible_for_funding=eligible_for_funding,
        teacher_reference_number=p.teacher_profile.trn,
        **values,
    )
    session.add(application)
    await session.flush()
    profile = ParticipantProfile(
        id=application.id,
        profile_type="npq",
        participant_identity_id=p.identity.id,
        teacher_profile_id=p.teacher_profile.id,
        schedule_id=sched.id,
        npq_course_id=course.id,
        cohort_id=c.id,
    )
    session.add(profile)
    await session.flush()
    if (
        contract
        and not (
            await session.execute(
                select(NpqContract).where(
                    NpqContract.npq_lead_provider_id == provider_.npq_lead_provider.id,
                    NpqContract.cohort_id == c.id,
                    NpqContract.course_identifier == course_identifier,
                )
            )
        ).first()
    ):
        await npq_contract(session, provider_, year, course_identifier)
    return NpqParticipant(person=p, application=application, profile=profile)
