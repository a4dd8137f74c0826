"""What DfE operators do through the internal API (`/api/internal/admin`).

Reference data: lead providers (a CPD lead provider with an ECF and/or an NPQ role, optionally with
its first API token), delivery partners (with the providers and cohorts they may work with),
cohorts, schedules with their milestones, and schools.

Participants:
* Funding eligibility of an ECF training record. When it becomes `eligible`, the record's
  `submitted` declarations become `eligible` and go on their provider's next output statement for
  the declaration's cohort (as the reference's eligibility check does); when it becomes
  `ineligible`, they become `ineligible` (no statement: an ineligible declaration is paid by none).
  Other states (eligible, payable, paid, ...) are never touched: undoing a payment is a void.
  Every declaration that moves gets a `declaration_states` row, written by the same repository
  as every other declaration transition.
* Induction completion of an ECT.
* Merging two users who are one person (e.g. users sharing a TRN, which NPQ acceptance does not
  de-duplicate): the retired user's identities move to the survivor and keep their
  external_identifier, so actions and declarations naming the retired id still resolve; training
  records and NPQ applications follow their identities; declarations follow the user; a
  `participant_id_changes` row records old id -> new id (earlier rows of the retired user are
  re-pointed to the survivor) and both users' updated_at move.

Every request is one transaction: each action validates everything first and reports all
problems at once (422, field by field), and writes nothing unless it is valid.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.domain.attributes import Attributes
from app.domain.audit import audit
from app.domain.auth import issue_token
from app.domain.declaration_lifecycle import can_transition
from app.domain.enums import (
    DeclarationState,
    DeclarationType,
    EligibilityReason,
    EligibilityStatus,
    ProfileType,
    ScheduleType,
    TokenScope,
)
from app.domain.errors import NotFound, ValidationFailed, record_id
from app.repositories.admin import (
    AdminRepository,
    CohortRow,
    DeliveryPartnerRow,
    LeadProviderRow,
    MergeCounts,
    MilestoneRow,
    ScheduleRow,
    SchoolRow,
    TrainingRecordRow,
)
from app.repositories.declaration_writes import DeclarationWriteRepository
from app.repositories.tokens import TokenRepository

TAKEN = "has already been taken"
UNKNOWN_COHORT = "is not a known cohort"
NO_ECF_ROLE = "is not a lead provider with an ECF role"
NEEDS_A_ROLE = "a lead provider needs an ECF or an NPQ role (or both)"
NOT_IN_START_YEAR = "must be in the cohort's start year"
BAD_IDENTIFIER = "must be lower-case letters, digits and hyphens"
DUPLICATE_TYPE = "appears more than once"
MILESTONE_BEFORE_START = "must not be before start_date"
NO_MILESTONES = "a schedule needs at least one milestone"
BAD_URN = "must be 5 to 8 digits"
BAD_UKPRN = "must be 8 digits"
UNKNOWN_LOCAL_AUTHORITY = "is not a known local authority code"
REASON_NEEDED = "can't be blank for an ineligible participant"
NOT_ECF = "is an NPQ training record: its funding eligibility belongs to its NPQ application"
NOT_AN_ECT = "is not an ECT's training record: only ECTs complete induction"
IN_FUTURE = "can't be in the future"
BEFORE_INDUCTION_START = "can't be before the induction start date ({start})"
SAME_PARTICIPANT = "must be another participant than from_participant_id"
RETIRED = "has been retired (merged into {survivor})"
NO_OUTPUT_STATEMENT = (
    "declaration {id} cannot become eligible: its provider has no open output statement for its "
    "cohort (load the statements first)"
)

_IDENTIFIER = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_URN = re.compile(r"^\d{5,8}$")
_UKPRN = re.compile(r"^\d{8}$")

S = DeclarationState


@dataclass(frozen=True)
class CreatedLeadProvider:
    provider: LeadProviderRow
    token: str | None


@dataclass(frozen=True)
class EligibilityChange:
    record: TrainingRecordRow
    declarations: dict[str, list[uuid.UUID]] = field(default_factory=dict)


@dataclass(frozen=True)
class Merge:
    id: uuid.UUID
    from_participant_id: uuid.UUID
    to_participant_id: uuid.UUID
    changed_at: datetime
    moved: MergeCounts


class AdminService:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self.session = session
        self.repo = AdminRepository(session)
        self.clock = clock

    # ---- reference data ---------------------------------------------------------------------------

    async def create_lead_provider(self, attributes: dict[str, Any], token_key: str) -> CreatedLeadProvider:
        attrs = Attributes(attributes, ("name", "ecf", "npq", "vat_chargeable", "issue_token"))
        name = attrs.text("name", required=True, max_length=255)
        ecf = bool(attrs.boolean("ecf"))
        npq = bool(attrs.boolean("npq"))
        vat = attrs.boolean("vat_chargeable")
        with_token = bool(attrs.boolean("issue_token"))
        if not ecf and not npq:
            attrs.fail("ecf", NEEDS_A_ROLE)
        attrs.check()
        assert name is not None
        now = self.clock.now()
        cpd_id = await self.repo.insert_cpd_lead_provider(name, now)
        if cpd_id is None:
            raise ValidationFailed([("name", TAKEN)])
        for wanted, table in ((ecf, "lead_providers"), (npq, "npq_lead_providers")):
            if wanted:
                await self.repo.insert_role(table, name, cpd_id, True if vat is None else vat, now)
        await audit(
            self.session, "lead_provider.created", "cpd_lead_provider", cpd_id, name=name, ecf=ecf, npq=npq
        )
        token = None
        if with_token:
            token = await issue_token(
                TokenRepository(self.session),
                token_key,
                scope=TokenScope.LEAD_PROVIDER,
                cpd_lead_provider_id=cpd_id,
                description="issued when the provider was created",
            )
        row = await self.repo.lead_provider(cpd_id)
        assert row is not None
        return CreatedLeadProvider(row, token)

    async def create_delivery_partner(self, attributes: dict[str, Any]) -> DeliveryPartnerRow:
        attrs = Attributes(attributes, ("name", "relationships"))
        name = attrs.text("name", required=True, max_length=255)
        wanted: list[tuple[uuid.UUID, uuid.UUID]] = []
        for i, item in enumerate(attrs.objects("relationships")):
            rel = attrs.nested("relationships", i, item, ("lead_provider_id", "cohort"))
            provider_id = rel.identifier("lead_provider_id", required=True)
            year = rel.integer("cohort", required=True, low=2020, high=2100)
            lead_provider_id = await self.repo.ecf_role(provider_id) if provider_id else None
            if provider_id is not None and lead_provider_id is None:
                rel.fail("lead_provider_id", NO_ECF_ROLE)
            cohort_id = await self.repo.cohort_id(year) if year is not None else None
            if year is not None and cohort_id is None:
                rel.fail("cohort", UNKNOWN_COHORT)
            if lead_provider_id is not None and cohort_id is not None:
                wanted.append((lead_provider_id, cohort_id))
        attrs.check()
        assert name is not None
        now = self.clock.now()
        partner_id = await self.repo.insert_delivery_partner(name, now)
        for lead_provider_id, cohort_id in dict.fromkeys(wanted):
            await self.repo.insert_relationship(lead_provider_id, partner_id, cohort_id, now)
        row = await self.repo.delivery_partner(partner_id)
        assert row is not None
        await audit(
            self.session,
            "delivery_partner.created",
            "delivery_partner",
            partner_id,
            name=name,
            relationships=[
                {"lead_provider_id": r.lead_provider_id, "cohort": r.cohort_year} for r in row.relationships
            ],
        )
        return row

    async def create_cohort(self, attributes: dict[str, Any]) -> CohortRow:
        dates = (
            "registration_start_date",
            "academic_year_start_date",
            "npq_registration_start_date",
            "automatic_assignment_period_end_date",
        )
        attrs = Attributes(attributes, ("start_year", *dates, "mentor_funding"))
        year = attrs.integer("start_year", required=True, low=2020, high=2100)
        values: dict[str, Any] = {name: attrs.day(name) for name in dates}
        values["mentor_funding"] = bool(attrs.boolean("mentor_funding"))
        academic = values["academic_year_start_date"]
        if year is not None and academic is not None and academic.year != year:
            attrs.fail("academic_year_start_date", NOT_IN_START_YEAR)
        attrs.check()
        assert year is not None
        values["start_year"] = year
        if values["academic_year_start_date"] is None:
            values["academic_year_start_date"] = date(year, 9, 1)
        cohort_id = await self.repo.insert_cohort(values, self.clock.now())
        if cohort_id is None:
            raise ValidationFailed([("start_year", TAKEN)])
        await audit(self.session, "cohort.created", "cohort", cohort_id, start_year=year)
        row = await self.repo.cohort(cohort_id)
        assert row is not None
        return row

    async def create_schedule(self, attributes: dict[str, Any]) -> ScheduleRow:
        attrs = Attributes(
            attributes,
            ("cohort", "schedule_identifier", "name", "schedule_type", "identifier_alias", "milestones"),
        )
        year = attrs.integer("cohort", required=True, low=2020, high=2100)
        identifier = attrs.text("schedule_identifier", required=True, max_length=100)
        if identifier is not None and not _IDENTIFIER.match(identifier):
            attrs.fail("schedule_identifier", BAD_IDENTIFIER)
        name = attrs.text("name", max_length=255) or identifier
        schedule_type = attrs.text("schedule_type", required=True, choices=list(ScheduleType))
        alias = attrs.text("identifier_alias", max_length=100)
        milestones: list[MilestoneRow] = []
        seen: set[str] = set()
        items = attrs.objects("milestones", required=True)
        if (
            attrs.has("milestones")
            and isinstance(attributes.get("milestones"), list)
            and not attributes["milestones"]
        ):
            attrs.fail("milestones", NO_MILESTONES)
        for i, item in enumerate(items):
            m = attrs.nested(
                "milestones",
                i,
                item,
                ("declaration_type", "name", "start_date", "milestone_date", "payment_date"),
            )
            declaration_type = m.text("declaration_type", required=True, choices=list(DeclarationType))
            start = m.day("start_date", required=True)
            end = m.day("milestone_date")
            payment = m.day("payment_date", required=True)
            label = m.text("name", max_length=255)
            if declaration_type is not None and declaration_type in seen:
                m.fail("declaration_type", DUPLICATE_TYPE)
            if start is not None and end is not None and end < start:
                m.fail("milestone_date", MILESTONE_BEFORE_START)
            if declaration_type is not None and start is not None and payment is not None:
                seen.add(declaration_type)
                milestones.append(
                    MilestoneRow(declaration_type, label or declaration_type, start, end, payment)
                )
        cohort_id = await self.repo.cohort_id(year) if year is not None else None
        if year is not None and cohort_id is None:
            attrs.fail("cohort", UNKNOWN_COHORT)
        attrs.check()
        assert (
            cohort_id is not None
            and identifier is not None
            and name is not None
            and schedule_type is not None
        )
        now = self.clock.now()
        schedule_id = await self.repo.insert_schedule(cohort_id, identifier, name, schedule_type, alias, now)
        if schedule_id is None:
            raise ValidationFailed([("schedule_identifier", TAKEN)])
        for milestone in milestones:
            await self.repo.insert_milestone(schedule_id, milestone, now)
        await audit(
            self.session,
            "schedule.created",
            "schedule",
            schedule_id,
            cohort=year,
            schedule_identifier=identifier,
            milestones=[m.declaration_type for m in milestones],
        )
        row = await self.repo.schedule(schedule_id)
        assert row is not None
        return row

    async def create_school(self, attributes: dict[str, Any]) -> SchoolRow:
        attrs = Attributes(
            attributes,
            (
                "urn",
                "name",
                "ukprn",
                "school_type_code",
                "school_status_code",
                "administrative_district_code",
                "section_41_approved",
                "primary_contact_email",
                "secondary_contact_email",
                "address_line1",
                "postcode",
                "local_authority_code",
            ),
        )
        values: dict[str, Any] = {
            "urn": attrs.text("urn", required=True, max_length=8),
            "name": attrs.text("name", required=True, max_length=255),
            "ukprn": attrs.text("ukprn", max_length=8),
            "school_type_code": attrs.integer("school_type_code", high=999),
            "school_status_code": attrs.integer("school_status_code", high=999),
            "administrative_district_code": attrs.text("administrative_district_code", max_length=20),
            "section_41_approved": bool(attrs.boolean("section_41_approved")),
            "primary_contact_email": attrs.email("primary_contact_email"),
            "secondary_contact_email": attrs.email("secondary_contact_email"),
            "address_line1": attrs.text("address_line1", max_length=255),
            "postcode": attrs.text("postcode", max_length=10),
        }
        if values["urn"] is not None and not _URN.match(values["urn"]):
            attrs.fail("urn", BAD_URN)
        if values["ukprn"] is not None and not _UKPRN.match(values["ukprn"]):
            attrs.fail("ukprn", BAD_UKPRN)
        code = attrs.text("local_authority_code", max_length=20)
        if code is not None:
            values["local_authority_id"] = await self.repo.local_authority_id(code)
            if values["local_authority_id"] is None:
                attrs.fail("local_authority_code", UNKNOWN_LOCAL_AUTHORITY)
        attrs.check()
        school_id = await self.repo.insert_school(values, self.clock.now())
        if school_id is None:
            raise ValidationFailed([("urn", TAKEN)])
        await audit(
            self.session, "school.created", "school", school_id, urn=values["urn"], name=values["name"]
        )
        row = await self.repo.school(school_id)
        assert row is not None
        return row

    # ---- ECF funding eligibility ------------------------------------------------------------------

    async def set_eligibility(self, training_record_id: str, attributes: dict[str, Any]) -> EligibilityChange:
        attrs = Attributes(attributes, ("status", "reason"))
        status = attrs.text("status", required=True, choices=list(EligibilityStatus))
        reason = attrs.text("reason", choices=list(EligibilityReason))
        if status == EligibilityStatus.INELIGIBLE and reason is None and not attrs.errors:
            attrs.fail("reason", REASON_NEEDED)
        # The record is locked before anything is read: a declaration being submitted for it holds
        # it (FOR SHARE) until it commits, so it is either moved here or created seeing the new
        # eligibility, never left `submitted` by a race.
        record = await self.repo.training_record(record_id(training_record_id), for_update=True)
        if record is None:
            raise NotFound()
        if record.profile_type == ProfileType.NPQ:
            attrs.fail("training_record_id", NOT_ECF)
        attrs.check()
        assert status is not None
        if reason is None and status == EligibilityStatus.ELIGIBLE:
            reason = EligibilityReason.NONE

        moved: dict[str, list[uuid.UUID]] = {}
        target = {EligibilityStatus.ELIGIBLE: S.ELIGIBLE, EligibilityStatus.INELIGIBLE: S.INELIGIBLE}.get(
            EligibilityStatus(status)
        )
        if target is not None:
            moved = await self._move_submitted(record.id, target, reason)
        await self.repo.set_eligibility(record.id, status, reason, self.clock.now())
        await audit(
            self.session,
            "ecf_participant_eligibility.updated",
            "participant_profile",
            record.id,
            status=status,
            reason=reason,
            previous_status=record.eligibility_status,
            declarations={state: ids for state, ids in moved.items()},
        )
        updated = await self.repo.training_record(record.id)
        assert updated is not None
        return EligibilityChange(updated, moved)

    async def _move_submitted(
        self, profile_id: uuid.UUID, target: DeclarationState, reason: str | None
    ) -> dict[str, list[uuid.UUID]]:
        writes = DeclarationWriteRepository(self.session)
        declarations = await self.repo.submitted_declarations(profile_id)
        statements: dict[uuid.UUID, uuid.UUID] = {}
        if target is S.ELIGIBLE:
            missing = []
            for d in declarations:
                cohort_id = await writes.statement_cohort(d)
                statement_id = await writes.next_output_statement(
                    d.cpd_lead_provider_id, d.programme, cohort_id, self.clock.today()
                )
                if statement_id is None:
                    missing.append(("status", NO_OUTPUT_STATEMENT.format(id=d.id)))
                else:
                    statements[d.id] = statement_id
            if missing:
                raise ValidationFailed(missing)
        for d in declarations:
            assert can_transition(d.state, target)
            await writes.set_state(d.id, target)
            await writes.record_state(d.id, target, None if target is S.ELIGIBLE else reason)
            if d.id in statements:
                await writes.add_line_item(statements[d.id], d.id, target)
        return {target.value: [d.id for d in declarations]} if declarations else {}

    # ---- induction completion ---------------------------------------------------------------------

    async def record_induction_completion(
        self, training_record_id: str, attributes: dict[str, Any]
    ) -> TrainingRecordRow:
        attrs = Attributes(attributes, ("induction_completion_date",))
        completed_on = attrs.day("induction_completion_date")
        if not attrs.has("induction_completion_date"):
            attrs.fail("induction_completion_date", "can't be blank (send null to clear it)")
        record = await self.repo.training_record(record_id(training_record_id), for_update=True)
        if record is None:
            raise NotFound()
        if record.profile_type != ProfileType.ECT:
            attrs.fail("training_record_id", NOT_AN_ECT)
        if completed_on is not None and completed_on > self.clock.today():
            attrs.fail("induction_completion_date", IN_FUTURE)
        start = record.induction_start_date
        if completed_on is not None and start is not None and completed_on < start:
            attrs.fail("induction_completion_date", BEFORE_INDUCTION_START.format(start=start.isoformat()))
        attrs.check()
        await self.repo.set_induction_completion(record.id, completed_on, self.clock.now())
        await audit(
            self.session,
            "participant_profile.induction_completed",
            "participant_profile",
            record.id,
            induction_completion_date=completed_on,
            previous=record.induction_completion_date,
        )
        updated = await self.repo.training_record(record.id)
        assert updated is not None
        return updated

    # ---- merging duplicate participants -----------------------------------------------------------

    async def merge(self, attributes: dict[str, Any]) -> Merge:
        attrs = Attributes(attributes, ("from_participant_id", "to_participant_id"))
        retired = attrs.identifier("from_participant_id", required=True)
        survivor = attrs.identifier("to_participant_id", required=True)
        if retired is not None and retired == survivor:
            attrs.fail("to_participant_id", SAME_PARTICIPANT)
        attrs.check()
        assert retired is not None and survivor is not None
        # Both users are locked in id order: concurrent merges touching either wait, and the
        # checks below see what the one before committed (e.g. that this user is now retired).
        users = await self.repo.lock_users([retired, survivor])
        if retired not in users or survivor not in users:
            raise NotFound()
        for name, user_id in (("from_participant_id", retired), ("to_participant_id", survivor)):
            lock = users[user_id]
            if lock.merged_into is not None or lock.archived_at is not None:
                attrs.fail(name, RETIRED.format(survivor=lock.merged_into or "another participant"))
        attrs.check()

        now = self.clock.now()
        identities = await self.repo.identity_ids(retired)
        await self.repo.move_identities(identities, survivor, now)
        await self._move_teacher_profile(retired, survivor, now)
        await self.repo.move_induction_tutor(retired, survivor, now)
        declarations = await self.repo.move_declarations(retired, survivor, now)
        profiles, applications = await self.repo.touch_records_of_identities(identities, now)
        change_id = await self.repo.record_id_change(retired, survivor, now)
        await self.repo.retire_user(retired, survivor, now)
        moved = MergeCounts(len(identities), profiles, applications, declarations)
        await audit(
            self.session,
            "participant.merged",
            "user",
            survivor,
            from_participant_id=retired,
            to_participant_id=survivor,
            identities=moved.identities,
            training_records=moved.training_records,
            npq_applications=moved.npq_applications,
            declarations=moved.declarations,
        )
        return Merge(change_id, retired, survivor, now, moved)

    async def _move_teacher_profile(self, retired: uuid.UUID, survivor: uuid.UUID, now: datetime) -> None:
        theirs = await self.repo.teacher_profile(retired)
        if theirs is None:
            return
        ours = await self.repo.teacher_profile(survivor)
        if ours is None:
            await self.repo.give_teacher_profile(theirs[0], survivor, now)
        else:
            # The survivor's TRN wins; it takes the retired one's only when it has none.
            await self.repo.fold_teacher_profile(theirs[0], ours[0], theirs[1], now)
