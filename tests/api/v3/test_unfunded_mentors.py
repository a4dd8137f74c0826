"""v3 unfunded mentors (ecf.md §5.2): mentors named by the provider's latest induction records who
do not train with the provider; attributes, filter, sort, paging, show (404s, preference for the
mentor training record) and access."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.enums import InductionStatus
from app.models import ParticipantIdentity, ParticipantProfile, TeacherProfile
from app.seed import seed_sandbox
from app.settings import Settings
from tests import factories as f
from tests import factories_transfers as ft

LIST = "/api/v3/unfunded-mentors/ecf"
SHOW = "/api/v3/unfunded-mentors/ecf/{id}"
NOT_FOUND = {"error": "Resource not Found"}
SECOND = timedelta(seconds=1)


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def listed(client: httpx.AsyncClient, lp: f.Provider, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"{LIST}?{query}" if query else LIST, headers=lp.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def listed_ids(client: httpx.AsyncClient, lp: f.Provider, query: str = "") -> list[str]:
    return [item["id"] for item in await listed(client, lp, query)]


async def show(
    client: httpx.AsyncClient, lp: f.Provider, mentor_id: object, query: str = ""
) -> httpx.Response:
    url = SHOW.format(id=mentor_id)
    return await client.get(f"{url}?{query}" if query else url, headers=lp.headers)


async def fip(session: AsyncSession, lp: f.Provider, year: int = ft.YEAR, **values: Any) -> f.Programme:
    return await f.programme(session, lp.lead_provider, year, **values)


async def trained_mentor(
    session: AsyncSession, lp: f.Provider, year: int = ft.YEAR, **values: Any
) -> f.Participant:
    """A mentor whose latest record is with `lp`."""
    return await f.participant(
        session,
        None,
        year,
        programme_=await fip(session, lp, year, **values),
        profile_type="mentor",
        created_at=f.later(),
    )


async def attributes(client: httpx.AsyncClient, lp: f.Provider, mentor_id: str) -> dict[str, Any]:
    response = await show(client, lp, mentor_id)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["data"]["attributes"]
    return found


# ---- who is an unfunded mentor --------------------------------------------------------------------


async def test_a_mentor_trained_by_another_provider(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, other = await f.provider(session), await f.provider(session)
    mentor = await trained_mentor(session, other)
    await ft.mentored_ect(session, await fip(session, lp), mentor.profile)
    user = mentor.person.user
    created, updated = f.at(-30).replace(microsecond=0), f.at(-2).replace(microsecond=0)
    await ft.set_user_times(session, user, created_at=created, updated_at=updated)

    response = await client.get(LIST, headers=lp.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.api+json"
    (item,) = response.json()["data"]
    assert (item["id"], item["type"]) == (mentor.id, "unfunded-mentor")
    assert list(item["attributes"]) == [
        "full_name",
        "email",
        "teacher_reference_number",
        "created_at",
        "updated_at",
    ]
    assert item["attributes"] == {
        "full_name": user.full_name,
        "email": mentor.person.identity.email,
        "teacher_reference_number": "1234567",
        "created_at": rfc3339(created),
        "updated_at": rfc3339(updated),
    }
    # The provider who trains the mentor has no participant mentored by them.
    assert await listed(client, other) == []


async def test_show_has_the_list_entry(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, other = await f.provider(session), await f.provider(session)
    mentor = await trained_mentor(session, other)
    await ft.mentored_ect(session, await fip(session, lp), mentor.profile)
    (item,) = await listed(client, lp)
    response = await show(client, lp, mentor.id)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.api+json"
    assert response.json() == {"data": item}


async def test_mentors_not_trained_by_any_provider(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    never_placed = await ft.bare_mentor(session)
    school_led = await ft.untrained_mentor(session)
    for mentor in (never_placed.profile, school_led.profile):
        await ft.mentored_ect(session, await fip(session, lp), mentor)
    assert await listed_ids(client, lp) == [never_placed.id, school_led.id]


async def test_a_mentor_the_provider_trains_is_funded(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    mentor = await trained_mentor(session, lp)
    await ft.mentored_ect(session, await fip(session, lp), mentor.profile)
    # Trained by the provider in another cohort (2020 included): still funded by it.
    old_hand = await trained_mentor(session, lp, 2020)
    await ft.mentored_ect(session, await fip(session, lp), old_hand.profile)
    assert await listed(client, lp) == []
    assert (await show(client, lp, mentor.id)).status_code == 404


async def test_a_mentor_who_moved_on_from_the_provider_is_not_listed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The latest record with a provider is chosen among that provider's records only: a mentor with
    any (unchallenged) record with the provider has one, even after moving to another provider."""
    lp, other = await f.provider(session), await f.provider(session)
    mentor = await trained_mentor(session, lp)
    await ft.set_record(session, mentor.record, end_date=f.at(-20), induction_status=InductionStatus.CHANGED)
    await f.induction_record(session, mentor, await fip(session, other), start_date=f.at(-19))
    await ft.mentored_ect(session, await fip(session, lp), mentor.profile)
    assert await listed(client, lp) == []


async def test_only_the_latest_records_name_mentors(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    first, second = await ft.bare_mentor(session), await ft.bare_mentor(session)
    programme = await fip(session, lp)
    ect = await f.participant(
        session,
        None,
        ft.YEAR,
        programme_=programme,
        mentor=first.profile,
        start_date=f.at(-100),
        end_date=f.at(-10),
        induction_status=InductionStatus.CHANGED,
    )
    await f.induction_record(
        session, ect, programme, start_date=f.at(-10), mentor_profile_id=second.profile.id
    )
    assert await listed_ids(client, lp) == [second.id]
    assert (await show(client, lp, first.id)).status_code == 404


async def test_only_the_providers_participants_count(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, other = await f.provider(session), await f.provider(session)
    mentor = await ft.bare_mentor(session)
    await ft.mentored_ect(session, await fip(session, other), mentor.profile)
    # A school-led participant names a mentor: no provider involved.
    await ft.mentored_ect(
        session, await f.programme(session, None, ft.YEAR), (await ft.bare_mentor(session)).profile
    )
    assert await listed(client, lp) == []
    assert await listed_ids(client, other) == [mentor.id]


async def test_challenged_partnerships_do_not_count(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    # The provider's participant under a challenged partnership names no one.
    named = await ft.bare_mentor(session)
    await ft.mentored_ect(session, await fip(session, lp, challenged=True), named.profile)
    # A mentor trained by the provider only under a challenged partnership is not funded by it.
    challenged_mentor = await trained_mentor(session, lp, challenged=True)
    await ft.mentored_ect(session, await fip(session, lp), challenged_mentor.profile)
    assert await listed_ids(client, lp) == [challenged_mentor.id]


async def test_every_cohort_counts(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """No default cohort scope: a 2020 participant's mentor is listed."""
    lp = await f.provider(session)
    mentor = await ft.bare_mentor(session)
    await f.participant(session, None, 2020, programme_=await fip(session, lp, 2020), mentor=mentor.profile)
    assert await listed_ids(client, lp) == [mentor.id]


async def test_one_entry_per_mentor_training_record(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    mentor = await ft.bare_mentor(session)
    for _ in range(3):
        await ft.mentored_ect(session, await fip(session, lp), mentor.profile)
    assert await listed_ids(client, lp) == [mentor.id]


async def test_a_user_with_two_named_training_records(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Each named training record is an entry; show prefers the mentor one (its identity's email)."""
    lp, other = await f.provider(session), await f.provider(session)
    person = await f.person(session, created_at=f.later())
    as_ect = await f.participant(session, other.lead_provider, ft.YEAR, person_=person)
    identity = await ft.another_identity(session, person, f"mentor-{uuid.uuid4().hex[:8]}@example.com")
    as_mentor = await ft.registered_profile(session, person, identity=identity)
    for named in (as_mentor, as_ect.profile):
        await ft.mentored_ect(session, await fip(session, lp), named)

    entries = await listed(client, lp)
    assert [e["id"] for e in entries] == [str(person.user.id)] * 2
    assert sorted(e["attributes"]["email"] for e in entries) == sorted(
        [person.identity.email, identity.email]
    )
    assert (await attributes(client, lp, str(person.user.id)))["email"] == identity.email


# ---- attributes -------------------------------------------------------------------------------------


async def test_email_is_the_mentor_records_identity(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    mentor = await ft.bare_mentor(session)
    await ft.mentored_ect(session, await fip(session, lp), mentor.profile)
    await session.execute(
        update(ParticipantIdentity)
        .where(ParticipantIdentity.id == mentor.person.identity.id)
        .values(email="mentor.identity@example.com")
    )
    assert (await attributes(client, lp, mentor.id))["email"] == "mentor.identity@example.com"


@pytest.mark.parametrize(
    ("teacher_trn", "school_trn", "shown"),
    [
        pytest.param("1111111", "2222222", "1111111", id="teacher-profile-first"),
        pytest.param(None, "2222222", "2222222", id="else-what-the-school-entered"),
        pytest.param("", "2222222", "2222222", id="blank-counts-as-none"),
        pytest.param(None, None, None, id="else-null"),
    ],
)
async def test_teacher_reference_number(
    client: httpx.AsyncClient,
    session: AsyncSession,
    teacher_trn: str | None,
    school_trn: str | None,
    shown: str | None,
) -> None:
    lp = await f.provider(session)
    mentor = await ft.bare_mentor(session, trn=teacher_trn)
    if school_trn is not None:
        await ft.validation_trn(session, mentor.profile, school_trn)
    await ft.mentored_ect(session, await fip(session, lp), mentor.profile)
    assert (await attributes(client, lp, mentor.id))["teacher_reference_number"] == shown


async def test_no_teacher_profile(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """A mentor whose user has no teacher profile is still listed (TRN from the school, or null)."""
    lp = await f.provider(session)
    mentor = await ft.bare_mentor(session)
    await ft.validation_trn(session, mentor.profile, "3333333")
    await ft.mentored_ect(session, await fip(session, lp), mentor.profile)
    await session.execute(
        update(ParticipantProfile)
        .where(ParticipantProfile.id == mentor.profile.id)
        .values(teacher_profile_id=None)
    )
    await session.execute(delete(TeacherProfile).where(TeacherProfile.id == mentor.person.teacher_profile.id))
    assert (await attributes(client, lp, mentor.id))["teacher_reference_number"] == "3333333"


# ---- filter, sort, paging ------------------------------------------------------------------------------


async def mentors(session: AsyncSession, lp: f.Provider, count: int) -> list[ft.BareMentor]:
    """Unfunded mentors of `lp`, created in this order."""
    found = []
    for _ in range(count):
        mentor = await ft.bare_mentor(session)
        await ft.mentored_ect(session, await fip(session, lp), mentor.profile)
        found.append(mentor)
    return found


async def updated(session: AsyncSession, pairs: list[tuple[ft.BareMentor, datetime]]) -> None:
    for mentor, when in pairs:
        await ft.set_user_times(session, mentor.person.user, updated_at=when)


async def test_sort(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    a, b, c = await mentors(session, lp, 3)
    await updated(session, [(a, f.at(-1)), (b, f.at(-3)), (c, f.at(-2))])
    expected = {
        "": [a, b, c],
        "sort=updated_at": [b, c, a],
        "sort=%2Bupdated_at": [b, c, a],
        "sort=-updated_at": [a, c, b],
        "sort=-created_at": [c, b, a],
        "sort=-updated_at,created_at": [a, c, b],
        # Unknown fields are ignored; with none left, the default order.
        "sort=full_name": [a, b, c],
        "sort=nonsense,-updated_at": [a, c, b],
        "sort=": [a, b, c],
    }
    for query, order in expected.items():
        assert await listed_ids(client, lp, query) == [m.id for m in order], query


async def test_updated_since(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    a, b, c = await mentors(session, lp, 3)
    since = f.at(-5).replace(microsecond=0)
    await updated(session, [(a, since + SECOND), (b, since), (c, since - SECOND)])
    query = f"filter[updated_since]={rfc3339(since)}"
    # Inclusive; creation order is kept.
    assert await listed_ids(client, lp, query) == [a.id, b.id]
    assert await listed_ids(client, lp, "filter[updated_since]=") == [a.id, b.id, c.id]
    # The show route applies the same filter.
    assert (await show(client, lp, c.id, query)).status_code == 404
    assert (await show(client, lp, b.id, query)).status_code == 200


@pytest.mark.parametrize("route", ["list", "show"])
async def test_bad_filters_are_400s(client: httpx.AsyncClient, session: AsyncSession, route: str) -> None:
    lp = await f.provider(session)
    (mentor,) = await mentors(session, lp, 1)
    url = LIST if route == "list" else SHOW.format(id=mentor.id)
    response = await client.get(f"{url}?filter[updated_since]=2021-13-45", headers=lp.headers)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"title": "Bad request", "detail": "The filter '#/updated_since' must be a valid RCF3339 date"}
        ]
    }
    scalar = await client.get(f"{url}?filter=abc", headers=lp.headers)
    assert scalar.status_code == 400
    assert scalar.json() == {"errors": [{"title": "Bad parameter", "detail": "Filter must be a hash"}]}


async def test_paging(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    everyone = [m.id for m in await mentors(session, lp, 3)]
    assert await listed_ids(client, lp, "page[per_page]=2") == everyone[:2]
    assert await listed_ids(client, lp, "page[per_page]=2&page[page]=2") == everyone[2:]
    assert await listed_ids(client, lp, "page[per_page]=2&page[page]=9") == []
    assert await listed_ids(client, lp, "page[per_page]=5000") == everyone
    for bad in ("page[page]=0", "page[per_page]=-1", "page=2"):
        response = await client.get(f"{LIST}?{bad}", headers=lp.headers)
        assert response.status_code == 400, bad
        assert response.json()["errors"][0]["title"] == "Bad request"


# ---- show 404s -----------------------------------------------------------------------------------------


async def test_show_not_found(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, other = await f.provider(session), await f.provider(session)
    funded = await trained_mentor(session, lp)
    ect = await ft.mentored_ect(session, await fip(session, lp), funded.profile)
    theirs = await ft.bare_mentor(session)
    await ft.mentored_ect(session, await fip(session, other), theirs.profile)
    for mentor_id in (funded.id, ect.id, theirs.id, uuid.uuid4(), "not-an-id", "0"):
        response = await show(client, lp, mentor_id)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), mentor_id


# ---- access ----------------------------------------------------------------------------------------------


async def test_needs_a_token(client: httpx.AsyncClient, session: AsyncSession) -> None:
    for path in (LIST, SHOW.format(id=uuid.uuid4()), f"{LIST}?filter[updated_since]=bad"):
        for headers in ({}, {"Authorization": "Bearer unknown"}):
            response = await client.get(path, headers=headers)
            assert response.status_code == 401
            assert response.json() == {"error": "HTTP Token: Access denied"}


async def test_npq_only_provider_is_forbidden(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session, ecf=False, npq=True)
    for path in (LIST, SHOW.format(id=uuid.uuid4()), f"{LIST}?filter[updated_since]=bad"):
        response = await client.get(path, headers=lp.headers)
        assert (response.status_code, response.content) == (403, b"")


# ---- the sandbox seed ---------------------------------------------------------------------------------


async def test_the_seeded_unfunded_mentors(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """The sandbox's mentors trained elsewhere and never trained are listed and shown."""
    await seed_sandbox(session, settings=settings, today=datetime.now(UTC).date())
    headers = {"Authorization": "Bearer ambition-token"}
    response = await client.get(LIST, params={"page[per_page]": "3000"}, headers=headers)
    assert response.status_code == 200
    data = response.json()["data"]
    assert len(data) >= 2
    assert (await client.get(SHOW.format(id=data[0]["id"]), headers=headers)).json() == {"data": data[0]}
