"""The NPQ calculator on its own: the reference's worked example and the service-fee rules."""

from __future__ import annotations

from decimal import Decimal

from app.domain.finance.money import money_text
from app.domain.finance.npq_calculation import (
    NpqCourseContract,
    NpqCourseCounts,
    NpqStatementInput,
    calculate_npq,
)

D = Decimal

# The reference's factory contract: npq-leading-teaching at £800, 72 places, 19 instalments.
LEADING_TEACHING = NpqCourseContract(
    course_identifier="npq-leading-teaching",
    recruitment_target=72,
    per_participant=D("800"),
    service_fee_installments=19,
    number_of_payment_periods=3,
    monthly_service_fee=None,
)
EXAMPLE_COUNTS = NpqCourseCounts(
    billable_by_type={"started": 6, "retained-1": 4},
    refundable_by_type={"started": 1},
    tdf_billable=3,
)


def test_worked_example_to_the_penny() -> None:
    b = calculate_npq(
        NpqStatementInput(
            cohort_year=2022, contracts=(LEADING_TEACHING,), counts={"npq-leading-teaching": EXAMPLE_COUNTS}
        )
    )
    [course] = b.courses
    assert money_text(course.output_payment_per_participant) == "160.00"
    assert (course.billable_count, course.refundable_count) == (10, 1)
    assert money_text(course.output_payment) == "1600.00"
    assert money_text(course.clawback_payment) == "160.00"
    assert course.service_fee == D("2304000") / D("1900")
    assert str(course.service_fee).startswith("1212.631578")
    assert money_text(course.service_fee) == "1212.63"
    assert course.service_fee_derived
    assert money_text(course.targeted_delivery_funding) == "300.00"
    assert money_text(course.course_total) == "2952.63"
    assert money_text(b.total) == "2952.63"


def test_zero_monthly_service_fee_is_a_fee_of_zero() -> None:
    zero = NpqCourseContract(**{**LEADING_TEACHING.__dict__, "monthly_service_fee": D("0")})
    assert zero.service_fee == 0
    stated = NpqCourseContract(**{**LEADING_TEACHING.__dict__, "monthly_service_fee": D("500")})
    assert stated.service_fee == D("500")
    assert money_text(LEADING_TEACHING.service_fee) == "1212.63"


def test_service_fee_division_is_guarded() -> None:
    ehco = NpqCourseContract(
        course_identifier="npq-early-headship-coaching-offer",
        recruitment_target=300,
        per_participant=D("800"),
        service_fee_percentage=0,
        output_payment_percentage=100,
        service_fee_installments=0,
        number_of_payment_periods=4,
        monthly_service_fee=None,
    )
    assert ehco.service_fee == 0
    assert ehco.output_payment_per_participant == D("200")
    no_instalments = NpqCourseContract(**{**LEADING_TEACHING.__dict__, "service_fee_installments": 0})
    assert no_instalments.service_fee == 0
    no_output = NpqCourseContract(**{**LEADING_TEACHING.__dict__, "output_payment_percentage": 0})
    assert no_output.output_payment_per_participant == 0


def test_targeted_delivery_funding_only_from_2022_and_not_for_ehco_or_aso() -> None:
    counts = NpqCourseCounts(billable_by_type={"started": 3}, tdf_billable=3, tdf_refundable=1)
    before = calculate_npq(
        NpqStatementInput(
            cohort_year=2021, contracts=(LEADING_TEACHING,), counts={"npq-leading-teaching": counts}
        )
    )
    assert before.courses[0].targeted_delivery_funding == 0
    assert not before.courses[0].targeted_delivery_funding_applies
    from_2022 = calculate_npq(
        NpqStatementInput(
            cohort_year=2022, contracts=(LEADING_TEACHING,), counts={"npq-leading-teaching": counts}
        )
    )
    course = from_2022.courses[0]
    assert (course.targeted_delivery_funding, course.targeted_delivery_funding_refundable) == (
        D("300"),
        D("100"),
    )
    ehco = NpqCourseContract(
        course_identifier="npq-early-headship-coaching-offer",
        recruitment_target=10,
        per_participant=D("800"),
        number_of_payment_periods=4,
    )
    b = calculate_npq(
        NpqStatementInput(
            cohort_year=2023, contracts=(ehco,), counts={"npq-early-headship-coaching-offer": counts}
        )
    )
    assert b.courses[0].targeted_delivery_funding == 0


def test_special_courses_are_shown_apart_and_excluded_from_the_total() -> None:
    maths = NpqCourseContract(
        course_identifier="npq-leading-primary-mathematics",
        recruitment_target=10,
        per_participant=D("1150"),
        service_fee_installments=12,
        number_of_payment_periods=3,
        special_course=True,
    )
    b = calculate_npq(
        NpqStatementInput(
            cohort_year=2022,
            contracts=(maths, LEADING_TEACHING),
            counts={
                "npq-leading-teaching": EXAMPLE_COUNTS,
                "npq-leading-primary-mathematics": NpqCourseCounts(billable_by_type={"started": 2}),
            },
            reconcile_amount=D("-2.63"),
        )
    )
    assert [c.course_identifier for c in b.courses] == ["npq-leading-teaching"]
    [special] = b.special_courses
    assert special.course_identifier == "npq-leading-primary-mathematics"
    assert special.course_total > 0
    assert money_text(b.courses_total) == "2952.63"
    assert money_text(b.total) == "2950.00"


def test_a_course_without_declarations_still_has_its_service_fee() -> None:
    b = calculate_npq(NpqStatementInput(cohort_year=2023, contracts=(LEADING_TEACHING,)))
    assert money_text(b.total) == "1212.63"
    assert b.courses[0].output_payment == 0
