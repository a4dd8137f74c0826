"""ECF partnerships as lead providers see and confirm them (v3, ecf.md §5.4).

A provider sees its own partnerships except internal `relationship` records; challenged ones are
shown (status `challenged`) but cannot be changed. Confirming a partnership (POST) validates the
cohort, school and delivery partner in the reference's order and with its messages, then reports
the partnership: the provider's existing row for the school and cohort is reused (a challenged one
is reactivated, keeping its id), else a new one is created; the school cohort's full induction
programme is then attached to it. Changing the delivery partner (PUT) reports the same row again.

Concurrency: every write for one school and cohort first takes a transaction-scoped advisory lock,
so a second confirmation waits for the first to commit and then sees it ("already in a confirmed
partnership"); the unique constraint on (school, provider, delivery partner, cohort) refuses an
identical second row even without the lock, with the same 422.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.domain.audit import audit
from app.domain.auth import EcfProvider
from app.domain.declaration_submission import cast_text, request_attributes
from app.domain.enums import InductionProgrammeChoice, TrainingProgramme
from app.domain.errors import NotFound, ValidationFailed, record_id
from app.domain.paging import Page
from app.domain.schools import (
    CIP_ONLY_TYPE_CODES,
    ELIGIBLE_TYPE_CODES,
    OPEN_STATUS_CODES,
    cohort_start_year,
    parse_sort,
)
from app.repositories.partnerships import (
    CohortRecord,
    DuplicatePartnership,
    PartnershipFilters,
    PartnershipRepository,
    PartnershipRow,
    ReportValues,
    SchoolRecord,
    StoredPartnership,
)

COHORT_BLANK = "Enter a '#/cohort'."
COHORT_INVALID = "The '#/cohort' you have entered is invalid. Check cohort details and try again."
SCHOOL_BLANK = "Enter a '#/school_id'."
SCHOOL_INVALID = (
    "The '#/school_id' you have entered is invalid. Check school details and try again. "
    "Contact the DfE for support if you are unable to find the '#/school_id'."
)
SCHOOL_CIP_ONLY = (
    "The school you have entered has not registered to deliver DfE-funded training. "
    "Contact the school for more information."
)
SCHOOL_INELIGIBLE = (
    "The school you have entered is currently ineligible for DfE funding. "
    "Contact the school for more information."
)
ALREADY_CONFIRMED = "You are already in a confirmed partnership with this school for the entered cohort."
OTHER_PROVIDER = (
    "Another provider is in a confirmed partnership with the school for the cohort you entered. "
    "Contact the school for more information."
)
NOT_YET_CONFIRMED = (
    "The school you have entered has not yet confirmed they will deliver DfE-funded training. "
    "Contact the school for more information."
)
DELIVERY_PARTNER_BLANK = "Enter a '#/delivery_partner_id'."
DELIVERY_PARTNER_INVALID = (
    "The '#/delivery_partner_id' you have entered is invalid. Check delivery partner details and try again."
)
NO_RELATIONSHIP = (
    "The entered delivery partner is not recognised to be working in partnership with you for the given "
    "cohort. Contact the DfE for more information."
)
CHALLENGED = (
    "Your update cannot be made as this partnership has been challenged by the school. If this partnership "
    "has been challenged in error, submit a new partnership confirmation using the endpoint "
    "POST /api/v3/partnerships/ecf."
)
DUPLICATE_DELIVERY_PARTNER = (
    "We are unable to process this request. You are already confirmed to be in partnership with the entered "
    "delivery partner. Contact the DfE for support."
)

PARTNERSHIP_SORTABLE = ("created_at", "updated_at", "challenged_at", "challenge_reason")
DEFAULT_ORDER = [("created_at", False)]
# The school may challenge a confirmation until the later of: two months (less a day) into the
# cohort's academic year, or two weeks after the confirmation.
DEFAULT_CHALLENGE_WINDOW = timedelta(days=14)


def _blank(raw: Any) -> bool:
    """Blank as the reference's presence check sees it: nothing, false, whitespace, empty."""
    if raw is None or raw is False:
        return True
    if isinstance(raw, str):
        return raw.strip() == ""
    if isinstance(raw, list | dict):
        return not raw
    return False


def _uuid(raw: str | None) -> uuid.UUID | None:
    """A record id from a request attribute; anything that is not an id names no record."""
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


@dataclass(frozen=True)
class PartnershipInput:
    """`POST` attributes as the reference reads them. `blank_*` record the presence check on the raw
    value (JSON `false` is blank, as in the reference)."""

    cohort: str | None
    school_id: str | None
    delivery_partner_id: str | None
    blank_cohort: bool
    blank_school_id: bool
    blank_delivery_partner_id: bool

    @classmethod
    def from_body(cls, body: Any) -> PartnershipInput:
        """`{"data": {"attributes": {...}}}`; no `data` is a 400, no `attributes` means all blank."""
        attributes = request_attributes(body)
        raw = {name: attributes.get(name) for name in ("cohort", "school_id", "delivery_partner_id")}
        return cls(
            cohort=cast_text(raw["cohort"]),
            school_id=cast_text(raw["school_id"]),
            delivery_partner_id=cast_text(raw["delivery_partner_id"]),
            blank_cohort=_blank(raw["cohort"]),
            blank_school_id=_blank(raw["school_id"]),
            blank_delivery_partner_id=_blank(raw["delivery_partner_id"]),
        )


@dataclass(frozen=True)
class PartnershipUpdateInput:
    delivery_partner_id: str | None
    blank_delivery_partner_id: bool

    @classmethod
    def from_body(cls, body: Any) -> PartnershipUpdateInput:
        attributes = request_attributes(body)
        raw = attributes.get("delivery_partner_id")
        return cls(delivery_partner_id=cast_text(raw), blank_delivery_partner_id=_blank(raw))


# --- school register rules (ecf.md §5.3) ---------------------------------------------------------


def _open(school: SchoolRecord) -> bool:
    return school.school_status_code in OPEN_STATUS_CODES


def _in_england(school: SchoolRecord) -> bool:
    code = school.administrative_district_code or ""
    return code[:1] in ("E", "e") or code == "9999"


def cip_only(school: SchoolRecord) -> bool:
    """Open and of a type that may only run the core induction programme."""
    return _open(school) and school.school_type_code in CIP_ONLY_TYPE_CODES


def eligible(school: SchoolRecord) -> bool:
    """Open, in England, and an eligible establishment type or section 41 approved."""
    return (
        _open(school)
        and _in_england(school)
        and (school.school_type_code in ELIGIBLE_TYPE_CODES or school.section_41_approved)
    )


# --- what the response shows ---------------------------------------------------------------------


def status(row: PartnershipRow) -> str:
    return "challenged" if row.challenge_reason else "active"


def induction_tutor_email(row: PartnershipRow) -> str | None:
    """The school's first induction tutor's email, else its primary, else its secondary contact."""
    for email in (row.tutor_email, row.primary_contact_email):
        if email and email.strip():
            return email
    return row.secondary_contact_email


def last_updated(row: PartnershipRow) -> datetime:
    """The latest change to the partnership, its school, its delivery partner or the school's tutor."""
    moments = [row.updated_at, row.school_updated_at, row.delivery_partner_updated_at, row.tutor_updated_at]
    return max(m for m in moments if m is not None)


def _add_months(day: date, months: int) -> date:
    """Calendar months later, clamped to the month's last day (31 Dec + 2 months = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def challenge_deadline(cohort: CohortRecord, now: datetime) -> datetime:
    latest = now + DEFAULT_CHALLENGE_WINDOW
    if cohort.academic_year_start_date is None:
        return latest
    early = _add_months(cohort.academic_year_start_date, 2) - timedelta(days=1)
    return max(datetime.combine(early, time(), UTC), latest)


class PartnershipService:
    def __init__(self, session: AsyncSession, provider: EcfProvider, clock: Clock | None = None) -> None:
        self.session = session
        self.repo = PartnershipRepository(session)
        self.provider = provider
        self.clock = clock or Clock()

    # --- reading ----------------------------------------------------------------------------------

    async def list_partnerships(
        self, filters: PartnershipFilters, page: Page, sort: str | None = None
    ) -> list[PartnershipRow]:
        """The provider's partnerships in the cohorts (default: every cohort after 2020)."""
        return await self.repo.list_for_provider(
            self.provider.lead_provider_id,
            filters,
            order_by=parse_sort(sort, PARTNERSHIP_SORTABLE, DEFAULT_ORDER),
            page=page,
        )

    async def get(self, partnership_id: str) -> PartnershipRow:
        """Any of the provider's partnerships (any cohort, challenged or not), else 404."""
        return await self._reload(record_id(partnership_id))

    async def _reload(self, partnership_id: uuid.UUID) -> PartnershipRow:
        row = await self.repo.find_for_provider(self.provider.lead_provider_id, partnership_id)
        if row is None:
            raise NotFound()
        return row

    # --- confirming a partnership -----------------------------------------------------------------

    async def create(self, body: Any) -> PartnershipRow:
        """`POST`: validate, then report the partnership and return it as the provider now sees it."""
        attrs = PartnershipInput.from_body(body)
        year = None if attrs.blank_cohort or attrs.cohort is None else cohort_start_year(attrs.cohort)
        cohort = await self.repo.cohort(year) if year is not None else None
        school_id = None if attrs.blank_school_id else _uuid(attrs.school_id)
        if cohort is not None and school_id is not None:
            # Before any rule reads the school's partnerships: a concurrent confirmation for the same
            # school and cohort is either committed (and seen) or waits for this one.
            await self.repo.lock_school_cohort(school_id, cohort.id)
        school = await self.repo.school(school_id) if school_id is not None else None
        delivery_partner_id = None if attrs.blank_delivery_partner_id else _uuid(attrs.delivery_partner_id)

        errors = await self._validate_create(attrs, cohort, school, delivery_partner_id)
        if errors:
            raise ValidationFailed(errors)
        assert cohort is not None and school is not None and delivery_partner_id is not None
        try:
            reported = await self._report(school.id, cohort, delivery_partner_id)
        except DuplicatePartnership:
            # Another confirmation got there first (the rules run under the same lock, so only
            # when it was bypassed): the refusal the rules would now give.
            raise ValidationFailed([("school_id", await self._confirmed_by(school.id, cohort))]) from None
        await audit(
            self.session,
            "partnership.reported",
            "partnership",
            reported,
            school_id=school.id,
            cohort=cohort.start_year,
            delivery_partner_id=delivery_partner_id,
        )
        return await self._reload(reported)

    async def _confirmed_by(self, school_id: uuid.UUID, cohort: CohortRecord) -> str:
        providers = await self.repo.confirmed_lead_providers(school_id, cohort.start_year)
        if providers and self.provider.lead_provider_id not in providers:
            return OTHER_PROVIDER
        return ALREADY_CONFIRMED

    async def _validate_create(
        self,
        attrs: PartnershipInput,
        cohort: CohortRecord | None,
        school: SchoolRecord | None,
        delivery_partner_id: uuid.UUID | None,
    ) -> list[tuple[str, str]]:
        """Presence first (cohort, school, delivery partner), then each attribute's own rules."""
        errors: list[tuple[str, str]] = []
        if attrs.blank_cohort:
            errors.append(("cohort", COHORT_BLANK))
        if attrs.blank_school_id:
            errors.append(("school_id", SCHOOL_BLANK))
        if attrs.blank_delivery_partner_id:
            errors.append(("delivery_partner_id", DELIVERY_PARTNER_BLANK))

        if not attrs.blank_cohort and cohort is None:
            errors.append(("cohort", COHORT_INVALID))

        if not attrs.blank_school_id:
            school_error = await self._school_error(school, cohort)
            if school_error is not None:
                errors.append(("school_id", school_error))

        if not attrs.blank_delivery_partner_id:
            if delivery_partner_id is None or not await self.repo.delivery_partner_exists(
                delivery_partner_id
            ):
                errors.append(("delivery_partner_id", DELIVERY_PARTNER_INVALID))
            elif cohort is None or not await self.repo.provider_relationship_exists(
                self.provider.lead_provider_id, delivery_partner_id, cohort.id
            ):
                # No cohort, no relationship in it: reported alongside the cohort's own error.
                errors.append(("delivery_partner_id", NO_RELATIONSHIP))
        return errors

    async def _school_error(self, school: SchoolRecord | None, cohort: CohortRecord | None) -> str | None:
        if school is None:
            return SCHOOL_INVALID
        if cip_only(school):
            return SCHOOL_CIP_ONLY
        if not eligible(school):
            return SCHOOL_INELIGIBLE
        if cohort is None:
            # The reference fails with a server error here; the cohort's error says it all.
            return None
        providers = await self.repo.confirmed_lead_providers(school.id, cohort.start_year)
        if self.provider.lead_provider_id in providers:
            return ALREADY_CONFIRMED
        if providers:
            return OTHER_PROVIDER
        if await self.repo.confirmed_lead_providers(
            school.id, cohort.start_year - 1
        ) and not await self.repo.school_cohort_exists(school.id, cohort.id):
            return NOT_YET_CONFIRMED
        return None

    # --- changing the delivery partner --------------------------------------------------------------

    async def update(self, partnership_id: str, body: Any) -> PartnershipRow:
        """`PUT`: the partnership first (404), then the body (400), then the rules (422)."""
        ident = record_id(partnership_id)
        found = await self.repo.stored_for_provider(self.provider.lead_provider_id, ident)
        if found is None:
            raise NotFound()
        attrs = PartnershipUpdateInput.from_body(body)
        await self.repo.lock_school_cohort(found.school_id, found.cohort_id)
        stored = await self.repo.stored_for_provider(self.provider.lead_provider_id, ident, for_update=True)
        if stored is None:
            raise NotFound()
        delivery_partner_id = None if attrs.blank_delivery_partner_id else _uuid(attrs.delivery_partner_id)
        errors = await self._validate_update(attrs, stored, delivery_partner_id)
        if errors:
            raise ValidationFailed(errors)
        assert delivery_partner_id is not None
        if stored.delivery_partner_id == delivery_partner_id:
            return await self._reload(stored.id)  # nothing changes
        cohort = await self.repo.cohort_by_id(stored.cohort_id)
        try:
            await self._report(stored.school_id, cohort, delivery_partner_id, partnership_id=stored.id)
        except DuplicatePartnership:
            raise ValidationFailed([("delivery_partner_id", DUPLICATE_DELIVERY_PARTNER)]) from None
        await audit(
            self.session,
            "partnership.delivery_partner_changed",
            "partnership",
            stored.id,
            delivery_partner_id=delivery_partner_id,
        )
        return await self._reload(stored.id)

    async def _validate_update(
        self,
        attrs: PartnershipUpdateInput,
        stored: StoredPartnership,
        delivery_partner_id: uuid.UUID | None,
    ) -> list[tuple[str, str]]:
        if attrs.blank_delivery_partner_id:
            return [("delivery_partner_id", DELIVERY_PARTNER_BLANK)]
        if delivery_partner_id is None or not await self.repo.delivery_partner_exists(delivery_partner_id):
            return [("delivery_partner_id", DELIVERY_PARTNER_INVALID)]
        if not await self.repo.provider_relationship_exists(
            self.provider.lead_provider_id, delivery_partner_id, stored.cohort_id
        ):
            return [("delivery_partner_id", NO_RELATIONSHIP)]
        if stored.challenge_reason:
            return [("delivery_partner_id", CHALLENGED)]
        if await self.repo.other_partnership_with_partner(stored, delivery_partner_id):
            return [("delivery_partner_id", DUPLICATE_DELIVERY_PARTNER)]
        return []

    # --- reporting (both) -------------------------------------------------------------------------

    async def _report(
        self,
        school_id: uuid.UUID,
        cohort: CohortRecord,
        delivery_partner_id: uuid.UUID,
        *,
        partnership_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Confirm the partnership: reuse the provider's row for the school and cohort (a matching
        `relationship` record first), else create one; then attach the school cohort's programme.

        Raises DuplicatePartnership when the database refuses the row (a uniqueness rule) or the
        row to reuse turns out to be confirmed already."""
        now = self.clock.now()
        lead_provider_id = self.provider.lead_provider_id
        values = ReportValues(
            delivery_partner_id=delivery_partner_id,
            challenge_deadline=challenge_deadline(cohort, now),
            report_id=uuid.uuid4(),
        )
        reused = partnership_id
        if reused is None:
            found = await self.repo.partnership_to_report(
                school_id, cohort.id, lead_provider_id, delivery_partner_id
            )
            if found is not None and found.confirmed:
                raise DuplicatePartnership()
            reused = found.id if found is not None else None
        if reused is not None:
            await self.repo.report(reused, values, now)
            reported = reused
        else:
            reported = await self.repo.insert_partnership(school_id, cohort.id, lead_provider_id, values, now)
        await self._attach_programme(school_id, cohort.id, reported, now)
        return reported

    async def _attach_programme(
        self, school_id: uuid.UUID, cohort_id: uuid.UUID, partnership_id: uuid.UUID, now: datetime
    ) -> None:
        """The school cohort (created as full induction if missing) trains under the partnership.

        A full induction default programme without a partnership takes this one; one whose
        partnership was challenged is replaced by a new programme and its participants move over.
        Any other choice becomes full induction, with a new default programme for the partnership.
        """
        fip = TrainingProgramme.FULL_INDUCTION_PROGRAMME
        school_cohort = await self.repo.school_cohort_for_update(school_id, cohort_id)
        if school_cohort is None:
            school_cohort = await self.repo.create_school_cohort(
                school_id, cohort_id, InductionProgrammeChoice.FULL_INDUCTION_PROGRAMME, now
            )
        default = None
        if school_cohort.default_induction_programme_id is not None:
            default = await self.repo.programme(school_cohort.default_induction_programme_id)
        if default is not None and default.training_programme == fip:
            if default.partnership_id is None:
                await self.repo.set_programme_partnership(default.id, partnership_id, now)
            elif default.partnership_id != partnership_id and default.partnership_challenged:
                programme_id = await self.repo.create_programme(school_cohort.id, fip, partnership_id, now)
                await self.repo.move_participants(default.id, programme_id, now)
                await self.repo.set_default_programme(school_cohort.id, programme_id, now)
            return
        programme_id = await self.repo.create_programme(school_cohort.id, fip, partnership_id, now)
        if default is not None:
            await self.repo.move_participants(default.id, programme_id, now)
        await self.repo.set_default_programme(
            school_cohort.id, programme_id, now, choice=InductionProgrammeChoice.FULL_INDUCTION_PROGRAMME
        )
