"""Statements as DfE finance sees them: list, calculate, authorise payment.

`calculate` loads what the pure calculators need in a few grouped queries (the statement with
its provider's roles, the contract for the statement's contract version, line items counted by
declaration type and kind, finance adjustments) and returns the ECF or NPQ breakdown.
Transitions reuse the operators' statement commands (`StatementPayments`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.declaration_lifecycle import StatementPayments, StatementTransition
from app.domain.enums import ProgrammeType, ScheduleType, StatementState
from app.domain.errors import BadRequest, NotFound, ValidationFailed, record_id
from app.domain.finance.ecf_calculation import (
    Adjustment,
    Band,
    EcfBreakdown,
    EcfContract,
    EcfStatementInput,
    LineItemCounts,
    calculate_ecf,
)
from app.domain.finance.npq_calculation import (
    NpqBreakdown,
    NpqCourseContract,
    NpqCourseCounts,
    NpqStatementInput,
    calculate_npq,
)
from app.domain.npq_courses import NPQ_COURSE_FAMILIES
from app.domain.paging import Page
from app.repositories.finance import (
    ContractListFilters,
    EcfContractRow,
    FinanceRepository,
    FinanceStatement,
    NpqContractRow,
    StatementListFilters,
)

# How many output payments an NPQ course is paid in, when its contract does not say.
DEFAULT_PAYMENT_PERIODS: dict[ScheduleType, int] = {
    ScheduleType.NPQ_LEADERSHIP: 4,
    ScheduleType.NPQ_SPECIALIST: 3,
    ScheduleType.NPQ_SUPPORT: 4,
    ScheduleType.NPQ_EHCO: 4,
}
PROGRAMMES = tuple(p.value for p in ProgrammeType)
STATES = tuple(s.value for s in StatementState)


PROVIDER_FILTER_ERROR = "The filter '#/provider' must be a comma-separated list of lead provider ids"
PROGRAMME_FILTER_ERROR = "The filter '#/programme' must be ecf or npq"
STATE_FILTER_ERROR = "The filter '#/state' must be open, payable or paid"


def provider_filter(value: str | None) -> list[uuid.UUID] | None:
    """`filter[provider]`: CPD lead provider ids, comma-separated."""
    if value is None:
        return None
    try:
        return [uuid.UUID(part.strip()) for part in value.split(",") if part.strip()]
    except ValueError:
        raise BadRequest(PROVIDER_FILTER_ERROR) from None


def choice_filter(value: str | None, choices: tuple[str, ...], message: str) -> str | None:
    if value is None:
        return None
    if value.strip() not in choices:
        raise BadRequest(message)
    return value.strip()


def statement_filters(
    provider: str | None, cohort_years: list[int] | None, programme: str | None, state: str | None
) -> StatementListFilters:
    return StatementListFilters(
        provider_ids=provider_filter(provider),
        cohort_years=cohort_years,
        programme=choice_filter(programme, PROGRAMMES, PROGRAMME_FILTER_ERROR),
        state=choice_filter(state, STATES, STATE_FILTER_ERROR),
    )


def contract_filters(
    provider: str | None, cohort_years: list[int] | None, programme: str | None
) -> ContractListFilters:
    return ContractListFilters(
        provider_ids=provider_filter(provider),
        cohort_years=cohort_years,
        programme=choice_filter(programme, PROGRAMMES, PROGRAMME_FILTER_ERROR),
    )


def no_ecf_contract(statement: FinanceStatement) -> str:
    return (
        f"{statement.provider_name} has no ECF contract version {statement.contract_version} "
        f"for the {statement.cohort_year} cohort"
    )


def no_ecf_role(statement: FinanceStatement) -> str:
    return f"{statement.provider_name} is not an ECF lead provider"


def no_npq_role(statement: FinanceStatement) -> str:
    return f"{statement.provider_name} is not an NPQ lead provider"


def payment_periods(contract: NpqContractRow) -> int:
    if contract.number_of_payment_periods is not None:
        return contract.number_of_payment_periods
    family = NPQ_COURSE_FAMILIES.get(contract.course_identifier)
    return DEFAULT_PAYMENT_PERIODS.get(family, 0) if family is not None else 0


def ecf_contract(row: EcfContractRow) -> EcfContract:
    return EcfContract(
        recruitment_target=row.recruitment_target,
        set_up_fee=row.set_up_fee,
        monthly_service_fee=row.monthly_service_fee,
        uplift_amount=row.uplift_amount,
        bands=tuple(
            Band(
                min=b.min,
                max=b.max,
                per_participant=b.per_participant,
                output_payment_percentage=b.output_payment_percentage,
                service_fee_percentage=b.service_fee_percentage,
            )
            for b in row.bands
        ),
    )


def npq_contract(row: NpqContractRow) -> NpqCourseContract:
    return NpqCourseContract(
        course_identifier=row.course_identifier,
        recruitment_target=row.recruitment_target,
        per_participant=row.per_participant,
        service_fee_percentage=row.service_fee_percentage,
        output_payment_percentage=row.output_payment_percentage,
        service_fee_installments=row.service_fee_installments,
        number_of_payment_periods=payment_periods(row),
        monthly_service_fee=row.monthly_service_fee,
        targeted_delivery_funding_per_participant=row.targeted_delivery_funding_per_participant,
        special_course=row.special_course,
    )


@dataclass(frozen=True)
class StatementCalculation:
    statement: FinanceStatement
    breakdown: EcfBreakdown | NpqBreakdown


@dataclass(frozen=True)
class TransitionResult:
    transition: StatementTransition
    statement: FinanceStatement


class FinanceStatementService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = FinanceRepository(session)

    async def list_statements(self, filters: StatementListFilters, page: Page) -> list[FinanceStatement]:
        return await self.repo.list_statements(filters, page)

    async def get(self, statement_id: str) -> FinanceStatement:
        statement = await self.repo.statement(record_id(statement_id))
        if statement is None:
            raise NotFound()
        return statement

    async def calculate(self, statement_id: str) -> StatementCalculation:
        statement = await self.get(statement_id)
        if statement.programme == ProgrammeType.ECF:
            return StatementCalculation(statement, await self._ecf(statement))
        return StatementCalculation(statement, await self._npq(statement))

    async def _ecf(self, statement: FinanceStatement) -> EcfBreakdown:
        if statement.lead_provider_id is None:
            raise ValidationFailed([("statement", no_ecf_role(statement))])
        contract = await self.repo.ecf_contract(
            statement.lead_provider_id, statement.cohort_id, statement.contract_version
        )
        if contract is None:
            raise ValidationFailed([("statement", no_ecf_contract(statement))])
        current: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        previous: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        uplift = {True: [0, 0], False: [0, 0]}
        for count in await self.repo.ecf_counts(statement):
            kind = 0 if count.billable else 1
            (current if count.current else previous)[count.declaration_type][kind] += count.count
            if count.uplift and count.declaration_type == "started":
                uplift[count.current][kind] += count.count
        adjustments = await self.repo.finance_adjustments(statement.id)
        return calculate_ecf(
            EcfStatementInput(
                contract=ecf_contract(contract),
                current={t: LineItemCounts(*c) for t, c in current.items()},
                previous={t: LineItemCounts(*c) for t, c in previous.items()},
                uplift_current=LineItemCounts(*uplift[True]),
                uplift_previous=LineItemCounts(*uplift[False]),
                finance_adjustments=tuple(Adjustment(a.payment_type, a.amount) for a in adjustments),
                reconcile_amount=statement.reconcile_amount,
                vat_chargeable=bool(statement.ecf_vat_chargeable),
            )
        )

    async def _npq(self, statement: FinanceStatement) -> NpqBreakdown:
        if statement.npq_lead_provider_id is None:
            raise ValidationFailed([("statement", no_npq_role(statement))])
        contracts = await self.repo.npq_contracts(
            statement.npq_lead_provider_id, statement.cohort_id, statement.contract_version
        )
        billable: dict[str, dict[str, int]] = defaultdict(dict)
        refundable: dict[str, dict[str, int]] = defaultdict(dict)
        tdf: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for count in await self.repo.npq_counts(statement.id):
            course = count.course_identifier
            (billable if count.billable else refundable)[course][count.declaration_type] = count.participants
            if count.declaration_type == "started":
                tdf[course][0 if count.billable else 1] += count.tdf_participants
        courses = set(billable) | set(refundable)
        return calculate_npq(
            NpqStatementInput(
                cohort_year=statement.cohort_year,
                contracts=tuple(npq_contract(c) for c in contracts),
                counts={
                    course: NpqCourseCounts(
                        billable_by_type=billable.get(course, {}),
                        refundable_by_type=refundable.get(course, {}),
                        tdf_billable=tdf[course][0],
                        tdf_refundable=tdf[course][1],
                    )
                    for course in courses
                },
                reconcile_amount=statement.reconcile_amount,
            )
        )

    async def contracts(
        self, filters: ContractListFilters, page: Page
    ) -> list[EcfContractRow | NpqContractRow]:
        return await self.repo.list_contracts(filters, page)

    async def mark_payable(self, statement_id: str, today: date) -> TransitionResult:
        """An open statement past its deadline becomes payable (its eligible declarations too)."""
        ident = record_id(statement_id)
        transition = await StatementPayments(self.session).mark_payable(ident, today)
        return TransitionResult(transition, await self.get(statement_id))

    async def mark_paid(self, statement_id: str, now: datetime) -> TransitionResult:
        """Authorise payment of a payable statement: payable -> paid, awaiting clawback -> clawed back."""
        ident = record_id(statement_id)
        transition = await StatementPayments(self.session).mark_paid(ident, now)
        return TransitionResult(transition, await self.get(statement_id))
