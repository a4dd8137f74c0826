"""/healthz, /readyz, /metrics, database settings (statement_timeout, pools), worker settings, and
X-With-Server-Date ignored in production."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app import db, metrics
from app.api.errors import DATABASE_UNAVAILABLE
from app.db import create_engine
from app.main import create_app
from app.models import ApiToken
from app.observability import migration_heads
from app.security import hash_token
from app.settings import Environment, Settings
from tests import factories as f
from tests.api.test_declarations_lifecycle import declared
from tests.api.test_declarations_submit import ecf, setup_ect

UNREACHABLE_URL = "postgresql+asyncpg://postgres@127.0.0.1:1/nothing"


def raw_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest_asyncio.fixture(loop_scope="session")
async def unreachable_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """An app whose database is down (nothing listens on its port)."""
    engine = create_async_engine(UNREACHABLE_URL, connect_args={"timeout": 2})
    yield create_app(settings, sessionmaker=async_sessionmaker(engine))
    await engine.dispose()


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


# ---- health and readiness ------------------------------------------------------------------------


async def test_healthz_is_up_without_touching_the_database(unreachable_app: FastAPI) -> None:
    async with raw_client(unreachable_app) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_when_the_database_answers_at_the_migration_head(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


async def test_readyz_is_503_when_the_database_is_unreachable(unreachable_app: FastAPI) -> None:
    async with raw_client(unreachable_app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "unreachable", "migrations": "unknown"},
    }
    assert response.headers["content-type"] == "application/vnd.api+json"


async def test_readyz_is_503_when_migrations_are_behind(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await session.execute(text("UPDATE alembic_version SET version_num = '0004'"))
    response = await client.get("/readyz")
    assert response.status_code == 503
    [head] = migration_heads()
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "migrations": f"at 0004, expected {head}"},
    }


async def test_readyz_is_503_when_the_database_was_never_migrated(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await session.execute(text("ALTER TABLE alembic_version RENAME TO alembic_version_hidden"))
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "migrations": f"at none, expected {head()}"}


def head() -> str:
    [only] = migration_heads()
    return only


# ---- metrics -------------------------------------------------------------------------------------


async def test_metrics_exposes_request_latency_by_route_template_method_and_status(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider)
    labels = {"route": "/api/v3/participants/ecf/{id}", "method": "GET", "status": "200"}
    before = sample("cpd_api_http_request_duration_seconds_count", labels)
    denied = {**labels, "status": "401"}
    before_denied = sample("cpd_api_http_request_duration_seconds_count", denied)
    await client.get(f"/api/v3/participants/ecf/{p.id}", headers=lp.headers)
    await client.get(f"/api/v3/participants/ecf/{p.id}", headers=lp.headers)
    await client.get(f"/api/v3/participants/ecf/{p.id}")
    await client.get("/api/v3/what/ever")
    assert sample("cpd_api_http_request_duration_seconds_count", labels) == before + 2
    assert sample("cpd_api_http_request_duration_seconds_count", denied) == before_denied + 1

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert (
        'cpd_api_http_request_duration_seconds_bucket{le="0.005",method="GET",'
        'route="/api/v3/participants/ecf/{id}",status="200"}' in body
    )
    assert 'route="unmatched"' in body and "/what/ever" not in body
    assert str(p.id) not in body
    for name in (
        "cpd_api_db_pool_connections_in_use",
        "cpd_api_declarations_created_total",
        "cpd_api_declarations_voided_total",
        "cpd_api_rate_limited_total",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in body


async def test_with_a_metrics_token_only_that_bearer_reads_the_metrics(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    app = create_app(
        settings.model_copy(update={"metrics_token": "scrape-secret"}), sessionmaker=sessionmaker
    )
    async with raw_client(app) as client:
        for authorization in (
            None,
            "Bearer wrong",
            "scrape-secret",
            "Bearer scrape-secret2",
            "Bearer ambition-token",
        ):
            headers = {} if authorization is None else {"Authorization": authorization}
            refused = await client.get("/metrics", headers=headers)
            assert refused.status_code == 401, authorization
            assert refused.json() == {"error": "HTTP Token: Access denied"}
            assert refused.headers["www-authenticate"] == "Bearer"
            assert "cpd_api" not in refused.text
        allowed = await client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
        assert allowed.status_code == 200
        assert "# TYPE cpd_api_http_request_duration_seconds histogram" in allowed.text


def test_an_empty_metrics_token_leaves_the_metrics_open() -> None:
    assert Settings(metrics_token="").metrics_token is None
    assert Settings(metrics_token="s3cret").metrics_token == "s3cret"


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
async def test_declarations_created_and_voided_are_counted(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    path = f"/api/{version}/participant-declarations"
    created_before = sample("cpd_api_declarations_created_total", {"version": version})
    voided_before = sample("cpd_api_declarations_voided_total", {"version": version})

    lp, participant = await setup_ect(session)
    created = await client.post(path, headers=lp.headers, json=ecf(participant))
    assert created.status_code == 200, created.text
    refused = await client.post(path, headers=lp.headers, json=ecf(participant))  # a duplicate: 422
    assert refused.status_code == 422
    assert sample("cpd_api_declarations_created_total", {"version": version}) == created_before + 1

    lp2, declaration, _ = await declared(session, "submitted")
    voided = await client.put(f"{path}/{declaration.id}/void", headers=lp2.headers)
    assert voided.status_code == 200, voided.text
    again = await client.put(f"{path}/{declaration.id}/void", headers=lp2.headers)  # already voided: 422
    assert again.status_code == 422
    assert sample("cpd_api_declarations_voided_total", {"version": version}) == voided_before + 1
    assert sample("cpd_api_declarations_created_total", {"version": version}) == created_before + 1


async def test_the_pool_gauge_follows_checked_out_connections(database_url: str, settings: Settings) -> None:
    engine = create_engine(settings, database_url)
    metrics.instrument_pool(engine)
    base = sample("cpd_api_db_pool_connections_in_use")
    try:
        async with engine.connect() as one:
            await one.execute(text("SELECT 1"))
            async with engine.connect() as two:
                await two.execute(text("SELECT 1"))
                assert sample("cpd_api_db_pool_connections_in_use") == base + 2
            assert sample("cpd_api_db_pool_connections_in_use") == base + 1
        assert sample("cpd_api_db_pool_connections_in_use") == base
    finally:
        await engine.dispose()


# ---- database settings ---------------------------------------------------------------------------


async def test_statement_timeout_and_pool_sizes_come_from_settings(database_url: str) -> None:
    settings = Settings(
        environment=Environment.TEST, db_statement_timeout_ms=250, db_pool_size=3, db_max_overflow=4
    )
    engine = create_engine(settings, database_url)
    try:
        assert (engine.pool.size(), engine.pool._max_overflow) == (3, 4)  # type: ignore[attr-defined]
        async with engine.connect() as conn:
            assert (await conn.execute(text("SHOW statement_timeout"))).scalar_one() == "250ms"
            with pytest.raises(DBAPIError, match="statement timeout"):
                await conn.execute(text("SELECT pg_sleep(2)"))
    finally:
        await engine.dispose()


async def test_the_app_engine_applies_statement_timeout_on_every_pooled_connection(database_url: str) -> None:
    engine = create_engine(Settings(environment=Environment.TEST, db_statement_timeout_ms=1234), database_url)
    try:
        async with engine.connect() as one, engine.connect() as two:
            for conn in (one, two):
                assert (await conn.execute(text("SHOW statement_timeout"))).scalar_one() == "1234ms"
    finally:
        await engine.dispose()


async def test_a_request_finding_every_pooled_connection_busy_waits_then_gets_503(
    database_url: str, settings: Settings
) -> None:
    """No overflow connections: a request beyond the pool waits for one, and past the pool's
    timeout is answered 503 with the contract's error body, never a 500."""
    busy = settings.model_copy(
        update={
            "db_pool_size": 1,
            "db_max_overflow": 0,
            "db_pool_timeout_seconds": 0.3,
            "rate_limit_enabled": False,
        }
    )
    engine = create_engine(busy, database_url)
    app = create_app(busy, sessionmaker=async_sessionmaker(engine))
    auth = {"Authorization": "Bearer not-a-token"}
    try:
        async with raw_client(app) as client:
            async with engine.connect() as held:
                await held.execute(text("SELECT 1"))
                response = await asyncio.wait_for(client.get("/api/v3/statements", headers=auth), 5)
                assert response.status_code == 503, response.text
                assert response.json() == {
                    "errors": [{"title": "Service unavailable", "detail": DATABASE_UNAVAILABLE[1]}]
                }
                assert response.headers["Retry-After"]
                # Released within the timeout, the connection serves the waiting request.
                waiting = asyncio.ensure_future(client.get("/api/v3/statements", headers=auth))
                await asyncio.sleep(0.1)
            assert (await waiting).status_code == 401
    finally:
        await engine.dispose()


# ---- pooled connections that died -----------------------------------------------------------------


def _one_connection_engine(settings: Settings, database_url: str) -> AsyncEngine:
    return create_engine(settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}), database_url)


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        pid: int = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return pid


async def _terminate(database_url: str, pid: int) -> None:
    killer = create_async_engine(database_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with killer.connect() as conn:
            assert (await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar_one()
    finally:
        await killer.dispose()
    await asyncio.sleep(0.2)  # the server's goodbye reaches the pooled connection's socket


async def test_a_pooled_connection_the_server_closed_is_replaced_without_an_error(
    database_url: str, settings: Settings
) -> None:
    """A database restart or a terminated backend: the next checkout gets a live connection."""
    engine = create_engine(
        settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}), database_url
    )
    try:
        first = await _backend_pid(engine)
        await _terminate(database_url, first)
        assert await _backend_pid(engine) != first
    finally:
        await engine.dispose()


@pytest.mark.parametrize("idle_limit", [0.0, 3600.0])
async def test_a_pooled_connection_idle_past_the_limit_is_pinged_first(
    database_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch, idle_limit: float
) -> None:
    """A connection that died unannounced (asyncpg still believes it open) is found by the ping
    when it sat idle past the limit; within the limit no ping is spent, and the dead connection
    fails its request (the pool then replaces it)."""
    engine = create_engine(
        settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}), database_url
    )
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", idle_limit)
    try:
        first = await _backend_pid(engine)
        await _terminate(database_url, first)
        monkeypatch.setattr(asyncpg.Connection, "is_closed", lambda self: False)
        if idle_limit == 0.0:
            assert await _backend_pid(engine) != first
        else:
            with pytest.raises(DBAPIError):
                await _backend_pid(engine)
            monkeypatch.undo()
            assert await _backend_pid(engine) != first
    finally:
        await engine.dispose()


# ---- workers -------------------------------------------------------------------------------------


def test_web_concurrency_sets_the_number_of_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKERS", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    assert Settings().workers == 1
    monkeypatch.setenv("WORKERS", "3")
    assert Settings().workers == 3
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    assert Settings().workers == 4  # the conventional name wins
    monkeypatch.setenv("WEB_CONCURRENCY", "0")
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        Settings()


# ---- X-With-Server-Date in production ------------------------------------------------------------


async def test_production_ignores_x_with_server_date(
    client: httpx.AsyncClient, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Outside production the header moves "now" (the participant becomes active); in production the
    same request sees today, and an unparseable value is not an error."""
    key = "production-key-" + "x" * 30
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, start_date=f.at(10))
    raw = "production-token"
    session.add(ApiToken(hashed_token=hash_token(raw, key), cpd_lead_provider_id=lp.cpd.id))
    await session.flush()
    path = f"/api/v3/participants/ecf/{p.id}"
    later = {"X-With-Server-Date": f.at(20).isoformat()}

    def status(response: httpx.Response) -> str:
        assert response.status_code == 200, response.text
        value: str = response.json()["data"]["attributes"]["ecf_enrolments"][0]["participant_status"]
        return value

    assert status(await client.get(path, headers=lp.headers | later)) == "active"
    production = create_app(
        Settings(environment=Environment.PRODUCTION, token_hmac_key=key), sessionmaker=sessionmaker
    )
    async with raw_client(production) as prod:
        auth = {"Authorization": f"Bearer {raw}"}
        assert status(await prod.get(path, headers=auth)) == "joining"
        assert status(await prod.get(path, headers=auth | later)) == "joining"
        assert status(await prod.get(path, headers=auth | {"X-With-Server-Date": "garbage"})) == "joining"
