"""Statement calculations through the internal finance API, from data seeded by factories."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import FinanceAdjustment, Statement
from tests import factories as f
from tests import factories_finance as ff

D = Decimal
BASE = "/api/internal/finance/statements"


async def calculation(
    client: httpx.AsyncClient, headers: dict[str, str], statement: Statement
) -> dict[str, Any]:
    response = await client.get(f"{BASE}/{statement.id}/calculation", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["data"]
    assert body["id"] == str(statement.id)
    attributes: dict[str, Any] = body["attributes"]
    return attributes


async def ecf_statements(
    session: AsyncSession, lp: f.Provider, year: int = 2022
) -> tuple[Statement, Statement]:
    """An earlier (paid) and the current statement of the cohort."""
    earlier = await f.statement(
        session,
        lp,
        year,
        name="November 2022",
        deadline_date=date(2022, 10, 31),
        payment_date=date(2022, 11, 30),
        state="paid",
    )
    current = await f.statement(
        session,
        lp,
        year,
        name="February 2023",
        deadline_date=date(2023, 1, 31),
        payment_date=date(2023, 2, 25),
    )
    return earlier, current


async def worked_example(session: AsyncSession) -> tuple[f.Provider, Statement]:
    """The reference's ECF worked example: 1,500 started paid earlier (300 with an uplift); now
    700 started (100 uplifted), 20 of the earlier ones awaiting clawback (5 uplifted), 300
    retained-1."""
    lp = await f.provider(session)
    await ff.ecf_contract(session, lp, 2022)
    earlier, current = await ecf_statements(session, lp)
    plain = await ff.line_items(session, lp, earlier, 1200, state="paid")
    uplifted = await ff.line_items(session, lp, earlier, 300, state="paid", uplift=True)
    await ff.clawbacks(session, current, plain.declaration_ids[:15] + uplifted.declaration_ids[:5])
    await ff.line_items(session, lp, current, 600)
    await ff.line_items(session, lp, current, 100, uplift=True)
    await ff.line_items(session, lp, current, 300, declaration_type="retained-1")
    # Not billable or refundable: not counted.
    await ff.line_items(session, lp, current, 7, state="voided")
    await ff.line_items(session, lp, current, 3, state="ineligible")
    return lp, current


async def test_ecf_worked_example_to_the_penny(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, current = await worked_example(session)
    # Around it, line items that belong to other calculations.
    later = await f.statement(
        session, lp, 2022, name="May 2023", deadline_date=date(2023, 4, 30), payment_date=date(2023, 5, 25)
    )
    await ff.line_items(session, lp, later, 50, state="eligible")
    other_cohort = await f.statement(session, lp, 2021, name="November 2021", payment_date=date(2021, 11, 30))
    await ff.line_items(session, lp, other_cohort, 40, state="paid", year=2021)
    other = await f.provider(session)
    await ff.ecf_contract(session, other, 2022)
    other_earlier, _ = await ecf_statements(session, other)
    await ff.line_items(session, other, other_earlier, 30, state="paid")

    a = await calculation(client, await ff.internal_headers(session), current)
    assert a["programme"] == "ecf" and a["name"] == "February 2023" and a["cohort"] == "2022"
    assert a["lead_provider_name"] == lp.cpd.name
    assert a["service_fee"] == "75943.07"
    assert a["service_fee_derived"] is True
    assert a["total_contract_value"] == "5880000.00"
    assert a["output_fee"] == "110061.00"
    assert a["clawback_deductions"] == "2349.60"
    assert a["uplift"] == {
        "fee_per_participant": "100.00",
        "cap": "294000.00",
        "previous_count": 300,
        "additions": 100,
        "subtractions": 5,
        "count": 95,
        "available": "264000.00",
        "total": "10000.00",
        "clawback_deductions": "-500.00",
    }
    assert a["adjustments_total"] == "-2849.60"
    assert a["total"] == "193154.47"
    assert a["vat"] == "38630.89"
    assert a["total_with_vat"] == "231785.36"
    started = a["output_payments"][0]
    assert started["declaration_type"] == "started"
    assert [
        (b["band"], b["previous_count"], b["additions"], b["subtractions"]) for b in started["bands"]
    ] == [
        ("A", 1500, 500, 0),
        ("B", 0, 200, 20),
        ("C", 0, 0, 0),
    ]
    assert [b["fee_per_declaration"] for b in started["bands"]] == ["119.40", "117.48", "115.92"]
    assert a["output_payments"][1]["bands"][0]["additions_amount"] == "26865.00"


async def test_ecf_worked_example_as_csv(client: httpx.AsyncClient, session: AsyncSession) -> None:
    _, current = await worked_example(session)
    response = await client.get(
        f"{BASE}/{current.id}/calculation.csv", headers=await ff.internal_headers(session)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="statement-{current.id}.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["section", "description", "declaration_type", "band", "count", "unit_amount", "amount"]
    assert ["service_fee", "", "", "", "", "", "75943.07"] in rows
    assert ["output_payment", "", "started", "A", "500", "119.40", "59700.00"] in rows
    assert ["output_payment", "", "started", "B", "200", "117.48", "23496.00"] in rows
    assert ["output_payment", "", "retained-1", "A", "300", "89.55", "26865.00"] in rows
    assert ["clawback", "", "started", "B", "20", "117.48", "-2349.60"] in rows
    assert ["uplift", "", "started", "", "100", "100.00", "10000.00"] in rows
    assert ["uplift_clawback", "", "started", "", "5", "100.00", "-500.00"] in rows
    assert rows[-3:] == [
        ["total", "", "", "", "", "", "193154.47"],
        ["vat", "", "", "", "", "0.2", "38630.89"],
        ["total_with_vat", "", "", "", "", "", "231785.36"],
    ]
    # every line above the total is a part of it
    parts = rows[1 : rows.index(["total", "", "", "", "", "", "193154.47"])]
    assert sum(D(r[6]) for r in parts) == D("193154.47")


async def test_earlier_statements_are_those_paid_before_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Banding counts the provider's statements of the cohort with an earlier payment date, of
    either state, whatever their deadline or creation order."""
    lp = await f.provider(session, npq=True)
    await ff.ecf_contract(session, lp, 2022, bands=ff.MINIMAL_BANDS)
    current = await f.statement(
        session, lp, 2022, deadline_date=date(2023, 1, 31), payment_date=date(2023, 2, 25)
    )
    # created after the current one, cut off later, but paid earlier: it counts
    earlier = await f.statement(
        session, lp, 2022, state="payable", deadline_date=date(2023, 3, 31), payment_date=date(2023, 2, 1)
    )
    same_day = await f.statement(
        session, lp, 2022, deadline_date=date(2023, 1, 1), payment_date=date(2023, 2, 25)
    )
    npq = await f.statement(session, lp, 2022, programme="npq", payment_date=date(2022, 12, 25))
    await ff.line_items(session, lp, earlier, 3, state="payable")
    await ff.line_items(session, lp, same_day, 4, state="eligible")
    await ff.line_items(session, lp, npq, 5, state="paid")
    await ff.line_items(session, lp, current, 1)
    a = await calculation(client, await ff.internal_headers(session), current)
    # 3 earlier fill A (2) and B (1): the new one is in B at 36
    assert a["output_payments"][0]["bands"][1]["previous_count"] == 1
    assert a["output_fee"] == "36.00"


async def test_clawbacks_across_statements_give_negative_counts(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    await ff.ecf_contract(session, lp, 2022, bands=ff.MINIMAL_BANDS)
    earlier, current = await ecf_statements(session, lp)
    paid = await ff.line_items(session, lp, earlier, 5, state="paid")
    await ff.clawbacks(session, current, paid.declaration_ids[:4])
    await ff.line_items(session, lp, current, 1)
    a = await calculation(client, await ff.internal_headers(session), current)
    started = a["output_payments"][0]
    assert [
        (b["previous_count"], b["additions"], b["subtractions"], b["count"]) for b in started["bands"]
    ] == [
        (2, 0, 0, 0),
        (2, 0, 2, -2),
        (1, 1, 2, -1),
        (0, 0, 0, 0),
    ]
    assert a["output_fee"] == "24.00"
    assert a["clawback_deductions"] == "120.00"


@pytest.mark.parametrize(("fee", "expected"), [(None, "75943.07"), (D("0"), "0.00"), (D("12.34"), "12.34")])
async def test_ecf_zero_versus_missing_monthly_service_fee(
    client: httpx.AsyncClient, session: AsyncSession, fee: Decimal | None, expected: str
) -> None:
    lp = await f.provider(session)
    await ff.ecf_contract(session, lp, 2022, monthly_service_fee=fee)
    _, current = await ecf_statements(session, lp)
    a = await calculation(client, await ff.internal_headers(session), current)
    assert a["service_fee"] == expected
    assert a["service_fee_derived"] is (fee is None)
    assert a["total"] == expected


async def test_minimal_bands_empty_statement(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    await ff.ecf_contract(session, lp, 2022, bands=ff.MINIMAL_BANDS)
    _, current = await ecf_statements(session, lp)
    a = await calculation(client, await ff.internal_headers(session), current)
    assert a["service_fee"] == "-5132.79"
    assert [b["total"] for b in a["service_fee_bands"]] == ["-149331.00", "240.00", "160.00", "80.00"]
    assert a["total"] == "-5132.79"


async def test_vat_off_for_a_provider_that_does_not_charge_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, current = await worked_example(session)
    assert lp.lead_provider is not None
    lp.lead_provider.vat_chargeable = False
    a = await calculation(client, await ff.internal_headers(session), current)
    assert (a["total"], a["vat_rate"], a["vat"], a["total_with_vat"]) == (
        "193154.47",
        "0",
        "0.00",
        "193154.47",
    )


async def test_finance_adjustments_and_reconcile_amount(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, current = await worked_example(session)
    current.reconcile_amount = D("-10.00")
    session.add_all(
        [
            FinanceAdjustment(statement_id=current.id, payment_type="=Correction", amount=D("100.50")),
            FinanceAdjustment(statement_id=current.id, payment_type="Recovery", amount=D("-50.25")),
        ]
    )
    headers = await ff.internal_headers(session)
    a = await calculation(client, headers, current)
    assert sorted(a["finance_adjustments"], key=lambda x: x["payment_type"]) == [
        {"payment_type": "=Correction", "amount": "100.50"},
        {"payment_type": "Recovery", "amount": "-50.25"},
    ]
    assert (a["additional_adjustments_total"], a["reconcile_amount"]) == ("50.25", "-10.00")
    assert a["total"] == "193194.72"
    rows = list(
        csv.reader(
            io.StringIO((await client.get(f"{BASE}/{current.id}/calculation.csv", headers=headers)).text)
        )
    )
    # a description from an operator is never read as a spreadsheet formula
    assert ["finance_adjustment", "'=Correction", "", "", "", "", "100.50"] in rows
    assert ["reconcile_amount", "", "", "", "", "", "-10.00"] in rows


async def test_uplift_cap_reached(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """A small contract: cap = ceil_100(5 % x 2 x 400) = £100, one uplift."""
    lp = await f.provider(session)
    await ff.ecf_contract(
        session, lp, 2022, bands=((None, 2, D("400")),), recruitment_target=2, set_up_fee=D("0")
    )
    earlier, current = await ecf_statements(session, lp)
    await ff.line_items(session, lp, earlier, 1, state="paid", uplift=True)
    await ff.line_items(session, lp, current, 1, uplift=True)
    a = await calculation(client, await ff.internal_headers(session), current)
    assert (a["uplift"]["cap"], a["uplift"]["available"], a["uplift"]["total"]) == ("100.00", "0.00", "0.00")


async def test_no_contract_for_the_statement(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session, name="Contractless Provider")
    await ff.ecf_contract(session, lp, 2022, version="0.0.2")
    _, current = await ecf_statements(session, lp)
    response = await client.get(
        f"{BASE}/{current.id}/calculation", headers=await ff.internal_headers(session)
    )
    assert response.status_code == 422
    assert response.json() == {
        "errors": [
            {
                "title": "statement",
                "detail": "Contractless Provider has no ECF contract version 0.0.1 for the 2022 cohort",
            }
        ]
    }


async def test_statement_of_a_role_the_provider_does_not_have(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session, name="ECF Only", ecf=True, npq=False)
    statement = await f.statement(session, lp, 2022, programme="npq")
    response = await client.get(
        f"{BASE}/{statement.id}/calculation", headers=await ff.internal_headers(session)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["detail"] == "ECF Only is not an NPQ lead provider"


# ---- NPQ --------------------------------------------------------------------------------------------


async def npq_declaration(
    session: AsyncSession,
    lp: f.Provider,
    statement: Statement,
    course: str,
    declaration_type: str = "started",
    state: str = "eligible",
    **application: Any,
) -> f.NpqParticipant:
    schedule = "npq-leadership-autumn" if course == "npq-headship" else "npq-specialist-autumn"
    p = await f.npq_participant(session, lp, 2022, course, schedule, contract=False, **application)
    d = await f.declaration(
        session,
        p,  # type: ignore[arg-type]  # an NPQ participant has a person and a profile too
        lp,
        state=state,
        programme="npq",
        course_identifier=course,
        declaration_type=declaration_type,
    )
    await f.line_item(session, statement, d, state)
    return p


async def npq_worked_example(session: AsyncSession) -> tuple[f.Provider, Statement]:
    lp = await f.provider(session, ecf=False, npq=True)
    await ff.npq_contract(session, lp, 2022, "npq-leading-teaching")
    statement = await f.statement(session, lp, 2022, programme="npq")
    course = "npq-leading-teaching"
    for i in range(6):
        await npq_declaration(session, lp, statement, course, targeted_delivery_funding_eligibility=i < 3)
    # eligible for TDF but not for funding: no TDF
    for _ in range(4):
        await npq_declaration(
            session,
            lp,
            statement,
            course,
            "retained-1",
            targeted_delivery_funding_eligibility=True,
        )
    await npq_declaration(session, lp, statement, course, state="awaiting_clawback")
    await npq_declaration(session, lp, statement, course, state="voided")
    return lp, statement


async def test_npq_worked_example_to_the_penny(client: httpx.AsyncClient, session: AsyncSession) -> None:
    _, statement = await npq_worked_example(session)
    a = await calculation(client, await ff.internal_headers(session), statement)
    assert a["programme"] == "npq"
    [course] = a["courses"]
    assert course["course_identifier"] == "npq-leading-teaching"
    assert course["billable_declarations"] == {"retained-1": 4, "started": 6}
    assert (course["billable_count"], course["refundable_count"]) == (10, 1)
    assert course["output_payment_per_participant"] == "160.00"
    assert course["output_payment"] == "1600.00"
    assert course["clawback_payment"] == "160.00"
    assert course["service_fee"] == "1212.63" and course["service_fee_derived"] is True
    assert course["targeted_delivery_funding"] == {
        "applies": True,
        "per_participant": "100.00",
        "count": 3,
        "amount": "300.00",
        "refundable_count": 0,
        "refundable_amount": "0.00",
    }
    assert course["course_total"] == "2952.63"
    assert (a["courses_total"], a["total"], a["special_courses"]) == ("2952.63", "2952.63", [])


async def test_npq_special_courses_shown_apart(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, statement = await npq_worked_example(session)
    await ff.npq_contract(
        session, lp, 2022, "npq-leading-primary-mathematics", per_participant=D("1150"), special_course=True
    )
    await npq_declaration(session, lp, statement, "npq-leading-primary-mathematics")
    # another version's contract is not this statement's
    await ff.npq_contract(session, lp, 2022, "npq-headship", version="0.0.2")
    statement.reconcile_amount = D("0.37")
    headers = await ff.internal_headers(session)
    a = await calculation(client, headers, statement)
    assert [c["course_identifier"] for c in a["courses"]] == ["npq-leading-teaching"]
    [special] = a["special_courses"]
    assert special["course_identifier"] == "npq-leading-primary-mathematics"
    assert special["special_course"] is True and special["billable_count"] == 1
    assert (a["courses_total"], a["total"]) == ("2952.63", "2953.00")
    rows = list(
        csv.reader(
            io.StringIO((await client.get(f"{BASE}/{statement.id}/calculation.csv", headers=headers)).text)
        )
    )
    assert ["course_total", "npq-leading-teaching", "", "", "", "", "2952.63"] in rows
    assert ["total", "", "", "", "", "", "2953.00"] in rows
    total_at = rows.index(["total", "", "", "", "", "", "2953.00"])
    assert all(r[0].startswith("special_course:") for r in rows[total_at + 1 :])
    assert rows[total_at + 1 :]


@pytest.mark.parametrize(("fee", "expected"), [(None, "1212.63"), (D("0"), "0.00"), (D("250"), "250.00")])
async def test_npq_zero_versus_missing_monthly_service_fee(
    client: httpx.AsyncClient, session: AsyncSession, fee: Decimal | None, expected: str
) -> None:
    lp = await f.provider(session, ecf=False, npq=True)
    await ff.npq_contract(session, lp, 2022, "npq-leading-teaching", monthly_service_fee=fee)
    statement = await f.statement(session, lp, 2022, programme="npq")
    a = await calculation(client, await ff.internal_headers(session), statement)
    assert a["courses"][0]["service_fee"] == expected
    assert a["total"] == expected


async def test_npq_without_payment_periods_uses_the_course_family(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session, ecf=False, npq=True)
    await ff.npq_contract(
        session, lp, 2022, "npq-headship", per_participant=D("1000"), number_of_payment_periods=None
    )
    statement = await f.statement(session, lp, 2022, programme="npq")
    await npq_declaration(session, lp, statement, "npq-headship")
    a = await calculation(client, await ff.internal_headers(session), statement)
    # leadership courses: 4 payments of 60 %
    assert a["courses"][0]["output_payment_per_participant"] == "150.00"


async def test_unknown_statement(client: httpx.AsyncClient, session: AsyncSession) -> None:
    headers = await ff.internal_headers(session)
    for path in (f"{BASE}/{uuid.uuid4()}/calculation", f"{BASE}/not-an-id/calculation.csv"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 404
        assert response.json() == {"error": "Resource not Found"}
