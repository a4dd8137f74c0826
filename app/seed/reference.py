"""Reference data: cohorts, schedules and milestones, providers and NPQ courses.

Safe in every environment (no people, no tokens). Provider and course ids that the reference
service fixes (NPQ lead providers, NPQ courses) are used as published, so clients that hard-code
them keep working; every other id is derived from a natural key (see `app.seed.ids`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.models import Cohort, CpdLeadProvider, LeadProvider, Milestone, NpqCourse, NpqLeadProvider, Schedule
from app.seed import ids
from app.seed.rows import Rows
from app.seed.schedules import all_schedules
from app.seed.times import at

COHORTS = (2021, 2022, 2023, 2024)


@dataclass(frozen=True)
class ProviderSeed:
    """A CPD lead provider, its sandbox token and its ECF / NPQ roles."""

    name: str
    token: str
    ecf: bool
    npq_id: uuid.UUID | None

    @property
    def slug(self) -> str:
        return self.token.removesuffix("-token")

    @property
    def cpd_id(self) -> uuid.UUID:
        return ids.cpd_lead_provider_id(self.name)

    @property
    def lead_provider_id(self) -> uuid.UUID:
        if not self.ecf:
            raise ValueError(f"{self.name} has no ECF role")
        return ids.lead_provider_id(self.name)

    @property
    def npq_lead_provider_id(self) -> uuid.UUID:
        if self.npq_id is None:
            raise ValueError(f"{self.name} has no NPQ role")
        return self.npq_id


def _u(value: str) -> uuid.UUID:
    return uuid.UUID(value)


PROVIDERS = (
    ProviderSeed("Ambition Institute", "ambition-token", True, _u("9e35e998-c63b-4136-89c4-e9e18ddde0ea")),
    ProviderSeed(
        "Best Practice Network", "best-practice-token", True, _u("57ba9e86-559f-4ff4-a6d2-4610c7259b67")
    ),
    ProviderSeed("Capita", "capita-token", True, None),
    ProviderSeed("Church of England", "coe-token", False, _u("79cb41ca-cb6d-405c-b52c-b6f7c752388d")),
    ProviderSeed(
        "Education Development Trust", "edt-token", True, _u("21e61f53-9b34-4384-a8f5-d8224dbf946d")
    ),
    ProviderSeed("LLSE", "llse-token", False, _u("230e67c0-071a-4a48-9673-9d043d456281")),
    ProviderSeed(
        "National Institute of Teaching", "niot-token", False, _u("3ec607f2-7a3a-421f-9f1a-9aca8a634aeb")
    ),
    ProviderSeed("School-Led Network", "school-led-token", False, _u("bc5e4e37-1d64-4149-a06b-ad10d3c55fd0")),
    ProviderSeed("Teach First", "teach-first-token", True, _u("a02ae582-f939-462f-90bc-cebf20fa8473")),
    ProviderSeed("Teacher Development Trust", "tdt-token", False, _u("30fd937e-b93c-4f81-8fff-3c27544193f1")),
    ProviderSeed("UCL Institute of Education", "ucl-token", True, _u("ef687b3d-c1c0-4566-a295-16d6fa5d0fa7")),
)
ECF_PROVIDERS = tuple(p for p in PROVIDERS if p.ecf)
NPQ_PROVIDERS = tuple(p for p in PROVIDERS if p.npq_id is not None)
KNOWN_TOKENS: dict[str, str] = {p.token: p.name for p in PROVIDERS}


def provider_named(name: str) -> ProviderSeed:
    return next(p for p in PROVIDERS if p.name == name)


@dataclass(frozen=True)
class CourseSeed:
    identifier: str
    name: str
    id: uuid.UUID


# The reference service's own course ids.
NPQ_COURSES = (
    CourseSeed(
        "npq-leading-teaching", "NPQ Leading Teaching (NPQLT)", _u("15c52ed8-06b5-426e-81a2-c2664978a0dc")
    ),
    CourseSeed(
        "npq-leading-behaviour-culture",
        "NPQ Leading Behaviour and Culture (NPQLBC)",
        _u("7d47a0a6-fa74-4587-92cc-cd1e4548a2e5"),
    ),
    CourseSeed(
        "npq-leading-teaching-development",
        "NPQ Leading Teacher Development (NPQLTD)",
        _u("29fee78b-30ce-4b93-ba21-80be2fde286f"),
    ),
    CourseSeed(
        "npq-leading-literacy", "NPQ Leading Literacy (NPQLL)", _u("829fcd45-e39d-49a9-b309-26d26debfa90")
    ),
    CourseSeed(
        "npq-senior-leadership",
        "NPQ for Senior Leadership (NPQSL)",
        _u("a42736ad-3d0b-401d-aebe-354ef4c193ec"),
    ),
    CourseSeed("npq-headship", "NPQ for Headship (NPQH)", _u("0f7d6578-a12c-4498-92a0-2ee0f18e0768")),
    CourseSeed(
        "npq-executive-leadership",
        "NPQ for Executive Leadership (NPQEL)",
        _u("aef853f2-9b48-4b6a-9d2a-91b295f5ca9a"),
    ),
    CourseSeed(
        "npq-early-years-leadership",
        "NPQ Early Years Leadership (NPQEYL)",
        _u("66dff4af-a518-498f-9042-36a41f9e8aa7"),
    ),
    CourseSeed(
        "npq-leading-primary-mathematics",
        "NPQ Leading Primary Mathematics (NPQLPM)",
        _u("6f81f1ab-5c4e-445d-9363-0f91149c87db"),
    ),
    CourseSeed(
        "npq-additional-support-offer",
        "Additional Support Offer for new headteachers",
        _u("7fbefdd4-dd2d-4a4f-8995-d59e525124b7"),
    ),
    CourseSeed(
        "npq-early-headship-coaching-offer",
        "The Early Headship Coaching Offer",
        _u("0222d1a8-a8e1-42e3-a040-2c585f6c194a"),
    ),
)
NPQ_COURSE_IDS: dict[str, uuid.UUID] = {c.identifier: c.id for c in NPQ_COURSES}


def reference_rows(rows: Rows) -> None:
    """Cohorts, schedules, milestones, providers and courses (contracts live in `finance`)."""
    for year in COHORTS:
        created = at(year - 1)
        rows.add(
            Cohort,
            id=ids.cohort_id(year),
            start_year=year,
            registration_start_date=at(year, 5, 10).date(),
            academic_year_start_date=at(year, 9, 1).date(),
            # The reference opens NPQ registration separately from 2023.
            npq_registration_start_date=at(year, 4, 3).date() if year >= 2023 else None,
            created_at=created,
            updated_at=created,
        )
    for schedule in all_schedules(COHORTS):
        created = at(schedule.cohort - 1)
        schedule_id = rows.add(
            Schedule,
            id=ids.schedule_id(schedule.cohort, schedule.identifier),
            cohort_id=ids.cohort_id(schedule.cohort),
            schedule_identifier=schedule.identifier,
            name=schedule.name,
            schedule_type=schedule.schedule_type.value,
            created_at=created,
            updated_at=created,
        )
        for m in schedule.milestones:
            rows.add(
                Milestone,
                id=ids.milestone_id(schedule.cohort, schedule.identifier, m.declaration_type),
                schedule_id=schedule_id,
                name=m.declaration_type.replace("-", " ").capitalize(),
                declaration_type=m.declaration_type,
                start_date=m.start_date,
                milestone_date=m.milestone_date,
                payment_date=m.payment_date,
                created_at=created,
                updated_at=created,
            )
    created = at(2020)
    for p in PROVIDERS:
        rows.add(CpdLeadProvider, id=p.cpd_id, name=p.name, created_at=created, updated_at=created)
        if p.ecf:
            rows.add(
                LeadProvider,
                id=p.lead_provider_id,
                name=p.name,
                cpd_lead_provider_id=p.cpd_id,
                created_at=created,
                updated_at=created,
            )
        if p.npq_id is not None:
            rows.add(
                NpqLeadProvider,
                id=p.npq_id,
                name=p.name,
                cpd_lead_provider_id=p.cpd_id,
                created_at=created,
                updated_at=created,
            )
    for course in NPQ_COURSES:
        rows.add(
            NpqCourse,
            id=course.id,
            name=course.name,
            identifier=course.identifier,
            created_at=created,
            updated_at=created,
        )
