"""Engine and session factory. Created by the app's lifespan, never at import time."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

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
    engine = create_async_engine(
        async_url(database_url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args=connect_args,
    )
    install_liveness_check(engine)
    return engine


# A pooled connection idle longer than this is pinged (one round trip) before it is handed out.
PING_AFTER_IDLE_SECONDS = 10.0
_IDLE_SINCE = "cpd_api_idle_since"


def install_liveness_check(engine: AsyncEngine) -> None:
    """Hand out only live connections, without a round trip per request.

    SQLAlchemy's pool_pre_ping costs three round trips on asyncpg (BEGIN, the ping, ROLLBACK) on
    every checkout: about a third of the database calls of a small list request. Instead:
    - a connection the server closed (a restart, a terminated backend, a proxy that dropped it)
      is already known to asyncpg as closed, so it is replaced without asking the server;
    - a connection idle for PING_AFTER_IDLE_SECONDS is pinged first, for the failures nobody
      announces (a firewall or NAT that forgot the connection while it sat in the pool).
    Raising DisconnectionError makes the pool discard the connection and check out another.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def idle_from_now(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def only_live(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        driver = record.driver_connection
        if driver is None or driver.is_closed():
            raise DisconnectionError("the server closed this pooled connection")
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is not None and time.monotonic() - idle_since > PING_AFTER_IDLE_SECONDS:
            try:
                dbapi_connection.ping()
            except Exception as exc:
                raise DisconnectionError("a pooled connection did not answer its ping") from exc


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def read_only_sessionmaker(maker: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Sessions like `maker`'s on autocommit connections of the same pool (for read-only requests,
    app/api/deps.py `read_only`): no BEGIN/COMMIT round trips. The pool sets the isolation level
    when it hands a connection out and resets it when the connection comes back (asyncpg: a flag
    on the driver's connection, no round trip). A maker bound to anything but an engine (a test's
    connection inside its transaction) is returned as it is."""
    bind = maker.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        return maker
    options = {key: value for key, value in maker.kw.items() if key != "bind"}
    return async_sessionmaker(
        bind.execution_options(isolation_level="AUTOCOMMIT"), class_=maker.class_, **options
    )
