"""Rate limiting in one process: the fixed-window rule, its 429, the key (token digest or address),
both shared back-ends (PostgreSQL and Redis) and failing open when a back-end is down.

Across real worker processes: tests/test_production_workers.py.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.middleware.rate_limit import Counter, PostgresCounter, RateLimiter, RedisCounter
from app.models import RateLimitCounter
from app.security import hash_token
from app.settings import Environment, Settings
from tests import factories as f
from tests.conftest import TEST_HMAC_KEY

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LIST = "/api/v3/participants/ecf"
PERIOD = 300
# A fixed instant 100 s into a window, so windows and Retry-After are exact.
WINDOW_START = 1_800_000_000 - 1_800_000_000 % PERIOD
NOW = WINDOW_START + 100


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limited_settings(limit: int = 3, **values: object) -> Settings:
    values = {"redis_url": None, "rate_limit_enabled": True} | values
    return Settings(
        environment=Environment.TEST,
        token_hmac_key=TEST_HMAC_KEY,
        rate_limit_requests=limit,
        rate_limit_period_seconds=PERIOD,
        **values,  # type: ignore[arg-type]
    )


def with_clock(app: FastAPI, clock: FakeClock) -> RateLimiter:
    """Give the app's limiter a clock the test moves."""
    limiter: RateLimiter = app.state.rate_limiter
    limiter.clock = clock
    return limiter


def client_for(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50_000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def statuses(client: httpx.AsyncClient, n: int, path: str = LIST, **headers: str) -> list[int]:
    return [(await client.get(path, headers=headers)).status_code for _ in range(n)]


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def limited_app(sessionmaker: async_sessionmaker[AsyncSession], clock: FakeClock) -> FastAPI:
    """3 requests per 300 s, counted in PostgreSQL (inside the test's transaction)."""
    app = create_app(limited_settings(), sessionmaker=sessionmaker)
    with_clock(app, clock)
    return app


# ---- the rule ------------------------------------------------------------------------------------


async def test_the_request_after_the_limit_is_429_retry_later(
    limited_app: FastAPI, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    async with client_for(limited_app) as client:
        assert await statuses(client, 3, **lp.headers) == [200, 200, 200]
        refused = await client.get(LIST, headers=lp.headers)
    assert refused.status_code == 429
    # The reference's exact 429: plain text `Retry later\n`; Retry-After is ours.
    assert refused.content == b"Retry later\n"
    assert refused.headers["content-type"] == "text/plain"
    assert refused.headers["retry-after"] == str(PERIOD - 100)
    assert "x-request-id" in refused.headers


async def test_refused_requests_keep_being_refused_until_the_window_ends(
    limited_app: FastAPI, session: AsyncSession, clock: FakeClock
) -> None:
    lp = await f.provider(session)
    async with client_for(limited_app) as client:
        assert await statuses(client, 5, **lp.headers) == [200, 200, 200, 429, 429]
        clock.now = WINDOW_START + PERIOD - 1
        last = await client.get(LIST, headers=lp.headers)
        assert last.status_code == 429 and last.headers["retry-after"] == "1"
        # Fixed windows: the next window starts from zero.
        clock.now = WINDOW_START + PERIOD
        assert await statuses(client, 4, **lp.headers) == [200, 200, 200, 429]


async def test_every_api_request_counts_whatever_its_outcome(
    limited_app: FastAPI, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    async with client_for(limited_app) as client:
        assert (await client.get("/api/v3/no-such-thing", headers=lp.headers)).status_code == 404
        assert (await client.get(LIST + "?filter[updated_since]=junk", headers=lp.headers)).status_code == 400
        assert (await client.get("/api/v1/participants/ecf", headers=lp.headers)).status_code == 200
        assert (await client.get(LIST, headers=lp.headers)).status_code == 429


async def test_each_token_has_its_own_budget(limited_app: FastAPI, session: AsyncSession) -> None:
    first, second = await f.provider(session), await f.provider(session)
    async with client_for(limited_app) as client:
        assert await statuses(client, 4, **first.headers) == [200, 200, 200, 429]
        assert await statuses(client, 4, **second.headers) == [200, 200, 200, 429]


async def test_tokenless_requests_are_limited_per_client_address(limited_app: FastAPI) -> None:
    async with client_for(limited_app, "10.1.1.1") as one, client_for(limited_app, "10.2.2.2") as other:
        assert await statuses(one, 4) == [401, 401, 401, 429]
        assert await statuses(other, 4) == [401, 401, 401, 429]


async def test_an_unknown_token_counts_against_that_token_not_the_address(
    limited_app: FastAPI, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    async with client_for(limited_app) as client:
        assert await statuses(client, 4, Authorization="Bearer nobody") == [401, 401, 401, 429]
        assert await statuses(client, 1, **lp.headers) == [200]
        assert await statuses(client, 1) == [401]


async def test_paths_outside_the_api_are_not_limited(limited_app: FastAPI) -> None:
    async with client_for(limited_app) as client:
        assert await statuses(client, 5, "/healthz") == [200] * 5
        assert (await client.get("/metrics")).status_code == 200


async def test_counters_are_stored_under_the_token_digest_never_the_token(
    limited_app: FastAPI, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    async with client_for(limited_app, "10.9.9.9") as client:
        await statuses(client, 2, **lp.headers)
        await statuses(client, 1)
    rows = {
        r.key: (r.window_start, r.hits) for r in (await session.execute(select(RateLimitCounter))).scalars()
    }
    assert rows == {
        "token:" + hash_token(lp.token, TEST_HMAC_KEY): (WINDOW_START, 2),
        "addr:10.9.9.9": (WINDOW_START, 1),
    }
    assert not any(lp.token in key for key in rows)


async def test_a_new_window_drops_the_callers_old_row(
    limited_app: FastAPI, session: AsyncSession, clock: FakeClock
) -> None:
    lp = await f.provider(session)
    async with client_for(limited_app) as client:
        await statuses(client, 2, **lp.headers)
        clock.now += PERIOD * 3
        await statuses(client, 1, **lp.headers)
    key = "token:" + hash_token(lp.token, TEST_HMAC_KEY)
    rows = (await session.execute(select(RateLimitCounter).where(RateLimitCounter.key == key))).scalars()
    assert [(r.window_start, r.hits) for r in rows] == [(WINDOW_START + 3 * PERIOD, 1)]


async def test_refusals_are_counted_in_metrics(limited_app: FastAPI, session: AsyncSession) -> None:
    lp = await f.provider(session)
    before = sample("cpd_api_rate_limited_total")
    async with client_for(limited_app) as client:
        await statuses(client, 5, **lp.headers)
    assert sample("cpd_api_rate_limited_total") == before + 2


async def test_refusals_are_logged_and_timed_under_the_route_asked_for(
    limited_app: FastAPI, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    lp = await f.provider(session)
    one = f"{LIST}/{uuid.uuid4()}"
    labels = {"route": f"{LIST}/{{id}}", "method": "GET", "status": "429"}
    before = sample("cpd_api_http_request_duration_seconds_count", labels)
    async with client_for(limited_app) as client:
        assert await statuses(client, 3, **lp.headers) == [200, 200, 200]
        with caplog.at_level(logging.INFO, logger="cpd_api.request"):
            assert await statuses(client, 1, one, **lp.headers) == [429]
            assert await statuses(client, 1, "/api/v3/no-such-thing", **lp.headers) == [429]
            assert await statuses(client, 1, LIST + "?page[per_page]=1", **lp.headers) == [429]
    logged = [(r.route, r.status) for r in caplog.records if r.name == "cpd_api.request"]  # type: ignore[attr-defined]
    # A path no route takes stays unmatched, as it is when it gets through.
    assert logged == [(f"{LIST}/{{id}}", 429), (None, 429), (LIST, 429)]
    assert sample("cpd_api_http_request_duration_seconds_count", labels) == before + 1


async def test_default_limit_is_1000_per_5_minutes_and_request_1001_is_refused(
    sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession, clock: FakeClock
) -> None:
    production = Settings(environment=Environment.PRODUCTION, token_hmac_key="k" * 40)
    assert (production.rate_limiting, production.rate_limit_requests) == (True, 1000)
    assert production.rate_limit_period_seconds == 300
    app = create_app(production, sessionmaker=sessionmaker)
    with_clock(app, clock)
    headers = {"Authorization": "Bearer some-token"}
    async with client_for(app) as client:
        # 404s are the cheapest /api/ requests; they count like any other.
        codes = await statuses(client, 1000, "/api/v3/no-such-thing", **headers)
        assert codes == [404] * 1000
        assert (await client.get("/api/v3/no-such-thing", headers=headers)).status_code == 429


def test_the_test_environment_leaves_the_limiter_off_unless_asked() -> None:
    assert Settings(environment=Environment.TEST).rate_limiting is False
    assert Settings(environment=Environment.TEST, rate_limit_enabled=True).rate_limiting is True
    assert Settings(environment=Environment.SANDBOX).rate_limiting is True
    assert Settings(environment=Environment.SANDBOX, rate_limit_enabled=False).rate_limiting is False


async def test_a_disabled_limiter_counts_nothing(
    sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    app = create_app(limited_settings(rate_limit_enabled=False), sessionmaker=sessionmaker)
    async with client_for(app) as client:
        assert await statuses(client, 5) == [401] * 5
    assert (await session.execute(select(RateLimitCounter))).first() is None


# ---- Redis ---------------------------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own on the shared Redis; its keys are deleted afterwards."""
    prefix = f"cpd-api-test:{uuid.uuid4().hex}"
    yield prefix
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def test_redis_counters_limit_per_token_digest(
    sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession, clock: FakeClock, redis_prefix: str
) -> None:
    app = create_app(
        limited_settings(redis_url=REDIS_URL, rate_limit_key_prefix=redis_prefix), sessionmaker=sessionmaker
    )
    limiter = with_clock(app, clock)
    assert isinstance(limiter.counter, RedisCounter)
    lp = await f.provider(session)
    try:
        async with client_for(app) as client:
            assert await statuses(client, 4, **lp.headers) == [200, 200, 200, 429]
            assert await statuses(client, 4) == [401, 401, 401, 429]
        redis = limiter.counter.redis
        digest_key = f"{redis_prefix}:token:{hash_token(lp.token, TEST_HMAC_KEY)}:{WINDOW_START}"
        assert int(await redis.get(digest_key) or 0) == 4
        assert 0 < await redis.ttl(digest_key) <= PERIOD + 60
        keys = [key.decode() async for key in redis.scan_iter(match=f"{redis_prefix}:*")]
        assert sorted(keys) == sorted([digest_key, f"{redis_prefix}:addr:127.0.0.1:{WINDOW_START}"])
        # Nothing of PostgreSQL's counter table was used.
        assert (await session.execute(select(RateLimitCounter))).first() is None
    finally:
        await limiter.close()


async def test_two_apps_on_one_redis_share_the_budget(
    sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession, clock: FakeClock, redis_prefix: str
) -> None:
    """Two app instances stand in for two workers here; real processes: test_production_workers."""
    settings = limited_settings(redis_url=REDIS_URL, rate_limit_key_prefix=redis_prefix)
    apps = [create_app(settings, sessionmaker=sessionmaker) for _ in range(2)]
    limiters = [with_clock(app, clock) for app in apps]
    lp = await f.provider(session)
    try:
        async with client_for(apps[0]) as one, client_for(apps[1]) as two:
            codes = [(await c.get(LIST, headers=lp.headers)).status_code for c in (one, two, one, two, one)]
        assert codes == [200, 200, 200, 429, 429]
    finally:
        for limiter in limiters:
            await limiter.close()


# ---- failing open --------------------------------------------------------------------------------


class CountingCounter:
    """Wraps a counter and counts the calls that reached it."""

    def __init__(self, inner: Counter) -> None:
        self.inner = inner
        self.calls = 0

    async def hit(self, key: str, window_start: int, period: int) -> int:
        self.calls += 1
        return await self.inner.hit(key, window_start, period)

    async def close(self) -> None:
        await self.inner.close()


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param(lambda: RedisCounter("redis://127.0.0.1:1/0", prefix="x", timeout=0.5), id="redis-down"),
        pytest.param(
            lambda: PostgresCounter.for_url("postgresql://postgres@127.0.0.1:1/nothing", timeout=0.5),
            id="postgresql-down",
        ),
    ],
)
async def test_a_limiter_outage_lets_requests_through_and_warns(
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    backend: object,
) -> None:
    counter = CountingCounter(backend())  # type: ignore[operator]
    app = create_app(limited_settings(limit=1), sessionmaker=sessionmaker, rate_limit_counter=counter)
    with_clock(app, clock)
    lp = await f.provider(session)
    failures = sample("cpd_api_rate_limiter_failures_total")
    try:
        with caplog.at_level(logging.WARNING, logger="cpd_api.rate_limit"):
            async with client_for(app) as client:
                assert await statuses(client, 3, **lp.headers) == [200, 200, 200]
                # The back-end is retried once the pause after a failure is over.
                clock.now += 5
                assert await statuses(client, 1, **lp.headers) == [200]
    finally:
        await counter.close()
    warnings = [r for r in caplog.records if r.name == "cpd_api.rate_limit"]
    assert len(warnings) == 2 and all(r.levelno == logging.WARNING for r in warnings)
    assert "rate limiter unavailable" in warnings[0].getMessage()
    assert lp.token not in caplog.text
    assert counter.calls == 2
    assert sample("cpd_api_rate_limiter_failures_total") == failures + 2
