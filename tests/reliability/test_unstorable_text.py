"""Text PostgreSQL cannot store (NUL) is the client's 400, wherever it reaches a statement first,
and nothing of the request is kept (not even the declaration attempts log)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.errors import UNSTORABLE_TEXT_DETAIL
from tests import factories as f
from tests.reliability.dataset import counts, estate

BAD_REQUEST = {"errors": [{"title": "Bad request", "detail": UNSTORABLE_TEXT_DETAIL}]}


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
@pytest.mark.parametrize(
    "field", ["declaration_type", "declaration_date", "course_identifier", "evidence_held"]
)
async def test_nul_in_a_declaration(
    client: httpx.AsyncClient, session: AsyncSession, version: str, field: str
) -> None:
    lp = await f.provider(session)
    ect = await f.participant(session, lp.lead_provider, person_=await f.person(session, trn=None))
    attributes = {
        "participant_id": ect.id,
        "declaration_type": "started",
        "declaration_date": "2022-10-01T10:00:00Z",
        "course_identifier": "ecf-induction",
        "evidence_held": "other",
    }
    body = {"data": {"type": "participant-declaration", "attributes": {**attributes, field: "a\u0000b"}}}
    before = await counts(session)
    response = await client.post(f"/api/{version}/participant-declarations", json=body, headers=lp.headers)
    assert (response.status_code, response.json()) == (400, BAD_REQUEST)
    assert await counts(session) == before


@pytest.mark.parametrize("programme", ["ecf", "npq"])
async def test_nul_in_a_schedule_identifier(
    client: httpx.AsyncClient, session: AsyncSession, programme: str
) -> None:
    a = await estate(session)
    participant = a.ecf_participant if programme == "ecf" else a.npq_participant
    course = "ecf-induction" if programme == "ecf" else "npq-headship"
    attributes = {"course_identifier": course, "schedule_identifier": "\u0000"}
    body = {"data": {"type": "participant-change-schedule", "attributes": attributes}}
    before = await counts(session)
    response = await client.put(
        f"/api/v3/participants/{programme}/{participant}/change-schedule",
        json=body,
        headers=a.provider.headers,
    )
    assert (response.status_code, response.json()) == (400, BAD_REQUEST)
    assert await counts(session) == before


async def test_nul_in_a_filter(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    response = await client.get(
        "/api/v3/statements", params={"filter[type]": "ecf\u0000"}, headers=lp.headers
    )
    assert (response.status_code, response.json()) == (400, BAD_REQUEST)
