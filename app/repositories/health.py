"""Database reachability for the health check."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def database_ok(session: AsyncSession) -> bool:
    value: int = (await session.execute(text("SELECT 1"))).scalar_one()
    return value == 1
