"""The NPQ registration service's internal API: creating applications (and applicants), changing
their funding eligibility, and what lead providers then see and do in v1, v2 and v3."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.enums import TokenScope
from app.main import create_app
from app.settings import Settings
from tests import factories as f
from tests import factories_finance as ff
from tests import factories_npq as fn
from tests.internal import audit_events, counts, data, doc, errors, npq_service, stamp

URL = "/api/internal/npq-applications"
TABLES = ("users", "participant_identities", "npq_applications", "audit_events")
LONG_AGO = datetime(2021, 1, 1, tzinfo=UTC)


async def npq_provider(session: AsyncSession) -> f.Provider:
    return await f.provider(session, ecf=False, npq=True)


async def ready(session: AsyncSession, year: int = 2022, course: str = "npq-headship") -> f.Provider:
    """An NPQ provider, the course and the cohort (with its NPQ schedules, so an accept can pick one)."""
    await f.npq_course(session, course)
    await fn.schedules(session, year)
    return await npq_provider(session)


def application(provider: f.Provider, **values: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "email": f"applicant-{uuid.uuid4().hex[:8]}@example.com",
        "full_name": "Ada Applicant",
        "course_identifier": "npq-headship",
        "lead_provider_id": str(provider.cpd.id),
        "cohort": 2022,
        "teacher_reference_number": "7654321",
        "teacher_reference_number_verified": True,
        "date_of_birth": "1980-02-03",
        "eligible_for_funding": True,
        "funding_eligiblity_status_code": "funded",
        "targeted_delivery_funding_eligibility": True,
        "headteacher_status": "yes_when_course_starts",
        "funding_choice": "school",
        "works_in_school": True,
        "school_urn": "123456",
        "school_ukprn": "10012345",
        "employment_type": "hospital_school",
        "employer_name": "Hospital School Trust",
        "employment_role": "Teacher",
        "teacher_catchment": "england",
        "teacher_catchment_country": "United Kingdom of Great Britain and Northern Ireland",
        "teacher_catchment_iso_country_code": "GBR",
        "itt_provider": "Some ITT Provider",
        "lead_mentor": True,
        "primary_establishment": False,
        "number_of_pupils": 420,
        "tsf_primary_eligibility": False,
        "tsf_primary_plus_eligibility": False,
    }
    return doc("npq-application", **(attributes | values))


async def create(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return data(await client.post(URL, json=body, headers=headers), 201)


def listed_ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["data"]]


# ---- creating ---------------------------------------------------------------------------------------


async def test_a_new_email_creates_the_participant_and_a_pending_application(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await ready(session)
    body = application(lp)
    created = await create(client, await npq_service(session), body)
    attributes = created["attributes"]
    assert attributes["status"] == "pending"
    assert attributes["lead_provider_id"] == str(lp.cpd.id)
    assert attributes["npq_lead_provider_id"] == str(
        lp.npq_lead_provider.id if lp.npq_lead_provider else None
    )
    assert attributes["cohort"] == "2022"
    for name, value in body["data"]["attributes"].items():
        if name not in ("lead_provider_id", "cohort"):
            assert attributes[name] == value, name
    user = (
        (
            await session.execute(
                text(
                    """SELECT u.id, u.full_name, pi.origin, pi.external_identifier FROM users u
                         JOIN participant_identities pi ON pi.user_id = u.id WHERE pi.email = :email"""
                ),
                {"email": attributes["email"]},
            )
        )
        .mappings()
        .one()
    )
    assert str(user["id"]) == attributes["participant_id"]
    assert user["external_identifier"] == user["id"] and user["origin"] == "npq"
    assert user["full_name"] == "Ada Applicant"
    (event,) = await audit_events(session, "npq_application.created", created["id"])
    assert event["actor_type"] == TokenScope.NPQ_REGISTRATION
    assert event["details"]["participant_id"] == attributes["participant_id"]
    assert await audit_events(session, "participant.created", attributes["participant_id"])


async def test_providers_see_the_application_in_every_version_and_accept_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """End to end: the NPQ service creates an application; its provider lists, shows and accepts it;
    another provider never sees it."""
    lp = await ready(session)
    other = await npq_provider(session)
    created = await create(client, await npq_service(session), application(lp))
    for version in ("v1", "v2", "v3"):
        assert created["id"] in listed_ids(
            await client.get(f"/api/{version}/npq-applications", headers=lp.headers)
        )
        assert created["id"] not in listed_ids(
            await client.get(f"/api/{version}/npq-applications", headers=other.headers)
        )
    shown = data(await client.get(f"/api/v3/npq-applications/{created['id']}", headers=lp.headers))[
        "attributes"
    ]
    assert shown["participant_id"] == created["attributes"]["participant_id"]
    assert shown["course_identifier"] == "npq-headship"
    assert shown["status"] == "pending"
    assert shown["eligible_for_funding"] is True
    assert shown["targeted_delivery_funding_eligibility"] is True
    assert shown["teacher_catchment"] is True
    assert shown["teacher_catchment_iso_country_code"] == "GBR"
    assert shown["funding_choice"] == "school"
    assert shown["headteacher_status"] == "yes_when_course_starts"
    assert shown["lead_mentor"] is True and shown["itt_provider"] == "Some ITT Provider"
    assert shown["cohort"] == "2022"

    accepted = await client.post(f"/api/v3/npq-applications/{created['id']}/accept", headers=lp.headers)
    assert data(accepted)["attributes"]["status"] == "accepted"
    again = data(await client.get(f"{URL}/{created['id']}", headers=await npq_service(session)))
    assert again["attributes"]["status"] == "accepted"
    participants = await client.get("/api/v3/participants/npq", headers=lp.headers)
    assert created["attributes"]["participant_id"] in listed_ids(participants)


async def test_a_known_email_is_the_same_person(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await ready(session)
    headers = await npq_service(session)
    person = await fn.person(session)
    before = await counts(session, "users", "participant_identities")
    created = await create(
        client, headers, application(lp, email=person.identity.email.upper(), full_name="Ignored Name")
    )
    assert created["attributes"]["participant_id"] == str(person.user.id)
    assert created["attributes"]["full_name"] == person.user.full_name
    assert await counts(session, "users", "participant_identities") == before


async def test_an_existing_participant_id_and_a_retired_one(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await ready(session)
    headers = await npq_service(session)
    survivor = await fn.person(session)
    body = application(lp, participant_id=str(survivor.user.id))
    del body["data"]["attributes"]["email"], body["data"]["attributes"]["full_name"]
    created = await create(client, headers, body)
    assert created["attributes"]["participant_id"] == str(survivor.user.id)

    # A merged-away participant id resolves to the survivor (through its identity's external id).
    retired = await fn.person(session)
    await session.execute(
        text("UPDATE participant_identities SET user_id = :s WHERE id = :i"),
        {"s": survivor.user.id, "i": retired.identity.id},
    )
    body["data"]["attributes"]["participant_id"] = str(retired.user.id)
    created = await create(client, headers, body)
    assert created["attributes"]["participant_id"] == str(survivor.user.id)
    assert created["attributes"]["email"] == retired.identity.email


async def test_an_administrator_may_act_as_the_registration_service(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await ready(session)
    await create(client, await ff.internal_headers(session, TokenScope.ADMIN), application(lp))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"course_identifier": "npq-unknown"}, {"course_identifier": "is not a known NPQ course"}),
        ({"cohort": 2031}, {"cohort": "is not a known cohort"}),
        ({"cohort": "2022"}, {"cohort": "must be a whole number"}),
        (
            {"lead_provider_id": str(uuid.uuid4())},
            {"lead_provider_id": "is not a lead provider with an NPQ role"},
        ),
        ({"lead_provider_id": "not-an-id"}, {"lead_provider_id": "must be an id (UUID)"}),
        ({"eligible_for_funding": "true"}, {"eligible_for_funding": "must be true or false"}),
        ({"eligible_for_funding": None}, {"eligible_for_funding": "can't be blank"}),
        ({"number_of_pupils": -1}, {"number_of_pupils": "must be from 0 to 1000000"}),
        ({"date_of_birth": "03/02/1980"}, {"date_of_birth": "must be a date (YYYY-MM-DD)"}),
        ({"date_of_birth": "1980-02-30"}, {"date_of_birth": "must be a date (YYYY-MM-DD)"}),
        (
            {"funding_choice": "lottery"},
            {"funding_choice": "must be one of: school, trust, self, another, employer"},
        ),
        (
            {"teacher_catchment_iso_country_code": "gb"},
            {"teacher_catchment_iso_country_code": "must be a three-letter ISO 3166 country code"},
        ),
        ({"employer_name": "x" * 256}, {"employer_name": "is too long (at most 255 characters)"}),
        ({"employer_name": "a\u0000b"}, {"employer_name": "must not contain NUL characters"}),
        ({"email": "not-an-email"}, {"email": "must be an email address"}),
        ({"surprise": 1}, {"surprise": "is not a known attribute"}),
        (
            {"participant_id": str(uuid.uuid4())},
            {
                "participant_id": "send either participant_id (an existing participant) or email (and "
                "full_name), is not a known participant"
            },
        ),
    ],
)
async def test_bad_input_is_a_field_level_422_and_writes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, values: dict[str, Any], expected: dict[str, str]
) -> None:
    lp = await ready(session)
    headers = await npq_service(session)
    before = await counts(session, *TABLES)
    response = await client.post(URL, json=application(lp, **values), headers=headers)
    assert errors(response) == expected
    assert await counts(session, *TABLES) == before


async def test_every_problem_is_reported_at_once(client: httpx.AsyncClient, session: AsyncSession) -> None:
    ecf_only = await f.provider(session)
    headers = await npq_service(session)
    body = doc("npq-application", participant_id=str(uuid.uuid4()), lead_provider_id=str(ecf_only.cpd.id))
    assert errors(await client.post(URL, json=body, headers=headers)) == {
        "course_identifier": "can't be blank",
        "cohort": "can't be blank",
        "lead_provider_id": "is not a lead provider with an NPQ role",
        "participant_id": "is not a known participant",
    }


async def test_a_new_email_needs_a_name(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await ready(session)
    headers = await npq_service(session)
    before = await counts(session, *TABLES)
    response = await client.post(URL, json=application(lp, full_name=None), headers=headers)
    assert errors(response) == {"full_name": "can't be blank (a new participant needs a name)"}
    assert await counts(session, *TABLES) == before


@pytest.mark.parametrize("body", [None, {}, {"data": []}, [1]])
async def test_a_malformed_document_is_a_400(
    client: httpx.AsyncClient, session: AsyncSession, body: Any
) -> None:
    response = await client.post(URL, json=body, headers=await npq_service(session))
    assert response.status_code == 400


# ---- eligibility ------------------------------------------------------------------------------------


async def test_changing_eligibility_moves_updated_at_for_the_providers_sync(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await ready(session)
    headers = await npq_service(session)
    created = await create(client, headers, application(lp))
    untouched = await fn.application(session, lp)
    for row in (created["id"], untouched.id):
        await stamp(session, "npq_applications", row, LONG_AGO)
    since = {"filter[updated_since]": "2021-06-01T00:00:00Z"}
    assert listed_ids(await client.get("/api/v3/npq-applications", headers=lp.headers, params=since)) == []

    body = doc(
        "npq-application",
        eligible_for_funding=False,
        funding_eligiblity_status_code="ineligible_establishment_type",
        targeted_delivery_funding_eligibility=False,
    )
    updated = data(await client.patch(f"{URL}/{created['id']}", json=body, headers=headers))["attributes"]
    assert updated["eligible_for_funding"] is False
    assert updated["funding_eligiblity_status_code"] == "ineligible_establishment_type"
    assert updated["eligible_for_funding_updated_at"] is not None
    assert updated["updated_at"] > "2021-06-01"
    assert updated["school_urn"] == "123456"  # untouched

    for version in ("v1", "v2", "v3"):
        response = await client.get(f"/api/{version}/npq-applications", headers=lp.headers, params=since)
        assert listed_ids(response) == [created["id"]], version
    shown = data(await client.get(f"/api/v3/npq-applications/{created['id']}", headers=lp.headers))[
        "attributes"
    ]
    assert shown["eligible_for_funding"] is False
    assert shown["ineligible_for_funding_reason"] == "establishment-ineligible"
    (event,) = await audit_events(session, "npq_application.eligibility_updated", created["id"])
    assert event["details"]["changes"]["eligible_for_funding"] == [True, False]


async def test_eligibility_of_an_accepted_application_reaches_the_participant_sync(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await npq_provider(session)
    person = await fn.person(session)
    participant = await fn.accepted(session, lp, person, eligible_for_funding=False)
    await stamp(session, "npq_applications", participant.application.id, LONG_AGO)
    await stamp(session, "participant_profiles", participant.profile.id, LONG_AGO)
    await stamp(session, "users", person.user.id, LONG_AGO)
    since = {"filter[updated_since]": "2021-06-01T00:00:00Z"}
    assert listed_ids(await client.get("/api/v3/participants/npq", headers=lp.headers, params=since)) == []

    body = doc("npq-application", eligible_for_funding=True, funded_place=True)
    response = await client.patch(
        f"{URL}/{participant.application.id}", json=body, headers=await npq_service(session)
    )
    assert data(response)["attributes"]["funded_place"] is True
    assert listed_ids(await client.get("/api/v3/participants/npq", headers=lp.headers, params=since)) == [
        str(person.user.id)
    ]


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (
            doc("npq-application"),
            422,
            {
                "base": "send at least one of: eligible_for_funding, "
                "funding_eligiblity_status_code, targeted_delivery_funding_eligibility, "
                "targeted_support_funding_eligibility, tsf_primary_eligibility, "
                "tsf_primary_plus_eligibility, funded_place, notes"
            },
        ),
        (
            doc("npq-application", course_identifier="npq-senior-leadership"),
            422,
            {"course_identifier": "is not a known attribute"},
        ),
        (doc("npq-application", eligible_for_funding=None), 422, {"eligible_for_funding": "can't be blank"}),
        (
            doc("npq-application", eligible_for_funding="no"),
            422,
            {"eligible_for_funding": "must be true or false"},
        ),
        ({"nothing": True}, 400, None),
    ],
)
async def test_bad_eligibility_updates_change_nothing(
    client: httpx.AsyncClient, session: AsyncSession, body: Any, status: int, expected: dict[str, str] | None
) -> None:
    lp = await npq_provider(session)
    app = await fn.application(session, lp)
    await stamp(session, "npq_applications", app.id, LONG_AGO)
    response = await client.patch(f"{URL}/{app.id}", json=body, headers=await npq_service(session))
    assert response.status_code == status, response.text
    if expected is not None:
        assert errors(response) == expected
    updated_at = (
        await session.execute(text("SELECT updated_at FROM npq_applications WHERE id = :id"), {"id": app.id})
    ).scalar_one()
    assert updated_at == LONG_AGO


async def test_null_clears_a_nullable_field(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await npq_provider(session)
    app = await fn.application(session, lp, funded_place=True)
    body = doc("npq-application", funded_place=None, funding_eligiblity_status_code=None)
    attributes = data(await client.patch(f"{URL}/{app.id}", json=body, headers=await npq_service(session)))[
        "attributes"
    ]
    assert attributes["funded_place"] is None and attributes["funding_eligiblity_status_code"] is None


@pytest.mark.parametrize("ident", [str(uuid.uuid4()), "not-an-id"])
async def test_unknown_applications_are_404(
    client: httpx.AsyncClient, session: AsyncSession, ident: str
) -> None:
    headers = await npq_service(session)
    body = doc("npq-application", eligible_for_funding=True)
    assert (await client.patch(f"{URL}/{ident}", json=body, headers=headers)).status_code == 404
    assert (await client.get(f"{URL}/{ident}", headers=headers)).status_code == 404


# ---- who may call -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("POST", ""), ("GET", "/{id}"), ("PATCH", "/{id}")])
async def test_only_the_registration_service_and_administrators(
    client: httpx.AsyncClient, session: AsyncSession, method: str, path: str
) -> None:
    lp = await npq_provider(session)
    app = await fn.application(session, lp)
    url = URL + path.format(id=app.id)
    body = doc("npq-application", eligible_for_funding=False)
    before = await counts(session, *TABLES)
    for role in (TokenScope.SCHOOL, TokenScope.FINANCE):
        response = await client.request(
            method, url, json=body, headers=await ff.internal_headers(session, role)
        )
        assert response.status_code == 403, role
    assert (await client.request(method, url, json=body, headers=lp.headers)).status_code == 403
    for headers in ({}, {"Authorization": "Bearer nonsense"}):
        response = await client.request(method, url, json=body, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": "HTTP Token: Access denied"}
    assert await counts(session, *TABLES) == before


# ---- concurrent registrations -----------------------------------------------------------------------


async def test_concurrent_registrations_of_one_new_email_create_one_participant(
    settings: Settings, committed: async_sessionmaker[AsyncSession]
) -> None:
    """Five applications for a new email sent at once: the email's advisory lock lets the first
    create the participant and the others find it. Without the lock the others fail on the unique
    email index (500s)."""
    async with committed() as session:
        lp = await ready(session)
        headers = await npq_service(session)
        await session.commit()
    email = f"race-{uuid.uuid4().hex[:8]}@example.com"
    app = create_app(settings, sessionmaker=committed)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        responses = await asyncio.gather(
            *(client.post(URL, json=application(lp, email=email), headers=headers) for _ in range(5))
        )
    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
    assert len({r.json()["data"]["attributes"]["participant_id"] for r in responses}) == 1
    async with committed() as session:
        users = await session.execute(text("SELECT count(*) FROM users WHERE email = :e"), {"e": email})
        assert users.scalar_one() == 1
