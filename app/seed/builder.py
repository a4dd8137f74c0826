"""Row builders for people, schools, programmes and ECF training records.

Scenarios describe *what* exists (a mentor at this school, a transfer to that provider); the
builder turns that into rows with deterministic ids (uuid5 of a natural key), names, TRNs and
timestamps, and remembers the ECF training records it made for later extensions (declarations).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.domain.enums import (
    EligibilityReason,
    EligibilityStatus,
    InductionProgrammeChoice,
    InductionStatus,
    ProfileType,
    TrainingProgramme,
    TrainingStatus,
)
from app.models import (
    DeliveryPartner,
    EcfParticipantEligibility,
    EcfParticipantValidationData,
    InductionCoordinatorProfile,
    InductionCoordinatorProfileSchool,
    InductionProgramme,
    InductionRecord,
    ParticipantIdentity,
    ParticipantProfile,
    ParticipantProfileState,
    Partnership,
    ProviderRelationship,
    School,
    SchoolCohort,
    SchoolMentor,
    TeacherProfile,
    User,
)
from app.seed import ids
from app.seed.names import DELIVERY_PARTNER_KINDS, FIRST_NAMES, PLACES, SCHOOL_KINDS, SURNAMES
from app.seed.reference import ProviderSeed
from app.seed.rows import Rows
from app.seed.schedules import DEFAULT_ECF_SCHEDULE
from app.seed.times import Clock, at

# Seeds every per-key random generator, so a key's name/TRN never depends on build order.
RANDOM_SEED = "cpd-api-sandbox"


def rng(key: str) -> random.Random:
    return random.Random(f"{RANDOM_SEED}/{key}")


def postcode(r: random.Random, town: str) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"  # the letters UK postcodes use in the inward code
    return f"{town[:2].upper()}{r.randrange(1, 20)} {r.randrange(1, 9)}{r.choice(letters)}{r.choice(letters)}"


@dataclass(frozen=True)
class Person:
    key: str
    user_id: uuid.UUID
    identity_id: uuid.UUID
    teacher_profile_id: uuid.UUID
    full_name: str
    email: str
    trn: str | None
    created_at: datetime


@dataclass(frozen=True)
class Place:
    """A school's induction programme in one cohort, partnered with `provider` (None: school-led)."""

    school_id: uuid.UUID
    urn: str
    school_cohort_id: uuid.UUID
    programme_id: uuid.UUID
    cohort: int
    provider: ProviderSeed | None
    delivery_partner_id: uuid.UUID | None


@dataclass(frozen=True)
class Enrolment:
    """An ECF training record as built, for extensions that add data per record (declarations)."""

    key: str
    provider: ProviderSeed
    person: Person
    profile_id: uuid.UUID
    kind: ProfileType
    cohort: int
    schedule: str
    pupil_premium_uplift: bool
    sparsity_uplift: bool
    mentor_user_id: uuid.UUID | None
    delivery_partner_id: uuid.UUID | None
    eligible: bool
    started: bool
    # Position in its provider-cohort's main population; None for one-off scenarios.
    index: int | None = None
    # One-off scenarios that want a declaration: a `started` one, or (for a second registration
    # of the same teacher) an ineligible duplicate of the declaration of the enrolment keyed here.
    declared_in_scenario: bool = False
    same_trn_as: str | None = None


@dataclass(frozen=True)
class NpqEnrolment:
    """An NPQ training record as built (accepted application), for its declarations."""

    key: str
    label: str
    provider: ProviderSeed
    person: Person
    profile_id: uuid.UUID
    course: str
    cohort: int
    schedule: str
    funded: bool
    accepted_at: datetime


@dataclass(frozen=True)
class Eligibility:
    status: EligibilityStatus
    reason: EligibilityReason = EligibilityReason.NONE


ELIGIBLE = Eligibility(EligibilityStatus.ELIGIBLE)


@dataclass
class Builder:
    rows: Rows
    today: date
    clock: Clock = field(default_factory=Clock)
    enrolments: list[Enrolment] = field(default_factory=list)
    npq_enrolments: list[NpqEnrolment] = field(default_factory=list)
    people: dict[str, Person] = field(default_factory=dict)
    # school cohort id -> its default induction programme id (set once both rows exist).
    defaults: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    _trns: set[str] = field(default_factory=set)
    _emails: set[str] = field(default_factory=set)

    @property
    def now(self) -> datetime:
        return datetime(self.today.year, self.today.month, self.today.day, 12, tzinfo=UTC)

    # ---- people ---------------------------------------------------------------------------------

    def person(
        self, key: str, year: int, *, trn: bool = True, origin: str = "ecf", trn_of: Person | None = None
    ) -> Person:
        """A user with their original identity (external_identifier = user id) and teacher profile.

        `trn_of`: the same teacher registered a second time, as another user with the same TRN.
        """
        if key in self.people:
            return self.people[key]
        r = rng(key)
        first, last = r.choice(FIRST_NAMES), r.choice(SURNAMES)
        user_id = ids.user_id(key)
        email = self.email(f"{first}.{last}".replace("'", "").lower(), user_id)
        created = self.clock.next(year)
        self.rows.add(
            User, id=user_id, full_name=f"{first} {last}", email=email, created_at=created, updated_at=created
        )
        identity = self.rows.add(
            ParticipantIdentity,
            id=ids.uid("identity", key),
            user_id=user_id,
            email=email,
            external_identifier=user_id,
            origin=origin,
            created_at=created,
            updated_at=created,
        )
        number = trn_of.trn if trn_of is not None else self.trn(key) if trn else None
        teacher = self.rows.add(
            TeacherProfile,
            id=ids.uid("teacher-profile", key),
            user_id=user_id,
            trn=number,
            created_at=created,
            updated_at=created,
        )
        person = Person(key, user_id, identity, teacher, f"{first} {last}", email, number, created)
        self.people[key] = person
        return person

    def trn(self, key: str) -> str:
        """A 7-digit teacher reference number, unique within the seed."""
        n = rng(f"trn/{key}").randrange(1_000_000, 10_000_000)
        while str(n) in self._trns:  # rare; deterministic because keys are built in a fixed order
            n = 1_000_000 + (n + 1 - 1_000_000) % 9_000_000
        self._trns.add(str(n))
        return str(n)

    def email(self, local: str, row_id: uuid.UUID, domain: str = "example.com") -> str:
        email = f"{local}.{row_id.hex[:8]}@{domain}"
        if email in self._emails:
            raise ValueError(f"seeded email {email} is not unique: change the key")
        self._emails.add(email)
        return email

    # ---- schools, partners, programmes ---------------------------------------------------------

    def school(
        self,
        urn: str,
        year: int,
        *,
        type_code: int = 1,
        status_code: int = 1,
        district: str = "E09000001",
        with_tutor: bool = True,
    ) -> uuid.UUID:
        r = rng(f"school/{urn}")
        place_name = r.choice(PLACES)
        name = f"{place_name} {r.choice(SCHOOL_KINDS)}"
        created = at(year - 1, 1, 10)
        school_id = self.rows.add(
            School,
            id=ids.uid("school", urn),
            urn=urn,
            name=name,
            ukprn=f"10{int(urn) % 1_000_000:06d}",
            school_type_code=type_code,
            school_status_code=status_code,
            administrative_district_code=district,
            section_41_approved=False,
            primary_contact_email=f"office.{urn}@example-school.org.uk",
            address_line1=f"{r.randrange(1, 200)} {r.choice(('High', 'Station', 'Church', 'Mill'))} Road",
            postcode=postcode(r, place_name),
            created_at=created,
            updated_at=created,
        )
        if with_tutor:
            # The school's induction tutor, named in partnership responses.
            tutor_key = f"tutor/{urn}"
            tutor = ids.user_id(tutor_key)
            first, last = r.choice(FIRST_NAMES), r.choice(SURNAMES)
            self.rows.add(
                User,
                id=tutor,
                full_name=f"{first} {last}",
                email=self.email(f"induction.tutor.{urn}", tutor, "example-school.org.uk"),
                created_at=created,
                updated_at=created,
            )
            profile = self.rows.add(
                InductionCoordinatorProfile,
                id=ids.uid("induction-coordinator", urn),
                user_id=tutor,
                created_at=created,
                updated_at=created,
            )
            self.rows.add(
                InductionCoordinatorProfileSchool,
                id=ids.uid("induction-coordinator-school", urn),
                induction_coordinator_profile_id=profile,
                school_id=school_id,
                created_at=created,
                updated_at=created,
            )
        return school_id

    def delivery_partner(self, provider: ProviderSeed, index: int, cohorts: tuple[int, ...]) -> uuid.UUID:
        """A delivery partner the provider may work with in `cohorts` (provider relationships)."""
        r = rng(f"dp/{provider.slug}/{index}")
        created = at(2020, 4, 1)
        dp = self.rows.add(
            DeliveryPartner,
            id=ids.delivery_partner_id(provider.name, index),
            name=f"{r.choice(PLACES)} {DELIVERY_PARTNER_KINDS[index % len(DELIVERY_PARTNER_KINDS)]}",
            created_at=created,
            updated_at=created,
        )
        for year in cohorts:
            created = at(year, 2, 1)
            self.rows.add(
                ProviderRelationship,
                id=ids.uid("provider-relationship", provider.name, index, year),
                lead_provider_id=provider.lead_provider_id,
                delivery_partner_id=dp,
                cohort_id=ids.cohort_id(year),
                created_at=created,
                updated_at=created,
            )
        return dp

    def school_cohort(self, school_id: uuid.UUID, year: int, choice: InductionProgrammeChoice) -> uuid.UUID:
        created = at(year, 3, 1)
        return self.rows.add(
            SchoolCohort,
            id=ids.uid("school-cohort", school_id, year),
            school_id=school_id,
            cohort_id=ids.cohort_id(year),
            induction_programme_choice=choice.value,
            created_at=created,
            updated_at=created,
        )

    def place(
        self,
        school_id: uuid.UUID,
        urn: str,
        year: int,
        provider: ProviderSeed | None,
        delivery_partner_id: uuid.UUID | None,
        *,
        challenged: bool = False,
        relationship: bool = False,
    ) -> Place:
        """A programme of the school in `year`: FIP partnered with `provider`, or CIP when None.

        A `relationship` partnership lets a transferring participant stay with their provider at
        a school that trains with someone else: it adds a programme but not the school's default.
        """
        fip = provider is not None
        choice = (
            InductionProgrammeChoice.FULL_INDUCTION_PROGRAMME
            if fip
            else InductionProgrammeChoice.CORE_INDUCTION_PROGRAMME
        )
        school_cohort = self.school_cohort(school_id, year, choice)
        created = at(year, 3, 2)
        partnership = None
        if provider is not None:
            partnership = self.rows.add(
                Partnership,
                id=ids.uid("partnership", school_id, provider.name, delivery_partner_id, year),
                school_id=school_id,
                lead_provider_id=provider.lead_provider_id,
                cohort_id=ids.cohort_id(year),
                delivery_partner_id=delivery_partner_id,
                challenged_at=at(year, 3, 20) if challenged else None,
                challenge_reason="mistake" if challenged else None,
                challenge_deadline=at(year, 3, 16),
                pending=False,
                relationship=relationship,
                created_at=created,
                updated_at=at(year, 3, 20) if challenged else created,
            )
        programme = self.rows.add(
            InductionProgramme,
            id=ids.uid("induction-programme", school_cohort, partnership),
            school_cohort_id=school_cohort,
            partnership_id=partnership,
            training_programme=(
                TrainingProgramme.FULL_INDUCTION_PROGRAMME
                if fip
                else TrainingProgramme.CORE_INDUCTION_PROGRAMME
            ).value,
            created_at=created,
            updated_at=created,
        )
        if not relationship:
            self.defaults[school_cohort] = programme
        return Place(school_id, urn, school_cohort, programme, year, provider, delivery_partner_id)

    # ---- ECF training records ------------------------------------------------------------------

    def profile(
        self,
        key: str,
        person: Person,
        kind: ProfileType,
        place: Place,
        *,
        identity_id: uuid.UUID | None = None,
        schedule: str = DEFAULT_ECF_SCHEDULE,
        created: datetime | None = None,
        eligibility: Eligibility | None = ELIGIBLE,
        validation_trn: str | None = None,
        mentor_profile_id: uuid.UUID | None = None,
        **values: Any,
    ) -> uuid.UUID:
        """An ECT or mentor profile with its eligibility (None: not checked yet)."""
        created = created or person.created_at
        profile_id = self.rows.add(
            ParticipantProfile,
            id=ids.uid("profile", key),
            profile_type=kind.value,
            participant_identity_id=identity_id or person.identity_id,
            teacher_profile_id=person.teacher_profile_id,
            schedule_id=ids.schedule_id(place.cohort, schedule),
            school_cohort_id=place.school_cohort_id,
            school_id=place.school_id,
            cohort_id=ids.cohort_id(place.cohort),
            mentor_profile_id=mentor_profile_id,
            created_at=created,
            updated_at=created,
            **values,
        )
        if eligibility is not None:
            reason = eligibility.reason
            self.rows.add(
                EcfParticipantEligibility,
                id=ids.uid("eligibility", key),
                participant_profile_id=profile_id,
                status=eligibility.status.value,
                reason=reason.value,
                qts=reason is not EligibilityReason.NO_QTS,
                active_flags=reason is EligibilityReason.ACTIVE_FLAGS,
                previous_participation=reason is EligibilityReason.PREVIOUS_PARTICIPATION,
                previous_induction=reason is EligibilityReason.PREVIOUS_INDUCTION,
                different_trn=reason is EligibilityReason.DIFFERENT_TRN,
                no_induction=reason is EligibilityReason.NO_INDUCTION,
                exempt_from_induction=reason is EligibilityReason.EXEMPT_FROM_INDUCTION,
                created_at=created,
                updated_at=created,
            )
        if validation_trn is not None:
            # What the school typed in; the API falls back to it when the teacher profile has no TRN.
            self.rows.add(
                EcfParticipantValidationData,
                id=ids.uid("validation-data", key),
                participant_profile_id=profile_id,
                full_name=person.full_name,
                date_of_birth=date(1990 + rng(key).randrange(0, 10), rng(key).randrange(1, 13), 14),
                trn=validation_trn,
                created_at=created,
                updated_at=created,
            )
        if kind is ProfileType.MENTOR:
            self.rows.add(
                SchoolMentor,
                id=ids.uid("school-mentor", key, place.school_id),
                participant_profile_id=profile_id,
                school_id=place.school_id,
                preferred_identity_id=identity_id or person.identity_id,
                created_at=created,
                updated_at=created,
            )
        return profile_id

    def record(
        self,
        key: str,
        profile_id: uuid.UUID,
        place: Place,
        identity_id: uuid.UUID,
        *,
        start: datetime,
        created: datetime,
        schedule: str = DEFAULT_ECF_SCHEDULE,
        end: datetime | None = None,
        induction_status: InductionStatus = InductionStatus.ACTIVE,
        training_status: TrainingStatus = TrainingStatus.ACTIVE,
        school_transfer: bool = False,
        mentor_profile_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """One placement (induction record) of a training record."""
        return self.rows.add(
            InductionRecord,
            id=ids.uid("induction-record", key),
            participant_profile_id=profile_id,
            induction_programme_id=place.programme_id,
            schedule_id=ids.schedule_id(place.cohort, schedule),
            start_date=start,
            end_date=end,
            induction_status=induction_status.value,
            training_status=training_status.value,
            school_transfer=school_transfer,
            mentor_profile_id=mentor_profile_id,
            preferred_identity_id=identity_id,
            created_at=created,
            updated_at=created,
        )

    def state(
        self,
        key: str,
        profile_id: uuid.UUID,
        provider: ProviderSeed,
        state: TrainingStatus,
        reason: str | None,
        at_time: datetime,
    ) -> None:
        """A provider's defer / resume / withdraw action on a training record."""
        self.rows.add(
            ParticipantProfileState,
            id=ids.uid("profile-state", key, state.value, at_time.isoformat()),
            participant_profile_id=profile_id,
            cpd_lead_provider_id=provider.cpd_id,
            state=state.value,
            reason=reason,
            created_at=at_time,
            updated_at=at_time,
        )

    def enrol(
        self,
        key: str,
        person: Person,
        kind: ProfileType,
        place: Place,
        *,
        start: datetime | None = None,
        schedule: str = DEFAULT_ECF_SCHEDULE,
        identity_id: uuid.UUID | None = None,
        mentor: tuple[uuid.UUID, uuid.UUID] | None = None,
        eligibility: Eligibility | None = ELIGIBLE,
        created: datetime | None = None,
        index: int | None = None,
        record: dict[str, Any] | None = None,
        declared_in_scenario: bool = False,
        same_trn_as: str | None = None,
        **profile_values: Any,
    ) -> uuid.UUID:
        """A training record at `place` with its first placement; `mentor` = (profile id, user id)."""
        created = created or person.created_at
        identity = identity_id or person.identity_id
        mentor_profile = mentor[0] if mentor else None
        record_values = dict(record or {})
        profile_id = self.profile(
            key,
            person,
            kind,
            place,
            identity_id=identity,
            schedule=schedule,
            created=created,
            eligibility=eligibility,
            mentor_profile_id=mentor_profile,
            training_status=record_values.get("training_status", TrainingStatus.ACTIVE).value,
            **profile_values,
        )
        start = start or datetime(place.cohort, 9, 1, tzinfo=UTC)
        self.record(
            key,
            profile_id,
            place,
            identity,
            start=start,
            created=created,
            schedule=schedule,
            mentor_profile_id=mentor_profile,
            **record_values,
        )
        if place.provider is not None:
            self.enrolments.append(
                Enrolment(
                    key=key,
                    provider=place.provider,
                    person=person,
                    profile_id=profile_id,
                    kind=kind,
                    cohort=place.cohort,
                    schedule=schedule,
                    pupil_premium_uplift=bool(profile_values.get("pupil_premium_uplift", False)),
                    sparsity_uplift=bool(profile_values.get("sparsity_uplift", False)),
                    mentor_user_id=mentor[1] if mentor else None,
                    delivery_partner_id=place.delivery_partner_id,
                    eligible=eligibility is not None and eligibility.status is EligibilityStatus.ELIGIBLE,
                    started=start <= self.now,
                    index=index,
                    declared_in_scenario=declared_in_scenario,
                    same_trn_as=same_trn_as,
                )
            )
        return profile_id

    def move(
        self,
        key: str,
        profile_id: uuid.UUID,
        identity_id: uuid.UUID,
        source: Place,
        target: Place,
        *,
        start: datetime,
        leave: datetime,
        created: datetime,
        declared_by: Person | None = None,
    ) -> None:
        """A school transfer: a `leaving` record at `source` ending at `leave`, and a record at
        `target` from the next day marked `school_transfer` (the pair the transfers endpoint reports).
        With `declared_by` (the ECT), `source`'s provider declared `started` while training them,
        so a new provider sees that declaration among its own.
        """
        if declared_by is not None and source.provider is not None:
            self.enrolments.append(
                Enrolment(
                    key=key,
                    provider=source.provider,
                    person=declared_by,
                    profile_id=profile_id,
                    kind=ProfileType.ECT,
                    cohort=source.cohort,
                    schedule=DEFAULT_ECF_SCHEDULE,
                    pupil_premium_uplift=False,
                    sparsity_uplift=False,
                    mentor_user_id=None,
                    delivery_partner_id=source.delivery_partner_id,
                    eligible=True,
                    started=start <= self.now,
                    declared_in_scenario=True,
                )
            )
        self.record(
            f"{key}/from",
            profile_id,
            source,
            identity_id,
            start=start,
            end=leave,
            induction_status=InductionStatus.LEAVING,
            created=created,
        )
        self.record(
            f"{key}/to",
            profile_id,
            target,
            identity_id,
            start=leave + timedelta(days=1),
            school_transfer=True,
            created=created + timedelta(days=1),
        )
