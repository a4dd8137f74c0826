"""NPQ sandbox scenarios: applications in every state and the participants they became.

For each NPQ provider and cohort 2021-2024, one application per entry of `PLAN`: accepted ones
on a course of each schedule family (leadership, specialist, EHCO; ASO in 2021 only), one of
them deferred and one withdrawn, pending ones (including a second application by last
cohort's senior-leadership participant, previously funded) and rejected ones, every family in
every state (ASO in 2021 only), with the attribute
mixes the registration service produces (not working in a school, ITT lead mentor, nursery,
outside England).

Accepting creates the NPQ training record with the application's id, on a schedule of the
course's family for the cohort, with an initial `active` state (as the accept action does).
Some people who train with an ECF provider also have an NPQ application with the same provider.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from app.domain.enums import ApplicationStatus, ProfileType, TrainingStatus
from app.domain.npq_courses import NPQ_COURSE_FAMILIES
from app.models import NpqApplication, ParticipantProfile, ParticipantProfileState
from app.seed import ids
from app.seed.builder import Builder, NpqEnrolment, Person, rng
from app.seed.names import EMPLOYERS, ITT_PROVIDERS
from app.seed.reference import COHORTS, NPQ_COURSE_IDS, NPQ_PROVIDERS, ProviderSeed
from app.seed.schedules import find_schedule, npq_schedules_for_course

ENGLAND = ("england", "United Kingdom of Great Britain and Northern Ireland", "GBR")
ABROAD = ("another", "France", "FRA")


@dataclass(frozen=True)
class Application:
    label: str
    course: str
    status: ApplicationStatus
    schedule: str | None = None  # preferred schedule; otherwise the family's first for the cohort
    training: TrainingStatus = TrainingStatus.ACTIVE
    # school: works in a school; edge: no institution; itt: ITT lead mentor; nursery: early years;
    # abroad: teaches outside England; again: a previous participant applying for the same course.
    setting: str = "school"
    funded: bool = True
    headteacher_status: str | None = "no"
    cohorts: tuple[int, ...] = COHORTS


PLAN = (
    Application(
        "senior-leadership", "npq-senior-leadership", ApplicationStatus.ACCEPTED, "npq-leadership-autumn"
    ),
    Application(
        "headship",
        "npq-headship",
        ApplicationStatus.ACCEPTED,
        "npq-leadership-spring",
        training=TrainingStatus.DEFERRED,
        headteacher_status="yes_when_course_starts",
    ),
    Application(
        "leading-teaching", "npq-leading-teaching", ApplicationStatus.ACCEPTED, "npq-specialist-autumn"
    ),
    Application(
        "leading-literacy",
        "npq-leading-literacy",
        ApplicationStatus.ACCEPTED,
        "npq-specialist-spring",
        training=TrainingStatus.WITHDRAWN,
        funded=False,
    ),
    Application(
        "ehco",
        "npq-early-headship-coaching-offer",
        ApplicationStatus.ACCEPTED,
        "npq-ehco-november",
        headteacher_status="yes_in_first_two_years",
    ),
    Application(
        "itt-lead-mentor",
        "npq-leading-teaching-development",
        ApplicationStatus.ACCEPTED,
        "npq-specialist-autumn",
        setting="itt",
    ),
    Application(
        "aso",
        "npq-additional-support-offer",
        ApplicationStatus.ACCEPTED,
        "npq-aso-november",
        headteacher_status="yes_in_first_two_years",
        cohorts=(2021,),
    ),
    Application("behaviour-culture", "npq-leading-behaviour-culture", ApplicationStatus.PENDING),
    Application(
        "executive-leadership",
        "npq-executive-leadership",
        ApplicationStatus.PENDING,
        funded=False,
        headteacher_status="yes_over_five_years",
    ),
    Application("primary-maths", "npq-leading-primary-mathematics", ApplicationStatus.PENDING),
    Application("edge-case", "npq-leading-teaching", ApplicationStatus.PENDING, setting="edge", funded=False),
    Application(
        "again",
        "npq-senior-leadership",
        ApplicationStatus.PENDING,
        setting="again",
        funded=False,
        cohorts=COHORTS[1:],
    ),
    Application(
        "aso-pending",
        "npq-additional-support-offer",
        ApplicationStatus.PENDING,
        headteacher_status="yes_in_first_two_years",
        cohorts=(2021,),
    ),
    Application("early-years", "npq-early-years-leadership", ApplicationStatus.REJECTED, setting="nursery"),
    Application(
        "teaching-development",
        "npq-leading-teaching-development",
        ApplicationStatus.REJECTED,
        setting="abroad",
        funded=False,
    ),
    # EHCO and ASO in every state too (ASO in 2021 only).
    Application(
        "ehco-pending",
        "npq-early-headship-coaching-offer",
        ApplicationStatus.PENDING,
        headteacher_status="yes_in_first_five_years",
    ),
    Application(
        "ehco-rejected",
        "npq-early-headship-coaching-offer",
        ApplicationStatus.REJECTED,
        headteacher_status="yes_over_two_years",
    ),
    Application(
        "aso-rejected",
        "npq-additional-support-offer",
        ApplicationStatus.REJECTED,
        headteacher_status="yes_in_first_two_years",
        cohorts=(2021,),
    ),
)

# Which ECF participant of each ECF+NPQ provider also applies for an NPQ (cohort 2024).
ECF_AND_NPQ_PERSON = "{slug}/2023/p0"


def build_npq(b: Builder) -> None:
    for p in NPQ_PROVIDERS:
        for year in COHORTS:
            for plan in PLAN:
                if year not in plan.cohorts:
                    continue
                if plan.setting == "again":
                    # Last cohort's accepted, funded senior-leadership participant applies again.
                    person = b.person(f"npq/{p.slug}/{year - 1}/senior-leadership", year - 1, origin="npq")
                else:
                    person = b.person(f"npq/{p.slug}/{year}/{plan.label}", year, origin="npq")
                application(b, p, year, plan, person, person.identity_id)
        if p.ecf:
            person = b.people[ECF_AND_NPQ_PERSON.format(slug=p.slug)]
            plan = Application("ecf-participant", "npq-leading-teaching", ApplicationStatus.ACCEPTED)
            application(b, p, 2024, plan, person, person.identity_id)


def schedule_for(year: int, plan: Application) -> str:
    if plan.schedule and find_schedule(year, plan.schedule):
        return plan.schedule
    # e.g. EHCO in 2021 only had a June schedule
    return npq_schedules_for_course(year, plan.course)[0].identifier


def application(
    b: Builder, p: ProviderSeed, year: int, plan: Application, person: Person, identity: uuid.UUID
) -> uuid.UUID:
    key = f"npq/{p.slug}/{year}/{plan.label}"
    r = rng(key)
    created = b.clock.next(year)
    accepted = plan.status is ApplicationStatus.ACCEPTED
    decided = created + timedelta(days=14)
    schedule = ids.schedule_id(year, schedule_for(year, plan)) if accepted else None
    school_urn, school_ukprn = (f"{r.randrange(400000, 450000)}", f"10{r.randrange(0, 1_000_000):06d}")
    in_school = plan.setting in ("school", "again", "abroad")
    in_english_school = in_school and plan.setting != "abroad"  # only those have a URN and UKPRN
    funding_code = {
        "edge": "no_institution",
        "again": "previously_funded",
        "abroad": "not_in_england",
    }.get(plan.setting, "funded" if plan.funded else "ineligible_establishment_type")
    catchment = ABROAD if plan.setting == "abroad" else ENGLAND
    # Targeted delivery funding exists from 2022, never for ASO/EHCO.
    family = NPQ_COURSE_FAMILIES[plan.course].value
    tdf = plan.funded and year >= 2022 and family in ("npq_leadership", "npq_specialist") and r.random() < 0.5
    values: dict[str, Any] = {
        "eligible_for_funding": plan.funded,
        "funding_eligiblity_status_code": funding_code,
        "targeted_delivery_funding_eligibility": tdf,
        "tsf_primary_eligibility": plan.course == "npq-leading-primary-mathematics",
        "tsf_primary_plus_eligibility": plan.course == "npq-leading-primary-mathematics" and r.random() < 0.5,
        # From 2024 an accepted funded application also says whether it takes a funded place.
        "funded_place": plan.funded if accepted and year >= 2024 else None,
        "teacher_reference_number": person.trn,
        "teacher_reference_number_verified": plan.setting not in ("edge", "abroad"),
        "date_of_birth": date(1970 + r.randrange(0, 25), r.randrange(1, 13), r.randrange(1, 29)),
        "nino": f"QQ{r.randrange(0, 1_000_000):06d}C" if r.random() < 0.5 else None,
        "school_urn": school_urn if in_english_school else None,
        "school_ukprn": school_ukprn if in_english_school else None,
        "headteacher_status": plan.headteacher_status,
        "funding_choice": None
        if plan.funded
        else r.choice(("school", "trust", "self", "another", "employer")),
        "works_in_school": in_school,
        "works_in_nursery": plan.setting == "nursery",
        "works_in_childcare": plan.setting == "nursery",
        "kind_of_nursery": "private_nursery" if plan.setting == "nursery" else None,
        "private_childcare_provider_urn": f"EY{r.randrange(100000, 999999)}"
        if plan.setting == "nursery"
        else None,
        "employer_name": r.choice(EMPLOYERS) if plan.setting == "edge" else None,
        "employment_role": "Teacher" if plan.setting == "edge" else None,
        "employment_type": {"edge": "hospital_school", "itt": "lead_mentor_for_accredited_itt_provider"}.get(
            plan.setting
        ),
        "teacher_catchment": catchment[0],
        "teacher_catchment_country": catchment[1],
        "teacher_catchment_iso_country_code": catchment[2],
        "itt_provider": r.choice(ITT_PROVIDERS) if plan.setting == "itt" else None,
        "lead_mentor": plan.setting == "itt",
        "primary_establishment": plan.course == "npq-leading-primary-mathematics",
        "number_of_pupils": r.randrange(120, 1600) if in_school else None,
    }
    application_id = b.rows.add(
        NpqApplication,
        id=ids.uid("npq-application", key),
        participant_identity_id=identity,
        npq_lead_provider_id=p.npq_lead_provider_id,
        npq_course_id=NPQ_COURSE_IDS[plan.course],
        cohort_id=ids.cohort_id(year),
        schedule_id=schedule,
        lead_provider_approval_status=plan.status.value,
        created_at=created,
        updated_at=created if plan.status is ApplicationStatus.PENDING else decided,
        **values,
    )
    if accepted and schedule is not None:
        participant(b, p, year, plan, person, identity, application_id, schedule, values, decided)
    return application_id


def participant(
    b: Builder,
    p: ProviderSeed,
    year: int,
    plan: Application,
    person: Person,
    identity: uuid.UUID,
    application_id: uuid.UUID,
    schedule: uuid.UUID,
    values: dict[str, Any],
    accepted_at: datetime,
) -> None:
    """The NPQ training record an accepted application becomes (same id as the application)."""
    b.rows.add(
        ParticipantProfile,
        id=application_id,
        profile_type=ProfileType.NPQ.value,
        participant_identity_id=identity,
        teacher_profile_id=person.teacher_profile_id,
        schedule_id=schedule,
        cohort_id=ids.cohort_id(year),
        npq_course_id=NPQ_COURSE_IDS[plan.course],
        school_urn=values["school_urn"],
        school_ukprn=values["school_ukprn"],
        training_status=plan.training.value,
        created_at=accepted_at,
        updated_at=accepted_at,
    )
    b.npq_enrolments.append(
        NpqEnrolment(
            key=f"npq/{p.slug}/{year}/{plan.label}",
            label=plan.label,
            provider=p,
            person=person,
            profile_id=application_id,
            course=plan.course,
            cohort=year,
            schedule=schedule_for(year, plan),
            funded=plan.funded,
            accepted_at=accepted_at,
        )
    )
    changes: list[tuple[TrainingStatus, str | None, datetime]] = [(TrainingStatus.ACTIVE, None, accepted_at)]
    if plan.training is TrainingStatus.DEFERRED:
        changes.append((plan.training, "bereavement", accepted_at + timedelta(days=90)))
    elif plan.training is TrainingStatus.WITHDRAWN:
        changes.append((plan.training, "personal-reason-moving-school", accepted_at + timedelta(days=90)))
    for state, reason, when in changes:
        b.rows.add(
            ParticipantProfileState,
            id=ids.uid("profile-state", application_id, state.value, when.isoformat()),
            participant_profile_id=application_id,
            cpd_lead_provider_id=p.cpd_id,
            state=state.value,
            reason=reason,
            created_at=when,
            updated_at=when,
        )
