"""`ecf_participant_users` (migration 0026): each ECF provider's users in list order.

The latest-record tests compare the table with its rule after every kind of change (see
test_latest_induction_records.assert_consistent); these cover what is particular to it: a user
with two training records, the cohorts it lists, bulk statements, and two transactions changing
two records of one user at once.
"""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests import factories as f
from tests.repositories.derived import assert_matches_rule

COLUMNS = "lead_provider_id, user_id, user_created_at, cohort_years, latest_cohort"


async def listed(session: AsyncSession, lp: f.Provider) -> dict[uuid.UUID, list[int]]:
    assert lp.lead_provider is not None
    result = await session.execute(
        text("SELECT user_id, cohort_years FROM ecf_participant_users WHERE lead_provider_id = :lp"),
        {"lp": lp.lead_provider.id},
    )
    return {row.user_id: list(row.cohort_years) for row in result}


async def test_a_user_is_listed_once_with_the_cohorts_of_their_records(session: AsyncSession) -> None:
    lp = await f.provider(session)
    assert lp.lead_provider is not None
    mentor = await f.participant(session, lp.lead_provider, 2021, profile_type="mentor")
    user = mentor.person.user.id
    assert await listed(session, lp) == {user: [2021]}
    # The same person also trains as an ECT in another cohort with the provider.
    await f.participant(session, lp.lead_provider, 2023, person_=mentor.person)
    assert await listed(session, lp) == {user: [2021, 2023]}
    await session.execute(text("DELETE FROM induction_records WHERE id = :id"), {"id": mentor.record.id})
    assert await listed(session, lp) == {user: [2023]}
    await assert_matches_rule(session, "ecf_participant_users", COLUMNS)


async def test_bulk_statements_and_the_rebuild_keep_it(session: AsyncSession) -> None:
    lp = await f.provider(session)
    assert lp.lead_provider is not None
    people = [await f.participant(session, lp.lead_provider, 2022) for _ in range(3)]
    ids = [p.record.id for p in people]
    await session.execute(text("DELETE FROM induction_records WHERE id = ANY(:ids)"), {"ids": ids[:2]})
    assert set(await listed(session, lp)) == {people[2].person.user.id}
    await session.execute(text("DELETE FROM ecf_participant_users"))
    await session.execute(text("SELECT cpd_rebuild_latest_induction_records()"))
    assert set(await listed(session, lp)) == {people[2].person.user.id}
    await assert_matches_rule(session, "ecf_participant_users", COLUMNS)


async def test_two_records_of_one_user_leaving_at_once_end_consistent(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    """Two transactions each delete one of a user's two records with the provider. The later
    recompute must wait for the earlier's commit and see both gone; unserialised, each sees the
    other record still there and the user stays listed with no record. Two locks serialise them:
    the pair's advisory lock, and the user's participant version row (migration 0025), which the
    same statements update first (triggers fire in name order); either alone passes this test."""
    async with committed() as session:
        lp = await f.provider(session)
        assert lp.lead_provider is not None
        mentor = await f.participant(session, lp.lead_provider, 2022, profile_type="mentor")
        ect = await f.participant(session, lp.lead_provider, 2022, person_=mentor.person)
        await session.commit()
    started = asyncio.Event()

    async def delete(record_id: uuid.UUID, wait: asyncio.Event | None) -> None:
        if wait is not None:
            await wait.wait()
        async with committed() as session:
            await session.execute(text("DELETE FROM induction_records WHERE id = :id"), {"id": record_id})
            if wait is None:
                started.set()
                await asyncio.sleep(0.3)  # the other transaction deletes (and waits) meanwhile
            await session.commit()

    await asyncio.gather(delete(mentor.record.id, None), delete(ect.record.id, started))
    async with committed() as session:
        assert await listed(session, lp) == {}
        await assert_matches_rule(session, "ecf_participant_users", COLUMNS)


async def test_a_refresh_of_many_pairs_locks_the_table_and_recomputes_them(session: AsyncSession) -> None:
    """Above 1,000 pairs (a rebuild, a bulk change) the refresh takes one table lock instead of a
    lock per pair; the pairs are recomputed all the same."""
    lp = await f.provider(session)
    assert lp.lead_provider is not None
    ect = await f.participant(session, lp.lead_provider, 2022)
    user = ect.person.user.id
    await session.execute(text("DELETE FROM ecf_participant_users WHERE user_id = :u"), {"u": user})
    providers = [uuid.uuid4() for _ in range(1000)] + [lp.lead_provider.id]
    users = [uuid.uuid4() for _ in range(1000)] + [user]
    await session.execute(
        text("SELECT cpd_refresh_ecf_participant_users(CAST(:p AS uuid[]), CAST(:u AS uuid[]))"),
        {"p": providers, "u": users},
    )
    locked = await session.execute(
        text(
            "SELECT mode FROM pg_locks WHERE relation = 'ecf_participant_users'::regclass"
            " AND pid = pg_backend_pid() AND mode = 'ExclusiveLock'"
        )
    )
    assert locked.scalars().all() == ["ExclusiveLock"]
    assert await listed(session, lp) == {user: [2022]}
    await assert_matches_rule(session, "ecf_participant_users", COLUMNS)
