"""ECF participant actions (defer, resume, withdraw, change-schedule) in v1, v2 and v3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import ecf_actions as rules
from app.models import (
    InductionRecord,
    ParticipantProfileSchedule,
    ParticipantProfileState,
)
from tests import factories as f

VERSIONS = ("v1", "v2", "v3")


def body(kind: str, **attributes: Any) -> dict[str, Any]:
    return {"data": {"type": f"participant-{kind}", "attributes": attributes}}


def url(version: str, participant_id: str, action: str) -> str:
    return f"/api/{version}/participants/ecf/{participant_id}/{action}"


def errors(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return [(e["title"], e["detail"]) for e in response.json()["errors"]]


async def setup(session: AsyncSession, **values: Any) -> tuple[f.Provider, f.Participant]:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, person_=await f.person(session, trn=None), **values)
    return lp, p


def training_status(version: str, data: dict[str, Any]) -> str:
    if version == "v3":
        return str(data["attributes"]["ecf_enrolments"][0]["training_status"])
    return str(data["attributes"]["training_status"])


@pytest.mark.parametrize("version", VERSIONS)
async def test_defer_resume_withdraw(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp, p = await setup(session)
    before = datetime.now(UTC) - timedelta(seconds=1)
    deferred = await client.put(
        url(version, p.id, "defer"),
        json=body("defer", reason="career-break", course_identifier="ecf-induction"),
        headers=lp.headers,
    )
    assert deferred.status_code == 200, deferred.text
    assert deferred.json()["data"]["id"] == p.id
    assert training_status(version, deferred.json()["data"]) == "deferred"
    if version == "v3":
        deferral = deferred.json()["data"]["attributes"]["ecf_enrolments"][0]["deferral"]
        assert deferral["reason"] == "career-break"

    resumed = await client.put(
        url(version, p.id, "resume"),
        json=body("resume", course_identifier="ecf-induction"),
        headers=lp.headers,
    )
    assert training_status(version, resumed.json()["data"]) == "active"
    withdrawn = await client.put(
        url(version, p.id, "withdraw"),
        json=body("withdraw", reason="moved-school", course_identifier="ecf-induction"),
        headers=lp.headers,
    )
    assert training_status(version, withdrawn.json()["data"]) == "withdrawn"

    # The participant GETs and an updated_since sync from just before show the change.
    since = {"filter[updated_since]": before.isoformat().replace("+00:00", "Z")}
    listed = await client.get(f"/api/{version}/participants/ecf", params=since, headers=lp.headers)
    assert [d["id"] for d in listed.json()["data"]] == [p.id]
    assert training_status(version, listed.json()["data"][0]) == "withdrawn"

    states = (
        await session.execute(
            select(ParticipantProfileState.state, ParticipantProfileState.reason)
            .where(ParticipantProfileState.participant_profile_id == p.profile.id)
            .order_by(ParticipantProfileState.created_at)
        )
    ).all()
    assert [tuple(s) for s in states] == [
        ("deferred", "career-break"),
        ("active", None),
        ("withdrawn", "moved-school"),
    ]
    await session.refresh(p.profile)
    assert p.profile.training_status == "withdrawn"
    records = await session.execute(
        select(InductionRecord.induction_status, InductionRecord.training_status, InductionRecord.end_date)
        .where(InductionRecord.participant_profile_id == p.profile.id)
        .order_by(InductionRecord.created_at, InductionRecord.start_date)
    )
    history = [(status, training, end is not None) for status, training, end in records]
    assert history[0] == ("changed", "active", True)
    assert history[-1] == ("active", "withdrawn", False)
    assert len(history) == 4


async def test_v1_legacy_routes(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await setup(session)
    response = await client.put(
        f"/api/v1/participants/{p.id}/defer",
        json=body("defer", reason="other", course_identifier="ecf-induction"),
        headers=lp.headers,
    )
    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["training_status"] == "deferred"


async def test_future_record_changes_in_place(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await setup(session, start_date=datetime.now(UTC) + timedelta(days=10))
    response = await client.put(
        url("v3", p.id, "defer"),
        json=body("defer", reason="other", course_identifier="ecf-induction"),
        headers=lp.headers,
    )
    assert response.status_code == 200
    count = len(
        (
            await session.execute(
                select(InductionRecord.id).where(InductionRecord.participant_profile_id == p.profile.id)
            )
        ).all()
    )
    assert count == 1
    await session.refresh(p.record)
    assert p.record.training_status == "deferred"


@pytest.mark.parametrize(
    ("action", "status", "message"),
    [
        ("defer", "deferred", rules.ALREADY_DEFERRED),
        ("defer", "withdrawn", rules.ALREADY_WITHDRAWN),
        ("withdraw", "withdrawn", rules.ALREADY_WITHDRAWN),
        ("resume", "active", rules.ALREADY_ACTIVE),
    ],
)
async def test_transitions_refused(
    client: httpx.AsyncClient, session: AsyncSession, action: str, status: str, message: str
) -> None:
    lp, p = await setup(session, training_status=status)
    reason = {"defer": "other", "withdraw": "other"}.get(action)
    attributes: dict[str, Any] = {"course_identifier": "ecf-induction"}
    if reason:
        attributes["reason"] = reason
    response = await client.put(url("v2", p.id, action), json=body(action, **attributes), headers=lp.headers)
    assert errors(response) == [("participant_profile", message)]


async def test_withdrawn_participant_can_resume(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await setup(session, training_status="withdrawn")
    response = await client.put(
        url("v3", p.id, "resume"), json=body("resume", course_identifier="ecf-induction"), headers=lp.headers
    )
    assert response.status_code == 200


async def test_validation_messages(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await setup(session)
    headers = lp.headers
    # blank reason on withdraw: both reason messages, joined
    response = await client.put(
        url("v1", p.id, "withdraw"), json=body("withdraw", course_identifier="ecf-induction"), headers=headers
    )
    assert errors(response) == [("reason", f"{rules.REASON_MISSING}, {rules.REASON_INVALID}")]
    # a reason from another list (NPQ's, or the removed started-in-error)
    for reason in ("started-in-error", "bereavement"):
        response = await client.put(
            url("v3", p.id, "withdraw"),
            json=body("withdraw", reason=reason, course_identifier="ecf-induction"),
            headers=headers,
        )
        assert errors(response) == [("reason", rules.REASON_INVALID)]
    # missing course identifier
    response = await client.put(url("v3", p.id, "defer"), json=body("defer", reason="other"), headers=headers)
    assert errors(response) == [
        ("course_identifier", f"{rules.COURSE_NOT_RECOGNISED}, {rules.COURSE_MISSING}")
    ]
    # the wrong course for this participant
    response = await client.put(
        url("v3", p.id, "resume"), json=body("resume", course_identifier="ecf-mentor"), headers=headers
    )
    assert errors(response) == [("course_identifier", rules.COURSE_NOT_RECOGNISED)]
    # unknown participant, and a non-id
    for unknown in (str(f.uuid.uuid4()), "not-an-id"):
        response = await client.put(
            url("v3", unknown, "defer"),
            json=body("defer", reason="other", course_identifier="ecf-induction"),
            headers=headers,
        )
        assert errors(response) == [("participant_id", rules.PARTICIPANT_NOT_RECOGNISED)]
    # defer checks the reason even when the participant is unknown
    response = await client.put(
        url("v3", str(f.uuid.uuid4()), "defer"),
        json=body("defer", course_identifier="ecf-induction"),
        headers=headers,
    )
    assert errors(response) == [
        ("participant_id", rules.PARTICIPANT_NOT_RECOGNISED),
        ("reason", f"{rules.REASON_MISSING}, {rules.REASON_INVALID}"),
    ]


async def test_other_providers_participant_is_not_recognised(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, p = await setup(session)
    other = await f.provider(session)
    response = await client.put(
        url("v3", p.id, "defer"),
        json=body("defer", reason="other", course_identifier="ecf-induction"),
        headers=other.headers,
    )
    assert errors(response) == [("participant_id", rules.PARTICIPANT_NOT_RECOGNISED)]


async def test_challenged_partnership_still_accepts_actions(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    prog = await f.programme(session, lp.lead_provider, 2022, challenged=True)
    p = await f.participant(
        session, lp.lead_provider, programme_=prog, person_=await f.person(session, trn=None)
    )
    response = await client.put(
        url("v3", p.id, "defer"),
        json=body("defer", reason="other", course_identifier="ecf-induction"),
        headers=lp.headers,
    )
    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["ecf_enrolments"] == []


async def test_retired_id_is_accepted(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await setup(session)
    survivor = await f.person(session, trn=None)
    retired_id = p.id
    p.person.identity.user_id = survivor.user.id  # merged into the survivor
    await session.flush()
    response = await client.put(
        url("v3", retired_id, "defer"),
        json=body("defer", reason="other", course_identifier="ecf-induction"),
        headers=lp.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"] == str(survivor.user.id)
    assert (await client.get(f"/api/v3/participants/ecf/{retired_id}", headers=lp.headers)).status_code == 404


async def test_malformed_bodies(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await setup(session)
    for payload in ({}, {"data": {}}, []):
        response = await client.put(url("v3", p.id, "defer"), json=payload, headers=lp.headers)
        assert response.status_code == 400
        assert response.json()["errors"][0]["detail"] == (
            "correct json data structure required. See API docs for reference"
        )
    response = await client.put(
        url("v3", p.id, "defer"),
        content=b"{not json",
        headers=lp.headers | {"content-type": "application/json"},
    )
    assert response.status_code == 400
    response = await client.put(url("v3", p.id, "resume"), json={"data": {"type": "x"}}, headers=lp.headers)
    assert errors(response)[0][0] == "course_identifier"


async def test_npq_only_provider_is_forbidden(client: httpx.AsyncClient, session: AsyncSession) -> None:
    _, p = await setup(session)
    npq = await f.provider(session, ecf=False, npq=True)
    response = await client.put(
        url("v3", p.id, "resume"), json=body("resume", course_identifier="ecf-induction"), headers=npq.headers
    )
    assert response.status_code == 403


# ---- change-schedule ---------------------------------------------------------------------------


async def schedulable(session: AsyncSession, **values: Any) -> tuple[f.Provider, f.Participant]:
    lp, p = await setup(session, **values)
    p.programme.school_cohort.default_induction_programme_id = p.programme.programme.id
    for year in (2022, 2023):
        for identifier in ("ecf-standard-september", "ecf-standard-january", "ecf-extended-january"):
            await f.schedule(session, year, identifier)
        await f.schedule(session, year, "ecf-replacement-september", schedule_type="mentor")
    await session.flush()
    return lp, p


@pytest.mark.parametrize("version", VERSIONS)
async def test_change_schedule(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp, p = await schedulable(session)
    response = await client.put(
        url(version, p.id, "change-schedule"),
        json=body(
            "change-schedule", schedule_identifier="ecf-extended-january", course_identifier="ecf-induction"
        ),
        headers=lp.headers,
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]["attributes"]
    shown = data["ecf_enrolments"][0] if version == "v3" else data
    assert shown["schedule_identifier"] == "ecf-extended-january"
    await session.refresh(p.profile)
    history = (
        (
            await session.execute(
                select(ParticipantProfileSchedule).where(
                    ParticipantProfileSchedule.participant_profile_id == p.profile.id
                )
            )
        )
        .scalars()
        .all()
    )
    assert [h.schedule_id for h in history] == [p.profile.schedule_id]


async def test_change_schedule_to_another_cohort(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await schedulable(session)
    target = await f.programme(session, lp.lead_provider, 2023, school_=p.programme.school)
    target.school_cohort.default_induction_programme_id = target.programme.id
    await session.flush()
    response = await client.put(
        url("v3", p.id, "change-schedule"),
        json=body(
            "change-schedule",
            schedule_identifier="ecf-standard-september",
            course_identifier="ecf-induction",
            cohort="2023",
        ),
        headers=lp.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["attributes"]["ecf_enrolments"][0]["cohort"] == "2023"
    await session.refresh(p.profile)
    assert p.profile.school_cohort_id == target.school_cohort.id


async def test_change_schedule_messages(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, p = await schedulable(session)

    async def change(**attributes: Any) -> httpx.Response:
        attributes.setdefault("course_identifier", "ecf-induction")
        return await client.put(
            url("v3", p.id, "change-schedule"), json=body("change-schedule", **attributes), headers=lp.headers
        )

    assert errors(await change()) == [("schedule_identifier", rules.SCHEDULE_INVALID)]
    assert errors(await change(schedule_identifier="ecf-nonsense")) == [
        ("schedule_identifier", rules.SCHEDULE_INVALID)
    ]
    assert errors(await change(schedule_identifier="ecf-standard-september")) == [
        ("schedule_identifier", rules.SAME_SCHEDULE)
    ]
    assert errors(await change(schedule_identifier="ecf-replacement-september")) == [
        ("schedule_identifier", rules.SCHEDULE_NOT_FOR_COURSE)
    ]
    # no partnership with the school for 2023
    assert errors(await change(schedule_identifier="ecf-standard-september", cohort="2023")) == [
        ("cohort", rules.NO_PARTNERSHIP)
    ]
    # a declaration outside the new schedule's windows; and a cohort change with declarations
    await f.declaration(session, p, lp, state="eligible", declaration_date=datetime(2022, 10, 1, tzinfo=UTC))
    assert errors(await change(schedule_identifier="ecf-standard-january")) == [
        ("schedule_identifier", rules.INVALIDATES_DECLARATIONS)
    ]
    target = await f.programme(session, lp.lead_provider, 2023, school_=p.programme.school)
    target.school_cohort.default_induction_programme_id = target.programme.id
    await session.flush()
    assert ("cohort", rules.COHORT_LOCKED) in errors(
        await change(schedule_identifier="ecf-standard-september", cohort="2023")
    )


async def test_change_schedule_of_withdrawn_participant(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, p = await schedulable(session, training_status="withdrawn")
    response = await client.put(
        url("v3", p.id, "change-schedule"),
        json=body(
            "change-schedule", schedule_identifier="ecf-extended-january", course_identifier="ecf-induction"
        ),
        headers=lp.headers,
    )
    assert errors(response) == [("participant_id", rules.WITHDRAWN_PARTICIPANT)]


async def test_mentor_may_take_a_replacement_schedule(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, p = await schedulable(session, profile_type="mentor")
    response = await client.put(
        url("v3", p.id, "change-schedule"),
        json=body(
            "change-schedule", schedule_identifier="ecf-replacement-september", course_identifier="ecf-mentor"
        ),
        headers=lp.headers,
    )
    assert response.status_code == 200, response.text
