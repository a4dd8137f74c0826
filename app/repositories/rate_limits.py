"""The PostgreSQL rate-limit counter: one statement per request, run outside any transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.repositories.sql import text

# Count one hit in the caller's current window and return the window's total. The CTE drops the
# caller's earlier windows in the same round trip, so a busy caller keeps a single row.
_HIT = text(
    """
    WITH expired AS (
        DELETE FROM rate_limit_counters WHERE key = :key AND window_start < :window_start
    )
    INSERT INTO rate_limit_counters AS c (key, window_start, hits)
    VALUES (:key, :window_start, 1)
    ON CONFLICT (key, window_start) DO UPDATE SET hits = c.hits + 1
    RETURNING c.hits
    """
)

# The same, also sweeping every caller's finished windows (callers that went quiet). Run now and
# then instead of _HIT: a separate statement keeps _HIT's plan on the primary key.
_HIT_AND_SWEEP = text(
    """
    WITH expired AS (
        DELETE FROM rate_limit_counters WHERE window_start < :window_start
    )
    INSERT INTO rate_limit_counters AS c (key, window_start, hits)
    VALUES (:key, :window_start, 1)
    ON CONFLICT (key, window_start) DO UPDATE SET hits = c.hits + 1
    RETURNING c.hits
    """
)


class RateLimitRepository:
    def __init__(self, connection: AsyncConnection | AsyncSession) -> None:
        self.connection = connection

    async def hit(self, key: str, window_start: int, *, sweep: bool = False) -> int:
        """Record one request for `key` in the window starting at `window_start`; the window's count."""
        statement = _HIT_AND_SWEEP if sweep else _HIT
        result = await self.connection.execute(statement, {"key": key, "window_start": window_start})
        hits: int = result.scalar_one()
        return hits
