"""`participant_declaration_month_counts` (migration 0027): declarations per provider and month.

The list's deep pages trust these counts to find the month a page starts in, so they must equal
their rule (the `_source` view) after every kind of write: single and bulk inserts and deletes,
a declaration moved to another month or provider, truncation, a rebuild after a trigger-less
load, and concurrent transactions.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests import factories as f
from tests.repositories.derived import assert_counts_match_rule

KEPT = """
    SELECT cpd_lead_provider_id, month, sum(declarations)::bigint AS declarations
      FROM participant_declaration_month_counts GROUP BY 1, 2 HAVING sum(declarations) <> 0
"""


async def assert_counts_match(session: AsyncSession) -> None:
    await assert_counts_match_rule(
        session, "participant_declaration_month_counts", "cpd_lead_provider_id, month", "declarations"
    )


async def counts(session: AsyncSession, provider: f.Provider) -> dict[datetime, int]:
    result = await session.execute(
        text(f"SELECT month, declarations FROM ({KEPT}) k WHERE cpd_lead_provider_id = :p"),  # noqa: S608
        {"p": provider.cpd.id},
    )
    return {row.month: row.declarations for row in result}


def month(year: int, number: int) -> datetime:
    return datetime(year, number, 1, tzinfo=UTC)


async def test_inserts_updates_and_deletes_keep_the_counts(session: AsyncSession) -> None:
    one, two = await f.provider(session), await f.provider(session)
    assert one.lead_provider is not None
    people = [await f.participant(session, one.lead_provider, 2022) for _ in range(3)]
    # The last microsecond of January and the first of February fall in different months (UTC).
    jan = await f.declaration(
        session, people[0], one, created_at=datetime(2023, 1, 31, 23, 59, 59, 999999, UTC)
    )
    feb = await f.declaration(session, people[1], one, created_at=month(2023, 2))
    later = await f.declaration(session, people[2], one, created_at=datetime(2023, 2, 14, 12, tzinfo=UTC))
    assert await counts(session, one) == {month(2023, 1): 1, month(2023, 2): 2}

    # A state change leaves the counts alone; a new creation time or provider moves the declaration.
    await session.execute(
        text("UPDATE participant_declarations SET state = 'voided' WHERE id = :id"), {"id": jan.id}
    )
    await session.execute(
        text("UPDATE participant_declarations SET created_at = '2024-06-03T10:00:00Z' WHERE id = :id"),
        {"id": feb.id},
    )
    await session.execute(
        text("UPDATE participant_declarations SET cpd_lead_provider_id = :p WHERE id = :id"),
        {"p": two.cpd.id, "id": later.id},
    )
    assert await counts(session, one) == {month(2023, 1): 1, month(2024, 6): 1}
    assert await counts(session, two) == {month(2023, 2): 1}

    await session.execute(text("DELETE FROM participant_declarations WHERE id = :id"), {"id": jan.id})
    assert await counts(session, one) == {month(2024, 6): 1}
    await assert_counts_match(session)


async def test_bulk_statements_truncation_and_the_rebuild(session: AsyncSession) -> None:
    lp = await f.provider(session)
    assert lp.lead_provider is not None
    for created in ("2022-10-05", "2022-11-05", "2022-11-20"):
        p = await f.participant(session, lp.lead_provider, 2022)
        await f.declaration(session, p, lp, created_at=datetime.fromisoformat(f"{created}T09:00:00+00:00"))
    # One statement copying every declaration as a voided one a year later, then one deleting those.
    copy = """
        INSERT INTO participant_declarations (id, programme, user_id, participant_profile_id,
               cpd_lead_provider_id, declaration_type, declaration_date, course_identifier, state,
               created_at, updated_at)
        SELECT gen_random_uuid(), programme, user_id, participant_profile_id, cpd_lead_provider_id,
               declaration_type, declaration_date, course_identifier, 'voided',
               created_at + interval '1 year', now()
          FROM participant_declarations WHERE cpd_lead_provider_id = :p
    """
    await session.execute(text(copy), {"p": lp.cpd.id})
    assert await counts(session, lp) == {
        month(2022, 10): 1,
        month(2022, 11): 2,
        month(2023, 10): 1,
        month(2023, 11): 2,
    }
    await session.execute(
        text("DELETE FROM participant_declarations WHERE state = 'voided' AND cpd_lead_provider_id = :p"),
        {"p": lp.cpd.id},
    )
    assert await counts(session, lp) == {month(2022, 10): 1, month(2022, 11): 2}
    await assert_counts_match(session)

    # Rows loaded with triggers off are counted by the rebuild.
    await session.execute(text("ALTER TABLE participant_declarations DISABLE TRIGGER USER"))
    await session.execute(text(copy), {"p": lp.cpd.id})
    await session.execute(text("ALTER TABLE participant_declarations ENABLE TRIGGER USER"))
    assert await counts(session, lp) == {month(2022, 10): 1, month(2022, 11): 2}
    await session.execute(text("SELECT cpd_rebuild_declaration_month_counts()"))
    assert len(await counts(session, lp)) == 4
    await assert_counts_match(session)

    await session.execute(text("TRUNCATE participant_declarations CASCADE"))
    assert (
        await session.execute(text("SELECT count(*) FROM participant_declaration_month_counts"))
    ).scalar() == 0


async def test_concurrent_submissions_are_all_counted(committed: async_sessionmaker[AsyncSession]) -> None:
    """Overlapping transactions through different connections add to the shard row of their
    backend (pid modulo 16; two sharing one wait for each other's end) and end with every
    committed declaration counted and a rolled-back one not."""
    async with committed() as session:
        lp = await f.provider(session)
        assert lp.lead_provider is not None
        people = [await f.participant(session, lp.lead_provider, 2022) for _ in range(6)]
        await session.commit()
    created = datetime(2025, 3, 10, tzinfo=UTC)

    async def submit(i: int) -> None:
        async with committed() as session:
            await f.declaration(session, people[i], lp, created_at=created)
            await asyncio.sleep(0.2)  # the others count meanwhile
            if i == 0:
                await session.rollback()
            else:
                await session.commit()

    await asyncio.wait_for(asyncio.gather(*(submit(i) for i in range(len(people)))), timeout=30)
    async with committed() as session:
        assert await counts(session, lp) == {month(2025, 3): len(people) - 1}
        await assert_counts_match(session)
