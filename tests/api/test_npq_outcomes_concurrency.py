"""Identical outcome updates posted at the same instant: exactly one new outcome is stored.

These tests need real, committed transactions (each request its own connection), so they build
their data with a committing session and empty the tables afterwards.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.models import ParticipantOutcome
from app.settings import Settings
from tests import factories_npq_outcomes as o
from tests.factories import NpqParticipant, Provider


async def scenario(maker: async_sessionmaker[AsyncSession]) -> tuple[Provider, NpqParticipant, Any]:
    """A completed declaration whose participant passed on 1 June 2023."""
    async with maker() as session:
        lp = await o.npq_provider(session)
        n = await o.learner(session, lp)
        d = await o.completed(session, lp, n)
        await o.outcome(session, d, "passed", date(2023, 6, 1))
        await session.commit()
    return lp, n, d


async def post_at_once(
    settings: Settings,
    maker: async_sessionmaker[AsyncSession],
    lp: Provider,
    n: NpqParticipant,
    payloads: list[dict[str, Any]],
) -> list[httpx.Response]:
    app = create_app(settings, sessionmaker=maker)
    url = f"/api/v3/participants/npq/{n.id}/outcomes"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return list(await asyncio.gather(*(client.post(url, json=p, headers=lp.headers) for p in payloads)))


async def history(maker: async_sessionmaker[AsyncSession], declaration_id: Any) -> list[tuple[str, date]]:
    async with maker() as session:
        rows = await session.execute(
            select(ParticipantOutcome.state, ParticipantOutcome.completion_date)
            .where(ParticipantOutcome.participant_declaration_id == declaration_id)
            .order_by(ParticipantOutcome.created_at, ParticipantOutcome.id)
        )
        return [(state, completed) for state, completed in rows]


def payload(state: str, completion_date: str = "2023-06-02") -> dict[str, Any]:
    attributes = {"course_identifier": "npq-headship", "state": state, "completion_date": completion_date}
    return {"data": {"type": "npq-outcome-confirmation", "attributes": attributes}}


@pytest.mark.parametrize("n_requests", [2, 20])
async def test_simultaneous_identical_outcomes_store_one(
    settings: Settings, committed: async_sessionmaker[AsyncSession], n_requests: int
) -> None:
    lp, n, d = await scenario(committed)
    responses = await post_at_once(settings, committed, lp, n, [payload("failed")] * n_requests)
    assert [r.status_code for r in responses] == [200] * n_requests, [r.text for r in responses]
    # every request answers with the one outcome that was stored
    assert len({r.json()["data"]["id"] for r in responses}) == 1
    assert await history(committed, d.id) == [("passed", date(2023, 6, 1)), ("failed", date(2023, 6, 2))]


async def test_simultaneous_different_outcomes_are_all_kept_in_order(
    settings: Settings, committed: async_sessionmaker[AsyncSession]
) -> None:
    lp, n, d = await scenario(committed)
    payloads = [payload("failed"), payload("passed", "2023-06-03")]
    responses = await post_at_once(settings, committed, lp, n, payloads)
    assert [r.status_code for r in responses] == [200, 200]
    stored = await history(committed, d.id)
    assert len(stored) == 3
    # both corrections are appended after the first outcome, one after the other
    assert sorted(stored[1:]) == [("failed", date(2023, 6, 2)), ("passed", date(2023, 6, 3))]
