"""Statement schedules: parsing, states from dates, contract versions, skipping existing rows."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.errors import ValidationFailed
from app.domain.finance.imports import (
    StatementImporter,
    parse_date,
    parse_statement_schedule,
    statement_state,
)
from app.models import Statement
from tests import factories as f
from tests import factories_finance as ff

HEADER = "type,name,cohort,deadline_date,payment_date,output_fee\n"


@pytest.mark.parametrize(
    ("today", "state"),
    [
        (date(2023, 1, 30), "open"),
        (date(2023, 1, 31), "payable"),  # the cut-off day
        (date(2023, 2, 25), "payable"),  # the payment day
        (date(2023, 2, 26), "paid"),
    ],
)
def test_state_from_the_dates(today: date, state: str) -> None:
    assert statement_state(date(2023, 1, 31), date(2023, 2, 25), today) == state


def test_state_of_a_row_cut_off_after_its_payment_date() -> None:
    """The reference's data has such rows (`January 2025, 2023, 2025-12-31, 2025-1-25`)."""
    assert statement_state(date(2025, 12, 31), date(2025, 1, 25), date(2025, 1, 1)) == "open"
    assert statement_state(date(2025, 12, 31), date(2025, 1, 25), date(2025, 2, 1)) == "paid"


def test_dates_as_the_reference_writes_them() -> None:
    assert parse_date("2025-1-25") == date(2025, 1, 25)
    assert parse_date(" 2025-01-05 ") == date(2025, 1, 5)
    assert parse_date("2025-02-30") is None
    assert parse_date("25/01/2025") is None


def test_schedule_headers_in_any_case_and_order_with_extra_columns() -> None:
    content = (
        "\ufeffName,Type,Cohort,Payment_Date,Deadline_Date,Output_Fee,Notes\n"
        "\n"
        "May 2024,NPQ,2023,2024-05-25,2024-04-25,f,x\n"
    )
    [row] = parse_statement_schedule(content)
    assert (row.programme, row.name, row.cohort, row.output_fee) == ("npq", "May 2024", 2023, False)
    assert (row.deadline_date, row.payment_date) == (date(2024, 4, 25), date(2024, 5, 25))


def test_an_empty_schedule() -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse_statement_schedule(HEADER)
    assert raised.value.errors == [("file", "has no statement rows")]


async def test_new_statements_take_the_latest_contract_version(session: AsyncSession) -> None:
    lp = await f.provider(session)
    await ff.ecf_contract(session, lp, 2022)
    await f.statement(
        session, lp, 2022, name="January 2023", payment_date=date(2023, 1, 25), contract_version="0.0.1"
    )
    await f.statement(
        session, lp, 2022, name="February 2023", payment_date=date(2023, 2, 25), contract_version="0.0.2"
    )
    result = await StatementImporter(session).load(
        HEADER
        + "ecf,March 2023,2022,2023-02-28,2023-03-25,true\n"
        + "ecf,January 2023,2022,2022-12-31,2023-01-25,true\n",
        date(2022, 12, 1),
    )
    assert [(s.name, s.state) for s in result.created] == [("March 2023", "open")]
    assert result.skipped == 1
    created = (await session.execute(select(Statement).where(Statement.name == "March 2023"))).scalar_one()
    assert (created.contract_version, created.state) == ("0.0.2", "open")
    assert created.reconcile_amount == 0


async def test_providers_without_a_contract_for_the_cohort_get_no_statement(session: AsyncSession) -> None:
    lp = await f.provider(session)
    await ff.ecf_contract(session, lp, 2021)
    await f.cohort(session, 2022)
    result = await StatementImporter(session).load(
        HEADER + "ecf,March 2023,2022,2023-02-28,2023-03-25,true\n", date(2023, 1, 1)
    )
    assert (result.created, result.skipped) == ([], 0)
