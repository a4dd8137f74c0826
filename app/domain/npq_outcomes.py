"""NPQ outcomes: whether a participant passed or failed their course (every API version).

An outcome belongs to a `completed` NPQ declaration and its history is append-only: submitting
that declaration records the first outcome, providers may then post corrections, and voiding the
declaration appends a `voided` one. Providers read the full history of their own declarations.

Posting an outcome validates in the reference's order with its messages, then either returns the
declaration's latest outcome unchanged (same state and date: the request is idempotent) or appends
a new one. The target declaration's row is locked first, so identical concurrent posts store one.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.domain.audit import audit
from app.domain.auth import NpqProvider
from app.domain.declaration_submission import cast_text, request_attributes
from app.domain.enums import (
    COURSES_BY_PROFILE_TYPE,
    NPQ_COURSE_IDENTIFIERS,
    PROFILE_TYPE_BY_ECF_COURSE,
    OutcomeState,
)
from app.domain.errors import InvalidAction, ValidationFailed
from app.domain.npq_courses import SUPPORT_OFFER_COURSES
from app.domain.paging import Page
from app.repositories.declaration_writes import DeclarationWriteRepository
from app.repositories.npq_outcomes import NpqOutcomeRepository, OutcomeRow
from app.repositories.participant_lookup import Identity, Profile

COMPLETION_DATE_MISSING = (
    "The '#/completion_date' is missing from your request. "
    "Please include a completion_date value and try again."
)
COMPLETION_DATE_FORMAT = "The '#/completion_date' value must be in the following format: 'yyyy-mm-dd'"
COURSE_NOT_RECOGNISED = (
    "The entered '#/course_identifier' is not recognised for the given participant. "
    "Check details and try again."
)
COURSE_MISSING = "Enter a '#/course_identifier' value for this participant."
STATE_MISSING = (
    "The '#/state' is missing from your request. Please include a 'passed' or 'failed' value and try again."
)
STATE_INVALID = (
    "The attribute '#/state' can only include 'passed' or 'failed' values. If you need to void an outcome, "
    "you will need to void the associated 'completed' declaration."
)
NO_COMPLETED_DECLARATION = (
    "The participant has not had a 'completed' declaration submitted for them. "
    "Therefore you cannot update their outcome."
)
# "Invalid action" details: the reference's model refusing to save the outcome.
FUTURE_COMPLETION_DATE = (
    "Validation failed: Completion date The attribute '#/completion_date' cannot contain a future date. "
    "Resubmit the outcome update with a valid date."
)
NO_DECLARATION = "Validation failed: Participant declaration must exist"

POSTABLE_STATES = (OutcomeState.PASSED, OutcomeState.FAILED)
ATTRIBUTES = ("course_identifier", "state", "completion_date")


# What a lenient date cast reads: an ISO date (anything after a `T` or space is ignored),
# year/month/day with slashes, or day/month/year with slashes, dashes or dots.
_YMD = re.compile(r"^\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T\s].*)?\s*$", re.IGNORECASE)
_DMY = re.compile(r"^\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})\s*$")


def cast_date(raw: str | None) -> date | None:
    """The date a lenient cast reads from the value; None when blank or not a real date."""
    if raw is None or not raw.strip():
        return None
    try:
        match = _YMD.match(raw)
        if match:
            year, month, day = (int(part) for part in match.groups())
            return date(year, month, day)
        match = _DMY.match(raw)
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
    except ValueError:
        return None
    return None


def _blank(value: str | None) -> bool:
    return value is None or value.strip() == ""


@dataclass(frozen=True)
class OutcomeInput:
    course_identifier: str | None = None
    state: str | None = None
    completion_date: str | None = None

    @classmethod
    def from_body(cls, body: Any) -> OutcomeInput:
        """`{"data": {"attributes": {...}}}`; no `data` is a 400, no `attributes` means all blank."""
        attributes = request_attributes(body)
        return cls(**{name: cast_text(attributes.get(name)) for name in ATTRIBUTES})


def _user_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


class NpqOutcomeService:
    def __init__(self, session: AsyncSession, provider: NpqProvider) -> None:
        self.session = session
        self.repo = NpqOutcomeRepository(session)
        self.lookup = DeclarationWriteRepository(session)
        self.provider = provider

    async def listing(self, created_since: datetime | None, page: Page) -> list[OutcomeRow]:
        return await self.repo.listing(self.provider.cpd_lead_provider_id, created_since, page)

    async def for_participant(self, participant_id: str) -> list[OutcomeRow]:
        """An unknown participant, or one without outcomes from this provider, has an empty list."""
        user_id = _user_id(participant_id)
        if user_id is None:
            return []
        return await self.repo.for_participant(self.provider.cpd_lead_provider_id, user_id)

    async def record(self, participant_id: str, body: Any, clock: Clock) -> OutcomeRow:
        """`POST .../{participant_id}/outcomes`: the stored (or unchanged) outcome."""
        attrs = OutcomeInput.from_body(body)
        outcome_id = await self._record(participant_id, attrs, clock)
        row = await self.repo.find(outcome_id)
        assert row is not None, "the outcome was just read or written"
        return row

    async def _record(self, participant_id: str, attrs: OutcomeInput, clock: Clock) -> uuid.UUID:
        completion_date = cast_date(attrs.completion_date)
        course = attrs.course_identifier
        identity = await self._identity(participant_id, course)
        errors: list[tuple[str, str]] = []
        if completion_date is None:
            # The format check reads the cast value, so it fails exactly when the cast did.
            errors += [
                ("completion_date", COMPLETION_DATE_MISSING),
                ("completion_date", COMPLETION_DATE_FORMAT),
            ]
        if not errors and not await self._covers_course(identity, course):
            errors.append(("course_identifier", COURSE_NOT_RECOGNISED))
        if _blank(course):
            errors.append(("course_identifier", COURSE_MISSING))
        if course in SUPPORT_OFFER_COURSES:
            errors.append(("course_identifier", COURSE_NOT_RECOGNISED))
        if _blank(attrs.state):
            errors.append(("state", STATE_MISSING))
        if attrs.state not in POSTABLE_STATES:
            errors.append(("state", STATE_INVALID))

        profile = await self._profile(identity, course)
        declaration_id = None
        if profile is not None:
            declaration_id = await self.repo.completed_declaration_for_update(
                profile.id, self.provider.cpd_lead_provider_id, course or ""
            )
            if declaration_id is None:
                errors.append(("base", NO_COMPLETED_DECLARATION))
        if errors:
            raise ValidationFailed(errors)
        assert completion_date is not None and attrs.state is not None
        if declaration_id is None:
            # A participant of another provider or course: the reference fails when saving an
            # outcome that has no declaration.
            raise InvalidAction(NO_DECLARATION)

        latest = await self.repo.latest(declaration_id)
        if latest is not None and (latest.state, latest.completion_date) == (attrs.state, completion_date):
            return latest.id
        if completion_date > clock.today():
            raise InvalidAction(FUTURE_COMPLETION_DATE)
        outcome_id = await self.repo.add(declaration_id, attrs.state, completion_date)
        await audit(
            self.session,
            "participant_outcome.created",
            "participant_outcome",
            outcome_id,
            participant_id=participant_id,
            participant_declaration_id=declaration_id,
            state=attrs.state,
            completion_date=completion_date,
        )
        return outcome_id

    async def _identity(self, participant_id: str, course: str | None) -> Identity | None:
        """The user's identity with a training record for the course (an NPQ one accepted by this
        provider); else the identity whose retired id this is."""
        user_id = _user_id(participant_id)
        if user_id is None:
            return None
        found: Identity | None = None
        if course in PROFILE_TYPE_BY_ECF_COURSE:
            found = await self.lookup.identity_with_profile(user_id, PROFILE_TYPE_BY_ECF_COURSE[course])
        elif course in NPQ_COURSE_IDENTIFIERS:
            found = await self.lookup.identity_with_accepted_npq(
                user_id, course, self.provider.npq_lead_provider_id
            )
        return found or await self.lookup.identity_by_external_id(user_id)

    async def _covers_course(self, identity: Identity | None, course: str | None) -> bool:
        """The participant has an active training record of a kind that offers the course."""
        if identity is None:
            return False
        kinds = await self.lookup.active_profile_types(identity.user_id)
        return any(course in COURSES_BY_PROFILE_TYPE.get(kind, ()) for kind in kinds)

    async def _profile(self, identity: Identity | None, course: str | None) -> Profile | None:
        if identity is None or course is None:
            return None
        if course in PROFILE_TYPE_BY_ECF_COURSE:
            return await self.lookup.active_ecf_profile(identity.id, PROFILE_TYPE_BY_ECF_COURSE[course])
        if course in NPQ_COURSE_IDENTIFIERS:
            return await self.lookup.npq_profile(identity.id, course, self.provider.npq_lead_provider_id)
        return None
