"""Administrators record (or clear) the date an ECT completed induction; v3 shows it as
`induction_end_date` and providers' syncs pick the change up."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests import factories as f
from tests import factories_npq as fn
from tests.internal import admin, audit_events, counts, data, doc, errors, stamp

LONG_AGO = datetime(2021, 1, 1, tzinfo=UTC)
SINCE = {"filter[updated_since]": "2021-06-01T00:00:00Z"}


def url(training_record_id: Any) -> str:
    return f"/api/internal/admin/training-records/{training_record_id}/induction-completion"


def body(**attributes: Any) -> dict[str, Any]:
    return doc("induction-completion", **attributes)


async def test_recording_and_clearing_induction_completion(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    assert lp.lead_provider is not None
    ect = await f.participant(session, lp.lead_provider, 2022, induction_start_date=date(2022, 9, 1))
    await stamp(session, "users", ect.person.user.id, LONG_AGO)
    headers = await admin(session)

    record = data(
        await client.put(
            url(ect.profile.id), json=body(induction_completion_date="2024-07-19"), headers=headers
        )
    )
    assert record["attributes"]["induction_completion_date"] == "2024-07-19"
    shown = data(await client.get("/api/v3/participants/ecf", headers=lp.headers, params=SINCE))
    assert [p["id"] for p in shown] == [ect.id]
    assert shown[0]["attributes"]["ecf_enrolments"][0]["induction_end_date"] == "2024-07-19"
    (event,) = await audit_events(session, "participant_profile.induction_completed", ect.profile.id)
    assert event["details"] == {"induction_completion_date": "2024-07-19"}

    cleared = data(
        await client.put(url(ect.profile.id), json=body(induction_completion_date=None), headers=headers)
    )
    assert cleared["attributes"]["induction_completion_date"] is None
    shown = data(await client.get(f"/api/v3/participants/ecf/{ect.id}", headers=lp.headers))
    assert shown["attributes"]["ecf_enrolments"][0]["induction_end_date"] is None


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({}, {"induction_completion_date": "can't be blank (send null to clear it)"}),
        ({"induction_completion_date": "19/07/2024"},
         {"induction_completion_date": "must be a date (YYYY-MM-DD)"}),
        ({"induction_completion_date": (date.today() + timedelta(days=2)).isoformat()},
         {"induction_completion_date": "can't be in the future"}),
        ({"induction_completion_date": "2022-08-31"},
         {"induction_completion_date": "can't be before the induction start date (2022-09-01)"}),
        ({"induction_completion_date": "2024-07-19", "reason": "x"}, {"reason": "is not a known attribute"}),
    ],
)  # fmt: skip
async def test_bad_dates_change_nothing(
    client: httpx.AsyncClient, session: AsyncSession, attributes: dict[str, Any], expected: dict[str, str]
) -> None:
    lp = await f.provider(session)
    ect = await f.participant(session, lp.lead_provider, 2022, induction_start_date=date(2022, 9, 1))
    headers = await admin(session)
    before = await counts(session, "audit_events")
    assert errors(await client.put(url(ect.profile.id), json=body(**attributes), headers=headers)) == expected
    assert await counts(session, "audit_events") == before


async def test_only_an_ects_training_record(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session, npq=True)
    mentor = await f.participant(session, lp.lead_provider, 2022, profile_type="mentor")
    npq = await fn.accepted(session, lp, await fn.person(session))
    headers = await admin(session)
    for profile_id in (mentor.profile.id, npq.profile.id):
        response = await client.put(
            url(profile_id), json=body(induction_completion_date="2024-07-19"), headers=headers
        )
        assert errors(response) == {
            "training_record_id": "is not an ECT's training record: only ECTs complete induction"
        }
    for ident in (uuid.uuid4(), "x"):
        response = await client.put(
            url(ident), json=body(induction_completion_date="2024-07-19"), headers=headers
        )
        assert response.status_code == 404
