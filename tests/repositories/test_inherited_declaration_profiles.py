"""`ecf_inherited_declaration_profiles` (migration 0021) always equals the rule it stores.

A provider's declaration list includes other providers' live ECF declarations for training records
active under its partnerships; the table says which (provider, training record) pairs have them,
so a page need not read every live declaration. Triggers keep it on both sides: declarations
(inserted, deleted, changing record, provider or liveness) and everything the latest induction
records already follow. After each change the table is compared with the rule computed from
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

COLUMNS = "lead_provider_id, participant_profile_id"
DECLARATION_COLUMNS = "lead_provider_id, participant_profile_id, participant_declaration_id, created_at"


async def assert_consistent(session: AsyncSession) -> None:
    await assert_matches_rule(session, "ecf_inherited_declaration_profiles", COLUMNS)
    await assert_matches_rule(session, "ecf_inherited_declarations", DECLARATION_COLUMNS)


async def pairs(session: AsyncSession, profile_id: uuid.UUID) -> set[uuid.UUID]:
    """The lead providers the table says inherit declarations of a training record."""
    result = await session.execute(
        text(
            "SELECT lead_provider_id FROM ecf_inherited_declaration_profiles"
            " WHERE participant_profile_id = :id"
        ),
        {"id": profile_id},
    )
    return set(result.scalars())


async def moved(session: AsyncSession) -> tuple[f.Provider, f.Provider, f.Participant]:
    """A participant of `old` now also active under `new` (a move between providers)."""
    old, new = await f.provider(session), await f.provider(session)
    p = await f.participant(session, old.lead_provider, 2022, induction_status="leaving", end_date=f.at(-3))
    await f.induction_record(
        session, p, await f.programme(session, new.lead_provider, 2022), start_date=f.at(-2)
    )
    return old, new, p


async def set_declaration(
    session: AsyncSession, declaration_id: uuid.UUID, column: str, value: object
) -> None:
    # Column names come from the tests, never from input.
    await session.execute(
        text(f"UPDATE participant_declarations SET {column} = :v WHERE id = :id"),  # noqa: S608
        {"v": value, "id": declaration_id},
    )


async def test_a_live_declaration_by_the_previous_provider_is_inherited(session: AsyncSession) -> None:
    old, new, p = await moved(session)
    assert await pairs(session, p.profile.id) == set()
    await f.declaration(session, p, old, state="voided")
    assert await pairs(session, p.profile.id) == set()  # not live
    live = await f.declaration(session, p, old, state="eligible", declaration_type="retained-1")
    assert await pairs(session, p.profile.id) == {new.lead_provider.id}
    await assert_consistent(session)
    # The new provider's own declarations are not inherited by anybody.
    await f.declaration(session, p, new, declaration_type="retained-2")
    assert await pairs(session, p.profile.id) == {new.lead_provider.id}
    await set_declaration(session, live.id, "state", "voided")
    assert await pairs(session, p.profile.id) == set()
    await set_declaration(session, live.id, "state", "paid")
    assert await pairs(session, p.profile.id) == {new.lead_provider.id}
    await session.execute(text("DELETE FROM participant_declarations WHERE id = :id"), {"id": live.id})
    assert await pairs(session, p.profile.id) == set()
    await assert_consistent(session)


async def test_declarations_changing_record_or_provider_move_the_pairs(session: AsyncSession) -> None:
    old, new, p = await moved(session)
    d = await f.declaration(session, p, old, state="paid")
    await set_declaration(session, d.id, "cpd_lead_provider_id", new.cpd.id)
    assert await pairs(session, p.profile.id) == set()  # now the new provider's own
    await set_declaration(session, d.id, "cpd_lead_provider_id", old.cpd.id)
    assert await pairs(session, p.profile.id) == {new.lead_provider.id}
    # A merge moving the declaration to another training record (only under the old provider).
    stayed = await f.participant(session, old.lead_provider, 2022)
    await set_declaration(session, d.id, "participant_profile_id", stayed.profile.id)
    assert await pairs(session, p.profile.id) == set()
    assert await pairs(session, stayed.profile.id) == set()
    await set_declaration(session, d.id, "participant_profile_id", p.profile.id)
    assert await pairs(session, p.profile.id) == {new.lead_provider.id}
    await assert_consistent(session)


async def test_changes_on_the_induction_side_follow(session: AsyncSession) -> None:
    """What the latest induction records follow (records, programmes, partnerships) refreshes the
    pairs too."""
    old, new, p = await moved(session)
    await f.declaration(session, p, old, state="payable")
    assert await pairs(session, p.profile.id) == {new.lead_provider.id}
    new_record = (
        await session.execute(
            text(
                "SELECT id FROM induction_records"
                " WHERE participant_profile_id = :id AND induction_status = 'active'"
            ),
            {"id": p.profile.id},
        )
    ).scalar_one()
    await session.execute(
        text("UPDATE induction_records SET induction_status = 'withdrawn' WHERE id = :id"), {"id": new_record}
    )
    assert await pairs(session, p.profile.id) == set()
    await session.execute(
        text("UPDATE induction_records SET induction_status = 'active' WHERE id = :id"), {"id": new_record}
    )
    assert await pairs(session, p.profile.id) == {new.lead_provider.id}
    # The old provider's record becomes active again: its own declaration, nothing to inherit.
    await session.execute(
        text("UPDATE induction_records SET induction_status = 'active' WHERE id = :id"), {"id": p.record.id}
    )
    assert await pairs(session, p.profile.id) == {new.lead_provider.id}
    # The new provider's partnership passes to a third provider.
    third = await f.provider(session)
    await session.execute(
        text(
            "UPDATE partnerships SET lead_provider_id = :lp WHERE id = ("
            " SELECT ip.partnership_id FROM induction_records ir"
            " JOIN induction_programmes ip ON ip.id = ir.induction_programme_id WHERE ir.id = :id)"
        ),
        {"lp": third.lead_provider.id, "id": new_record},
    )
    assert await pairs(session, p.profile.id) == {third.lead_provider.id}
    await session.execute(text("DELETE FROM induction_records WHERE id = :id"), {"id": new_record})
    assert await pairs(session, p.profile.id) == set()
    await assert_consistent(session)


async def test_statements_writing_many_declarations_refresh_every_record(session: AsyncSession) -> None:
    """One INSERT or DELETE of many declarations (a bulk load, an operator's change) refreshes
    each training record it touches."""
    old, new = await f.provider(session), await f.provider(session)
    theirs = await f.programme(session, new.lead_provider, 2022)
    people = []
    for _ in range(3):
        p = await f.participant(session, old.lead_provider, 2022)
        await f.induction_record(session, p, theirs, start_date=f.at(-2))
        people.append(p)
    template = await f.declaration(session, people[0], old, state="voided")
    await session.execute(
        text(
            "INSERT INTO participant_declarations (id, programme, user_id, participant_profile_id,"
            " cpd_lead_provider_id, cohort_id, declaration_type, declaration_date, course_identifier, state,"
            " delivery_partner_id, sparsity_uplift, pupil_premium_uplift, created_at, updated_at)"
            " SELECT gen_random_uuid(), programme, user_id, x.profile_id, cpd_lead_provider_id, cohort_id,"
            " 'retained-1', declaration_date, course_identifier, 'eligible', delivery_partner_id,"
            " sparsity_uplift, pupil_premium_uplift, now(), now()"
            " FROM participant_declarations, unnest(CAST(:profiles AS uuid[])) AS x(profile_id)"
            " WHERE id = :id"
        ),
        {"profiles": [p.profile.id for p in people], "id": template.id},
    )
    for p in people:
        assert await pairs(session, p.profile.id) == {new.lead_provider.id}
    await assert_consistent(session)
    await session.execute(
        text(
            "DELETE FROM participant_declarations WHERE declaration_type = 'retained-1' AND user_id = ANY(:u)"
        ),
        {"u": [p.person.user.id for p in people]},
    )
    for p in people:
        assert await pairs(session, p.profile.id) == set()
    await assert_consistent(session)


async def test_updates_that_keep_a_declaration_live_leave_the_table_alone(session: AsyncSession) -> None:
    """eligible -> payable -> paid (statements being paid) and updated_at touches do not refresh;
    only the changes that can matter do."""
    old, _new, p = await moved(session)
    d = await f.declaration(session, p, old, state="eligible")

    async def ctid() -> str:
        found = await session.execute(
            text(
                "SELECT ctid::text FROM ecf_inherited_declaration_profiles WHERE participant_profile_id = :id"
            ),
            {"id": p.profile.id},
        )
        return str(found.scalar_one())

    before = await ctid()
    await set_declaration(session, d.id, "state", "payable")
    await set_declaration(session, d.id, "state", "paid")
    await set_declaration(session, d.id, "evidence_held", "other")
    assert await ctid() == before  # a refresh deletes and re-inserts: the row would have moved
    await set_declaration(session, d.id, "state", "awaiting_clawback")
    assert await pairs(session, p.profile.id) == set()
    await assert_consistent(session)


async def inherited(session: AsyncSession, provider: f.Provider) -> list[tuple[uuid.UUID, str]]:
    """The declarations the table says `provider` inherits, in its list order, with their times."""
    assert provider.lead_provider is not None
    result = await session.execute(
        text(
            "SELECT participant_declaration_id, created_at::text FROM ecf_inherited_declarations"
            " WHERE lead_provider_id = :lp ORDER BY created_at, participant_declaration_id"
        ),
        {"lp": provider.lead_provider.id},
    )
    return [(row[0], row[1]) for row in result]


async def test_the_inherited_declarations_themselves_are_kept_in_list_order(session: AsyncSession) -> None:
    """Beside the pairs, each inherited declaration with its creation time (migration 0028): a
    second live declaration of an inherited record joins, a voided one leaves, and a new creation
    time moves it."""
    old, new, p = await moved(session)
    first = await f.declaration(session, p, old, state="paid", created_at=f.at(-30))
    second = await f.declaration(session, p, old, declaration_type="retained-1", created_at=f.at(-40))
    assert [i for i, _ in await inherited(session, new)] == [second.id, first.id]
    await set_declaration(session, second.id, "created_at", f.at(-20))
    assert [i for i, _ in await inherited(session, new)] == [first.id, second.id]
    await set_declaration(session, first.id, "state", "voided")
    assert [i for i, _ in await inherited(session, new)] == [second.id]
    await assert_consistent(session)


async def test_rebuild_from_scratch_gives_the_same_rows(session: AsyncSession) -> None:
    old, new, p = await moved(session)
    await f.declaration(session, p, old, state="paid")
    await session.execute(text("DELETE FROM ecf_inherited_declaration_profiles"))
    await session.execute(text("DELETE FROM ecf_inherited_declarations"))
    await session.execute(text("SELECT cpd_rebuild_latest_induction_records()"))
    assert await pairs(session, p.profile.id) == {new.lead_provider.id}
    await assert_consistent(session)


@pytest.mark.parametrize("first", ["declaration", "move"])
async def test_a_declaration_and_a_move_committed_together_see_each_other(
    committed: async_sessionmaker[AsyncSession], first: str
) -> None:
    """The previous provider declares while the participant is moved to a new provider, in two
    open transactions. Each side's refresh takes the training record's lock, so the later one
    waits for the other's commit and sees it: the pair is there at the end. Without the lock each
    refresh misses the other's uncommitted row and the pair is lost."""
    async with committed() as session:
        old, new = await f.provider(session), await f.provider(session)
        p = await f.participant(session, old.lead_provider, 2022)
        theirs = await f.programme(session, new.lead_provider, 2022)
        template = await f.declaration(session, p, old, state="voided")
        await session.commit()

    async def declare(session: AsyncSession) -> None:
        await session.execute(
            text(
                "INSERT INTO participant_declarations (id, programme, user_id, participant_profile_id,"
                " cpd_lead_provider_id, cohort_id, declaration_type, declaration_date, course_identifier,"
                " state, delivery_partner_id, sparsity_uplift, pupil_premium_uplift, created_at, updated_at)"
                " SELECT gen_random_uuid(), programme, user_id, participant_profile_id, cpd_lead_provider_id,"
                " cohort_id, 'started', declaration_date, course_identifier, 'eligible', delivery_partner_id,"
                " sparsity_uplift, pupil_premium_uplift, now(), now()"
                " FROM participant_declarations WHERE id = :id"
            ),
            {"id": template.id},
        )

    async def move(session: AsyncSession) -> None:
        await session.execute(
            text(
                "INSERT INTO induction_records (id, participant_profile_id, induction_programme_id,"
                " schedule_id, start_date, induction_status, training_status, created_at, updated_at)"
                " SELECT gen_random_uuid(), participant_profile_id, :programme, schedule_id, now(),"
                " 'active', 'active', now(), now() FROM induction_records WHERE id = :id"
            ),
            {"programme": theirs.programme.id, "id": p.record.id},
        )

    steps = {"declaration": declare, "move": move}
    second = "move" if first == "declaration" else "declaration"
    started = asyncio.Event()

    async def early() -> None:
        async with committed() as session:
            await steps[first](session)
            started.set()
            await asyncio.sleep(0.3)  # the other transaction writes (and waits) meanwhile
            await session.commit()

    async def late() -> None:
        await started.wait()
        async with committed() as session:
            await steps[second](session)
            await session.commit()

    await asyncio.gather(early(), late())
    async with committed() as session:
        assert await pairs(session, p.profile.id) == {new.lead_provider.id}
        await assert_consistent(session)
