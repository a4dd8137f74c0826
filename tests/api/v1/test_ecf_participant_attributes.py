"""v1/v2 ECF participants: one flat item per training record, and the CSV export."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.v1.serializers import ECF_PARTICIPANT_CSV_HEADER
from tests import factories as f
from tests.contract import assert_matches_spec

VERSIONS = ["v1", "v2"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_ect_attributes(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp = await f.provider(session)
    mentor = await f.participant(session, lp.lead_provider, profile_type="mentor")
    ect = await f.participant(
        session,
        lp.lead_provider,
        programme_=mentor.programme,
        mentor=mentor.profile,
        pupil_premium_uplift=True,
        schedule_identifier="ecf-standard-january",
        training_status="deferred",
    )
    path = f"/api/{version}/participants/ecf/{{id}}"
    response = await client.get(path.format(id=ect.id), headers=lp.headers)
    assert response.status_code == 200
    assert_matches_spec(version, "get", path, 200, response.json())
    data = response.json()["data"]
    assert data["id"] == ect.id and data["type"] == "participant"
    attributes = data["attributes"]
    assert list(attributes) == list(ECF_PARTICIPANT_CSV_HEADER[1:])
    assert attributes | {"updated_at": None} == {
        "email": ect.person.user.email,
        "full_name": ect.person.user.full_name,
        "mentor_id": mentor.id,
        "school_urn": ect.programme.school.urn,
        "participant_type": "ect",
        "cohort": "2022",
        "status": "active",
        "teacher_reference_number": "1234567",
        "teacher_reference_number_validated": True,
        "eligible_for_funding": True,
        "pupil_premium_uplift": True,
        "sparsity_uplift": False,
        "training_status": "deferred",
        "training_record_id": str(ect.profile.id),
        "schedule_identifier": "ecf-standard-january",
        "updated_at": None,
    }


@pytest.mark.parametrize(
    ("eligibility", "reason", "expected_eligible", "expected_validated"),
    [
        ("eligible", "none", True, True),
        ("ineligible", "no_qts", False, True),
        ("manual_check", "different_trn", None, False),
        ("matched", None, None, False),
        (None, None, None, False),
    ],
)
async def test_eligibility_and_trn_validation(
    client: httpx.AsyncClient,
    session: AsyncSession,
    eligibility: str | None,
    reason: str | None,
    expected_eligible: bool | None,
    expected_validated: bool,
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, eligibility=eligibility, eligibility_reason=reason)
    attributes = (await client.get(f"/api/v1/participants/ecf/{p.id}", headers=lp.headers)).json()["data"][
        "attributes"
    ]
    assert attributes["eligible_for_funding"] is expected_eligible
    assert attributes["teacher_reference_number_validated"] is expected_validated


async def test_trn_falls_back_to_validation_data_and_is_null_without_any(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    fallback = await f.participant(session, lp.lead_provider, person_=await f.person(session, trn=None))
    await f.validation_data(session, fallback, "7654321")
    none = await f.participant(session, lp.lead_provider, person_=await f.person(session, trn=None))
    by_id = {
        d["id"]: d["attributes"]
        for d in (await client.get("/api/v1/participants/ecf", headers=lp.headers)).json()["data"]
    }
    assert by_id[fallback.id]["teacher_reference_number"] == "7654321"
    assert by_id[none.id]["teacher_reference_number"] is None
    assert by_id[none.id]["teacher_reference_number_validated"] is None


@pytest.mark.parametrize(
    ("induction_status", "status"),
    [
        ("active", "active"),
        ("completed", "active"),
        ("leaving", "active"),
        ("withdrawn", "withdrawn"),
        ("changed", "withdrawn"),
    ],
)
async def test_status_follows_the_school_not_the_provider(
    client: httpx.AsyncClient, session: AsyncSession, induction_status: str, status: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(
        session, lp.lead_provider, induction_status=induction_status, training_status="withdrawn"
    )
    attributes = (await client.get(f"/api/v1/participants/ecf/{p.id}", headers=lp.headers)).json()["data"][
        "attributes"
    ]
    assert attributes["status"] == status


async def test_ect_who_is_also_a_mentor_appears_twice_and_show_returns_the_ect(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    person = await f.person(session)
    mentor = await f.participant(session, lp.lead_provider, 2022, profile_type="mentor", person_=person)
    ect = await f.participant(session, lp.lead_provider, 2022, profile_type="ect", person_=person)
    items = (await client.get("/api/v1/participants/ecf", headers=lp.headers)).json()["data"]
    assert [i["id"] for i in items] == [str(person.user.id)] * 2
    assert {i["attributes"]["training_record_id"] for i in items} == {
        str(mentor.profile.id),
        str(ect.profile.id),
    }
    shown = (await client.get(f"/api/v1/participants/ecf/{person.user.id}", headers=lp.headers)).json()[
        "data"
    ]
    assert shown["attributes"]["participant_type"] == "ect"


async def test_v1_applies_the_cohort_filter_before_choosing_the_latest_record(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, 2021, start_date=f.at(-400), end_date=f.at(-30))
    later = await f.programme(session, lp.lead_provider, 2022)
    schedule_2022 = await f.schedule(session, 2022)
    await f.induction_record(session, p, later, start_date=f.at(-29), schedule_id=schedule_2022.id)
    v1 = (await client.get("/api/v1/participants/ecf?filter[cohort]=2021", headers=lp.headers)).json()["data"]
    assert [(i["id"], i["attributes"]["cohort"]) for i in v1] == [(p.id, "2021")]
    v3 = (await client.get("/api/v3/participants/ecf?filter[cohort]=2021", headers=lp.headers)).json()["data"]
    assert v3 == []


async def test_updated_since_orders_by_update_time(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    older = await f.participant(session, lp.lead_provider, created_at=f.at(-20))
    newer = await f.participant(session, lp.lead_provider, created_at=f.at(-10))
    # created first, updated last
    older.person.user.updated_at = f.at(-1)
    newer.person.user.updated_at = f.at(-3)
    assert [
        i["id"] for i in (await client.get("/api/v1/participants/ecf", headers=lp.headers)).json()["data"]
    ] == [
        older.id,
        newer.id,
    ]
    since = await client.get(
        "/api/v1/participants/ecf?filter[updated_since]=2000-01-01T00:00:00Z", headers=lp.headers
    )
    assert [i["id"] for i in since.json()["data"]] == [newer.id, older.id]


async def test_legacy_alias_serves_the_same_list(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider)
    alias = await client.get("/api/v1/participants", headers=lp.headers)
    main = await client.get("/api/v1/participants/ecf", headers=lp.headers)
    assert alias.status_code == 200 and alias.json() == main.json()


@pytest.mark.parametrize("version", VERSIONS)
async def test_csv_export(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp = await f.provider(session)
    empty = await client.get(f"/api/{version}/participants/ecf.csv", headers=lp.headers)
    assert empty.status_code == 200 and empty.text == ""
    assert empty.headers["content-type"].startswith("text/csv")
    risky = await f.person(session, full_name='=HYPERLINK("http://x")', created_at=f.at(-5))
    first = await f.participant(session, lp.lead_provider, person_=risky, eligibility="manual_check")
    second = await f.participant(session, lp.lead_provider, created_at=f.at(-1))
    response = await client.get(f"/api/{version}/participants/ecf.csv", headers=lp.headers)
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == list(ECF_PARTICIPANT_CSV_HEADER)
    assert [r[0] for r in rows[1:]] == [first.id, second.id]
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["full_name"] == '\'=HYPERLINK("http://x")'
    assert record["eligible_for_funding"] == "" and record["pupil_premium_uplift"] == "false"
    assert record["teacher_reference_number_validated"] == "true"
    filtered = await client.get(
        f"/api/{version}/participants/ecf.csv?filter[cohort]=2023", headers=lp.headers
    )
    assert filtered.text == ""
