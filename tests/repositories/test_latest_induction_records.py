"""`ecf_latest_induction_records` (migration 0013) and `ecf_transfer_participants` (0019) always
equal the rules they store.

Every ECF list reads each provider's latest induction record per training record from that
table, which database triggers keep. These tests change every column the rule depends on, the way
the service and operators do (new placements, closing one, changing schedule or cohort, challenging
a partnership, moving a programme to another partnership, merging people), and after each change
compare the table with the rule computed from scratch (the `..._source` view), both ways.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests import factories as f
from tests.repositories.derived import assert_counts_match_rule, assert_matches_rule

COLUMNS = (
    "lead_provider_id, participant_profile_id, cohort_start_year, induction_record_id, rank, schedule_id, "
    "training_status, mentor_profile_id, user_id, user_created_at, profile_created_at"
)


TRANSFER_COLUMNS = "lead_provider_id, participant_profile_id, user_id, user_created_at"


async def assert_consistent(session: AsyncSession) -> None:
    """The tables the latest-record triggers keep hold the same rows as their rules."""
    await assert_matches_rule(session, "ecf_latest_induction_records", COLUMNS)
    await assert_matches_rule(session, "ecf_transfer_participants", TRANSFER_COLUMNS)
    await assert_matches_rule(session, "ecf_unfunded_mentors", "lead_provider_id, mentor_profile_id")
    await assert_matches_rule(
        session, "ecf_inherited_declaration_profiles", "lead_provider_id, participant_profile_id"
    )
    await assert_matches_rule(
        session,
        "ecf_inherited_declarations",
        "lead_provider_id, participant_profile_id, participant_declaration_id, created_at",
    )
    await assert_matches_rule(
        session,
        "ecf_participant_users",
        "lead_provider_id, user_id, user_created_at, cohort_years, latest_cohort",
    )
    await assert_counts_match_rule(
        session, "ecf_participant_user_month_counts", "lead_provider_id, month, latest_cohort", "users"
    )


async def transfer_rows(session: AsyncSession, profile_id: uuid.UUID) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(provider, user) pairs the transfer set holds for a training record."""
    result = await session.execute(
        text(
            "SELECT lead_provider_id, user_id FROM ecf_transfer_participants"
            " WHERE participant_profile_id = :id"
        ),
        {"id": profile_id},
    )
    return {(r[0], r[1]) for r in result}


async def rows(session: AsyncSession, profile_id: uuid.UUID) -> list[dict[str, Any]]:
    result = await session.execute(
        text(
            "SELECT lead_provider_id, cohort_start_year, induction_record_id, rank, training_status, user_id"
            " FROM ecf_latest_induction_records WHERE participant_profile_id = :id ORDER BY rank"
        ),
        {"id": profile_id},
    )
    return [dict(r) for r in result.mappings()]


async def test_a_new_placement_becomes_the_latest(session: AsyncSession) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, 2022, start_date=f.at(-100))
    assert [r["induction_record_id"] for r in await rows(session, p.profile.id)] == [p.record.id]
    later = await f.induction_record(session, p, p.programme, start_date=f.at(-5))
    assert [r["induction_record_id"] for r in await rows(session, p.profile.id)] == [later.id]
    await assert_consistent(session)


async def test_open_ended_record_wins_over_a_later_closed_one(session: AsyncSession) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, 2022, start_date=f.at(-100))
    await f.induction_record(session, p, p.programme, start_date=f.at(-5), end_date=f.at(-1))
    assert [r["induction_record_id"] for r in await rows(session, p.profile.id)] == [p.record.id]
    await assert_consistent(session)


async def test_one_row_per_schedule_cohort_ranked_by_the_rule(session: AsyncSession) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, 2021, start_date=f.at(-400), end_date=f.at(-10))
    programme_2022 = await f.programme(session, lp.lead_provider, 2022, school_=p.programme.school)
    schedule_2022 = await f.schedule(session, 2022)
    moved = await f.induction_record(
        session, p, programme_2022, schedule_id=schedule_2022.id, start_date=f.at(-10)
    )
    found = await rows(session, p.profile.id)
    assert [(r["cohort_start_year"], r["rank"], r["induction_record_id"]) for r in found] == [
        (2022, 1, moved.id),
        (2021, 2, p.record.id),
    ]
    await assert_consistent(session)


async def test_record_changes_that_matter_refresh_the_row(session: AsyncSession) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, 2022)
    await session.execute(
        text("UPDATE induction_records SET training_status = 'withdrawn' WHERE id = :id"), {"id": p.record.id}
    )
    assert (await rows(session, p.profile.id))[0]["training_status"] == "withdrawn"
    other = await f.schedule(session, 2023)
    await session.execute(
        text("UPDATE induction_records SET schedule_id = :s WHERE id = :id"),
        {"s": other.id, "id": p.record.id},
    )
    assert (await rows(session, p.profile.id))[0]["cohort_start_year"] == 2023
    await assert_consistent(session)


async def test_deleting_a_record_falls_back_to_the_previous_one(session: AsyncSession) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, 2022, start_date=f.at(-100))
    later = await f.induction_record(session, p, p.programme, start_date=f.at(-5))
    await session.execute(text("DELETE FROM induction_records WHERE id = :id"), {"id": later.id})
    assert [r["induction_record_id"] for r in await rows(session, p.profile.id)] == [p.record.id]
    await session.execute(text("DELETE FROM induction_records WHERE id = :id"), {"id": p.record.id})
    assert await rows(session, p.profile.id) == []
    await assert_consistent(session)


async def test_statements_writing_many_records_refresh_every_training_record_they_touch(
    session: AsyncSession,
) -> None:
    """One INSERT, UPDATE or DELETE over several training records (a bulk load, an operator's
    change) refreshes each of them once, at the end of the statement (migration 0015)."""
    lp = await f.provider(session)
    people = [await f.participant(session, lp.lead_provider, 2022, start_date=f.at(-100)) for _ in range(4)]
    ids = [p.record.id for p in people]
    profiles = [p.profile.id for p in people]
    # A later placement for every one of them, in one statement.
    await session.execute(
        text(
            "INSERT INTO induction_records (id, participant_profile_id, induction_programme_id, schedule_id,"
            " start_date, induction_status, training_status, created_at, updated_at)"
            " SELECT gen_random_uuid(), participant_profile_id, induction_programme_id, schedule_id,"
            " now() - interval '5 days', 'active', 'active', now(), now()"
            " FROM induction_records WHERE id = ANY(:ids)"
        ),
        {"ids": ids},
    )
    for record, profile in zip(ids, profiles, strict=True):
        assert [r["induction_record_id"] for r in await rows(session, profile)] not in ([], [record])
    await assert_consistent(session)
    # Close the new placements together: each training record falls back to its first one.
    await session.execute(
        text(
            "UPDATE induction_records SET start_date = now() - interval '200 days'"
            " WHERE participant_profile_id = ANY(:profiles) AND NOT id = ANY(:ids)"
        ),
        {"profiles": profiles, "ids": ids},
    )
    for record, profile in zip(ids, profiles, strict=True):
        assert [r["induction_record_id"] for r in await rows(session, profile)] == [record]
    await assert_consistent(session)
    # Move two records to another training record in one statement: both records are refreshed.
    await session.execute(
        text("UPDATE induction_records SET participant_profile_id = :to WHERE id = ANY(:ids)"),
        {"to": profiles[3], "ids": ids[:2]},
    )
    for record, profile in zip(ids[:2], profiles[:2], strict=True):
        remaining = [r["induction_record_id"] for r in await rows(session, profile)]
        assert len(remaining) == 1 and remaining != [record]
    await assert_consistent(session)
    # Delete all of them at once.
    await session.execute(
        text("DELETE FROM induction_records WHERE participant_profile_id = ANY(:profiles)"),
        {"profiles": profiles},
    )
    for profile in profiles:
        assert await rows(session, profile) == []
    await assert_consistent(session)


async def test_challenging_a_partnership_hides_its_records_and_reverting_restores_them(
    session: AsyncSession,
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, 2022)
    assert p.programme.partnership is not None
    params = {"id": p.programme.partnership.id}
    await session.execute(
        text("UPDATE partnerships SET challenged_at = now(), challenge_reason = 'mistake' WHERE id = :id"),
        params,
    )
    assert await rows(session, p.profile.id) == []
    await session.execute(
        text("UPDATE partnerships SET challenged_at = NULL, challenge_reason = NULL WHERE id = :id"), params
    )
    assert len(await rows(session, p.profile.id)) == 1
    await assert_consistent(session)


async def test_a_programme_moving_to_another_providers_partnership_moves_its_records(
    session: AsyncSession,
) -> None:
    first = await f.provider(session)
    second = await f.provider(session)
    p = await f.participant(session, first.lead_provider, 2022)
    theirs = await f.programme(session, second.lead_provider, 2022)
    assert theirs.partnership is not None
    await session.execute(
        text("UPDATE induction_programmes SET partnership_id = :p WHERE id = :id"),
        {"p": theirs.partnership.id, "id": p.programme.programme.id},
    )
    assert [r["lead_provider_id"] for r in await rows(session, p.profile.id)] == [second.lead_provider.id]
    await session.execute(
        text("UPDATE induction_programmes SET partnership_id = NULL WHERE id = :id"),
        {"id": p.programme.programme.id},
    )
    assert await rows(session, p.profile.id) == []
    await assert_consistent(session)


async def test_a_partnership_changing_provider_or_a_schedule_changing_cohort(session: AsyncSession) -> None:
    first = await f.provider(session)
    second = await f.provider(session)
    p = await f.participant(session, first.lead_provider, 2022)
    assert p.programme.partnership is not None
    await session.execute(
        text("UPDATE partnerships SET lead_provider_id = :lp WHERE id = :id"),
        {"lp": second.lead_provider.id, "id": p.programme.partnership.id},
    )
    assert [r["lead_provider_id"] for r in await rows(session, p.profile.id)] == [second.lead_provider.id]
    cohort_2024 = await f.cohort(session, 2024)
    await session.execute(
        text("UPDATE schedules SET cohort_id = :c WHERE id = :id"),
        {"c": cohort_2024.id, "id": p.record.schedule_id},
    )
    assert [r["cohort_start_year"] for r in await rows(session, p.profile.id)] == [2024]
    await assert_consistent(session)


async def test_merges_move_rows_to_the_surviving_user(session: AsyncSession) -> None:
    lp = await f.provider(session)
    survivor = await f.person(session)
    retired = await f.participant(session, lp.lead_provider, 2022)
    await session.execute(
        text("UPDATE participant_identities SET user_id = :to WHERE id = :id"),
        {"to": survivor.user.id, "id": retired.person.identity.id},
    )
    assert [r["user_id"] for r in await rows(session, retired.profile.id)] == [survivor.user.id]
    await session.execute(
        text("UPDATE participant_profiles SET participant_identity_id = :to WHERE id = :id"),
        {"to": retired.person.identity.id, "id": retired.profile.id},
    )
    await session.execute(
        text("UPDATE users SET created_at = created_at - interval '1 day' WHERE id = :id"),
        {"id": survivor.user.id},
    )
    await assert_consistent(session)


async def test_unrelated_updates_leave_the_table_alone(session: AsyncSession) -> None:
    """The updated_at cascade and other columns do not trigger a refresh (cheap writes); a real
    change does."""
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, 2022)
    before = (
        await session.execute(
            text("SELECT ctid::text FROM ecf_latest_induction_records WHERE participant_profile_id = :id"),
            {"id": p.profile.id},
        )
    ).scalar_one()
    await session.execute(
        text("UPDATE induction_records SET updated_at = now() + interval '1 minute' WHERE id = :id"),
        {"id": p.record.id},
    )
    await session.execute(
        text("UPDATE users SET full_name = 'Renamed' WHERE id = :id"), {"id": p.person.user.id}
    )
    after = (
        await session.execute(
            text("SELECT ctid::text FROM ecf_latest_induction_records WHERE participant_profile_id = :id"),
            {"id": p.profile.id},
        )
    ).scalar_one()
    assert after == before  # a refresh deletes and re-inserts: the row would have moved
    await session.execute(
        text("UPDATE induction_records SET training_status = 'deferred' WHERE id = :id"), {"id": p.record.id}
    )
    moved = (
        await session.execute(
            text("SELECT ctid::text FROM ecf_latest_induction_records WHERE participant_profile_id = :id"),
            {"id": p.profile.id},
        )
    ).scalar_one()
    assert moved != before
    await assert_consistent(session)


async def test_transfer_set_follows_leaving_and_school_transfer_records(session: AsyncSession) -> None:
    """A training record joins a provider's transfer set when it has a leaving record and one of
    the provider's records is leaving or a school transfer; each change is reflected at once."""
    old_lp, new_lp = await f.provider(session), await f.provider(session)
    p = await f.participant(session, old_lp.lead_provider, 2022, start_date=f.at(-200))
    assert await transfer_rows(session, p.profile.id) == set()
    new_programme = await f.programme(session, new_lp.lead_provider, 2022)
    joining = await f.induction_record(session, p, new_programme, start_date=f.at(-10), school_transfer=True)
    # A school transfer without any leaving record is not a transfer yet.
    assert await transfer_rows(session, p.profile.id) == set()
    await session.execute(
        text("UPDATE induction_records SET induction_status = 'leaving', end_date = :d WHERE id = :id"),
        {"d": f.at(-10), "id": p.record.id},
    )
    user = p.person.user.id
    assert await transfer_rows(session, p.profile.id) == {
        (old_lp.lead_provider.id, user),
        (new_lp.lead_provider.id, user),
    }
    await session.execute(
        text("UPDATE induction_records SET school_transfer = false WHERE id = :id"), {"id": joining.id}
    )
    assert await transfer_rows(session, p.profile.id) == {(old_lp.lead_provider.id, user)}
    await assert_consistent(session)
    # A challenged partnership still counts; a partnership moving to another provider moves it.
    assert p.programme.partnership is not None
    await session.execute(
        text("UPDATE partnerships SET challenged_at = now(), challenge_reason = 'mistake' WHERE id = :id"),
        {"id": p.programme.partnership.id},
    )
    assert await transfer_rows(session, p.profile.id) == {(old_lp.lead_provider.id, user)}
    await session.execute(
        text("UPDATE partnerships SET lead_provider_id = :lp WHERE id = :id"),
        {"lp": new_lp.lead_provider.id, "id": p.programme.partnership.id},
    )
    assert await transfer_rows(session, p.profile.id) == {(new_lp.lead_provider.id, user)}
    # A merge moves it to the surviving user; deleting the leaving record takes it out.
    survivor = await f.person(session)
    await session.execute(
        text("UPDATE participant_identities SET user_id = :to WHERE id = :id"),
        {"to": survivor.user.id, "id": p.person.identity.id},
    )
    assert await transfer_rows(session, p.profile.id) == {(new_lp.lead_provider.id, survivor.user.id)}
    await assert_consistent(session)
    await session.execute(text("DELETE FROM induction_records WHERE id = :id"), {"id": p.record.id})
    assert await transfer_rows(session, p.profile.id) == set()
    await assert_consistent(session)


async def test_rebuild_from_scratch_gives_the_same_rows(session: AsyncSession) -> None:
    lp = await f.provider(session)
    for year in (2021, 2022, 2023):
        await f.participant(session, lp.lead_provider, year)
    leaver = await f.participant(session, lp.lead_provider, 2022, induction_status="leaving")
    assert await transfer_rows(session, leaver.profile.id) == {(lp.lead_provider.id, leaver.person.user.id)}
    await session.execute(text("DELETE FROM ecf_transfer_participants"))
    await session.execute(text("SELECT cpd_rebuild_latest_induction_records()"))
    await assert_consistent(session)


@pytest.mark.parametrize("rounds", [10])
async def test_concurrent_placements_for_one_training_record_end_consistent(
    committed: async_sessionmaker[AsyncSession], rounds: int
) -> None:
    """Two transactions adding placements to one training record at once: each refresh waits for
    the other's commit (advisory lock), so the table ends equal to the rule."""
    async with committed() as session:
        lp = await f.provider(session)
        p = await f.participant(session, lp.lead_provider, 2022, start_date=f.at(-100))
        await session.commit()

    async def place(days: int) -> None:
        async with committed() as session:
            await session.execute(
                text(
                    "INSERT INTO induction_records (id, participant_profile_id, induction_programme_id,"
                    " schedule_id, start_date, induction_status, training_status, created_at, updated_at)"
                    " SELECT gen_random_uuid(), participant_profile_id, induction_programme_id, schedule_id,"
                    " now() - make_interval(days => :days), 'active', 'active', now(), now()"
                    " FROM induction_records WHERE id = :id"
                ),
                {"days": days, "id": p.record.id},
            )
            await asyncio.sleep(0.01)
            await session.commit()

    for i in range(rounds):
        await asyncio.gather(place(50 - 2 * i), place(49 - 2 * i))
    async with committed() as session:
        await assert_consistent(session)
        found = await rows(session, p.profile.id)
        latest = (
            await session.execute(
                text(
                    "SELECT id FROM induction_records WHERE participant_profile_id = :id"
                    " ORDER BY start_date DESC, created_at DESC, id DESC LIMIT 1"
                ),
                {"id": p.profile.id},
            )
        ).scalar_one()
        assert [r["induction_record_id"] for r in found] == [latest]
