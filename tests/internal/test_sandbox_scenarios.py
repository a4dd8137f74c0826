"""The sandbox scenario API: a provider acts as the induction tutor of schools it is partnered with,
never of anyone else's; the routes do not exist in production."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.settings import Environment, Settings
from tests import factories as f
from tests.conftest import TEST_HMAC_KEY
from tests.internal.school_helpers import (
    SANDBOX,
    YEAR,
    audit_actions,
    body,
    created,
    errors,
    ok,
    person,
    ready_cohort,
)
from tests.reliability.dataset import fingerprint


async def partnered(session: AsyncSession, lp: f.Provider) -> f.Programme:
    """A school partnered with `lp` whose default programme is the partnership's (as in the seed)."""
    place = await f.programme(session, lp.lead_provider, YEAR)
    place.school_cohort.default_induction_programme_id = place.programme.id
    await session.flush()
    return place


async def test_a_provider_rehearses_a_schools_actions(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await ready_cohort(session)
    lp = await f.provider(session)
    home, away = await partnered(session, lp), await partnered(session, lp)
    ect = created(
        await client.post(f"{SANDBOX}/{home.school.id}/participants", headers=lp.headers, json=person())
    )
    listed = ok(await client.get("/api/v3/participants/ecf", headers=lp.headers))
    assert ect["id"] in {p["id"] for p in listed}

    # An unfunded mentor: in the school's pool, trained by no one, named as the ECT's mentor.
    mentor = created(
        await client.post(
            f"{SANDBOX}/{home.school.id}/participants",
            headers=lp.headers,
            json=person("mentor", training=False),
        )
    )
    ok(
        await client.put(
            f"{SANDBOX}/{home.school.id}/participants/{ect['id']}/mentor",
            headers=lp.headers,
            json=body("mentor", mentor_id=mentor["id"]),
        )
    )
    unfunded = ok(await client.get("/api/v3/unfunded-mentors/ecf", headers=lp.headers))
    assert [m["id"] for m in unfunded] == [mentor["id"]]

    # Transfer out, then in at the provider's other school (after the mentor change, which starts today).
    ok(
        await client.post(
            f"{SANDBOX}/{home.school.id}/participants/{ect['id']}/leaving",
            headers=lp.headers,
            json=body("leaving", end_date="2099-03-31"),
        )
    )
    ok(
        await client.post(
            f"{SANDBOX}/{away.school.id}/participants/{ect['id']}/joining",
            headers=lp.headers,
            json=body("joining", start_date="2099-04-03"),
        )
    )
    moves = ok(await client.get(f"/api/v3/participants/ecf/{ect['id']}/transfers", headers=lp.headers))
    assert moves["attributes"]["transfers"][0]["joining"]["school_urn"] == away.school.urn

    # Challenge the partnership as the school would.
    assert home.partnership is not None
    challenged = ok(
        await client.post(
            f"{SANDBOX}/{home.school.id}/partnerships/{home.partnership.id}/challenge",
            headers=lp.headers,
            json=body("partnership-challenge", challenge_reason="another_provider"),
        )
    )
    assert challenged["attributes"]["challenge_reason"] == "another_provider"
    assert await audit_actions(session, home.partnership.id) == ["partnership.challenged"]


async def test_only_schools_the_provider_is_partnered_with(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await ready_cohort(session)
    owner, stranger = await f.provider(session), await f.provider(session)
    place = await partnered(session, owner)
    ect = created(
        await client.post(f"{SANDBOX}/{place.school.id}/participants", headers=owner.headers, json=person())
    )
    assert place.partnership is not None
    before = await fingerprint(session)
    school = f"{SANDBOX}/{place.school.id}"
    attempts = [
        ("POST", f"{school}/participants", person()),
        ("PUT", f"{school}/participants/{ect['id']}/mentor", body("mentor", mentor_id=ect["id"])),
        ("POST", f"{school}/participants/{ect['id']}/leaving", body("leaving", end_date="2023-01-01")),
        ("POST", f"{school}/participants/{ect['id']}/joining", body("joining", start_date="2023-01-01")),
        (
            "POST",
            f"{school}/partnerships/{place.partnership.id}/challenge",
            body("partnership-challenge", challenge_reason="mistake"),
        ),
    ]
    for method, path, payload in attempts:
        response = await client.request(method, path, headers=stranger.headers, json=payload)
        assert response.status_code == 404, (method, path, response.text)
    # Moving the owner's participant into the stranger's school while keeping the owner: refused too.
    own = await partnered(session, stranger)
    before = await fingerprint(session)
    kept = await client.post(
        f"{SANDBOX}/{own.school.id}/participants/{ect['id']}/joining",
        headers=stranger.headers,
        json=body("joining", start_date="2023-01-09", continue_with_current_provider=True),
    )
    assert kept.status_code == 404
    assert await fingerprint(session) == before
    # Internal school routes refuse provider tokens.
    internal = await client.post(
        f"/api/internal/schools/{place.school.id}/participants", headers=owner.headers, json=person()
    )
    assert internal.status_code == 403


async def test_validation_is_the_schools(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await ready_cohort(session)
    lp = await f.provider(session)
    place = await partnered(session, lp)
    refused = await client.post(
        f"{SANDBOX}/{place.school.id}/participants", headers=lp.headers, json=person(cohort=2015)
    )
    assert errors(refused) == {"cohort": "There is no cohort starting in 2015"}


async def test_absent_in_production(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    lp = await f.provider(session)
    place = await partnered(session, lp)
    await session.flush()
    production: FastAPI = create_app(
        Settings(environment=Environment.PRODUCTION, token_hmac_key=TEST_HMAC_KEY + "-production-secret"),
        sessionmaker=sessionmaker,
    )
    assert not [r for r in production.routes if getattr(r, "path", "").startswith("/api/sandbox")]
    transport = httpx.ASGITransport(app=production)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as prod:
        response = await prod.post(
            f"{SANDBOX}/{place.school.id}/participants", headers=lp.headers, json=person()
        )
    assert response.status_code == 404
