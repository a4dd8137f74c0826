"""Extension point: declarations for the seeded ECF training records.

`add_declarations` receives every ECF training record the scenarios built (`Builder.enrolments`)
and is the one place that adds declaration rows, their state history and statement line items,
so richer declaration scenarios (retained/completed, NPQ declarations and outcomes) belong here.

Today it gives every other eligible, started participant of each provider-cohort population a
`started` declaration, cycling through eligible, submitted, awaiting clawback, voided and paid.
Paid declarations sit on the cohort's first statement; eligible ones, and the clawback line of an
awaiting-clawback one, on the cohort's next output statement, as the reference attaches them.
A state that the cohort's statements cannot support today (no open output statement left, first
statement not paid yet) falls back to one they can.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from app.domain.enums import DeclarationState, ProfileType, ProgrammeType, StatementState
from app.models import DeclarationStateChange, ParticipantDeclaration, StatementLineItem
from app.seed import ids
from app.seed.builder import Enrolment
from app.seed.finance import next_output_month, statement_dates, statement_months, statement_state
from app.seed.rows import Rows

_CYCLE = (
    DeclarationState.PAID,
    DeclarationState.ELIGIBLE,
    DeclarationState.SUBMITTED,
    DeclarationState.AWAITING_CLAWBACK,
    DeclarationState.VOIDED,
)
_HISTORY = {
    DeclarationState.PAID: ("eligible", "payable", "paid"),
    DeclarationState.ELIGIBLE: ("eligible",),
    DeclarationState.SUBMITTED: ("submitted",),
    DeclarationState.AWAITING_CLAWBACK: ("eligible", "payable", "paid", "awaiting_clawback"),
    DeclarationState.VOIDED: ("submitted", "voided"),
}


def add_declarations(rows: Rows, enrolments: list[Enrolment], today: date) -> None:
    now = datetime(today.year, today.month, today.day, tzinfo=UTC)
    declared: Counter[tuple[str, int]] = Counter()
    for e in enrolments:
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
        declared[(e.provider.slug, e.cohort)] += 1
        _started(rows, e, declared[(e.provider.slug, e.cohort)], today, now)


def _feasible_state(wanted: DeclarationState, first_paid: bool, open_month: date | None) -> DeclarationState:
    if wanted in (DeclarationState.PAID, DeclarationState.AWAITING_CLAWBACK) and not first_paid:
        wanted = DeclarationState.ELIGIBLE
    if wanted is DeclarationState.AWAITING_CLAWBACK and open_month is None:
        wanted = DeclarationState.PAID
    if wanted is DeclarationState.ELIGIBLE and open_month is None:
        wanted = DeclarationState.PAID if first_paid else DeclarationState.SUBMITTED
    return wanted


def _started(rows: Rows, e: Enrolment, n: int, today: date, now: datetime) -> None:
    declared_at = datetime(e.cohort, 10, 1, 10, tzinfo=UTC) + timedelta(minutes=e.index or 0)
    if declared_at > now:
        return
    first_month = statement_months(e.cohort)[0]
    first_paid = (
        statement_state(*statement_dates(ProgrammeType.ECF, first_month), today) is StatementState.PAID
    )
    open_month = next_output_month(ProgrammeType.ECF, e.cohort, today)
    state = _feasible_state(_CYCLE[n % len(_CYCLE)], first_paid, open_month)
    history = _HISTORY[state]
    declaration_id = rows.add(
        ParticipantDeclaration,
        id=ids.uid("declaration", e.key, "started"),
        programme=ProgrammeType.ECF.value,
        user_id=e.person.user_id,
        participant_profile_id=e.profile_id,
        cpd_lead_provider_id=e.provider.cpd_id,
        cohort_id=ids.cohort_id(e.cohort),
        declaration_type="started",
        declaration_date=declared_at,
        course_identifier="ecf-induction" if e.kind is ProfileType.ECT else "ecf-mentor",
        state=state.value,
        evidence_held=None,
        delivery_partner_id=e.delivery_partner_id,
        mentor_user_id=e.mentor_user_id if e.kind is ProfileType.ECT else None,
        pupil_premium_uplift=e.pupil_premium_uplift,
        sparsity_uplift=e.sparsity_uplift,
        voided_at=declared_at + timedelta(days=1) if state is DeclarationState.VOIDED else None,
        created_at=declared_at,
        updated_at=declared_at + timedelta(days=len(history) - 1),
    )
    for step, value in enumerate(history):
        when = declared_at + timedelta(days=step)
        rows.add(
            DeclarationStateChange,
            id=ids.uid("declaration-state", e.key, step),
            participant_declaration_id=declaration_id,
            state=value,
            created_at=when,
            updated_at=when,
        )
    first = ids.statement_id(e.provider.name, ProgrammeType.ECF.value, e.cohort, first_month)
    items: list[tuple[uuid.UUID, str]] = []
    if state is DeclarationState.PAID:
        items.append((first, "paid"))
    elif state is DeclarationState.AWAITING_CLAWBACK and open_month is not None:
        items += [
            (first, "paid"),
            (
                ids.statement_id(e.provider.name, ProgrammeType.ECF.value, e.cohort, open_month),
                "awaiting_clawback",
            ),
        ]
    elif state is DeclarationState.ELIGIBLE and open_month is not None:
        items.append(
            (ids.statement_id(e.provider.name, ProgrammeType.ECF.value, e.cohort, open_month), "eligible")
        )
    for statement, item_state in items:
        rows.add(
            StatementLineItem,
            id=ids.uid("statement-line-item", e.key, item_state),
            statement_id=statement,
            participant_declaration_id=declaration_id,
            state=item_state,
            created_at=declared_at,
            updated_at=declared_at,
        )
