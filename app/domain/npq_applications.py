"""NPQ applications as lead providers see them, and accepting or rejecting one.

Reading: a provider sees only its own applications; lists default to cohorts after 2020.
Funding eligibility shown to providers accounts for previous funding (another accepted, funded
application of the same identity for the same course, ASO and EHCO counting as one course).

Accepting follows the reference's rules and order: already accepted, already rejected, another
accepted application for the course (any provider, any cohort; the user or the oldest other user
with the same TRN), then the v3 schedule. Competing accepts are serialised in the database:
transaction-scoped advisory locks on the user and on each TRN involved, per course family,
always taken in sorted order and before the application's row lock, so two requests can never
both pass the "another accepted application" check, and never deadlock on each other.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.domain.audit import audit
from app.domain.auth import NpqProvider
from app.domain.declaration_submission import cast_text
from app.domain.enums import ApplicationStatus, ScheduleType
from app.domain.errors import BAD_JSON_STRUCTURE, BadRequest, NotFound, ValidationFailed, record_id
from app.domain.npq_courses import NPQ_COURSE_FAMILIES, SUPPORT_OFFER_COURSES
from app.domain.paging import Page
from app.domain.schools import parse_sort
from app.repositories.npq_applications import (
    SORTABLE_COLUMNS,
    AcceptTarget,
    ApplicationFilters,
    ApplicationRow,
    EnrolmentCsvRow,
    NpqApplicationRepository,
    NpqSchedule,
)

ALREADY_ACCEPTED = "This NPQ application has already been accepted"
CANNOT_CHANGE_FROM_REJECTED = "Once rejected an application cannot change state"
ANOTHER_ACCEPTED = "The participant has already had an application accepted for this course."
SCHEDULE_INVALID = "Selected schedule is not valid for the course"
ALREADY_REJECTED = "This NPQ application has already been rejected"
CANNOT_CHANGE_FROM_ACCEPTED = "Once accepted an application cannot change state"

PREVIOUSLY_FUNDED = "previously-funded"
ESTABLISHMENT_INELIGIBLE = "establishment-ineligible"
UK_CATCHMENTS = frozenset({"jersey_guernsey_isle_of_man", "england", "northern_ireland", "scotland", "wales"})
DEFAULT_ORDER = [("created_at", False)]

_SEASONAL_PREFIX = {
    ScheduleType.NPQ_LEADERSHIP: "npq-leadership",
    ScheduleType.NPQ_SPECIALIST: "npq-specialist",
}


# ---- what providers see -------------------------------------------------------------------------


def eligible_for_funding(row: ApplicationRow) -> bool:
    return row.eligible_for_funding and not row.previously_funded


def ineligible_for_funding_reason(row: ApplicationRow) -> str | None:
    if row.previously_funded:
        return PREVIOUSLY_FUNDED
    if not row.eligible_for_funding:
        return ESTABLISHMENT_INELIGIBLE
    return None


def in_uk_catchment(row: ApplicationRow) -> bool:
    return row.teacher_catchment in UK_CATCHMENTS


def cohort(row: ApplicationRow) -> str | None:
    return None if row.cohort_year is None else str(row.cohort_year)


def rebranded_alternatives(course_identifier: str) -> tuple[str, ...]:
    """The course itself, plus its rebranded twin for ASO/EHCO."""
    return SUPPORT_OFFER_COURSES if course_identifier in SUPPORT_OFFER_COURSES else (course_identifier,)


# ---- choosing a schedule ----------------------------------------------------------------------------


def default_schedule_identifier(course_identifier: str, cohort_year: int, today: date) -> str | None:
    """The schedule an acceptance without one gets, by the date of acceptance.

    None means "the cohort's first schedule of the course's family" (ASO; EHCO before 2022,
    when a cohort had a single EHCO schedule).
    """
    family = NPQ_COURSE_FAMILIES[course_identifier]
    if family in _SEASONAL_PREFIX:
        if date(2022, 6, 1) <= today <= date(2022, 12, 25):
            season = "autumn"
        elif (today.month, today.day) <= (4, 2) or (today.month, today.day) >= (12, 26):
            season = "spring"
        else:
            season = "autumn"
        return f"{_SEASONAL_PREFIX[family]}-{season}"
    if family is ScheduleType.NPQ_EHCO and cohort_year >= 2022:
        year = cohort_year
        if date(year, 9, 1) <= today <= date(year, 11, 30):
            return "npq-ehco-november"
        if date(year, 12, 1) <= today < date(year + 1, 3, 1):
            return "npq-ehco-december"
        if date(year + 1, 3, 1) <= today <= date(year + 1, 5, 31):
            return "npq-ehco-march"
        return "npq-ehco-june"  # 1 June - 30 September of the next year, and any other date
    return None


def accept_schedule_identifier(body: Any) -> str | None:
    """The schedule a v3 accept request names, if any.

    No body or no `data`: none (the schedule is chosen automatically). `data` whose attributes carry
    no `schedule_identifier` key is a malformed request (400). A blank value counts as absent.
    """
    if not isinstance(body, dict):
        return None
    data = body.get("data")
    if not data:
        return None
    attributes = data.get("attributes") if isinstance(data, dict) else None
    if not isinstance(attributes, dict) or "schedule_identifier" not in attributes:
        raise BadRequest(BAD_JSON_STRUCTURE)
    value = cast_text(attributes["schedule_identifier"])
    if value is None or value.strip() == "":
        return None
    return value


def _lock_keys(target: AcceptTarget) -> set[str]:
    """What competing accepts share: the user, and each TRN that is or will be the user's, per family."""
    family = "aso-ehco" if target.course_identifier in SUPPORT_OFFER_COURSES else target.course_identifier
    keys = {f"npq-accept:user:{target.user_id}:{family}"}
    trns = [target.teacher_profile_trn]
    if target.teacher_reference_number_verified:
        trns.append(target.teacher_reference_number)
    keys.update(f"npq-accept:trn:{trn.strip()}:{family}" for trn in trns if trn and trn.strip())
    return keys


class NpqApplicationService:
    def __init__(self, session: AsyncSession, provider: NpqProvider, clock: Clock | None = None) -> None:
        self.session = session
        self.repo = NpqApplicationRepository(session)
        self.provider = provider
        self.clock = clock

    # ---- reading ------------------------------------------------------------------------------

    async def list_applications(
        self,
        filters: ApplicationFilters,
        page: Page,
        sort: str | None = None,
        participant_id: str | None = None,
    ) -> list[ApplicationRow]:
        """One page of the provider's applications; `participant_id` (v3) is a single user id."""
        if participant_id is not None:
            try:
                filters = ApplicationFilters(
                    cohort_years=filters.cohort_years,
                    cohort_year=filters.cohort_year,
                    updated_since=filters.updated_since,
                    user_id=uuid.UUID(participant_id.strip()),
                )
            except ValueError:
                return []  # not a user id: no application can match
        order = parse_sort(sort, SORTABLE_COLUMNS, DEFAULT_ORDER)
        ids = await self.repo.page_ids(self.provider.npq_lead_provider_id, filters, order, page)
        return await self.repo.rows(ids)

    async def get(self, application_id: str) -> ApplicationRow:
        row = await self.repo.find_for_provider(self.provider.npq_lead_provider_id, record_id(application_id))
        if row is None:
            raise NotFound()
        return row

    @staticmethod
    def stream(
        maker: async_sessionmaker[AsyncSession], provider: NpqProvider, filters: ApplicationFilters
    ) -> AsyncIterator[list[ApplicationRow]]:
        return NpqApplicationRepository.stream_rows(
            maker, provider.npq_lead_provider_id, filters, DEFAULT_ORDER
        )

    @staticmethod
    def stream_enrolments(
        maker: async_sessionmaker[AsyncSession], provider: NpqProvider, filters: ApplicationFilters
    ) -> AsyncIterator[list[EnrolmentCsvRow]]:
        return NpqApplicationRepository.stream_enrolments(
            maker, provider.npq_lead_provider_id, filters.updated_since
        )

    # ---- accept -----------------------------------------------------------------------------------

    async def accept(self, application_id: str, schedule_identifier: str | None = None) -> ApplicationRow:
        target = await self._locked_for_accept(record_id(application_id))
        errors: list[tuple[str, str]] = []
        if target.status == ApplicationStatus.ACCEPTED:
            errors.append(("npq_application", ALREADY_ACCEPTED))
        if target.status == ApplicationStatus.REJECTED:
            errors.append(("npq_application", CANNOT_CHANGE_FROM_REJECTED))
        if await self._accepted_elsewhere(target):
            errors.append(("npq_application", ANOTHER_ACCEPTED))
        schedule: NpqSchedule | None = None
        if not errors and schedule_identifier is not None:
            schedule = await self._requested_schedule(target, schedule_identifier)
            if schedule is None:
                errors.append(("schedule_identifier", SCHEDULE_INVALID))
        if errors:
            raise ValidationFailed(errors)
        if schedule is None:
            schedule = await self._default_schedule(target)
        if schedule is None:
            # The reference fails with a 404 when the cohort lacks the schedule its date rule picks.
            raise ValidationFailed([("schedule_identifier", SCHEDULE_INVALID)])

        now = self._now()
        trn = target.teacher_reference_number if target.teacher_reference_number_verified else None
        teacher_profile_id = await self.repo.teacher_profile(target.user_id, trn, now)
        await self.repo.create_npq_profile(
            target, teacher_profile_id, schedule.id, target.cohort_id, self.provider.cpd_lead_provider_id, now
        )
        await self.repo.set_status(target.id, ApplicationStatus.ACCEPTED, now, schedule.id)
        await self.repo.reject_same_course_and_cohort(target, now)
        await audit(
            self.session,
            "npq_application.accepted",
            "npq_application",
            target.id,
            schedule_identifier=schedule.schedule_identifier,
        )
        return await self.get(str(target.id))

    async def _locked_for_accept(self, application_id: uuid.UUID) -> AcceptTarget:
        """The application, read again under every lock its acceptance competes on."""
        target = await self.repo.target(self.provider.npq_lead_provider_id, application_id)
        held: set[str] = set()
        while target is not None:
            missing = sorted(_lock_keys(target) - held)
            if not missing:
                return target
            # Advisory locks first, then the row: a competing accept never holds a row this one needs
            # while waiting for a key. Keys are re-read in case a TRN changed before the locks were
            # taken; such late keys are rare and taken in sorted order too.
            for key in missing:
                await self.repo.advisory_lock(key)
                held.add(key)
            target = await self.repo.target(
                self.provider.npq_lead_provider_id, application_id, for_update=True
            )
        raise NotFound()

    async def _accepted_elsewhere(self, target: AcceptTarget) -> bool:
        users = [target.user_id]
        trn = target.teacher_profile_trn
        if trn is not None and trn.strip():
            same_trn_user = await self.repo.oldest_other_user_with_trn(trn, target.teacher_profile_id)
            if same_trn_user is not None:
                users.append(same_trn_user)
        return await self.repo.accepted_elsewhere(
            target.id, users, rebranded_alternatives(target.course_identifier)
        )

    async def _requested_schedule(self, target: AcceptTarget, identifier: str) -> NpqSchedule | None:
        if target.cohort_id is None:
            return None
        schedule = await self.repo.npq_schedule(target.cohort_id, identifier)
        if schedule is None or schedule.schedule_type != NPQ_COURSE_FAMILIES.get(target.course_identifier):
            return None
        return schedule

    async def _default_schedule(self, target: AcceptTarget) -> NpqSchedule | None:
        family = NPQ_COURSE_FAMILIES.get(target.course_identifier)
        if target.cohort_id is None or target.cohort_year is None or family is None:
            return None
        identifier = default_schedule_identifier(target.course_identifier, target.cohort_year, self._today())
        if identifier is None:
            return await self.repo.first_schedule_of_type(target.cohort_id, family)
        return await self._requested_schedule(target, identifier)

    # ---- reject -----------------------------------------------------------------------------------

    async def reject(self, application_id: str) -> ApplicationRow:
        target = await self.repo.target(
            self.provider.npq_lead_provider_id, record_id(application_id), for_update=True
        )
        if target is None:
            raise NotFound()
        if target.status == ApplicationStatus.REJECTED:
            raise ValidationFailed([("npq_application", ALREADY_REJECTED)])
        if target.status == ApplicationStatus.ACCEPTED:
            raise ValidationFailed([("npq_application", CANNOT_CHANGE_FROM_ACCEPTED)])
        await self.repo.set_status(target.id, ApplicationStatus.REJECTED, self._now())
        await audit(self.session, "npq_application.rejected", "npq_application", target.id)
        return await self.get(str(target.id))

    def _now(self) -> datetime:
        assert self.clock is not None, "writes need a clock"
        return self.clock.now()

    def _today(self) -> date:
        assert self.clock is not None, "writes need a clock"
        return self.clock.today()
