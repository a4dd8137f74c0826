"""Contracts (reference data) and monthly statements (sandbox) for every provider role.

ECF call-off contracts use the banded example contract of the finance reference: recruitment
target 6,000, set-up fee £149,651, £100 uplift, bands A-C at £995 / £979 / £966 with a 60/40
output/service split, plus a band D at £966 (as in the reference's default seed contract) for
output beyond the target. Its derived monthly service fee is £75,943.07: cohorts 2021-2023 leave
`monthly_service_fee` empty so the calculator derives it from the bands, 2024 states the same
amount explicitly, so both ways of reading the fee have data and statements look alike.

NPQ contracts leave `monthly_service_fee` empty too (the fee is derived per course; output-only
offers have none), so NPQ statements show service fees as well as outputs.

Statements: one per provider role (ECF, NPQ), cohort and month, from November of the cohort's
start year for three years, named like "November 2021", paid on the 25th. ECF statements cut off
on the last day of the previous month, NPQ ones on its 25th. Their state follows `today`: open
before the cut-off, then payable, then paid (see `statement_states`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from app.domain.enums import ProgrammeType, ScheduleType, StatementState
from app.domain.npq_courses import NPQ_COURSE_FAMILIES
from app.models import CallOffContract, NpqContract, ParticipantBand, Statement
from app.seed import ids
from app.seed.reference import COHORTS, ECF_PROVIDERS, NPQ_COURSES, NPQ_PROVIDERS, PROVIDERS, ProviderSeed
from app.seed.rows import Rows
from app.seed.times import at, first_of_next_month, on

CONTRACT_VERSION = "0.0.1"
STATEMENT_MONTHS = 36
# Two months a year carry the service fee only, so both kinds of statement exist (which months
# is arbitrary here: no rule depends on it beyond "next output statement").
SERVICE_FEE_ONLY_MONTHS = (9, 10)
DERIVED_MONTHLY_SERVICE_FEE = Decimal("75943.07")

# (min, max, per participant) of bands A-D.
ECF_BANDS: tuple[tuple[int | None, int | None, Decimal], ...] = (
    (None, 2000, Decimal("995")),
    (2001, 4000, Decimal("979")),
    (4001, 6000, Decimal("966")),
    (6001, 8000, Decimal("966")),
)


@dataclass(frozen=True)
class NpqPrice:
    per_participant: Decimal
    recruitment_target: int
    service_fee_installments: int
    number_of_payment_periods: int
    output_only: bool = False


# Output-only offers (ASO, EHCO) are paid 100 % on outputs with no service fee instalments.
_NPQ_PRICES: dict[ScheduleType, NpqPrice] = {
    ScheduleType.NPQ_LEADERSHIP: NpqPrice(Decimal("1149"), 800, 18, 4),
    ScheduleType.NPQ_SPECIALIST: NpqPrice(Decimal("902"), 1200, 12, 3),
    ScheduleType.NPQ_SUPPORT: NpqPrice(Decimal("800"), 150, 0, 4, output_only=True),
    ScheduleType.NPQ_EHCO: NpqPrice(Decimal("800"), 300, 0, 4, output_only=True),
}
_NPQ_PRICE_OVERRIDES = {
    "npq-headship": Decimal("1985"),
    "npq-executive-leadership": Decimal("4371"),
    "npq-leading-primary-mathematics": Decimal("1150"),
}
# Shown apart from the statement totals by the finance reference.
_SPECIAL_COURSES = ("npq-leading-primary-mathematics",)
# The Additional Support Offer only ran for the 2021 cohort.
_COURSE_COHORTS = {"npq-additional-support-offer": (2021,)}


def contract_rows(rows: Rows) -> None:
    for p in ECF_PROVIDERS:
        for year in COHORTS:
            _call_off_contract(rows, p, year)
    for k, p in enumerate(NPQ_PROVIDERS):
        for year in COHORTS:
            for course in NPQ_COURSES:
                if year not in _COURSE_COHORTS.get(course.identifier, COHORTS):
                    continue
                price = _NPQ_PRICES[NPQ_COURSE_FAMILIES[course.identifier]]
                created = at(year, 3, 1)
                rows.add(
                    NpqContract,
                    id=ids.uid("npq-contract", p.name, year, course.identifier, CONTRACT_VERSION),
                    npq_lead_provider_id=p.npq_lead_provider_id,
                    cohort_id=ids.cohort_id(year),
                    course_identifier=course.identifier,
                    version=CONTRACT_VERSION,
                    recruitment_target=price.recruitment_target + 50 * k,
                    per_participant=_NPQ_PRICE_OVERRIDES.get(course.identifier, price.per_participant),
                    service_fee_percentage=0 if price.output_only else 40,
                    output_payment_percentage=100 if price.output_only else 60,
                    service_fee_installments=price.service_fee_installments,
                    number_of_payment_periods=price.number_of_payment_periods,
                    # Not stated: the calculation derives the monthly fee from target, price and
                    # instalments, so every NPQ statement of a course with instalments pays a fee.
                    monthly_service_fee=None,
                    targeted_delivery_funding_per_participant=Decimal("100"),
                    special_course=course.identifier in _SPECIAL_COURSES,
                    created_at=created,
                    updated_at=created,
                )


def _call_off_contract(rows: Rows, p: ProviderSeed, year: int) -> None:
    created = at(year, 3, 1)
    monthly_service_fee = DERIVED_MONTHLY_SERVICE_FEE if year >= 2024 else None
    raw = {
        "lead_provider_name": p.name,
        "cohort_start_year": year,
        "version": CONTRACT_VERSION,
        "recruitment_target": 6000,
        "set_up_fee": "149651",
        "uplift_target": "0.33",
        "uplift_amount": "100",
        "monthly_service_fee": None if monthly_service_fee is None else str(monthly_service_fee),
        "bands": [
            {"band": letter, "min": low, "max": high, "per_participant": str(price)}
            for letter, (low, high, price) in zip("ABCD", ECF_BANDS, strict=True)
        ],
    }
    contract_id = rows.add(
        CallOffContract,
        id=ids.uid("call-off-contract", p.name, year, CONTRACT_VERSION),
        lead_provider_id=p.lead_provider_id,
        cohort_id=ids.cohort_id(year),
        version=CONTRACT_VERSION,
        recruitment_target=6000,
        revised_target=None,
        set_up_fee=Decimal("149651"),
        uplift_target=Decimal("0.33"),
        uplift_amount=Decimal("100"),
        monthly_service_fee=monthly_service_fee,
        raw=raw,
        created_at=created,
        updated_at=created,
    )
    for letter, (low, high, price) in zip("ABCD", ECF_BANDS, strict=True):
        rows.add(
            ParticipantBand,
            id=ids.uid("participant-band", p.name, year, CONTRACT_VERSION, letter),
            call_off_contract_id=contract_id,
            min=low,
            max=high,
            per_participant=price,
            output_payment_percentage=60,
            service_fee_percentage=40,
            created_at=created,
            updated_at=created,
        )


# ---- statements ---------------------------------------------------------------------------------


def statement_months(year: int) -> list[date]:
    """First days of a cohort's statement months: November of its start year, for three years."""
    months = [date(year, 11, 1)]
    while len(months) < STATEMENT_MONTHS:
        months.append(first_of_next_month(months[-1]))
    return months


def is_output_month(month: date) -> bool:
    return month.month not in SERVICE_FEE_ONLY_MONTHS


def statement_dates(programme: ProgrammeType, month: date) -> tuple[date, date]:
    """(deadline, payment date): ECF cuts off at the end of the previous month, NPQ on its 25th."""
    payment = month.replace(day=25)
    if programme is ProgrammeType.ECF:
        return month - timedelta(days=1), payment
    return (month - timedelta(days=1)).replace(day=25), payment


def statement_states(programme: ProgrammeType, year: int, today: date) -> dict[date, StatementState]:
    """Each statement month's state on `today`.

    Open until the cut-off, then payable. Finance authorises payment of a statement once its
    payment date has passed and the cohort's next output statement has been cut off too, so while
    a cohort's statements run there is always a payable output statement after the first cut-off.
    """
    months = statement_months(year)
    states: dict[date, StatementState] = {}
    for i, month in enumerate(months):
        deadline, payment = statement_dates(programme, month)
        following = next((m for m in months[i + 1 :] if is_output_month(m)), None)
        authorised = following is None or statement_dates(programme, following)[0] < today
        if deadline >= today:
            states[month] = StatementState.OPEN
        elif payment < today and authorised:
            states[month] = StatementState.PAID
        else:
            states[month] = StatementState.PAYABLE
    return states


def output_months(programme: ProgrammeType, year: int, today: date, state: StatementState) -> list[date]:
    """The cohort's output statement months in `state` on `today`, earliest first."""
    states = statement_states(programme, year, today)
    return [m for m in statement_months(year) if is_output_month(m) and states[m] is state]


def next_output_month(programme: ProgrammeType, year: int, today: date) -> date | None:
    """The month of the cohort's next output statement (deadline today or later), if any."""
    for month in statement_months(year):
        deadline, _ = statement_dates(programme, month)
        if is_output_month(month) and deadline >= today:
            return month
    return None


def statement_rows(rows: Rows, today: date) -> None:
    for p in PROVIDERS:
        programmes = [ProgrammeType.ECF] if p.ecf else []
        if p.npq_id is not None:
            programmes.append(ProgrammeType.NPQ)
        for programme in programmes:
            for year in COHORTS:
                for month, state in statement_states(programme, year, today).items():
                    _statement(rows, p, programme, year, month, state)


def _statement(
    rows: Rows, p: ProviderSeed, programme: ProgrammeType, year: int, month: date, state: StatementState
) -> None:
    deadline, payment = statement_dates(programme, month)
    created = at(year, 3, 1)
    marked_as_paid_at = on(payment - timedelta(days=1)) if state is StatementState.PAID else None
    # Last touched when it last changed state: the daily job after the deadline, or payment.
    updated = {
        StatementState.OPEN: created,
        StatementState.PAYABLE: on(deadline + timedelta(days=1), hour=1),
        StatementState.PAID: marked_as_paid_at,
    }[state]
    rows.add(
        Statement,
        id=ids.statement_id(p.name, programme.value, year, month),
        programme=programme.value,
        state=state.value,
        name=month.strftime("%B %Y"),
        cpd_lead_provider_id=p.cpd_id,
        cohort_id=ids.cohort_id(year),
        deadline_date=deadline,
        payment_date=payment,
        output_fee=is_output_month(month),
        contract_version=CONTRACT_VERSION,
        marked_as_paid_at=marked_as_paid_at,
        created_at=created,
        updated_at=updated,
    )
