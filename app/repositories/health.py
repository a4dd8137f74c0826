"""Database reachability for the health check."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories.sql import text


async def database_ok(session: AsyncSession) -> bool:
    value: int = (await session.execute(text("SELECT 1"))).scalar_one()
    return value == 1


async def migration_revisions(session: AsyncSession) -> list[str]:
    """The Alembic revision(s) the database is at; none when it was never migrated."""
    exists = (await session.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL"))).scalar_one()
    if not exists:
        return []
    return list((await session.execute(text("SELECT version_num FROM alembic_version"))).scalars())
