"""Declarations for the seeded training records, in every state a provider can meet.

`add_declarations` receives the ECF training records (`Builder.enrolments`) and the NPQ ones
(`Builder.npq_enrolments`) the scenarios built, and is the one place that adds declaration rows,
their state history, statement line items and NPQ outcomes.

ECF: every other eligible, started participant of each provider-cohort population gets a
`started` declaration, cycling through paid, eligible, submitted, awaiting clawback, voided,
payable and clawed back; a participant registered twice (two users sharing a TRN) has a second,
`ineligible` declaration superseded by the first. NPQ: each accepted participant gets a `started`
declaration in a state chosen by their scenario (unfunded ones stay submitted), and completed
participants of the leadership and specialist scenarios a `completed` one with a passed or failed
outcome.

Line items sit where the service would have put them: on the first output statement cut off
after the declaration was made (or, for a clawback, after it was voided), so a declaration's
state always agrees with its statement's state on the seeding day. A state that the cohort's
statements cannot support on that day (nothing open yet, nothing paid yet) falls back to one
they can, down to `submitted`, which needs no statement.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from app.domain.enums import DeclarationState, OutcomeState, ProfileType, ProgrammeType, StatementState
from app.models import DeclarationStateChange, ParticipantDeclaration, ParticipantOutcome, StatementLineItem
from app.seed import ids
from app.seed.builder import Enrolment, NpqEnrolment
from app.seed.finance import is_output_month, statement_dates, statement_months, statement_states
from app.seed.rows import Rows
from app.seed.schedules import find_schedule

S = DeclarationState
_ECF_CYCLE = (S.PAID, S.ELIGIBLE, S.SUBMITTED, S.AWAITING_CLAWBACK, S.VOIDED, S.PAYABLE, S.CLAWED_BACK)
# The states wanted, in order of preference, for an NPQ scenario's `started` declaration when the
# participant is funded (unfunded ones stay submitted).
_NPQ_STARTED: dict[str, tuple[DeclarationState, ...]] = {
    "senior-leadership": (S.PAID,),
    "headship": (S.PAYABLE,),
    "leading-teaching": (S.PAID,),
    "ehco": (S.AWAITING_CLAWBACK,),
    "itt-lead-mentor": (S.ELIGIBLE, S.VOIDED),
    "aso": (S.CLAWED_BACK,),
    "ecf-participant": (S.VOIDED,),
}
# Scenarios whose participants finished the course, and how.
_NPQ_COMPLETED = {"senior-leadership": OutcomeState.PASSED, "leading-teaching": OutcomeState.FAILED}
_NPQ_COURSE_DAYS = 540
_DAY = timedelta(days=1)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


@dataclass
class Statements:
    """One provider role's statements for a cohort, as they stand on the seeding day."""

    provider_name: str
    programme: ProgrammeType
    year: int
    today: date
    states: dict[date, StatementState] = field(init=False)
    output: list[date] = field(init=False)

    def __post_init__(self) -> None:
        self.states = statement_states(self.programme, self.year, self.today)
        self.output = [m for m in statement_months(self.year) if is_output_month(m)]

    def deadline(self, month: date) -> date:
        return statement_dates(self.programme, month)[0]

    def payment(self, month: date) -> date:
        return statement_dates(self.programme, month)[1]

    def attached_on(self, day: date) -> date | None:
        """The output statement a declaration made (or voided) on `day` is attached to."""
        return next((m for m in self.output if self.deadline(m) >= day), None)

    def opened_after(self, month: date) -> date:
        """The first day on which declarations attach to `month`."""
        earlier = [m for m in self.output if m < month]
        return self.deadline(earlier[-1]) + _DAY if earlier else date(self.year, 1, 1)

    def latest(self, state: StatementState) -> date | None:
        months = [m for m in self.output if self.states[m] is state]
        return months[-1] if months else None

    def first(self, state: StatementState) -> date | None:
        return next((m for m in self.output if self.states[m] is state), None)

    def id(self, month: date) -> uuid.UUID:
        return ids.statement_id(self.provider_name, self.programme.value, self.year, month)


@dataclass(frozen=True)
class Plan:
    state: DeclarationState
    created: datetime
    history: tuple[tuple[str, datetime], ...]
    items: tuple[tuple[date, str, datetime], ...] = ()
    voided_at: datetime | None = None


def _paid(st: Statements, declared: datetime) -> tuple[date, list[tuple[str, datetime]]] | None:
    month = st.attached_on(declared.date())
    if month is None or st.states[month] is not StatementState.PAID:
        return None
    history = [
        ("eligible", declared),
        ("payable", _at(st.deadline(month) + _DAY)),
        ("paid", _at(st.payment(month) - _DAY)),
    ]
    return month, history


def plan(st: Statements, declared: datetime, now: datetime, *wanted: DeclarationState) -> Plan:
    """How a declaration made at `declared` reached the first feasible state of `wanted`, else the
    nearest feasible one."""
    for state in (*wanted, S.PAID, S.ELIGIBLE, S.SUBMITTED):
        found = _plan(state, st, declared, now)
        if found is not None:
            return found
    raise AssertionError("a submitted declaration is always feasible")


def _plan(state: DeclarationState, st: Statements, declared: datetime, now: datetime) -> Plan | None:
    today = now.date()
    if state is S.SUBMITTED:
        return Plan(state, declared, (("submitted", declared),))
    if state is S.VOIDED:
        voided = declared + _DAY
        return Plan(state, declared, (("submitted", declared), ("voided", voided)), voided_at=voided)
    if state is S.ELIGIBLE:
        month = st.first(StatementState.OPEN)
        if month is None:
            return None
        created = max(declared, _at(st.opened_after(month)), _at(today) - timedelta(hours=9))
        created = min(created, now)
        return Plan(state, created, (("eligible", created),), ((month, "eligible", created),))
    if state is S.PAYABLE:
        month = st.latest(StatementState.PAYABLE)
        if month is None or declared.date() > st.deadline(month):
            return None
        created = max(declared, _at(st.opened_after(month)))
        payable = _at(st.deadline(month) + _DAY)
        return Plan(
            state, created, (("eligible", created), ("payable", payable)), ((month, "payable", created),)
        )
    if state is S.INELIGIBLE:
        month = st.attached_on(declared.date())
        attached = () if month is None else ((month, "ineligible", declared),)
        return Plan(state, declared, (("ineligible", declared),), attached)
    paid = _paid(st, declared)
    if paid is None:
        return None
    month, history = paid
    items = [(month, "paid", declared)]
    if state is S.PAID:
        return Plan(state, declared, tuple(history), tuple(items))
    if state is S.AWAITING_CLAWBACK:
        refund = st.first(StatementState.OPEN)
        if refund is None:
            return None
        voided = max(_at(today) - timedelta(hours=9), history[-1][1] + _DAY)
        if voided > now or st.attached_on(voided.date()) != refund:
            return None
        history.append(("awaiting_clawback", voided))
        items.append((refund, "awaiting_clawback", voided))
        return Plan(state, declared, tuple(history), tuple(items), voided_at=voided)
    if state is S.CLAWED_BACK:
        for refund in (m for m in st.output if m > month and st.states[m] is StatementState.PAID):
            voided = max(_at(st.opened_after(refund)), history[-1][1] + _DAY)
            if st.attached_on(voided.date()) == refund:
                history += [("awaiting_clawback", voided), ("clawed_back", _at(st.payment(refund) - _DAY))]
                items.append((refund, "clawed_back", voided))
                return Plan(state, declared, tuple(history), tuple(items), voided_at=voided)
        return None
    return None


@dataclass(frozen=True)
class Declaration:
    """What a seeded declaration is about; `plan` says how it got to its state."""

    key: str
    programme: ProgrammeType
    user_id: uuid.UUID
    profile_id: uuid.UUID
    cpd_lead_provider_id: uuid.UUID
    cohort: int
    declaration_type: str
    course_identifier: str
    declared: datetime
    delivery_partner_id: uuid.UUID | None = None
    mentor_user_id: uuid.UUID | None = None
    pupil_premium_uplift: bool = False
    sparsity_uplift: bool = False
    superseded_by_id: uuid.UUID | None = None


def _add(rows: Rows, d: Declaration, p: Plan, st: Statements) -> uuid.UUID:
    declaration_id = rows.add(
        ParticipantDeclaration,
        id=ids.uid("declaration", d.key, d.declaration_type),
        programme=d.programme.value,
        user_id=d.user_id,
        participant_profile_id=d.profile_id,
        cpd_lead_provider_id=d.cpd_lead_provider_id,
        cohort_id=ids.cohort_id(d.cohort),
        declaration_type=d.declaration_type,
        declaration_date=d.declared,
        course_identifier=d.course_identifier,
        state=p.state.value,
        state_reason="duplicate" if p.state is S.INELIGIBLE else None,
        evidence_held=None,
        delivery_partner_id=d.delivery_partner_id,
        mentor_user_id=d.mentor_user_id,
        pupil_premium_uplift=d.pupil_premium_uplift,
        sparsity_uplift=d.sparsity_uplift,
        superseded_by_id=d.superseded_by_id,
        voided_at=p.voided_at,
        created_at=p.created,
        updated_at=p.history[-1][1],
    )
    for step, (value, when) in enumerate(p.history):
        rows.add(
            DeclarationStateChange,
            id=ids.uid("declaration-state", d.key, d.declaration_type, step),
            participant_declaration_id=declaration_id,
            state=value,
            created_at=when,
            updated_at=when,
        )
    for month, item_state, when in p.items:
        rows.add(
            StatementLineItem,
            id=ids.uid("statement-line-item", d.key, d.declaration_type, item_state),
            statement_id=st.id(month),
            participant_declaration_id=declaration_id,
            state=item_state,
            created_at=when,
            updated_at=when,
        )
    return declaration_id


def add_declarations(
    rows: Rows, enrolments: list[Enrolment], npq_enrolments: list[NpqEnrolment], today: date
) -> None:
    now = datetime(today.year, today.month, today.day, tzinfo=UTC)
    statements: dict[tuple[str, ProgrammeType, int], Statements] = {}

    def statements_for(name: str, programme: ProgrammeType, year: int) -> Statements:
        key = (name, programme, year)
        if key not in statements:
            statements[key] = Statements(name, programme, year, today)
        return statements[key]

    started: dict[str, uuid.UUID] = {}
    declared_per_population: Counter[tuple[str, int]] = Counter()
    for e in enrolments:
        st = statements_for(e.provider.name, ProgrammeType.ECF, e.cohort)
        declaration = _ecf_started(e)
        if declaration.declared > now:
            continue
        if e.same_trn_as is not None:
            first = started.get(e.same_trn_as)
            if first is not None:
                later = declaration.declared + _DAY
                duplicate = replace(declaration, superseded_by_id=first, declared=later)
                _add(rows, duplicate, plan(st, later, now, S.INELIGIBLE), st)
            continue
        if e.declared_in_scenario:
            started[e.key] = _add(rows, declaration, plan(st, declaration.declared, now, S.PAID), st)
            continue
        declarable = (
            e.index is not None
            and e.index % 2 == 0
            and e.eligible
            and e.started
            # the `started` window of September schedules contains 1 October
            and e.schedule.endswith("-september")
        )
        if not declarable:
            continue
        population = (e.provider.slug, e.cohort)
        declared_per_population[population] += 1
        wanted = _ECF_CYCLE[declared_per_population[population] % len(_ECF_CYCLE)]
        started[e.key] = _add(rows, declaration, plan(st, declaration.declared, now, wanted), st)

    for n in npq_enrolments:
        _npq(rows, n, statements_for(n.provider.name, ProgrammeType.NPQ, n.cohort), now)


def _ecf_started(e: Enrolment) -> Declaration:
    return Declaration(
        key=e.key,
        programme=ProgrammeType.ECF,
        user_id=e.person.user_id,
        profile_id=e.profile_id,
        cpd_lead_provider_id=e.provider.cpd_id,
        cohort=e.cohort,
        declaration_type="started",
        course_identifier="ecf-induction" if e.kind is ProfileType.ECT else "ecf-mentor",
        declared=datetime(e.cohort, 10, 1, 10, tzinfo=UTC) + timedelta(minutes=e.index or 0),
        delivery_partner_id=e.delivery_partner_id,
        mentor_user_id=e.mentor_user_id if e.kind is ProfileType.ECT else None,
        pupil_premium_uplift=e.pupil_premium_uplift,
        sparsity_uplift=e.sparsity_uplift,
    )


def _npq(rows: Rows, n: NpqEnrolment, st: Statements, now: datetime) -> None:
    schedule = find_schedule(n.cohort, n.schedule)
    milestone = schedule.milestone("started") if schedule else None
    if milestone is None:
        return
    start = max(_at(milestone.start_date), n.accepted_at + timedelta(days=7)) + timedelta(days=10)
    base = Declaration(
        key=n.key,
        programme=ProgrammeType.NPQ,
        user_id=n.person.user_id,
        profile_id=n.profile_id,
        cpd_lead_provider_id=n.provider.cpd_id,
        cohort=n.cohort,
        declaration_type="started",
        course_identifier=n.course,
        declared=start,
    )
    if start > now:
        return
    wanted = _NPQ_STARTED.get(n.label, (S.ELIGIBLE,)) if n.funded else (S.SUBMITTED,)
    _add(rows, base, plan(st, start, now, *wanted), st)

    outcome = _NPQ_COMPLETED.get(n.label)
    completed_at = start + timedelta(days=_NPQ_COURSE_DAYS)
    if outcome is None or completed_at > now - timedelta(days=30):
        return
    completed = replace(base, declaration_type="completed", declared=completed_at)
    p = plan(st, completed_at, now, S.PAID if n.funded else S.SUBMITTED)
    declaration_id = _add(rows, completed, p, st)
    rows.add(
        ParticipantOutcome,
        id=ids.uid("participant-outcome", n.key),
        participant_declaration_id=declaration_id,
        state=outcome.value,
        completion_date=completed_at.date(),
        created_at=p.created,
        updated_at=p.created,
    )
