"""The NPQ statement calculation: per course, output payments, service fee, targeted delivery funding.

Pure, exact decimals, no rounding (see `money.to_pence` for display). Per course contract of the
statement's contract version:

* counts are of distinct (participant, declaration type) among the statement's line items of the
  course: billable (eligible, payable, paid) and refundable (awaiting clawback, clawed back);
* output payment per participant = price x output share / number of payment periods, the same for
  every declaration type; refundable items are clawed back at that price;
* service fee: the contract's `monthly_service_fee` when it states one (0 included), else
  recruitment target x price x service share / instalments (0 without a share or instalments);
* targeted delivery funding (cohorts from 2022, not the support offer or early headship coaching):
  a flat amount per billable `started` of an application eligible for it and for funding, and
  deducted again for refundable ones;
* course total = service fee + output payment - clawbacks + TDF - TDF refunds.

Special courses are calculated and shown apart, outside the statement total. Statement total =
the other courses' totals + the statement's reconcile amount (NPQ statements are net of VAT).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from app.domain.finance.money import ZERO

HUNDRED = Decimal("100")
TDF_FIRST_COHORT = 2022
# Courses paid on outputs only, without targeted delivery funding.
NO_TDF_COURSES = ("npq-additional-support-offer", "npq-early-headship-coaching-offer")


@dataclass(frozen=True)
class NpqCourseContract:
    course_identifier: str
    recruitment_target: int
    per_participant: Decimal
    service_fee_percentage: int = 40
    output_payment_percentage: int = 60
    service_fee_installments: int = 0
    number_of_payment_periods: int = 0
    monthly_service_fee: Decimal | None = None
    targeted_delivery_funding_per_participant: Decimal = Decimal("100")
    special_course: bool = False

    @property
    def output_payment_per_participant(self) -> Decimal:
        if not self.output_payment_percentage or not self.number_of_payment_periods:
            return ZERO
        return (
            self.per_participant * self.output_payment_percentage / (HUNDRED * self.number_of_payment_periods)
        )

    @property
    def calculated_service_fee(self) -> Decimal:
        # EHCO and ASO contracts have no service share and no instalments: guard the division.
        if not self.service_fee_percentage or not self.service_fee_installments:
            return ZERO
        return (
            self.recruitment_target
            * self.per_participant
            * self.service_fee_percentage
            / (HUNDRED * self.service_fee_installments)
        )

    @property
    def service_fee(self) -> Decimal:
        return self.calculated_service_fee if self.monthly_service_fee is None else self.monthly_service_fee


@dataclass(frozen=True)
class NpqCourseCounts:
    """Distinct (participant, declaration type) on the statement for one course."""

    billable_by_type: Mapping[str, int] = field(default_factory=dict)
    refundable_by_type: Mapping[str, int] = field(default_factory=dict)
    # Billable / refundable `started` of applications eligible for TDF and for funding.
    tdf_billable: int = 0
    tdf_refundable: int = 0

    @property
    def billable(self) -> int:
        return sum(self.billable_by_type.values())

    @property
    def refundable(self) -> int:
        return sum(self.refundable_by_type.values())


@dataclass(frozen=True)
class NpqStatementInput:
    cohort_year: int
    contracts: tuple[NpqCourseContract, ...]
    counts: Mapping[str, NpqCourseCounts] = field(default_factory=dict)
    reconcile_amount: Decimal = ZERO


@dataclass(frozen=True)
class NpqCourseBreakdown:
    course_identifier: str
    special_course: bool
    recruitment_target: int
    per_participant: Decimal
    billable_by_type: Mapping[str, int]
    refundable_by_type: Mapping[str, int]
    billable_count: int
    refundable_count: int
    output_payment_per_participant: Decimal
    output_payment: Decimal
    clawback_payment: Decimal
    service_fee: Decimal
    service_fee_derived: bool
    targeted_delivery_funding_applies: bool
    targeted_delivery_funding_per_participant: Decimal
    targeted_delivery_funding_count: int
    targeted_delivery_funding: Decimal
    targeted_delivery_funding_refundable_count: int
    targeted_delivery_funding_refundable: Decimal

    @property
    def course_total(self) -> Decimal:
        return (
            self.service_fee
            + self.output_payment
            - self.clawback_payment
            + self.targeted_delivery_funding
            - self.targeted_delivery_funding_refundable
        )


@dataclass(frozen=True)
class NpqBreakdown:
    courses: tuple[NpqCourseBreakdown, ...]
    special_courses: tuple[NpqCourseBreakdown, ...]
    reconcile_amount: Decimal

    @property
    def courses_total(self) -> Decimal:
        return sum((c.course_total for c in self.courses), ZERO)

    @property
    def total(self) -> Decimal:
        return self.courses_total + self.reconcile_amount


def targeted_delivery_funding_applies(cohort_year: int, course_identifier: str) -> bool:
    return cohort_year >= TDF_FIRST_COHORT and course_identifier not in NO_TDF_COURSES


def _course(cohort_year: int, contract: NpqCourseContract, counts: NpqCourseCounts) -> NpqCourseBreakdown:
    per_participant = contract.output_payment_per_participant
    tdf = targeted_delivery_funding_applies(cohort_year, contract.course_identifier)
    tdf_count = counts.tdf_billable if tdf else 0
    tdf_refundable = counts.tdf_refundable if tdf else 0
    tdf_each = contract.targeted_delivery_funding_per_participant
    return NpqCourseBreakdown(
        course_identifier=contract.course_identifier,
        special_course=contract.special_course,
        recruitment_target=contract.recruitment_target,
        per_participant=contract.per_participant,
        billable_by_type=dict(counts.billable_by_type),
        refundable_by_type=dict(counts.refundable_by_type),
        billable_count=counts.billable,
        refundable_count=counts.refundable,
        output_payment_per_participant=per_participant,
        output_payment=counts.billable * per_participant,
        clawback_payment=counts.refundable * per_participant,
        service_fee=contract.service_fee,
        service_fee_derived=contract.monthly_service_fee is None,
        targeted_delivery_funding_applies=tdf,
        targeted_delivery_funding_per_participant=tdf_each,
        targeted_delivery_funding_count=tdf_count,
        targeted_delivery_funding=tdf_count * tdf_each,
        targeted_delivery_funding_refundable_count=tdf_refundable,
        targeted_delivery_funding_refundable=tdf_refundable * tdf_each,
    )


def calculate_npq(data: NpqStatementInput) -> NpqBreakdown:
    ordered = sorted(data.contracts, key=lambda c: c.course_identifier)
    courses = [
        _course(data.cohort_year, c, data.counts.get(c.course_identifier, NpqCourseCounts())) for c in ordered
    ]
    return NpqBreakdown(
        courses=tuple(c for c in courses if not c.special_course),
        special_courses=tuple(c for c in courses if c.special_course),
        reconcile_amount=data.reconcile_amount,
    )
