"""Partnership confirmations for one school and cohort sent at the same instant: exactly one wins.

These tests need real, committed transactions (each request its own connection), so they build
their data with a committing session and empty the tables afterwards.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain import partnerships as rules
from app.main import create_app
from app.models import Partnership, School
from app.repositories.partnerships import PartnershipRepository
from app.settings import Settings
from tests import factories as f
from tests import factories_partnerships as fp

URL = "/api/v3/partnerships/ecf"


async def scenario(
    maker: async_sessionmaker[AsyncSession], providers: int = 1
) -> tuple[list[fp.Ready], School]:
    """`providers` providers, each working with its own delivery partner, and one eligible school."""
    async with maker() as session:
        school = await fp.school(session)
        ready = []
        for _ in range(providers):
            r = await fp.ready(session)
            r.school = school
            ready.append(r)
        await session.commit()
    return ready, school


async def send_at_once(
    settings: Settings,
    maker: async_sessionmaker[AsyncSession],
    requests: list[tuple[str, str, f.Provider, dict[str, Any]]],
) -> list[httpx.Response]:
    app = create_app(settings, sessionmaker=maker)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return list(
            await asyncio.gather(
                *(
                    client.request(method, path, json=payload, headers=lp.headers)
                    for method, path, lp, payload in requests
                )
            )
        )


async def partnerships_of(maker: async_sessionmaker[AsyncSession], school: School) -> int:
    async with maker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Partnership).where(Partnership.school_id == school.id)
        )
    return int(count or 0)


def outcome(responses: list[httpx.Response], refusal: str) -> tuple[int, int]:
    refused_body = {"errors": [{"title": "school_id", "detail": refusal}]}
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 422 and r.json() == refused_body]
    assert len(ok) + len(refused) == len(responses), [r.text for r in responses]
    return len(ok), len(refused)


@pytest.mark.parametrize("n", [2, 20])
async def test_simultaneous_identical_confirmations_create_one(
    settings: Settings, committed: async_sessionmaker[AsyncSession], n: int
) -> None:
    (r,), school = await scenario(committed)
    responses = await send_at_once(settings, committed, [("POST", URL, r.lp, r.body())] * n)
    assert outcome(responses, rules.ALREADY_CONFIRMED) == (1, n - 1)
    assert await partnerships_of(committed, school) == 1


async def test_simultaneous_confirmations_by_different_providers_create_one(
    settings: Settings, committed: async_sessionmaker[AsyncSession]
) -> None:
    ready, school = await scenario(committed, providers=5)
    responses = await send_at_once(settings, committed, [("POST", URL, r.lp, r.body()) for r in ready])
    assert outcome(responses, rules.OTHER_PROVIDER) == (1, 4)
    assert await partnerships_of(committed, school) == 1


async def test_simultaneous_reconfirmations_after_a_challenge_reuse_the_row(
    settings: Settings, committed: async_sessionmaker[AsyncSession]
) -> None:
    (r,), school = await scenario(committed)
    async with committed() as session:
        challenged = await fp.partnership(
            session, school, r.lead_provider, partner=r.partner, challenged=True
        )
        await session.commit()
    responses = await send_at_once(settings, committed, [("POST", URL, r.lp, r.body())] * 10)
    assert outcome(responses, rules.ALREADY_CONFIRMED) == (1, 9)
    assert [x.json()["data"]["id"] for x in responses if x.status_code == 200] == [str(challenged.id)]
    assert await partnerships_of(committed, school) == 1


async def test_the_unique_constraint_holds_even_without_the_lock(
    settings: Settings, committed: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_lock(self: PartnershipRepository, *args: Any) -> None:
        return None

    monkeypatch.setattr(PartnershipRepository, "lock_school_cohort", no_lock)
    (r,), school = await scenario(committed)
    responses = await send_at_once(settings, committed, [("POST", URL, r.lp, r.body())] * 10)
    assert outcome(responses, rules.ALREADY_CONFIRMED) == (1, 9)
    assert await partnerships_of(committed, school) == 1


async def test_a_confirmation_and_a_change_of_partner_queue(
    settings: Settings, committed: async_sessionmaker[AsyncSession]
) -> None:
    """Changing the partner while the same provider re-confirms: both finish, one row remains."""
    (r,), school = await scenario(committed)
    async with committed() as session:
        row = await fp.partnership(session, school, r.lead_provider, partner=r.partner)
        other_partner = await fp.partner_for(session, r.lp)
        await session.commit()
    responses = await send_at_once(
        settings,
        committed,
        [
            ("PUT", f"{URL}/{row.id}", r.lp, fp.put_body(str(other_partner.id))),
            ("POST", URL, r.lp, r.body()),
        ],
    )
    assert responses[0].status_code == 200, responses[0].text
    assert (responses[1].status_code, responses[1].json()["errors"][0]["detail"]) == (
        422,
        rules.ALREADY_CONFIRMED,
    )
    assert await partnerships_of(committed, school) == 1


async def test_without_the_lock_the_unique_index_stops_two_providers(
    settings: Settings, committed: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Different providers' confirmations differ in provider and partner, so only the advisory lock
    keeps them apart; the partial unique index (one confirmed partnership per school and cohort)
    holds even without it."""

    async def no_lock(self: PartnershipRepository, *args: Any) -> None:
        return None

    monkeypatch.setattr(PartnershipRepository, "lock_school_cohort", no_lock)
    ready, school = await scenario(committed, providers=5)
    responses = await send_at_once(settings, committed, [("POST", URL, r.lp, r.body()) for r in ready])
    assert outcome(responses, rules.OTHER_PROVIDER) == (1, 4)
    assert await partnerships_of(committed, school) == 1
