"""Rendered ECF participant documents (migration 0025).

List pages reuse a participant's stored rendering while it is current. Every test here compares
the pages served with documents (stored on a first request, reused on the next) with the pages
built from the database alone (PARTICIPANT_DOCUMENTS off), after each kind of change to what a
participant shows: any difference is a stale document.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.repositories import ecf_participants as participants_sql
from app.settings import Settings
from tests import factories as f

LISTS = ("/api/v1/participants/ecf", "/api/v2/participants/ecf", "/api/v3/participants/ecf")


@pytest_asyncio.fixture(loop_scope="session")
async def live(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same data whose pages never use stored documents."""
    app = create_app(settings.model_copy(update={"participant_documents": False}), sessionmaker=sessionmaker)

    async def flush_first(request: httpx.Request) -> None:
        await session.flush()

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", event_hooks={"request": [flush_first]}
    ) as client:
        yield client


async def pages(client: httpx.AsyncClient, lp: f.Provider, when: datetime | None = None) -> dict[str, Any]:
    headers = dict(lp.headers)
    if when is not None:
        headers["X-With-Server-Date"] = when.isoformat()
    out: dict[str, Any] = {}
    for path in LISTS:
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        out[path] = response.json()["data"]
    return out


async def stored(session: AsyncSession) -> int:
    return int((await session.execute(text("SELECT count(*) FROM ecf_participant_documents"))).scalar_one())


async def assert_current(
    client: httpx.AsyncClient,
    live: httpx.AsyncClient,
    session: AsyncSession,
    lp: f.Provider,
    when: datetime | None = None,
) -> dict[str, Any]:
    """The pages with documents (first request stores what is missing, second reuses) are the
    pages without them."""
    first = await pages(client, lp, when)
    second = await pages(client, lp, when)
    expected = await pages(live, lp, when)
    assert first == expected
    assert second == expected
    return expected


class World:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def build(self) -> None:
        s = self.session
        self.lp = await f.provider(s)
        self.other_lp = await f.provider(s)
        assert self.lp.lead_provider is not None
        self.mentor = await f.participant(s, self.lp.lead_provider, profile_type="mentor")
        self.ect = await f.participant(
            s, self.lp.lead_provider, programme_=self.mentor.programme, mentor=self.mentor.profile
        )
        self.second_mentor = await f.participant(
            s, self.lp.lead_provider, programme_=self.mentor.programme, profile_type="mentor"
        )
        self.stranger = await f.person(s)

    async def sql(self, statement: str, **params: object) -> None:
        await self.session.execute(text(statement), params)


@pytest_asyncio.fixture(loop_scope="session")
async def world(session: AsyncSession) -> World:
    w = World(session)
    await w.build()
    return w


Change = Callable[[World], Awaitable[None]]


def _update(statement: str, params: Callable[[World], dict[str, object]]) -> Change:
    """A change that is one UPDATE, its ids taken from the world."""

    async def change(w: World) -> None:
        await w.sql(statement, **params(w))

    return change


def _partnership_id(w: World) -> object:
    assert w.ect.programme.partnership is not None
    return w.ect.programme.partnership.id


async def _validation_data(w: World) -> None:
    await w.sql("UPDATE teacher_profiles SET trn = NULL WHERE id = :id", id=w.ect.person.teacher_profile.id)
    await f.validation_data(w.session, w.ect, "1111111")


async def _withdrawn(w: World) -> None:
    await f.profile_state(w.session, w.ect, w.lp, "withdrawn", "moved-school")
    await w.sql(
        "UPDATE induction_records SET training_status = 'withdrawn' WHERE id = :id", id=w.ect.record.id
    )


async def _id_change(w: World) -> None:
    await f.id_change(w.session, w.ect.person, w.stranger)


async def _school_cohort_school(w: World) -> None:
    other = await f.school(w.session)
    await w.sql(
        "UPDATE school_cohorts SET school_id = :school WHERE id = :id",
        school=other.id,
        id=w.ect.programme.school_cohort.id,
    )


async def _delivery_partner(w: World) -> None:
    other = await f.programme(w.session, w.other_lp.lead_provider, 2022)
    assert other.delivery_partner is not None
    await w.sql(
        "UPDATE partnerships SET delivery_partner_id = :dp WHERE id = :id",
        dp=other.delivery_partner.id,
        id=_partnership_id(w),
    )


async def _moves_school(w: World) -> None:
    assert w.lp.lead_provider is not None
    elsewhere = await f.programme(w.session, w.lp.lead_provider, 2022)
    await w.sql("UPDATE induction_records SET end_date = now() WHERE id = :id", id=w.ect.record.id)
    await f.induction_record(w.session, w.ect, elsewhere, start_date=f.at(0))


async def _moves_provider(w: World) -> None:
    elsewhere = await f.programme(w.session, w.other_lp.lead_provider, 2022)
    await f.induction_record(w.session, w.ect, elsewhere, start_date=f.at(0))


CHANGES: dict[str, Change] = {
    "user name": _update(
        "UPDATE users SET full_name = 'Renamed Person' WHERE id = :id", lambda w: {"id": w.ect.person.user.id}
    ),
    "preferred identity's email": _update(
        "UPDATE participant_identities SET email = 'preferred@example.com' WHERE id = :id",
        lambda w: {"id": w.ect.person.identity.id},
    ),
    # The mentor's identity now belongs to another user: the ECT's mentor_id follows it.
    "mentor's identity moves to another user": _update(
        "UPDATE participant_identities SET user_id = :user WHERE id = :id",
        lambda w: {"user": w.stranger.user.id, "id": w.mentor.person.identity.id},
    ),
    "mentor's profile moves to another identity": _update(
        "UPDATE participant_profiles SET participant_identity_id = :identity WHERE id = :id",
        lambda w: {"identity": w.stranger.identity.id, "id": w.mentor.profile.id},
    ),
    "teacher profile TRN": _update(
        "UPDATE teacher_profiles SET trn = '7654321' WHERE id = :id",
        lambda w: {"id": w.ect.person.teacher_profile.id},
    ),
    "profile uplift": _update(
        "UPDATE participant_profiles SET pupil_premium_uplift = true WHERE id = :id",
        lambda w: {"id": w.ect.profile.id},
    ),
    "induction record training status": _update(
        "UPDATE induction_records SET training_status = 'deferred' WHERE id = :id",
        lambda w: {"id": w.ect.record.id},
    ),
    "another mentor named": _update(
        "UPDATE induction_records SET mentor_profile_id = :mentor WHERE id = :id",
        lambda w: {"mentor": w.second_mentor.profile.id, "id": w.ect.record.id},
    ),
    "eligibility": _update(
        "UPDATE ecf_participant_eligibilities SET status = 'ineligible' WHERE participant_profile_id = :id",
        lambda w: {"id": w.ect.profile.id},
    ),
    "validation data TRN": _validation_data,
    "provider withdrawal": _withdrawn,
    "participant id change": _id_change,
    "schedule identifier": _update(
        "UPDATE schedules SET schedule_identifier = 'ecf-extended-april' WHERE id = :id",
        lambda w: {"id": w.ect.record.schedule_id},
    ),
    "school URN": _update(
        "UPDATE schools SET urn = '999999' WHERE id = :id", lambda w: {"id": w.ect.programme.school.id}
    ),
    "cohort year": _update(
        "UPDATE cohorts SET start_year = 2031 WHERE id = :id",
        lambda w: {"id": w.ect.programme.school_cohort.cohort_id},
    ),
    "school cohort's school": _school_cohort_school,
    "partnership's delivery partner": _delivery_partner,
    "partnership challenged": _update(
        "UPDATE partnerships SET challenged_at = now(), challenge_reason = 'mistake' WHERE id = :id",
        lambda w: {"id": _partnership_id(w)},
    ),
    "programme loses its partnership": _update(
        "UPDATE induction_programmes SET partnership_id = NULL WHERE id = :id",
        lambda w: {"id": w.ect.programme.programme.id},
    ),
    "new placement at another school": _moves_school,
    "new placement with another provider": _moves_provider,
}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_pages_after_a_change_are_the_pages_built_from_the_database(
    change: str, world: World, client: httpx.AsyncClient, live: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = [await assert_current(client, live, session, lp) for lp in (world.lp, world.other_lp)]
    assert await stored(session) > 0
    await CHANGES[change](world)
    await session.flush()
    after = [await assert_current(client, live, session, lp) for lp in (world.lp, world.other_lp)]
    assert after != before, "the change shows in the pages"


async def _documents(session: AsyncSession) -> dict[Any, tuple[Any, int, str]]:
    """Each stored document's user, version and physical place (which a rewrite changes)."""
    rows = await session.execute(
        text("SELECT key_id, user_id, version, ctid::text FROM ecf_participant_documents")
    )
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


async def test_documents_are_reused_and_rewritten_only_when_their_user_changes(
    world: World, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await pages(client, world.lp)
    before = await _documents(session)
    assert len(before) == 2 * 3  # three training records: a flat row (v1 and v2 share it) and a v3 user
    await pages(client, world.lp)
    assert await _documents(session) == before
    await CHANGES["user name"](world)
    await session.flush()
    await pages(client, world.lp)
    after = await _documents(session)
    renamed = {k for k, (user, _, _) in before.items() if user == world.ect.person.user.id}
    assert len(renamed) == 2
    for key in renamed:
        assert after[key][1] > before[key][1] and after[key][2] != before[key][2]
    assert {k: v for k, v in after.items() if k not in renamed} == {
        k: v for k, v in before.items() if k not in renamed
    }


async def test_participant_status_turns_with_the_clock(
    client: httpx.AsyncClient, live: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    leaving_on = f.at(10)
    await f.participant(session, lp.lead_provider, end_date=leaving_on, induction_status="leaving")
    await f.participant(session, lp.lead_provider, start_date=f.at(5))
    now = datetime.now(leaving_on.tzinfo)
    statuses = []
    for when in (now, leaving_on + timedelta(days=1), now, leaving_on - timedelta(seconds=1), leaving_on):
        data = await assert_current(client, live, session, lp, when)
        statuses.append(
            sorted(e["participant_status"] for p in data[LISTS[2]] for e in p["attributes"]["ecf_enrolments"])
        )
    assert statuses == [
        ["joining", "leaving"],
        ["active", "left"],
        ["joining", "leaving"],
        ["active", "leaving"],
        ["active", "left"],
    ]


async def test_every_table_a_participant_shows_moves_its_version(session: AsyncSession) -> None:
    """The tables the participant statements read each carry a version trigger: a new join
    without one would serve stale documents."""
    read = set(re.findall(r"JOIN (\w+)", participants_sql._DETAIL_JOINS)) | {
        "induction_records",
        "participant_profile_states",
        "participant_id_changes",
        participants_sql.LATEST_TABLE,
        "cohorts",
    }
    result = await session.execute(
        text(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE t.tgname LIKE 'trg_%doc_versions%'"
        )
    )
    assert read - set(result.scalars()) == set()
