"""Factories for the transfers and unfunded-mentors tests. Each adds rows through the test session
and flushes; creation times are explicit wherever the order of records matters."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.enums import InductionStatus
from app.models import (
    EcfParticipantValidationData,
    InductionRecord,
    ParticipantIdentity,
    ParticipantProfile,
    User,
)
from tests import factories as f

YEAR = 2023


async def set_record(session: AsyncSession, record: InductionRecord, **values: object) -> None:
    """Overwrite columns of an induction record (e.g. `created_at`, `updated_at`)."""
    await session.execute(update(InductionRecord).where(InductionRecord.id == record.id).values(**values))
    for name, value in values.items():
        setattr(record, name, value)


async def set_user_times(
    session: AsyncSession,
    user: User,
    *,
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
) -> None:
    """Call after the user's last row is written: later writes move `updated_at` forward again."""
    values = {k: v for k, v in (("created_at", created_at), ("updated_at", updated_at)) if v is not None}
    await session.execute(update(User).where(User.id == user.id).values(**values))


async def placement(
    session: AsyncSession,
    participant_: f.Participant,
    programme_: f.Programme,
    *,
    created_at: datetime,
    induction_status: str = InductionStatus.ACTIVE,
    school_transfer: bool = False,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
) -> InductionRecord:
    """Another induction record of the participant's training record, created at `created_at`."""
    return await f.induction_record(
        session,
        participant_,
        programme_,
        created_at=created_at,
        induction_status=induction_status,
        school_transfer=school_transfer,
        start_date=start_date or f.at(-1),
        end_date=end_date,
    )


@dataclass
class Mover:
    participant: f.Participant
    leaving: InductionRecord
    joining: InductionRecord | None
    joining_programme: f.Programme | None

    @property
    def id(self) -> str:
        return self.participant.id

    @property
    def training_record_id(self) -> str:
        return str(self.participant.profile.id)

    @property
    def leaving_urn(self) -> str:
        return self.participant.programme.school.urn

    @property
    def joining_urn(self) -> str:
        assert self.joining_programme is not None
        return self.joining_programme.school.urn


async def mover(
    session: AsyncSession,
    leaving_programme: f.Programme,
    joining_programme: f.Programme | None,
    *,
    leave_on: datetime | None = None,
    join_on: datetime | None = None,
    profile_type: str = "ect",
    created_at: datetime | None = None,
    person_: f.Person | None = None,
) -> Mover:
    """A participant whose record at `leaving_programme` is leaving (oldest record) and who, with a
    joining programme, has a school-transfer record there created a second later."""
    created = created_at or f.later()
    p = await f.participant(
        session,
        None,
        YEAR,
        programme_=leaving_programme,
        profile_type=profile_type,
        person_=person_,
        induction_status=InductionStatus.LEAVING,
        start_date=f.at(-200),
        end_date=leave_on if leave_on is not None else f.at(-40),
        created_at=created if person_ is None else None,
    )
    await set_record(session, p.record, created_at=created)
    joining = None
    if joining_programme is not None:
        joining = await placement(
            session,
            p,
            joining_programme,
            created_at=created + timedelta(seconds=1),
            school_transfer=True,
            start_date=join_on if join_on is not None else f.at(-39),
        )
    return Mover(participant=p, leaving=p.record, joining=joining, joining_programme=joining_programme)


async def mentored_ect(
    session: AsyncSession,
    programme_: f.Programme,
    mentor: ParticipantProfile,
    *,
    created_at: datetime | None = None,
) -> f.Participant:
    """An ECT at `programme_` whose (only, so latest) record names `mentor` as mentor."""
    return await f.participant(
        session, None, YEAR, programme_=programme_, mentor=mentor, created_at=created_at or f.later()
    )


async def untrained_mentor(
    session: AsyncSession,
    *,
    trn: str | None = "7654321",
    created_at: datetime | None = None,
    person_: f.Person | None = None,
) -> f.Participant:
    """A mentor training record with one record at a school-led (CIP) programme: no provider trains it."""
    cip = await f.programme(session, None, YEAR)
    p = person_ or await f.person(session, trn=trn, created_at=created_at or f.later())
    return await f.participant(session, None, YEAR, programme_=cip, profile_type="mentor", person_=p)


@dataclass
class BareMentor:
    person: f.Person
    profile: ParticipantProfile

    @property
    def id(self) -> str:
        return str(self.person.user.id)


async def registered_profile(
    session: AsyncSession,
    person_: f.Person,
    *,
    identity: ParticipantIdentity | None = None,
    profile_type: str = "mentor",
) -> ParticipantProfile:
    """A training record with no induction record at all (registered, never placed)."""
    sched = await f.schedule(session, YEAR)
    profile = ParticipantProfile(
        profile_type=profile_type,
        participant_identity_id=(identity or person_.identity).id,
        teacher_profile_id=person_.teacher_profile.id,
        schedule_id=sched.id,
    )
    session.add(profile)
    await session.flush()
    return profile


async def bare_mentor(
    session: AsyncSession, *, trn: str | None = "7654321", created_at: datetime | None = None
) -> BareMentor:
    """A mentor who was registered but never placed anywhere."""
    p = await f.person(session, trn=trn, created_at=created_at or f.later())
    return BareMentor(person=p, profile=await registered_profile(session, p))


async def another_identity(session: AsyncSession, person_: f.Person, email: str) -> ParticipantIdentity:
    """A second email of the person (as after merging a duplicate registration)."""
    row = ParticipantIdentity(user_id=person_.user.id, email=email, external_identifier=uuid.uuid4())
    session.add(row)
    await session.flush()
    return row


async def validation_trn(session: AsyncSession, profile: ParticipantProfile, trn: str) -> None:
    """The TRN the school entered when registering the training record."""
    session.add(EcfParticipantValidationData(participant_profile_id=profile.id, trn=trn))
    await session.flush()
