"""The audit log: a successful write leaves an event naming the actor (token, role, organisation),
the action, the target, the time and the request; a refused write leaves none; a write whose service
forgot to record one is still caught by the commit point's safety net."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import declarations as declarations_module
from app.domain.auth import issue_internal_token
from app.domain.enums import TokenScope
from app.repositories.tokens import TokenRepository
from tests import factories as f
from tests import factories_finance as ff
from tests import factories_npq as fn
from tests.api.test_declarations_submit import PATHS, ecf, open_statement, someone
from tests.conftest import TEST_HMAC_KEY


async def events(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(
            """SELECT occurred_at, actor_type, actor_token_id, actor_id, action, target_type, target_id,
                      details, request_id
                 FROM audit_events ORDER BY occurred_at, action"""
        )
    )
    return [dict(r) for r in rows.mappings().all()]


async def token_id(session: AsyncSession, lp: f.Provider) -> uuid.UUID:
    found = await session.scalar(
        text("SELECT id FROM api_tokens WHERE cpd_lead_provider_id = :id"), {"id": lp.cpd.id}
    )
    assert isinstance(found, uuid.UUID)
    return found


@pytest.mark.parametrize("version", ["v1", "v3"])
async def test_declaration_submit_and_void(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    await open_statement(session, lp)
    ect = await f.participant(session, lp.lead_provider, person_=await someone(session))
    before = await events(session)
    headers = {**lp.headers, "X-Request-Id": f"audit-{version}"}
    response = await client.post(PATHS[version], json=ecf(ect), headers=headers)
    assert response.status_code == 200, response.text
    declaration_id = response.json()["data"]["id"]
    voided = await client.put(f"{PATHS[version]}/{declaration_id}/void", headers=headers)
    assert voided.status_code == 200, voided.text

    new = (await events(session))[len(before) :]
    assert [(e["action"], e["target_type"], e["target_id"]) for e in new] == [
        ("declaration.submitted", "participant_declaration", declaration_id),
        ("declaration.voided", "participant_declaration", declaration_id),
    ]
    for event in new:
        assert event["actor_type"] == "lead_provider"
        assert event["actor_id"] == lp.cpd.id
        assert event["actor_token_id"] == await token_id(session, lp)
        assert event["request_id"] == f"audit-{version}"
        assert event["occurred_at"] is not None
    assert new[0]["details"] == {
        "participant_id": ect.id,
        "declaration_type": "started",
        "course_identifier": "ecf-induction",
    }


async def test_refused_writes_leave_no_event(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    ect = await f.participant(session, lp.lead_provider, person_=await someone(session))
    before = await events(session)
    refused = [
        await client.post(PATHS["v3"], json=ecf(ect, declaration_type="nonsense"), headers=lp.headers),
        await client.put(
            f"/api/v3/participants/ecf/{ect.id}/withdraw", json={"data": {}}, headers=lp.headers
        ),
        await client.put(f"{PATHS['v3']}/{uuid.uuid4()}/void", headers=lp.headers),
        await client.post(PATHS["v3"], content=b"{", headers=lp.headers),
    ]
    assert [r.status_code for r in refused] == [422, 400, 404, 400]
    assert await events(session) == before


async def test_participant_actions_and_npq_decisions(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session, npq=True)
    ect = await f.participant(session, lp.lead_provider, person_=await someone(session))
    withdrawn = await client.put(
        f"/api/v3/participants/ecf/{ect.id}/withdraw",
        json={
            "data": {
                "type": "participant-withdraw",
                "attributes": {"reason": "moved-school", "course_identifier": "ecf-induction"},
            }
        },
        headers=lp.headers,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    accepted_app = await fn.application(session, lp)
    rejected_app = await fn.application(session, lp, person_=await fn.person(session))
    assert (
        await client.post(f"/api/v3/npq-applications/{accepted_app.id}/accept", headers=lp.headers)
    ).status_code == 200
    assert (
        await client.post(f"/api/v1/npq-applications/{rejected_app.id}/reject", headers=lp.headers)
    ).status_code == 200
    recorded = {(e["action"], e["target_id"]) for e in await events(session)}
    assert ("participant.withdraw", str(ect.profile.id)) in recorded
    assert ("npq_application.accepted", str(accepted_app.id)) in recorded
    assert ("npq_application.rejected", str(rejected_app.id)) in recorded


async def test_internal_token_creation_is_recorded(session: AsyncSession) -> None:
    school = await f.school(session)
    await issue_internal_token(
        TokenRepository(session), TEST_HMAC_KEY, role=TokenScope.SCHOOL, school_id=school.id
    )
    (event,) = [e for e in await events(session) if e["action"] == "api_token.created"]
    assert event["actor_type"] == "system"  # outside a request and the CLI
    assert event["details"] == {"scope": "school", "school_id": str(school.id)}


async def test_the_commit_point_records_a_write_its_service_did_not(
    client: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Take the declaration service's own audit call away: the write is still recorded."""

    async def forgetful(*args: Any, **kwargs: Any) -> None:
        return None

    monkeypatch.setattr(declarations_module, "audit", forgetful)
    lp = await f.provider(session)
    await open_statement(session, lp)
    ect = await f.participant(session, lp.lead_provider, person_=await someone(session))
    response = await client.post(PATHS["v3"], json=ecf(ect), headers=lp.headers)
    assert response.status_code == 200, response.text
    (event,) = [e for e in await events(session) if e["action"].startswith("request.")]
    assert (event["action"], event["target_type"], event["target_id"]) == (
        "request.post",
        "route",
        "/api/v3/participant-declarations",
    )
    assert event["actor_id"] == lp.cpd.id


async def test_administrators_read_the_log(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    await open_statement(session, lp)
    ect = await f.participant(session, lp.lead_provider, person_=await someone(session))
    declared = await client.post(PATHS["v3"], json=ecf(ect), headers=lp.headers)
    declaration_id = declared.json()["data"]["id"]
    admin = await ff.internal_headers(session, TokenScope.ADMIN)
    url = "/api/internal/audit-events"
    listed = await client.get(
        url,
        params={"filter[target_id]": declaration_id, "filter[action]": "declaration.submitted"},
        headers=admin,
    )
    assert listed.status_code == 200, listed.text
    (item,) = listed.json()["data"]
    assert item["type"] == "audit-event"
    assert item["attributes"]["actor_id"] == str(lp.cpd.id)
    assert item["attributes"]["target_type"] == "participant_declaration"
    mine = await client.get(url, params={"filter[actor_id]": str(lp.cpd.id)}, headers=admin)
    assert [e["id"] for e in mine.json()["data"]] == [item["id"]]
    future = await client.get(url, params={"filter[since]": "2999-01-01T00:00:00Z"}, headers=admin)
    assert future.json()["data"] == []
    for bad in ({"filter[since]": "soon"}, {"filter[actor_id]": "someone"}):
        assert (await client.get(url, params=bad, headers=admin)).status_code == 400
    # Providers, finance users and schools may not read it.
    finance = await ff.internal_headers(session, TokenScope.FINANCE)
    for headers in (lp.headers, finance):
        assert (await client.get(url, headers=headers)).status_code == 403
    assert (await client.get(url)).status_code == 401
