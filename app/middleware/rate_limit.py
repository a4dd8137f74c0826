"""Rate limiting per token (per client address without one), shared by every worker process.

Window choice: FIXED windows of RATE_LIMIT_PERIOD_SECONDS aligned on the Unix epoch, like the
reference service (rack-attack counts per `floor(now / period)`). A fixed window costs one atomic
increment of one counter per request (Redis INCR, or one PostgreSQL upsert) and one row or key per
caller; a sliding log or a two-window estimate would cost more storage or a second read for a
limit whose purpose is protecting the service, not exact fairness. The known edge (up to twice the
limit across a window boundary) is the reference's too.

A limiter outage never takes the API down: any back-end error lets the request through, logs a
warning, and skips the limiter for a short while so requests do not each wait for a dead back-end.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from app.metrics import RATE_LIMITED, RATE_LIMITER_FAILURES
from app.repositories.rate_limits import RateLimitRepository
from app.security import hash_token, parse_authorization

log = logging.getLogger("cpd_api.rate_limit")

# The reference service's 429: plain text, this exact body.
LIMITED_BODY = b"Retry later\n"
# One request in this many also sweeps every caller's finished windows from PostgreSQL.
SWEEP_ONE_IN = 1000


class Counter(Protocol):
    """A shared counter back-end: count one hit for `key` in a window, return the window's total."""

    async def hit(self, key: str, window_start: int, period: int) -> int: ...

    async def close(self) -> None: ...


class RedisCounter:
    """INCR + EXPIRE in one MULTI/EXEC round trip; keys expire on their own after their window."""

    def __init__(self, url: str, *, prefix: str, timeout: float) -> None:
        self.prefix = prefix
        # No retries: a failure is reported at once and the request fails open.
        self.redis: Redis = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )

    async def hit(self, key: str, window_start: int, period: int) -> int:
        name = f"{self.prefix}:{key}:{window_start}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, period + 60)
            count, _ = await pipe.execute()
        return int(count)

    async def close(self) -> None:
        await self.redis.aclose()


Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection | AsyncSession]]


class PostgresCounter:
    """One upsert per request (app/repositories/rate_limits.py) on an autocommit connection."""

    def __init__(self, connect: Connect, engine: AsyncEngine | None = None) -> None:
        self.connect = connect
        self.engine = engine

    @classmethod
    def for_url(
        cls, database_url: str, *, timeout: float, connect_timeout: float = 10.0, pool_size: int = 2
    ) -> PostgresCounter:
        """An engine of its own: autocommit (no BEGIN/COMMIT round trips), no pre-ping, and a short
        statement timeout so a stuck database fails open quickly. Opening a connection, or waiting
        for a pooled one, is slower on a busy machine without being an outage: those waits are
        longer (the requests need the same database anyway)."""
        from sqlalchemy.ext.asyncio import create_async_engine

        from app.db import async_url

        engine = create_async_engine(
            async_url(database_url),
            isolation_level="AUTOCOMMIT",
            pool_size=pool_size,
            max_overflow=pool_size * 2,
            pool_timeout=connect_timeout,
            pool_recycle=1800,
            connect_args={
                "timeout": connect_timeout,
                "server_settings": {
                    "application_name": "cpd-api-rate-limit",
                    "statement_timeout": str(max(1, int(timeout * 1000))),
                },
            },
        )
        return cls(engine.connect, engine)

    @classmethod
    def for_sessionmaker(cls, maker: async_sessionmaker[AsyncSession]) -> PostgresCounter:
        """Counters through the app's own sessions (an app built around a given sessionmaker)."""

        @asynccontextmanager
        async def connect() -> AsyncIterator[AsyncSession]:
            async with maker() as session:
                yield session
                await session.commit()

        return cls(connect)

    async def hit(self, key: str, window_start: int, period: int) -> int:
        async with self.connect() as connection:
            sweep = random.randrange(SWEEP_ONE_IN) == 0
            return await RateLimitRepository(connection).hit(key, window_start, sweep=sweep)

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int


class RateLimiter:
    """The fixed-window rule over a shared counter, failing open when the counter is unavailable."""

    def __init__(
        self,
        counter: Counter,
        *,
        limit: int,
        period: int,
        pause_after_failure: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.counter = counter
        self.limit = limit
        self.period = period
        self.pause_after_failure = pause_after_failure
        self.clock = clock
        self._skip_until = 0.0

    async def check(self, key: str) -> Decision | None:
        """Count the request; None when the counter could not be reached (let it through)."""
        now = self.clock()
        if now < self._skip_until:
            return None
        window_start = int(now // self.period) * self.period
        try:
            hits = await self.counter.hit(key, window_start, self.period)
        except Exception as exc:  # any back-end failure: fail open
            RATE_LIMITER_FAILURES.inc()
            self._skip_until = now + self.pause_after_failure
            log.warning(
                "rate limiter unavailable (%s: %s); letting requests through for %.0fs",
                type(exc).__name__,
                str(exc)[:200],
                self.pause_after_failure,
            )
            return None
        retry_after = max(1, math.ceil(window_start + self.period - now))
        return Decision(allowed=hits <= self.limit, retry_after=retry_after)

    async def close(self) -> None:
        await self.counter.close()


def caller_key(scope: Scope, token_key: str) -> str:
    """Who a request counts against: its token's keyed digest (never the token), else its address."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            header = value.decode("latin-1")
            return "token:" + hash_token(parse_authorization(header) or header, token_key)
    client = scope.get("client")
    return "addr:" + (client[0] if client else "unknown")


class RateLimitMiddleware:
    """Counts every /api/ request; over the limit → 429 `Retry later` with Retry-After.

    The limiter lives on `app.state.rate_limiter` (made by the app's lifespan, or given to
    create_app); without one, requests pass uncounted.
    """

    def __init__(self, app: ASGIApp, *, token_key: str) -> None:
        self.app = app
        self.token_key = token_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        limiter: RateLimiter | None = getattr(scope["app"].state, "rate_limiter", None)
        decision = None if limiter is None else await limiter.check(caller_key(scope, self.token_key))
        if decision is None or decision.allowed:
            await self.app(scope, receive, send)
            return
        RATE_LIMITED.inc()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"text/plain"),
                    (b"content-length", str(len(LIMITED_BODY)).encode()),
                    (b"retry-after", str(decision.retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": LIMITED_BODY})
