"""Test harness: a real PostgreSQL, migrated once per run; each test in a rolled-back transaction.

Database choice: TEST_DATABASE_URL as given (assumed disposable); else a `cpd_api_test`
database (or TEST_DATABASE_NAME) on the DATABASE_URL server; else the embedded server (pgserver) in .pgdata/.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app import embedded_pg
from app.db import async_url
from app.main import create_app
from app.migrate import upgrade
from app.models import Base
from app.settings import Environment, Settings
from tests.contract import validate_exchange

# A hung test reports the database's locks and fails instead of stalling the run.
from tests.watchdog import pytest_configure, pytest_runtest_protocol, watch_database  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
# pytester runs probe suites in separate processes (tests/test_watchdog.py).
pytest_plugins = ["pytester"]
# TEST_DATABASE_NAME lets several runs share one server without clobbering each other.
TEST_DATABASE = os.environ.get("TEST_DATABASE_NAME", "cpd_api_test")
TEST_HMAC_KEY = "test-hmac-key"
T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # One event loop for the whole run, so the engine's pooled connections stay usable.
    marker = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if pytest_asyncio.is_async_test(item):
            item.add_marker(marker, append=False)


async def _recreate_database(server_url: str, database: str) -> None:
    # Connect to the maintenance database: the one named in DATABASE_URL may not exist yet.
    maintenance = make_url(async_url(server_url)).set(database="postgres")
    admin = create_async_engine(maintenance, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = :d AND pid <> pg_backend_pid()"
            ),
            {"d": database},
        )
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}"'))
        await conn.execute(text(f'CREATE DATABASE "{database}"'))
    await admin.dispose()


def in_thread(fn: Callable[[], T]) -> T:
    """Run blocking code that starts its own event loop (Alembic, asyncio.run) off the test loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def _test_database_url() -> str:
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        return explicit
    server = os.environ.get("DATABASE_URL") or embedded_pg.start(ROOT / ".pgdata" / "server")
    in_thread(lambda: asyncio.run(_recreate_database(server, TEST_DATABASE)))
    return make_url(async_url(server)).set(database=TEST_DATABASE).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url() -> str:
    url = _test_database_url()
    # The schema comes from the migrations themselves, applied from scratch each run.
    in_thread(lambda: upgrade(url))
    watch_database(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(environment=Environment.TEST, database_url=database_url, token_hmac_key=TEST_HMAC_KEY)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(async_url(database_url), pool_size=5, max_overflow=20)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    # Sessions commit to savepoints of the test's transaction.
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
    )


@pytest_asyncio.fixture(loop_scope="session")
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def app(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> FastAPI:
    return create_app(settings, sessionmaker=sessionmaker)


@pytest_asyncio.fixture(loop_scope="session")
async def client(app: FastAPI, session: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app. Data added through `session` is flushed before each request."""

    async def flush_first(request: httpx.Request) -> None:
        await session.flush()

    async def validate(response: httpx.Response) -> None:
        # Every 200/401 of a documented path is checked against the reference OpenAPI schema.
        await response.aread()
        request = response.request
        validate_exchange(
            request.method,
            request.url.path,
            response.status_code,
            response.headers.get("content-type", ""),
            response.content,
        )

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://test",
        event_hooks={"request": [flush_first], "response": [validate]},
    ) as client:
        yield client


@pytest.fixture
def anyio_backend() -> Iterator[str]:
    yield "asyncio"


@pytest_asyncio.fixture(loop_scope="session")
async def committed(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions whose commits are real (for concurrent requests and separate processes); every
    table is emptied afterwards."""
    maker = async_sessionmaker(engine, expire_on_commit=False)
    try:
        yield maker
    finally:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} CASCADE"))
