"""Issuing a token (what `cpd-api create-token` does): shown once, stored as a digest, usable at once."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.audit import CLI as CLI_ACTOR
from app.domain.audit import bind_actor
from app.domain.auth import issue_token, revoke_tokens
from app.domain.enums import TokenScope
from app.models import ApiToken, AuditEvent
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


async def test_revoking_one_token_or_a_providers_tokens(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """One token (given in clear) or every live token of a provider; each revocation audited; the
    revoked tokens get 401 while the others keep working."""
    lp = await f.provider(session)
    other = await f.provider(session)
    repo = TokenRepository(session)
    bind_actor(session, CLI_ACTOR)
    second = await issue_token(
        repo, TEST_HMAC_KEY, scope=TokenScope.LEAD_PROVIDER, cpd_lead_provider_id=lp.cpd.id
    )
    now = datetime.now(UTC)

    async def status(raw: str) -> int:
        await session.flush()
        response = await client.get("/api/v3/participants/ecf", headers={"Authorization": f"Bearer {raw}"})
        return response.status_code

    (one,) = await revoke_tokens(repo, TEST_HMAC_KEY, now, raw_token=second)
    assert [await status(t) for t in (second, lp.token, other.token)] == [401, 200, 200]
    # The rest of the provider's tokens: the one already revoked is left as it is.
    (rest,) = await revoke_tokens(repo, TEST_HMAC_KEY, now, cpd_lead_provider_id=lp.cpd.id)
    assert rest != one
    assert [await status(t) for t in (second, lp.token, other.token)] == [401, 401, 200]
    assert await revoke_tokens(repo, TEST_HMAC_KEY, now, cpd_lead_provider_id=lp.cpd.id) == []
    assert await revoke_tokens(repo, TEST_HMAC_KEY, now, raw_token="never-issued") == []
    audited = (
        await session.execute(
            select(AuditEvent.target_id, AuditEvent.actor_type).where(
                AuditEvent.action == "api_token.revoked"
            )
        )
    ).all()
    assert sorted(audited) == sorted([(str(one), "cli"), (str(rest), "cli")])
    with pytest.raises(ValueError, match="either"):
        await revoke_tokens(repo, TEST_HMAC_KEY, now)
    with pytest.raises(ValueError, match="either"):
        await revoke_tokens(repo, TEST_HMAC_KEY, now, raw_token=second, cpd_lead_provider_id=lp.cpd.id)
