"""Reference data and the sandbox seed.

Deterministic: every id is a uuid5 of a natural key and every timestamp is derived from the
cohort, so two machines seed identical data. Idempotent: rows are inserted with
`ON CONFLICT DO NOTHING`, so a second run inserts nothing. Only dates that must be relative to
today for a scenario to mean anything (a participant joining or leaving, a transfer in progress,
whether a statement is open, payable or paid) depend on `today`.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.enums import NPQ_COURSE_IDENTIFIERS, StatementState, TokenScope
from app.models import (
    ApiToken,
    CallOffContract,
    Cohort,
    CpdLeadProvider,
    DeclarationStateChange,
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
    ParticipantBand,
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
from app.seed.schedules import all_schedules
from app.settings import Settings

NAMESPACE = uuid.UUID("6f1f7a52-3c0b-4d9e-9a57-8d2a3c1b0e41")
COHORTS = (2021, 2022, 2023, 2024)


def uid(*parts: object) -> uuid.UUID:
    """A stable id for a natural key."""
    return uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts))


@dataclass(frozen=True)
class ProviderSeed:
    name: str
    token: str
    ecf: bool
    npq_id: str | None


PROVIDERS = (
    ProviderSeed("Ambition Institute", "ambition-token", True, "9e35e998-c63b-4136-89c4-e9e18ddde0ea"),
    ProviderSeed(
        "Best Practice Network", "best-practice-token", True, "57ba9e86-559f-4ff4-a6d2-4610c7259b67"
    ),
    ProviderSeed("Capita", "capita-token", True, None),
    ProviderSeed("Church of England", "coe-token", False, "79cb41ca-cb6d-405c-b52c-b6f7c752388d"),
    ProviderSeed("Education Development Trust", "edt-token", True, "21e61f53-9b34-4384-a8f5-d8224dbf946d"),
    ProviderSeed("LLSE", "llse-token", False, "230e67c0-071a-4a48-9673-9d043d456281"),
    ProviderSeed(
        "National Institute of Teaching", "niot-token", False, "3ec607f2-7a3a-421f-9f1a-9aca8a634aeb"
    ),
    ProviderSeed("School-Led Network", "school-led-token", False, "bc5e4e37-1d64-4149-a06b-ad10d3c55fd0"),
    ProviderSeed("Teach First", "teach-first-token", True, "a02ae582-f939-462f-90bc-cebf20fa8473"),
    ProviderSeed("Teacher Development Trust", "tdt-token", False, "30fd937e-b93c-4f81-8fff-3c27544193f1"),
    ProviderSeed("UCL Institute of Education", "ucl-token", True, "ef687b3d-c1c0-4566-a295-16d6fa5d0fa7"),
)
KNOWN_TOKENS: dict[str, str] = {p.token: p.name for p in PROVIDERS}
ECF_PROVIDERS = tuple(p for p in PROVIDERS if p.ecf)

NPQ_COURSES: dict[str, tuple[str, str | None]] = {
    "npq-leading-teaching": ("NPQ Leading Teaching (NPQLT)", "15c52ed8-06b5-426e-81a2-c2664978a0dc"),
    "npq-leading-behaviour-culture": ("NPQ Leading Behaviour and Culture (NPQLBC)", None),
    "npq-leading-teaching-development": ("NPQ Leading Teacher Development (NPQLTD)", None),
    "npq-leading-literacy": ("NPQ Leading Literacy (NPQLL)", None),
    "npq-senior-leadership": ("NPQ for Senior Leadership (NPQSL)", "a42736ad-3d0b-401d-aebe-354ef4c193ec"),
    "npq-headship": ("NPQ for Headship (NPQH)", "0f7d6578-a12c-4498-92a0-2ee0f18e0768"),
    "npq-executive-leadership": ("NPQ for Executive Leadership (NPQEL)", None),
    "npq-early-years-leadership": ("NPQ Early Years Leadership (NPQEYL)", None),
    "npq-leading-primary-mathematics": ("NPQ Leading Primary Mathematics (NPQLPM)", None),
    "npq-additional-support-offer": ("Additional Support Offer for new headteachers", None),
    "npq-early-headship-coaching-offer": (
        "The Early Headship Coaching Offer",
        "0222d1a8-a8e1-42e3-a040-2c585f6c194a",
    ),
}
FIRST_NAMES = (
    "Amara",
    "Ben",
    "Chloe",
    "Dev",
    "Ella",
    "Femi",
    "Grace",
    "Hugo",
    "Isla",
    "Jack",
    "Kiran",
    "Lena",
    "Maya",
    "Noah",
    "Olu",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tom",
    "Uma",
    "Vik",
    "Wren",
    "Yusuf",
    "Zara",
)
SURNAMES = (
    "Adams",
    "Begum",
    "Clarke",
    "Davies",
    "Evans",
    "Fraser",
    "Green",
    "Hughes",
    "Iqbal",
    "Jones",
    "Khan",
    "Lewis",
    "Morgan",
    "Nowak",
    "Owen",
    "Patel",
    "Quayle",
    "Reid",
    "Shah",
    "Taylor",
)


class SeedRefused(RuntimeError):
    """The sandbox seed never runs in production (it creates known tokens)."""


@dataclass
class SeedReport:
    inserted: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        total = sum(self.inserted.values())
        detail = ", ".join(f"{k} {v}" for k, v in sorted(self.inserted.items()) if v)
        return f"{total} rows inserted" + (f" ({detail})" if detail else "")


class _Rows:
    """Rows collected per table, inserted in dependency order with ON CONFLICT DO NOTHING."""

    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = {}

    def add(self, model: type[Any], **values: Any) -> uuid.UUID:
        row_id: uuid.UUID = values["id"]
        self.tables.setdefault(model.__tablename__, []).append(values)
        return row_id

    async def flush(self, session: AsyncSession, report: SeedReport, order: list[type[Any]]) -> None:
        for model in order:
            rows = self.tables.pop(model.__tablename__, [])
            table: Table = model.__table__
            # One statement per distinct key set (executemany needs uniform rows).
            groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for row in rows:
                groups.setdefault(tuple(sorted(row)), []).append(row)
            for group in groups.values():
                stmt = insert(table).on_conflict_do_nothing().returning(table.c.id)
                result = await session.execute(stmt, group)
                report.inserted[model.__tablename__] += len(result.all())


def _ts(year: int, minutes: int = 0) -> datetime:
    return datetime(year, 6, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes)


# ---- reference data ----------------------------------------------------------------------------


def _reference_rows(rows: _Rows) -> None:
    for year in COHORTS:
        rows.add(
            Cohort,
            id=uid("cohort", year),
            start_year=year,
            registration_start_date=date(year, 5, 10),
            academic_year_start_date=date(year, 9, 1),
            npq_registration_start_date=date(year, 4, 3) if year >= 2023 else None,
            created_at=_ts(year - 1),
            updated_at=_ts(year - 1),
        )
    for s in all_schedules(COHORTS):
        schedule_id = uid("schedule", s.cohort, s.identifier)
        rows.add(
            Schedule,
            id=schedule_id,
            cohort_id=uid("cohort", s.cohort),
            schedule_identifier=s.identifier,
            name=s.name,
            schedule_type=s.schedule_type.value,
            created_at=_ts(s.cohort - 1),
            updated_at=_ts(s.cohort - 1),
        )
        for m in s.milestones:
            rows.add(
                Milestone,
                id=uid("milestone", s.cohort, s.identifier, m.declaration_type),
                schedule_id=schedule_id,
                name=m.declaration_type.replace("-", " ").capitalize(),
                declaration_type=m.declaration_type,
                start_date=m.start_date,
                milestone_date=m.milestone_date,
                payment_date=m.payment_date,
                created_at=_ts(s.cohort - 1),
                updated_at=_ts(s.cohort - 1),
            )
    created = _ts(2020)
    for p in PROVIDERS:
        cpd_id = rows.add(
            CpdLeadProvider, id=uid("cpd", p.name), name=p.name, created_at=created, updated_at=created
        )
        if p.ecf:
            rows.add(
                LeadProvider,
                id=uid("lp", p.name),
                name=p.name,
                cpd_lead_provider_id=cpd_id,
                created_at=created,
                updated_at=created,
            )
        if p.npq_id:
            rows.add(
                NpqLeadProvider,
                id=uuid.UUID(p.npq_id),
                name=p.name,
                cpd_lead_provider_id=cpd_id,
                created_at=created,
                updated_at=created,
            )
    for identifier, (name, fixed) in NPQ_COURSES.items():
        rows.add(
            NpqCourse,
            id=uuid.UUID(fixed) if fixed else uid("npq-course", identifier),
            name=name,
            identifier=identifier,
            created_at=created,
            updated_at=created,
        )
    _contract_rows(rows)


def _contract_rows(rows: _Rows) -> None:
    # The worked-example contract: a non-zero service fee makes statements interesting.
    bands = ((None, 2000, Decimal("995")), (2001, 4000, Decimal("979")), (4001, 6000, Decimal("966")))
    for p in ECF_PROVIDERS:
        for year in COHORTS:
            contract_id = rows.add(
                CallOffContract,
                id=uid("call-off", p.name, year),
                lead_provider_id=uid("lp", p.name),
                cohort_id=uid("cohort", year),
                version="0.0.1",
                recruitment_target=6000,
                revised_target=None,
                set_up_fee=Decimal("149651"),
                uplift_target=Decimal("0.33"),
                uplift_amount=Decimal("100"),
                monthly_service_fee=None,
                raw=None,
                created_at=_ts(year),
                updated_at=_ts(year),
            )
            for letter, (low, high, price) in zip("ABC", bands, strict=True):
                rows.add(
                    ParticipantBand,
                    id=uid("band", p.name, year, letter),
                    call_off_contract_id=contract_id,
                    min=low,
                    max=high,
                    per_participant=price,
                    output_payment_percentage=60,
                    service_fee_percentage=40,
                    created_at=_ts(year),
                    updated_at=_ts(year),
                )
    for p in PROVIDERS:
        if not p.npq_id:
            continue
        for year in COHORTS:
            for i, course in enumerate(NPQ_COURSE_IDENTIFIERS):
                ehco = course == "npq-early-headship-coaching-offer"
                rows.add(
                    NpqContract,
                    id=uid("npq-contract", p.name, year, course),
                    npq_lead_provider_id=uuid.UUID(p.npq_id),
                    cohort_id=uid("cohort", year),
                    course_identifier=course,
                    version="0.0.1",
                    recruitment_target=1000 if not ehco else 200,
                    per_participant=Decimal(800 + 100 * (i % 5)),
                    service_fee_percentage=40 if not ehco else 0,
                    output_payment_percentage=60 if not ehco else 100,
                    service_fee_installments=12 if not ehco else 0,
                    number_of_payment_periods=None,
                    monthly_service_fee=Decimal("0"),
                    targeted_delivery_funding_per_participant=Decimal("100.0"),
                    special_course=course == "npq-leading-primary-mathematics",
                    created_at=_ts(year),
                    updated_at=_ts(year),
                )


async def seed_reference_data(session: AsyncSession) -> SeedReport:
    """Cohorts, schedules, milestones, providers, NPQ courses and contracts (every environment)."""
    rows = _Rows()
    _reference_rows(rows)
    report = SeedReport()
    await rows.flush(
        session,
        report,
        [
            Cohort,
            Schedule,
            Milestone,
            CpdLeadProvider,
            LeadProvider,
            NpqLeadProvider,
            NpqCourse,
            CallOffContract,
            ParticipantBand,
            NpqContract,
        ],
    )
    await session.flush()
    return report


# ---- sandbox -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    """A partnered school's programme in a cohort (ids only)."""

    school: uuid.UUID
    programme: uuid.UUID
    school_cohort: uuid.UUID

    @classmethod
    def of(cls, provider: ProviderSeed, year: int, index: int) -> _Place:
        key = f"{provider.name}/{year}/{index}"
        school = uid("school", key)
        return cls(school, uid("programme", key), uid("school-cohort", school, year))


class _Ecf:
    """Builds ECF people, training records and placements for the sandbox."""

    def __init__(self, rows: _Rows, today: date) -> None:
        self.rows = rows
        self.now = datetime(today.year, today.month, today.day, 12, tzinfo=UTC)
        self.people = 0

    def person(
        self, key: str, year: int, minute: int, trn: str | None = "auto"
    ) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
        """A user with their original identity and teacher profile: (user, identity, teacher profile)."""
        self.people += 1
        n = int(uid("n", key).hex[:8], 16)
        name = f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {SURNAMES[(n // 31) % len(SURNAMES)]}"
        user_id = uid("user", key)
        created = _ts(year, minute)
        email = f"{name.lower().replace(' ', '.')}.{user_id.hex[:6]}@example.com"
        self.rows.add(User, id=user_id, full_name=name, email=email, created_at=created, updated_at=created)
        identity = self.rows.add(
            ParticipantIdentity,
            id=uid("identity", key),
            user_id=user_id,
            email=email,
            external_identifier=user_id,
            origin="ecf",
            created_at=created,
            updated_at=created,
        )
        teacher = self.rows.add(
            TeacherProfile,
            id=uid("teacher", key),
            user_id=user_id,
            trn=str(1_000_000 + n % 8_999_999) if trn == "auto" else trn,
            created_at=created,
            updated_at=created,
        )
        return user_id, identity, teacher

    def school(self, key: str, year: int, urn: int, name: str, *, cip: bool = False) -> uuid.UUID:
        return self.rows.add(
            School,
            id=uid("school", key),
            urn=f"{urn:06d}",
            name=name,
            school_type_code=1 if not cip else 10,
            school_status_code=1,
            administrative_district_code="E09000001",
            section_41_approved=False,
            primary_contact_email=f"school-{urn}@example.com",
            created_at=_ts(year - 1),
            updated_at=_ts(year - 1),
        )

    def programme(
        self,
        key: str,
        school_id: uuid.UUID,
        year: int,
        provider: ProviderSeed | None,
        *,
        challenged: bool = False,
    ) -> tuple[uuid.UUID, uuid.UUID]:
        """A school cohort and its programme, partnered with `provider` (CIP when None).

        Returns (programme id, school cohort id).
        """
        created = _ts(year)
        sc = self.rows.add(
            SchoolCohort,
            id=uid("school-cohort", school_id, year),
            school_id=school_id,
            cohort_id=uid("cohort", year),
            induction_programme_choice="full_induction_programme" if provider else "core_induction_programme",
            created_at=created,
            updated_at=created,
        )
        partnership = None
        if provider is not None:
            partnership = self.rows.add(
                Partnership,
                id=uid("partnership", key),
                school_id=school_id,
                lead_provider_id=uid("lp", provider.name),
                cohort_id=uid("cohort", year),
                delivery_partner_id=uid("dp", provider.name),
                challenged_at=_ts(year, 60 * 24 * 30) if challenged else None,
                challenge_reason="mistake" if challenged else None,
                pending=False,
                created_at=created,
                updated_at=created,
            )
        programme = self.rows.add(
            InductionProgramme,
            id=uid("programme", key),
            school_cohort_id=sc,
            partnership_id=partnership,
            training_programme="full_induction_programme" if provider else "core_induction_programme",
            created_at=created,
            updated_at=created,
        )
        return programme, sc

    def profile(
        self,
        key: str,
        *,
        identity: uuid.UUID,
        teacher: uuid.UUID,
        kind: str,
        year: int,
        minute: int,
        school_id: uuid.UUID,
        school_cohort: uuid.UUID,
        schedule: str = "ecf-standard-september",
        mentor: uuid.UUID | None = None,
        eligibility: str | None = "eligible",
        reason: str = "none",
        **values: Any,
    ) -> uuid.UUID:
        created = _ts(year, minute)
        profile_id = self.rows.add(
            ParticipantProfile,
            id=uid("profile", key),
            profile_type=kind,
            participant_identity_id=identity,
            teacher_profile_id=teacher,
            schedule_id=uid("schedule", year, schedule),
            school_cohort_id=school_cohort,
            school_id=school_id,
            cohort_id=uid("cohort", year),
            mentor_profile_id=mentor,
            created_at=created,
            updated_at=created,
            **values,
        )
        if eligibility:
            self.rows.add(
                EcfParticipantEligibility,
                id=uid("eligibility", key),
                participant_profile_id=profile_id,
                status=eligibility,
                reason=reason,
                created_at=created,
                updated_at=created,
            )
        return profile_id

    def record(
        self,
        key: str,
        *,
        profile: uuid.UUID,
        programme: uuid.UUID,
        identity: uuid.UUID,
        year: int,
        minute: int,
        start: datetime,
        schedule: str = "ecf-standard-september",
        **values: Any,
    ) -> uuid.UUID:
        created = _ts(year, minute)
        return self.rows.add(
            InductionRecord,
            id=uid("record", key),
            participant_profile_id=profile,
            induction_programme_id=programme,
            schedule_id=uid("schedule", year, schedule),
            start_date=start,
            preferred_identity_id=identity,
            created_at=created,
            updated_at=created,
            **values,
        )

    def enrol(
        self,
        key: str,
        place: _Place,
        *,
        identity: uuid.UUID,
        teacher: uuid.UUID,
        kind: str,
        year: int,
        minute: int,
        start: datetime,
        mentor: uuid.UUID | None = None,
        **record_values: Any,
    ) -> uuid.UUID:
        """A training record with its first placement at `place` (same key for both)."""
        profile = self.profile(
            key,
            identity=identity,
            teacher=teacher,
            kind=kind,
            year=year,
            minute=minute,
            school_id=place.school,
            school_cohort=place.school_cohort,
            mentor=mentor,
        )
        self.record(
            key,
            profile=profile,
            programme=place.programme,
            identity=identity,
            year=year,
            minute=minute,
            start=start,
            mentor_profile_id=mentor,
            **record_values,
        )
        return profile

    def move(
        self,
        key: str,
        source: _Place,
        target: _Place,
        *,
        identity: uuid.UUID,
        teacher: uuid.UUID,
        minute: int,
        start: datetime,
        leave: datetime,
    ) -> None:
        """An ECT leaving `source` on `leave` and joining `target` the next day (a school transfer)."""
        profile = self.profile(
            key,
            identity=identity,
            teacher=teacher,
            kind="ect",
            year=2023,
            minute=minute,
            school_id=source.school,
            school_cohort=source.school_cohort,
        )
        self.record(
            f"{key}/leaving",
            profile=profile,
            programme=source.programme,
            identity=identity,
            year=2023,
            minute=minute,
            start=start,
            end_date=leave,
            induction_status="leaving",
        )
        self.record(
            f"{key}/joining",
            profile=profile,
            programme=target.programme,
            identity=identity,
            year=2023,
            minute=minute + 10,
            start=leave + timedelta(days=1),
            school_transfer=True,
        )

    def state(
        self,
        key: str,
        profile: uuid.UUID,
        provider: ProviderSeed,
        state: str,
        reason: str | None,
        year: int,
        minute: int,
    ) -> None:
        created = _ts(year, minute)
        self.rows.add(
            ParticipantProfileState,
            id=uid("state", key),
            participant_profile_id=profile,
            cpd_lead_provider_id=uid("cpd", provider.name),
            state=state,
            reason=reason,
            created_at=created,
            updated_at=created,
        )


def _ecf_rows(rows: _Rows, today: date) -> None:
    ecf = _Ecf(rows, today)
    days = timedelta(days=1)
    for k, provider in enumerate(ECF_PROVIDERS):
        rows.add(
            DeliveryPartner,
            id=uid("dp", provider.name),
            name=f"{provider.name} Delivery Partner",
            created_at=_ts(2020),
            updated_at=_ts(2020),
        )
        for year in COHORTS:
            rows.add(
                ProviderRelationship,
                id=uid("relationship", provider.name, year),
                lead_provider_id=uid("lp", provider.name),
                delivery_partner_id=uid("dp", provider.name),
                cohort_id=uid("cohort", year),
                created_at=_ts(year),
                updated_at=_ts(year),
            )
            count = 45 if provider.token == "ambition-token" else 12
            schools = []
            for j in range(2):
                key = f"{provider.name}/{year}/{j}"
                school_id = ecf.school(
                    key,
                    year,
                    100_000 + k * 1000 + (year - 2020) * 10 + j,
                    f"{provider.name.split()[0]} Partner School {year}-{j + 1}",
                )
                schools.append((school_id, *ecf.programme(key, school_id, year, provider)))
            start = datetime(year, 9, 1, tzinfo=UTC)
            mentors: list[uuid.UUID] = []
            mentor_users: dict[uuid.UUID | None, uuid.UUID] = {}
            declared: list[uuid.UUID] = []
            for i in range(count):
                key = f"{provider.name}/{year}/p{i}"
                school_id, programme, school_cohort = schools[i % 2]
                kind = "mentor" if i % 3 == 0 else "ect"
                user, identity, teacher = ecf.person(key, year, i, trn=None if i % 11 == 3 else "auto")
                eligibility = {0: "ineligible", 1: "manual_check", 2: None}.get(i % 7, "eligible")
                reason = (
                    "different_trn" if i % 17 == 4 else ("no_qts" if eligibility == "ineligible" else "none")
                )
                status_kind = i % 13
                profile = ecf.profile(
                    key,
                    identity=identity,
                    teacher=teacher,
                    kind=kind,
                    year=year,
                    minute=i,
                    school_id=school_id,
                    school_cohort=school_cohort,
                    eligibility=eligibility,
                    reason=reason,
                    mentor=mentors[-1] if kind == "ect" and mentors else None,
                    pupil_premium_uplift=i % 5 in (1, 3),
                    sparsity_uplift=i % 5 in (2, 3),
                    induction_completion_date=date(year + 2, 7, 20) if status_kind == 5 else None,
                    mentor_completion_date=date(year + 2, 7, 31) if kind == "mentor" and i % 4 == 0 else None,
                )
                if i % 11 == 3:
                    rows.add(
                        EcfParticipantValidationData,
                        id=uid("validation", key),
                        participant_profile_id=profile,
                        trn=f"{7_000_000 + i}",
                        full_name=None,
                        created_at=_ts(year, i),
                        updated_at=_ts(year, i),
                    )
                training = {7: "deferred", 8: "withdrawn"}.get(i % 10, "active")
                values: dict[str, Any] = {"training_status": training, "induction_status": "active"}
                record_start = start
                if status_kind == 1:  # joining
                    record_start = ecf.now + 30 * days
                elif status_kind == 2:  # leaving
                    values |= {"induction_status": "leaving", "end_date": ecf.now + 30 * days}
                elif status_kind == 3:  # left
                    values |= {"induction_status": "leaving", "end_date": ecf.now - 30 * days}
                elif status_kind == 4:  # withdrawn by the school
                    values["induction_status"] = "withdrawn"
                elif status_kind == 5:
                    values["induction_status"] = "completed"
                ecf.record(
                    key,
                    profile=profile,
                    programme=programme,
                    identity=identity,
                    year=year,
                    minute=i,
                    start=record_start,
                    mentor_profile_id=mentors[-1] if kind == "ect" and mentors else None,
                    **values,
                )
                if training != "active":
                    reason_text = "bereavement" if training == "deferred" else "moved-school"
                    ecf.state(key, profile, provider, training, reason_text, year, i + 1)
                if kind == "mentor":
                    mentors.append(profile)
                    mentor_users[profile] = user
                if i % 2 == 0 and eligibility == "eligible" and status_kind != 1:
                    declared.append(profile)
                    mentor = mentors[-2 if kind == "mentor" else -1] if len(mentors) > 1 else None
                    _declaration(
                        rows,
                        f"{key}/started",
                        provider,
                        year,
                        today,
                        user=user,
                        profile=profile,
                        kind=kind,
                        variant=len(declared),
                        minute=i,
                        mentor_user=mentor_users.get(mentor) if kind == "ect" else None,
                        uplifts=(i % 5 in (1, 3), i % 5 in (2, 3)),
                    )
        _ecf_special_cases(ecf, k, provider)


def _open_statement_month(year: int, today: date) -> date | None:
    """The month of the earliest open output statement of a cohort (deadline today or later)."""
    month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    first, last = date(year, 11, 1), date(year + 3, 10, 1)
    while month.month in (9, 10):  # service-fee-only months
        month = (month + timedelta(days=32)).replace(day=1)
    return month if first <= month <= last else None


def _declaration(
    rows: _Rows,
    key: str,
    provider: ProviderSeed,
    year: int,
    today: date,
    *,
    user: uuid.UUID,
    profile: uuid.UUID,
    kind: str,
    variant: int,
    minute: int,
    mentor_user: uuid.UUID | None,
    uplifts: tuple[bool, bool],
) -> None:
    """A `started` declaration in one of several states, with its history and statement line items.

    Paid ones sit on the cohort's first (paid) statement; eligible ones, and the clawback of an
    awaiting-clawback one, on the earliest open statement when the cohort still has one.
    """
    open_month = _open_statement_month(year, today)
    states = ("paid", "eligible", "submitted", "awaiting_clawback", "voided")
    state = states[variant % len(states)]
    if state in ("eligible", "awaiting_clawback") and open_month is None:
        state = "paid"
    history = {
        "paid": ("eligible", "payable", "paid"),
        "eligible": ("eligible",),
        "submitted": ("submitted",),
        "awaiting_clawback": ("eligible", "payable", "paid", "awaiting_clawback"),
        "voided": ("submitted", "voided"),
    }[state]
    created = datetime(year, 10, 1, 10, tzinfo=UTC) + timedelta(minutes=minute)
    declaration_id = rows.add(
        ParticipantDeclaration,
        id=uid("declaration", key),
        programme="ecf",
        user_id=user,
        participant_profile_id=profile,
        cpd_lead_provider_id=uid("cpd", provider.name),
        cohort_id=uid("cohort", year),
        declaration_type="started",
        declaration_date=created,
        course_identifier="ecf-induction" if kind == "ect" else "ecf-mentor",
        state=state,
        evidence_held=None,
        delivery_partner_id=uid("dp", provider.name),
        mentor_user_id=mentor_user,
        pupil_premium_uplift=uplifts[0],
        sparsity_uplift=uplifts[1],
        voided_at=created + timedelta(days=3) if state == "voided" else None,
        created_at=created,
        updated_at=created + timedelta(days=len(history)),
    )
    for n, step in enumerate(history):
        at = created + timedelta(days=n)
        rows.add(
            DeclarationStateChange,
            id=uid("declaration-state", key, n),
            participant_declaration_id=declaration_id,
            state=step,
            created_at=at,
            updated_at=at,
        )
    first_statement = uid("statement", provider.name, "ecf", year, date(year, 11, 1))
    items: list[tuple[uuid.UUID, str]] = []
    if state == "paid":
        items.append((first_statement, "paid"))
    elif state == "awaiting_clawback" and open_month is not None:
        items += [
            (first_statement, "paid"),
            (uid("statement", provider.name, "ecf", year, open_month), state),
        ]
    elif state == "eligible" and open_month is not None:
        items.append((uid("statement", provider.name, "ecf", year, open_month), "eligible"))
    for statement_id, item_state in items:
        rows.add(
            StatementLineItem,
            id=uid("line-item", key, item_state),
            statement_id=statement_id,
            participant_declaration_id=declaration_id,
            state=item_state,
            created_at=created,
            updated_at=created,
        )


def _ecf_special_cases(ecf: _Ecf, k: int, provider: ProviderSeed) -> None:
    """Scenarios that need a second provider or a second placement."""
    rows = ecf.rows
    days = timedelta(days=1)
    sept_2022, sept_2023 = datetime(2022, 9, 1, tzinfo=UTC), datetime(2023, 9, 1, tzinfo=UTC)
    other = ECF_PROVIDERS[(k + 1) % len(ECF_PROVIDERS)]
    base = f"{provider.name}/special"
    a22 = _Place.of(provider, 2022, 0)
    a23 = _Place.of(provider, 2023, 0)
    b23 = _Place.of(provider, 2023, 1)
    elsewhere = _Place.of(other, 2023, 0)

    # An ECT (2022) who became a mentor (2023) with the same provider: two enrolments, one user.
    key = f"{base}/ect-to-mentor"
    _, identity, teacher = ecf.person(key, 2022, 500)
    ecf.enrol(
        f"{key}/ect",
        a22,
        identity=identity,
        teacher=teacher,
        kind="ect",
        year=2022,
        minute=500,
        start=sept_2022,
        induction_status="completed",
    )
    ecf.enrol(
        f"{key}/mentor",
        b23,
        identity=identity,
        teacher=teacher,
        kind="mentor",
        year=2023,
        minute=501,
        start=sept_2023,
    )

    # Unfunded mentors: this provider's ECTs mentored by a mentor trained with another provider,
    # and by a mentor with no training record at all.
    key = f"{base}/unfunded"
    _, identity, teacher = ecf.person(f"{key}/mentor", 2023, 510)
    other_mentor = ecf.enrol(
        f"{key}/mentor",
        elsewhere,
        identity=identity,
        teacher=teacher,
        kind="mentor",
        year=2023,
        minute=510,
        start=sept_2023,
    )
    _, identity, teacher = ecf.person(f"{key}/untrained", 2023, 511)
    untrained = ecf.profile(
        f"{key}/untrained",
        identity=identity,
        teacher=teacher,
        kind="mentor",
        year=2023,
        minute=511,
        school_id=b23.school,
        school_cohort=b23.school_cohort,
        eligibility=None,
    )
    for j, mentor_profile in enumerate((other_mentor, untrained)):
        _, identity, teacher = ecf.person(f"{key}/ect{j}", 2023, 512 + j)
        ecf.enrol(
            f"{key}/ect{j}",
            b23,
            identity=identity,
            teacher=teacher,
            kind="ect",
            year=2023,
            minute=512 + j,
            start=sept_2023,
            mentor=mentor_profile,
        )

    # Transfers to the next provider, one complete and one still in progress, and one back.
    moves = ((provider, other, True), (provider, other, False), (other, provider, True))
    for j, (source, target, done) in enumerate(moves):
        key = f"{base}/transfer{j}"
        leave = ecf.now - 40 * days if done else ecf.now + 20 * days
        _, identity, teacher = ecf.person(key, 2023, 520 + j)
        ecf.move(
            key,
            _Place.of(source, 2023, 0),
            _Place.of(target, 2023, 1),
            identity=identity,
            teacher=teacher,
            minute=520 + j,
            start=sept_2023,
            leave=leave,
        )
    # A move between two schools of the same provider.
    key = f"{base}/school-move"
    _, identity, teacher = ecf.person(key, 2023, 540)
    ecf.move(
        key,
        a23,
        b23,
        identity=identity,
        teacher=teacher,
        minute=540,
        start=sept_2023,
        leave=ecf.now - 60 * days,
    )

    # A participant whose id changed: the retired user's identity now belongs to the survivor.
    key = f"{base}/merged"
    survivor, _, teacher = ecf.person(f"{key}/survivor", 2023, 550)
    retired = uid("user", f"{key}/retired")
    rows.add(
        User,
        id=retired,
        full_name="Retired Duplicate",
        email=f"retired.{retired.hex[:8]}@example.com",
        created_at=_ts(2023, 549),
        updated_at=_ts(2023, 549),
    )
    old_identity = rows.add(
        ParticipantIdentity,
        id=uid("identity", f"{key}/retired"),
        user_id=survivor,
        email=f"old.{retired.hex[:8]}@example.com",
        external_identifier=retired,
        origin="ecf",
        created_at=_ts(2023, 549),
        updated_at=_ts(2023, 560),
    )
    ecf.enrol(
        key, b23, identity=old_identity, teacher=teacher, kind="ect", year=2023, minute=551, start=sept_2023
    )
    rows.add(
        ParticipantIdChange,
        id=uid("id-change", key),
        user_id=survivor,
        from_participant_id=retired,
        to_participant_id=survivor,
        created_at=_ts(2023, 560),
        updated_at=_ts(2023, 560),
    )

    # Hidden from the API: a challenged partnership and a school-led (CIP) programme.
    for j, (label, challenged, partner) in enumerate((("challenged", True, provider), ("cip", False, None))):
        key = f"{base}/{label}"
        school_id = ecf.school(
            key,
            2023,
            900_000 + PROVIDERS.index(provider) * 10 + j,
            f"{provider.name.split()[0]} {label.upper()} School",
            cip=not partner,
        )
        programme, school_cohort = ecf.programme(key, school_id, 2023, partner, challenged=challenged)
        place = _Place(school_id, programme, school_cohort)
        for i in range(2):
            _, identity, teacher = ecf.person(f"{key}/p{i}", 2023, 570 + 2 * j + i)
            ecf.enrol(
                f"{key}/p{i}",
                place,
                identity=identity,
                teacher=teacher,
                kind="ect",
                year=2023,
                minute=570 + i,
                start=sept_2023,
            )


_NPQ_FAMILY_SCHEDULE = {
    "npq-senior-leadership": "npq-leadership-autumn",
    "npq-headship": "npq-leadership-spring",
    "npq-leading-teaching": "npq-specialist-autumn",
    "npq-leading-literacy": "npq-specialist-spring",
    "npq-early-headship-coaching-offer": "npq-ehco-november",
}


def _npq_rows(rows: _Rows) -> None:
    ecf = _Ecf(rows, date(2024, 1, 1))
    courses = {
        identifier: (uuid.UUID(fixed) if fixed else uid("npq-course", identifier))
        for identifier, (_, fixed) in NPQ_COURSES.items()
    }
    plan = (
        ("pending", "npq-headship"),
        ("pending", "npq-leading-behaviour-culture"),
        ("accepted", "npq-senior-leadership"),
        ("accepted", "npq-leading-teaching"),
        ("accepted", "npq-early-headship-coaching-offer"),
        ("rejected", "npq-leading-literacy"),
    )
    for p in PROVIDERS:
        if not p.npq_id:
            continue
        for year in (2022, 2023, 2024):
            for i, (status, course) in enumerate(plan):
                key = f"npq/{p.name}/{year}/{i}"
                _user, identity, teacher = ecf.person(key, year, 700 + i)
                created = _ts(year, 700 + i)
                funded = i % 2 == 0
                application = rows.add(
                    NpqApplication,
                    id=uid("application", key),
                    participant_identity_id=identity,
                    npq_lead_provider_id=uuid.UUID(p.npq_id),
                    npq_course_id=courses[course],
                    cohort_id=uid("cohort", year),
                    lead_provider_approval_status=status,
                    eligible_for_funding=funded,
                    funding_eligiblity_status_code="funded" if funded else "no_institution",
                    targeted_delivery_funding_eligibility=i == 2,
                    teacher_reference_number=f"{3_000_000 + i}",
                    teacher_reference_number_verified=True,
                    school_urn=f"{200_000 + i:06d}",
                    school_ukprn="10012345",
                    headteacher_status="yes_in_first_two_years"
                    if course == "npq-early-headship-coaching-offer"
                    else "no",
                    funding_choice=None if funded else "school",
                    works_in_school=True,
                    employer_name=None,
                    employment_role=None,
                    employment_type=None,
                    teacher_catchment="england" if i != 1 else "another",
                    teacher_catchment_country="United Kingdom of Great Britain and Northern Ireland"
                    if i != 1
                    else "France",
                    teacher_catchment_iso_country_code="GBR" if i != 1 else "FRA",
                    itt_provider="University of Example" if i == 3 else None,
                    lead_mentor=i == 3,
                    schedule_id=uid("schedule", year, _NPQ_FAMILY_SCHEDULE[course])
                    if status == "accepted"
                    else None,
                    created_at=created,
                    updated_at=created,
                )
                if status != "accepted":
                    continue
                training = {3: "deferred", 4: "withdrawn"}.get(i, "active") if year == 2023 else "active"
                rows.add(
                    ParticipantProfile,
                    id=application,
                    profile_type="npq",
                    participant_identity_id=identity,
                    teacher_profile_id=teacher,
                    schedule_id=uid("schedule", year, _NPQ_FAMILY_SCHEDULE[course]),
                    npq_course_id=courses[course],
                    school_urn=f"{200_000 + i:06d}",
                    school_ukprn="10012345",
                    training_status=training,
                    created_at=created,
                    updated_at=created,
                )
                rows.add(
                    ParticipantProfileState,
                    id=uid("state", key, "active"),
                    participant_profile_id=application,
                    cpd_lead_provider_id=uid("cpd", p.name),
                    state="active",
                    reason=None,
                    created_at=created,
                    updated_at=created,
                )
                if training != "active":
                    reason = "bereavement" if training == "deferred" else "personal-reason-moving-school"
                    later = _ts(year, 800 + i)
                    rows.add(
                        ParticipantProfileState,
                        id=uid("state", key, training),
                        participant_profile_id=application,
                        cpd_lead_provider_id=uid("cpd", p.name),
                        state=training,
                        reason=reason,
                        created_at=later,
                        updated_at=later,
                    )


def _month_name(d: date) -> str:
    return d.strftime("%B %Y")


def _statement_rows(rows: _Rows, today: date) -> None:
    """Monthly statements per provider, programme and cohort; their state follows today's date."""
    for p in PROVIDERS:
        programmes = (["ecf"] if p.ecf else []) + (["npq"] if p.npq_id else [])
        for programme in programmes:
            for year in COHORTS:
                month = date(year, 11, 1)
                for _ in range(36):
                    deadline = month - timedelta(days=1)
                    payment = month.replace(day=25)
                    if payment < today:
                        state = StatementState.PAID
                    elif deadline < today:
                        state = StatementState.PAYABLE
                    else:
                        state = StatementState.OPEN
                    created = datetime(year, 6, 1, tzinfo=UTC)
                    rows.add(
                        Statement,
                        id=uid("statement", p.name, programme, year, month),
                        programme=programme,
                        state=state.value,
                        name=_month_name(month),
                        cpd_lead_provider_id=uid("cpd", p.name),
                        cohort_id=uid("cohort", year),
                        deadline_date=deadline,
                        payment_date=payment,
                        # September and October statements carry the service fee only.
                        output_fee=month.month not in (9, 10),
                        contract_version="0.0.1",
                        marked_as_paid_at=datetime(payment.year, payment.month, payment.day, tzinfo=UTC)
                        if state is StatementState.PAID
                        else None,
                        created_at=created,
                        updated_at=created,
                    )
                    month = (month + timedelta(days=32)).replace(day=1)


async def seed_sandbox(session: AsyncSession, *, settings: Settings, today: date) -> SeedReport:
    """Reference data plus the sandbox scenarios and known tokens (never in production)."""
    if settings.is_production:
        raise SeedRefused("the sandbox seed creates known tokens and never runs in production")
    report = await seed_reference_data(session)
    rows = _Rows()
    for p in PROVIDERS:
        rows.add(
            ApiToken,
            id=uid("token", p.token),
            hashed_token=hash_token(p.token, settings.token_hmac_key),
            scope=TokenScope.LEAD_PROVIDER.value,
            cpd_lead_provider_id=uid("cpd", p.name),
            description="sandbox token",
            created_at=_ts(2020),
            updated_at=_ts(2020),
        )
    _statement_rows(rows, today)
    _ecf_rows(rows, today)
    _npq_rows(rows)
    # Mentors first: ECT profiles point at their mentor's profile.
    profiles = rows.tables.pop(ParticipantProfile.__tablename__, [])
    rows.tables[ParticipantProfile.__tablename__] = [r for r in profiles if r.get("profile_type") == "mentor"]
    await rows.flush(
        session,
        report,
        [
            ApiToken,
            Statement,
            DeliveryPartner,
            ProviderRelationship,
            School,
            SchoolCohort,
            Partnership,
            InductionProgramme,
            User,
            ParticipantIdentity,
            TeacherProfile,
            NpqApplication,
            ParticipantProfile,
        ],
    )
    rows.tables[ParticipantProfile.__tablename__] = [r for r in profiles if r.get("profile_type") != "mentor"]
    await rows.flush(
        session,
        report,
        [
            ParticipantProfile,
            EcfParticipantEligibility,
            EcfParticipantValidationData,
            InductionRecord,
            ParticipantProfileState,
            ParticipantIdChange,
            ParticipantDeclaration,
            DeclarationStateChange,
            StatementLineItem,
        ],
    )
    # Each school cohort's default programme is the one created with it (set once, if unset).
    await session.execute(
        update(SchoolCohort)
        .where(SchoolCohort.default_induction_programme_id.is_(None))
        .where(InductionProgramme.school_cohort_id == SchoolCohort.id)
        .values(default_induction_programme_id=InductionProgramme.id, updated_at=SchoolCohort.updated_at)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    return report
