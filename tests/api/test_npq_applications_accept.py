"""Accepting and rejecting NPQ applications in v1, v2 and v3: every rule, message and effect."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import npq_applications as rules
from app.domain.errors import BAD_JSON_STRUCTURE
from app.models import NpqApplication, Schedule
from tests import factories as f
from tests import factories_npq as fn

VERSIONS = ("v1", "v2", "v3")
NOT_FOUND = {"error": "Resource not Found"}


def url(version: str, application: NpqApplication | str, action: str) -> str:
    ident = application if isinstance(application, str) else str(application.id)
    return f"/api/{version}/npq-applications/{ident}/{action}"


async def npq_provider(session: AsyncSession) -> f.Provider:
    return await f.provider(session, ecf=False, npq=True)


def errors(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return [(e["title"], e["detail"]) for e in response.json()["errors"]]


def accepted_attributes(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    attributes: dict[str, Any] = response.json()["data"]["attributes"]
    return attributes


async def status_of(session: AsyncSession, application: NpqApplication) -> str:
    return str(
        (
            await session.execute(
                text("SELECT lead_provider_approval_status FROM npq_applications WHERE id = :id"),
                {"id": application.id},
            )
        ).scalar_one()
    )


async def profile_of(session: AsyncSession, application: NpqApplication) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text(
                    """SELECT pp.*, s.schedule_identifier, c.start_year AS cohort_year
                         FROM participant_profiles pp JOIN schedules s ON s.id = pp.schedule_id
                         LEFT JOIN cohorts c ON c.id = pp.cohort_id WHERE pp.id = :id"""
                ),
                {"id": application.id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def at(moment: str) -> dict[str, str]:
    return {"X-With-Server-Date": moment}


# ---- accept: success ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_accept_creates_the_training_record(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await npq_provider(session)
    person = await f.person(session, trn="1111111")
    app = await fn.application(
        session,
        lp,
        person_=person,
        course="npq-senior-leadership",
        year=2023,
        teacher_reference_number="2222222",
        teacher_reference_number_verified=True,
        school_urn="100100",
        school_ukprn="10000001",
    )
    response = await client.post(
        url(version, app, "accept"), headers={**lp.headers, **at("2024-01-15T10:00:00Z")}
    )
    attrs = accepted_attributes(response)
    assert response.json()["data"]["id"] == str(app.id)
    assert attrs["status"] == "accepted"
    if version == "v3":
        assert attrs["schedule_identifier"] == "npq-leadership-spring"
    else:
        assert "schedule_identifier" not in attrs

    profile = await profile_of(session, app)
    assert profile is not None
    assert (profile["profile_type"], profile["participant_identity_id"]) == ("npq", person.identity.id)
    assert (profile["schedule_identifier"], profile["cohort_year"]) == ("npq-leadership-spring", 2023)
    assert (profile["school_urn"], profile["school_ukprn"]) == ("100100", "10000001")
    assert (profile["training_status"], profile["status"]) == ("active", "active")
    assert profile["teacher_profile_id"] == person.teacher_profile.id
    assert profile["npq_course_id"] == app.npq_course_id
    states = (
        await session.execute(
            text(
                "SELECT state, cpd_lead_provider_id FROM participant_profile_states"
                " WHERE participant_profile_id = :id"
            ),
            {"id": app.id},
        )
    ).all()
    assert [tuple(s) for s in states] == [("active", lp.cpd.id)]
    # a verified TRN becomes the teacher's TRN; the application keeps its schedule
    trn = (
        await session.execute(
            text("SELECT trn FROM teacher_profiles WHERE user_id = :u"), {"u": person.user.id}
        )
    ).scalar_one()
    assert trn == "2222222"
    schedule = (
        await session.execute(
            text(
                "SELECT s.schedule_identifier FROM npq_applications a"
                " JOIN schedules s ON s.id = a.schedule_id WHERE a.id = :id"
            ),
            {"id": app.id},
        )
    ).scalar_one()
    assert schedule == "npq-leadership-spring"
    # and the v1/v2 show now agrees
    shown = await client.get(f"/api/{version}/npq-applications/{app.id}", headers=lp.headers)
    assert accepted_attributes(shown)["status"] == "accepted"


async def test_an_unverified_trn_is_not_copied(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await npq_provider(session)
    person = await f.person(session, trn="1111111")
    app = await fn.application(
        session,
        lp,
        person_=person,
        teacher_reference_number="2222222",
        teacher_reference_number_verified=False,
    )
    accepted_attributes(await client.post(url("v1", app, "accept"), headers=lp.headers))
    trn = (
        await session.execute(
            text("SELECT trn FROM teacher_profiles WHERE user_id = :u"), {"u": person.user.id}
        )
    ).scalar_one()
    assert trn == "1111111"


async def test_a_missing_teacher_profile_is_created(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await npq_provider(session)
    person = await fn.person(session)
    await session.execute(
        text("DELETE FROM teacher_profiles WHERE id = :id"), {"id": person.teacher_profile.id}
    )
    app = await fn.application(
        session,
        lp,
        person_=person,
        teacher_reference_number="3333333",
        teacher_reference_number_verified=False,
    )
    accepted_attributes(await client.post(url("v2", app, "accept"), headers=lp.headers))
    row = (
        await session.execute(
            text("SELECT id, trn FROM teacher_profiles WHERE user_id = :u"), {"u": person.user.id}
        )
    ).one()
    assert row.trn is None
    assert (await profile_of(session, app) or {})["teacher_profile_id"] == row.id


async def test_accept_rejects_the_users_other_applications_for_the_course_and_cohort(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, other = await npq_provider(session), await npq_provider(session)
    person = await fn.person(session)
    app = await fn.application(session, lp, person_=person, course="npq-headship", year=2022)
    same_elsewhere = await fn.application(session, other, person_=person, course="npq-headship", year=2022)
    same_here = await fn.application(session, lp, person_=person, course="npq-headship", year=2022)
    other_cohort = await fn.application(session, other, person_=person, course="npq-headship", year=2023)
    other_course = await fn.application(
        session, other, person_=person, course="npq-senior-leadership", year=2022
    )
    someone_else = await fn.application(session, other, course="npq-headship", year=2022)
    before = datetime(2020, 1, 1, tzinfo=UTC)
    await session.execute(
        text("UPDATE npq_applications SET updated_at = :t WHERE id = :id"),
        {"t": before, "id": same_elsewhere.id},
    )
    accepted_attributes(await client.post(url("v3", app, "accept"), headers=lp.headers))
    assert await status_of(session, same_elsewhere) == "rejected"
    assert await status_of(session, same_here) == "rejected"
    for untouched in (other_cohort, other_course, someone_else):
        assert await status_of(session, untouched) == "pending"
    # the rejection shows in the other provider's updated_since sync
    synced = await client.get(
        "/api/v3/npq-applications",
        headers=other.headers,
        params={"filter[updated_since]": "2021-01-01T00:00:00Z"},
    )
    assert str(same_elsewhere.id) in [d["id"] for d in synced.json()["data"]]


async def test_accepting_ehco_leaves_a_pending_aso_application_pending(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await npq_provider(session)
    person = await fn.person(session)
    ehco = await fn.application(
        session, lp, person_=person, course="npq-early-headship-coaching-offer", year=2021
    )
    aso = await fn.application(session, lp, person_=person, course="npq-additional-support-offer", year=2021)
    accepted_attributes(await client.post(url("v1", ehco, "accept"), headers=lp.headers))
    assert await status_of(session, aso) == "pending"
    assert errors(await client.post(url("v1", aso, "accept"), headers=lp.headers)) == [
        ("npq_application", rules.ANOTHER_ACCEPTED)
    ]


async def test_accept_moves_updated_at(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await npq_provider(session)
    app = await fn.application(session, lp, created_at=datetime(2022, 6, 1, tzinfo=UTC))
    await session.execute(
        text(
            "UPDATE users SET updated_at = :t FROM participant_identities pi"
            " WHERE pi.user_id = users.id AND pi.id = :i"
        ),
        {"t": datetime(2022, 6, 1, tzinfo=UTC), "i": app.participant_identity_id},
    )
    await session.execute(
        text("UPDATE participant_identities SET updated_at = :t WHERE id = :i"),
        {"t": datetime(2022, 6, 1, tzinfo=UTC), "i": app.participant_identity_id},
    )
    since = {"filter[updated_since]": "2025-01-01T00:00:00Z"}
    assert (await client.get("/api/v1/npq-applications", headers=lp.headers, params=since)).json()[
        "data"
    ] == []
    attrs = accepted_attributes(await client.post(url("v1", app, "accept"), headers=lp.headers))
    assert attrs["updated_at"] > "2025-01-01T00:00:00Z"
    listed = await client.get("/api/v1/npq-applications", headers=lp.headers, params=since)
    assert [d["id"] for d in listed.json()["data"]] == [str(app.id)]


# ---- accept: refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_accept_refusals_in_order(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await npq_provider(session)
    accepted = await fn.accepted(session, lp, await fn.person(session))
    assert errors(await client.post(url(version, accepted.application, "accept"), headers=lp.headers)) == [
        ("npq_application", rules.ALREADY_ACCEPTED)
    ]
    rejected = await fn.application(session, lp, status="rejected")
    assert errors(await client.post(url(version, rejected, "accept"), headers=lp.headers)) == [
        ("npq_application", rules.CANNOT_CHANGE_FROM_REJECTED)
    ]
    # a rejected application of someone already accepted for the course: both messages, joined
    person = await fn.person(session)
    await fn.accepted(session, lp, person, course="npq-leading-literacy")
    both = await fn.application(session, lp, person_=person, course="npq-leading-literacy", status="rejected")
    assert errors(await client.post(url(version, both, "accept"), headers=lp.headers)) == [
        ("npq_application", f"{rules.CANNOT_CHANGE_FROM_REJECTED}, {rules.ANOTHER_ACCEPTED}")
    ]


@pytest.mark.parametrize(
    ("accepted_course", "course", "accepted_year", "year"),
    [
        ("npq-headship", "npq-headship", 2021, 2023),  # any cohort
        ("npq-additional-support-offer", "npq-early-headship-coaching-offer", 2021, 2021),
        ("npq-early-headship-coaching-offer", "npq-additional-support-offer", 2022, 2021),
    ],
)
async def test_another_accepted_application_of_the_user_at_any_provider(
    client: httpx.AsyncClient,
    session: AsyncSession,
    accepted_course: str,
    course: str,
    accepted_year: int,
    year: int,
) -> None:
    lp, other = await npq_provider(session), await npq_provider(session)
    person = await fn.person(session)
    await fn.accepted(
        session, other, person, course=accepted_course, year=accepted_year, eligible_for_funding=False
    )
    app = await fn.application(session, lp, person_=person, course=course, year=year)
    for version in VERSIONS:
        assert errors(await client.post(url(version, app, "accept"), headers=lp.headers)) == [
            ("npq_application", rules.ANOTHER_ACCEPTED)
        ]
    assert await status_of(session, app) == "pending"
    assert await profile_of(session, app) is None


async def test_another_accepted_application_through_another_identity_of_the_user(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    from app.models import ParticipantIdentity

    lp = await npq_provider(session)
    person = await fn.person(session)
    identity = ParticipantIdentity(
        user_id=person.user.id,
        email=f"alt-{uuid.uuid4().hex[:6]}@example.com",
        external_identifier=uuid.uuid4(),
    )
    session.add(identity)
    await session.flush()
    alt = f.Person(user=person.user, identity=identity, teacher_profile=person.teacher_profile)
    await fn.accepted(session, lp, alt)
    app = await fn.application(session, lp, person_=person)
    assert errors(await client.post(url("v3", app, "accept"), headers=lp.headers)) == [
        ("npq_application", rules.ANOTHER_ACCEPTED)
    ]


async def test_the_oldest_other_user_with_the_same_trn_counts(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, other = await npq_provider(session), await npq_provider(session)
    oldest, middle, applicant = await fn.people_sharing_trn(session, "5555555", count=3)
    # accepted for the middle user only: not the oldest other user, so no conflict
    await fn.accepted(session, other, middle)
    free = await fn.application(session, lp, person_=applicant, course="npq-headship")
    assert (
        accepted_attributes(await client.post(url("v1", free, "accept"), headers=lp.headers))["status"]
        == "accepted"
    )
    # accepted for the oldest user: conflict (for the rebranded pair too)
    await fn.accepted(session, other, oldest, course="npq-additional-support-offer", year=2021)
    blocked = await fn.application(session, lp, person_=applicant, course="npq-early-headship-coaching-offer")
    assert errors(await client.post(url("v1", blocked, "accept"), headers=lp.headers)) == [
        ("npq_application", rules.ANOTHER_ACCEPTED)
    ]


async def test_a_blank_trn_links_nobody(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await npq_provider(session)
    first = await f.person(session, trn=" ")
    second = await f.person(session, trn=" ")
    await fn.accepted(session, lp, first)
    app = await fn.application(session, lp, person_=second, teacher_reference_number_verified=False)
    assert (
        accepted_attributes(await client.post(url("v1", app, "accept"), headers=lp.headers))["status"]
        == "accepted"
    )


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("action", ["accept", "reject"])
async def test_actions_on_applications_the_provider_cannot_see(
    client: httpx.AsyncClient, session: AsyncSession, version: str, action: str
) -> None:
    lp, other = await npq_provider(session), await npq_provider(session)
    theirs = await fn.application(session, other)
    for target in (str(theirs.id), str(uuid.uuid4()), "nope"):
        response = await client.post(url(version, target, action), headers=lp.headers)
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert await status_of(session, theirs) == "pending"


# ---- accept: schedules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("course", "year", "today", "expected"),
    [
        ("npq-headship", 2023, "2024-01-01", "npq-leadership-spring"),
        ("npq-headship", 2023, "2024-04-02", "npq-leadership-spring"),
        ("npq-headship", 2023, "2024-04-03", "npq-leadership-autumn"),
        ("npq-headship", 2023, "2023-12-25", "npq-leadership-autumn"),
        ("npq-headship", 2023, "2023-12-26", "npq-leadership-spring"),
        ("npq-leading-teaching", 2022, "2022-06-01", "npq-specialist-autumn"),
        ("npq-leading-teaching", 2022, "2022-12-25", "npq-specialist-autumn"),
        ("npq-leading-teaching", 2022, "2022-12-31", "npq-specialist-spring"),
        ("npq-leading-teaching", 2022, "2023-03-01", "npq-specialist-spring"),
        ("npq-early-headship-coaching-offer", 2023, "2023-09-01", "npq-ehco-november"),
        ("npq-early-headship-coaching-offer", 2023, "2023-11-30", "npq-ehco-november"),
        ("npq-early-headship-coaching-offer", 2023, "2023-12-01", "npq-ehco-december"),
        ("npq-early-headship-coaching-offer", 2023, "2024-02-29", "npq-ehco-december"),
        ("npq-early-headship-coaching-offer", 2023, "2024-03-01", "npq-ehco-march"),
        ("npq-early-headship-coaching-offer", 2023, "2024-05-31", "npq-ehco-march"),
        ("npq-early-headship-coaching-offer", 2023, "2024-06-01", "npq-ehco-june"),
        ("npq-early-headship-coaching-offer", 2023, "2024-09-30", "npq-ehco-june"),
        ("npq-early-headship-coaching-offer", 2023, "2023-08-31", "npq-ehco-june"),
        ("npq-early-headship-coaching-offer", 2023, "2026-01-10", "npq-ehco-june"),
        ("npq-early-headship-coaching-offer", 2021, "2021-12-01", "npq-ehco-june"),  # 2021's only one
        ("npq-additional-support-offer", 2021, "2022-04-01", "npq-aso-november"),  # the first
    ],
)
async def test_automatic_schedule_by_date(
    client: httpx.AsyncClient, session: AsyncSession, course: str, year: int, today: str, expected: str
) -> None:
    lp = await npq_provider(session)
    app = await fn.application(session, lp, course=course, year=year)
    response = await client.post(url("v3", app, "accept"), headers={**lp.headers, **at(f"{today}T12:00:00Z")})
    assert accepted_attributes(response)["schedule_identifier"] == expected
    assert (await profile_of(session, app) or {})["schedule_identifier"] == expected


@pytest.mark.parametrize("version", VERSIONS)
async def test_no_schedule_for_the_date_in_the_cohort(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await npq_provider(session)
    # ASO ran in 2021 only; a 2022 ASO application has no schedule to go on
    app = await fn.application(session, lp, course="npq-additional-support-offer", year=2022)
    assert errors(await client.post(url(version, app, "accept"), headers=lp.headers)) == [
        ("schedule_identifier", rules.SCHEDULE_INVALID)
    ]
    assert await status_of(session, app) == "pending"
    assert await profile_of(session, app) is None


def body(schedule: Any = "npq-leadership-spring") -> dict[str, Any]:
    return {"data": {"type": "npq-application-accept", "attributes": {"schedule_identifier": schedule}}}


async def test_v3_accept_with_a_schedule(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await npq_provider(session)
    app = await fn.application(session, lp, course="npq-headship", year=2022)
    response = await client.post(
        url("v3", app, "accept"), headers={**lp.headers, **at("2022-09-01T00:00:00Z")}, json=body()
    )
    assert accepted_attributes(response)["schedule_identifier"] == "npq-leadership-spring"


async def test_v3_accept_with_a_schedule_alias(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await npq_provider(session)
    app = await fn.application(session, lp, course="npq-leading-teaching", year=2022)
    await session.execute(
        text(
            """UPDATE schedules SET identifier_alias = 'npq-specialist-later'
                WHERE schedule_identifier = 'npq-specialist-spring'
                  AND cohort_id = (SELECT id FROM cohorts WHERE start_year = 2022)"""
        )
    )
    response = await client.post(
        url("v3", app, "accept"), headers=lp.headers, json=body("npq-specialist-later")
    )
    assert accepted_attributes(response)["schedule_identifier"] == "npq-specialist-spring"


@pytest.mark.parametrize(
    "schedule",
    [
        "npq-leadership-sometime",  # no such schedule
        "npq-specialist-spring",  # another family
        "ecf-standard-september",  # not an NPQ schedule
        "npq-aso-november",  # not in the application's cohort (2021 only), and another family
    ],
)
async def test_v3_accept_with_an_invalid_schedule(
    client: httpx.AsyncClient, session: AsyncSession, schedule: str
) -> None:
    lp = await npq_provider(session)
    await f.schedule(session, 2022)  # an ECF schedule in the cohort
    await fn.schedules(session, 2021)
    app = await fn.application(session, lp, course="npq-headship", year=2022)
    assert errors(await client.post(url("v3", app, "accept"), headers=lp.headers, json=body(schedule))) == [
        ("schedule_identifier", rules.SCHEDULE_INVALID)
    ]
    assert await status_of(session, app) == "pending"


async def test_v3_schedule_of_another_cohort_is_invalid(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await npq_provider(session)
    await fn.schedules(session, 2023)
    app = await fn.application(session, lp, course="npq-early-headship-coaching-offer", year=2021)
    # 2021 has only the June EHCO schedule
    assert errors(
        await client.post(url("v3", app, "accept"), headers=lp.headers, json=body("npq-ehco-march"))
    ) == [("schedule_identifier", rules.SCHEDULE_INVALID)]


async def test_v3_schedule_is_only_checked_when_nothing_else_failed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await npq_provider(session)
    app = await fn.application(session, lp, status="rejected")
    assert errors(await client.post(url("v3", app, "accept"), headers=lp.headers, json=body("nonsense"))) == [
        ("npq_application", rules.CANNOT_CHANGE_FROM_REJECTED)
    ]


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {},
        {"data": None},
        {"data": {}},
        body(""),
        body("   "),
        body(None),
    ],
)
async def test_v3_accept_without_a_schedule_chooses_one(
    client: httpx.AsyncClient, session: AsyncSession, payload: Any
) -> None:
    lp = await npq_provider(session)
    app = await fn.application(session, lp, course="npq-headship", year=2022)
    kwargs: dict[str, Any] = {} if payload is None else {"json": payload}
    response = await client.post(
        url("v3", app, "accept"), headers={**lp.headers, **at("2022-09-01T00:00:00Z")}, **kwargs
    )
    assert accepted_attributes(response)["schedule_identifier"] == "npq-leadership-autumn"


@pytest.mark.parametrize(
    "payload",
    [
        {
            "data": {
                "type": "npq-application-accept",
                "attributes": {"schedule_identifier_1": "npq-leadership-spring"},
            }
        },
        {"data": {"type": "npq-application-accept", "attributes": {}}},
        {"data": {"type": "npq-application-accept"}},
        {"data": "npq-leadership-spring"},
    ],
)
async def test_v3_accept_body_without_the_schedule_key_is_a_bad_request(
    client: httpx.AsyncClient, session: AsyncSession, payload: Any
) -> None:
    lp = await npq_provider(session)
    app = await fn.application(session, lp)
    response = await client.post(url("v3", app, "accept"), headers=lp.headers, json=payload)
    assert (response.status_code, response.json()) == (
        400,
        {"errors": [{"title": "Bad request", "detail": BAD_JSON_STRUCTURE}]},
    )
    assert await status_of(session, app) == "pending"


async def test_v3_malformed_json_is_a_bad_request(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await npq_provider(session)
    app = await fn.application(session, lp)
    response = await client.post(
        url("v3", app, "accept"), headers={**lp.headers, "Content-Type": "application/json"}, content=b"{nope"
    )
    assert response.status_code == 400


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_v1_v2_ignore_the_accept_body(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await npq_provider(session)
    app = await fn.application(session, lp, course="npq-headship", year=2022)
    response = await client.post(
        url(version, app, "accept"),
        headers={**lp.headers, **at("2022-09-01T00:00:00Z"), "Content-Type": "application/json"},
        content=b'{"data": {"attributes": {"schedule_identifier": "nonsense"}}',
    )
    assert accepted_attributes(response)["status"] == "accepted"
    assert (await profile_of(session, app) or {})["schedule_identifier"] == "npq-leadership-autumn"


# ---- reject ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_reject(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp = await npq_provider(session)
    app = await fn.application(session, lp)
    response = await client.post(url(version, app, "reject"), headers=lp.headers)
    attrs = accepted_attributes(response)
    assert attrs["status"] == "rejected"
    assert ("schedule_identifier" in attrs) is (version == "v3")
    assert await status_of(session, app) == "rejected"
    assert await profile_of(session, app) is None
    assert errors(await client.post(url(version, app, "reject"), headers=lp.headers)) == [
        ("npq_application", rules.ALREADY_REJECTED)
    ]
    accepted = await fn.accepted(session, lp, await fn.person(session))
    assert errors(await client.post(url(version, accepted.application, "reject"), headers=lp.headers)) == [
        ("npq_application", rules.CANNOT_CHANGE_FROM_ACCEPTED)
    ]
    assert await status_of(session, accepted.application) == "accepted"


async def test_reject_moves_updated_at(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await npq_provider(session)
    app = await fn.application(session, lp)
    await session.execute(
        text("UPDATE npq_applications SET updated_at = :t WHERE id = :id"),
        {"t": datetime(2020, 1, 1, tzinfo=UTC), "id": app.id},
    )
    before = datetime.now(UTC)
    await client.post(url("v3", app, "reject"), headers=lp.headers)
    row = (
        await session.execute(text("SELECT updated_at FROM npq_applications WHERE id = :id"), {"id": app.id})
    ).scalar_one()
    assert row >= before.replace(microsecond=0)


async def test_schedule_rows_are_real_npq_schedules(session: AsyncSession) -> None:
    # guards the factories the schedule tests rely on
    rows = await fn.schedules(session, 2022)
    assert {r.schedule_identifier for r in rows} >= {"npq-leadership-autumn", "npq-ehco-november"}
    assert all(isinstance(r, Schedule) for r in rows)
