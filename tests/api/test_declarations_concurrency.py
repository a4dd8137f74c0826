"""Identical declarations submitted at the same instant: exactly one is stored.

These tests need real, committed transactions (each request its own connection), so they build
their data with a committing session and empty the tables afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain import declaration_submission as rules
from app.main import create_app
from app.models import ParticipantDeclaration
from app.repositories.declaration_writes import DeclarationWriteRepository
from app.settings import Settings
from tests import factories as f


async def scenario(maker: async_sessionmaker[AsyncSession]) -> tuple[f.Provider, dict[str, Any]]:
    async with maker() as session:
        lp = await f.provider(session)
        await f.statement(session, lp, deadline_date=date.today() + timedelta(days=30))
        ect = await f.participant(session, lp.lead_provider, person_=await f.person(session, trn="7777777"))
        await session.commit()
    payload = {
        "data": {
            "type": "participant-declaration",
            "attributes": {
                "participant_id": ect.id,
                "declaration_type": "started",
                "declaration_date": "2022-10-01T10:00:00Z",
                "course_identifier": "ecf-induction",
            },
        }
    }
    return lp, payload


async def submit_at_once(
    settings: Settings,
    maker: async_sessionmaker[AsyncSession],
    lp: f.Provider,
    payload: dict[str, Any],
    n: int,
) -> list[httpx.Response]:
    app = create_app(settings, sessionmaker=maker)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return list(
            await asyncio.gather(
                *(
                    client.post("/api/v3/participant-declarations", json=payload, headers=lp.headers)
                    for _ in range(n)
                )
            )
        )


async def live_count(maker: async_sessionmaker[AsyncSession]) -> int:
    async with maker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ParticipantDeclaration)
            .where(ParticipantDeclaration.state.in_(("submitted", "eligible", "payable", "paid")))
        )
    return int(count or 0)


def outcome(responses: list[httpx.Response]) -> tuple[int, int]:
    duplicate = {"errors": [{"title": "base", "detail": rules.ALREADY_DECLARED}]}
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 422 and r.json() == duplicate]
    assert len(ok) + len(refused) == len(responses), [r.text for r in responses]
    return len(ok), len(refused)


@pytest.mark.parametrize("n", [2, 20])
async def test_simultaneous_identical_declarations_store_one(
    settings: Settings, committed: async_sessionmaker[AsyncSession], n: int
) -> None:
    lp, payload = await scenario(committed)
    responses = await submit_at_once(settings, committed, lp, payload, n)
    assert outcome(responses) == (1, n - 1)
    assert await live_count(committed) == 1


async def test_the_unique_index_holds_even_without_the_lock(
    settings: Settings, committed: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    begin = DeclarationWriteRepository.begin_submission

    async def no_lock(self: DeclarationWriteRepository, *args: Any, **kwargs: Any) -> uuid.UUID:
        return await begin(self, *args, **{**kwargs, "slot_key": None})

    monkeypatch.setattr(DeclarationWriteRepository, "begin_submission", no_lock)
    lp, payload = await scenario(committed)
    responses = await submit_at_once(settings, committed, lp, payload, 10)
    assert outcome(responses) == (1, 9)
    assert await live_count(committed) == 1
