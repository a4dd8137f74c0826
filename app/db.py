"""Engine and session factory. Created by the app's lifespan, never at import time."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.settings import Settings


def async_url(url: str) -> str:
    """Normalise any PostgreSQL URL to the asyncpg driver."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The same URL for a synchronous (libpq-free) use: still asyncpg, run through a sync adapter."""
    return async_url(url)


def create_engine(settings: Settings, database_url: str) -> AsyncEngine:
    """The app's engine: pool sizes, statement timeout and connect timeout from settings.

    statement_timeout is a session setting sent when each connection opens, so it holds for every
    statement on every pooled connection (0 leaves the server's default).

    Planner settings for an API serving many concurrent requests on few cores (measured with the
    benchmark at the national volume, bench/RESULTS.md):
    - no parallel query: a parallel plan runs the list queries' shared CTEs once per worker
      process (3x the CPU for the same answer), and under concurrent requests the cores are
      already busy, so parallelism only adds work;
    - no JIT: the list queries' cost estimates cross the JIT threshold, and compiling takes
      longer than the queries themselves;
    - work_mem large enough for a provider's visible induction records to be sorted in memory
      rather than in temporary files;
    - random_page_cost for data that lives in memory or on SSD: with the default (4, spinning
      disks) a 2,000-record page joined its records by reading the whole induction_records table
      (a hash join, 100 ms) instead of 2,000 index probes (a nested loop, a few ms).
    """
    server_settings = {
        "application_name": "cpd-api",
        "timezone": "UTC",
        "max_parallel_workers_per_gather": "0",
        "jit": "off",
        "work_mem": "32MB",
        "random_page_cost": "1.1",
    }
    connect_args: dict[str, object] = {
        "server_settings": server_settings,
        "timeout": settings.db_connect_timeout_seconds,
    }
    if settings.db_statement_timeout_ms:
        server_settings["statement_timeout"] = str(settings.db_statement_timeout_ms)
        # statement_timeout is enforced by the server, so it cannot end a wait for a server that
        # no longer answers (a silent network): the driver gives up on any one command after the
        # statement timeout plus the connect timeout, and the request fails instead of hanging.
        connect_args["command_timeout"] = (
            settings.db_statement_timeout_ms / 1000 + settings.db_connect_timeout_seconds
        )
    return create_async_engine(
        async_url(database_url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
