"""Issuing a token (what `cpd-api create-token` does): shown once, stored as a digest, usable at once."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.auth import issue_token
from app.domain.enums import TokenScope
from app.models import ApiToken
from app.repositories.tokens import TokenRepository
from app.security import hash_token
from tests import factories as f
from tests.conftest import TEST_HMAC_KEY


async def test_issued_token_is_stored_as_a_digest_and_authenticates(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    repo = TokenRepository(session)
    assert (await repo.find_cpd_lead_provider(lp.cpd.name.upper())) is not None
    assert (await repo.find_cpd_lead_provider(str(lp.cpd.id))) is not None
    raw = await issue_token(
        repo, TEST_HMAC_KEY, scope=TokenScope.LEAD_PROVIDER, cpd_lead_provider_id=lp.cpd.id
    )
    stored = (
        (
            await session.execute(
                select(ApiToken.hashed_token).where(ApiToken.cpd_lead_provider_id == lp.cpd.id)
            )
        )
        .scalars()
        .all()
    )
    assert hash_token(raw, TEST_HMAC_KEY) in stored and raw not in stored
    response = await client.get("/api/v3/participants/ecf", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200
