"""Administrators confirm or change an ECF training record's funding eligibility: its `submitted`
declarations follow (eligible, on the next output statement; or ineligible), nothing else does."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests import factories as f
from tests import factories_npq as fn
from tests.internal import admin, audit_events, counts, data, doc, errors, stamp

TODAY = date.today()
LONG_AGO = datetime(2021, 1, 1, tzinfo=UTC)
TABLES = ("declaration_states", "statement_line_items", "ecf_participant_eligibilities", "audit_events")


def url(training_record_id: Any) -> str:
    return f"/api/internal/admin/training-records/{training_record_id}/eligibility"


def body(status: str, reason: str | None = None) -> dict[str, Any]:
    return doc("ecf-participant-eligibility", status=status, **({"reason": reason} if reason else {}))


async def declaration_row(session: AsyncSession, declaration_id: uuid.UUID) -> dict[str, Any]:
    row = (
        (
            await session.execute(
                text(
                    """SELECT d.state, d.updated_at,
                              array(SELECT s.state || ':' || coalesce(s.state_reason, '')
                                       FROM declaration_states s
                                     WHERE s.participant_declaration_id = d.id ORDER BY s.created_at, s.state)
                                AS history,
                              array(SELECT li.statement_id::text || ':' || li.state
                                       FROM statement_line_items li
                                     WHERE li.participant_declaration_id = d.id) AS items
                         FROM participant_declarations d WHERE d.id = :id"""
                ),
                {"id": declaration_id},
            )
        )
        .mappings()
        .one()
    )
    return dict(row)


async def setup(
    session: AsyncSession, eligibility: str | None = "manual_check"
) -> tuple[f.Provider, f.Participant]:
    lp = await f.provider(session)
    assert lp.lead_provider is not None
    participant = await f.participant(
        session, lp.lead_provider, 2022, eligibility=eligibility, eligibility_reason=None
    )
    return lp, participant


async def test_eligible_moves_submitted_declarations_onto_the_next_output_statement(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """End to end: a declaration submitted while eligibility was unconfirmed becomes eligible."""
    lp, participant = await setup(session)
    past = await f.statement(session, lp, 2022, deadline_date=TODAY - timedelta(days=1))
    later = await f.statement(session, lp, 2022, deadline_date=TODAY + timedelta(days=60))
    nxt = await f.statement(session, lp, 2022, deadline_date=TODAY + timedelta(days=20))
    await f.statement(session, lp, 2022, deadline_date=TODAY + timedelta(days=5), output_fee=False)
    submitted = await f.declaration(session, participant, lp, state="submitted")
    paid = await f.declaration(session, participant, lp, state="paid", declaration_type="retained-1")
    await f.line_item(session, past, paid, "paid")
    for row in (submitted.id, paid.id):
        await stamp(session, "participant_declarations", row, LONG_AGO)
    await stamp(session, "users", participant.person.user.id, LONG_AGO)

    before = data(await client.get(f"/api/v3/participant-declarations/{submitted.id}", headers=lp.headers))
    assert before["attributes"]["state"] == "submitted" and before["attributes"]["statement_id"] is None

    response = await client.put(
        url(participant.profile.id), json=body("eligible"), headers=await admin(session)
    )
    record = data(response)
    assert record["attributes"]["eligibility_status"] == "eligible"
    assert record["attributes"]["eligibility_reason"] == "none"
    assert response.json()["meta"]["declarations_moved"] == {"eligible": [str(submitted.id)]}

    moved = await declaration_row(session, submitted.id)
    assert moved["state"] == "eligible"
    assert moved["history"] == ["eligible:"]
    assert moved["items"] == [f"{nxt.id}:eligible"]
    assert moved["updated_at"] > LONG_AGO
    untouched = await declaration_row(session, paid.id)
    assert untouched["state"] == "paid" and untouched["updated_at"] == LONG_AGO
    assert later.id not in [i.split(":")[0] for i in moved["items"]]

    # Providers see it: the declaration is eligible on the statement, the participant fundable,
    # and both changes reach their updated_since syncs.
    shown = data(await client.get(f"/api/v3/participant-declarations/{submitted.id}", headers=lp.headers))
    assert shown["attributes"]["state"] == "eligible" and shown["attributes"]["statement_id"] == str(nxt.id)
    since = {"filter[updated_since]": "2021-06-01T00:00:00Z"}
    synced = data(await client.get("/api/v3/participant-declarations", headers=lp.headers, params=since))
    assert [d["id"] for d in synced] == [str(submitted.id)]
    participants = data(await client.get("/api/v3/participants/ecf", headers=lp.headers, params=since))
    assert [p["id"] for p in participants] == [str(participant.person.user.id)]
    assert participants[0]["attributes"]["ecf_enrolments"][0]["eligible_for_funding"] is True

    (event,) = await audit_events(session, "ecf_participant_eligibility.updated", participant.profile.id)
    assert event["details"]["status"] == "eligible"
    assert event["details"]["previous_status"] == "manual_check"
    assert event["details"]["declarations"] == {"eligible": [str(submitted.id)]}


async def test_without_an_open_output_statement_nothing_changes(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, participant = await setup(session)
    await f.statement(session, lp, 2022, deadline_date=TODAY - timedelta(days=1))
    submitted = await f.declaration(session, participant, lp, state="submitted")
    before = await counts(session, *TABLES)
    response = await client.put(
        url(participant.profile.id), json=body("eligible"), headers=await admin(session)
    )
    assert errors(response) == {
        "status": f"declaration {submitted.id} cannot become eligible: its provider has no open output "
        "statement for its cohort (load the statements first)"
    }
    assert await counts(session, *TABLES) == before
    assert (await declaration_row(session, submitted.id))["state"] == "submitted"
    status = (
        await session.execute(
            text("SELECT status FROM ecf_participant_eligibilities WHERE participant_profile_id = :id"),
            {"id": participant.profile.id},
        )
    ).scalar_one()
    assert status == "manual_check"


async def test_ineligible_moves_submitted_declarations_to_ineligible(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, participant = await setup(session, eligibility=None)
    statement = await f.statement(session, lp, 2022, deadline_date=TODAY + timedelta(days=20))
    submitted = await f.declaration(session, participant, lp, state="submitted")
    eligible = await f.declaration(session, participant, lp, state="eligible", declaration_type="retained-1")
    await f.line_item(session, statement, eligible, "eligible")

    response = await client.put(
        url(participant.profile.id), json=body("ineligible", "no_qts"), headers=await admin(session)
    )
    assert response.json()["meta"]["declarations_moved"] == {"ineligible": [str(submitted.id)]}
    moved = await declaration_row(session, submitted.id)
    assert (
        moved["state"] == "ineligible" and moved["history"] == ["ineligible:no_qts"] and moved["items"] == []
    )
    assert (await declaration_row(session, eligible.id))["state"] == "eligible"
    shown = data(await client.get(f"/api/v3/participant-declarations/{submitted.id}", headers=lp.headers))
    assert shown["attributes"]["state"] == "ineligible"
    participant_view = data(
        await client.get(f"/api/v3/participants/ecf/{participant.person.user.id}", headers=lp.headers)
    )
    assert participant_view["attributes"]["ecf_enrolments"][0]["eligible_for_funding"] is False


async def test_manual_check_moves_nothing(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, participant = await setup(session, eligibility="eligible")
    submitted = await f.declaration(session, participant, lp, state="submitted")
    response = await client.put(
        url(participant.profile.id), json=body("manual_check", "different_trn"), headers=await admin(session)
    )
    assert data(response)["attributes"]["eligibility_status"] == "manual_check"
    assert response.json()["meta"]["declarations_moved"] == {}
    assert (await declaration_row(session, submitted.id))["state"] == "submitted"


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"status": "ineligible"}, {"reason": "can't be blank for an ineligible participant"}),
        ({"status": "fundable"}, {"status": "must be one of: eligible, matched, manual_check, ineligible"}),
        ({"status": "eligible", "reason": "because"}, {"reason": (
            "must be one of: active_flags, previous_participation, previous_induction, no_qts, "
            "different_trn, duplicate_profile, none, no_induction, exempt_from_induction")}),
        ({}, {"status": "can't be blank"}),
    ],
)  # fmt: skip
async def test_bad_input_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, attributes: dict[str, Any], expected: dict[str, str]
) -> None:
    _, participant = await setup(session)
    before = await counts(session, *TABLES)
    response = await client.put(
        url(participant.profile.id),
        json=doc("ecf-participant-eligibility", **attributes),
        headers=await admin(session),
    )
    assert errors(response) == expected
    assert await counts(session, *TABLES) == before


async def test_npq_and_unknown_training_records(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session, ecf=False, npq=True)
    npq = await fn.accepted(session, lp, await fn.person(session))
    headers = await admin(session)
    assert errors(await client.put(url(npq.profile.id), json=body("eligible"), headers=headers)) == {
        "training_record_id": (
            "is an NPQ training record: its funding eligibility belongs to its NPQ application"
        )
    }
    for ident in (uuid.uuid4(), "nope"):
        assert (await client.put(url(ident), json=body("eligible"), headers=headers)).status_code == 404
