"""Authentication edge cases: every route answers the contract's 401 to a missing, malformed,
unknown, revoked or deleted token; tokens are stored only as keyed digests and never logged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.auth import issue_token
from app.domain.enums import TokenScope
from app.models import ApiToken, Base
from app.repositories.tokens import TokenRepository
from app.security import hash_token
from tests import factories as f
from tests.conftest import TEST_HMAC_KEY
from tests.reliability._routes import api_routes

UNAUTHORISED = {"error": "HTTP Token: Access denied"}
# One read per version and programme, plus a write and an internal route.
SAMPLE = [
    ("GET", "/api/v1/participants/ecf"),
    ("GET", "/api/v2/participant-declarations"),
    ("GET", "/api/v3/participants/npq"),
    ("GET", "/api/v2/npq-applications.csv"),
    ("POST", "/api/v3/participant-declarations"),
    ("GET", "/api/internal/finance/statements"),
]
MALFORMED: list[str | bytes] = [
    "",
    "Bearer",
    "Bearer ",
    "Token",
    'Token token=""',
    "Token x y",
    "Basic dXNlcjpwYXNz",
    "bearer\tabc",
    "Bearer " + "x" * 10_000,
    "Bearer ' OR '1'='1",
    "Bearer tökén".encode(),
    "Bearer \u202etoken".encode(),
    b"Bearer \xff\xfe",
]


def _concrete(path: str) -> str:
    return path.replace("{id}", "00000000-0000-0000-0000-000000000001").replace(
        "{participant_id}", "00000000-0000-0000-0000-000000000001"
    )


def _assert_unauthorised(response: httpx.Response, label: object) -> None:
    assert response.status_code == 401, (label, response.status_code, response.text)
    assert response.json() == UNAUTHORISED, label


async def test_every_route_needs_a_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    routes = sorted(api_routes(app))
    assert len(routes) > 90
    for method, path in routes:
        _assert_unauthorised(await client.request(method, _concrete(path)), (method, path))


@pytest.mark.parametrize("header", MALFORMED, ids=range(len(MALFORMED)))
async def test_malformed_authorization_headers(client: httpx.AsyncClient, header: str | bytes) -> None:
    value = header if isinstance(header, bytes) else header.encode()
    for method, path in SAMPLE:
        response = await client.request(method, path, headers=[(b"Authorization", value)])
        _assert_unauthorised(response, (method, path, header))


async def test_unknown_revoked_and_deleted_tokens(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session, npq=True)
    for method, path in SAMPLE[:3]:
        assert (await client.request(method, path, headers=lp.headers)).status_code == 200
    unknown = {"Authorization": f"Bearer {lp.token}x"}
    # A token's digest is not a token: presenting the stored value fails too.
    digest = {"Authorization": f"Bearer {hash_token(lp.token, TEST_HMAC_KEY)}"}
    for headers in (unknown, digest):
        for method, path in SAMPLE:
            _assert_unauthorised(await client.request(method, path, headers=headers), (path, headers))

    hashed = hash_token(lp.token, TEST_HMAC_KEY)
    await session.execute(
        update(ApiToken).where(ApiToken.hashed_token == hashed).values(revoked_at=datetime.now(UTC))
    )
    for method, path in SAMPLE:
        _assert_unauthorised(await client.request(method, path, headers=lp.headers), ("revoked", path))

    other = await f.provider(session)
    assert (await client.get(SAMPLE[0][1], headers=other.headers)).status_code == 200
    await session.execute(
        delete(ApiToken).where(ApiToken.hashed_token == hash_token(other.token, TEST_HMAC_KEY))
    )
    _assert_unauthorised(await client.get(SAMPLE[0][1], headers=other.headers), "deleted")


async def test_scheme_and_spacing_variants_are_accepted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The control for the malformed cases: the accepted spellings of a good token work."""
    lp = await f.provider(session)
    for header in (
        f"Bearer {lp.token}",
        f"bearer {lp.token}",
        f"Token {lp.token}",
        f'Token token="{lp.token}"',
    ):
        response = await client.get("/api/v3/participants/ecf", headers={"Authorization": header})
        assert response.status_code == 200, header


async def test_no_plaintext_token_is_stored_or_logged(
    client: httpx.AsyncClient, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    lp = await f.provider(session)
    cpd_id = lp.cpd.id
    issued = await issue_token(
        TokenRepository(session), TEST_HMAC_KEY, scope=TokenScope.LEAD_PROVIDER, cpd_lead_provider_id=cpd_id
    )
    caplog.set_level(logging.DEBUG)
    for raw in (lp.token, issued):
        assert (
            await client.get("/api/v3/participants/ecf", headers={"Authorization": f"Bearer {raw}"})
        ).status_code == 200
    response = await client.get(
        "/api/v3/participants/ecf", headers={"Authorization": "Bearer not-a-real-token"}
    )
    assert response.status_code == 401
    await session.flush()
    for table in Base.metadata.sorted_tables:
        rows = (await session.execute(text(f'SELECT t::text FROM "{table.name}" t'))).scalars().all()  # noqa: S608
        for raw in (lp.token, issued, "not-a-real-token"):
            assert not any(raw in row for row in rows), (table.name, raw)
    for raw in (lp.token, issued, "not-a-real-token"):
        assert raw not in caplog.text
