"""The sandbox seed's contracts make its statements pay something."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.seed import seed_sandbox
from app.settings import Settings
from tests import factories_finance as ff

TODAY = date(2026, 11, 22)
BASE = "/api/internal/finance/statements"


async def test_seeded_statements_calculate_non_zero(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await seed_sandbox(session, settings=settings, today=TODAY)
    headers = await ff.internal_headers(session)

    async def calculate(statement_id: Any) -> dict[str, Any]:
        response = await client.get(f"{BASE}/{statement_id}/calculation", headers=headers)
        assert response.status_code == 200, response.text
        attributes: dict[str, Any] = response.json()["data"]["attributes"]
        return attributes

    # The statements holding the most billable declarations, per programme.
    busiest = """
        SELECT li.statement_id FROM statement_line_items li JOIN statements s ON s.id = li.statement_id
         WHERE s.programme = :programme AND li.state IN ('eligible', 'payable', 'paid')
         GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"""
    ecf_id = (await session.execute(text(busiest), {"programme": "ecf"})).scalar_one()
    ecf = await calculate(ecf_id)
    assert Decimal(ecf["output_fee"]) > 0
    assert ecf["service_fee"] == "75943.07"
    assert Decimal(ecf["total"]) > Decimal(ecf["service_fee"])

    npq_id = (await session.execute(text(busiest), {"programme": "npq"})).scalar_one()
    npq = await calculate(npq_id)
    assert any(Decimal(c["output_payment"]) > 0 for c in npq["courses"])
    assert Decimal(npq["total"]) > 0

    # Every provider role's first statement of each cohort calculates, with a service fee.
    firsts = (
        await session.execute(
            text(
                """SELECT DISTINCT ON (cpd_lead_provider_id, programme, cohort_id) id, programme
                     FROM statements ORDER BY cpd_lead_provider_id, programme, cohort_id, payment_date"""
            )
        )
    ).all()
    assert len(firsts) > 40
    for statement_id, programme in firsts[::5]:
        attributes = await calculate(statement_id)
        if programme == "ecf":
            assert attributes["service_fee"] == "75943.07"
        else:
            assert sum(Decimal(c["service_fee"]) for c in attributes["courses"]) > 0
        assert Decimal(attributes["total"]) > 0
