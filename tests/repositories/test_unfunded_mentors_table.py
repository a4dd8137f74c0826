"""`ecf_unfunded_mentors` (migration 0024) always equals the rule it stores.

The latest induction records' refresh keeps each provider's unfunded mentors: the records its
latest records name as mentor that have no latest record with it. After each kind of change (a
mentor named, changed or cleared, the mentor starting or stopping with the provider, a record
moving to another provider, a record deleted) the table is compared with the rule computed from
scratch (the `..._source` view), both ways.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests import factories as f
from tests.repositories.derived import assert_matches_rule


async def assert_consistent(session: AsyncSession) -> None:
    await assert_matches_rule(session, "ecf_unfunded_mentors", "lead_provider_id, mentor_profile_id")


async def unfunded(session: AsyncSession, lp: f.Provider) -> set[uuid.UUID]:
    result = await session.execute(
        text("SELECT mentor_profile_id FROM ecf_unfunded_mentors WHERE lead_provider_id = :lp"),
        {"lp": lp.lead_provider.id},
    )
    return set(result.scalars())


async def name_mentor(session: AsyncSession, record_id: uuid.UUID, mentor_id: uuid.UUID | None) -> None:
    await session.execute(
        text("UPDATE induction_records SET mentor_profile_id = :m WHERE id = :id"),
        {"m": mentor_id, "id": record_id},
    )


async def test_a_mentor_is_unfunded_while_they_do_not_train_with_the_provider(session: AsyncSession) -> None:
    lp, other = await f.provider(session), await f.provider(session)
    mentor = await f.participant(session, other.lead_provider, 2022, profile_type="mentor")
    ect = await f.participant(session, lp.lead_provider, 2022, mentor=mentor.profile)
    assert await unfunded(session, lp) == {mentor.profile.id}
    assert await unfunded(session, other) == set()
    # The mentor starts training with the provider too: no longer unfunded.
    theirs = await f.programme(session, lp.lead_provider, 2022)
    here = await f.induction_record(session, mentor, theirs, start_date=f.at(-1))
    assert await unfunded(session, lp) == set()
    await session.execute(text("DELETE FROM induction_records WHERE id = :id"), {"id": here.id})
    assert await unfunded(session, lp) == {mentor.profile.id}
    await assert_consistent(session)
    # The ECT's record goes: nobody names the mentor.
    await session.execute(text("DELETE FROM induction_records WHERE id = :id"), {"id": ect.record.id})
    assert await unfunded(session, lp) == set()
    await assert_consistent(session)


async def test_mentor_changes_move_the_pairs(session: AsyncSession) -> None:
    lp, other = await f.provider(session), await f.provider(session)
    first = await f.participant(session, other.lead_provider, 2022, profile_type="mentor")
    second = await f.participant(session, None, 2022, profile_type="mentor")  # trains nowhere
    ect = await f.participant(session, lp.lead_provider, 2022, mentor=first.profile)
    await name_mentor(session, ect.record.id, second.profile.id)
    assert await unfunded(session, lp) == {second.profile.id}
    await name_mentor(session, ect.record.id, None)
    assert await unfunded(session, lp) == set()
    await name_mentor(session, ect.record.id, first.profile.id)
    assert await unfunded(session, lp) == {first.profile.id}
    await assert_consistent(session)


async def test_a_mentor_named_by_two_records_stays_until_both_change(session: AsyncSession) -> None:
    lp, other = await f.provider(session), await f.provider(session)
    mentor = await f.participant(session, other.lead_provider, 2022, profile_type="mentor")
    ects = [await f.participant(session, lp.lead_provider, 2022, mentor=mentor.profile) for _ in range(2)]
    await name_mentor(session, ects[0].record.id, None)
    assert await unfunded(session, lp) == {mentor.profile.id}
    await name_mentor(session, ects[1].record.id, None)
    assert await unfunded(session, lp) == set()
    await assert_consistent(session)


async def test_a_partnership_changing_provider_moves_the_pairs(session: AsyncSession) -> None:
    lp, other, third = await f.provider(session), await f.provider(session), await f.provider(session)
    mentor = await f.participant(session, other.lead_provider, 2022, profile_type="mentor")
    ect = await f.participant(session, lp.lead_provider, 2022, mentor=mentor.profile)
    assert ect.programme.partnership is not None
    await session.execute(
        text("UPDATE partnerships SET lead_provider_id = :lp WHERE id = :id"),
        {"lp": third.lead_provider.id, "id": ect.programme.partnership.id},
    )
    assert await unfunded(session, lp) == set()
    assert await unfunded(session, third) == {mentor.profile.id}
    await assert_consistent(session)


async def test_changes_that_do_not_matter_leave_the_table_alone(session: AsyncSession) -> None:
    lp, other = await f.provider(session), await f.provider(session)
    mentor = await f.participant(session, other.lead_provider, 2022, profile_type="mentor")
    ect = await f.participant(session, lp.lead_provider, 2022, mentor=mentor.profile)

    async def ctid() -> str:
        found = await session.execute(
            text("SELECT ctid::text FROM ecf_unfunded_mentors WHERE mentor_profile_id = :m"),
            {"m": mentor.profile.id},
        )
        return str(found.scalar_one())

    before = await ctid()
    for status in ("withdrawn", "active"):
        await session.execute(
            text("UPDATE induction_records SET training_status = :s WHERE id = :id"),
            {"s": status, "id": ect.record.id},
        )
    assert await ctid() == before  # a recompute deletes and re-inserts: the row would have moved
    await assert_consistent(session)


async def test_rebuild_from_scratch_gives_the_same_rows(session: AsyncSession) -> None:
    lp, other = await f.provider(session), await f.provider(session)
    mentor = await f.participant(session, other.lead_provider, 2022, profile_type="mentor")
    await f.participant(session, lp.lead_provider, 2022, mentor=mentor.profile)
    await session.execute(text("DELETE FROM ecf_unfunded_mentors"))
    await session.execute(text("SELECT cpd_rebuild_latest_induction_records()"))
    assert await unfunded(session, lp) == {mentor.profile.id}
    await assert_consistent(session)


@pytest.mark.parametrize("rounds", [3])
async def test_two_records_letting_one_mentor_go_at_once_end_consistent(
    committed: async_sessionmaker[AsyncSession], rounds: int
) -> None:
    """Two transactions each stop naming the same mentor. Each recompute of the pair takes its
    lock, so the later one waits for the earlier's commit and sees that neither names the mentor
    any more. Without the lock each sees the other's record still naming them, and the mentor
    stays listed."""
    async with committed() as session:
        lp, other = await f.provider(session), await f.provider(session)
        mentor = await f.participant(session, other.lead_provider, 2022, profile_type="mentor")
        ects = [await f.participant(session, lp.lead_provider, 2022, mentor=mentor.profile) for _ in range(2)]
        await session.commit()

    async def set_both(mentor_id: uuid.UUID | None) -> None:
        started = asyncio.Event()

        async def change(record_id: uuid.UUID, wait: asyncio.Event | None) -> None:
            if wait is not None:
                await wait.wait()
            async with committed() as session:
                await name_mentor(session, record_id, mentor_id)
                if wait is None:
                    started.set()
                    await asyncio.sleep(0.3)  # the other transaction changes (and waits) meanwhile
                await session.commit()

        await asyncio.gather(change(ects[0].record.id, None), change(ects[1].record.id, started))

    for _ in range(rounds):
        await set_both(None)
        async with committed() as session:
            assert await unfunded(session, lp) == set()
            await assert_consistent(session)
        await set_both(mentor.profile.id)
        async with committed() as session:
            assert await unfunded(session, lp) == {mentor.profile.id}
            await assert_consistent(session)
