"""Voiding declarations and the statement-driven transitions (eligible -> payable -> paid, clawbacks)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import declaration_lifecycle as lifecycle
from app.domain.errors import InvalidAction, NotFound
from app.models import DeclarationStateChange, ParticipantOutcome, Statement, StatementLineItem
from tests import factories as f

V = {v: f"/api/{v}/participant-declarations" for v in ("v1", "v2", "v3")}
V3 = V["v3"]


def attrs(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]["attributes"]
    return data


def invalid(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["title"] == "Invalid action"
    detail: str = error["detail"]
    return detail


async def statements(session: AsyncSession, lp: f.Provider, programme: str = "ecf") -> dict[str, Statement]:
    today = date.today()
    return {
        "paid": await f.statement(
            session, lp, state="paid", programme=programme, deadline_date=today - timedelta(days=60)
        ),
        "payable": await f.statement(
            session, lp, state="payable", programme=programme, deadline_date=today - timedelta(days=5)
        ),
        "open": await f.statement(session, lp, programme=programme, deadline_date=today + timedelta(days=20)),
    }


async def declared(
    session: AsyncSession, state: str, *, programme: str = "ecf"
) -> tuple[f.Provider, Any, dict[str, Statement]]:
    """A declaration in `state` with the line items that state implies."""
    if programme == "ecf":
        lp = await f.provider(session)
        s = await statements(session, lp)
        p = await f.participant(session, lp.lead_provider, person_=await f.person(session, trn=None))
        d = await f.declaration(session, p, lp, state=state)
    else:
        lp = await f.provider(session, ecf=False, npq=True)
        s = await statements(session, lp, "npq")
        n = await f.npq_participant(session, lp, person_=await f.person(session, trn=None))
        d = await f.declaration(
            session,
            n,  # type: ignore[arg-type]  # an NPQ participant has a person and a profile too
            lp,
            state=state,
            programme="npq",
            course_identifier="npq-headship",
            declaration_type="completed",
        )
    where = {"eligible": "open", "payable": "payable", "paid": "paid", "ineligible": "open"}
    if state in where:
        await f.line_item(session, s[where[state]], d, state)
    if state in ("awaiting_clawback", "clawed_back"):
        await f.line_item(session, s["paid"], d, "paid")
        await f.line_item(session, s["open"], d, state)
    return lp, d, s


@pytest.mark.parametrize("state", ["submitted", "eligible", "payable", "ineligible"])
async def test_voidable_states_become_voided_and_leave_their_statement(
    client: httpx.AsyncClient, session: AsyncSession, state: str
) -> None:
    lp, d, _ = await declared(session, state)
    result = attrs(await client.put(f"{V3}/{d.id}/void", headers=lp.headers))
    assert (result["state"], result["statement_id"], result["clawback_statement_id"]) == (
        "voided",
        None,
        None,
    )
    items = (
        await session.scalars(
            select(StatementLineItem.state).where(StatementLineItem.participant_declaration_id == d.id)
        )
    ).all()
    assert all(i == "voided" for i in items)
    history = (
        await session.scalars(
            select(DeclarationStateChange.state).where(
                DeclarationStateChange.participant_declaration_id == d.id
            )
        )
    ).all()
    assert history == ["voided"]


async def test_paid_is_clawed_back_on_the_next_output_statement(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, d, s = await declared(session, "paid")
    result = attrs(await client.put(f"{V3}/{d.id}/void", headers=lp.headers))
    assert result["state"] == "awaiting-clawback"
    assert (result["statement_id"], result["clawback_statement_id"]) == (str(s["paid"].id), str(s["open"].id))
    # v1 shows the dasherised state too
    v1 = attrs(await client.get(f"{V['v1']}/{d.id}", headers=lp.headers))
    assert (v1["state"], v1["voided"], v1["eligible_for_payment"]) == ("awaiting-clawback", False, False)


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("voided", lifecycle.ALREADY_VOIDED),
        ("awaiting_clawback", lifecycle.NOT_VOIDABLE),
        ("clawed_back", lifecycle.NOT_VOIDABLE),
    ],
)
async def test_states_that_cannot_be_voided(
    client: httpx.AsyncClient, session: AsyncSession, state: str, message: str
) -> None:
    lp, d, _ = await declared(session, state)
    for path in V.values():
        assert invalid(await client.put(f"{path}/{d.id}/void", headers=lp.headers)) == message


async def test_only_the_declaring_provider_may_void(client: httpx.AsyncClient, session: AsyncSession) -> None:
    old = await f.provider(session)
    new = await f.provider(session)
    p = await f.participant(session, old.lead_provider, induction_status="leaving", end_date=f.at(-3))
    await f.induction_record(
        session, p, await f.programme(session, new.lead_provider, 2022), start_date=f.at(-2)
    )
    d = await f.declaration(session, p, old, state="submitted")
    # The new provider can see it, but not void it.
    assert attrs(await client.get(f"{V3}/{d.id}", headers=new.headers))["state"] == "submitted"
    not_found = {"error": "Resource not Found"}
    for path in V.values():
        for ident in (d.id, "not-a-uuid", "00000000-0000-0000-0000-000000000000"):
            response = await client.put(f"{path}/{ident}/void", headers=new.headers)
            assert (response.status_code, response.json()) == (404, not_found)


async def test_void_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.put(f"{V3}/00000000-0000-0000-0000-000000000000/void")
    assert response.status_code == 401


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
async def test_voiding_an_npq_completed_records_a_voided_outcome(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp, d, _ = await declared(session, "eligible", programme="npq")
    session.add(
        ParticipantOutcome(participant_declaration_id=d.id, state="passed", completion_date=date(2022, 12, 1))
    )
    await session.flush()
    assert attrs(await client.get(f"{V[version]}/{d.id}", headers=lp.headers))["has_passed"] is True
    result = attrs(await client.put(f"{V[version]}/{d.id}/void", headers=lp.headers))
    assert (result["state"], result["has_passed"]) == ("voided", None)
    outcomes = (
        await session.scalars(
            select(ParticipantOutcome.state)
            .where(ParticipantOutcome.participant_declaration_id == d.id)
            .order_by(ParticipantOutcome.created_at)
        )
    ).all()
    assert outcomes == ["passed", "voided"]


# --- statement transitions ----------------------------------------------------------------------


async def test_statement_moves_to_payable_then_paid(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    today = date.today()
    statement = await f.statement(session, lp, deadline_date=today - timedelta(days=1))
    later = await f.statement(session, lp, deadline_date=today + timedelta(days=30))
    participants = [
        await f.participant(session, lp.lead_provider, person_=await f.person(session, trn=None))
        for _ in range(3)
    ]
    eligible = await f.declaration(session, participants[0], lp, state="eligible")
    await f.line_item(session, statement, eligible, "eligible")
    elsewhere = await f.declaration(session, participants[1], lp, state="eligible")
    await f.line_item(session, later, elsewhere, "eligible")
    clawback = await f.declaration(session, participants[2], lp, state="awaiting_clawback")
    await f.line_item(session, statement, clawback, "awaiting_clawback")

    payments = lifecycle.StatementPayments(session)
    with pytest.raises(InvalidAction):
        await payments.mark_payable(later.id, today)  # still open
    with pytest.raises(InvalidAction):
        await payments.mark_paid(statement.id, datetime.now(UTC))  # not payable yet
    with pytest.raises(NotFound):
        await payments.mark_payable(f.uuid.uuid4(), today)

    done = await payments.mark_due_payable(today)
    assert [(t.statement_id, t.declarations) for t in done if t.statement_id in (statement.id, later.id)] == [
        (statement.id, 1)
    ]
    assert attrs(await client.get(f"{V3}/{eligible.id}", headers=lp.headers))["state"] == "payable"
    assert attrs(await client.get(f"{V3}/{elsewhere.id}", headers=lp.headers))["state"] == "eligible"

    paid = await payments.mark_paid(statement.id, datetime.now(UTC))
    assert (paid.declarations, paid.clawbacks) == (1, 1)
    result = attrs(await client.get(f"{V3}/{eligible.id}", headers=lp.headers))
    assert (result["state"], result["statement_id"]) == ("paid", str(statement.id))
    assert attrs(await client.get(f"{V3}/{clawback.id}", headers=lp.headers))["state"] == "clawed-back"
    await session.refresh(statement)
    assert statement.state == "paid" and statement.marked_as_paid_at is not None
    shown = await client.get(f"/api/v3/statements/{statement.id}", headers=lp.headers)
    assert shown.json()["data"]["attributes"]["paid"] is True
    with pytest.raises(InvalidAction):
        await payments.mark_paid(statement.id, datetime.now(UTC))


async def test_uplift_is_paid_once_the_started_declaration_is_paid(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    today = date.today()
    statement = await f.statement(session, lp, deadline_date=today - timedelta(days=1))
    p = await f.participant(session, lp.lead_provider, person_=await f.person(session, trn=None))
    d = await f.declaration(session, p, lp, state="eligible", pupil_premium_uplift=True)
    await f.line_item(session, statement, d, "eligible")
    assert attrs(await client.get(f"{V3}/{d.id}", headers=lp.headers))["uplift_paid"] is False
    payments = lifecycle.StatementPayments(session)
    await payments.mark_payable(statement.id, today)
    await payments.mark_paid(statement.id, datetime.now(UTC))
    assert attrs(await client.get(f"{V3}/{d.id}", headers=lp.headers))["uplift_paid"] is True


def test_state_machine_table() -> None:
    assert lifecycle.can_transition("submitted", "eligible")
    assert lifecycle.can_transition("paid", "awaiting_clawback")
    assert not lifecycle.can_transition("paid", "voided")
    assert not lifecycle.can_transition("voided", "submitted")
    assert not lifecycle.can_transition("clawed_back", "voided")
