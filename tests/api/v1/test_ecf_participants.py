"""v1 ECF participants (ecf.md §3.1-3.3, §1.7): one item per training record, its attributes,
visibility, cohorts, ordering and CSV.

v2 serves the same contract: tests/api/v2/test_ecf_participants.py runs every test here against v2
by overriding the `version` fixture.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import InductionRecord, ParticipantIdentity, User
from tests import factories as f
from tests.contract import assert_matches_spec

CSV_HEADER = (
    "id,email,full_name,mentor_id,school_urn,participant_type,cohort,status,teacher_reference_number,"
    "teacher_reference_number_validated,eligible_for_funding,pupil_premium_uplift,sparsity_uplift,"
    "training_status,training_record_id,schedule_identifier,updated_at"
)
ATTRIBUTE_NAMES = CSV_HEADER.split(",")[1:]


@pytest.fixture
def version() -> str:
    return "v1"


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def db_now(session: AsyncSession) -> datetime:
    """The test transaction's now(): the timestamp of every row written by the factories."""
    value: datetime = (await session.execute(text("SELECT now()"))).scalar_one()
    return value


async def list_items(
    client: httpx.AsyncClient, version: str, lp: f.Provider, query: str = ""
) -> list[dict[str, Any]]:
    path = f"/api/{version}/participants/ecf"
    response = await client.get(f"{path}?{query}" if query else path, headers=lp.headers)
    assert response.status_code == 200, response.text
    assert_matches_spec(version, "get", path, 200, response.json())
    items: list[dict[str, Any]] = response.json()["data"]
    return items


async def list_ids(client: httpx.AsyncClient, version: str, lp: f.Provider, query: str = "") -> list[str]:
    return [item["id"] for item in await list_items(client, version, lp, query)]


async def show(
    client: httpx.AsyncClient, version: str, lp: f.Provider, participant_id: str
) -> httpx.Response:
    path = f"/api/{version}/participants/ecf/{{id}}"
    response = await client.get(path.format(id=participant_id), headers=lp.headers)
    if response.status_code == 200:
        assert_matches_spec(version, "get", path, 200, response.json())
    return response


async def only_attributes(
    client: httpx.AsyncClient, version: str, lp: f.Provider, query: str = ""
) -> dict[str, Any]:
    """The attributes of the single item the list holds."""
    items = await list_items(client, version, lp, query)
    assert len(items) == 1, items
    attributes: dict[str, Any] = items[0]["attributes"]
    return attributes


async def get_csv(client: httpx.AsyncClient, version: str, lp: f.Provider, query: str = "") -> httpx.Response:
    path = f"/api/{version}/participants/ecf.csv"
    response = await client.get(f"{path}?{query}" if query else path, headers=lp.headers)
    assert response.status_code == 200, response.text
    return response


def as_cell(value: object) -> object:
    """How the CSV writes a JSON value: null is empty, booleans are lowercase words."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text)))


async def set_updated_at(session: AsyncSession, user: User, when: datetime) -> None:
    await session.execute(update(User).where(User.id == user.id).values(updated_at=when))


# ---- attributes -----------------------------------------------------------------------------------


async def test_ect_with_a_mentor(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp = await f.provider(session)
    school = await f.programme(session, lp.lead_provider, 2022)
    mentor = await f.participant(session, lp.lead_provider, profile_type="mentor", programme_=school)
    ect = await f.participant(
        session,
        lp.lead_provider,
        programme_=school,
        mentor=mentor.profile,
        schedule_identifier="ecf-standard-january",
        pupil_premium_uplift=True,
        sparsity_uplift=True,
    )
    now = await db_now(session)
    items = await list_items(client, version, lp)
    assert next(item for item in items if item["id"] == ect.id) == {
        "id": ect.id,
        "type": "participant",
        "attributes": {
            "email": ect.person.user.email,
            "full_name": ect.person.user.full_name,
            "mentor_id": mentor.id,
            "school_urn": school.school.urn,
            "participant_type": "ect",
            "cohort": "2022",
            "status": "active",
            "teacher_reference_number": "1234567",
            "teacher_reference_number_validated": True,
            "eligible_for_funding": True,
            "pupil_premium_uplift": True,
            "sparsity_uplift": True,
            "training_status": "active",
            "training_record_id": str(ect.profile.id),
            "schedule_identifier": "ecf-standard-january",
            "updated_at": rfc3339(now),
        },
    }


async def test_attributes_are_in_serializer_order(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider)
    assert list(await only_attributes(client, version, lp)) == ATTRIBUTE_NAMES


async def test_mentor_has_no_mentor_id(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider, profile_type="mentor")
    attributes = await only_attributes(client, version, lp)
    assert (attributes["participant_type"], attributes["mentor_id"]) == ("mentor", None)


async def test_ect_without_a_mentor_has_no_mentor_id(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider)
    assert (await only_attributes(client, version, lp))["mentor_id"] is None


async def test_email_is_the_records_preferred_identity(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider)
    work = ParticipantIdentity(
        user_id=p.person.user.id,
        email=f"work-{uuid.uuid4().hex[:8]}@example.com",
        external_identifier=uuid.uuid4(),
    )
    session.add(work)
    await session.flush()
    p.record.preferred_identity_id = work.id
    assert (await only_attributes(client, version, lp))["email"] == work.email


async def test_teacher_reference_number_falls_back_to_validation_data(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, person_=await f.person(session, trn=None))
    await f.validation_data(session, p, "7654321")
    assert (await only_attributes(client, version, lp))["teacher_reference_number"] == "7654321"


async def test_teacher_profile_trn_wins_over_validation_data(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, person_=await f.person(session, trn="1111111"))
    await f.validation_data(session, p, "7654321")
    assert (await only_attributes(client, version, lp))["teacher_reference_number"] == "1111111"


async def test_without_any_trn_both_trn_attributes_are_null(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider, person_=await f.person(session, trn=None))
    attributes = await only_attributes(client, version, lp)
    assert attributes["teacher_reference_number"] is None
    assert attributes["teacher_reference_number_validated"] is None


@pytest.mark.parametrize(
    ("eligibility", "reason", "validated"),
    [
        pytest.param("eligible", "none", True, id="checked"),
        pytest.param("ineligible", "previous_participation", True, id="checked-ineligible"),
        pytest.param("manual_check", "different_trn", False, id="different-trn"),
        pytest.param(None, None, False, id="no-eligibility-row"),
    ],
)
async def test_teacher_reference_number_validated(
    client: httpx.AsyncClient,
    session: AsyncSession,
    version: str,
    eligibility: str | None,
    reason: str | None,
    validated: bool,
) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider, eligibility=eligibility, eligibility_reason=reason)
    assert (await only_attributes(client, version, lp))["teacher_reference_number_validated"] is validated


async def test_trn_from_validation_data_is_validated_like_a_teacher_profile_trn(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, person_=await f.person(session, trn=None))
    await f.validation_data(session, p, "7654321")
    assert (await only_attributes(client, version, lp))["teacher_reference_number_validated"] is True


@pytest.mark.parametrize(
    ("eligibility", "reason", "expected"),
    [
        ("eligible", "none", True),
        ("ineligible", "previous_participation", False),
        ("manual_check", "no_qts", None),
        ("matched", "none", None),
        (None, None, None),
    ],
)
async def test_eligible_for_funding(
    client: httpx.AsyncClient,
    session: AsyncSession,
    version: str,
    eligibility: str | None,
    reason: str | None,
    expected: bool | None,
) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider, eligibility=eligibility, eligibility_reason=reason)
    assert (await only_attributes(client, version, lp))["eligible_for_funding"] is expected


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
async def test_status_follows_the_schools_induction_status(
    client: httpx.AsyncClient, session: AsyncSession, version: str, induction_status: str, status: str
) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider, induction_status=induction_status)
    assert (await only_attributes(client, version, lp))["status"] == status


@pytest.mark.parametrize("training_status", ["active", "deferred", "withdrawn"])
async def test_training_status_is_the_records_and_does_not_change_status(
    client: httpx.AsyncClient, session: AsyncSession, version: str, training_status: str
) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider, training_status=training_status)
    attributes = await only_attributes(client, version, lp)
    assert (attributes["training_status"], attributes["status"]) == (training_status, "active")


async def test_cohort_is_the_school_cohort_while_the_filter_uses_the_schedule_cohort(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    school_2022 = await f.programme(session, lp.lead_provider, 2022)
    p = await f.participant(session, lp.lead_provider, 2021, programme_=school_2022)  # a 2021 schedule
    assert (await only_attributes(client, version, lp, "filter[cohort]=2021"))["cohort"] == "2022"
    assert await list_ids(client, version, lp, "filter[cohort]=2022") == []
    assert await list_ids(client, version, lp) == [p.id]


async def test_updated_at_is_the_latest_change_to_the_training_record(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider)
    changed = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    await session.execute(
        update(InductionRecord).where(InductionRecord.id == p.record.id).values(updated_at=changed)
    )
    assert (await only_attributes(client, version, lp))["updated_at"] == "2031-01-02T03:04:05Z"


async def test_updated_at_includes_a_change_to_an_identity(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider)
    changed = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    await session.execute(
        update(ParticipantIdentity)
        .where(ParticipantIdentity.id == p.person.identity.id)
        .values(updated_at=changed)
    )
    assert (await only_attributes(client, version, lp))["updated_at"] == "2031-01-02T03:04:05Z"


# ---- one item per training record -------------------------------------------------------------------


async def test_ect_who_is_also_a_mentor_appears_twice_with_the_same_id(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    person = await f.person(session)
    mentor = await f.participant(session, lp.lead_provider, profile_type="mentor", person_=person)
    ect = await f.participant(session, lp.lead_provider, person_=person)
    items = await list_items(client, version, lp)
    assert sorted(
        (i["id"], i["attributes"]["participant_type"], i["attributes"]["training_record_id"]) for i in items
    ) == [
        (str(person.user.id), "ect", str(ect.profile.id)),
        (str(person.user.id), "mentor", str(mentor.profile.id)),
    ]


async def test_show_returns_the_ect_record_of_an_ect_who_is_also_a_mentor(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    person = await f.person(session)
    await f.participant(session, lp.lead_provider, profile_type="mentor", person_=person)
    ect = await f.participant(session, lp.lead_provider, person_=person)
    response = await show(client, version, lp, str(person.user.id))
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["id"], data["attributes"]["training_record_id"]) == (
        str(person.user.id),
        str(ect.profile.id),
    )


async def test_show_returns_the_same_resource_as_the_list(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider)
    response = await show(client, version, lp, p.id)
    assert response.status_code == 200
    assert response.json() == {"data": (await list_items(client, version, lp))[0]}


# ---- visibility -------------------------------------------------------------------------------------


async def test_challenged_partnership_hides_the_participant(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    challenged = await f.programme(session, lp.lead_provider, 2022, challenged=True)
    p = await f.participant(session, lp.lead_provider, programme_=challenged)
    assert await list_ids(client, version, lp) == []
    assert (await show(client, version, lp, p.id)).status_code == 404


async def test_school_led_participant_is_hidden(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, None)  # core induction programme: no partnership
    assert await list_ids(client, version, lp) == []
    assert (await show(client, version, lp, p.id)).status_code == 404


async def test_another_providers_participant_is_hidden(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    mine = await f.provider(session)
    theirs = await f.provider(session)
    p = await f.participant(session, theirs.lead_provider)
    assert await list_ids(client, version, mine) == []
    assert await list_ids(client, version, theirs) == [p.id]


async def test_withdrawn_records_are_still_listed(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(
        session, lp.lead_provider, induction_status="withdrawn", training_status="withdrawn"
    )
    assert await list_ids(client, version, lp) == [p.id]


async def test_training_record_removed_by_the_school_is_still_listed(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, status="withdrawn")  # participant_profiles.status
    assert await list_ids(client, version, lp) == [p.id]


async def test_open_ended_record_beats_an_ended_one_that_started_later(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, start_date=f.at(-100))
    elsewhere = await f.programme(session, lp.lead_provider, 2022)
    await f.induction_record(session, p, elsewhere, start_date=f.at(-10), end_date=f.at(-5))
    assert (await only_attributes(client, version, lp))["school_urn"] == p.programme.school.urn


async def test_later_start_beats_an_earlier_one(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, start_date=f.at(-100))
    elsewhere = await f.programme(session, lp.lead_provider, 2022)
    await f.induction_record(session, p, elsewhere, start_date=f.at(-10))
    assert (await only_attributes(client, version, lp))["school_urn"] == elsewhere.school.urn


async def test_after_a_transfer_each_provider_sees_its_own_latest_record(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    old = await f.provider(session)
    new = await f.provider(session)
    p = await f.participant(
        session, old.lead_provider, start_date=f.at(-100), end_date=f.at(-5), induction_status="leaving"
    )
    new_school = await f.programme(session, new.lead_provider, 2022)
    await f.induction_record(session, p, new_school, start_date=f.at(-4), school_transfer=True)
    assert (await only_attributes(client, version, old))["school_urn"] == p.programme.school.urn
    assert (await only_attributes(client, version, new))["school_urn"] == new_school.school.urn


# ---- cohorts ----------------------------------------------------------------------------------------


async def test_default_cohorts_exclude_2020(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider, 2020)
    current = await f.participant(session, lp.lead_provider, 2021)
    assert await list_ids(client, version, lp) == [current.id]


async def test_2020_cohort_can_be_asked_for(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    old = await f.participant(session, lp.lead_provider, 2020)
    await f.participant(session, lp.lead_provider, 2021)
    assert await list_ids(client, version, lp, "filter[cohort]=2020") == [old.id]


async def test_show_is_limited_to_the_default_cohorts(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    old = await f.participant(session, lp.lead_provider, 2020)
    response = await show(client, version, lp, old.id)
    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}


async def test_cohort_filter_takes_a_comma_separated_list(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    first = await f.participant(session, lp.lead_provider, 2021, created_at=f.at(-3))
    second = await f.participant(session, lp.lead_provider, 2022, created_at=f.at(-2))
    await f.participant(session, lp.lead_provider, 2023, created_at=f.at(-1))
    assert await list_ids(client, version, lp, "filter[cohort]=2021,2022") == [first.id, second.id]


@pytest.mark.parametrize("cohort", ["abc", "1999", "20222", ","])
async def test_cohort_filter_matching_nothing_is_an_empty_list(
    client: httpx.AsyncClient, session: AsyncSession, version: str, cohort: str
) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider, 2022)
    assert await list_ids(client, version, lp, f"filter[cohort]={cohort}") == []


async def test_cohort_filter_applies_before_choosing_the_latest_record(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    """A participant who moved from a 2021 to a 2022 record still shows its 2021 record under 2021."""
    lp = await f.provider(session)
    p = await f.participant(
        session, lp.lead_provider, 2021, start_date=f.at(-400), end_date=f.at(-10), induction_status="changed"
    )
    school_2022 = await f.programme(session, lp.lead_provider, 2022, school_=p.programme.school)
    schedule_2022 = await f.schedule(session, 2022)
    await f.induction_record(session, p, school_2022, schedule_id=schedule_2022.id, start_date=f.at(-10))
    in_2021 = await only_attributes(client, version, lp, "filter[cohort]=2021")
    assert (in_2021["cohort"], in_2021["status"]) == ("2021", "withdrawn")
    by_default = await only_attributes(client, version, lp)
    assert (by_default["cohort"], by_default["status"]) == ("2022", "active")


# ---- ordering and updated_since ---------------------------------------------------------------------


async def test_list_is_ordered_by_user_creation(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    newest = await f.participant(session, lp.lead_provider, created_at=f.at(-1))
    oldest = await f.participant(session, lp.lead_provider, created_at=f.at(-30))
    middle = await f.participant(session, lp.lead_provider, created_at=f.at(-10))
    assert await list_ids(client, version, lp) == [oldest.id, middle.id, newest.id]


async def test_updated_since_keeps_users_updated_at_or_after_it_in_update_order(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    first_created = await f.participant(session, lp.lead_provider, created_at=f.at(-30))
    second_created = await f.participant(session, lp.lead_provider, created_at=f.at(-20))
    stale = await f.participant(session, lp.lead_provider, created_at=f.at(-10))
    await set_updated_at(session, first_created.person.user, f.at(-1))
    await set_updated_at(session, second_created.person.user, f.at(-2))
    await set_updated_at(session, stale.person.user, f.at(-9))
    since = rfc3339(f.at(-3))
    assert await list_ids(client, version, lp, f"filter[updated_since]={since}") == [
        second_created.id,
        first_created.id,
    ]


async def test_participants_alias_serves_the_same_list(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider, 2020)
    await f.participant(session, lp.lead_provider, 2022)
    query = "filter[cohort]=2020"
    alias = await client.get(f"/api/{version}/participants?{query}", headers=lp.headers)
    assert alias.status_code == 200
    assert alias.json() == {"data": await list_items(client, version, lp, query)}


# ---- CSV --------------------------------------------------------------------------------------------


async def test_csv_has_the_header_and_one_row_per_list_item_in_list_order(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    for days in (-1, -30, -10):
        await f.participant(session, lp.lead_provider, created_at=f.at(days))
    response = await get_csv(client, version, lp)
    assert response.headers["content-type"].split(";")[0] == "text/csv"
    assert response.text.splitlines()[0] == CSV_HEADER
    rows = csv_rows(response)
    assert [row["training_record_id"] for row in rows] == [
        item["attributes"]["training_record_id"] for item in await list_items(client, version, lp)
    ]


async def test_csv_cells_are_the_json_values_as_text(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider, eligibility="manual_check", eligibility_reason="no_qts")
    (item,) = await list_items(client, version, lp)
    (row,) = csv_rows(await get_csv(client, version, lp))
    assert row == {"id": item["id"]} | {name: as_cell(value) for name, value in item["attributes"].items()}
    assert (row["mentor_id"], row["eligible_for_funding"], row["teacher_reference_number_validated"]) == (
        "",
        "",
        "true",
    )
    assert (row["pupil_premium_uplift"], row["sparsity_uplift"]) == ("false", "false")


async def test_csv_of_an_empty_list_is_an_empty_body(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    response = await get_csv(client, version, lp)
    assert response.content == b""


async def test_csv_applies_the_list_filters_and_ignores_pagination(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    first = await f.participant(session, lp.lead_provider, 2020, created_at=f.at(-3))
    second = await f.participant(session, lp.lead_provider, 2020, created_at=f.at(-2))
    await f.participant(session, lp.lead_provider, 2022)
    response = await get_csv(client, version, lp, "filter[cohort]=2020&page[per_page]=1")
    assert [row["id"] for row in csv_rows(response)] == [first.id, second.id]


async def test_csv_applies_updated_since_in_update_order(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    first_created = await f.participant(session, lp.lead_provider, created_at=f.at(-30))
    second_created = await f.participant(session, lp.lead_provider, created_at=f.at(-20))
    await set_updated_at(session, first_created.person.user, f.at(-1))
    await set_updated_at(session, second_created.person.user, f.at(-2))
    response = await get_csv(client, version, lp, f"filter[updated_since]={rfc3339(f.at(-3))}")
    assert [row["id"] for row in csv_rows(response)] == [second_created.id, first_created.id]


async def test_csv_rejects_an_invalid_updated_since(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    response = await client.get(
        f"/api/{version}/participants/ecf.csv?filter[updated_since]=yesterday", headers=lp.headers
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"title": "Bad request", "detail": "The filter '#/updated_since' must be a valid RCF3339 date"}
        ]
    }


@pytest.mark.parametrize("page", ["page[page]=0", "page[per_page]=abc", "page=2"])
async def test_csv_ignores_even_invalid_pagination(
    client: httpx.AsyncClient, session: AsyncSession, version: str, page: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider)
    response = await client.get(f"/api/{version}/participants/ecf.csv?{page}", headers=lp.headers)
    assert response.status_code == 200
    assert [row["id"] for row in csv_rows(response)] == [p.id]


async def test_csv_neutralises_spreadsheet_formulas(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    person = await f.person(session, full_name='=HYPERLINK("http://x")')
    await f.participant(session, lp.lead_provider, person_=person)
    (row,) = csv_rows(await get_csv(client, version, lp))
    assert row["full_name"] == '\'=HYPERLINK("http://x")'
    assert (await only_attributes(client, version, lp))["full_name"] == '=HYPERLINK("http://x")'


async def test_participants_csv_alias_serves_the_same_csv(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider)
    alias = await client.get(f"/api/{version}/participants.csv", headers=lp.headers)
    assert alias.status_code == 200
    assert alias.text == (await get_csv(client, version, lp)).text
