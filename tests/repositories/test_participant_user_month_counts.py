"""`ecf_participant_user_month_counts` (migration 0029): each ECF provider's listed users per month
of the user's creation and latest cohort.

Deep pages of the v3 participants list trust these counts to find the month a page starts in, so
they must equal their rule (the `_source` view) after every kind of change to the users table:
users joining and leaving, a later cohort, bulk deletes, truncation and the rebuilds. Every
latest-record test checks them too (test_latest_induction_records.assert_consistent).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests import factories as f
from tests.repositories.derived import assert_counts_match_rule

KEPT = """
    SELECT lead_provider_id, month, latest_cohort, sum(users)::bigint AS users
      FROM ecf_participant_user_month_counts GROUP BY 1, 2, 3 HAVING sum(users) <> 0
"""


async def assert_user_counts_match(session: AsyncSession) -> None:
    await assert_counts_match_rule(
        session, "ecf_participant_user_month_counts", "lead_provider_id, month, latest_cohort", "users"
    )


async def counts(session: AsyncSession, provider: f.Provider) -> dict[tuple[datetime, int], int]:
    assert provider.lead_provider is not None
    result = await session.execute(
        text(f"SELECT month, latest_cohort, users FROM ({KEPT}) k WHERE lead_provider_id = :p"),  # noqa: S608
        {"p": provider.lead_provider.id},
    )
    return {(row.month, row.latest_cohort): row.users for row in result}


def month(year: int, number: int) -> datetime:
    return datetime(year, number, 1, tzinfo=UTC)


async def someone_created(session: AsyncSession, created_at: datetime) -> f.Person:
    return await f.person(session, trn=str(4_000_000 + f.n()), created_at=created_at)


async def test_users_joining_moving_cohort_and_leaving_keep_the_counts(session: AsyncSession) -> None:
    one, two = await f.provider(session), await f.provider(session)
    assert one.lead_provider is not None and two.lead_provider is not None
    # The last microsecond of January and the first of February fall in different months (UTC).
    jan = await someone_created(session, datetime(2023, 1, 31, 23, 59, 59, 999999, UTC))
    feb = await someone_created(session, month(2023, 2))
    later = await someone_created(session, datetime(2023, 2, 14, 12, tzinfo=UTC))
    records = [await f.participant(session, one.lead_provider, 2022, person_=p) for p in (jan, feb, later)]
    assert await counts(session, one) == {(month(2023, 1), 2022): 1, (month(2023, 2), 2022): 2}

    # A later cohort moves the user's count to it; a second provider counts the user on its own.
    await f.participant(session, one.lead_provider, 2023, person_=feb, profile_type="mentor")
    await f.participant(session, two.lead_provider, 2021, person_=later, profile_type="mentor")
    assert await counts(session, one) == {
        (month(2023, 1), 2022): 1,
        (month(2023, 2), 2022): 1,
        (month(2023, 2), 2023): 1,
    }
    assert await counts(session, two) == {(month(2023, 2), 2021): 1}

    # A user whose only record goes is no longer counted.
    await session.execute(text("DELETE FROM induction_records WHERE id = :id"), {"id": records[0].record.id})
    assert await counts(session, one) == {(month(2023, 2), 2022): 1, (month(2023, 2), 2023): 1}
    await assert_user_counts_match(session)


async def test_bulk_statements_truncation_and_the_rebuilds(session: AsyncSession) -> None:
    lp = await f.provider(session)
    assert lp.lead_provider is not None
    people = [
        await f.participant(session, lp.lead_provider, 2022, person_=await someone_created(session, created))
        for created in (month(2022, 10), month(2022, 11), datetime(2022, 11, 20, tzinfo=UTC))
    ]
    ids = [p.record.id for p in people]
    await session.execute(text("DELETE FROM induction_records WHERE id = ANY(:ids)"), {"ids": ids[:2]})
    assert await counts(session, lp) == {(month(2022, 11), 2022): 1}
    await assert_user_counts_match(session)

    # Truncation empties the counts; the latest-record rebuild refills the users and so the counts.
    await session.execute(text("TRUNCATE ecf_participant_users"))
    assert await counts(session, lp) == {}
    await session.execute(text("SELECT cpd_rebuild_latest_induction_records()"))
    assert await counts(session, lp) == {(month(2022, 11), 2022): 1}
    await assert_user_counts_match(session)

    # Counts lost (a load with triggers off) come back from the users table.
    await session.execute(text("DELETE FROM ecf_participant_user_month_counts"))
    await session.execute(text("SELECT cpd_rebuild_participant_user_month_counts()"))
    assert await counts(session, lp) == {(month(2022, 11), 2022): 1}
    await assert_user_counts_match(session)
