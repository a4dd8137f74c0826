"""v3 ECF participants: one resource per user with nested enrolments."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.settings import Environment, Settings
from tests import factories as f
from tests.contract import assert_matches_spec

LIST = "/api/v3/participants/ecf"
SHOW = "/api/v3/participants/ecf/{id}"


async def show(client: httpx.AsyncClient, headers: dict[str, str], participant_id: str) -> dict:  # type: ignore[type-arg]
    response = await client.get(SHOW.format(id=participant_id), headers=headers)
    assert response.status_code == 200, response.text
    assert_matches_spec("v3", "get", SHOW, 200, response.json())
    data: dict = response.json()["data"]  # type: ignore[type-arg]
    return data


async def test_one_resource_per_user_with_every_enrolment(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    person = await f.person(session, trn="7777777")
    mentor = await f.participant(session, lp.lead_provider, 2023, profile_type="mentor", person_=person)
    ect = await f.participant(session, lp.lead_provider, 2022, profile_type="ect", person_=person)
    data = await show(client, lp.headers, str(person.user.id))
    attributes = data["attributes"]
    assert set(attributes) == {
        "full_name",
        "teacher_reference_number",
        "updated_at",
        "ecf_enrolments",
        "participant_id_changes",
    }
    assert attributes["teacher_reference_number"] == "7777777"
    assert {e["training_record_id"] for e in attributes["ecf_enrolments"]} == {
        str(mentor.profile.id),
        str(ect.profile.id),
    }
    enrolment = next(e for e in attributes["ecf_enrolments"] if e["participant_type"] == "ect")
    assert list(enrolment) == [
        "training_record_id",
        "email",
        "mentor_id",
        "school_urn",
        "participant_type",
        "cohort",
        "training_status",
        "participant_status",
        "teacher_reference_number_validated",
        "eligible_for_funding",
        "pupil_premium_uplift",
        "sparsity_uplift",
        "schedule_identifier",
        "delivery_partner_id",
        "withdrawal",
        "deferral",
        "created_at",
        "induction_end_date",
        "mentor_funding_end_date",
    ]
    assert enrolment["delivery_partner_id"] == str(ect.programme.delivery_partner.id)  # type: ignore[union-attr]
    listed = await client.get(LIST, headers=lp.headers)
    assert [d["id"] for d in listed.json()["data"]] == [str(person.user.id)]
    assert_matches_spec("v3", "get", LIST, 200, listed.json())


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, "active"),
        ({"induction_status": "completed"}, "active"),
        ({"start_date": f.at(5)}, "joining"),
        ({"induction_status": "leaving", "end_date": f.at(5)}, "leaving"),
        ({"induction_status": "withdrawn", "end_date": f.at(-5)}, "left"),
        ({"induction_status": "withdrawn"}, "withdrawn"),
        ({"induction_status": "changed"}, "withdrawn"),
        ({"induction_status": "leaving"}, None),
    ],
)
async def test_participant_status(
    client: httpx.AsyncClient, session: AsyncSession, values: dict[str, object], expected: str | None
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, **values)  # type: ignore[arg-type]
    data = await show(client, lp.headers, p.id)
    assert data["attributes"]["ecf_enrolments"][0]["participant_status"] == expected


async def test_withdrawal_and_deferral_come_from_the_callers_latest_state(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    other = await f.provider(session)
    withdrawn = await f.participant(session, lp.lead_provider, training_status="withdrawn")
    latest = f.at(-2).replace(microsecond=0)
    await f.profile_state(session, withdrawn, lp, "withdrawn", "moved-school", created_at=f.at(-10))
    await f.profile_state(session, withdrawn, lp, "withdrawn", "left-teaching-profession", created_at=latest)
    await f.profile_state(session, withdrawn, other, "withdrawn", "other", created_at=f.at(-1))
    deferred_elsewhere = await f.participant(session, lp.lead_provider, training_status="deferred")
    await f.profile_state(session, deferred_elsewhere, other, "deferred", "bereavement")
    active = await f.participant(session, lp.lead_provider)
    await f.profile_state(session, active, lp, "withdrawn", "moved-school")

    enrolment = (await show(client, lp.headers, withdrawn.id))["attributes"]["ecf_enrolments"][0]
    assert enrolment["withdrawal"] == {
        "reason": "left-teaching-profession",
        "date": latest.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert enrolment["deferral"] is None
    assert (await show(client, lp.headers, deferred_elsewhere.id))["attributes"]["ecf_enrolments"][0][
        "deferral"
    ] is None
    assert (await show(client, lp.headers, active.id))["attributes"]["ecf_enrolments"][0][
        "withdrawal"
    ] is None


async def test_trn_has_no_validation_data_fallback(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, person_=await f.person(session, trn=None))
    await f.validation_data(session, p, "7654321")
    data = await show(client, lp.headers, p.id)
    assert data["attributes"]["teacher_reference_number"] is None
    assert data["attributes"]["ecf_enrolments"][0]["teacher_reference_number_validated"] is True


async def test_participant_id_changes_and_filter(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    survivor = await f.person(session)
    retired = await f.person(session)
    await f.participant(session, lp.lead_provider, person_=survivor)
    await f.participant(session, lp.lead_provider)
    change = await f.id_change(session, survivor, retired)
    data = await show(client, lp.headers, str(survivor.user.id))
    assert data["attributes"]["participant_id_changes"] == [
        {
            "from_participant_id": str(retired.user.id),
            "to_participant_id": str(survivor.user.id),
            "changed_at": change.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    ]
    found = await client.get(f"{LIST}?filter[from_participant_id]={retired.user.id}", headers=lp.headers)
    assert [d["id"] for d in found.json()["data"]] == [str(survivor.user.id)]
    for value in (survivor.user.id, "not-a-uuid"):
        none = await client.get(f"{LIST}?filter[from_participant_id]={value}", headers=lp.headers)
        assert none.json()["data"] == []
    # GET routes do not resolve a retired id
    assert (await client.get(SHOW.format(id=retired.user.id), headers=lp.headers)).status_code == 404


async def test_training_status_filter(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    active = await f.participant(session, lp.lead_provider)
    deferred = await f.participant(session, lp.lead_provider, training_status="deferred")
    for status, expected in (("active", [active.id]), ("deferred", [deferred.id]), ("withdrawn", [])):
        response = await client.get(f"{LIST}?filter[training_status]={status}", headers=lp.headers)
        assert [d["id"] for d in response.json()["data"]] == expected


async def test_sort(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    first = await f.participant(session, lp.lead_provider, created_at=f.at(-10))
    second = await f.participant(session, lp.lead_provider, created_at=f.at(-5))
    first.person.user.updated_at = f.at(-1)
    second.person.user.updated_at = f.at(-2)
    expectations = {
        "": [first.id, second.id],
        "sort=-created_at": [second.id, first.id],
        "sort=updated_at": [second.id, first.id],
        "sort=-updated_at,created_at": [first.id, second.id],
        "sort=password": [first.id, second.id],
    }
    for query, expected in expectations.items():
        response = await client.get(f"{LIST}?{query}", headers=lp.headers)
        assert [d["id"] for d in response.json()["data"]] == expected, query


async def test_v3_chooses_the_latest_record_across_cohorts(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, 2021, start_date=f.at(-400), end_date=f.at(-30))
    later = await f.programme(session, lp.lead_provider, 2022)
    await f.induction_record(
        session, p, later, start_date=f.at(-29), schedule_id=(await f.schedule(session, 2022)).id
    )
    found = await client.get(f"{LIST}?filter[cohort]=2022", headers=lp.headers)
    enrolments = found.json()["data"][0]["attributes"]["ecf_enrolments"]
    assert [(e["cohort"], e["school_urn"]) for e in enrolments] == [("2022", later.school.urn)]


async def test_mentor_funding_end_date_is_hidden_in_production(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, profile_type="mentor")
    await session.flush()
    production: FastAPI = create_app(
        Settings(environment=Environment.PRODUCTION, token_hmac_key="p" * 40, database_url=database_url),
        sessionmaker=sessionmaker,
    )
    transport = httpx.ASGITransport(app=production)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as prod_client:
        # production uses its own HMAC key, so issue a token hashed with it
        from app.models import ApiToken
        from app.security import hash_token

        session.add(ApiToken(hashed_token=hash_token("prod-token", "p" * 40), cpd_lead_provider_id=lp.cpd.id))
        await session.flush()
        response = await prod_client.get(SHOW.format(id=p.id), headers={"Authorization": "Bearer prod-token"})
        assert response.status_code == 200
        assert "mentor_funding_end_date" not in response.json()["data"]["attributes"]["ecf_enrolments"][0]
        travelled = await prod_client.get(
            SHOW.format(id=p.id),
            headers={"Authorization": "Bearer prod-token", "X-With-Server-Date": "not a date"},
        )
        assert travelled.status_code == 200  # production ignores the header entirely
