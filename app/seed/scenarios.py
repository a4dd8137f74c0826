"""ECF sandbox scenarios for the six token providers, cohorts 2021-2024.

Visibility rule the data is shaped around: a provider sees a training record through its latest
induction record whose programme's partnership belongs to that provider and is unchallenged.

Per provider and cohort there is a main population (45 for Ambition, so its lists span pages,
30 for the others) at two partnered schools, cycling through every status combination; see
`variant`. One-off scenarios, mostly in cohort 2023, sit next to it; see `one_offs`:

* an ECT (2021) who became a mentor (2023) with the same provider: one user, two training records;
* unfunded mentors: ECTs mentored by a mentor trained with the next provider, and by a mentor
  with no induction record at all;
* transfers with the next provider in both directions, one complete and one in progress, a move
  between two schools of the same provider, and a move keeping the provider through a
  `relationship` partnership at a school that trains with the next provider;
* an ECT whose mentor changed (a `changed` record followed by an open one);
* a participant whose id changed (a retired user merged into a survivor);
* a challenged partnership and a school-led (CIP) school, whose participants nobody sees.

Plus a pool of schools without partnerships (eligible, CIP-only, closed, in Wales) for the
schools and partnership endpoints.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.domain.enums import (
    EligibilityReason,
    EligibilityStatus,
    InductionStatus,
    ProfileStatus,
    ProfileType,
    TrainingStatus,
)
from app.models import ParticipantIdChange, ParticipantIdentity, User
from app.seed import ids
from app.seed.builder import ELIGIBLE, Builder, Eligibility, Person, Place
from app.seed.reference import COHORTS, ECF_PROVIDERS, ProviderSeed
from app.seed.schedules import DEFAULT_ECF_SCHEDULE
from app.seed.times import at

POPULATION = {"ambition-token": 45}
DEFAULT_POPULATION = 30
DAY = timedelta(days=1)

_DEFERRAL_REASONS = ("bereavement", "long-term-sickness", "parental-leave", "career-break")
_WITHDRAWAL_REASONS = ("moved-school", "left-teaching-profession", "school-left-fip", "other")
_ECT_INELIGIBLE = (
    EligibilityReason.NO_QTS,
    EligibilityReason.ACTIVE_FLAGS,
    EligibilityReason.PREVIOUS_INDUCTION,
    EligibilityReason.EXEMPT_FROM_INDUCTION,
)
_MENTOR_INELIGIBLE = (
    EligibilityReason.PREVIOUS_PARTICIPATION,
    EligibilityReason.ACTIVE_FLAGS,
    EligibilityReason.DUPLICATE_PROFILE,
)


def september(year: int) -> datetime:
    return datetime(year, 9, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Variant:
    """What the i-th participant of a provider-cohort population looks like.

    Each property cycles with a different period, so a population of 30 covers every value and
    many combinations (a deferred mentor, a joining ECT with uplifts, ...).
    """

    kind: ProfileType
    school: int  # which of the cohort's two partnered schools
    status: str  # active, joining, leaving, left, withdrawn, completed, removed
    training: TrainingStatus
    resumed: bool  # deferred, then resumed (training active, with a state history)
    eligibility: Eligibility | None  # None: no eligibility row yet
    trn_missing: bool  # no TRN on the teacher profile; validation data holds one
    validation: bool
    schedule: str
    pupil_premium: bool
    sparsity: bool
    unmentored: bool


def variant(i: int) -> Variant:
    kind = ProfileType.MENTOR if i % 6 in (0, 1) else ProfileType.ECT
    status = {1: "joining", 2: "leaving", 3: "left", 4: "withdrawn", 5: "completed", 6: "removed"}.get(
        i % 13, "active"
    )
    if kind is ProfileType.MENTOR and status == "completed":
        status = "active"  # mentors do not complete an induction
    eligibility: Eligibility | None
    match i % 7:
        case 0:
            reasons = _MENTOR_INELIGIBLE if kind is ProfileType.MENTOR else _ECT_INELIGIBLE
            eligibility = Eligibility(EligibilityStatus.INELIGIBLE, reasons[(i // 7) % len(reasons)])
        case 1:
            reason = (
                EligibilityReason.DIFFERENT_TRN
                if kind is ProfileType.MENTOR or (i // 7) % 2 == 0
                else EligibilityReason.NO_INDUCTION
            )
            eligibility = Eligibility(EligibilityStatus.MANUAL_CHECK, reason)
        case 2:
            eligibility = None
        case 3:
            eligibility = Eligibility(EligibilityStatus.MATCHED)
        case _:
            eligibility = ELIGIBLE
    schedule = DEFAULT_ECF_SCHEDULE
    if kind is ProfileType.ECT:
        if i % 9 == 4:
            schedule = "ecf-extended-september"
        elif i % 9 == 7:
            schedule = "ecf-standard-january"
        elif i % 19 == 10:
            schedule = "ecf-reduced-september"
    elif i % 12 == 6:
        schedule = "ecf-replacement-september"
    ect = kind is ProfileType.ECT
    return Variant(
        kind=kind,
        school=i % 2,
        status=status,
        training={7: TrainingStatus.DEFERRED, 8: TrainingStatus.WITHDRAWN}.get(i % 10, TrainingStatus.ACTIVE),
        resumed=i % 20 == 19,
        eligibility=eligibility,
        trn_missing=i % 11 == 3,
        validation=i % 11 in (3, 8),
        schedule=schedule,
        pupil_premium=ect and i % 5 in (1, 3),
        sparsity=ect and i % 5 in (2, 3),
        unmentored=i % 17 == 9,
    )


class Places:
    """Each provider's partnered schools: school 0 trains with it every cohort, school 1 per cohort."""

    def __init__(self, b: Builder) -> None:
        self.b = b
        self.places: dict[tuple[str, int, int], Place] = {}
        self.partners: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}

    def build(self) -> None:
        for k, p in enumerate(ECF_PROVIDERS):
            dps = (self.b.delivery_partner(p, 0, COHORTS), self.b.delivery_partner(p, 1, COHORTS))
            self.partners[p.slug] = dps
            long_standing = urn(k, 0, 0)
            school = self.b.school(long_standing, COHORTS[0])
            for year in COHORTS:
                self.places[(p.slug, year, 0)] = self.b.place(school, long_standing, year, p, dps[0])
                number = urn(k, year, 1)
                this_year = self.b.school(number, year)
                self.places[(p.slug, year, 1)] = self.b.place(this_year, number, year, p, dps[1])

    def __call__(self, p: ProviderSeed, year: int, index: int) -> Place:
        return self.places[(p.slug, year, index)]


def urn(provider_index: int, year: int, school: int) -> str:
    """Readable URNs: 1 + provider number + cohort (00 for a school of every cohort) + school."""
    return f"1{provider_index + 1}{year % 100 if year else 0:02d}{school:02d}"


def build_ecf(b: Builder) -> None:
    places = Places(b)
    places.build()
    for p in ECF_PROVIDERS:
        for year in COHORTS:
            population(b, places, p, year)
    for k, p in enumerate(ECF_PROVIDERS):
        one_offs(b, places, k, p, ECF_PROVIDERS[(k + 1) % len(ECF_PROVIDERS)])
    school_pool(b)


# ---- the main population -------------------------------------------------------------------------


def population(b: Builder, places: Places, p: ProviderSeed, year: int) -> None:
    mentors: dict[int, list[tuple[uuid.UUID, uuid.UUID]]] = {0: [], 1: []}
    for i in range(POPULATION.get(p.token, DEFAULT_POPULATION)):
        v = variant(i)
        key = f"{p.slug}/{year}/p{i}"
        person = b.person(key, year, trn=not v.trn_missing)
        place = places(p, year, v.school)
        start = (
            datetime(year + 1, 1, 5, tzinfo=UTC) if v.schedule == "ecf-standard-january" else september(year)
        )
        record: dict[str, Any] = {"training_status": v.training}
        match v.status:
            case "joining":
                start = b.now + 30 * DAY
            case "leaving":
                record |= {"induction_status": InductionStatus.LEAVING, "end": b.now + 30 * DAY}
            case "left":
                record |= {
                    "induction_status": InductionStatus.LEAVING,
                    "end": max(b.now - 30 * DAY, start + DAY),
                }
            case "withdrawn" | "removed":
                record["induction_status"] = InductionStatus.WITHDRAWN
            case "completed":
                record["induction_status"] = InductionStatus.COMPLETED
        values: dict[str, Any] = {}
        if v.kind is ProfileType.ECT:
            values |= {
                "pupil_premium_uplift": v.pupil_premium,
                "sparsity_uplift": v.sparsity,
                "induction_start_date": start.date(),
            }
            if v.status == "completed":
                values["induction_completion_date"] = date(year + 2, 7, 20)
        else:
            values |= mentor_completion(year, len(mentors[0]) + len(mentors[1]))
        if v.status == "removed":
            values["status"] = ProfileStatus.WITHDRAWN.value  # removed by the school: the profile itself
        if v.validation:
            values["validation_trn"] = b.trn(f"validation/{key}") if v.trn_missing else person.trn
        school_mentors = mentors[v.school]
        mentor = (
            school_mentors[-1] if v.kind is ProfileType.ECT and school_mentors and not v.unmentored else None
        )
        profile = b.enrol(
            key,
            person,
            v.kind,
            place,
            start=start,
            schedule=v.schedule,
            mentor=mentor,
            eligibility=v.eligibility,
            index=i,
            record=record,
            **values,
        )
        provider_actions(b, key, profile, p, v, person.created_at, i)
        if v.kind is ProfileType.MENTOR:
            school_mentors.append((profile, person.user_id))


def mentor_completion(year: int, ordinal: int) -> dict[str, Any]:
    """Some mentors have a funding end date: early roll-out ones (2021) and completed ones."""
    if year == 2021 and ordinal == 2:
        return {
            "mentor_completion_date": date(2021, 4, 19),
            "mentor_completion_reason": "completed_during_early_roll_out",
        }
    if ordinal % 3 == 1:
        return {
            "mentor_completion_date": date(year + 2, 7, 31),
            "mentor_completion_reason": "completed_declaration_received",
        }
    return {}


def provider_actions(
    b: Builder, key: str, profile: uuid.UUID, p: ProviderSeed, v: Variant, created: datetime, i: int
) -> None:
    """The provider's defer / withdraw / resume history matching the record's training status."""
    if v.training is TrainingStatus.DEFERRED:
        b.state(
            key, profile, p, TrainingStatus.DEFERRED, _DEFERRAL_REASONS[(i // 10) % 4], created + 120 * DAY
        )
    elif v.training is TrainingStatus.WITHDRAWN:
        b.state(
            key, profile, p, TrainingStatus.WITHDRAWN, _WITHDRAWAL_REASONS[(i // 10) % 4], created + 120 * DAY
        )
    elif v.resumed:
        b.state(key, profile, p, TrainingStatus.DEFERRED, "parental-leave", created + 100 * DAY)
        b.state(key, profile, p, TrainingStatus.ACTIVE, None, created + 200 * DAY)


# ---- one-off scenarios ---------------------------------------------------------------------------


def one_offs(b: Builder, places: Places, k: int, p: ProviderSeed, other: ProviderSeed) -> None:
    base = f"{p.slug}/special"
    home, away = places(p, 2023, 0), places(p, 2023, 1)

    # An ECT of 2021 who became a mentor in 2023, with the same provider.
    person = b.person(f"{base}/ect-to-mentor", 2021)
    b.enrol(
        f"{base}/ect-to-mentor/ect",
        person,
        ProfileType.ECT,
        places(p, 2021, 1),
        record={"induction_status": InductionStatus.COMPLETED},
        induction_completion_date=date(2023, 7, 20),
    )
    b.enrol(
        f"{base}/ect-to-mentor/mentor",
        person,
        ProfileType.MENTOR,
        away,
        created=b.clock.next(2023),
    )

    # Unfunded mentors: ECTs here mentored by a mentor who trains with the next provider, and by a
    # mentor who has no induction record anywhere.
    elsewhere = b.person(f"{base}/unfunded/mentor-elsewhere", 2023)
    trained_elsewhere = b.enrol(
        f"{base}/unfunded/mentor-elsewhere", elsewhere, ProfileType.MENTOR, places(other, 2023, 0)
    )
    untrained = b.person(f"{base}/unfunded/mentor-untrained", 2023)
    untrained_profile = b.profile(
        f"{base}/unfunded/mentor-untrained", untrained, ProfileType.MENTOR, away, eligibility=None
    )
    for j, mentor in enumerate(((trained_elsewhere, elsewhere), (untrained_profile, untrained))):
        ect = b.person(f"{base}/unfunded/ect-{j}", 2023)
        b.enrol(f"{base}/unfunded/ect-{j}", ect, ProfileType.ECT, away, mentor=(mentor[0], mentor[1].user_id))

    # Transfers with the next provider: out and complete, out and still in progress, and in.
    for j, (source, target, complete) in enumerate(((p, other, True), (p, other, False), (other, p, True))):
        transfer(
            b,
            f"{base}/transfer-{j}",
            places(source, 2023, 0),
            places(target, 2023, 1),
            leave=b.now - 40 * DAY if complete else b.now + 20 * DAY,
        )
    # Between two schools of the same provider.
    transfer(b, f"{base}/school-move", home, away, leave=b.now - 60 * DAY)
    # To a school that trains with the next provider, keeping this provider through a relationship
    # partnership (which the partnerships endpoint never lists).
    their_school = places(other, 2023, 1)
    dp = places.partners[p.slug][0]
    kept = b.place(their_school.school_id, their_school.urn, 2023, p, dp, relationship=True)
    transfer(b, f"{base}/relationship-move", home, kept, leave=b.now - 50 * DAY)

    # The same teacher registered twice (two users, one TRN): the second registration's
    # declaration duplicates the first's, so it is ineligible.
    first = b.person(f"{base}/registered-twice/first", 2024)
    second = b.person(f"{base}/registered-twice/second", 2024, trn_of=first)
    for person, label in ((first, "first"), (second, "second")):
        b.enrol(
            f"{base}/registered-twice/{label}",
            person,
            ProfileType.ECT,
            places(p, 2024, 0 if label == "first" else 1),
            declared_in_scenario=label == "first",
            same_trn_as=f"{base}/registered-twice/first" if label == "second" else None,
        )

    mentor_change(b, base, p, places(p, 2022, 1))
    id_change(b, base, away)

    # Nobody sees these: a partnership the school challenged, and a school-led programme.
    challenged_urn, school_led_urn = urn(k, 2023, 98), urn(k, 2023, 99)
    for place in (
        b.place(b.school(challenged_urn, 2023), challenged_urn, 2023, p, dp, challenged=True),
        b.place(b.school(school_led_urn, 2023), school_led_urn, 2023, None, None),
    ):
        for j in range(2):
            key = f"{base}/hidden/{place.urn}/ect-{j}"
            b.enrol(key, b.person(key, 2023), ProfileType.ECT, place)


def transfer(b: Builder, key: str, source: Place, target: Place, *, leave: datetime) -> None:
    """An ECT registered at `source` in September 2023 who moves to `target` after `leave`; the
    source's provider declared `started` (paid), which a new provider then lists as well."""
    person = b.person(key, 2023)
    complete = leave < b.now
    # Once the move has happened the training record belongs to the new school.
    registered = target if complete else source
    profile = b.profile(key, person, ProfileType.ECT, registered, induction_start_date=date(2023, 9, 1))
    b.move(
        key,
        profile,
        person.identity_id,
        source,
        target,
        start=september(2023),
        leave=leave,
        created=person.created_at,
        declared_by=person,
    )


def mentor_change(b: Builder, base: str, p: ProviderSeed, place: Place) -> None:
    """A 2022 ECT whose mentor changed in January: the first record is closed as `changed`."""
    key = f"{base}/mentor-change"
    person = b.person(key, 2022)
    # The first two mentors of the main population who train at this school.
    at_school = [
        i
        for i in range(DEFAULT_POPULATION)
        if variant(i).kind is ProfileType.MENTOR and variant(i).school == 1
    ]
    first_mentor, second_mentor = (ids.uid("profile", f"{p.slug}/2022/p{i}") for i in at_school[:2])
    profile = b.profile(key, person, ProfileType.ECT, place, mentor_profile_id=second_mentor)
    changed_on = datetime(2023, 1, 9, tzinfo=UTC)
    b.record(
        f"{key}/first-mentor",
        profile,
        place,
        person.identity_id,
        start=september(2022),
        end=changed_on,
        induction_status=InductionStatus.CHANGED,
        mentor_profile_id=first_mentor,
        created=person.created_at,
    )
    b.record(
        f"{key}/second-mentor",
        profile,
        place,
        person.identity_id,
        start=changed_on,
        mentor_profile_id=second_mentor,
        created=changed_on,
    )


def id_change(b: Builder, base: str, place: Place) -> Person:
    """A participant registered twice: the retired user's identity and training record now
    belong to the survivor, and a participant_id_changes row records old id -> new id."""
    key = f"{base}/merged"
    survivor = b.person(f"{key}/survivor", 2023)
    # The duplicate registration came later, with its own identity and training record.
    retired_id = ids.user_id(f"{key}/retired")
    retired_at = b.clock.next(2023)
    merged_at = at(2023, 10, 2)
    old_email = b.email(
        survivor.full_name.lower().replace(" ", ".").replace("'", ""), retired_id, "example.org"
    )
    b.rows.add(
        User,
        id=retired_id,
        full_name=survivor.full_name,
        email=old_email,
        created_at=retired_at,
        updated_at=merged_at,
    )
    old_identity = b.rows.add(
        ParticipantIdentity,
        id=ids.uid("identity", f"{key}/retired"),
        user_id=survivor.user_id,
        email=old_email,
        external_identifier=retired_id,
        origin="ecf",
        created_at=retired_at,
        updated_at=merged_at,
    )
    b.enrol(key, survivor, ProfileType.ECT, place, identity_id=old_identity, created=retired_at)
    b.rows.add(
        ParticipantIdChange,
        id=ids.uid("participant-id-change", key),
        user_id=survivor.user_id,
        from_participant_id=retired_id,
        to_participant_id=survivor.user_id,
        created_at=merged_at,
        updated_at=merged_at,
    )
    return survivor


# ---- schools without partnerships ----------------------------------------------------------------


def school_pool(b: Builder) -> None:
    """Schools a provider could still partner with, and some it could not (for the schools API)."""
    eligible_types = (1, 2, 3, 5, 6, 7, 8, 12, 14, 15, 28, 34)
    for n, type_code in enumerate(eligible_types):
        b.school(f"2000{n:02d}", 2021, type_code=type_code, district=f"E0{6 + n % 4}000{10 + n:03d}")
    b.school("200050", 2021, type_code=10, with_tutor=False)  # CIP only (independent)
    b.school("200051", 2021, type_code=37, with_tutor=False)  # CIP only (British school overseas)
    b.school("200052", 2021, status_code=2, with_tutor=False)  # closed
    b.school("200053", 2021, district="W06000015", with_tutor=False)  # in Wales
