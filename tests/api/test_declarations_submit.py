"""POST /api/vN/participant-declarations: validation order and messages, windows, states, statements."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import declaration_submission as rules
from app.models import (
    DeclarationStateChange,
    ParticipantDeclaration,
    ParticipantDeclarationAttempt,
    ParticipantOutcome,
    ParticipantProfile,
)
from tests import factories as f

PATHS = {v: f"/api/{v}/participant-declarations" for v in ("v1", "v2", "v3")}
V3 = PATHS["v3"]
# 2022 ecf-standard-september: started 2022-06-01 .. 2022-12-31, retained-1 2023-01-01 .. 2023-03-31.
STARTED_AT = "2022-10-01T10:00:00Z"


def body(**attributes: Any) -> dict[str, Any]:
    return {"data": {"type": "participant-declaration", "attributes": attributes}}


def ecf(participant: f.Participant, **overrides: Any) -> dict[str, Any]:
    course = "ecf-mentor" if participant.profile.profile_type == "mentor" else "ecf-induction"
    values = {
        "participant_id": participant.id,
        "declaration_type": "started",
        "declaration_date": STARTED_AT,
        "course_identifier": course,
    }
    return body(**(values | overrides))


def errors(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return [(e["title"], e["detail"]) for e in response.json()["errors"]]


def attributes(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data["attributes"]


async def open_statement(session: AsyncSession, lp: f.Provider, year: int = 2022, **values: Any) -> Any:
    today = date.today()
    return await f.statement(
        session,
        lp,
        year,
        deadline_date=values.pop("deadline_date", today + timedelta(days=30)),
        payment_date=values.pop("payment_date", today + timedelta(days=55)),
        **values,
    )


async def someone(session: AsyncSession) -> f.Person:
    """A person with a TRN of their own (a shared TRN makes declarations duplicates)."""
    return await f.person(session, trn=str(2_000_000 + f.n()))


async def setup_ect(session: AsyncSession, **values: Any) -> tuple[f.Provider, f.Participant]:
    lp = await f.provider(session)
    await open_statement(session, lp)
    values.setdefault("person_", await someone(session))
    return lp, await f.participant(session, lp.lead_provider, **values)


# --- success ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
async def test_eligible_ect_declaration_is_stored_and_attached(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session, "Example Institute")
    later_statement = await open_statement(
        session, lp, deadline_date=date.today() + timedelta(days=90), name="April 2027"
    )
    first = await open_statement(session, lp, name="January 2027")
    await open_statement(session, lp, output_fee=False, deadline_date=date.today() + timedelta(days=1))
    await f.statement(session, lp, deadline_date=date.today() - timedelta(days=1), name="Past")
    mentor = await f.participant(
        session, lp.lead_provider, profile_type="mentor", person_=await someone(session)
    )
    ect = await f.participant(
        session,
        lp.lead_provider,
        mentor=mentor.profile,
        programme_=mentor.programme,
        sparsity_uplift=True,
        person_=await someone(session),
        # delivery partner and mentor come from the placement that had started by the declaration date
        start_date=f.at(0).replace(year=2022, month=9, day=1),
    )
    response = await client.post(PATHS[version], json=ecf(ect), headers=lp.headers)
    attrs = attributes(response)
    assert attrs["participant_id"] == ect.id
    assert attrs["state"] == "eligible"
    assert attrs["declaration_date"] == STARTED_AT
    if version == "v1":
        assert attrs["eligible_for_payment"] is True and attrs["voided"] is False
    if version == "v3":
        assert attrs["statement_id"] == str(first.id) != str(later_statement.id)
        assert attrs["clawback_statement_id"] is None
        assert attrs["delivery_partner_id"] == str(ect.programme.delivery_partner.id)  # type: ignore[union-attr]
        assert attrs["mentor_id"] == mentor.id
        assert attrs["lead_provider_name"] == "Example Institute"
        assert attrs["uplift_paid"] is False  # only once paid
        assert attrs["evidence_held"] is None
    stored = await session.get(ParticipantDeclaration, response.json()["data"]["id"])
    assert stored is not None
    await session.refresh(stored)
    assert (stored.sparsity_uplift, stored.pupil_premium_uplift) == (True, False)
    states = (
        await session.scalars(
            select(DeclarationStateChange.state)
            .where(DeclarationStateChange.participant_declaration_id == stored.id)
            .order_by(DeclarationStateChange.created_at, DeclarationStateChange.state.desc())
        )
    ).all()
    assert sorted(states) == ["eligible", "submitted"]
    attempt = (
        await session.scalars(
            select(ParticipantDeclarationAttempt).where(
                ParticipantDeclarationAttempt.participant_declaration_id == stored.id
            )
        )
    ).one()
    assert attempt.declaration_date == STARTED_AT


async def test_not_yet_eligible_participant_is_submitted_without_a_statement(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, ect = await setup_ect(session, eligibility="manual_check", eligibility_reason="no_qts")
    attrs = attributes(await client.post(V3, json=ecf(ect), headers=lp.headers))
    assert (attrs["state"], attrs["statement_id"]) == ("submitted", None)


async def test_no_open_output_statement_is_a_clear_422(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    ect = await f.participant(session, lp.lead_provider, person_=await someone(session))
    response = await client.post(V3, json=ecf(ect), headers=lp.headers)
    assert errors(response) == [("cohort", rules.NO_OUTPUT_STATEMENT)]
    assert await session.scalar(select(func.count()).select_from(ParticipantDeclaration)) == 0


async def test_started_evidence_is_stored_unchecked_and_later_types_require_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, ect = await setup_ect(session)
    # v2 does not show evidence_held (v3 would echo a value its own schema does not list)
    response = await client.post(PATHS["v2"], json=ecf(ect, evidence_held="anything"), headers=lp.headers)
    stored = await session.get(ParticipantDeclaration, response.json()["data"]["id"])
    assert stored is not None and stored.evidence_held == "anything"
    retained = {"declaration_type": "retained-1", "declaration_date": "2023-02-01T00:00:00Z"}
    assert errors(await client.post(V3, json=ecf(ect, **retained), headers=lp.headers)) == [
        ("evidence_held", f"{rules.EVIDENCE_MISSING}, {rules.EVIDENCE_INVALID}")
    ]
    assert errors(
        await client.post(V3, json=ecf(ect, **retained, evidence_held="watched-a-video"), headers=lp.headers)
    ) == [("evidence_held", rules.EVIDENCE_INVALID)]
    attrs = attributes(
        await client.post(
            V3, json=ecf(ect, **retained, evidence_held="training-event-attended"), headers=lp.headers
        )
    )
    assert (attrs["declaration_type"], attrs["evidence_held"]) == ("retained-1", "training-event-attended")


# --- request shape ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
async def test_malformed_bodies(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp = await f.provider(session)
    bad_request = {"errors": [{"title": "Bad request", "detail": rules.BAD_JSON_STRUCTURE}]}
    for payload in ({}, {"data": {}}, {"data": None}, {"attributes": {}}, [], "x"):
        response = await client.post(PATHS[version], json=payload, headers=lp.headers)
        assert (response.status_code, response.json()) == (400, bad_request), payload
    response = await client.post(
        PATHS[version], content=b"{not json", headers=lp.headers | {"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()) == (400, bad_request)
    response = await client.post(
        PATHS[version], json={"data": {"type": "participant-declaration"}}, headers=lp.headers
    )
    assert errors(response) == [
        ("participant_id", rules.PARTICIPANT_NOT_RECOGNISED),
        ("declaration_date", rules.DATE_MISSING),
        ("declaration_type", rules.TYPE_MISSING),
    ]


async def test_unauthenticated(client: httpx.AsyncClient) -> None:
    response = await client.post(V3, json=body())
    assert (response.status_code, response.json()) == (401, {"error": "HTTP Token: Access denied"})


@pytest.mark.parametrize(
    ("declaration_date", "expected"),
    [
        ("2022-19-01T11:21:55Z", [rules.DATE_MISSING, rules.DATE_NOT_RFC3339]),
        ("not a date", [rules.DATE_MISSING, rules.DATE_NOT_RFC3339]),
        ("2022-10-01", [rules.DATE_NOT_RFC3339]),
        ("2022-10-01 08:46:29", [rules.DATE_NOT_RFC3339]),
        ("   ", [rules.DATE_MISSING]),
    ],
)
async def test_declaration_date_formats(
    client: httpx.AsyncClient, session: AsyncSession, declaration_date: str, expected: list[str]
) -> None:
    lp, ect = await setup_ect(session)
    response = await client.post(V3, json=ecf(ect, declaration_date=declaration_date), headers=lp.headers)
    assert errors(response) == [("declaration_date", ", ".join(expected))]


@pytest.mark.parametrize(
    "declaration_date", ["2022-10-01T10:00:00+01:00", "2022-10-01T10:00:00.123Z", "2022-10-01T10:00:00"]
)
async def test_rfc3339_variants_are_accepted(
    client: httpx.AsyncClient, session: AsyncSession, declaration_date: str
) -> None:
    lp, ect = await setup_ect(session)
    response = await client.post(V3, json=ecf(ect, declaration_date=declaration_date), headers=lp.headers)
    assert attributes(response)["state"] == "eligible"


async def test_non_string_values_are_read_as_text(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, _ = await setup_ect(session)
    response = await client.post(
        V3,
        json=body(participant_id=12, declaration_type="started", declaration_date=STARTED_AT),
        headers=lp.headers,
    )
    assert errors(response) == [("participant_id", rules.PARTICIPANT_NOT_RECOGNISED)]


# --- milestone windows and dates ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("declaration_type", "declaration_date", "expected"),
    [
        ("started", "2022-06-01T00:00:00Z", None),
        ("started", "2022-05-31T23:59:59Z", rules.BEFORE_MILESTONE),
        ("started", "2022-12-31T23:59:59Z", None),
        ("started", "2023-01-01T00:00:00Z", rules.AFTER_MILESTONE),
        ("retained-1", "2023-01-01T00:00:00Z", None),
        ("retained-1", "2023-04-01T00:00:00Z", rules.AFTER_MILESTONE),
    ],
)
async def test_standard_schedule_window_edges(
    client: httpx.AsyncClient,
    session: AsyncSession,
    declaration_type: str,
    declaration_date: str,
    expected: str | None,
) -> None:
    lp, ect = await setup_ect(session)
    payload = ecf(
        ect, declaration_type=declaration_type, declaration_date=declaration_date, evidence_held="other"
    )
    response = await client.post(V3, json=payload, headers=lp.headers)
    if expected is None:
        assert attributes(response)["declaration_type"] == declaration_type
    else:
        assert errors(response) == [("declaration_date", expected)]


async def test_non_standard_schedules_are_open_ended(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, ect = await setup_ect(session, schedule_identifier="ecf-extended-september")
    late = {"declaration_date": "2025-06-01T00:00:00Z", "evidence_held": "other"}
    assert attributes(await client.post(V3, json=ecf(ect, **late), headers=lp.headers))["state"] == "eligible"
    extended = ecf(ect, declaration_type="extended-1", **late)
    assert (
        attributes(await client.post(V3, json=extended, headers=lp.headers))["declaration_type"]
        == "extended-1"
    )
    early = ecf(
        ect, declaration_type="retained-1", declaration_date="2022-08-31T23:59:59Z", evidence_held="other"
    )
    assert errors(await client.post(V3, json=early, headers=lp.headers)) == [
        ("declaration_date", rules.BEFORE_MILESTONE)
    ]


async def test_type_outside_the_schedule(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, ect = await setup_ect(session)
    for declaration_type in ("extended-1", "retained-9"):
        payload = ecf(ect, declaration_type=declaration_type, evidence_held="other")
        assert errors(await client.post(V3, json=payload, headers=lp.headers)) == [
            ("declaration_type", rules.TYPE_NOT_IN_SCHEDULE)
        ]


async def test_future_dates_and_sandbox_time_travel(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    # A 2022 participant on a 2026-2027 non-standard window can only be declared "in the future".
    await open_statement(session, lp, deadline_date=date(2031, 1, 31), payment_date=date(2031, 2, 25))
    ect = await f.participant(
        session, lp.lead_provider, schedule_identifier="ecf-reduced-september", person_=await someone(session)
    )
    future = (date.today() + timedelta(days=400)).isoformat() + "T09:00:00Z"
    payload = ecf(ect, declaration_date=future)
    assert errors(await client.post(V3, json=payload, headers=lp.headers)) == [
        ("declaration_date", rules.DATE_IN_FUTURE)
    ]
    travel = {"X-With-Server-Date": (date.today() + timedelta(days=401)).isoformat() + "T00:00:00Z"}
    assert attributes(await client.post(V3, json=payload, headers=lp.headers | travel))["state"] == "eligible"


# --- participants and courses -------------------------------------------------------------------


async def test_unknown_and_malformed_participants(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, ect = await setup_ect(session)
    for participant_id in ("00000000-0000-0000-0000-000000000000", "abc", ""):
        response = await client.post(V3, json=ecf(ect, participant_id=participant_id), headers=lp.headers)
        assert errors(response) == [("participant_id", rules.PARTICIPANT_NOT_RECOGNISED)]


async def test_course_must_match_the_participant(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, ect = await setup_ect(session)
    response = await client.post(V3, json=ecf(ect, course_identifier="ecf-mentor"), headers=lp.headers)
    assert errors(response) == [("course_identifier", rules.COURSE_NOT_RECOGNISED)]
    response = await client.post(V3, json=ecf(ect, course_identifier="npq-headship"), headers=lp.headers)
    assert errors(response) == [("course_identifier", rules.COURSE_NOT_RECOGNISED)]


async def test_another_providers_participant_is_not_recognised(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, ect = await setup_ect(session)
    other = await f.provider(session)
    assert errors(await client.post(V3, json=ecf(ect), headers=other.headers)) == [
        ("participant_id", rules.PARTICIPANT_NOT_RECOGNISED)
    ]


async def test_retired_participant_id_declares_for_the_current_user(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, ect = await setup_ect(session)
    survivor = await f.person(session)
    retired_id = ect.id
    ect.person.identity.user_id = survivor.user.id
    await session.flush()
    attrs = attributes(await client.post(V3, json=ecf(ect, participant_id=retired_id), headers=lp.headers))
    assert attrs["participant_id"] == str(survivor.user.id)


# --- withdrawn and deferred ---------------------------------------------------------------------


async def test_withdrawn_participants_only_before_the_withdrawal(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, ect = await setup_ect(session)
    withdrawn_at = f.at(0).replace(year=2022, month=11, day=15, hour=10, minute=0, second=0, microsecond=0)
    await f.profile_state(session, ect, lp, "withdrawn", "moved-school", created_at=withdrawn_at)
    message = rules.WITHDRAWN.format(date="2022-11-15T10:00:00Z")
    for at in ("2022-11-15T10:00:00Z", "2022-12-01T00:00:00Z"):
        response = await client.post(V3, json=ecf(ect, declaration_date=at), headers=lp.headers)
        assert errors(response) == [("participant_id", message)]
    # Another provider's withdrawal does not count.
    other = await f.provider(session)
    await f.profile_state(
        session, ect, other, "withdrawn", "other", created_at=withdrawn_at.replace(month=10)
    )
    ok = await client.post(V3, json=ecf(ect, declaration_date="2022-11-15T09:59:59Z"), headers=lp.headers)
    assert attributes(ok)["state"] == "eligible"


async def test_resumed_and_deferred_participants_can_be_declared(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, ect = await setup_ect(session)
    withdrawn_at = f.at(0).replace(year=2022, month=9, day=1)
    await f.profile_state(session, ect, lp, "withdrawn", "other", created_at=withdrawn_at)
    await f.profile_state(session, ect, lp, "active", None, created_at=withdrawn_at.replace(day=2))
    assert attributes(await client.post(V3, json=ecf(ect), headers=lp.headers))["state"] == "eligible"
    deferred = await f.participant(
        session, lp.lead_provider, training_status="deferred", person_=await someone(session)
    )
    await f.profile_state(session, deferred, lp, "deferred", "bereavement", created_at=withdrawn_at)
    assert attributes(await client.post(V3, json=ecf(deferred), headers=lp.headers))["state"] == "eligible"


# --- duplicates ---------------------------------------------------------------------------------


async def test_resubmission_is_refused_until_the_first_is_voided(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, ect = await setup_ect(session)
    first = await client.post(V3, json=ecf(ect), headers=lp.headers)
    assert attributes(first)["state"] == "eligible"
    assert errors(await client.post(V3, json=ecf(ect), headers=lp.headers)) == [
        ("base", rules.ALREADY_DECLARED)
    ]
    void = await client.put(f"{V3}/{first.json()['data']['id']}/void", headers=lp.headers)
    assert attributes(void)["state"] == "voided"
    assert attributes(await client.post(V3, json=ecf(ect), headers=lp.headers))["state"] == "eligible"


async def test_duplicate_check_spans_providers_and_hides_later_checks(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    old, ect = await setup_ect(session)
    assert attributes(await client.post(V3, json=ecf(ect), headers=old.headers))["state"] == "eligible"
    new = await f.provider(session)
    # The new provider has no training record for this participant, but the duplicate wins.
    assert errors(await client.post(V3, json=ecf(ect), headers=new.headers)) == [
        ("base", rules.ALREADY_DECLARED)
    ]


async def test_same_trn_different_user_is_ineligible(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, first = await setup_ect(session)
    twin = await f.person(session, trn=first.person.teacher_profile.trn)
    second = await f.participant(session, lp.lead_provider, person_=twin)
    original = attributes(await client.post(V3, json=ecf(first), headers=lp.headers))
    response = await client.post(V3, json=ecf(second), headers=lp.headers)
    attrs = attributes(response)
    assert (attrs["state"], attrs["ineligible_for_funding_reason"], attrs["statement_id"]) == (
        "ineligible",
        "duplicate_declaration",
        None,
    )
    stored = await session.get(ParticipantDeclaration, response.json()["data"]["id"])
    assert stored is not None
    await session.refresh(stored)
    assert stored.superseded_by_id is not None and original["participant_id"] == first.id


async def test_failed_attempts_are_logged(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, ect = await setup_ect(session)
    response = await client.post(
        V3, json=ecf(ect, declaration_date="2030-01-01T00:00:00Z"), headers=lp.headers
    )
    assert response.status_code == 422
    logged = await session.scalar(
        select(func.count())
        .select_from(ParticipantDeclarationAttempt)
        .where(ParticipantDeclarationAttempt.user_id == ect.person.user.id)
    )
    assert logged == 1


# --- NPQ ----------------------------------------------------------------------------------------

NPQ_STARTED = "2022-11-01T10:00:00Z"


def npq(p: f.NpqParticipant, course: str = "npq-headship", **overrides: Any) -> dict[str, Any]:
    values = {
        "participant_id": p.id,
        "declaration_type": "started",
        "declaration_date": NPQ_STARTED,
        "course_identifier": course,
    }
    return body(**(values | overrides))


async def npq_setup(session: AsyncSession, **values: Any) -> tuple[f.Provider, f.NpqParticipant]:
    lp = await f.provider(session, ecf=False, npq=True)
    await open_statement(session, lp, programme="npq")
    values.setdefault("person_", await someone(session))
    return lp, await f.npq_participant(session, lp, **values)


async def test_npq_started_is_eligible_on_an_npq_statement(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, p = await npq_setup(session, targeted_delivery_funding_eligibility=True)
    attrs = attributes(await client.post(V3, json=npq(p), headers=lp.headers))
    assert (attrs["state"], attrs["delivery_partner_id"], attrs["mentor_id"]) == ("eligible", None, None)
    assert attrs["statement_id"] is not None and attrs["evidence_held"] is None


async def test_npq_not_funded_stays_submitted(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await npq_setup(session, eligible_for_funding=False)
    assert attributes(await client.post(V3, json=npq(p), headers=lp.headers))["state"] == "submitted"


async def test_npq_windows_are_open_ended_from_the_start(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, p = await npq_setup(session)
    early = npq(p, declaration_date="2022-09-30T23:59:59Z")
    assert errors(await client.post(V3, json=early, headers=lp.headers)) == [
        ("declaration_date", rules.BEFORE_MILESTONE)
    ]
    late = npq(p, declaration_type="retained-2", declaration_date="2025-06-01T00:00:00Z")
    assert attributes(await client.post(V3, json=late, headers=lp.headers))["state"] == "eligible"
    assert errors(await client.post(V3, json=npq(p, declaration_type="retained-3"), headers=lp.headers)) == [
        ("declaration_type", rules.TYPE_NOT_IN_SCHEDULE)
    ]


@pytest.mark.parametrize(("has_passed", "expected"), [(True, True), ("false", False)])
async def test_npq_completed_records_an_outcome(
    client: httpx.AsyncClient, session: AsyncSession, has_passed: Any, expected: bool
) -> None:
    lp, p = await npq_setup(session)
    response = await client.post(
        V3, json=npq(p, declaration_type="completed", has_passed=has_passed), headers=lp.headers
    )
    assert attributes(response)["has_passed"] is expected
    outcome = (
        await session.scalars(
            select(ParticipantOutcome).where(
                ParticipantOutcome.participant_declaration_id == response.json()["data"]["id"]
            )
        )
    ).one()
    assert (outcome.state, outcome.completion_date) == ("passed" if expected else "failed", date(2022, 11, 1))


@pytest.mark.parametrize("has_passed", [None, "", "yes", 1])
async def test_npq_completed_needs_has_passed(
    client: httpx.AsyncClient, session: AsyncSession, has_passed: Any
) -> None:
    lp, p = await npq_setup(session)
    payload = npq(p, declaration_type="completed", has_passed=has_passed)
    assert errors(await client.post(V3, json=payload, headers=lp.headers)) == [
        ("has_passed", rules.HAS_PASSED_INVALID)
    ]


async def test_ehco_completed_needs_no_has_passed(client: httpx.AsyncClient, session: AsyncSession) -> None:
    course = "npq-early-headship-coaching-offer"
    lp, p = await npq_setup(session, course_identifier=course, schedule_identifier="npq-ehco-june")
    payload = npq(p, course, declaration_type="completed", declaration_date="2023-07-01T00:00:00Z")
    attrs = attributes(await client.post(V3, json=payload, headers=lp.headers))
    assert (attrs["state"], attrs["has_passed"]) == ("eligible", None)


async def test_npq_course_and_contract_checks(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await npq_setup(session)
    # Another NPQ course the participant is not enrolled on with this provider.
    assert errors(await client.post(V3, json=npq(p, "npq-leading-teaching"), headers=lp.headers)) == [
        ("participant_id", rules.PARTICIPANT_NOT_RECOGNISED)
    ]
    uncontracted = await f.npq_participant(
        session, lp, course_identifier="npq-senior-leadership", contract=False, person_=await someone(session)
    )
    assert errors(
        await client.post(V3, json=npq(uncontracted, "npq-senior-leadership"), headers=lp.headers)
    ) == [("cohort", rules.NO_CONTRACT)]
    ecf_only = await f.provider(session)
    assert errors(await client.post(V3, json=npq(p), headers=ecf_only.headers)) == [
        ("participant_id", rules.PARTICIPANT_NOT_RECOGNISED)
    ]


# --- mentors ------------------------------------------------------------------------------------


async def test_mentor_completed_sets_and_void_clears_the_completion_date(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, mentor = await setup_ect(session, profile_type="mentor")
    payload = ecf(
        mentor, declaration_type="completed", declaration_date="2024-05-01T00:00:00Z", evidence_held="other"
    )
    response = await client.post(V3, json=payload, headers=lp.headers)
    assert attributes(response)["mentor_id"] is None

    async def completion() -> tuple[Any, Any]:
        row = (
            await session.execute(
                text(
                    "SELECT mentor_completion_date, mentor_completion_reason"
                    " FROM participant_profiles WHERE id = :id"
                ),
                {"id": mentor.profile.id},
            )
        ).one()
        return row[0], row[1]

    assert await completion() == (date(2024, 5, 1), "completed_declaration_received")
    await client.put(f"{V3}/{response.json()['data']['id']}/void", headers=lp.headers)
    assert await completion() == (None, None)
    assert await session.get(ParticipantProfile, mentor.profile.id) is not None
