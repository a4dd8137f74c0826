"""`npq_participant_users` (migration 0020) always equals the rule it stores.

NPQ participant lists page over each provider's users from that table, which database triggers
keep. These tests make the changes the rule depends on (new training records, one statement
writing many, a merge moving an identity or a training record to another person, an application
changing provider, creation times corrected, deletions) and after each compare the table with the
rule computed from scratch (the `..._source` view), both ways.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.paging import Page
from app.repositories.npq_participants import NpqParticipantRepository, UserPageQuery
from tests import factories as f
from tests.repositories.derived import assert_matches_rule

COLUMNS = "npq_lead_provider_id, user_id, first_enrolment_at, user_created_at"


async def assert_consistent(session: AsyncSession) -> None:
    await assert_matches_rule(session, "npq_participant_users", COLUMNS)


async def providers_of(session: AsyncSession, user_id: uuid.UUID) -> set[uuid.UUID]:
    result = await session.execute(
        text("SELECT npq_lead_provider_id FROM npq_participant_users WHERE user_id = :u"), {"u": user_id}
    )
    return set(result.scalars())


async def test_training_records_add_their_user_once_per_provider(session: AsyncSession) -> None:
    provider = await f.provider(session, ecf=False, npq=True)
    assert provider.npq_lead_provider is not None
    first = await f.npq_participant(session, provider, course_identifier="npq-headship")
    user = first.person.user.id
    assert await providers_of(session, user) == {provider.npq_lead_provider.id}
    second = await f.npq_participant(
        session, provider, course_identifier="npq-senior-leadership", person_=first.person
    )
    await session.execute(
        text("UPDATE participant_profiles SET created_at = created_at - interval '10 days' WHERE id = :id"),
        {"id": second.profile.id},
    )
    first_at = (
        await session.execute(
            text("SELECT first_enrolment_at FROM npq_participant_users WHERE user_id = :u"), {"u": user}
        )
    ).scalar_one()
    assert (
        first_at
        == (
            await session.execute(
                text("SELECT created_at FROM participant_profiles WHERE id = :id"), {"id": second.profile.id}
            )
        ).scalar_one()
    )
    await assert_consistent(session)


async def test_an_application_without_its_training_record_does_not_count(session: AsyncSession) -> None:
    provider = await f.provider(session, ecf=False, npq=True)
    p = await f.npq_participant(session, provider)
    await session.execute(text("DELETE FROM participant_profiles WHERE id = :id"), {"id": p.profile.id})
    assert await providers_of(session, p.person.user.id) == set()
    await assert_consistent(session)


async def test_statements_writing_many_rows_refresh_every_user_they_touch(session: AsyncSession) -> None:
    provider = await f.provider(session, ecf=False, npq=True)
    assert provider.npq_lead_provider is not None
    people = [await f.npq_participant(session, provider) for _ in range(3)]
    ids = [p.profile.id for p in people]
    await session.execute(text("DELETE FROM participant_profiles WHERE id = ANY(:ids)"), {"ids": ids})
    assert [await providers_of(session, p.person.user.id) for p in people] == [set(), set(), set()]
    await session.execute(
        text(
            "INSERT INTO participant_profiles (id, profile_type, participant_identity_id, schedule_id,"
            " status, training_status, profile_duplicity, created_at, updated_at)"
            " SELECT a.id, 'npq', a.participant_identity_id, a.schedule_id, 'active', 'active', 'single',"
            " now(), now() FROM npq_applications a WHERE a.id = ANY(:ids)"
        ),
        {"ids": ids},
    )
    assert [await providers_of(session, p.person.user.id) for p in people] == [
        {provider.npq_lead_provider.id}
    ] * 3
    await session.execute(text("DELETE FROM participant_profiles WHERE id = ANY(:ids)"), {"ids": ids})
    await session.execute(text("DELETE FROM npq_applications WHERE id = ANY(:ids)"), {"ids": ids})
    await assert_consistent(session)


async def test_merges_and_provider_changes_move_the_rows(session: AsyncSession) -> None:
    provider = await f.provider(session, ecf=False, npq=True)
    other = await f.provider(session, ecf=False, npq=True)
    assert provider.npq_lead_provider is not None and other.npq_lead_provider is not None
    p = await f.npq_participant(session, provider)
    survivor = await f.person(session)
    # The identity moves to the surviving user.
    await session.execute(
        text("UPDATE participant_identities SET user_id = :to WHERE id = :id"),
        {"to": survivor.user.id, "id": p.person.identity.id},
    )
    assert await providers_of(session, p.person.user.id) == set()
    assert await providers_of(session, survivor.user.id) == {provider.npq_lead_provider.id}
    await assert_consistent(session)
    # The training record moves back to the retired person's other identity.
    other_identity = await f.person(session)
    await session.execute(
        text("UPDATE participant_profiles SET participant_identity_id = :to WHERE id = :id"),
        {"to": other_identity.identity.id, "id": p.profile.id},
    )
    assert await providers_of(session, survivor.user.id) == set()
    assert await providers_of(session, other_identity.user.id) == {provider.npq_lead_provider.id}
    # The application changes provider; the user's creation time is corrected.
    await session.execute(
        text("UPDATE npq_applications SET npq_lead_provider_id = :to WHERE id = :id"),
        {"to": other.npq_lead_provider.id, "id": p.application.id},
    )
    assert await providers_of(session, other_identity.user.id) == {other.npq_lead_provider.id}
    await session.execute(
        text("UPDATE users SET created_at = created_at - interval '1 year' WHERE id = :id"),
        {"id": other_identity.user.id},
    )
    await assert_consistent(session)


async def test_unrelated_updates_leave_the_table_alone(session: AsyncSession) -> None:
    provider = await f.provider(session, ecf=False, npq=True)
    p = await f.npq_participant(session, provider)

    async def where_is_it() -> str:
        sql = "SELECT ctid::text FROM npq_participant_users WHERE user_id = :u"
        return str((await session.execute(text(sql), {"u": p.person.user.id})).scalar_one())

    before = await where_is_it()
    await session.execute(
        text(
            "UPDATE participant_profiles SET training_status = 'deferred', updated_at = now() WHERE id = :id"
        ),
        {"id": p.profile.id},
    )
    await session.execute(
        text("UPDATE users SET full_name = 'Renamed' WHERE id = :id"), {"id": p.person.user.id}
    )
    assert await where_is_it() == before  # a refresh deletes and re-inserts: the row would have moved
    await assert_consistent(session)


async def test_rebuild_from_scratch_gives_the_same_rows(session: AsyncSession) -> None:
    provider = await f.provider(session, ecf=False, npq=True)
    for _ in range(3):
        await f.npq_participant(session, provider)
    await session.execute(text("DELETE FROM npq_participant_users"))
    await session.execute(text("SELECT cpd_rebuild_npq_participant_users()"))
    await assert_consistent(session)
    assert (await session.execute(text("SELECT count(*) FROM npq_participant_users"))).scalar_one() >= 3


async def test_pages_from_the_kept_rows_match_pages_grouped_from_the_training_records(
    session: AsyncSession,
) -> None:
    """Without a status filter a page is read from the kept rows; with one (every record here is
    active) it is grouped from the training records: both give the same pages in both orders."""
    provider = await f.provider(session, ecf=False, npq=True)
    assert provider.npq_lead_provider is not None
    people = [await f.npq_participant(session, provider) for _ in range(5)]
    # A second enrolment, created first, moves its user to the front of v3's order.
    extra = await f.npq_participant(
        session, provider, course_identifier="npq-senior-leadership", person_=people[3].person
    )
    await session.execute(
        text("UPDATE participant_profiles SET created_at = created_at - interval '1 day' WHERE id = :id"),
        {"id": extra.profile.id},
    )
    repo = NpqParticipantRepository(session)
    for order in ("first_enrolment", "user_created"):
        pages = []
        for status in (None, "active"):
            query = UserPageQuery(training_status=status, default_order=order)
            pages.append(
                [
                    await repo.page_user_ids(provider.npq_lead_provider.id, query, Page(number=n, per_page=2))
                    for n in (1, 2, 3)
                ]
            )
        assert pages[0] == pages[1], order
        assert sorted(u for page in pages[0] for u in page) == sorted(p.person.user.id for p in people)
    first = await repo.page_user_ids(
        provider.npq_lead_provider.id,
        UserPageQuery(default_order="first_enrolment"),
        Page(number=1, per_page=1),
    )
    assert first == [people[3].person.user.id]
