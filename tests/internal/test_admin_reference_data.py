"""Administrators create reference data: lead providers (and their first token), delivery partners
with their provider relationships, cohorts, schedules with milestones, and schools."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.enums import TokenScope
from app.models import LocalAuthority
from tests import factories as f
from tests import factories_finance as ff
from tests.internal import admin, audit_events, counts, data, doc, errors

BASE = "/api/internal/admin"


async def post(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(BASE + path, json=body, headers=headers)


# ---- lead providers ---------------------------------------------------------------------------------


async def test_a_lead_provider_with_both_roles_and_its_first_token(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    headers = await admin(session)
    body = doc("lead-provider", name="Brand New Institute", ecf=True, npq=True, issue_token=True)
    response = await post(client, headers, "/lead-providers", body)
    created = data(response, 201)
    attributes = created["attributes"]
    assert attributes["name"] == "Brand New Institute"
    assert attributes["ecf"] is True and attributes["npq"] is True
    assert attributes["lead_provider_id"] and attributes["npq_lead_provider_id"]
    assert attributes["vat_chargeable"] is True
    token = response.json()["meta"]["token"]

    # The token works at once, for both programmes, and only its digest is stored.
    provider = {"Authorization": f"Bearer {token}"}
    for path in ("/api/v3/participants/ecf", "/api/v3/npq-applications", "/api/v1/participant-declarations"):
        assert (await client.get(path, headers=provider)).status_code == 200, path
    stored = (await session.execute(text("SELECT hashed_token FROM api_tokens"))).scalars().all()
    assert token not in stored
    assert await audit_events(session, "lead_provider.created", created["id"])
    (issued,) = await audit_events(session, "api_token.created")
    assert issued["details"]["cpd_lead_provider_id"] == created["id"]
    assert issued["actor_type"] == TokenScope.ADMIN


async def test_an_npq_only_provider_without_a_token(client: httpx.AsyncClient, session: AsyncSession) -> None:
    headers = await admin(session)
    body = doc("lead-provider", name="NPQ Only", npq=True, vat_chargeable=False)
    response = await post(client, headers, "/lead-providers", body)
    attributes = data(response, 201)["attributes"]
    assert "meta" not in response.json()
    assert attributes["ecf"] is False and attributes["lead_provider_id"] is None
    assert attributes["vat_chargeable"] is False
    assert await counts(session, "api_tokens") == {"api_tokens": 1}  # the administrator's own


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"name": "Taken"}, {"name": "has already been taken"}),
        (
            {"name": "No Roles", "ecf": False},
            {"ecf": "a lead provider needs an ECF or an NPQ role (or both)"},
        ),
        ({"ecf": True}, {"name": "can't be blank"}),
        (
            {"name": "X", "ecf": "yes"},
            {"ecf": "must be true or false, a lead provider needs an ECF or an NPQ role (or both)"},
        ),
        ({"name": "X", "ecf": True, "colour": "red"}, {"colour": "is not a known attribute"}),
    ],
)
async def test_lead_provider_refusals(
    client: httpx.AsyncClient, session: AsyncSession, attributes: dict[str, Any], expected: dict[str, str]
) -> None:
    await f.provider(session, "Taken")
    headers = await admin(session)
    tables = ("cpd_lead_providers", "lead_providers", "npq_lead_providers", "api_tokens", "audit_events")
    before = await counts(session, *tables)
    body = doc("lead-provider", **({"ecf": True, "issue_token": True} | attributes))
    assert errors(await post(client, headers, "/lead-providers", body)) == expected
    assert await counts(session, *tables) == before


# ---- delivery partners ------------------------------------------------------------------------------


async def test_a_delivery_partner_is_seen_by_the_providers_it_may_work_with(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    other = await f.provider(session)
    for year in (2022, 2023):
        await f.cohort(session, year)
    headers = await admin(session)
    relationships = [
        {"lead_provider_id": str(lp.cpd.id), "cohort": 2022},
        {"lead_provider_id": str(lp.cpd.id), "cohort": 2023},
        {"lead_provider_id": str(lp.cpd.id), "cohort": 2023},  # repeated: one relationship
    ]
    body = doc("delivery-partner", name="Partner Ltd", relationships=relationships)
    created = data(await post(client, headers, "/delivery-partners", body), 201)
    assert [(r["lead_provider_id"], r["cohort"]) for r in created["attributes"]["relationships"]] == [
        (str(lp.cpd.id), "2022"),
        (str(lp.cpd.id), "2023"),
    ]
    shown = data(await client.get(f"/api/v3/delivery-partners/{created['id']}", headers=lp.headers))
    assert shown["attributes"]["name"] == "Partner Ltd"
    assert shown["attributes"]["cohort"] == ["2022", "2023"]
    assert (
        await client.get(f"/api/v3/delivery-partners/{created['id']}", headers=other.headers)
    ).status_code == 404
    (event,) = await audit_events(session, "delivery_partner.created", created["id"])
    assert len(event["details"]["relationships"]) == 2


async def test_delivery_partner_refusals_name_the_relationship(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    ecf = await f.provider(session)
    npq_only = await f.provider(session, ecf=False, npq=True)
    await f.cohort(session, 2022)
    headers = await admin(session)
    before = await counts(session, "delivery_partners", "provider_relationships", "audit_events")
    body = doc(
        "delivery-partner",
        relationships=[
            {"lead_provider_id": str(ecf.cpd.id), "cohort": 2022},
            {"lead_provider_id": str(npq_only.cpd.id), "cohort": 2022},
            {"lead_provider_id": str(ecf.cpd.id), "cohort": 2031},
            {"cohort": "2022"},
            "not an object",
        ],
    )
    assert errors(await post(client, headers, "/delivery-partners", body)) == {
        "relationships[4]": "must be an object",
        "name": "can't be blank",
    }
    body["data"]["attributes"]["relationships"].pop()
    body["data"]["attributes"]["name"] = "Partner"
    assert errors(await post(client, headers, "/delivery-partners", body)) == {
        "relationships[1].lead_provider_id": "is not a lead provider with an ECF role",
        "relationships[2].cohort": "is not a known cohort",
        "relationships[3].lead_provider_id": "can't be blank",
        "relationships[3].cohort": "must be a whole number",
    }
    assert await counts(session, "delivery_partners", "provider_relationships", "audit_events") == before


# ---- cohorts and schedules --------------------------------------------------------------------------


async def test_cohorts(client: httpx.AsyncClient, session: AsyncSession) -> None:
    headers = await admin(session)
    body = doc("cohort", start_year=2031, registration_start_date="2031-05-10", mentor_funding=True)
    created = data(await post(client, headers, "/cohorts", body), 201)
    assert created["attributes"]["academic_year_start_date"] == "2031-09-01"
    assert created["attributes"]["registration_start_date"] == "2031-05-10"
    assert created["attributes"]["mentor_funding"] is True
    assert await audit_events(session, "cohort.created", created["id"])

    before = await counts(session, "cohorts", "audit_events")
    assert errors(await post(client, headers, "/cohorts", body)) == {"start_year": "has already been taken"}
    bad = doc(
        "cohort", start_year=2032, academic_year_start_date="2031-09-01", npq_registration_start_date="soon"
    )
    assert errors(await post(client, headers, "/cohorts", bad)) == {
        "academic_year_start_date": "must be in the cohort's start year",
        "npq_registration_start_date": "must be a date (YYYY-MM-DD)",
    }
    assert errors(await post(client, headers, "/cohorts", doc("cohort", start_year=1999))) == {
        "start_year": "must be from 2020 to 2100"
    }
    assert await counts(session, "cohorts", "audit_events") == before


def milestones() -> list[dict[str, Any]]:
    return [
        {"declaration_type": "started", "start_date": "2031-09-01", "milestone_date": "2031-11-30",
         "payment_date": "2031-11-30"},
        {"declaration_type": "retained-1", "start_date": "2031-12-01", "milestone_date": "2032-02-28",
         "payment_date": "2032-02-28"},
        {"declaration_type": "completed", "start_date": "2032-03-01", "milestone_date": None,
         "payment_date": "2032-06-30"},
    ]  # fmt: skip


async def test_a_schedule_with_its_milestones_is_used_by_declarations(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await f.cohort(session, 2031)
    headers = await admin(session)
    body = doc(
        "schedule",
        cohort=2031,
        schedule_identifier="npq-leadership-autumn",
        name="NPQ Leadership Autumn",
        schedule_type="npq_leadership",
        milestones=milestones(),
    )
    created = data(await post(client, headers, "/schedules", body), 201)
    attributes = created["attributes"]
    assert attributes["cohort"] == "2031" and attributes["schedule_type"] == "npq_leadership"
    assert [m["declaration_type"] for m in attributes["milestones"]] == ["started", "retained-1", "completed"]
    assert attributes["milestones"][2]["milestone_date"] is None
    assert attributes["milestones"][0]["name"] == "started"
    (event,) = await audit_events(session, "schedule.created", created["id"])
    assert event["details"]["milestones"] == ["started", "retained-1", "completed"]
    assert errors(await post(client, headers, "/schedules", body)) == {
        "schedule_identifier": "has already been taken"
    }


async def test_schedule_refusals(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await f.cohort(session, 2031)
    headers = await admin(session)
    before = await counts(session, "schedules", "milestones", "audit_events")
    bad = milestones()
    bad[1]["declaration_type"] = "started"
    bad[2]["milestone_date"] = "2032-01-01"
    bad.append({"declaration_type": "retained-9", "start_date": "x"})
    body = doc(
        "schedule", cohort=2030, schedule_identifier="Not Valid", schedule_type="weekly", milestones=bad
    )
    assert errors(await post(client, headers, "/schedules", body)) == {
        "schedule_identifier": "must be lower-case letters, digits and hyphens",
        "schedule_type": "must be one of: ecf, mentor, npq_leadership, npq_specialist, npq_support, npq_ehco",
        "milestones[1].declaration_type": "appears more than once",
        "milestones[2].milestone_date": "must not be before start_date",
        "milestones[3].declaration_type": (
            "must be one of: started, retained-1, retained-2, retained-3, retained-4, completed, "
            "extended-1, extended-2, extended-3"
        ),
        "milestones[3].start_date": "must be a date (YYYY-MM-DD)",
        "milestones[3].payment_date": "can't be blank",
        "cohort": "is not a known cohort",
    }
    empty = doc("schedule", cohort=2031, schedule_identifier="ecf-x", schedule_type="ecf", milestones=[])
    assert errors(await post(client, headers, "/schedules", empty)) == {
        "milestones": "a schedule needs at least one milestone"
    }
    assert await counts(session, "schedules", "milestones", "audit_events") == before


# ---- schools ----------------------------------------------------------------------------------------


async def test_schools(client: httpx.AsyncClient, session: AsyncSession) -> None:
    session.add(LocalAuthority(code="909", name="Somewhere Council"))
    headers = await admin(session)
    body = doc(
        "school",
        urn="654321",
        name="New Academy",
        ukprn="10099999",
        school_type_code=28,
        school_status_code=1,
        administrative_district_code="E09000033",
        primary_contact_email="head@new-academy.example.com",
        postcode="SW1A 1AA",
        local_authority_code="909",
    )
    created = data(await post(client, headers, "/schools", body), 201)
    attributes = created["attributes"]
    assert attributes["urn"] == "654321" and attributes["school_type_code"] == 28
    assert attributes["local_authority_code"] == "909"
    assert attributes["section_41_approved"] is False
    assert await audit_events(session, "school.created", created["id"])

    before = await counts(session, "schools", "audit_events")
    assert errors(await post(client, headers, "/schools", body)) == {"urn": "has already been taken"}
    bad = doc(
        "school",
        urn="12",
        name="",
        ukprn="1",
        primary_contact_email="nobody",
        local_authority_code="000",
        school_type_code=True,
    )
    assert errors(await post(client, headers, "/schools", bad)) == {
        "urn": "must be 5 to 8 digits",
        "name": "can't be blank",
        "ukprn": "must be 8 digits",
        "school_type_code": "must be a whole number",
        "primary_contact_email": "must be an email address",
        "local_authority_code": "is not a known local authority code",
    }
    assert await counts(session, "schools", "audit_events") == before


# ---- who may call -----------------------------------------------------------------------------------


ADMIN_ROUTES = [
    ("POST", "/lead-providers"),
    ("POST", "/delivery-partners"),
    ("POST", "/cohorts"),
    ("POST", "/schedules"),
    ("POST", "/schools"),
    ("PUT", "/training-records/{id}/eligibility"),
    ("PUT", "/training-records/{id}/induction-completion"),
    ("POST", "/participant-merges"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
async def test_only_administrators(
    client: httpx.AsyncClient, session: AsyncSession, method: str, path: str
) -> None:
    url = BASE + path.format(id=uuid.uuid4())
    body = doc("anything", name="Should Not Exist", ecf=True, start_year=2040, urn="999999")
    provider = await f.provider(session, npq=True)
    before = await counts(
        session, "cpd_lead_providers", "cohorts", "schools", "delivery_partners", "audit_events"
    )
    for role in (TokenScope.SCHOOL, TokenScope.FINANCE, TokenScope.NPQ_REGISTRATION):
        response = await client.request(
            method, url, json=body, headers=await ff.internal_headers(session, role)
        )
        assert response.status_code == 403, role
    assert (await client.request(method, url, json=body, headers=provider.headers)).status_code == 403
    response = await client.request(method, url, json=body)
    assert response.status_code == 401
    assert response.json() == {"error": "HTTP Token: Access denied"}
    after = await counts(
        session, "cpd_lead_providers", "cohorts", "schools", "delivery_partners", "audit_events"
    )
    assert after == before
