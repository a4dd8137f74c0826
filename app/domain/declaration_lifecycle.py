"""The declaration state machine: provider voids and the statement-driven payment transitions.

    (new) -> submitted -> eligible -> payable -> paid -> awaiting_clawback -> clawed_back
                 |  \\         |          |
                 |   ineligible (duplicate by TRN)
                 v           v          v
               voided  <- (submitted, eligible, payable, ineligible)

* A provider voids its own declaration: `paid` becomes `awaiting_clawback` with a clawback line
  item on the next open output statement; `submitted`, `eligible`, `payable` and `ineligible`
  become `voided` and their billable line item is voided with them.
* Operators move statements: past its deadline an open statement becomes payable (its eligible
  declarations with it); a payable statement is then marked paid (payable -> paid and
  awaiting_clawback -> clawed_back for the declarations on it).

Every transition writes a `declaration_states` row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.domain.audit import audit
from app.domain.auth import LeadProviderCaller
from app.domain.enums import DeclarationState, StatementState
from app.domain.errors import InvalidAction, NotFound, record_id
from app.domain.npq_courses import SUPPORT_OFFER_COURSES
from app.repositories.declaration_writes import DeclarationWriteRepository

S = DeclarationState
TRANSITIONS: dict[DeclarationState, frozenset[DeclarationState]] = {
    S.SUBMITTED: frozenset({S.ELIGIBLE, S.INELIGIBLE, S.VOIDED}),
    S.ELIGIBLE: frozenset({S.PAYABLE, S.VOIDED}),
    S.PAYABLE: frozenset({S.PAID, S.VOIDED}),
    S.PAID: frozenset({S.AWAITING_CLAWBACK}),
    S.INELIGIBLE: frozenset({S.VOIDED}),
    S.AWAITING_CLAWBACK: frozenset({S.CLAWED_BACK}),
    S.VOIDED: frozenset(),
    S.CLAWED_BACK: frozenset(),
}
VOIDABLE = (S.SUBMITTED, S.ELIGIBLE, S.PAYABLE, S.INELIGIBLE)

ALREADY_VOIDED = "This declaration has already been voided."
NOT_VOIDABLE = (
    "This declaration cannot be voided. "
    "Contact the DfE if you have any questions about why you cannot void it."
)
ALREADY_REFUNDED = "Participant declaration will or has been be refunded"
NO_CLAWBACK_STATEMENT = (
    "This declaration cannot be clawed back as there is no open output statement for its cohort. "
    "Contact the DfE for assistance."
)


def can_transition(from_state: str, to_state: str) -> bool:
    return DeclarationState(to_state) in TRANSITIONS[DeclarationState(from_state)]


class DeclarationVoiding:
    """`PUT /participant-declarations/{id}/void`: only the provider that made the declaration."""

    def __init__(self, session: AsyncSession, caller: LeadProviderCaller, clock: Clock) -> None:
        self.repo = DeclarationWriteRepository(session)
        self.caller = caller
        self.clock = clock

    async def void(self, declaration_id: str) -> uuid.UUID:
        ident = record_id(declaration_id)
        declaration = await self.repo.own_declaration_for_update(self.caller.cpd_lead_provider_id, ident)
        if declaration is None:
            raise NotFound()
        state = DeclarationState(declaration.state)
        if state is S.PAID:
            if await self.repo.has_line_item(ident, (S.AWAITING_CLAWBACK, S.CLAWED_BACK)):
                raise InvalidAction(ALREADY_REFUNDED)
            cohort_id = await self.repo.statement_cohort(declaration)
            statement_id = await self.repo.next_output_statement(
                self.caller.cpd_lead_provider_id, declaration.programme, cohort_id, self.clock.today()
            )
            if statement_id is None:
                raise InvalidAction(NO_CLAWBACK_STATEMENT)
            await self.repo.set_state(ident, S.AWAITING_CLAWBACK)
            await self.repo.record_state(ident, S.AWAITING_CLAWBACK)
            await self.repo.add_line_item(statement_id, ident, S.AWAITING_CLAWBACK)
        elif state is S.VOIDED:
            raise InvalidAction(ALREADY_VOIDED)
        elif state not in VOIDABLE:
            raise InvalidAction(NOT_VOIDABLE)
        else:
            await self.repo.set_state(ident, S.VOIDED, voided_at=self.clock.now())
            await self.repo.record_state(ident, S.VOIDED)
            await self.repo.move_line_items(ident, (S.ELIGIBLE, S.PAYABLE, S.INELIGIBLE), S.VOIDED)

        if (
            declaration.programme == "npq"
            and declaration.declaration_type == "completed"
            and declaration.course_identifier not in SUPPORT_OFFER_COURSES
            and await self.repo.latest_outcome_state(ident) != "voided"
        ):
            await self.repo.add_outcome(ident, "voided", declaration.declaration_date.date())
        if declaration.profile_type == "mentor" and declaration.declaration_type == "completed":
            await self.repo.refresh_mentor_completion(declaration.participant_profile_id)
        return ident


@dataclass(frozen=True)
class StatementTransition:
    statement_id: uuid.UUID
    name: str
    to_state: str
    declarations: int
    clawbacks: int = 0


class StatementPayments:
    """Operator actions that move statements, and the declarations on them, towards payment."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = DeclarationWriteRepository(session)

    async def mark_payable(self, statement_id: uuid.UUID, today: date) -> StatementTransition:
        statement = await self.repo.statement_for_update(statement_id)
        if statement is None:
            raise NotFound()
        if statement.state != StatementState.OPEN:
            raise InvalidAction(f"Statement {statement.name} is {statement.state}, not open")
        if statement.deadline_date >= today:
            raise InvalidAction(f"Statement {statement.name} is still open until {statement.deadline_date}")
        return await self._payable(statement.id, statement.name)

    async def mark_due_payable(self, today: date) -> list[StatementTransition]:
        """Every open statement whose deadline has passed (the daily run; catches up missed days)."""
        return [await self._payable(s.id, s.name) for s in await self.repo.open_statements_due(today)]

    async def _payable(self, statement_id: uuid.UUID, name: str) -> StatementTransition:
        moved = await self.repo.move_statement_declarations(statement_id, S.ELIGIBLE, S.PAYABLE)
        await self.repo.set_statement_state(statement_id, StatementState.PAYABLE, paid_at=None)
        await audit(self.session, "statement.payable", "statement", statement_id, declarations=moved)
        return StatementTransition(statement_id, name, StatementState.PAYABLE, moved)

    async def mark_paid(self, statement_id: uuid.UUID, now: datetime) -> StatementTransition:
        statement = await self.repo.statement_for_update(statement_id)
        if statement is None:
            raise NotFound()
        if statement.state != StatementState.PAYABLE:
            raise InvalidAction(f"Statement {statement.name} is {statement.state}, not payable")
        paid = await self.repo.move_statement_declarations(statement.id, S.PAYABLE, S.PAID)
        clawed = await self.repo.move_statement_declarations(statement.id, S.AWAITING_CLAWBACK, S.CLAWED_BACK)
        await self.repo.set_statement_state(statement.id, StatementState.PAID, paid_at=now)
        await audit(
            self.session, "statement.paid", "statement", statement.id, declarations=paid, clawbacks=clawed
        )
        return StatementTransition(statement.id, statement.name, StatementState.PAID, paid, clawed)
