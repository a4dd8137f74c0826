"""Providers see their statements through v3 without any amount: no fee, total or adjustment."""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import FinanceAdjustment
from tests import factories as f
from tests import factories_finance as ff

STATEMENT_ATTRIBUTES = {
    "month",
    "year",
    "type",
    "cohort",
    "cut_off_date",
    "payment_date",
    "paid",
    "created_at",
    "updated_at",
}


async def test_statements_show_no_amounts(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session, npq=True)
    await ff.ecf_contract(session, lp, 2022)
    statement = await f.statement(session, lp, 2022, name="March 2023", reconcile_amount=Decimal("1234.56"))
    session.add(
        FinanceAdjustment(statement_id=statement.id, payment_type="Correction", amount=Decimal("99.99"))
    )
    await ff.line_items(session, lp, statement, 3)

    listed = await client.get("/api/v3/statements", headers=lp.headers)
    shown = await client.get(f"/api/v3/statements/{statement.id}", headers=lp.headers)
    assert listed.status_code == shown.status_code == 200
    [row] = listed.json()["data"]
    for document in (row, shown.json()["data"]):
        attributes = document["attributes"]
        assert set(attributes) == STATEMENT_ATTRIBUTES
        assert attributes["month"] == "March" and attributes["year"] == "2023"
        text = str(attributes)
        for amount in ("1234.56", "99.99", "75943", "reconcile", "total", "fee", "amount", "vat"):
            assert amount not in text
    assert set(shown.json()) == {"data"}
