"""The ORM models and the Alembic migrations describe the same schema, and migrations reverse."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.db import async_url
from app.migrate import downgrade, upgrade
from app.models import Base
from tests.conftest import in_thread


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_match_migrations(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == [], f"models and migrations disagree: {diff}"


async def test_updated_at_triggers_installed(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        names = set(
            (await conn.execute(text("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'trg_%'"))).scalars()
        )
    assert "trg_induction_records_cpd_touch_profile" in names
    assert "trg_participant_profiles_cpd_touch_user_from_profile" in names


def test_migrations_downgrade_and_upgrade_again(database_url: str) -> None:
    """A scratch database goes up, all the way down, and up again."""
    scratch = make_url(database_url).set(database="cpd_api_migration_check")

    async def recreate() -> None:
        admin = create_async_engine(async_url(database_url), isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text('DROP DATABASE IF EXISTS "cpd_api_migration_check"'))
            await conn.execute(text('CREATE DATABASE "cpd_api_migration_check"'))
        await admin.dispose()

    url = scratch.render_as_string(hide_password=False)

    def cycle() -> None:
        asyncio.run(recreate())
        upgrade(url)
        downgrade(url, "base")
        upgrade(url)

    in_thread(cycle)


async def test_list_tables_are_vacuumed_after_a_small_share_of_changes(engine: AsyncEngine) -> None:
    """Index-only list pages stay index-only for recent rows (migration 0023)."""
    async with engine.connect() as conn:
        options = dict(
            (
                await conn.execute(
                    text(
                        "SELECT relname, reloptions FROM pg_class"
                        " WHERE relname IN ('participant_declarations', 'ecf_latest_induction_records')"
                    )
                )
            ).all()
        )
    assert "autovacuum_vacuum_insert_scale_factor=0.01" in options["participant_declarations"]
    assert "autovacuum_vacuum_scale_factor=0.02" in options["ecf_latest_induction_records"]


async def test_the_trigger_after_each_new_declaration_keeps_its_plans(engine: AsyncEngine) -> None:
    """Migration 0030: the trigger every declaration POST runs keeps generic plans (its planning
    cost ten times its work); the refreshes that also serve bulk loads still plan per run (0014)."""
    async with engine.connect() as conn:
        settings = dict(
            (
                await conn.execute(
                    text(
                        "SELECT proname, array_to_string(proconfig, ',') FROM pg_proc WHERE proname IN"
                        " ('cpd_inherited_from_declarations_inserted',"
                        " 'cpd_refresh_inherited_declaration_profiles')"
                    )
                )
            ).all()
        )
    assert settings["cpd_inherited_from_declarations_inserted"] == "plan_cache_mode=force_generic_plan"
    assert settings["cpd_refresh_inherited_declaration_profiles"] == "plan_cache_mode=force_custom_plan"
