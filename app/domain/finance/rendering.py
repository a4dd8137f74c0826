"""A statement calculation as plain data (the internal API's JSON, the CLI) and as CSV.

Amounts are strings with two decimals, rounded half up from the unrounded calculation; counts are
integers. Totals are rounded from the exact sums, so shown parts may differ from a shown total by
a penny, as in the reference.

CSV columns: section, description, declaration_type, band, count, unit_amount, amount. Every row
above `total` is a part of the total (deductions negative); special NPQ courses come after the
total, their sections prefixed `special_course:`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from app.domain.finance.ecf_calculation import EcfBreakdown
from app.domain.finance.money import money_text, optional_money_text
from app.domain.finance.npq_calculation import NpqBreakdown, NpqCourseBreakdown
from app.domain.finance.statements import StatementCalculation
from app.repositories.finance import FinanceStatement

CSV_HEADER = ("section", "description", "declaration_type", "band", "count", "unit_amount", "amount")
# Cells starting with these are read as formulas by spreadsheet programs.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

Row = tuple[str, str, str, str, int | None, Decimal | None, Decimal]


def statement_summary(s: FinanceStatement) -> dict[str, Any]:
    return {
        "statement_id": str(s.id),
        "name": s.name,
        "programme": s.programme,
        "cohort": str(s.cohort_year),
        "lead_provider_id": str(s.cpd_lead_provider_id),
        "lead_provider_name": s.provider_name,
        "state": s.state,
        "output_fee": s.output_fee,
        "contract_version": s.contract_version,
    }


def calculation_data(calculation: StatementCalculation) -> dict[str, Any]:
    b = calculation.breakdown
    body = _ecf(b) if isinstance(b, EcfBreakdown) else _npq(b)
    return {**statement_summary(calculation.statement), **body}


def _ecf(b: EcfBreakdown) -> dict[str, Any]:
    return {
        "service_fee": money_text(b.service_fee),
        "service_fee_derived": b.service_fee_derived,
        "service_fee_bands": [
            {
                "band": f.band,
                "participants": f.participants,
                "per_participant": money_text(f.per_participant),
                "total": money_text(f.total),
                "monthly": money_text(f.monthly),
            }
            for f in b.band_service_fees
        ],
        "total_contract_value": money_text(b.total_contract_value),
        "output_payments": [
            {
                "declaration_type": t.declaration_type,
                "additions": t.additions,
                "subtractions": t.subtractions,
                "additions_amount": money_text(t.additions_amount),
                "subtractions_amount": money_text(t.subtractions_amount),
                "bands": [
                    {
                        "band": f.band,
                        "fee_per_declaration": money_text(f.fee_per_declaration),
                        "previous_count": f.previous_count,
                        "additions": f.additions,
                        "subtractions": f.subtractions,
                        "count": f.count,
                        "additions_amount": money_text(f.additions_amount),
                        "subtractions_amount": money_text(f.subtractions_amount),
                    }
                    for f in t.bands
                ],
            }
            for t in b.declaration_types
        ],
        "output_fee": money_text(b.output_fee),
        "clawback_deductions": money_text(b.clawback_deductions),
        "uplift": {
            "fee_per_participant": money_text(b.uplift.fee_per_participant),
            "cap": money_text(b.uplift.cap),
            "previous_count": b.uplift.previous_count,
            "additions": b.uplift.additions,
            "subtractions": b.uplift.subtractions,
            "count": b.uplift.count,
            "available": money_text(b.uplift.available),
            "total": money_text(b.uplift.total),
            "clawback_deductions": money_text(b.uplift.clawback_deductions),
        },
        "adjustments_total": money_text(b.adjustments_total),
        "finance_adjustments": [
            {"payment_type": a.payment_type, "amount": money_text(a.amount)} for a in b.finance_adjustments
        ],
        "additional_adjustments_total": money_text(b.additional_adjustments_total),
        "reconcile_amount": money_text(b.reconcile_amount),
        "total": money_text(b.total),
        "vat_rate": str(b.vat_rate),
        "vat": money_text(b.vat),
        "total_with_vat": money_text(b.total_with_vat),
    }


def _course(c: NpqCourseBreakdown) -> dict[str, Any]:
    return {
        "course_identifier": c.course_identifier,
        "special_course": c.special_course,
        "recruitment_target": c.recruitment_target,
        "per_participant": money_text(c.per_participant),
        "billable_declarations": dict(sorted(c.billable_by_type.items())),
        "refundable_declarations": dict(sorted(c.refundable_by_type.items())),
        "billable_count": c.billable_count,
        "refundable_count": c.refundable_count,
        "output_payment_per_participant": money_text(c.output_payment_per_participant),
        "output_payment": money_text(c.output_payment),
        "clawback_payment": money_text(c.clawback_payment),
        "service_fee": money_text(c.service_fee),
        "service_fee_derived": c.service_fee_derived,
        "targeted_delivery_funding": {
            "applies": c.targeted_delivery_funding_applies,
            "per_participant": money_text(c.targeted_delivery_funding_per_participant),
            "count": c.targeted_delivery_funding_count,
            "amount": money_text(c.targeted_delivery_funding),
            "refundable_count": c.targeted_delivery_funding_refundable_count,
            "refundable_amount": money_text(c.targeted_delivery_funding_refundable),
        },
        "course_total": money_text(c.course_total),
    }


def _npq(b: NpqBreakdown) -> dict[str, Any]:
    return {
        "courses": [_course(c) for c in b.courses],
        "special_courses": [_course(c) for c in b.special_courses],
        "courses_total": money_text(b.courses_total),
        "reconcile_amount": money_text(b.reconcile_amount),
        "total": money_text(b.total),
    }


# ---- CSV ------------------------------------------------------------------------------------------


def _ecf_rows(b: EcfBreakdown) -> Iterator[Row]:
    yield ("service_fee", "", "", "", None, None, b.service_fee)
    for t in b.declaration_types:
        for f in t.bands:
            if f.additions:
                yield (
                    "output_payment",
                    "",
                    t.declaration_type,
                    f.band,
                    f.additions,
                    f.fee_per_declaration,
                    f.additions_amount,
                )
    for t in b.declaration_types:
        for f in t.bands:
            if f.subtractions:
                yield (
                    "clawback",
                    "",
                    t.declaration_type,
                    f.band,
                    f.subtractions,
                    f.fee_per_declaration,
                    -f.subtractions_amount,
                )
    u = b.uplift
    yield ("uplift", "", "started", "", u.additions, u.fee_per_participant, u.total)
    yield ("uplift_clawback", "", "started", "", u.subtractions, u.fee_per_participant, u.clawback_deductions)
    for a in b.finance_adjustments:
        yield ("finance_adjustment", a.payment_type, "", "", None, None, a.amount)
    yield ("reconcile_amount", "", "", "", None, None, b.reconcile_amount)
    yield ("total", "", "", "", None, None, b.total)
    yield ("vat", "", "", "", None, b.vat_rate, b.vat)
    yield ("total_with_vat", "", "", "", None, None, b.total_with_vat)


def _course_rows(c: NpqCourseBreakdown, prefix: str = "") -> Iterator[Row]:
    course = c.course_identifier
    yield (f"{prefix}service_fee", course, "", "", None, None, c.service_fee)
    for declaration_type, count in sorted(c.billable_by_type.items()):
        each = c.output_payment_per_participant
        yield (f"{prefix}output_payment", course, declaration_type, "", count, each, count * each)
    for declaration_type, count in sorted(c.refundable_by_type.items()):
        each = c.output_payment_per_participant
        yield (f"{prefix}clawback", course, declaration_type, "", count, each, -(count * each))
    if c.targeted_delivery_funding_applies:
        each = c.targeted_delivery_funding_per_participant
        yield (
            f"{prefix}targeted_delivery_funding",
            course,
            "started",
            "",
            c.targeted_delivery_funding_count,
            each,
            c.targeted_delivery_funding,
        )
        yield (
            f"{prefix}targeted_delivery_funding_clawback",
            course,
            "started",
            "",
            c.targeted_delivery_funding_refundable_count,
            each,
            -c.targeted_delivery_funding_refundable,
        )
    yield (f"{prefix}course_total", course, "", "", None, None, c.course_total)


def _npq_rows(b: NpqBreakdown) -> Iterator[Row]:
    for c in b.courses:
        yield from _course_rows(c)
    yield ("reconcile_amount", "", "", "", None, None, b.reconcile_amount)
    yield ("total", "", "", "", None, None, b.total)
    for c in b.special_courses:
        yield from _course_rows(c, "special_course:")


def _text_cell(value: str) -> str:
    # Descriptions come from operators' input: never let a spreadsheet read one as a formula.
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value


def calculation_csv(calculation: StatementCalculation) -> str:
    b = calculation.breakdown
    rows = _ecf_rows(b) if isinstance(b, EcfBreakdown) else _npq_rows(b)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for section, description, declaration_type, band, count, unit, amount in rows:
        unit_text = str(unit) if section == "vat" and unit is not None else optional_money_text(unit)
        writer.writerow(
            [
                section,
                _text_cell(description),
                declaration_type,
                band,
                "" if count is None else count,
                unit_text or "",
                money_text(amount),
            ]
        )
    return buffer.getvalue()
