"""Reference data and the sandbox seed.

Deterministic: every id is a uuid5 of a natural key (`app.seed.ids`), names and TRNs come from
fixed lists through per-key seeded generators, and timestamps follow each cohort's calendar, so
every machine seeds identical data. Idempotent: every row is inserted with
`INSERT ... ON CONFLICT DO NOTHING`, so a second run inserts and changes nothing. Only dates that
must sit before or after today for a scenario to mean anything (joining, leaving, transfers,
statement states) are computed from `today`. Both functions only flush: the caller commits.

Modules:

* `schedules` - every schedule and milestone as plain data (2024 ECF derived from 2023);
* `reference` - cohorts, providers (with their tokens' names), NPQ courses;
* `finance` - ECF call-off contracts and NPQ contracts, monthly statements;
* `builder` - row builders for people, schools, programmes and training records;
* `scenarios` - ECF participants for the six token providers;
* `npq` - NPQ applications and participants;
* `declarations` - the extension point adding declarations to the built training records.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import cast

from sqlalchemy import Table, bindparam, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.enums import TokenScope
from app.models import (
    ApiToken,
    Base,
    CallOffContract,
    Cohort,
    CpdLeadProvider,
    DeclarationStateChange,
    DeliveryPartner,
    EcfLatestInductionRecord,
    EcfParticipantEligibility,
    EcfParticipantValidationData,
    EcfTransferParticipant,
    InductionCoordinatorProfile,
    InductionCoordinatorProfileSchool,
    InductionProgramme,
    InductionRecord,
    LeadProvider,
    Milestone,
    NpqApplication,
    NpqContract,
    NpqCourse,
    NpqLeadProvider,
    NpqParticipantUser,
    ParticipantBand,
    ParticipantDeclaration,
    ParticipantIdChange,
    ParticipantIdentity,
    ParticipantOutcome,
    ParticipantProfile,
    ParticipantProfileState,
    Partnership,
    ProviderRelationship,
    Schedule,
    School,
    SchoolCohort,
    SchoolMentor,
    Statement,
    StatementLineItem,
    TeacherProfile,
    User,
)
from app.security import hash_token
from app.seed import ids
from app.seed.builder import Builder
from app.seed.declarations import add_declarations
from app.seed.finance import contract_rows, statement_rows
from app.seed.ids import uid
from app.seed.npq import build_npq
from app.seed.reference import KNOWN_TOKENS, PROVIDERS, reference_rows
from app.seed.rows import Rows, SeedReport
from app.seed.scenarios import build_ecf
from app.seed.times import at
from app.settings import Settings

__all__ = [
    "KNOWN_TOKENS",
    "Sandbox",
    "SeedRefused",
    "SeedReport",
    "build_reference",
    "build_sandbox",
    "seed_reference_data",
    "seed_sandbox",
    "uid",
]

REFERENCE_ORDER: tuple[type[Base], ...] = (
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
)
# Parents before children; school_cohorts.default_induction_programme_id is set afterwards.
SANDBOX_ORDER: tuple[type[Base], ...] = (
    ApiToken,
    Statement,
    DeliveryPartner,
    ProviderRelationship,
    School,
    User,
    InductionCoordinatorProfile,
    InductionCoordinatorProfileSchool,
    SchoolCohort,
    Partnership,
    InductionProgramme,
    ParticipantIdentity,
    TeacherProfile,
    NpqApplication,
    ParticipantProfile,
    SchoolMentor,
    EcfParticipantEligibility,
    EcfParticipantValidationData,
    InductionRecord,
    ParticipantProfileState,
    ParticipantIdChange,
    ParticipantDeclaration,
    DeclarationStateChange,
    ParticipantOutcome,
    StatementLineItem,
)


class SeedRefused(RuntimeError):
    """The sandbox seed never runs in production: it creates tokens anyone could guess."""


def build_reference() -> Rows:
    rows = Rows()
    reference_rows(rows)
    contract_rows(rows)
    return rows


@dataclass
class Sandbox:
    """The sandbox rows as built, before insertion (tests compare them with what was inserted)."""

    rows: Rows
    # school cohort id -> default induction programme id
    defaults: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)


def build_sandbox(*, settings: Settings, today: date) -> Sandbox:
    rows = Rows()
    for p in PROVIDERS:
        created = at(2020, 4, 1)
        rows.add(
            ApiToken,
            id=ids.token_id(p.token),
            # Only the keyed digest is stored, like any other token.
            hashed_token=hash_token(p.token, settings.token_hmac_key),
            scope=TokenScope.LEAD_PROVIDER.value,
            cpd_lead_provider_id=p.cpd_id,
            description=f"sandbox token for {p.name}",
            created_at=created,
            updated_at=created,
        )
    statement_rows(rows, today)
    b = Builder(rows, today)
    build_ecf(b)
    build_npq(b)
    add_declarations(rows, b.enrolments, b.npq_enrolments, today)
    return Sandbox(rows, b.defaults)


# Table names from the ORM models, never from input.
_SEEDED_TABLES = tuple(
    dict.fromkeys(
        [model.__tablename__ for model in (*REFERENCE_ORDER, *SANDBOX_ORDER)]
        + [
            EcfLatestInductionRecord.__tablename__,
            EcfTransferParticipant.__tablename__,
            NpqParticipantUser.__tablename__,
        ]
    )
)


async def seed_reference_data(session: AsyncSession) -> SeedReport:
    """Cohorts, schedules, milestones, providers, NPQ courses and contracts. Safe in production."""
    report = await build_reference().insert(session, REFERENCE_ORDER)
    await session.flush()
    return report


async def seed_sandbox(session: AsyncSession, *, settings: Settings, today: date) -> SeedReport:
    """Reference data, then sandbox scenarios and the known tokens (refused in production)."""
    if settings.is_production:
        raise SeedRefused("the sandbox seed creates known tokens and never runs in production")
    report = await seed_reference_data(session)
    sandbox = build_sandbox(settings=settings, today=today)
    report.merge(await sandbox.rows.insert(session, SANDBOX_ORDER))
    await _set_default_programmes(session, sandbox.defaults)
    await session.flush()
    # Each table was analysed as it was filled (Rows.insert); this pass also covers what changed
    # afterwards (timestamps moved by triggers, default programmes, the latest-records table the
    # triggers fill), so the first requests after the seed are planned for the rows it left. Only
    # the tables the seed fills: the system catalogs need no fresh statistics, and their locks
    # would be held until the seed's transaction ends. A table another session holds a conflicting
    # lock on (a VACUUM, an operator's ANALYZE) is skipped rather than waited for.
    await session.execute(text(f"ANALYZE (SKIP_LOCKED) {', '.join(_SEEDED_TABLES)}"))
    return report


async def _set_default_programmes(session: AsyncSession, defaults: dict[uuid.UUID, uuid.UUID]) -> None:
    """Point each school cohort at its default programme (the two rows reference each other).

    Only unset defaults are written, and updated_at is kept, so a repeated run changes nothing.
    """
    if not defaults:
        return
    table = cast(Table, SchoolCohort.__table__)
    stmt = (
        update(table)
        .where(table.c.id == bindparam("sc_id"), table.c.default_induction_programme_id.is_(None))
        .values(default_induction_programme_id=bindparam("programme_id"), updated_at=table.c.updated_at)
    )
    await session.execute(
        stmt, [{"sc_id": sc, "programme_id": programme} for sc, programme in sorted(defaults.items())]
    )
