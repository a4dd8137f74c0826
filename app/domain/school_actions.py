"""What a school does for its early career teachers and mentors: choose an induction programme for a
cohort, register participants, assign mentors, report leavers and joiners (transfers), withdraw
participants and challenge a partnership.

Two kinds of caller act as a school:
- an induction tutor's internal token, for the one school it was issued for;
- in the sandbox only, a lead provider acting as the induction tutor of a school it is partnered with
  (so providers can rehearse transfers, registrations and challenges without asking anyone).

Every action records an audit event; the updated_at triggers carry each change to the participant,
so providers' `updated_since` syncs see it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.domain.audit import audit
from app.domain.declaration_submission import request_attributes
from app.domain.enums import (
    ChallengeReason,
    EligibilityReason,
    EligibilityStatus,
    InductionProgrammeChoice,
    InductionStatus,
    ProfileStatus,
    ProfileType,
    TrainingProgramme,
    TrainingStatus,
)
from app.domain.errors import Forbidden, NotFound, ValidationFailed, record_id
from app.repositories.school_actions import (
    EmailTaken,
    ProfileRow,
    RecordRow,
    SchoolActionRepository,
    SchoolCohortRow,
    SchoolRow,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRN = re.compile(r"^\d{7}$")
MAX_TEXT = 255

# Choices that create an induction programme (the others only record the decision).
_PROGRAMME_OF_CHOICE = {
    InductionProgrammeChoice.FULL_INDUCTION_PROGRAMME: TrainingProgramme.FULL_INDUCTION_PROGRAMME,
    InductionProgrammeChoice.CORE_INDUCTION_PROGRAMME: TrainingProgramme.CORE_INDUCTION_PROGRAMME,
    InductionProgrammeChoice.SCHOOL_FUNDED_FIP: TrainingProgramme.SCHOOL_FUNDED_FIP,
    InductionProgrammeChoice.DESIGN_OUR_OWN: TrainingProgramme.DESIGN_OUR_OWN,
}
_FUNDED_PROGRAMMES = (TrainingProgramme.FULL_INDUCTION_PROGRAMME, TrainingProgramme.SCHOOL_FUNDED_FIP)

NO_PROGRAMME = "The school has not chosen an induction programme for this cohort"
NO_TRAINING = "The school's choice for this cohort trains no early career teachers"
EMAIL_TAKEN = "This email address is already registered"
NOT_AT_SCHOOL = "The participant is not at this school"
ALREADY_AT_SCHOOL = "The participant is already at this school"
NOT_A_MENTOR = "The mentor is not in the school's mentor pool"
NOT_AN_ECT = "Only an early career teacher has a mentor"
ALREADY_WITHDRAWN = "The participant is already withdrawn from this school"
ALREADY_CHALLENGED = "The partnership has already been challenged"
NO_PROVIDER_TO_KEEP = "The participant has no lead provider to continue with"


@dataclass(frozen=True)
class ActingAs:
    """Who may act for which school: one school (a school token) or the schools partnered with a
    lead provider (the sandbox scenario API)."""

    school_id: uuid.UUID | None = None
    lead_provider_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ProgrammeChoice:
    school_id: uuid.UUID
    cohort: int
    induction_programme_choice: str
    induction_programme_id: uuid.UUID | None
    partnership_id: uuid.UUID | None


@dataclass(frozen=True)
class SchoolParticipant:
    """A participant as the school sees it after an action."""

    participant_id: uuid.UUID
    training_record_id: uuid.UUID
    participant_type: str
    school_id: uuid.UUID
    induction_record_id: uuid.UUID
    induction_status: str
    start_date: datetime
    end_date: datetime | None
    mentor_training_record_id: uuid.UUID | None


@dataclass(frozen=True)
class ChallengedPartnership:
    partnership_id: uuid.UUID
    challenge_reason: str
    challenged_at: datetime


# --- reading request bodies ---------------------------------------------------------------------------


def _text(
    attributes: dict[str, Any], name: str, errors: list[tuple[str, str]], *, required: bool
) -> str | None:
    value = attributes.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.append((name, f"Enter '{name}'"))
        return None
    if not isinstance(value, str):
        errors.append((name, f"'{name}' must be text"))
        return None
    if len(value) > MAX_TEXT:
        errors.append((name, f"'{name}' must be at most {MAX_TEXT} characters"))
        return None
    return value.strip()


def _date(
    attributes: dict[str, Any], name: str, errors: list[tuple[str, str]], *, required: bool
) -> date | None:
    raw = _text(attributes, name, errors, required=required)
    if raw is None:
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        errors.append((name, f"'{name}' must be a date (YYYY-MM-DD)"))
        return None
    if not 1900 <= value.year <= 2100:
        errors.append((name, f"'{name}' is out of range"))
        return None
    return value


def _year(attributes: dict[str, Any], name: str, errors: list[tuple[str, str]]) -> int | None:
    value = attributes.get(name)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) == 4:
        return int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 9999:
        return value
    errors.append((name, f"Enter '{name}' as a cohort start year, e.g. 2024"))
    return None


def _uuid(
    attributes: dict[str, Any], name: str, errors: list[tuple[str, str]], *, required: bool
) -> uuid.UUID | None:
    raw = _text(attributes, name, errors, required=required)
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        errors.append((name, f"'{name}' must be an id"))
        return None


def _bool(attributes: dict[str, Any], name: str, errors: list[tuple[str, str]], default: bool) -> bool:
    value = attributes.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    errors.append((name, f"'{name}' must be true or false"))
    return default


def _choice(
    attributes: dict[str, Any], name: str, allowed: tuple[str, ...], errors: list[tuple[str, str]]
) -> str | None:
    value = _text(attributes, name, errors, required=True)
    if value is None:
        return None
    if value not in allowed:
        errors.append((name, f"'{name}' must be one of: {', '.join(allowed)}"))
        return None
    return value


def _at(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def ecf_schedule_for(start: date) -> str:
    """The standard schedule a participant starting on `start` follows."""
    if start.month >= 9:
        return "ecf-standard-september"
    if start.month <= 3:
        return "ecf-standard-january"
    return "ecf-standard-april"


# --- the service --------------------------------------------------------------------------------------


class SchoolActions:
    def __init__(self, session: AsyncSession, clock: Clock, acting: ActingAs) -> None:
        self.session = session
        self.repo = SchoolActionRepository(session)
        self.clock = clock
        self.acting = acting

    # --- who may act where ------------------------------------------------------------------------

    async def _school(self, school_id: str) -> SchoolRow:
        ident = record_id(school_id)
        if self.acting.school_id is not None and ident != self.acting.school_id:
            raise Forbidden()
        school = await self.repo.school(ident)
        if school is None:
            raise NotFound()
        return school

    async def _partnered(self, school_id: uuid.UUID, cohort_id: uuid.UUID) -> None:
        """A provider acting as a school must be the school's confirmed partner in the cohort."""
        if self.acting.lead_provider_id is None:
            return
        partnership = await self.repo.confirmed_partnership(school_id, cohort_id)
        if partnership is None or partnership.lead_provider_id != self.acting.lead_provider_id:
            raise NotFound()

    async def _cohort(self, year: int | None, errors: list[tuple[str, str]]) -> uuid.UUID | None:
        if year is None:
            return None
        cohort = await self.repo.cohort(year)
        if cohort is None:
            errors.append(("cohort", f"There is no cohort starting in {year}"))
            return None
        return cohort.id

    # --- induction programme ----------------------------------------------------------------------

    async def choose_programme(self, school_id: str, body: Any) -> ProgrammeChoice:
        """Set the school's induction programme for a cohort. Full induction trains under the
        school's confirmed partnership for the cohort (or waits for one)."""
        school = await self._school(school_id)
        attributes = request_attributes(body)
        errors: list[tuple[str, str]] = []
        year = _year(attributes, "cohort", errors)
        choice = _choice(
            attributes,
            "induction_programme_choice",
            tuple(
                c.value for c in InductionProgrammeChoice if c is not InductionProgrammeChoice.NOT_YET_KNOWN
            ),
            errors,
        )
        cohort_id = await self._cohort(year, errors)
        if errors:
            raise ValidationFailed(errors)
        assert cohort_id is not None and choice is not None and year is not None
        now = self.clock.now()
        await self.repo.lock_school_cohort(school.id, cohort_id)
        school_cohort = await self.repo.school_cohort(school.id, cohort_id)
        if school_cohort is None:
            school_cohort = await self.repo.create_school_cohort(school.id, cohort_id, choice, now)
        programme_id, partnership_id = await self._programme_for(
            school.id, cohort_id, school_cohort, choice, now
        )
        await self.repo.set_choice(school_cohort.id, choice, programme_id, now)
        await audit(
            self.session,
            "school.induction_programme_chosen",
            "school_cohort",
            school_cohort.id,
            school_id=school.id,
            cohort=year,
            induction_programme_choice=choice,
        )
        return ProgrammeChoice(school.id, year, choice, programme_id, partnership_id)

    async def _programme_for(
        self,
        school_id: uuid.UUID,
        cohort_id: uuid.UUID,
        school_cohort: SchoolCohortRow,
        choice: str,
        now: datetime,
    ) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        training = _PROGRAMME_OF_CHOICE.get(InductionProgrammeChoice(choice))
        if training is None:
            return None, None
        partnership = (
            await self.repo.confirmed_partnership(school_id, cohort_id)
            if training is TrainingProgramme.FULL_INDUCTION_PROGRAMME
            else None
        )
        partnership_id = partnership.id if partnership is not None else None
        if school_cohort.default_induction_programme_id is not None:
            current = await self.repo.programme(school_cohort.default_induction_programme_id)
            if (
                current is not None
                and current.training_programme == training.value
                and current.partnership_id == partnership_id
            ):
                return current.id, partnership_id  # the same choice again changes nothing
        programme_id = await self.repo.create_programme(school_cohort.id, training.value, partnership_id, now)
        return programme_id, partnership_id

    # --- registration -----------------------------------------------------------------------------

    async def register(self, school_id: str, body: Any) -> SchoolParticipant:
        """Register an ECT or a mentor at the school for a cohort: the person, their training record,
        what the school entered (kept for validation), and their first induction record on the
        school's programme (which makes them visible to the school's lead provider).

        A mentor registered with `"training": false` joins the school's mentor pool only (a mentor
        the school funds itself: an unfunded mentor to the providers of the ECTs they mentor)."""
        school = await self._school(school_id)
        attributes = request_attributes(body)
        errors: list[tuple[str, str]] = []
        kind = _choice(
            attributes, "participant_type", (ProfileType.ECT.value, ProfileType.MENTOR.value), errors
        )
        full_name = _text(attributes, "full_name", errors, required=True)
        email = _text(attributes, "email", errors, required=True)
        if email is not None and not _EMAIL.match(email):
            errors.append(("email", "Enter an email address in the correct format, like name@example.com"))
            email = None
        trn = _text(attributes, "teacher_reference_number", errors, required=False)
        if trn is not None and not _TRN.match(trn):
            errors.append(("teacher_reference_number", "A teacher reference number has 7 digits"))
        date_of_birth = _date(attributes, "date_of_birth", errors, required=True)
        start = _date(attributes, "start_date", errors, required=True)
        year = _year(attributes, "cohort", errors)
        mentor_id = _uuid(attributes, "mentor_id", errors, required=False)
        training = _bool(attributes, "training", errors, default=True)
        today = self.clock.today()
        if date_of_birth is not None and date_of_birth >= today:
            errors.append(("date_of_birth", "The date of birth must be in the past"))
        cohort_id = await self._cohort(year, errors)
        if kind == ProfileType.MENTOR and mentor_id is not None:
            errors.append(("mentor_id", NOT_AN_ECT))
        if not training and kind == ProfileType.ECT:
            errors.append(("training", "Every early career teacher trains"))
        if errors:
            raise ValidationFailed(errors)
        assert kind is not None and full_name is not None and email is not None and year is not None
        assert date_of_birth is not None and start is not None and cohort_id is not None
        await self._partnered(school.id, cohort_id)
        now = self.clock.now()

        school_cohort = await self.repo.school_cohort(school.id, cohort_id)
        programme = None
        if school_cohort is not None and school_cohort.default_induction_programme_id is not None:
            programme = await self.repo.programme(school_cohort.default_induction_programme_id)
        if training and (school_cohort is None or programme is None):
            choice = school_cohort.induction_programme_choice if school_cohort else None
            message = (
                NO_TRAINING
                if choice
                in (
                    InductionProgrammeChoice.NO_EARLY_CAREER_TEACHERS,
                    InductionProgrammeChoice.DESIGN_OUR_OWN,
                )
                else NO_PROGRAMME
            )
            raise ValidationFailed([("cohort", message)])
        if school_cohort is None:
            school_cohort = await self.repo.create_school_cohort(
                school.id, cohort_id, InductionProgrammeChoice.NOT_YET_KNOWN, now
            )
        mentor_profile_id = None
        if mentor_id is not None:
            mentor_profile_id = await self.repo.mentor_at_school(mentor_id, school.id)
            if mentor_profile_id is None:
                raise ValidationFailed([("mentor_id", NOT_A_MENTOR)])
        schedule_id = await self.repo.ecf_schedule(cohort_id, ecf_schedule_for(start))
        schedule_id = schedule_id or await self.repo.ecf_schedule(cohort_id, "ecf-standard-september")
        if schedule_id is None:
            raise ValidationFailed([("cohort", f"Cohort {year} has no ECF schedules")])

        try:
            person = await self.repo.create_person(full_name, email, trn, school.id, now)
        except EmailTaken:
            raise ValidationFailed([("email", EMAIL_TAKEN)]) from None
        funded = programme is not None and programme.training_programme in _FUNDED_PROGRAMMES
        sparsity, pupil_premium = await self.repo.uplifts(school.id, year) if funded else (False, False)
        profile_id = await self.repo.create_profile(
            person=person,
            profile_type=kind,
            schedule_id=schedule_id,
            school_cohort_id=school_cohort.id,
            school_id=school.id,
            cohort_id=cohort_id,
            induction_start_date=start if kind == ProfileType.ECT else None,
            mentor_profile_id=mentor_profile_id,
            sparsity_uplift=sparsity,
            pupil_premium_uplift=pupil_premium,
            now=now,
        )
        await self.repo.add_validation_data(profile_id, full_name, date_of_birth, trn, now)
        # No teacher record service is consulted here: eligibility waits for DfE (an admin action).
        await self.repo.add_eligibility(
            profile_id, EligibilityStatus.MANUAL_CHECK.value, EligibilityReason.NONE.value, now
        )
        if kind == ProfileType.MENTOR:
            await self.repo.add_school_mentor(profile_id, school.id, person.identity_id)
        record_id_ = None
        if training:
            assert programme is not None
            record_id_ = await self.repo.add_record(
                profile_id=profile_id,
                programme_id=programme.id,
                schedule_id=schedule_id,
                start=_at(start),
                mentor_profile_id=mentor_profile_id,
                identity_id=person.identity_id,
                training_status=TrainingStatus.ACTIVE.value,
                school_transfer=False,
                now=now,
            )
        await audit(
            self.session,
            "participant.registered",
            "participant_profile",
            profile_id,
            participant_id=person.user_id,
            participant_type=kind,
            school_id=school.id,
            cohort=year,
            training=training,
        )
        return SchoolParticipant(
            participant_id=person.user_id,
            training_record_id=profile_id,
            participant_type=kind,
            school_id=school.id,
            induction_record_id=record_id_ or profile_id,
            induction_status=InductionStatus.ACTIVE.value if training else "not_training",
            start_date=_at(start),
            end_date=None,
            mentor_training_record_id=mentor_profile_id,
        )

    # --- a participant at the school ----------------------------------------------------------------

    async def _participant(self, participant_id: str, profile_type: str | None = None) -> ProfileRow:
        profile = await self.repo.ecf_profile(record_id(participant_id), profile_type)
        if profile is None:
            raise NotFound()
        return profile

    async def _record_at(self, profile: ProfileRow, school: SchoolRow) -> RecordRow:
        record = await self.repo.current_record(profile.id, school.id)
        if record is None:
            raise NotFound()
        await self._partnered(school.id, record.cohort_id)
        return record

    def _participant_result(
        self, profile: ProfileRow, record: RecordRow, new_id: uuid.UUID | None = None, **changes: Any
    ) -> SchoolParticipant:
        return SchoolParticipant(
            participant_id=profile.user_id,
            training_record_id=profile.id,
            participant_type=profile.profile_type,
            school_id=record.school_id,
            induction_record_id=new_id or record.id,
            induction_status=changes.get("induction_status", record.induction_status),
            start_date=changes.get("start_date", record.start_date),
            end_date=changes.get("end_date", record.end_date),
            mentor_training_record_id=changes.get("mentor_profile_id", record.mentor_profile_id),
        )

    async def assign_mentor(self, school_id: str, participant_id: str, body: Any) -> SchoolParticipant:
        """Name an ECT's mentor from the school's pool: the current induction record is closed as
        `changed` and continued from now with the new mentor (history kept)."""
        school = await self._school(school_id)
        attributes = request_attributes(body)
        errors: list[tuple[str, str]] = []
        mentor_id = _uuid(attributes, "mentor_id", errors, required=True)
        if errors:
            raise ValidationFailed(errors)
        assert mentor_id is not None
        profile = await self._participant(participant_id, ProfileType.ECT.value)
        record = await self._record_at(profile, school)
        mentor_profile_id = await self.repo.mentor_at_school(mentor_id, school.id)
        if mentor_profile_id is None:
            raise ValidationFailed([("mentor_id", NOT_A_MENTOR)])
        now = self.clock.now()
        if record.mentor_profile_id == mentor_profile_id:
            return self._participant_result(profile, record)
        start = max(now, record.start_date)
        # Copy first: the copy takes the record's status, which closing it would overwrite.
        new_id = await self.repo.continue_record(record, start, mentor_profile_id, now)
        await self.repo.close_record(record.id, InductionStatus.CHANGED.value, start, now)
        await self.repo.update_profile(profile.id, {"mentor_profile_id": mentor_profile_id}, now)
        await audit(
            self.session,
            "participant.mentor_assigned",
            "participant_profile",
            profile.id,
            participant_id=profile.user_id,
            mentor_training_record_id=mentor_profile_id,
            school_id=school.id,
        )
        return self._participant_result(
            profile, record, new_id, start_date=start, mentor_profile_id=mentor_profile_id
        )

    async def report_leaving(self, school_id: str, participant_id: str, body: Any) -> SchoolParticipant:
        """The participant leaves the school on `end_date`: their record there becomes `leaving`."""
        school = await self._school(school_id)
        attributes = request_attributes(body)
        errors: list[tuple[str, str]] = []
        end = _date(attributes, "end_date", errors, required=True)
        if errors:
            raise ValidationFailed(errors)
        assert end is not None
        profile = await self._participant(participant_id)
        record = await self._record_at(profile, school)
        if record.end_date is not None and record.induction_status != InductionStatus.LEAVING:
            raise ValidationFailed([("participant_id", NOT_AT_SCHOOL)])
        if _at(end) < record.start_date:
            raise ValidationFailed(
                [("end_date", "The end date must be on or after the start at this school")]
            )
        now = self.clock.now()
        await self.repo.close_record(record.id, InductionStatus.LEAVING.value, _at(end), now)
        await audit(
            self.session,
            "participant.leaving_reported",
            "participant_profile",
            profile.id,
            participant_id=profile.user_id,
            school_id=school.id,
            end_date=end,
        )
        return self._participant_result(
            profile, record, induction_status=InductionStatus.LEAVING.value, end_date=_at(end)
        )

    async def report_joining(self, school_id: str, participant_id: str, body: Any) -> SchoolParticipant:
        """A participant from another school joins this one on `start_date` (a school transfer).

        `continue_with_current_provider` true: they keep their lead provider and delivery partner
        (through a transfer relationship at this school); false: they take this school's programme
        for their cohort (and its provider). Their record at the old school becomes `leaving`
        (ending the day before) when the old school has not reported it already."""
        school = await self._school(school_id)
        attributes = request_attributes(body)
        errors: list[tuple[str, str]] = []
        start = _date(attributes, "start_date", errors, required=True)
        keep = _bool(attributes, "continue_with_current_provider", errors, default=False)
        if errors:
            raise ValidationFailed(errors)
        assert start is not None
        profile = await self._participant(participant_id)
        previous = await self.repo.current_record(profile.id)
        if previous is None or profile.status == ProfileStatus.WITHDRAWN:
            raise NotFound()
        cohort_id = previous.cohort_id
        if self.acting.lead_provider_id is not None:
            # A provider acting as a school: keeping itself as the provider, or joining a school it
            # is partnered with; anything else is not its business.
            if keep and previous.lead_provider_id != self.acting.lead_provider_id:
                raise NotFound()
            if not keep:
                await self._partnered(school.id, cohort_id)
        if previous.school_id == school.id and previous.induction_status != InductionStatus.LEAVING:
            raise ValidationFailed([("participant_id", ALREADY_AT_SCHOOL)])
        if _at(start) <= previous.start_date:
            raise ValidationFailed(
                [("start_date", "The start date must be after the start at the previous school")]
            )
        now = self.clock.now()
        school_cohort_id: uuid.UUID | None = None
        if keep:
            if previous.lead_provider_id is None:
                raise ValidationFailed([("continue_with_current_provider", NO_PROVIDER_TO_KEEP)])
            programme_id = await self.repo.relationship_programme(
                school.id, cohort_id, previous.lead_provider_id, previous.delivery_partner_id, now
            )
        else:
            school_cohort = await self.repo.school_cohort(school.id, cohort_id)
            if school_cohort is None or school_cohort.default_induction_programme_id is None:
                raise ValidationFailed([("start_date", NO_PROGRAMME)])
            programme_id = school_cohort.default_induction_programme_id
            school_cohort_id = school_cohort.id
        if previous.end_date is None or previous.induction_status != InductionStatus.LEAVING:
            await self.repo.close_record(
                previous.id, InductionStatus.LEAVING.value, _at(start - timedelta(days=1)), now
            )
        new_id = await self.repo.add_record(
            profile_id=profile.id,
            programme_id=programme_id,
            schedule_id=previous.schedule_id,
            start=_at(start),
            mentor_profile_id=None,
            identity_id=previous.preferred_identity_id,
            training_status=previous.training_status,
            school_transfer=True,
            now=now,
        )
        moved: dict[str, Any] = {"school_id": school.id, "mentor_profile_id": None}
        if school_cohort_id is not None:
            moved["school_cohort_id"] = school_cohort_id
        await self.repo.update_profile(profile.id, moved, now)
        if profile.profile_type == ProfileType.MENTOR:
            await self.repo.add_school_mentor(profile.id, school.id, profile.participant_identity_id)
        await audit(
            self.session,
            "participant.joining_reported",
            "participant_profile",
            profile.id,
            participant_id=profile.user_id,
            school_id=school.id,
            from_school_id=previous.school_id,
            start_date=start,
            continue_with_current_provider=keep,
        )
        return SchoolParticipant(
            participant_id=profile.user_id,
            training_record_id=profile.id,
            participant_type=profile.profile_type,
            school_id=school.id,
            induction_record_id=new_id,
            induction_status=InductionStatus.ACTIVE.value,
            start_date=_at(start),
            end_date=None,
            mentor_training_record_id=None,
        )

    async def withdraw(self, school_id: str, participant_id: str) -> SchoolParticipant:
        """The school removes the participant (registered in error, or no longer training there)."""
        school = await self._school(school_id)
        profile = await self._participant(participant_id)
        record = await self._record_at(profile, school)
        if record.induction_status == InductionStatus.WITHDRAWN:
            raise ValidationFailed([("participant_id", ALREADY_WITHDRAWN)])
        now = self.clock.now()
        # No end date: providers see `participant_status` "withdrawn" (an end date would read "left").
        await self.repo.set_induction_status(record.id, InductionStatus.WITHDRAWN.value, now)
        await self.repo.update_profile(profile.id, {"status": ProfileStatus.WITHDRAWN.value}, now)
        if profile.profile_type == ProfileType.MENTOR:
            await self.repo.remove_from_mentor_pool(profile.id, school.id, now.date())
        await audit(
            self.session,
            "participant.withdrawn_by_school",
            "participant_profile",
            profile.id,
            participant_id=profile.user_id,
            school_id=school.id,
        )
        return self._participant_result(profile, record, induction_status=InductionStatus.WITHDRAWN.value)

    # --- partnerships -----------------------------------------------------------------------------

    async def challenge(
        self, partnership_id: str, body: Any, school_id: str | None = None
    ) -> ChallengedPartnership:
        """The school says a partnership reported for it is wrong: it stops counting (the provider
        no longer sees its participants through it), with the reason."""
        attributes = request_attributes(body)
        errors: list[tuple[str, str]] = []
        reason = _choice(attributes, "challenge_reason", tuple(r.value for r in ChallengeReason), errors)
        school = await self._school(school_id) if school_id is not None else None
        partnership = await self.repo.partnership_for_update(record_id(partnership_id))
        if partnership is None or partnership.relationship:
            raise NotFound()
        if school is not None and partnership.school_id != school.id:
            raise NotFound()
        if (
            self.acting.lead_provider_id is not None
            and partnership.lead_provider_id != self.acting.lead_provider_id
        ):
            raise NotFound()
        if errors:
            raise ValidationFailed(errors)
        assert reason is not None
        if partnership.challenged_at is not None or partnership.challenge_reason is not None:
            raise ValidationFailed([("partnership", ALREADY_CHALLENGED)])
        now = self.clock.now()
        await self.repo.challenge(partnership.id, reason, now)
        await self.repo.touch_records_of_partnership(partnership.id, now)
        await audit(
            self.session,
            "partnership.challenged",
            "partnership",
            partnership.id,
            school_id=partnership.school_id,
            challenge_reason=reason,
        )
        return ChallengedPartnership(partnership.id, reason, now)
