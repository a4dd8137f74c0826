"""A worker reuses a token's lookup for TOKEN_CACHE_SECONDS (app/domain/auth.py TokenCache).

What the cache may and may not change: within its time a live token is answered without a query;
after it, a revoked token is refused (the bound the README states); unknown tokens are never kept;
last use is still recorded once a minute; the cache is bounded; and the test environment runs
without it unless a test asks for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.domain.auth import LAST_USED_GRANULARITY, TokenCache
from app.main import create_app
from app.models import ApiToken
from app.repositories.tokens import TokenOwner
from app.security import hash_token
from app.settings import DEFAULT_TOKEN_CACHE_SECONDS, Environment, Settings
from tests import factories as f
from tests.conftest import TEST_HMAC_KEY
from tests.sql_capture import captured_statements

PATH = "/api/v3/partnerships/ecf"
TTL = 5.0


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _owner(**values: Any) -> TokenOwner:
    fields: dict[str, Any] = {
        "token_id": uuid.uuid4(),
        "scope": "lead_provider",
        "last_used_at": None,
        "cpd_lead_provider_id": uuid.uuid4(),
        "cpd_lead_provider_name": "A provider",
        "lead_provider_id": uuid.uuid4(),
        "npq_lead_provider_id": None,
        "school_id": None,
    }
    return TokenOwner(**(fields | values))


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def cached_app(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: FakeMonotonic
) -> FastAPI:
    app = create_app(settings.model_copy(update={"token_cache_seconds": TTL}), sessionmaker=sessionmaker)
    assert isinstance(app.state.token_cache, TokenCache)
    app.state.token_cache = TokenCache(TTL, monotonic=clock)
    return app


class TokenStatements:
    """The SQL of the statements touching api_tokens among those captured (a live view)."""

    def __init__(self, seen: list[tuple[str, Any]]) -> None:
        self.seen = seen

    def __call__(self) -> list[str]:
        return [sql for sql, _ in self.seen if "api_tokens" in sql]

    def clear(self) -> None:
        self.seen.clear()


@pytest.fixture
def token_statements(engine: AsyncEngine) -> Iterator[TokenStatements]:
    with captured_statements(engine.sync_engine) as seen:
        yield TokenStatements(seen)


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


# ---- the cache on its own ------------------------------------------------------------------------


def test_an_entry_lives_for_its_seconds(clock: FakeMonotonic) -> None:
    cache = TokenCache(TTL, monotonic=clock)
    owner = _owner()
    cache.put("d", owner)
    assert cache.get("d") == owner
    clock.now += TTL - 0.001
    assert cache.get("d") == owner
    clock.now += 0.001
    assert cache.get("d") is None
    assert len(cache) == 0  # an expired entry is dropped when it is found expired


def test_a_recorded_use_updates_the_entry_but_not_its_expiry(clock: FakeMonotonic) -> None:
    cache = TokenCache(TTL, monotonic=clock)
    cache.put("d", _owner())
    at = datetime(2026, 11, 29, 12, tzinfo=UTC)
    clock.now += 1
    cache.used("d", at)
    owner = cache.get("d")
    assert owner is not None and owner.last_used_at == at
    clock.now += TTL - 1
    assert cache.get("d") is None
    cache.used("absent", at)  # a use of a token no longer kept is nothing to update
    assert len(cache) == 0


def test_a_full_cache_drops_expired_entries_first_then_the_oldest(clock: FakeMonotonic) -> None:
    cache = TokenCache(TTL, max_entries=3, monotonic=clock)
    cache.put("a", _owner())
    clock.now += TTL  # a has expired (not yet dropped)
    cache.put("b", _owner())
    cache.put("c", _owner())
    cache.put("d", _owner())  # full: the expired a makes room
    assert [cache.get(k) is not None for k in "abcd"] == [False, True, True, True]
    cache.put("e", _owner())  # full of live entries: the oldest (b) goes
    assert [cache.get(k) is not None for k in "bcde"] == [False, True, True, True]
    cache.put("c", _owner())  # refreshing a kept entry evicts nothing
    assert len(cache) == 3


def test_the_cache_is_on_by_default_and_off_in_the_test_environment() -> None:
    assert Settings(environment=Environment.PRODUCTION, token_hmac_key="k").token_cache_ttl == (
        DEFAULT_TOKEN_CACHE_SECONDS
    )
    assert Settings(environment=Environment.SANDBOX).token_cache_ttl == DEFAULT_TOKEN_CACHE_SECONDS
    assert Settings(environment=Environment.TEST).token_cache_ttl == 0
    assert Settings(environment=Environment.TEST, token_cache_seconds=2).token_cache_ttl == 2
    assert Settings(environment=Environment.SANDBOX, token_cache_seconds=0).token_cache_ttl == 0
    off = create_app(Settings(environment=Environment.SANDBOX, token_cache_seconds=0))
    assert off.state.token_cache is None


def test_a_negative_time_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN_CACHE_SECONDS", "-1")
    with pytest.raises(ValueError, match="token_cache_seconds"):
        Settings()


# ---- through the API ------------------------------------------------------------------------------


async def test_a_cached_token_is_answered_without_a_query(
    cached_app: FastAPI, session: AsyncSession, token_statements: TokenStatements
) -> None:
    lp = await f.provider(session)
    await session.flush()
    async with _client(cached_app) as client:
        assert (await client.get(PATH, headers=lp.headers)).status_code == 200
        first = token_statements()
        token_statements.clear()
        for _ in range(3):
            assert (await client.get(PATH, headers=lp.headers)).status_code == 200
    assert any("hashed_token" in sql for sql in first), first
    assert token_statements() == []
    assert len(cached_app.state.token_cache) == 1


async def test_a_revoked_token_is_refused_once_its_entry_expires(
    cached_app: FastAPI, session: AsyncSession, clock: FakeMonotonic
) -> None:
    lp = await f.provider(session)
    await session.flush()
    async with _client(cached_app) as client:
        assert (await client.get(PATH, headers=lp.headers)).status_code == 200
        await session.execute(
            update(ApiToken)
            .where(ApiToken.hashed_token == hash_token(lp.token, TEST_HMAC_KEY))
            .values(revoked_at=datetime.now(UTC))
        )
        await session.flush()
        # Within the cache's time the worker still admits it: the documented bound.
        clock.now += TTL - 0.01
        assert (await client.get(PATH, headers=lp.headers)).status_code == 200
        clock.now += 0.01
        response = await client.get(PATH, headers=lp.headers)
        assert response.status_code == 401
        assert response.json() == {"error": "HTTP Token: Access denied"}
        clock.now += 1  # and stays refused: a refusal is not kept, the next request looks again
        assert (await client.get(PATH, headers=lp.headers)).status_code == 401


async def test_unknown_tokens_are_not_kept(
    cached_app: FastAPI, session: AsyncSession, token_statements: TokenStatements
) -> None:
    raw = f"token-{uuid.uuid4()}"
    async with _client(cached_app) as client:
        for _ in range(3):
            response = await client.get(PATH, headers={"Authorization": f"Bearer {raw}"})
            assert response.status_code == 401
        assert len(token_statements()) == 3  # each unknown token is looked up again
        assert len(cached_app.state.token_cache) == 0
        # A token created under that value since is admitted at once.
        await f.provider(session, token=raw)
        await session.flush()
        assert (await client.get(PATH, headers={"Authorization": f"Bearer {raw}"})).status_code == 200


async def test_last_use_is_still_recorded_once_a_minute(
    cached_app: FastAPI, session: AsyncSession, token_statements: TokenStatements
) -> None:
    lp = await f.provider(session)
    await session.flush()
    digest = hash_token(lp.token, TEST_HMAC_KEY)

    async def last_used() -> datetime | None:
        return (
            await session.execute(select(ApiToken.last_used_at).where(ApiToken.hashed_token == digest))
        ).scalar_one()

    async with _client(cached_app) as client:
        assert (await client.get(PATH, headers=lp.headers)).status_code == 200
        first_use = await last_used()
        assert first_use is not None
        # Within the minute: no write (and, cached, no read either).
        token_statements.clear()
        assert (await client.get(PATH, headers=lp.headers)).status_code == 200
        assert token_statements() == []
        # A minute later (the request's clock moved, the entry still live): one write, no read.
        later = first_use + LAST_USED_GRANULARITY + timedelta(seconds=1)
        headers = lp.headers | {"X-With-Server-Date": later.isoformat()}
        assert (await client.get(PATH, headers=headers)).status_code == 200
        assert [sql.lstrip().upper()[:6] for sql in token_statements()] == ["UPDATE"]
        recorded = await last_used()
        assert recorded is not None and later <= recorded < later + timedelta(seconds=5)
        # The entry now knows of that use: the next request in that minute writes nothing.
        token_statements.clear()
        assert (await client.get(PATH, headers=headers)).status_code == 200
        assert token_statements() == []
