"""NPQ participants (list and show) in v1, v2 and v3."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.domain.ecf_participants import TRAINING_STATUS_FILTER_ERROR
from app.models import ParticipantIdentity
from app.seed import seed_sandbox
from app.settings import Settings
from tests import factories as f
from tests import factories_npq_participants as nf
from tests.sql_capture import captured_statements

VERSIONS = ("v1", "v2", "v3")
NOT_FOUND = {"error": "Resource not Found"}


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [d["id"] for d in response.json()["data"]]


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def set_user_times(
    session: AsyncSession,
    person: f.Person,
    *,
    created: datetime | None = None,
    updated: datetime | None = None,
) -> None:
    """Pin a user's timestamps (after the factories, whose rows touch users.updated_at)."""
    await session.flush()
    if created is not None:
        await session.execute(
            text("UPDATE users SET created_at = :t WHERE id = :id"), {"t": created, "id": person.user.id}
        )
    if updated is not None:
        # Only this row: the propagation triggers never move a timestamp backwards.
        await session.execute(
            text("UPDATE users SET updated_at = :t WHERE id = :id"), {"t": updated, "id": person.user.id}
        )


# ---- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_tokens(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp = await nf.npq_provider(session)
    p = await nf.enrolment(session, lp)
    for path in (f"/api/{version}/participants/npq", f"/api/{version}/participants/npq/{p.id}"):
        assert (await client.get(path)).status_code == 401
        assert (await client.get(path, headers={"Authorization": "Bearer nope"})).json() == {
            "error": "HTTP Token: Access denied"
        }
        ecf_only = await f.provider(session)
        forbidden = await client.get(path, headers=ecf_only.headers)
        assert forbidden.status_code == 403 and forbidden.content == b""


@pytest.mark.parametrize("version", VERSIONS)
async def test_show_is_limited_to_the_providers_participants(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    mine = await nf.npq_provider(session)
    theirs = await nf.npq_provider(session)
    p = await nf.enrolment(session, mine)
    other = await nf.enrolment(session, theirs)
    ecf = await f.participant(session, (await f.provider(session)).lead_provider)
    ok = await client.get(f"/api/{version}/participants/npq/{p.id}", headers=mine.headers)
    assert ok.status_code == 200 and ok.json()["data"]["id"] == p.id
    for unknown in (other.id, ecf.id, str(uuid.uuid4()), "not-an-id", p.profile_id):
        response = await client.get(f"/api/{version}/participants/npq/{unknown}", headers=mine.headers)
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    assert ids(await client.get(f"/api/{version}/participants/npq", headers=mine.headers)) == [p.id]


# ---- attributes per version --------------------------------------------------------------------


async def two_enrolments(session: AsyncSession) -> tuple[f.Provider, nf.Enrolment, nf.Enrolment]:
    """One person on two courses with the provider (and one with another provider)."""
    lp = await nf.npq_provider(session)
    person = await f.person(session, full_name="Isabelle MacDonald", trn="1234567")
    first = await nf.enrolment(
        session,
        lp,
        2022,
        "npq-headship",
        "npq-leadership-autumn",
        person_=person,
        created_at=datetime(2022, 9, 1, tzinfo=UTC),
        targeted_delivery_funding_eligibility=True,
    )
    first.participant.profile.school_urn = "123456"
    second = await nf.enrolment(
        session,
        lp,
        2023,
        "npq-leading-teaching",
        "npq-specialist-spring",
        person_=person,
        created_at=datetime(2023, 9, 1, tzinfo=UTC),
        eligible_for_funding=False,
        training_status="withdrawn",
    )
    await nf.state(
        session, second, lp, "withdrawn", "expected-commitment-unclear", datetime(2024, 2, 1, tzinfo=UTC)
    )
    await nf.enrolment(session, await nf.npq_provider(session), 2022, "npq-senior-leadership", person_=person)
    return lp, first, second


async def test_v1_attributes(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, first, _ = await two_enrolments(session)
    for path in ("/api/v1/participants/npq", f"/api/v1/participants/npq/{first.id}"):
        response = await client.get(path, headers=lp.headers)
        data = response.json()["data"]
        item = data[0] if isinstance(data, list) else data
        user = first.person.user
        assert item == {
            "id": first.id,
            "type": "npq-participant",
            "attributes": {
                "participant_id": first.id,
                "email": user.email,
                "full_name": "Isabelle MacDonald",
                "npq_courses": ["npq-headship", "npq-leading-teaching"],
                "teacher_reference_number": "1234567",
                "updated_at": item["attributes"]["updated_at"],
            },
        }
        if isinstance(data, list):
            assert len(data) == 1  # one item per user, however many enrolments


async def test_v2_attributes(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, first, second = await two_enrolments(session)
    response = await client.get(f"/api/v2/participants/npq/{first.id}", headers=lp.headers)
    attributes = response.json()["data"]["attributes"]
    assert attributes["email"] == first.person.user.email
    assert attributes["full_name"] == "Isabelle MacDonald"
    assert attributes["teacher_reference_number"] == "1234567"
    assert attributes["npq_enrolments"] == [
        {
            "course_identifier": "npq-headship",
            "schedule_identifier": "npq-leadership-autumn",
            "cohort": "2022",
            "npq_application_id": first.profile_id,
            "eligible_for_funding": True,
            "training_status": "active",
            "school_urn": "123456",
            "targeted_delivery_funding_eligibility": True,
        },
        {
            "course_identifier": "npq-leading-teaching",
            "schedule_identifier": "npq-specialist-spring",
            "cohort": "2023",
            "npq_application_id": second.profile_id,
            "eligible_for_funding": False,
            "training_status": "withdrawn",
            "school_urn": None,
            "targeted_delivery_funding_eligibility": False,
        },
    ]
    listed = await client.get("/api/v2/participants/npq", headers=lp.headers)
    assert listed.json()["data"] == [response.json()["data"]]


async def test_v3_attributes(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, first, second = await two_enrolments(session)
    # the second enrolment belongs to an identity with its own email
    identity = ParticipantIdentity(
        user_id=first.person.user.id, email=f"alt-{f.n()}@example.com", external_identifier=uuid.uuid4()
    )
    session.add(identity)
    await session.flush()
    second.participant.profile.participant_identity_id = identity.id
    retired = await f.person(session)
    older = await nf.id_change(session, first.person, retired, datetime(2023, 1, 1, tzinfo=UTC))
    newer = await nf.id_change(
        session, first.person, await f.person(session), datetime(2024, 1, 1, tzinfo=UTC)
    )
    await session.flush()

    response = await client.get(f"/api/v3/participants/npq/{first.id}", headers=lp.headers)
    attributes = response.json()["data"]["attributes"]
    assert response.json()["data"]["type"] == "npq-participant"
    assert set(attributes) == {
        "full_name",
        "teacher_reference_number",
        "updated_at",
        "npq_enrolments",
        "participant_id_changes",
    }
    headship, teaching = attributes["npq_enrolments"]
    assert headship == {
        "email": first.person.user.email,
        "course_identifier": "npq-headship",
        "schedule_identifier": "npq-leadership-autumn",
        "cohort": "2022",
        "npq_application_id": first.profile_id,
        "eligible_for_funding": True,
        "training_status": "active",
        "school_urn": "123456",
        "targeted_delivery_funding_eligibility": True,
        "withdrawal": None,
        "deferral": None,
        "created_at": "2022-09-01T00:00:00Z",
    }
    assert teaching["email"] == identity.email
    assert teaching["withdrawal"] == {"reason": "expected-commitment-unclear", "date": "2024-02-01T00:00:00Z"}
    assert teaching["deferral"] is None
    assert attributes["participant_id_changes"] == [
        {
            "from_participant_id": str(c.from_participant_id),
            "to_participant_id": first.id,
            "changed_at": stamp(c.created_at),
        }
        for c in (newer, older)
    ]


async def test_v3_withdrawal_and_deferral_come_from_this_provider(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await nf.npq_provider(session)
    someone_else = await nf.npq_provider(session)
    withdrawn = await nf.enrolment(session, lp, training_status="withdrawn")
    await nf.state(session, withdrawn, lp, "withdrawn", "other", datetime(2023, 1, 1, tzinfo=UTC))
    await nf.state(session, withdrawn, lp, "withdrawn", "started-in-error", datetime(2023, 3, 1, tzinfo=UTC))
    await nf.state(session, withdrawn, someone_else, "withdrawn", "other", datetime(2023, 5, 1, tzinfo=UTC))
    by_others = await nf.enrolment(session, lp, training_status="withdrawn")
    await nf.state(session, by_others, someone_else, "withdrawn", "other")
    deferred = await nf.enrolment(session, lp, training_status="deferred")
    await nf.state(session, deferred, lp, "deferred", "parental-leave", datetime(2023, 2, 1, tzinfo=UTC))
    # a past deferral of a participant who is now active is not shown
    resumed = await nf.enrolment(session, lp)
    await nf.state(session, resumed, lp, "deferred", "other")

    response = await client.get("/api/v3/participants/npq", headers=lp.headers)
    shown = {d["id"]: d["attributes"]["npq_enrolments"][0] for d in response.json()["data"]}
    assert shown[withdrawn.id]["withdrawal"] == {"reason": "started-in-error", "date": "2023-03-01T00:00:00Z"}
    assert shown[by_others.id]["withdrawal"] is None
    assert shown[deferred.id]["deferral"] == {"reason": "parental-leave", "date": "2023-02-01T00:00:00Z"}
    assert shown[deferred.id]["withdrawal"] is None
    assert shown[resumed.id]["deferral"] is None


async def test_participant_without_trn(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await nf.npq_provider(session)
    p = await nf.enrolment(session, lp, person_=await f.person(session, trn=None))
    for version in VERSIONS:
        response = await client.get(f"/api/{version}/participants/npq/{p.id}", headers=lp.headers)
        assert response.json()["data"]["attributes"]["teacher_reference_number"] is None


# ---- lists: order, paging, filters -------------------------------------------------------------


@pytest.mark.parametrize("version", ("v1", "v2"))
async def test_v1_v2_order_and_paging(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp = await nf.npq_provider(session)
    people = []
    for days in (3, 1, 2):
        p = await nf.enrolment(session, lp)
        await set_user_times(session, p.person, created=f.at(-days))
        people.append(p)
    # a second enrolment of the oldest user does not repeat them
    await nf.enrolment(
        session, lp, 2023, "npq-leading-teaching", "npq-specialist-autumn", person_=people[0].person
    )
    expected = [people[0].id, people[2].id, people[1].id]
    path = f"/api/{version}/participants/npq"
    assert ids(await client.get(path, headers=lp.headers)) == expected
    pages = [
        ids(await client.get(path, params={"page[per_page]": "2", "page[page]": str(n)}, headers=lp.headers))
        for n in (1, 2, 3)
    ]
    assert pages == [expected[:2], expected[2:], []]
    bad = await client.get(path, params={"page[page]": "0"}, headers=lp.headers)
    assert bad.status_code == 400


@pytest.mark.parametrize("version", VERSIONS)
async def test_updated_since(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp = await nf.npq_provider(session)
    old = await nf.enrolment(session, lp)
    recent = await nf.enrolment(session, lp)
    at_boundary = await nf.enrolment(session, lp)
    since = datetime(2030, 1, 1, tzinfo=UTC)
    await set_user_times(session, old.person, updated=since - timedelta(days=1))
    await set_user_times(session, recent.person, updated=since + timedelta(days=1))
    await set_user_times(session, at_boundary.person, updated=since)
    path = f"/api/{version}/participants/npq"
    response = await client.get(
        path, params={"filter[updated_since]": "2030-01-01T00:00:00Z"}, headers=lp.headers
    )
    assert ids(response) == [recent.id]  # strictly after
    shown = response.json()["data"][0]["attributes"]["updated_at"]
    assert shown == "2030-01-02T00:00:00Z"
    encoded = await client.get(
        f"{path}?filter[updated_since]=2030-01-01T00%3A00%3A00%2B00%3A00", headers=lp.headers
    )
    assert ids(encoded) == [recent.id]
    for bad in ("yesterday", "2030-13-01T00:00:00Z"):
        response = await client.get(path, params={"filter[updated_since]": bad}, headers=lp.headers)
        assert response.status_code == 400
        assert response.json() == {
            "errors": [
                {
                    "title": "Bad request",
                    "detail": "The filter '#/updated_since' must be a valid RCF3339 date",
                }
            ]
        }
    scalar = await client.get(path, params={"filter": "abc"}, headers=lp.headers)
    assert scalar.status_code == 400
    assert scalar.json() == {"errors": [{"title": "Bad parameter", "detail": "Filter must be a hash"}]}


async def test_v3_default_order_is_first_enrolment(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await nf.npq_provider(session)
    a = await nf.enrolment(session, lp, created_at=datetime(2023, 1, 1, tzinfo=UTC))
    b = await nf.enrolment(session, lp, created_at=datetime(2022, 1, 1, tzinfo=UTC))
    c = await nf.enrolment(session, lp, created_at=datetime(2024, 1, 1, tzinfo=UTC))
    # c's user also has an older enrolment with the provider: that one counts
    await nf.enrolment(
        session,
        lp,
        2021,
        "npq-leading-teaching",
        "npq-specialist-autumn",
        person_=c.person,
        created_at=datetime(2021, 1, 1, tzinfo=UTC),
    )
    await set_user_times(session, a.person, created=f.at(-3), updated=f.at(-1))
    await set_user_times(session, b.person, created=f.at(-2), updated=f.at(-3))
    await set_user_times(session, c.person, created=f.at(-1), updated=f.at(-2))
    path = "/api/v3/participants/npq"

    async def order(**params: str) -> list[str]:
        return ids(await client.get(path, params=params, headers=lp.headers))

    assert await order() == [c.id, b.id, a.id]
    assert await order(sort="created_at") == [a.id, b.id, c.id]
    assert await order(sort="-created_at") == [c.id, b.id, a.id]
    assert await order(sort="updated_at") == [b.id, c.id, a.id]
    assert await order(sort="-updated_at") == [a.id, c.id, b.id]
    assert await order(sort="nonsense") == [c.id, b.id, a.id]
    assert await order(**{"page[per_page]": "1", "page[page]": "2"}) == [b.id]
    assert await order(**{"page[per_page]": "2", "page[page]": "3"}) == []


async def test_v3_training_status_filter(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await nf.npq_provider(session)
    active = await nf.enrolment(session, lp)
    deferred = await nf.enrolment(session, lp, training_status="deferred")
    mixed = await nf.enrolment(session, lp, training_status="withdrawn")
    await nf.enrolment(
        session, lp, 2023, "npq-leading-teaching", "npq-specialist-autumn", person_=mixed.person
    )
    path = "/api/v3/participants/npq"

    async def matching(value: str) -> set[str]:
        return set(ids(await client.get(path, params={"filter[training_status]": value}, headers=lp.headers)))

    assert await matching("active") == {active.id, mixed.id}
    assert await matching("deferred") == {deferred.id}
    assert await matching("withdrawn") == {mixed.id}
    assert await matching("") == {active.id, deferred.id, mixed.id}
    for bad in ("paused", "ACTIVE"):
        response = await client.get(path, params={"filter[training_status]": bad}, headers=lp.headers)
        assert response.status_code == 400
        assert response.json() == {
            "errors": [{"title": "Bad request", "detail": TRAINING_STATUS_FILTER_ERROR}]
        }
    assert TRAINING_STATUS_FILTER_ERROR == (
        """The filter '#/training_status' must be ["active", "deferred", "withdrawn"]"""
    )
    # v1 and v2 have no such filter
    v1 = await client.get(
        "/api/v1/participants/npq", params={"filter[training_status]": "paused"}, headers=lp.headers
    )
    assert len(ids(v1)) == 3


async def test_v3_from_participant_id_filter(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await nf.npq_provider(session)
    survivor = await nf.enrolment(session, lp)
    await nf.enrolment(session, lp)
    retired = await f.person(session)
    await nf.id_change(session, survivor.person, retired)
    path = "/api/v3/participants/npq"

    async def matching(value: str) -> list[str]:
        return ids(await client.get(path, params={"filter[from_participant_id]": value}, headers=lp.headers))

    assert await matching(str(retired.user.id)) == [survivor.id]
    assert await matching(survivor.id) == []
    assert await matching("not-an-id") == []


# ---- a page costs the same number of queries whatever its size ----------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_queries_do_not_grow_with_the_page(
    client: httpx.AsyncClient, session: AsyncSession, connection: AsyncConnection, version: str
) -> None:
    lp = await nf.npq_provider(session)
    path = f"/api/{version}/participants/npq"
    # A token's first use records last_used_at (one more statement); later ones within the
    # minute do not, so both measured requests come after it.
    assert (await client.get(path, headers=lp.headers)).status_code == 200
    counts = []
    for _ in range(2):
        for _ in range(3):
            p = await nf.enrolment(session, lp)
            await nf.enrolment(
                session, lp, 2023, "npq-leading-teaching", "npq-specialist-autumn", person_=p.person
            )
            await nf.id_change(session, p.person, await f.person(session))
        await session.flush()
        with captured_statements(connection.sync_connection) as statements:
            response = await client.get(path, params={"page[per_page]": "100"}, headers=lp.headers)
        assert response.status_code == 200
        counts.append(len(statements))
    assert len(response.json()["data"]) == 6
    assert counts[0] == counts[1]


# ---- sandbox data ------------------------------------------------------------------------------


async def test_seeded_npq_participants(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await seed_sandbox(session, settings=settings, today=datetime.now(UTC).date())
    headers = {"Authorization": "Bearer llse-token"}
    for version in VERSIONS:
        response = await client.get(
            f"/api/{version}/participants/npq", params={"page[per_page]": "3000"}, headers=headers
        )
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert len(data) >= 10
        assert len({d["id"] for d in data}) == len(data)
        if version == "v1":
            assert all(d["attributes"]["npq_courses"] for d in data)
            continue
        enrolments = [e for d in data for e in d["attributes"]["npq_enrolments"]]
        assert {e["training_status"] for e in enrolments} == {"active", "deferred", "withdrawn"}
        assert {e["cohort"] for e in enrolments} >= {"2021", "2022", "2023", "2024"}
        if version == "v3":
            assert any(e["withdrawal"] for e in enrolments) and any(e["deferral"] for e in enrolments)
