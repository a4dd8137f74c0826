"""NPQ participant actions (defer, resume, withdraw, change-schedule) in v1, v2 and v3."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain import ecf_actions as common
from app.domain import npq_actions as rules
from app.main import create_app
from app.models import NpqApplication, ParticipantProfile, ParticipantProfileSchedule, ParticipantProfileState
from app.settings import Settings
from tests import factories as f
from tests import factories_npq_participants as nf

VERSIONS = ("v1", "v2", "v3")
ACTIONS = ("defer", "resume", "withdraw", "change-schedule")


def body(kind: str, **attributes: Any) -> dict[str, Any]:
    return {"data": {"type": f"participant-{kind}", "attributes": attributes}}


def url(version: str, participant_id: str, action: str) -> str:
    return f"/api/{version}/participants/npq/{participant_id}/{action}"


def errors(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return [(e["title"], e["detail"]) for e in response.json()["errors"]]


def enrolment_of(version: str, data: dict[str, Any], course: str = "npq-headship") -> dict[str, Any]:
    """The enrolment for `course` in a v2/v3 participant (v1 has none)."""
    found: dict[str, Any] = next(
        e for e in data["attributes"]["npq_enrolments"] if e["course_identifier"] == course
    )
    return found


async def setup(
    session: AsyncSession, *, declared: bool = True, **values: Any
) -> tuple[f.Provider, nf.Enrolment]:
    """An NPQ provider's participant on npq-headship 2022 (autumn), with a started declaration."""
    lp = await nf.npq_provider(session)
    p = await nf.enrolment(session, lp, person_=await f.person(session, trn=None), **values)
    if declared:
        await nf.declaration(session, p, declaration_date=datetime(2022, 11, 1, tzinfo=UTC))
    return lp, p


async def states(session: AsyncSession, p: nf.Enrolment) -> list[tuple[str, str | None, uuid.UUID | None]]:
    rows = await session.execute(
        select(
            ParticipantProfileState.state,
            ParticipantProfileState.reason,
            ParticipantProfileState.cpd_lead_provider_id,
        )
        .where(ParticipantProfileState.participant_profile_id == p.participant.profile.id)
        .order_by(ParticipantProfileState.created_at)
    )
    return [(s, r, c) for s, r, c in rows]


# ---- defer / resume / withdraw ------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_defer_resume_withdraw(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp, p = await setup(session)
    # a second enrolment with the provider is shown too (the whole participant)
    await nf.enrolment(session, lp, 2023, "npq-leading-teaching", "npq-specialist-autumn", person_=p.person)

    deferred = await client.put(
        url(version, p.id, "defer"),
        json=body("defer", reason="career-break", course_identifier="npq-headship"),
        headers=lp.headers,
    )
    assert deferred.status_code == 200, deferred.text
    data = deferred.json()["data"]
    assert data["id"] == p.id and data["type"] == "npq-participant"
    if version == "v1":
        assert sorted(data["attributes"]["npq_courses"]) == ["npq-headship", "npq-leading-teaching"]
    else:
        assert enrolment_of(version, data)["training_status"] == "deferred"
        assert enrolment_of(version, data, "npq-leading-teaching")["training_status"] == "active"
    if version == "v3":
        deferral = enrolment_of(version, data)["deferral"]
        assert deferral["reason"] == "career-break"
        assert abs(datetime.fromisoformat(deferral["date"]) - datetime.now(UTC)) < timedelta(minutes=1)
        assert data["attributes"]["participant_id_changes"] == []

    resumed = await client.put(
        url(version, p.id, "resume"),
        json=body("resume", course_identifier="npq-headship"),
        headers=lp.headers,
    )
    assert resumed.status_code == 200, resumed.text
    if version != "v1":
        assert enrolment_of(version, resumed.json()["data"])["training_status"] == "active"

    withdrawn = await client.put(
        url(version, p.id, "withdraw"),
        json=body(
            "withdraw",
            reason="quality-of-programme-structure-not-suitable.",
            course_identifier="npq-headship",
        ),
        headers=lp.headers,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    if version != "v1":
        enrolment = enrolment_of(version, withdrawn.json()["data"])
        assert enrolment["training_status"] == "withdrawn"
    if version == "v3":
        assert enrolment["withdrawal"]["reason"] == "quality-of-programme-structure-not-suitable."
        assert enrolment["deferral"] is None

    assert await states(session, p) == [
        ("deferred", "career-break", lp.cpd.id),
        ("active", None, lp.cpd.id),
        ("withdrawn", "quality-of-programme-structure-not-suitable.", lp.cpd.id),
    ]
    await session.refresh(p.participant.profile)
    assert p.participant.profile.training_status == "withdrawn"
    shown = await client.get(f"/api/{version}/participants/npq/{p.id}", headers=lp.headers)
    assert shown.json()["data"] == withdrawn.json()["data"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("action", ACTIONS)
async def test_every_action_moves_updated_at(
    client: httpx.AsyncClient, session: AsyncSession, version: str, action: str
) -> None:
    lp, p = await setup(
        session,
        declared=action != "change-schedule",
        training_status="deferred" if action == "resume" else "active",
    )
    attributes: dict[str, Any] = {"course_identifier": "npq-headship"}
    if action in ("defer", "withdraw"):
        attributes["reason"] = "other"
    if action == "change-schedule":
        await f.schedule(session, 2022, "npq-leadership-spring")
        attributes["schedule_identifier"] = "npq-leadership-spring"
    later = datetime.now(UTC) + timedelta(days=3)
    since = {"filter[updated_since]": (later - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    path = f"/api/{version}/participants/npq"
    assert (await client.get(path, params=since, headers=lp.headers)).json()["data"] == []

    response = await client.put(
        url(version, p.id, action),
        json=body(action, **attributes),
        headers=lp.headers | {"X-With-Server-Date": later.strftime("%Y-%m-%dT%H:%M:%SZ")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["attributes"]["updated_at"] == later.strftime("%Y-%m-%dT%H:%M:%SZ")
    listed = await client.get(path, params=since, headers=lp.headers)
    assert [d["id"] for d in listed.json()["data"]] == [p.id]


@pytest.mark.parametrize(
    ("action", "status", "expected"),
    [
        ("defer", "deferred", [common.ALREADY_DEFERRED]),
        ("defer", "withdrawn", [common.ALREADY_WITHDRAWN]),
        ("withdraw", "withdrawn", [common.ALREADY_WITHDRAWN]),
        ("resume", "active", [common.ALREADY_ACTIVE]),
    ],
)
@pytest.mark.parametrize("version", VERSIONS)
async def test_transitions_refused(
    client: httpx.AsyncClient,
    session: AsyncSession,
    version: str,
    action: str,
    status: str,
    expected: list[str],
) -> None:
    lp, p = await setup(session, training_status=status)
    attributes: dict[str, Any] = {"course_identifier": "npq-headship"}
    if action in ("defer", "withdraw"):
        attributes["reason"] = "other"
    response = await client.put(
        url(version, p.id, action), json=body(action, **attributes), headers=lp.headers
    )
    assert errors(response) == [("participant_profile", ", ".join(expected))]
    assert await states(session, p) == []


@pytest.mark.parametrize("status", ("withdrawn", "deferred"))
async def test_resume_from_withdrawn_or_deferred(
    client: httpx.AsyncClient, session: AsyncSession, status: str
) -> None:
    lp, p = await setup(session, training_status=status)
    response = await client.put(
        url("v3", p.id, "resume"), json=body("resume", course_identifier="npq-headship"), headers=lp.headers
    )
    assert response.status_code == 200, response.text
    assert enrolment_of("v3", response.json()["data"])["training_status"] == "active"


async def test_deferred_participant_can_be_withdrawn(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, p = await setup(session, training_status="deferred")
    response = await client.put(
        url("v2", p.id, "withdraw"),
        json=body("withdraw", reason="other", course_identifier="npq-headship"),
        headers=lp.headers,
    )
    assert response.status_code == 200, response.text


async def test_defer_needs_a_declaration_of_any_kind(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, p = await setup(session, declared=False)

    async def defer() -> httpx.Response:
        return await client.put(
            url("v3", p.id, "defer"),
            json=body("defer", reason="other", course_identifier="npq-headship"),
            headers=lp.headers,
        )

    assert errors(await defer()) == [("participant_profile", rules.NO_DECLARATIONS_TO_DEFER)]
    # a voided retained-1 is enough
    await nf.declaration(session, p, declaration_type="retained-1", state="voided")
    assert (await defer()).status_code == 200


async def test_defer_messages_accumulate(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await setup(session, declared=False, training_status="deferred")
    response = await client.put(
        url("v1", p.id, "defer"),
        json=body("defer", reason="holiday", course_identifier="npq-headship"),
        headers=lp.headers,
    )
    assert errors(response) == [
        ("reason", common.REASON_INVALID),
        ("participant_profile", f"{common.ALREADY_DEFERRED}, {rules.NO_DECLARATIONS_TO_DEFER}"),
    ]


async def test_withdraw_needs_a_started_declaration(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await setup(session, declared=False)
    await nf.declaration(session, p, declaration_type="retained-1", state="eligible")

    async def withdraw() -> httpx.Response:
        return await client.put(
            url("v2", p.id, "withdraw"),
            json=body("withdraw", reason="other", course_identifier="npq-headship"),
            headers=lp.headers,
        )

    assert errors(await withdraw()) == [("participant_profile", rules.NO_STARTED_DECLARATION)]
    # a voided started declaration is enough
    await nf.declaration(session, p, declaration_type="started", state="voided")
    assert (await withdraw()).status_code == 200


async def test_withdraw_messages_accumulate(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await setup(session, declared=False, training_status="withdrawn")
    response = await client.put(
        url("v3", p.id, "withdraw"),
        json=body("withdraw", course_identifier="npq-headship"),
        headers=lp.headers,
    )
    assert errors(response) == [
        ("reason", f"{common.REASON_MISSING}, {common.REASON_INVALID}"),
        ("participant_profile", f"{common.ALREADY_WITHDRAWN}, {rules.NO_STARTED_DECLARATION}"),
    ]


@pytest.mark.parametrize("reason", rules.NPQ_WITHDRAW_REASONS)
async def test_every_npq_withdrawal_reason_is_accepted(
    client: httpx.AsyncClient, session: AsyncSession, reason: str
) -> None:
    lp, p = await setup(session)
    response = await client.put(
        url("v3", p.id, "withdraw"),
        json=body("withdraw", reason=reason, course_identifier="npq-headship"),
        headers=lp.headers,
    )
    assert response.status_code == 200, response.text
    assert enrolment_of("v3", response.json()["data"])["withdrawal"]["reason"] == reason


async def test_reason_lists(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await setup(session)
    assert "expected-commitment-unclear" in rules.NPQ_WITHDRAW_REASONS
    assert "started-in-error" in rules.NPQ_WITHDRAW_REASONS
    assert len(rules.NPQ_WITHDRAW_REASONS) == 17
    for reason in ("quality-of-programme-structure-not-suitable", "moved-school", "bereavement", ""):
        response = await client.put(
            url("v3", p.id, "withdraw"),
            json=body("withdraw", reason=reason, course_identifier="npq-headship"),
            headers=lp.headers,
        )
        expected = (
            f"{common.REASON_MISSING}, {common.REASON_INVALID}" if reason == "" else common.REASON_INVALID
        )
        assert errors(response) == [("reason", expected)]
    for defer_reason in ("other-reason", "moved-school", None):
        attributes: dict[str, Any] = {"course_identifier": "npq-headship"}
        if defer_reason is not None:
            attributes["reason"] = defer_reason
        response = await client.put(
            url("v2", p.id, "defer"), json=body("defer", **attributes), headers=lp.headers
        )
        expected = (
            common.REASON_INVALID if defer_reason else f"{common.REASON_MISSING}, {common.REASON_INVALID}"
        )
        assert errors(response) == [("reason", expected)]
    for reason in ("bereavement", "long-term-sickness", "parental-leave", "career-break", "other"):
        assert reason in rules.NPQ_DEFER_REASONS


# ---- common validations -------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_common_validations(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp, p = await setup(session)
    headers = lp.headers

    async def put(participant_id: str, action: str, **attributes: Any) -> list[tuple[str, str]]:
        response = await client.put(
            url(version, participant_id, action), json=body(action, **attributes), headers=headers
        )
        return errors(response)

    # missing course: both course messages, joined, in that order
    assert await put(p.id, "resume") == [
        ("course_identifier", f"{common.COURSE_NOT_RECOGNISED}, {common.COURSE_MISSING}")
    ]
    # an ECF course, or an unknown one, is not an NPQ training record
    for course in ("ecf-induction", "npq-nonsense"):
        assert await put(p.id, "resume", course_identifier=course) == [
            ("course_identifier", common.COURSE_NOT_RECOGNISED)
        ]
    # an NPQ course the participant does not take with this provider
    assert await put(p.id, "resume", course_identifier="npq-leading-teaching") == [
        ("participant_id", common.PARTICIPANT_NOT_RECOGNISED)
    ]
    # unknown participants, and ids that are not ids
    for unknown in (str(uuid.uuid4()), "not-an-id"):
        assert await put(unknown, "resume", course_identifier="npq-headship") == [
            ("participant_id", common.PARTICIPANT_NOT_RECOGNISED)
        ]
        # without a course only the "missing" message accompanies it
        assert await put(unknown, "resume") == [
            ("participant_id", common.PARTICIPANT_NOT_RECOGNISED),
            ("course_identifier", common.COURSE_MISSING),
        ]
        # defer checks its reason even then; withdraw does not
        assert await put(unknown, "defer", course_identifier="npq-headship") == [
            ("participant_id", common.PARTICIPANT_NOT_RECOGNISED),
            ("reason", f"{common.REASON_MISSING}, {common.REASON_INVALID}"),
        ]
        assert await put(unknown, "withdraw", course_identifier="npq-headship") == [
            ("participant_id", common.PARTICIPANT_NOT_RECOGNISED)
        ]
        assert await put(unknown, "change-schedule", course_identifier="npq-headship") == [
            ("participant_id", common.PARTICIPANT_NOT_RECOGNISED),
            ("schedule_identifier", common.SCHEDULE_INVALID),
        ]


async def test_an_ecf_participant_is_not_an_npq_one(client: httpx.AsyncClient, session: AsyncSession) -> None:
    both = await f.provider(session, npq=True)
    ect = await f.participant(session, both.lead_provider)
    response = await client.put(
        url("v3", ect.id, "resume"),
        json=body("resume", course_identifier="ecf-induction"),
        headers=both.headers,
    )
    assert errors(response) == [("course_identifier", common.COURSE_NOT_RECOGNISED)]
    response = await client.put(
        url("v3", ect.id, "resume"),
        json=body("resume", course_identifier="npq-headship"),
        headers=both.headers,
    )
    assert errors(response) == [("course_identifier", common.COURSE_NOT_RECOGNISED)]


async def test_another_providers_participant_is_not_recognised(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, p = await setup(session)
    other = await nf.npq_provider(session)
    for action, attributes in (
        ("defer", {"reason": "other"}),
        ("resume", {}),
        ("withdraw", {"reason": "other"}),
        ("change-schedule", {"schedule_identifier": "npq-leadership-spring"}),
    ):
        response = await client.put(
            url("v3", p.id, action),
            json=body(action, course_identifier="npq-headship", **attributes),
            headers=other.headers,
        )
        assert errors(response) == [("participant_id", common.PARTICIPANT_NOT_RECOGNISED)]
    assert await states(session, p) == []


async def test_retired_id_is_accepted(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await setup(session)
    survivor = await f.person(session, trn=None)
    retired_id = p.id
    p.person.identity.user_id = survivor.user.id  # merged into the survivor
    await session.flush()
    response = await client.put(
        url("v3", retired_id, "defer"),
        json=body("defer", reason="other", course_identifier="npq-headship"),
        headers=lp.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"] == str(survivor.user.id)
    assert enrolment_of("v3", response.json()["data"])["training_status"] == "deferred"
    assert (await client.get(f"/api/v3/participants/npq/{retired_id}", headers=lp.headers)).status_code == 404


async def test_malformed_bodies(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await setup(session)
    bad_request = {
        "errors": [
            {
                "title": "Bad request",
                "detail": "correct json data structure required. See API docs for reference",
            }
        ]
    }
    for action in ACTIONS:
        payloads: list[Any] = [{}, {"data": {}}, [], {"data": None}]
        for payload in payloads:
            response = await client.put(url("v1", p.id, action), json=payload, headers=lp.headers)
            assert response.status_code == 400
            assert response.json() == bad_request
    response = await client.put(
        url("v3", p.id, "defer"),
        content=b"{not json",
        headers=lp.headers | {"content-type": "application/json"},
    )
    assert response.status_code == 400 and response.json() == bad_request
    response = await client.put(url("v3", p.id, "resume"), json={"data": {"type": "x"}}, headers=lp.headers)
    assert errors(response)[0][0] == "course_identifier"


@pytest.mark.parametrize("action", ACTIONS)
async def test_tokens(client: httpx.AsyncClient, session: AsyncSession, action: str) -> None:
    _, p = await setup(session)
    ecf_only = await f.provider(session)
    payload = body(action, course_identifier="npq-headship")
    assert (await client.put(url("v2", p.id, action), json=payload)).status_code == 401
    forbidden = await client.put(url("v2", p.id, action), json=payload, headers=ecf_only.headers)
    assert forbidden.status_code == 403 and forbidden.content == b""


# ---- change-schedule ----------------------------------------------------------------------------


async def schedulable(session: AsyncSession, **values: Any) -> tuple[f.Provider, nf.Enrolment]:
    lp, p = await setup(session, declared=False, **values)
    for year in (2022, 2023):
        for identifier in ("npq-leadership-autumn", "npq-leadership-spring", "npq-specialist-autumn"):
            await f.schedule(session, year, identifier)
    return lp, p


async def change(
    client: httpx.AsyncClient, lp: f.Provider, p: nf.Enrolment, version: str = "v3", **attributes: Any
) -> httpx.Response:
    attributes.setdefault("course_identifier", "npq-headship")
    return await client.put(
        url(version, p.id, "change-schedule"), json=body("change-schedule", **attributes), headers=lp.headers
    )


async def schedule_history(session: AsyncSession, p: nf.Enrolment) -> list[uuid.UUID]:
    rows = await session.execute(
        select(ParticipantProfileSchedule.schedule_id)
        .where(ParticipantProfileSchedule.participant_profile_id == p.participant.profile.id)
        .order_by(ParticipantProfileSchedule.created_at)
    )
    return list(rows.scalars())


@pytest.mark.parametrize("version", VERSIONS)
async def test_change_schedule(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp, p = await schedulable(session)
    # a declaration on or after the spring start fits the new schedule
    await nf.declaration(session, p, declaration_date=datetime(2023, 1, 2, tzinfo=UTC), state="eligible")
    response = await change(client, lp, p, version, schedule_identifier="npq-leadership-spring")
    assert response.status_code == 200, response.text
    if version != "v1":
        enrolment = enrolment_of(version, response.json()["data"])
        assert enrolment["schedule_identifier"] == "npq-leadership-spring"
        assert enrolment["cohort"] == "2022"
    spring = await f.schedule(session, 2022, "npq-leadership-spring")
    assert await schedule_history(session, p) == [spring.id]
    await session.refresh(p.participant.profile)
    assert p.participant.profile.schedule_id == spring.id


async def test_change_schedule_to_another_cohort(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await schedulable(session)
    await f.npq_contract(session, lp, 2023, "npq-headship")
    # voided declarations do not pin the cohort
    await nf.declaration(session, p, state="voided", declaration_date=datetime(2022, 10, 2, tzinfo=UTC))
    response = await change(client, lp, p, schedule_identifier="npq-leadership-autumn", cohort="2023")
    assert response.status_code == 200, response.text
    enrolment = enrolment_of("v3", response.json()["data"])
    assert (enrolment["schedule_identifier"], enrolment["cohort"]) == ("npq-leadership-autumn", "2023")
    cohort_2023 = await f.cohort(session, 2023)
    profile = await session.get(ParticipantProfile, p.participant.profile.id, populate_existing=True)
    application = await session.get(NpqApplication, p.participant.profile.id, populate_existing=True)
    assert profile is not None and application is not None
    assert profile.cohort_id == cohort_2023.id
    assert application.cohort_id == cohort_2023.id
    # back to 2022 with a cohort given as a number
    response = await change(client, lp, p, schedule_identifier="npq-leadership-spring", cohort=2022)
    assert response.status_code == 200, response.text
    assert enrolment_of("v3", response.json()["data"])["cohort"] == "2022"


async def test_change_schedule_by_alias(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await schedulable(session)
    spring = await f.schedule(session, 2022, "npq-leadership-spring")
    spring.identifier_alias = "npq-leadership-january"
    await session.flush()
    response = await change(client, lp, p, schedule_identifier="npq-leadership-january")
    assert response.status_code == 200, response.text
    assert enrolment_of("v3", response.json()["data"])["schedule_identifier"] == "npq-leadership-spring"


@pytest.mark.parametrize("version", VERSIONS)
async def test_change_schedule_messages(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp, p = await schedulable(session)

    async def refused(**attributes: Any) -> list[tuple[str, str]]:
        return errors(await change(client, lp, p, version, **attributes))

    assert await refused() == [("schedule_identifier", common.SCHEDULE_INVALID)]
    assert await refused(schedule_identifier="  ") == [("schedule_identifier", common.SCHEDULE_INVALID)]
    # no contract for the target cohort (2023), or no such cohort
    assert await refused(schedule_identifier="npq-leadership-autumn", cohort="2023") == [
        ("cohort", rules.NO_CONTRACT_FOR_COHORT)
    ]
    assert await refused(schedule_identifier="npq-leadership-autumn", cohort="1999") == [
        ("cohort", rules.NO_CONTRACT_FOR_COHORT)
    ]
    # a blank schedule is reported alone: the contract check waits for it
    assert await refused(cohort="2023") == [("schedule_identifier", common.SCHEDULE_INVALID)]
    # an unknown schedule (here and in the reference this is only judged once all else holds)
    assert await refused(schedule_identifier="npq-leadership-summer") == [
        ("schedule_identifier", common.SCHEDULE_INVALID)
    ]
    assert await refused(schedule_identifier="npq-leadership-autumn") == [
        ("schedule_identifier", common.SAME_SCHEDULE)
    ]
    assert await refused(schedule_identifier="npq-specialist-autumn") == [
        ("schedule_identifier", common.SCHEDULE_NOT_FOR_COURSE)
    ]
    # a non-numeric cohort falls back to the current one
    assert await refused(schedule_identifier="npq-leadership-autumn", cohort="soon") == [
        ("schedule_identifier", common.SAME_SCHEDULE)
    ]
    assert await schedule_history(session, p) == []


async def test_change_schedule_with_declarations(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await schedulable(session)
    await f.npq_contract(session, lp, 2023, "npq-headship")
    started = await nf.declaration(
        session, p, state="submitted", declaration_date=datetime(2022, 12, 31, 23, 59, tzinfo=UTC)
    )
    # the started date is before the spring schedule starts
    assert errors(await change(client, lp, p, schedule_identifier="npq-leadership-spring")) == [
        ("schedule_identifier", common.INVALIDATES_DECLARATIONS)
    ]
    # exactly midnight of the new start date still invalidates (on or before the start)
    started.declaration_date = datetime(2023, 1, 1, tzinfo=UTC)
    await session.flush()
    assert errors(await change(client, lp, p, schedule_identifier="npq-leadership-spring")) == [
        ("schedule_identifier", common.INVALIDATES_DECLARATIONS)
    ]
    # a live declaration pins the cohort (and fits 2023's autumn window, so only that is said)
    started.declaration_date = datetime(2023, 10, 15, tzinfo=UTC)
    await session.flush()
    assert errors(
        await change(client, lp, p, schedule_identifier="npq-leadership-autumn", cohort="2023")
    ) == [("cohort", common.COHORT_LOCKED)]
    # several at once, in order: invalidating, wrong family, cohort
    started.declaration_date = datetime(2022, 10, 15, tzinfo=UTC)
    await session.flush()
    await f.schedule(session, 2023, "npq-specialist-autumn")
    assert errors(
        await change(client, lp, p, schedule_identifier="npq-specialist-autumn", cohort="2023")
    ) == [
        (
            "schedule_identifier",
            f"{common.INVALIDATES_DECLARATIONS}, {common.SCHEDULE_NOT_FOR_COURSE}",
        ),
        ("cohort", common.COHORT_LOCKED),
    ]
    # voided and ineligible declarations do not count
    started.state = "voided"
    await session.flush()
    response = await change(client, lp, p, schedule_identifier="npq-leadership-autumn", cohort="2023")
    assert response.status_code == 200, response.text


async def test_declaration_just_after_the_new_start_fits(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, p = await schedulable(session)
    await nf.declaration(session, p, declaration_date=datetime(2023, 1, 1, 0, 0, 1, tzinfo=UTC))
    response = await change(client, lp, p, schedule_identifier="npq-leadership-spring")
    assert response.status_code == 200, response.text


async def test_missing_milestone_invalidates(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await schedulable(session)
    await nf.declaration(
        session, p, declaration_type="retained-2", declaration_date=datetime(2023, 6, 1, tzinfo=UTC)
    )
    # a leadership schedule without milestones: the retained-2 has nowhere to go
    await f.schedule(session, 2022, "npq-leadership-bespoke", schedule_type="npq_leadership")
    assert errors(await change(client, lp, p, schedule_identifier="npq-leadership-bespoke")) == [
        ("schedule_identifier", common.INVALIDATES_DECLARATIONS)
    ]


async def test_change_schedule_of_withdrawn_participant(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, p = await schedulable(session, training_status="withdrawn")
    assert errors(await change(client, lp, p, schedule_identifier="npq-leadership-spring")) == [
        ("participant_id", common.WITHDRAWN_PARTICIPANT)
    ]
    # an unknown schedule is not judged while anything else fails
    assert errors(await change(client, lp, p, schedule_identifier="npq-leadership-summer")) == [
        ("participant_id", common.WITHDRAWN_PARTICIPANT)
    ]
    # a deferred participant may change schedule
    p.participant.profile.training_status = "deferred"
    await session.flush()
    assert (await change(client, lp, p, schedule_identifier="npq-leadership-spring")).status_code == 200


# ---- concurrency --------------------------------------------------------------------------------


async def test_concurrent_actions_queue_on_the_training_record(
    committed: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with committed() as session:
        lp, p = await setup(session)
        await session.commit()
    app = create_app(settings, sessionmaker=committed)
    payload = body("withdraw", reason="other", course_identifier="npq-headship")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        responses = await asyncio.gather(
            *(client.put(url("v3", p.id, "withdraw"), json=payload, headers=lp.headers) for _ in range(4))
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 422, 422, 422], [r.text for r in responses]
    assert all(
        r.json() == {"errors": [{"title": "participant_profile", "detail": common.ALREADY_WITHDRAWN}]}
        for r in responses
        if r.status_code == 422
    )
    async with committed() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM participant_profile_states WHERE participant_profile_id = :id"),
            {"id": p.participant.profile.id},
        )
    assert count == 1
