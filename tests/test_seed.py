"""The sandbox seed: deterministic, idempotent, hashed tokens, never in production, useful scenarios."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiToken, ParticipantIdChange, Schedule, Statement, User
from app.security import hash_token
from app.seed import KNOWN_TOKENS, SeedRefused, seed_reference_data, seed_sandbox, uid
from app.settings import Environment, Settings
from tests.contract import assert_matches_spec

TODAY = date(2026, 11, 22)


async def _seed(session: AsyncSession, settings: Settings) -> None:
    await seed_sandbox(session, settings=settings, today=TODAY)


async def test_second_run_inserts_nothing(session: AsyncSession, settings: Settings) -> None:
    first = await seed_sandbox(session, settings=settings, today=TODAY)
    users = (await session.execute(select(func.count()).select_from(User))).scalar_one()
    second = await seed_sandbox(session, settings=settings, today=TODAY)
    assert sum(first.inserted.values()) > 5000
    assert sum(second.inserted.values()) == 0
    assert (await session.execute(select(func.count()).select_from(User))).scalar_one() == users


async def test_ids_are_deterministic(session: AsyncSession, settings: Settings) -> None:
    await _seed(session, settings)
    schedule = (
        await session.execute(
            select(Schedule.id).where(Schedule.schedule_identifier == "npq-ehco-june").limit(1)
        )
    ).scalar_one()
    assert schedule in {uid("schedule", y, "npq-ehco-june") for y in (2021, 2022, 2023, 2024)}


async def test_tokens_are_stored_hashed(session: AsyncSession, settings: Settings) -> None:
    await _seed(session, settings)
    stored = set((await session.execute(select(ApiToken.hashed_token))).scalars())
    assert not stored & set(KNOWN_TOKENS)
    assert hash_token("ambition-token", settings.token_hmac_key) in stored
    assert len(KNOWN_TOKENS) == 11


async def test_production_refuses_the_sandbox_seed(session: AsyncSession, database_url: str) -> None:
    production = Settings(
        environment=Environment.PRODUCTION, token_hmac_key="p" * 40, database_url=database_url
    )
    with pytest.raises(SeedRefused):
        await seed_sandbox(session, settings=production, today=TODAY)
    report = await seed_reference_data(session)
    assert report.inserted["schedules"] > 0
    assert (await session.execute(select(func.count()).select_from(ApiToken))).scalar_one() == 0


async def test_ambition_sees_pages_of_participants(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await _seed(session, settings)
    headers = {"Authorization": "Bearer ambition-token"}
    v1 = await client.get("/api/v1/participants/ecf", params={"page[per_page]": "3000"}, headers=headers)
    assert v1.status_code == 200
    assert len(v1.json()["data"]) >= 150
    first = await client.get("/api/v3/participants/ecf", headers=headers)
    second = await client.get("/api/v3/participants/ecf", params={"page[page]": "2"}, headers=headers)
    assert len(first.json()["data"]) == 100 and second.json()["data"]
    assert not {d["id"] for d in first.json()["data"]} & {d["id"] for d in second.json()["data"]}
    assert_matches_spec("v3", "get", "/api/v3/participants/ecf", 200, first.json())
    assert_matches_spec("v1", "get", "/api/v1/participants/ecf", 200, v1.json())


async def test_scenarios_are_present(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await _seed(session, settings)
    response = await client.get(
        "/api/v3/participants/ecf",
        params={"page[per_page]": "3000"},
        headers={"Authorization": "Bearer ambition-token"},
    )
    enrolments = [e for p in response.json()["data"] for e in p["attributes"]["ecf_enrolments"]]
    assert {e["training_status"] for e in enrolments} == {"active", "deferred", "withdrawn"}
    assert {e["participant_status"] for e in enrolments} >= {
        "active",
        "joining",
        "leaving",
        "left",
        "withdrawn",
    }
    assert {e["cohort"] for e in enrolments} == {"2021", "2022", "2023", "2024"}
    assert any(e["withdrawal"] for e in enrolments) and any(e["deferral"] for e in enrolments)
    assert any(e["pupil_premium_uplift"] and e["sparsity_uplift"] for e in enrolments)
    assert any(e["induction_end_date"] for e in enrolments)
    assert any(
        len(p["attributes"]["ecf_enrolments"]) == 2 for p in response.json()["data"]
    )  # ECT became mentor
    assert any(p["attributes"]["participant_id_changes"] for p in response.json()["data"])
    changes = (await session.execute(select(func.count()).select_from(ParticipantIdChange))).scalar_one()
    assert changes == 6
    # transfers between token providers and unfunded mentors exist for every ECF provider
    transfers = (
        await session.execute(text("SELECT count(*) FROM induction_records WHERE school_transfer"))
    ).scalar_one()
    assert transfers == 4 * 6
    statements = {s for s in (await session.execute(select(Statement.state))).scalars()}
    assert statements == {"open", "payable", "paid"}


async def test_declarations_in_every_state_are_visible(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await _seed(session, settings)
    response = await client.get(
        "/api/v3/participant-declarations",
        params={"page[per_page]": "3000"},
        headers={"Authorization": "Bearer ambition-token"},
    )
    declarations = [d["attributes"] for d in response.json()["data"]]
    assert {d["state"] for d in declarations} == {
        "submitted",
        "eligible",
        "paid",
        "awaiting-clawback",
        "voided",
    }
    assert all(d["statement_id"] for d in declarations if d["state"] in ("eligible", "paid"))
    assert all(d["clawback_statement_id"] for d in declarations if d["state"] == "awaiting-clawback")
    assert not any(d["statement_id"] for d in declarations if d["state"] in ("submitted", "voided"))
    assert any(d["uplift_paid"] for d in declarations)
