"""Factories for NPQ participant tests: providers, enrolments, their declarations and states."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ParticipantDeclaration, ParticipantIdChange, ParticipantProfileState
from tests import factories as f


async def npq_provider(session: AsyncSession, name: str | None = None) -> f.Provider:
    """A provider with the NPQ role only."""
    return await f.provider(session, name, ecf=False, npq=True)


@dataclass
class Enrolment:
    """An accepted NPQ application and its training record, with the course it is for."""

    participant: f.NpqParticipant
    course: str
    provider: f.Provider

    @property
    def id(self) -> str:
        """The participant id (user id)."""
        return self.participant.id

    @property
    def person(self) -> f.Person:
        return self.participant.person

    @property
    def profile_id(self) -> str:
        return str(self.participant.profile.id)


async def enrolment(
    session: AsyncSession,
    provider: f.Provider,
    year: int = 2022,
    course: str = "npq-headship",
    schedule: str = "npq-leadership-autumn",
    *,
    person_: f.Person | None = None,
    training_status: str = "active",
    created_at: datetime | None = None,
    **values: Any,
) -> Enrolment:
    p = await f.npq_participant(session, provider, year, course, schedule, person_=person_, **values)
    p.profile.training_status = training_status
    if created_at is not None:
        p.profile.created_at = created_at
    await session.flush()
    return Enrolment(p, course, provider)


async def declaration(
    session: AsyncSession,
    enrolled: Enrolment,
    *,
    declaration_type: str = "started",
    state: str = "submitted",
    declaration_date: datetime | None = None,
    course_identifier: str | None = None,
) -> ParticipantDeclaration:
    row = ParticipantDeclaration(
        programme="npq",
        user_id=enrolled.person.user.id,
        participant_profile_id=enrolled.participant.profile.id,
        cpd_lead_provider_id=enrolled.provider.cpd.id,
        cohort_id=enrolled.participant.application.cohort_id,
        declaration_type=declaration_type,
        declaration_date=declaration_date or f.at(-5),
        course_identifier=course_identifier or enrolled.course,
        state=state,
        created_at=f.later(),
    )
    session.add(row)
    await session.flush()
    return row


async def state(
    session: AsyncSession,
    enrolled: Enrolment,
    provider: f.Provider,
    value: str,
    reason: str | None,
    created_at: datetime | None = None,
) -> ParticipantProfileState:
    row = ParticipantProfileState(
        participant_profile_id=enrolled.participant.profile.id,
        cpd_lead_provider_id=provider.cpd.id,
        state=value,
        reason=reason,
    )
    if created_at is not None:
        row.created_at = created_at
        row.updated_at = created_at
    session.add(row)
    await session.flush()
    return row


async def id_change(
    session: AsyncSession, survivor: f.Person, retired: f.Person, created_at: datetime | None = None
) -> ParticipantIdChange:
    row = ParticipantIdChange(
        user_id=survivor.user.id, from_participant_id=retired.user.id, to_participant_id=survivor.user.id
    )
    if created_at is not None:
        row.created_at = created_at
    session.add(row)
    await session.flush()
    return row
