"""v2 ECF participants: the v1 contract unchanged (ecf.md §0, §3.2).

Every test of tests/api/v1/test_ecf_participants.py runs here again against /api/v2: they take the
`version` fixture, which this module overrides.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests import factories as f
from tests.api.v1.test_ecf_participants import *  # noqa: F403  (the v1 tests, collected again here)


@pytest.fixture
def version() -> str:
    return "v2"


async def test_v2_list_and_show_are_identical_to_v1(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    school = await f.programme(session, lp.lead_provider, 2022)
    mentor = await f.participant(session, lp.lead_provider, profile_type="mentor", programme_=school)
    ect = await f.participant(session, lp.lead_provider, programme_=school, mentor=mentor.profile)
    for path in ("/participants/ecf", f"/participants/ecf/{ect.id}", "/participants/ecf.csv"):
        v1 = await client.get(f"/api/v1{path}", headers=lp.headers)
        v2 = await client.get(f"/api/v2{path}", headers=lp.headers)
        assert (v2.status_code, v2.content) == (200, v1.content), path
