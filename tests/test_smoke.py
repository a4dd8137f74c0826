from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests import factories as f
from tests.contract import assert_matches_spec


async def test_v3_participant_list_smoke(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider)
    r = await client.get("/api/v3/participants/ecf", headers=lp.headers)
    assert r.status_code == 200, r.text
    assert [d["id"] for d in r.json()["data"]] == [p.id]
    assert_matches_spec("v3", "get", "/api/v3/participants/ecf", 200, r.json())
    r1 = await client.get("/api/v1/participants/ecf", headers=lp.headers)
    assert r1.status_code == 200, r1.text
    assert_matches_spec("v1", "get", "/api/v1/participants/ecf", 200, r1.json())
