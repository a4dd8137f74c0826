"""Factories for NPQ outcome tests: NPQ providers, `completed` NPQ declarations and their outcomes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ParticipantDeclaration, ParticipantOutcome
from tests import factories as f


async def npq_provider(session: AsyncSession) -> f.Provider:
    return await f.provider(session, ecf=False, npq=True)


async def learner(
    session: AsyncSession, lp: f.Provider, course: str = "npq-headship", **values: Any
) -> f.NpqParticipant:
    """An NPQ participant (accepted application and training record) on `course` with `lp`."""
    if course == "npq-early-headship-coaching-offer":
        values.setdefault("schedule_identifier", "npq-ehco-june")
    elif course in ("npq-leading-teaching", "npq-leading-behaviour-culture", "npq-leading-literacy"):
        values.setdefault("schedule_identifier", "npq-specialist-autumn")
    values.setdefault("person_", await f.person(session, trn=None))
    return await f.npq_participant(session, lp, course_identifier=course, **values)


async def completed(
    session: AsyncSession,
    lp: f.Provider,
    participant: f.NpqParticipant,
    *,
    state: str = "eligible",
    course: str = "npq-headship",
    **values: Any,
) -> ParticipantDeclaration:
    """A `completed` NPQ declaration made by `lp` (no outcome yet)."""
    return await f.declaration(
        session,
        participant,  # type: ignore[arg-type]  # an NPQ participant has a person and a profile too
        lp,
        state=state,
        programme="npq",
        course_identifier=course,
        declaration_type="completed",
        **values,
    )


async def outcome(
    session: AsyncSession,
    declaration: ParticipantDeclaration,
    state: str = "passed",
    completion_date: date = date(2023, 6, 1),
    *,
    created_at: datetime | None = None,
    **values: Any,
) -> ParticipantOutcome:
    """An outcome row; creation times strictly increase unless given."""
    stamp = created_at or f.later()
    row = ParticipantOutcome(
        participant_declaration_id=declaration.id,
        state=state,
        completion_date=completion_date,
        created_at=stamp,
        updated_at=values.pop("updated_at", stamp),
        **values,
    )
    session.add(row)
    await session.flush()
    return row
