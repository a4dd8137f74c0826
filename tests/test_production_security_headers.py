"""Security headers: on API responses, errors, docs pages and refusals; HSTS only in production."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.middleware.security_headers import CONTENT_SECURITY_POLICY
from app.settings import Environment, Settings
from tests import factories as f
from tests.conftest import TEST_HMAC_KEY

COMMON = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": CONTENT_SECURITY_POLICY,
}


def assert_common(response: httpx.Response) -> None:
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, name


async def test_api_responses_are_private_and_revalidated(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider)
    response = await client.get("/api/v3/participants/ecf", headers=lp.headers)
    assert response.status_code == 200
    assert_common(response)
    assert response.headers["cache-control"] == "private, no-cache"
    assert "strict-transport-security" not in response.headers
    # The ETag still serves: a revalidation is a 304 carrying the same headers.
    again = await client.get(
        "/api/v3/participants/ecf", headers={**lp.headers, "If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304
    assert_common(again)


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/v3/participants/ecf", 401), ("/api/v3/participants/ecf/not-an-id", 401), ("/healthz", 200)],
)
async def test_errors_and_other_paths_carry_the_headers(
    client: httpx.AsyncClient, path: str, status: int
) -> None:
    response = await client.get(path)
    assert response.status_code == status
    assert_common(response)
    assert ("cache-control" in response.headers) is path.startswith("/api/")


async def test_docs_pages_carry_a_policy_their_assets_satisfy(client: httpx.AsyncClient) -> None:
    page = await client.get("/lead-providers/api-docs/v3")
    assert page.status_code == 200
    assert_common(page)
    # No inline script: the policy allows only scripts served by us.
    assert "<script>" not in page.text.replace(" ", "")


async def test_production_adds_strict_transport_security(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    settings = Settings(
        environment=Environment.PRODUCTION,
        database_url="postgresql://unused/db",
        token_hmac_key=TEST_HMAC_KEY + "-production",
        rate_limit_enabled=False,
    )
    app: FastAPI = create_app(settings, sessionmaker=sessionmaker)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/healthz")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert_common(response)
