"""Submitting a declaration: who the participant is, the validation rules in the contract's order,
and what a valid declaration starts as.

The rules accumulate errors like the reference does: every check runs, except the last three
(course, training record, contract), which only run while nothing has failed. Errors are grouped
per attribute by `ValidationFailed`, so one response carries every problem at once.

Duplicate safety: a transaction-scoped advisory lock on (participant, course, type) serialises
competing submissions before the duplicate check, and a partial unique index on live declarations
refuses whatever might still slip through; both end in the same 422. The training record is also
share-locked before its withdrawn state is read, so a concurrent withdrawal is either seen or
ordered after the declaration.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.domain.auth import LeadProviderCaller
from app.domain.enums import (
    ECF_COURSE_IDENTIFIERS,
    NPQ_COURSE_IDENTIFIERS,
    PROFILE_TYPE_BY_ECF_COURSE,
    DeclarationState,
)
from app.domain.errors import BAD_JSON_STRUCTURE, BadRequest, ValidationFailed
from app.domain.npq_courses import SUPPORT_OFFER_COURSES
from app.repositories.declaration_writes import (
    DeclarationWriteRepository,
    DuplicateLiveDeclaration,
    NewDeclaration,
)
from app.repositories.participant_lookup import Identity, Profile

PARTICIPANT_NOT_RECOGNISED = (
    "Your update cannot be made as the '#/participant_id' is not recognised. "
    "Check participant details and try again."
)
WITHDRAWN = (
    "This participant withdrew from this course on {date}. "
    "Enter a '#/declaration_date' that's on or before the withdrawal date."
)
DATE_MISSING = "Enter a '#/declaration_date'."
TYPE_MISSING = "Enter a '#/declaration_type'."
DATE_IN_FUTURE = "The '#/declaration_date' value cannot be a future date. Check the date and try again."
DATE_NOT_RFC3339 = "Enter a valid RCF3339 '#/declaration_date'."
BEFORE_MILESTONE = "Enter a '#/declaration_date' that's on or after the milestone start."
AFTER_MILESTONE = "Enter a '#/declaration_date' that's before the milestone end date."
EVIDENCE_MISSING = "Enter a '#/evidence_held' value for this participant."
EVIDENCE_INVALID = "Enter an available '#/evidence_held' type for this participant's event and course."
HAS_PASSED_INVALID = (
    "Enter 'true' or 'false' in the '#/has_passed' field to indicate whether this participant "
    "has passed or failed their course."
)
TYPE_NOT_IN_SCHEDULE = "The property '#/declaration_type' does not exist for this schedule."
ALREADY_DECLARED = "A declaration has already been submitted that will be, or has been, paid for this event"
COURSE_NOT_RECOGNISED = (
    "The entered '#/course_identifier' is not recognised for the given participant. "
    "Check details and try again."
)
NO_CONTRACT = (
    "You cannot submit a declaration for this participant as you do not have a contract for the "
    "cohort and course. Contact the DfE for assistance."
)
# Not in the reference (it fails with a server error there): nothing to pay the declaration on.
NO_OUTPUT_STATEMENT = (
    "You cannot submit a declaration for this participant as there is no open output statement for "
    "the cohort. Contact the DfE for assistance."
)

VALID_EVIDENCE_HELD = ("training-event-attended", "self-study-material-completed", "other")
ATTRIBUTES = (
    "participant_id",
    "declaration_type",
    "declaration_date",
    "course_identifier",
    "evidence_held",
    "has_passed",
)

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}([.,]\d+)?(Z|[+-]\d{2}(:?\d{2})?)?$", re.IGNORECASE
)
# What a lenient date-time cast accepts: ISO-like with `T` or a space, optional seconds,
# fraction and zone; a bare date; or day/month/year.
_LENIENT = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T\s](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?\s*$",
    re.IGNORECASE,
)
_DMY = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")


def cast_text(value: Any) -> str | None:
    """Attribute values as the reference reads them: scalars as text, booleans lower-case."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return str(value)


def request_attributes(body: Any) -> dict[str, Any]:
    """The attributes of a JSON:API request document. No `data` is a 400 (the contract's message);
    `data` without `attributes` reads as every attribute blank, so validation reports them."""
    data = body.get("data") if isinstance(body, dict) else None
    if not data or not isinstance(data, dict):
        raise BadRequest(BAD_JSON_STRUCTURE)
    attributes = data.get("attributes")
    return attributes if isinstance(attributes, dict) else {}


def _blank(value: str | None) -> bool:
    return value is None or value.strip() == ""


@dataclass(frozen=True)
class DeclarationInput:
    participant_id: str | None = None
    declaration_type: str | None = None
    declaration_date: str | None = None
    course_identifier: str | None = None
    evidence_held: str | None = None
    has_passed: str | None = None

    @classmethod
    def from_body(cls, body: Any) -> DeclarationInput:
        """`{"data": {"attributes": {...}}}`; no `data` is a 400, no `attributes` means all blank."""
        attributes = request_attributes(body)
        return cls(**{name: cast_text(attributes.get(name)) for name in ATTRIBUTES})

    def as_log(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in ATTRIBUTES}


def _zone(raw: str | None) -> timezone:
    if not raw or raw.upper() == "Z":
        return UTC
    sign = -1 if raw[0] == "-" else 1
    digits = raw[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0)))


def cast_datetime(raw: str | None) -> datetime | None:
    """A lenient cast (what a form field accepts); None when blank or not a real date and time."""
    if _blank(raw):
        return None
    assert raw is not None
    try:
        match = _LENIENT.match(raw)
        if match:
            y, mo, d, h, mi, s, frac, zone = match.groups()
            micro = int((frac or "0")[:6].ljust(6, "0"))
            moment = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), micro)
            return moment.replace(tzinfo=_zone(zone)).astimezone(UTC)
        match = _DMY.match(raw)
        if match:
            d, mo, y = match.groups()
            return datetime(int(y), int(mo), int(d), tzinfo=UTC)
    except ValueError:
        return None
    return None


def is_rfc3339(raw: str) -> bool:
    return bool(_RFC3339.match(raw.strip())) and cast_datetime(raw) is not None


def _parse_uuid(raw: str | None) -> uuid.UUID | None:
    if _blank(raw):
        return None
    try:
        return uuid.UUID(str(raw).strip())
    except ValueError:
        return None


def rfc3339_seconds(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class DeclarationSubmission:
    """`POST /participant-declarations`: validate, then store the declaration and its consequences."""

    def __init__(self, session: AsyncSession, caller: LeadProviderCaller, clock: Clock) -> None:
        self.repo = DeclarationWriteRepository(session)
        self.caller = caller
        self.clock = clock

    async def _identity_and_profile(self, attrs: DeclarationInput) -> tuple[Identity | None, Profile | None]:
        """Who the participant is, and their training record for the course (either may be None)."""
        participant_id = _parse_uuid(attrs.participant_id)
        if participant_id is None:
            return None, None
        course = attrs.course_identifier or ""
        identity: Identity | None = None
        if course in PROFILE_TYPE_BY_ECF_COURSE:
            found = await self.repo.identity_with_active_ecf_profile(
                participant_id, PROFILE_TYPE_BY_ECF_COURSE[course]
            )
            if found is not None:
                return found
        elif course in NPQ_COURSE_IDENTIFIERS:
            identity = await self.repo.identity_with_accepted_npq(
                participant_id, course, self.caller.npq_lead_provider_id
            )
        # Retired ids of merged participants keep working through their old identity.
        identity = identity or await self.repo.identity_by_external_id(participant_id)
        return identity, await self._profile(identity, attrs.course_identifier)

    async def _profile(self, identity: Identity | None, course: str | None) -> Profile | None:
        if identity is None or course is None:
            return None
        if course in PROFILE_TYPE_BY_ECF_COURSE:
            return await self.repo.active_ecf_profile(identity.id, PROFILE_TYPE_BY_ECF_COURSE[course])
        if course in NPQ_COURSE_IDENTIFIERS:
            return await self.repo.npq_profile(identity.id, course, self.caller.npq_lead_provider_id)
        return None

    async def submit(self, attrs: DeclarationInput) -> uuid.UUID:
        identity, profile = await self._identity_and_profile(attrs)
        attempt_id = None
        if identity is not None:
            # With a training record: competing submissions of the same slot wait for each other,
            # and a withdrawal racing this one either commits before the state check below (and
            # is seen) or waits for this transaction (and comes after the declaration).
            attempt_id = await self.repo.begin_submission(
                self.caller.cpd_lead_provider_id,
                identity.user_id,
                attrs.as_log(),
                slot_key=None
                if profile is None
                else self.repo.slot_key(
                    profile.user_id, attrs.course_identifier or "", attrs.declaration_type or ""
                ),
                profile_id=None if profile is None else profile.id,
            )
        declared_at = cast_datetime(attrs.declaration_date)
        errors = await self._validate(attrs, identity, profile, declared_at)
        if errors:
            raise ValidationFailed(errors, keep_writes=attempt_id is not None)
        assert identity is not None and profile is not None and declared_at is not None
        return await self._create(attrs, profile, declared_at, attempt_id)

    async def _validate(
        self,
        attrs: DeclarationInput,
        identity: Identity | None,
        profile: Profile | None,
        declared_at: datetime | None,
    ) -> list[tuple[str, str]]:
        errors: list[tuple[str, str]] = []
        facts = None
        if profile is not None:
            programme = _programme(profile)
            facts = await self.repo.submission_facts(
                profile,
                programme=programme,
                course_identifier=attrs.course_identifier or "",
                declaration_type=attrs.declaration_type or "",
                cpd_lead_provider_id=self.caller.cpd_lead_provider_id,
                lead_provider_id=self.caller.lead_provider_id if programme == "ecf" else None,
                npq_lead_provider_id=self.caller.npq_lead_provider_id if programme == "npq" else None,
            )
        if identity is None:
            errors.append(("participant_id", PARTICIPANT_NOT_RECOGNISED))
        if facts is not None and declared_at is not None:
            state = facts.provider_state
            if state is not None and state.state == "withdrawn" and state.created_at <= declared_at:
                errors.append(("participant_id", WITHDRAWN.format(date=rfc3339_seconds(state.created_at))))
        if declared_at is None:
            errors.append(("declaration_date", DATE_MISSING))
        if _blank(attrs.declaration_type):
            errors.append(("declaration_type", TYPE_MISSING))
        if declared_at is not None and declared_at > self.clock.now():
            errors.append(("declaration_date", DATE_IN_FUTURE))
        if not _blank(attrs.declaration_date) and not is_rfc3339(attrs.declaration_date or ""):
            errors.append(("declaration_date", DATE_NOT_RFC3339))

        milestone = facts.milestone if facts is not None else None
        if milestone is not None and declared_at is not None:
            if declared_at < datetime.combine(milestone.start_date, time(), UTC):
                errors.append(("declaration_date", BEFORE_MILESTONE))
            if milestone.milestone_date is not None and declared_at >= datetime.combine(
                milestone.milestone_date + timedelta(days=1), time(), UTC
            ):
                errors.append(("declaration_date", AFTER_MILESTONE))

        is_ecf = profile is not None and profile.profile_type in ("ect", "mentor")
        is_npq = profile is not None and profile.profile_type == "npq"
        if is_ecf and not _blank(attrs.declaration_type) and attrs.declaration_type != "started":
            if _blank(attrs.evidence_held):
                errors.append(("evidence_held", EVIDENCE_MISSING))
            if attrs.evidence_held not in VALID_EVIDENCE_HELD:
                errors.append(("evidence_held", EVIDENCE_INVALID))
        if (
            is_npq
            and attrs.declaration_type == "completed"
            and attrs.course_identifier not in SUPPORT_OFFER_COURSES
            and attrs.has_passed not in ("true", "false")
        ):
            errors.append(("has_passed", HAS_PASSED_INVALID))
        if facts is not None and milestone is None:
            errors.append(("declaration_type", TYPE_NOT_IN_SCHEDULE))
        if facts is not None and facts.live_declaration:
            errors.append(("base", ALREADY_DECLARED))
        if errors:
            return errors

        # Only while everything else holds: the course, the training record and the contract.
        assert identity is not None
        kinds = (
            facts.profile_types
            if facts is not None
            else await self.repo.active_profile_types(identity.user_id)
        )
        course = attrs.course_identifier or ""
        if not any(course in _courses_for(kind) for kind in kinds):
            return [("course_identifier", COURSE_NOT_RECOGNISED)]
        if facts is None or (is_ecf and not facts.has_provider_record):
            return [("participant_id", PARTICIPANT_NOT_RECOGNISED)]
        if is_npq and not facts.npq_contract:
            return [("cohort", NO_CONTRACT)]
        return []

    async def _create(
        self, attrs: DeclarationInput, profile: Profile, declared_at: datetime, attempt_id: uuid.UUID | None
    ) -> uuid.UUID:
        programme = _programme(profile)
        course = attrs.course_identifier or ""
        declaration_type = attrs.declaration_type or ""
        if programme == "ecf":
            facts = await self.repo.ecf_creation_facts(
                profile,
                lead_provider_id=self.caller.lead_provider_id,
                declaration_date=declared_at,
                course_identifier=course,
                declaration_type=declaration_type,
            )
            cohort_id = facts.placement.cohort_id or profile.schedule_cohort_id
            delivery_partner_id = facts.placement.delivery_partner_id
            mentor_user_id = facts.placement.mentor_user_id if profile.profile_type == "ect" else None
            original, fundable = facts.original_id, facts.fundable
        else:
            cohort_id, delivery_partner_id, mentor_user_id = profile.schedule_cohort_id, None, None
            original = await self.repo.original_by_trn(programme, profile.user_id, course, declaration_type)
            fundable = original is None and await self.repo.npq_fundable(profile.id)

        if original is not None:
            state, reason = DeclarationState.INELIGIBLE, "duplicate"
        elif fundable:
            state, reason = DeclarationState.ELIGIBLE, None
        else:
            state, reason = DeclarationState.SUBMITTED, None

        statement_id = None
        if state != DeclarationState.SUBMITTED:
            statement_id = await self.repo.next_output_statement(
                self.caller.cpd_lead_provider_id, programme, cohort_id, self.clock.today()
            )
            if statement_id is None:
                raise ValidationFailed([("cohort", NO_OUTPUT_STATEMENT)])

        try:
            declaration_id = await self.repo.insert_declaration(
                NewDeclaration(
                    programme=programme,
                    user_id=profile.user_id,
                    participant_profile_id=profile.id,
                    cpd_lead_provider_id=self.caller.cpd_lead_provider_id,
                    cohort_id=cohort_id,
                    declaration_type=declaration_type,
                    declaration_date=declared_at,
                    course_identifier=course,
                    evidence_held=attrs.evidence_held,
                    state=state,
                    state_reason=reason,
                    sparsity_uplift=profile.sparsity_uplift,
                    pupil_premium_uplift=profile.pupil_premium_uplift,
                    delivery_partner_id=delivery_partner_id,
                    mentor_user_id=mentor_user_id,
                    superseded_by_id=original,
                )
            )
        except DuplicateLiveDeclaration:
            raise ValidationFailed([("base", ALREADY_DECLARED)]) from None
        states: list[tuple[str, str | None]] = [(DeclarationState.SUBMITTED, None)]
        if state != DeclarationState.SUBMITTED:
            states.append((state, reason))
        await self.repo.record_new_declaration(
            declaration_id, states, statement_id=statement_id, line_item_state=state, attempt_id=attempt_id
        )

        if programme == "npq" and declaration_type == "completed" and course not in SUPPORT_OFFER_COURSES:
            outcome = "passed" if attrs.has_passed == "true" else "failed"
            await self.repo.add_outcome(declaration_id, outcome, declared_at.date())
        if profile.profile_type == "mentor" and declaration_type == "completed":
            await self.repo.refresh_mentor_completion(profile.id)
        return declaration_id


def _programme(profile: Profile) -> str:
    return "npq" if profile.profile_type == "npq" else "ecf"


def _courses_for(profile_type: str) -> tuple[str, ...]:
    if profile_type == "ect":
        return (ECF_COURSE_IDENTIFIERS[0],)
    if profile_type == "mentor":
        return (ECF_COURSE_IDENTIFIERS[1],)
    return NPQ_COURSE_IDENTIFIERS
