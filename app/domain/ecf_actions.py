"""ECF participant actions: defer, resume, withdraw and change-schedule (every API version).

The request names a participant (user id, or the retired id of a merged participant) and a
course; the action applies to the caller's latest induction record of that training record.
Validation follows the reference's order and messages; effects happen in the request's one
transaction, with the training record's row locked so concurrent actions queue.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.domain.audit import audit
from app.domain.auth import EcfProvider
from app.domain.declaration_submission import cast_text, request_attributes
from app.domain.enums import (
    COURSES_BY_PROFILE_TYPE,
    ECF_COURSE_IDENTIFIERS,
    PROFILE_TYPE_BY_ECF_COURSE,
    ScheduleType,
    TrainingStatus,
)
from app.domain.errors import ValidationFailed
from app.repositories.ecf_actions import ActionRecord, EcfActionRepository, ScheduleChoice
from app.repositories.participant_lookup import Identity, Profile

PARTICIPANT_NOT_RECOGNISED = (
    "Your update cannot be made as the '#/participant_id' is not recognised. "
    "Check participant details and try again."
)
COURSE_NOT_RECOGNISED = (
    "The entered '#/course_identifier' is not recognised for the given participant. "
    "Check details and try again."
)
COURSE_MISSING = "Enter a '#/course_identifier' value for this participant."
REASON_MISSING = "The property '#/reason' must be present"
REASON_INVALID = "The property '#/reason' must be a valid reason"
ALREADY_DEFERRED = "The participant is already deferred"
ALREADY_WITHDRAWN = "The participant is already withdrawn"
ALREADY_ACTIVE = "The participant is already active"
SCHEDULE_INVALID = "The property '#/schedule_identifier' must be present and correspond to a valid schedule"
WITHDRAWN_PARTICIPANT = "Cannot perform actions on a withdrawn participant"
INVALIDATES_DECLARATIONS = "Changing schedule would invalidate existing declarations. Please void them first."
SAME_SCHEDULE = "Selected schedule is already on the profile"
SCHEDULE_NOT_FOR_COURSE = "Selected schedule is not valid for the course"
COHORT_LOCKED = "The property '#/cohort' cannot be changed"
NO_PARTNERSHIP = (
    "You cannot change a participant to this cohort as you do not have a partnership with the school for the "
    "cohort. Contact the DfE for assistance."
)

WITHDRAW_REASONS = (
    "left-teaching-profession",
    "moved-school",
    "mentor-no-longer-being-mentor",
    "school-left-fip",
    "other",
)
DEFER_REASONS = ("bereavement", "long-term-sickness", "parental-leave", "career-break", "other")


class Action(StrEnum):
    DEFER = "defer"
    RESUME = "resume"
    WITHDRAW = "withdraw"
    CHANGE_SCHEDULE = "change-schedule"


_NEW_STATUS = {
    Action.DEFER: TrainingStatus.DEFERRED,
    Action.RESUME: TrainingStatus.ACTIVE,
    Action.WITHDRAW: TrainingStatus.WITHDRAWN,
}


@dataclass(frozen=True)
class ActionInput:
    course_identifier: str | None = None
    reason: str | None = None
    schedule_identifier: str | None = None
    cohort: str | None = None

    @classmethod
    def from_body(cls, body: Any) -> ActionInput:
        """`{"data": {"attributes": {...}}}`; no `data` is a 400, no `attributes` means all blank."""
        attributes = request_attributes(body)
        return cls(
            course_identifier=cast_text(attributes.get("course_identifier")),
            reason=cast_text(attributes.get("reason")),
            schedule_identifier=cast_text(attributes.get("schedule_identifier")),
            cohort=cast_text(attributes.get("cohort")),
        )


@dataclass(frozen=True)
class ActionResult:
    """What the response shows: the re-versioned induction record and its participant."""

    induction_record_id: uuid.UUID
    user_id: uuid.UUID
    profile_id: uuid.UUID


def _blank(value: str | None) -> bool:
    return value is None or value.strip() == ""


def ruby_to_i(value: str) -> int:
    """Ruby's String#to_i: leading digits (after optional sign and spaces), else 0."""
    text = value.strip().replace("_", "")
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    digits = ""
    for char in text:
        if not char.isdigit():
            break
        digits += char
    return sign * int(digits) if digits else 0


def invalidates(declared_at: datetime, start: datetime, milestone_end: datetime | None) -> bool:
    """A declaration falls outside a milestone window of the new schedule."""
    return declared_at <= start or (milestone_end is not None and milestone_end < declared_at)


class EcfParticipantActions:
    def __init__(self, session: AsyncSession, provider: EcfProvider, clock: Clock) -> None:
        self.session = session
        self.repo = EcfActionRepository(session)
        self.provider = provider
        self.clock = clock

    async def run(self, action: Action, participant_id: str, body: Any) -> ActionResult:
        attrs = ActionInput.from_body(body)
        result = await self._run(action, participant_id, attrs)
        await audit(
            self.session,
            f"participant.{action.value}",
            "participant_profile",
            result.profile_id,
            participant_id=result.user_id,
            course_identifier=attrs.course_identifier,
            reason=attrs.reason,
            schedule_identifier=attrs.schedule_identifier,
        )
        return result

    async def _run(self, action: Action, participant_id: str, attrs: ActionInput) -> ActionResult:
        identity = await self._identity(participant_id, attrs.course_identifier)
        profile_type = PROFILE_TYPE_BY_ECF_COURSE.get(attrs.course_identifier or "")
        profile = (
            await self.repo.active_ecf_profile(identity.id, profile_type)
            if identity is not None and profile_type is not None
            else None
        )
        if profile is not None:
            await self.repo.lock_profile(profile.id)
        # "Now" once the record is locked: a declaration that held the record before this action
        # got it is then always dated before the state this action records.
        now = self.clock.now()
        record = (
            await self.repo.relevant_record(profile.id, self.provider.lead_provider_id) if profile else None
        )

        errors = await self._common_errors(action, attrs, identity, profile, record)
        if action is Action.CHANGE_SCHEDULE:
            if errors or profile is None or record is None:
                raise ValidationFailed(errors or [("participant_id", PARTICIPANT_NOT_RECOGNISED)])
            return await self._change_schedule(attrs, profile, record, now)
        if errors:
            raise ValidationFailed(errors)
        assert profile is not None and record is not None
        status = _NEW_STATUS[action]
        await self.repo.add_state(profile.id, self.provider.cpd_lead_provider_id, status, attrs.reason, now)
        new_record = await self._reversion(record, {"training_status": status.value}, now)
        await self.repo.set_profile_training_status(profile.id, status, now)
        return ActionResult(new_record, profile.user_id, profile.id)

    async def _identity(self, participant_id: str, course: str | None) -> Identity | None:
        try:
            ident = uuid.UUID(participant_id)
        except ValueError:
            return None
        profile_type = PROFILE_TYPE_BY_ECF_COURSE.get(course or "")
        if profile_type is not None:
            found = await self.repo.identity_with_profile(ident, profile_type)
            if found is not None:
                return found
        return await self.repo.identity_by_external_id(ident)

    async def _common_errors(
        self,
        action: Action,
        attrs: ActionInput,
        identity: Identity | None,
        profile: Profile | None,
        record: ActionRecord | None,
    ) -> list[tuple[str, str]]:
        errors: list[tuple[str, str]] = []
        if identity is None:
            errors.append(("participant_id", PARTICIPANT_NOT_RECOGNISED))
        if not errors and identity is not None:
            types = await self.repo.active_profile_types(identity.user_id)
            courses = {c for t in types for c in COURSES_BY_PROFILE_TYPE.get(t, ())}
            if (
                attrs.course_identifier not in courses
                or attrs.course_identifier not in ECF_COURSE_IDENTIFIERS
            ):
                errors.append(("course_identifier", COURSE_NOT_RECOGNISED))
        if _blank(attrs.course_identifier):
            errors.append(("course_identifier", COURSE_MISSING))
        if not errors and (identity is None or profile is None or record is None):
            errors.append(("participant_id", PARTICIPANT_NOT_RECOGNISED))

        reasons = {Action.DEFER: DEFER_REASONS, Action.WITHDRAW: WITHDRAW_REASONS}.get(action)
        if reasons is not None and (action is Action.DEFER or profile is not None):
            if _blank(attrs.reason):
                errors.append(("reason", REASON_MISSING))
            if attrs.reason not in reasons:
                errors.append(("reason", REASON_INVALID))

        if record is not None:
            status = record.training_status
            if action is Action.DEFER and status == TrainingStatus.DEFERRED:
                errors.append(("participant_profile", ALREADY_DEFERRED))
            if action in (Action.DEFER, Action.WITHDRAW) and status == TrainingStatus.WITHDRAWN:
                errors.append(("participant_profile", ALREADY_WITHDRAWN))
            if action is Action.RESUME and status == TrainingStatus.ACTIVE:
                errors.append(("participant_profile", ALREADY_ACTIVE))
        return errors

    async def _reversion(self, record: ActionRecord, values: dict[str, Any], now: datetime) -> uuid.UUID:
        """Apply a change to an induction record, keeping history: a record that has started is
        closed as `changed` and continued by a copy from now; a future one is edited in place."""
        if record.start_date > now:
            await self.repo.update_record(record.id, values, now)
            return record.id
        ends_later = record.end_date is not None and record.end_date > now
        copy = {**values, "school_transfer": record.school_transfer if ends_later else False}
        new_id = await self.repo.copy_record(record.id, copy, now, now)
        closing: dict[str, Any] = {"induction_status": "changed", "end_date": now}
        if ends_later:
            closing["school_transfer"] = False
        await self.repo.update_record(record.id, closing, now)
        return new_id

    # --- change-schedule -----------------------------------------------------------------------

    async def _target_cohort(self, attrs: ActionInput, profile: Profile, record: ActionRecord) -> int | None:
        if attrs.cohort is not None:
            year = ruby_to_i(attrs.cohort)
            return year if await self.repo.cohort_id(year) is not None else None
        return record.school_cohort_year

    async def _change_schedule(
        self, attrs: ActionInput, profile: Profile, record: ActionRecord, now: datetime
    ) -> ActionResult:
        errors: list[tuple[str, str]] = []
        cohort = await self._target_cohort(attrs, profile, record)
        schedule: ScheduleChoice | None = None
        if not _blank(attrs.schedule_identifier) and cohort is not None:
            schedule = await self.repo.schedule(cohort, (attrs.schedule_identifier or "").strip())
        if schedule is None:
            # Blank, or no such schedule in the target cohort (the reference fails later on that).
            errors.append(("schedule_identifier", SCHEDULE_INVALID))
        if record.training_status == TrainingStatus.WITHDRAWN:
            errors.append(("participant_id", WITHDRAWN_PARTICIPANT))
        live = await self.repo.live_declarations(profile.id)
        if schedule is not None:
            milestones = await self.repo.milestones(schedule.id)
            for declaration in live:
                milestone = milestones.get(declaration.declaration_type)
                if milestone is None:
                    errors.append(("schedule_identifier", INVALIDATES_DECLARATIONS))
                    break
                start = datetime.combine(milestone.start_date, time.min, UTC)
                end = (
                    datetime.combine(milestone.milestone_date, time.max, UTC)
                    if milestone.milestone_date is not None
                    else None
                )
                if invalidates(declaration.declaration_date, start, end):
                    errors.append(("schedule_identifier", INVALIDATES_DECLARATIONS))
                    break
            if schedule.id == profile.schedule_id and schedule.id == record.schedule_id:
                errors.append(("schedule_identifier", SAME_SCHEDULE))
            if schedule.schedule_type not in self._schedule_types_for(profile.profile_type):
                errors.append(("schedule_identifier", SCHEDULE_NOT_FOR_COURSE))
        if cohort is not None and live and record.schedule_cohort_year != cohort:
            errors.append(("cohort", COHORT_LOCKED))
        partnership = None
        school_cohort = None
        if cohort is not None:
            same_cohort = record.schedule_cohort_year == cohort
            partnership = await self.repo.active_partnership(
                record.school_id, self.provider.lead_provider_id, cohort, allow_relationship=same_cohort
            )
            school_cohort = await self.repo.school_cohort(record.school_id, cohort)
            programme_needed = partnership is not None and not partnership.relationship
            if (
                partnership is None
                or school_cohort is None
                or (programme_needed and school_cohort.default_induction_programme_id is None)
            ):
                errors.append(("cohort", NO_PARTNERSHIP))
        else:
            errors.append(("cohort", NO_PARTNERSHIP))
        if errors:
            raise ValidationFailed(errors)
        assert schedule is not None and partnership is not None and school_cohort is not None

        await self.repo.record_schedule_change(profile.id, schedule, school_cohort.id, now)
        programme = (
            record.induction_programme_id
            if partnership.relationship
            else school_cohort.default_induction_programme_id
        )
        new_record = await self._reversion(
            record, {"schedule_id": schedule.id, "induction_programme_id": programme}, now
        )
        return ActionResult(new_record, profile.user_id, profile.id)

    @staticmethod
    def _schedule_types_for(profile_type: str) -> tuple[str, ...]:
        if profile_type == "mentor":
            return (ScheduleType.ECF, ScheduleType.MENTOR)
        return (ScheduleType.ECF,)
