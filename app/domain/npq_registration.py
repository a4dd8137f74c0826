"""The NPQ registration service's side of applications: it creates them (finding or creating the
applicant) and later changes their funding eligibility. Lead providers then list, accept and
reject them through the provider API (`app.domain.npq_applications`), which knows nothing of
where they came from.

An applicant is named either by an existing participant id (a retired, merged id resolves to the
surviving user) or by email: an email already known (as an identity or a user) is that person, a
new one creates the user with its original identity. Registrations of one email are serialised by
an advisory lock so two concurrent ones cannot both create the person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.domain.attributes import Attributes
from app.domain.audit import audit
from app.domain.enums import NPQ_COURSE_IDENTIFIERS
from app.domain.errors import NotFound, ValidationFailed, record_id
from app.repositories.npq_applications import APPLICATION_FIELDS
from app.repositories.npq_registration import NpqRegistrationRepository, RegisteredApplication
from app.repositories.participant_lookup import Identity

HEADTEACHER_STATUSES = (
    "no",
    "yes_when_course_starts",
    "yes_in_first_two_years",
    "yes_over_two_years",
    "yes_in_first_five_years",
    "yes_over_five_years",
)
FUNDING_CHOICES = ("school", "trust", "self", "another", "employer")
CATCHMENTS = ("england", "scotland", "wales", "northern_ireland", "jersey_guernsey_isle_of_man", "another")

# Every application field: its JSON type, and for text its allowed values or length.
# "flag": boolean, never null; "maybe": boolean or null.
FIELD_KINDS: dict[str, tuple[str, Any]] = {
    "eligible_for_funding": ("flag", None),
    "funding_eligiblity_status_code": ("text", 100),
    "targeted_delivery_funding_eligibility": ("flag", None),
    "targeted_support_funding_eligibility": ("flag", None),
    "tsf_primary_eligibility": ("flag", None),
    "tsf_primary_plus_eligibility": ("flag", None),
    "funded_place": ("maybe", None),
    "teacher_reference_number": ("text", 20),
    "teacher_reference_number_verified": ("flag", None),
    "date_of_birth": ("date", None),
    "nino": ("text", 20),
    "school_urn": ("text", 20),
    "school_ukprn": ("text", 20),
    "headteacher_status": ("choice", HEADTEACHER_STATUSES),
    "funding_choice": ("choice", FUNDING_CHOICES),
    "works_in_school": ("maybe", None),
    "works_in_nursery": ("maybe", None),
    "works_in_childcare": ("maybe", None),
    "kind_of_nursery": ("text", 100),
    "private_childcare_provider_urn": ("text", 20),
    "employer_name": ("text", 255),
    "employment_role": ("text", 255),
    "employment_type": ("text", 100),
    "teacher_catchment": ("choice", CATCHMENTS),
    "teacher_catchment_country": ("text", 255),
    "teacher_catchment_iso_country_code": ("iso", None),
    "itt_provider": ("text", 255),
    "lead_mentor": ("flag", None),
    "primary_establishment": ("flag", None),
    "number_of_pupils": ("int", None),
    "notes": ("text", 1000),
}
assert set(FIELD_KINDS) == set(APPLICATION_FIELDS)

# What the registration service may change after creating an application.
ELIGIBILITY_FIELDS = (
    "eligible_for_funding",
    "funding_eligiblity_status_code",
    "targeted_delivery_funding_eligibility",
    "targeted_support_funding_eligibility",
    "tsf_primary_eligibility",
    "tsf_primary_plus_eligibility",
    "funded_place",
    "notes",
)
APPLICANT_FIELDS = ("participant_id", "email", "full_name")
CREATE_FIELDS = (*APPLICANT_FIELDS, "course_identifier", "lead_provider_id", "cohort", *APPLICATION_FIELDS)

UNKNOWN_COURSE = "is not a known NPQ course"
NO_NPQ_ROLE = "is not a lead provider with an NPQ role"
UNKNOWN_COHORT = "is not a known cohort"
UNKNOWN_PARTICIPANT = "is not a known participant"
NAME_APPLICANT = "send either participant_id (an existing participant) or email (and full_name)"
NOTHING_TO_UPDATE = "send at least one of: {fields}"
NOT_AN_ISO_CODE = "must be a three-letter ISO 3166 country code"


def read_fields(attrs: Attributes, names: tuple[str, ...], *, partial: bool) -> dict[str, Any]:
    """The named application fields that were sent, typed. On a partial update a field sent as
    null clears it where the column allows null; a never-null flag cannot be cleared."""
    values: dict[str, Any] = {}
    for name in names:
        if not attrs.has(name):
            continue
        kind, option = FIELD_KINDS[name]
        value: Any
        if kind in ("flag", "maybe"):
            value = attrs.boolean(name, required=kind == "flag")
        elif kind == "text":
            value = attrs.text(name, max_length=option)
        elif kind == "choice":
            value = attrs.text(name, choices=option)
        elif kind == "iso":
            value = attrs.text(name, max_length=3)
            if value is not None and not (len(value) == 3 and value.isalpha() and value.isupper()):
                attrs.fail(name, NOT_AN_ISO_CODE)
                value = None
        elif kind == "int":
            value = attrs.integer(name, high=1_000_000)
        else:
            value = attrs.day(name)
        if value is not None or (partial and kind != "flag"):
            values[name] = value
    return values


class NpqRegistrationService:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self.session = session
        self.repo = NpqRegistrationRepository(session)
        self.clock = clock

    async def create(self, attributes: dict[str, Any]) -> RegisteredApplication:
        attrs = Attributes(attributes, CREATE_FIELDS)
        participant_id = attrs.identifier("participant_id")
        email = attrs.email("email")
        full_name = attrs.text("full_name", max_length=255)
        course = attrs.text("course_identifier", required=True, max_length=100)
        provider_id = attrs.identifier("lead_provider_id", required=True)
        cohort = attrs.integer("cohort", required=True, low=2020, high=2100)
        fields = read_fields(attrs, APPLICATION_FIELDS, partial=False)
        if attrs.has("participant_id") == attrs.has("email"):
            attrs.fail("participant_id", NAME_APPLICANT)

        course_id = None
        if course is not None:
            course_id = await self.repo.course_id(course) if course in NPQ_COURSE_IDENTIFIERS else None
            if course_id is None:
                attrs.fail("course_identifier", UNKNOWN_COURSE)
        role = await self.repo.npq_role(provider_id) if provider_id is not None else None
        if provider_id is not None and role is None:
            attrs.fail("lead_provider_id", NO_NPQ_ROLE)
        cohort_id = await self.repo.cohort_id(cohort) if cohort is not None else None
        if cohort is not None and cohort_id is None:
            attrs.fail("cohort", UNKNOWN_COHORT)
        identity = None
        if participant_id is not None:
            identity = await self.repo.identity_of_participant(participant_id)
            if identity is None:
                attrs.fail("participant_id", UNKNOWN_PARTICIPANT)
        attrs.check()
        assert role is not None and course_id is not None and cohort_id is not None

        now = self.clock.now()
        if identity is None:
            assert email is not None
            identity = await self._applicant(email, full_name, now)
        application_id = await self.repo.insert_application(
            identity.id, role.npq_lead_provider_id, course_id, cohort_id, fields, now
        )
        await audit(
            self.session,
            "npq_application.created",
            "npq_application",
            application_id,
            participant_id=identity.user_id,
            course_identifier=course,
            npq_lead_provider_id=role.npq_lead_provider_id,
            cohort=cohort,
        )
        return await self.get(str(application_id))

    async def _applicant(self, email: str, full_name: str | None, now: datetime) -> Identity:
        await self.repo.lock_email(email)
        identity = await self.repo.identity_by_email(email)
        if identity is not None:
            return identity
        if await self.repo.email_taken_by_user_without_identity(email):
            # A user row with this email and no identity at all: not a state this service creates.
            raise ValidationFailed(
                [("email", "belongs to a user without an identity; merge or fix it first")]
            )
        if full_name is None:
            raise ValidationFailed([("full_name", "can't be blank (a new participant needs a name)")])
        identity = await self.repo.create_person(full_name, email, now)
        await audit(self.session, "participant.created", "user", identity.user_id, origin="npq")
        return identity

    async def get(self, application_id: str) -> RegisteredApplication:
        found = await self.repo.application(record_id(application_id))
        if found is None:
            raise NotFound()
        return found

    async def update_eligibility(
        self, application_id: str, attributes: dict[str, Any]
    ) -> RegisteredApplication:
        ident = record_id(application_id)
        if not await self.repo.lock_application(ident):
            raise NotFound()
        attrs = Attributes(attributes, ELIGIBILITY_FIELDS)
        fields = read_fields(attrs, ELIGIBILITY_FIELDS, partial=True)
        if not attributes:
            attrs.fail("base", NOTHING_TO_UPDATE.format(fields=", ".join(ELIGIBILITY_FIELDS)))
        attrs.check()
        before = await self.get(application_id)
        changed = {k: v for k, v in fields.items() if before.fields.get(k) != v}
        if changed:
            await self.repo.update_application(
                ident, changed, self.clock.now(), eligibility_changed="eligible_for_funding" in changed
            )
            await audit(
                self.session,
                "npq_application.eligibility_updated",
                "npq_application",
                ident,
                changes={k: [before.fields.get(k), v] for k, v in changed.items()},
            )
        return await self.get(application_id)
