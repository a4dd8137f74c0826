"""NPQ participant actions: defer, resume, withdraw and change-schedule (every API version).

The request names a participant (user id, or the retired id of a merged participant) and an NPQ
course; the action applies to the caller's training record for that course. Validation follows
the reference's order and messages (common checks, then the action's own); effects happen in
the request's one transaction, with the training record's row locked first so concurrent
actions on it queue and each judges the state the previous one left.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.domain.audit import audit
from app.domain.auth import NpqProvider
from app.domain.ecf_actions import (
    ALREADY_ACTIVE,
    ALREADY_DEFERRED,
    ALREADY_WITHDRAWN,
    COHORT_LOCKED,
    COURSE_MISSING,
    COURSE_NOT_RECOGNISED,
    DEFER_REASONS,
    INVALIDATES_DECLARATIONS,
    PARTICIPANT_NOT_RECOGNISED,
    REASON_INVALID,
    REASON_MISSING,
    SAME_SCHEDULE,
    SCHEDULE_INVALID,
    SCHEDULE_NOT_FOR_COURSE,
    WITHDRAWN_PARTICIPANT,
    Action,
    ActionInput,
    invalidates,
)
from app.domain.enums import NPQ_COURSE_IDENTIFIERS, ApplicationStatus, ProfileType, TrainingStatus
from app.domain.errors import ValidationFailed
from app.domain.npq_courses import NPQ_COURSE_FAMILIES
from app.repositories.ecf_actions import LiveDeclaration, ScheduleChoice
from app.repositories.npq_actions import LockedNpqProfile, NpqActionRepository
from app.repositories.participant_lookup import Identity, Profile

NO_DECLARATIONS_TO_DEFER = "You cannot defer an NPQ participant that has no declarations"
NO_STARTED_DECLARATION = (
    "An NPQ participant who has not got a started declaration cannot be withdrawn. "
    "Please contact support for assistance"
)
NO_CONTRACT_FOR_COHORT = (
    "You cannot change a participant to this cohort as you do not have a contract for the cohort "
    "and course. Contact the DfE for assistance."
)

# The NPQ list differs from ECF's; note the full stop that is part of one accepted value.
NPQ_WITHDRAW_REASONS = (
    "insufficient-capacity-to-undertake-programme",
    "personal-reason-health-or-pregnancy-related",
    "personal-reason-moving-school",
    "personal-reason-other",
    "insufficient-capacity",
    "change-in-developmental-or-personal-priorities",
    "change-in-school-circumstances",
    "change-in-school-leadership",
    "quality-of-programme-structure-not-suitable.",
    "quality-of-programme-content-not-suitable",
    "quality-of-programme-facilitation-not-effective",
    "quality-of-programme-accessibility",
    "quality-of-programme-other",
    "programme-not-appropriate-for-role-and-cpd-needs",
    "started-in-error",
    "expected-commitment-unclear",
    "other",
)
NPQ_DEFER_REASONS = DEFER_REASONS

_NEW_STATUS = {
    Action.DEFER: TrainingStatus.DEFERRED,
    Action.RESUME: TrainingStatus.ACTIVE,
    Action.WITHDRAW: TrainingStatus.WITHDRAWN,
}
# What an integer attribute accepts: optional sign and leading digits ("2023", " 2023x").
_LEADING_INTEGER = re.compile(r"^\s*([+-]?\d+)")


def _blank(value: str | None) -> bool:
    return value is None or value.strip() == ""


def cohort_year(value: str | None) -> int | None:
    """`cohort` as an integer attribute reads it: leading digits, else absent."""
    match = _LEADING_INTEGER.match(value or "")
    return int(match.group(1)) if match else None


def _parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


class NpqParticipantActions:
    def __init__(self, session: AsyncSession, provider: NpqProvider, clock: Clock) -> None:
        self.session = session
        self.repo = NpqActionRepository(session)
        self.provider = provider
        self.clock = clock

    async def run(self, action: Action, participant_id: str, body: Any) -> uuid.UUID:
        """Validate and apply the action; returns the user whose participant the response shows."""
        attrs = ActionInput.from_body(body)
        course = attrs.course_identifier
        identity = await self._identity(participant_id, course)
        profile = await self._profile(identity, course)
        locked = await self.repo.lock_npq_profile(profile.id) if profile is not None else None
        # "Now" once the record is locked (see EcfParticipantActions).
        now = self.clock.now()

        errors = await self._common_errors(attrs, identity, locked)
        schedule: ScheduleChoice | None = None
        if action is Action.CHANGE_SCHEDULE:
            schedule_errors, schedule = await self._check_change_schedule(attrs, locked, errors)
            errors += schedule_errors
        else:
            errors += await self._status_errors(action, attrs, locked)
        if errors:
            raise ValidationFailed(errors)
        assert identity is not None and locked is not None

        if action is Action.CHANGE_SCHEDULE:
            assert schedule is not None
            await self.repo.record_schedule_change(locked.id, schedule, None, now)
            await self.repo.sync_application_cohort(locked.id, schedule.cohort_id, now)
        else:
            status = _NEW_STATUS[action]
            reason = attrs.reason if action is not Action.RESUME else None
            await self.repo.add_state(locked.id, self.provider.cpd_lead_provider_id, status, reason, now)
            await self.repo.set_profile_training_status(locked.id, status, now)
        await audit(
            self.session,
            f"participant.{action.value}",
            "participant_profile",
            locked.id,
            participant_id=identity.user_id,
            course_identifier=course,
            reason=attrs.reason,
            schedule_identifier=schedule.schedule_identifier if schedule is not None else None,
        )
        return identity.user_id

    # --- who and which training record ----------------------------------------------------------

    async def _identity(self, participant_id: str, course: str | None) -> Identity | None:
        user_id = _parse_uuid(participant_id)
        if user_id is None:
            return None
        if course in NPQ_COURSE_IDENTIFIERS:
            found = await self.repo.identity_with_accepted_npq(
                user_id, course, self.provider.npq_lead_provider_id
            )
            if found is not None:
                return found
        # Retired ids of merged participants keep working through their old identity.
        return await self.repo.identity_by_external_id(user_id)

    async def _profile(self, identity: Identity | None, course: str | None) -> Profile | None:
        if identity is None or course not in NPQ_COURSE_IDENTIFIERS:
            return None
        return await self.repo.npq_profile(identity.id, course, self.provider.npq_lead_provider_id)

    async def _common_errors(
        self, attrs: ActionInput, identity: Identity | None, locked: LockedNpqProfile | None
    ) -> list[tuple[str, str]]:
        errors: list[tuple[str, str]] = []
        if identity is None:
            errors.append(("participant_id", PARTICIPANT_NOT_RECOGNISED))
        if not errors and identity is not None:
            # NPQ endpoints act on NPQ training records only: an ECF course is not one of them.
            types = await self.repo.active_profile_types(identity.user_id)
            if ProfileType.NPQ not in types or attrs.course_identifier not in NPQ_COURSE_IDENTIFIERS:
                errors.append(("course_identifier", COURSE_NOT_RECOGNISED))
        if _blank(attrs.course_identifier):
            errors.append(("course_identifier", COURSE_MISSING))
        if not errors and locked is None:
            errors.append(("participant_id", PARTICIPANT_NOT_RECOGNISED))
        return errors

    # --- defer / resume / withdraw --------------------------------------------------------------

    async def _status_errors(
        self, action: Action, attrs: ActionInput, locked: LockedNpqProfile | None
    ) -> list[tuple[str, str]]:
        errors: list[tuple[str, str]] = []
        reasons = {Action.DEFER: NPQ_DEFER_REASONS, Action.WITHDRAW: NPQ_WITHDRAW_REASONS}.get(action)
        # Defer always checks its reason; withdraw only once the training record is known.
        if reasons is not None and (action is Action.DEFER or locked is not None):
            if _blank(attrs.reason):
                errors.append(("reason", REASON_MISSING))
            if attrs.reason not in reasons:
                errors.append(("reason", REASON_INVALID))
        if locked is None:
            return errors

        status = locked.training_status
        if action is Action.DEFER:
            if status == TrainingStatus.DEFERRED:
                errors.append(("participant_profile", ALREADY_DEFERRED))
            if status == TrainingStatus.WITHDRAWN:
                errors.append(("participant_profile", ALREADY_WITHDRAWN))
            if locked.application_status == ApplicationStatus.ACCEPTED and not (
                await self.repo.has_any_declaration(locked.id)
            ):
                errors.append(("participant_profile", NO_DECLARATIONS_TO_DEFER))
        elif action is Action.WITHDRAW:
            if status == TrainingStatus.WITHDRAWN:
                errors.append(("participant_profile", ALREADY_WITHDRAWN))
            if not await self.repo.has_started_declaration(locked.id, attrs.course_identifier or ""):
                errors.append(("participant_profile", NO_STARTED_DECLARATION))
        elif action is Action.RESUME and status == TrainingStatus.ACTIVE:
            # Resuming a withdrawn participant is allowed, as in the reference.
            errors.append(("participant_profile", ALREADY_ACTIVE))
        return errors

    # --- change-schedule ------------------------------------------------------------------------

    async def _target_cohort(self, attrs: ActionInput, locked: LockedNpqProfile) -> int | None:
        """The named cohort (None when no such cohort), else the current schedule's."""
        year = cohort_year(attrs.cohort)
        if year is None:
            return locked.schedule_cohort_year
        return year if await self.repo.cohort_id(year) is not None else None

    async def _check_change_schedule(
        self, attrs: ActionInput, locked: LockedNpqProfile | None, earlier: list[tuple[str, str]]
    ) -> tuple[list[tuple[str, str]], ScheduleChoice | None]:
        """The change's errors after the common ones (`earlier`), and the schedule it targets."""
        errors: list[tuple[str, str]] = []
        if _blank(attrs.schedule_identifier):
            errors.append(("schedule_identifier", SCHEDULE_INVALID))
        if locked is None:
            return errors, None
        course = attrs.course_identifier or ""
        cohort = await self._target_cohort(attrs, locked)
        cohort_id = await self.repo.cohort_id(cohort) if cohort is not None else None
        if (
            not earlier
            and not errors
            and (
                cohort_id is None
                or not await self.repo.npq_contract_exists(
                    self.provider.npq_lead_provider_id, cohort_id, course
                )
            )
        ):
            errors.append(("cohort", NO_CONTRACT_FOR_COHORT))
        if locked.training_status == TrainingStatus.WITHDRAWN:
            errors.append(("participant_id", WITHDRAWN_PARTICIPANT))

        schedule = await self._schedule(attrs, cohort)
        if schedule is not None:
            live = await self.repo.live_declarations(locked.id)
            if await self._invalidates_any(schedule, live):
                errors.append(("schedule_identifier", INVALIDATES_DECLARATIONS))
            if schedule.id == locked.schedule_id:
                errors.append(("schedule_identifier", SAME_SCHEDULE))
            if NPQ_COURSE_FAMILIES.get(course) != schedule.schedule_type:
                errors.append(("schedule_identifier", SCHEDULE_NOT_FOR_COURSE))
            if live and schedule.cohort_year != locked.schedule_cohort_year:
                errors.append(("cohort", COHORT_LOCKED))
        elif not earlier and not errors:
            # The reference accepts an unknown schedule here and then fails to save it; we name
            # the attribute instead, with the schedule message.
            errors.append(("schedule_identifier", SCHEDULE_INVALID))
        return errors, schedule

    async def _schedule(self, attrs: ActionInput, cohort: int | None) -> ScheduleChoice | None:
        if _blank(attrs.schedule_identifier) or cohort is None:
            return None
        return await self.repo.schedule(cohort, (attrs.schedule_identifier or "").strip())

    async def _invalidates_any(self, schedule: ScheduleChoice, live: list[LiveDeclaration]) -> bool:
        """Would any live declaration fall outside its milestone on the new schedule? A type the
        schedule has no milestone for counts as falling outside."""
        if not live:
            return False
        milestones = await self.repo.milestones(schedule.id)
        for declaration in live:
            milestone = milestones.get(declaration.declaration_type)
            if milestone is None:
                return True
            start = datetime.combine(milestone.start_date, time.min, UTC)
            end = (
                datetime.combine(milestone.milestone_date, time.max, UTC)
                if milestone.milestone_date is not None
                else None
            )
            if invalidates(declaration.declaration_date, start, end):
                return True
        return False
