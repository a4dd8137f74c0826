"""v3 ECF participants (ecf.md §3.4-3.6): one resource per user with nested enrolments, statuses,
withdrawal/deferral, participant id changes, filters, sorting and `updated_at`."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.enums import TokenScope
from app.main import create_app
from app.models import ApiToken, InductionRecord, ParticipantIdentity, ParticipantProfile, User
from app.security import hash_token
from app.settings import Environment, Settings
from tests import factories as f
from tests.contract import assert_matches_spec

LIST = "/api/v3/participants/ecf"
SHOW = "/api/v3/participants/ecf/{id}"
ATTRIBUTE_KEYS = [
    "full_name",
    "teacher_reference_number",
    "updated_at",
    "ecf_enrolments",
    "participant_id_changes",
]
ENROLMENT_KEYS = [
    "training_record_id",
    "email",
    "mentor_id",
    "school_urn",
    "participant_type",
    "cohort",
    "training_status",
    "participant_status",
    "teacher_reference_number_validated",
    "eligible_for_funding",
    "pupil_premium_uplift",
    "sparsity_uplift",
    "schedule_identifier",
    "delivery_partner_id",
    "withdrawal",
    "deferral",
    "created_at",
    "induction_end_date",
    "mentor_funding_end_date",
]
PRODUCTION_KEY = "x" * 40


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def db_now(session: AsyncSession) -> datetime:
    """The test transaction's now(): the timestamp of every row written by the factories."""
    value: datetime = (await session.execute(text("SELECT now()"))).scalar_one()
    return value


async def list_data(client: httpx.AsyncClient, lp: f.Provider, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"{LIST}?{query}" if query else LIST, headers=lp.headers)
    assert response.status_code == 200, response.text
    assert_matches_spec("v3", "get", LIST, 200, response.json())
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def list_ids(client: httpx.AsyncClient, lp: f.Provider, query: str = "") -> list[str]:
    return [item["id"] for item in await list_data(client, lp, query)]


async def show(
    client: httpx.AsyncClient, lp: f.Provider, participant_id: str, query: str = ""
) -> httpx.Response:
    path = SHOW.format(id=participant_id)
    response = await client.get(f"{path}?{query}" if query else path, headers=lp.headers)
    if response.status_code == 200:
        assert_matches_spec("v3", "get", SHOW, 200, response.json())
    return response


async def attributes_of(client: httpx.AsyncClient, lp: f.Provider, participant_id: str) -> dict[str, Any]:
    response = await show(client, lp, participant_id)
    assert response.status_code == 200, response.text
    attributes: dict[str, Any] = response.json()["data"]["attributes"]
    return attributes


async def only_enrolment(client: httpx.AsyncClient, lp: f.Provider, participant_id: str) -> dict[str, Any]:
    (enrolment,) = (await attributes_of(client, lp, participant_id))["ecf_enrolments"]
    result: dict[str, Any] = enrolment
    return result


async def get_in_production(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    lp: f.Provider,
    path: str,
    **headers: str,
) -> httpx.Response:
    """One request to an app configured for production (its own token key, so its own token)."""
    app = create_app(
        Settings(environment=Environment.PRODUCTION, token_hmac_key=PRODUCTION_KEY),
        sessionmaker=sessionmaker,
    )
    raw = f"production-{uuid.uuid4()}"
    session.add(
        ApiToken(
            hashed_token=hash_token(raw, PRODUCTION_KEY),
            scope=TokenScope.LEAD_PROVIDER,
            cpd_lead_provider_id=lp.cpd.id,
        )
    )
    await session.flush()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://production") as client:
        return await client.get(path, headers={"Authorization": f"Bearer {raw}", **headers})


# ---- shape and values -------------------------------------------------------------------------------


async def test_ect_with_a_mentor(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    school = await f.programme(session, lp.lead_provider, 2022)
    mentor = await f.participant(session, lp.lead_provider, profile_type="mentor", programme_=school)
    ect = await f.participant(
        session,
        lp.lead_provider,
        programme_=school,
        mentor=mentor.profile,
        schedule_identifier="ecf-extended-september",
        pupil_premium_uplift=True,
        induction_completion_date=date(2024, 7, 31),
    )
    assert school.delivery_partner is not None
    now = rfc3339(await db_now(session))
    response = await show(client, lp, ect.id)
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "id": ect.id,
            "type": "participant",
            "attributes": {
                "full_name": ect.person.user.full_name,
                "teacher_reference_number": "1234567",
                "updated_at": now,
                "ecf_enrolments": [
                    {
                        "training_record_id": str(ect.profile.id),
                        "email": ect.person.user.email,
                        "mentor_id": mentor.id,
                        "school_urn": school.school.urn,
                        "participant_type": "ect",
                        "cohort": "2022",
                        "training_status": "active",
                        "participant_status": "active",
                        "teacher_reference_number_validated": True,
                        "eligible_for_funding": True,
                        "pupil_premium_uplift": True,
                        "sparsity_uplift": False,
                        "schedule_identifier": "ecf-extended-september",
                        "delivery_partner_id": str(school.delivery_partner.id),
                        "withdrawal": None,
                        "deferral": None,
                        "created_at": now,
                        "induction_end_date": "2024-07-31",
                        "mentor_funding_end_date": None,
                    }
                ],
                "participant_id_changes": [],
            },
        }
    }


async def test_keys_are_in_serializer_order(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider)
    attributes = await attributes_of(client, lp, p.id)
    assert list(attributes) == ATTRIBUTE_KEYS
    assert list(attributes["ecf_enrolments"][0]) == ENROLMENT_KEYS


async def test_mentor_enrolment_has_no_mentor_id_and_shows_its_funding_end_date(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    mentor = await f.participant(
        session, lp.lead_provider, profile_type="mentor", mentor_completion_date=date(2025, 1, 31)
    )
    enrolment = await only_enrolment(client, lp, mentor.id)
    assert (enrolment["participant_type"], enrolment["mentor_id"]) == ("mentor", None)
    assert enrolment["mentor_funding_end_date"] == "2025-01-31"


async def test_production_omits_mentor_funding_end_date(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    lp = await f.provider(session)
    mentor = await f.participant(
        session, lp.lead_provider, profile_type="mentor", mentor_completion_date=date(2025, 1, 31)
    )
    response = await get_in_production(session, sessionmaker, lp, SHOW.format(id=mentor.id))
    assert response.status_code == 200, response.text
    assert_matches_spec("v3", "get", SHOW, 200, response.json())
    assert list(response.json()["data"]["attributes"]["ecf_enrolments"][0]) == ENROLMENT_KEYS[:-1]


async def test_production_ignores_the_server_date_header(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, start_date=f.at(10))
    response = await get_in_production(
        session, sessionmaker, lp, SHOW.format(id=p.id), **{"X-With-Server-Date": rfc3339(f.at(20))}
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["attributes"]["ecf_enrolments"][0]["participant_status"] == "joining"


async def test_ect_who_is_also_a_mentor_is_one_resource_with_two_enrolments(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    person = await f.person(session)
    mentor = await f.participant(session, lp.lead_provider, profile_type="mentor", person_=person)
    ect = await f.participant(session, lp.lead_provider, person_=person)
    (item,) = await list_data(client, lp)
    assert item["id"] == str(person.user.id)
    assert sorted(
        (e["participant_type"], e["training_record_id"]) for e in item["attributes"]["ecf_enrolments"]
    ) == [
        ("ect", str(ect.profile.id)),
        ("mentor", str(mentor.profile.id)),
    ]


async def test_show_of_an_ect_who_is_also_a_mentor_has_both_enrolments(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    person = await f.person(session)
    await f.participant(session, lp.lead_provider, profile_type="mentor", person_=person)
    await f.participant(session, lp.lead_provider, person_=person)
    enrolments = (await attributes_of(client, lp, str(person.user.id)))["ecf_enrolments"]
    assert sorted(e["participant_type"] for e in enrolments) == ["ect", "mentor"]


async def test_teacher_reference_number_has_no_fallback_to_validation_data(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, person_=await f.person(session, trn=None))
    await f.validation_data(session, p, "7654321")
    attributes = await attributes_of(client, lp, p.id)
    assert attributes["teacher_reference_number"] is None
    # ... while the enrolment's validation flag does see the validation-data TRN
    assert attributes["ecf_enrolments"][0]["teacher_reference_number_validated"] is True


async def test_without_any_trn_validated_is_null(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, person_=await f.person(session, trn=None))
    assert (await only_enrolment(client, lp, p.id))["teacher_reference_number_validated"] is None


@pytest.mark.parametrize(
    ("eligibility", "reason", "validated", "eligible"),
    [
        ("eligible", "none", True, True),
        ("ineligible", "previous_participation", True, False),
        ("manual_check", "different_trn", False, None),
        (None, None, False, None),
    ],
)
async def test_validated_and_eligible_for_funding(
    client: httpx.AsyncClient,
    session: AsyncSession,
    eligibility: str | None,
    reason: str | None,
    validated: bool,
    eligible: bool | None,
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, eligibility=eligibility, eligibility_reason=reason)
    enrolment = await only_enrolment(client, lp, p.id)
    assert (enrolment["teacher_reference_number_validated"], enrolment["eligible_for_funding"]) == (
        validated,
        eligible,
    )


# ---- participant_status -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start_in_days", "end_in_days", "induction_status", "expected"),
    [
        pytest.param(-30, None, "active", "active", id="active"),
        pytest.param(-30, None, "completed", "active", id="completed"),
        pytest.param(10, None, "active", "joining", id="future-start"),
        pytest.param(-30, 10, "leaving", "leaving", id="future-end"),
        pytest.param(-30, -1, "leaving", "left", id="past-end"),
        pytest.param(-30, None, "withdrawn", "withdrawn", id="withdrawn"),
        pytest.param(-30, None, "changed", "withdrawn", id="changed"),
        pytest.param(-30, None, "leaving", None, id="leaving-without-end-date"),
        pytest.param(-30, -1, "withdrawn", "left", id="end-date-beats-withdrawn"),
        pytest.param(10, 20, "active", "leaving", id="end-date-beats-future-start"),
    ],
)
async def test_participant_status(
    client: httpx.AsyncClient,
    session: AsyncSession,
    start_in_days: int,
    end_in_days: int | None,
    induction_status: str,
    expected: str | None,
) -> None:
    lp = await f.provider(session)
    p = await f.participant(
        session,
        lp.lead_provider,
        start_date=f.at(start_in_days),
        end_date=f.at(end_in_days) if end_in_days is not None else None,
        induction_status=induction_status,
    )
    assert (await only_enrolment(client, lp, p.id))["participant_status"] == expected


# ---- withdrawal and deferral ------------------------------------------------------------------------


async def test_withdrawal_is_the_calling_providers_latest_withdrawn_state(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    other = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, training_status="withdrawn")
    await f.profile_state(session, p, lp, "withdrawn", "moved-school", created_at=f.at(-5))
    latest = await f.profile_state(
        session, p, lp, "withdrawn", "left-teaching-profession", created_at=f.at(-3)
    )
    await f.profile_state(session, p, other, "withdrawn", "other", created_at=f.at(-1))
    enrolment = await only_enrolment(client, lp, p.id)
    assert enrolment["withdrawal"] == {
        "reason": "left-teaching-profession",
        "date": rfc3339(latest.created_at),
    }
    assert enrolment["deferral"] is None


async def test_withdrawal_recorded_only_by_another_provider_is_null(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    other = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, training_status="withdrawn")
    await f.profile_state(session, p, other, "withdrawn", "other", created_at=f.at(-1))
    assert (await only_enrolment(client, lp, p.id))["withdrawal"] is None


async def test_deferral_is_the_calling_providers_latest_deferred_state(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, training_status="deferred")
    latest = await f.profile_state(session, p, lp, "deferred", "career-break", created_at=f.at(-2))
    await f.profile_state(session, p, lp, "deferred", "parental-leave", created_at=f.at(-20))
    enrolment = await only_enrolment(client, lp, p.id)
    assert enrolment["deferral"] == {"reason": "career-break", "date": rfc3339(latest.created_at)}
    assert enrolment["withdrawal"] is None


async def test_state_history_is_not_shown_once_training_is_active_again(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, training_status="active")
    await f.profile_state(session, p, lp, "deferred", "career-break", created_at=f.at(-20))
    await f.profile_state(session, p, lp, "withdrawn", "other", created_at=f.at(-10))
    await f.profile_state(session, p, lp, "active", None, created_at=f.at(-5))
    enrolment = await only_enrolment(client, lp, p.id)
    assert (enrolment["withdrawal"], enrolment["deferral"]) == (None, None)


# ---- participant id changes -------------------------------------------------------------------------


async def test_participant_id_changes_newest_first(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    survivor = await f.person(session)
    await f.participant(session, lp.lead_provider, person_=survivor)
    older, newer = await f.person(session), await f.person(session)
    first = await f.id_change(session, survivor, older)
    second = await f.id_change(session, survivor, newer)
    first.created_at = datetime(2023, 1, 1, 9, 0, tzinfo=UTC)
    second.created_at = datetime(2023, 6, 1, 9, 0, tzinfo=UTC)
    attributes = await attributes_of(client, lp, str(survivor.user.id))
    assert attributes["participant_id_changes"] == [
        {
            "from_participant_id": str(newer.user.id),
            "to_participant_id": str(survivor.user.id),
            "changed_at": "2023-06-01T09:00:00Z",
        },
        {
            "from_participant_id": str(older.user.id),
            "to_participant_id": str(survivor.user.id),
            "changed_at": "2023-01-01T09:00:00Z",
        },
    ]


async def test_from_participant_id_filter_finds_the_surviving_participant(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    survivor = await f.person(session)
    await f.participant(session, lp.lead_provider, person_=survivor)
    await f.participant(session, lp.lead_provider)
    retired = await f.person(session)
    await f.id_change(session, survivor, retired)
    assert await list_ids(client, lp, f"filter[from_participant_id]={retired.user.id}") == [
        str(survivor.user.id)
    ]


@pytest.mark.parametrize("value", [str(uuid.uuid4()), "not-a-uuid"])
async def test_from_participant_id_filter_matching_nothing_is_an_empty_list(
    client: httpx.AsyncClient, session: AsyncSession, value: str
) -> None:
    lp = await f.provider(session)
    survivor = await f.person(session)
    await f.participant(session, lp.lead_provider, person_=survivor)
    await f.id_change(session, survivor, await f.person(session))
    assert await list_ids(client, lp, f"filter[from_participant_id]={value}") == []


# ---- filters ----------------------------------------------------------------------------------------


async def test_training_status_filter(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider, training_status="active")
    deferred = await f.participant(session, lp.lead_provider, training_status="deferred")
    await f.participant(session, lp.lead_provider, training_status="withdrawn")
    assert await list_ids(client, lp, "filter[training_status]=deferred") == [deferred.id]


@pytest.mark.parametrize("value", ["paused", "Active", "active,deferred"])
async def test_invalid_training_status_filter_is_400(
    client: httpx.AsyncClient, session: AsyncSession, value: str
) -> None:
    lp = await f.provider(session)
    response = await client.get(f"{LIST}?filter[training_status]={value}", headers=lp.headers)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "title": "Bad request",
                "detail": 'The filter \'#/training_status\' must be ["active", "deferred", "withdrawn"]',
            }
        ]
    }


async def test_filters_select_users_and_every_enrolment_is_shown(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    person = await f.person(session)
    await f.participant(session, lp.lead_provider, 2022, person_=person, training_status="deferred")
    await f.participant(session, lp.lead_provider, 2021, profile_type="mentor", person_=person)
    for query in ("filter[training_status]=deferred", "filter[cohort]=2021"):
        (item,) = await list_data(client, lp, query)
        assert len(item["attributes"]["ecf_enrolments"]) == 2, query


async def test_default_cohorts_exclude_2020_unless_asked(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    old = await f.participant(session, lp.lead_provider, 2020)
    current = await f.participant(session, lp.lead_provider, 2021)
    assert await list_ids(client, lp) == [current.id]
    assert await list_ids(client, lp, "filter[cohort]=2020") == [old.id]


async def test_cohort_filter_takes_a_comma_separated_list(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    first = await f.participant(session, lp.lead_provider, 2021, created_at=f.at(-3))
    second = await f.participant(session, lp.lead_provider, 2022, created_at=f.at(-2))
    await f.participant(session, lp.lead_provider, 2023, created_at=f.at(-1))
    assert await list_ids(client, lp, "filter[cohort]=2021,2022") == [first.id, second.id]


async def test_training_record_removed_by_the_school_is_still_listed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, status="withdrawn")  # participant_profiles.status
    assert await list_ids(client, lp) == [p.id]


@pytest.mark.parametrize("cohort", ["abc", "1999"])
async def test_cohort_filter_matching_nothing_is_an_empty_list(
    client: httpx.AsyncClient, session: AsyncSession, cohort: str
) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider, 2022)
    assert await list_ids(client, lp, f"filter[cohort]={cohort}") == []


async def test_cohort_filter_applies_to_the_latest_record_only(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """A participant who moved from a 2021 to a 2022 record appears in 2022 only (unlike v1)."""
    lp = await f.provider(session)
    p = await f.participant(
        session, lp.lead_provider, 2021, start_date=f.at(-400), end_date=f.at(-10), induction_status="changed"
    )
    school_2022 = await f.programme(session, lp.lead_provider, 2022, school_=p.programme.school)
    schedule_2022 = await f.schedule(session, 2022)
    await f.induction_record(session, p, school_2022, schedule_id=schedule_2022.id, start_date=f.at(-10))
    assert await list_ids(client, lp, "filter[cohort]=2021") == []
    (item,) = await list_data(client, lp, "filter[cohort]=2022")
    assert item["attributes"]["ecf_enrolments"][0]["cohort"] == "2022"


async def test_show_applies_the_list_filters(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    old = await f.participant(session, lp.lead_provider, 2020)
    not_found = await show(client, lp, old.id)
    assert (not_found.status_code, not_found.json()) == (404, {"error": "Resource not Found"})
    assert (await show(client, lp, old.id, "filter[cohort]=2020")).status_code == 200


async def test_show_ignores_pagination_parameters(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider)
    assert (await show(client, lp, p.id, "page[page]=0")).status_code == 200


async def test_latest_record_is_chosen_per_provider_after_a_transfer(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    old = await f.provider(session)
    new = await f.provider(session)
    p = await f.participant(
        session, old.lead_provider, start_date=f.at(-100), end_date=f.at(-5), induction_status="leaving"
    )
    new_school = await f.programme(session, new.lead_provider, 2022)
    await f.induction_record(session, p, new_school, start_date=f.at(-4), school_transfer=True)
    seen_by_old = await only_enrolment(client, old, p.id)
    seen_by_new = await only_enrolment(client, new, p.id)
    assert (seen_by_old["school_urn"], seen_by_old["participant_status"]) == (p.programme.school.urn, "left")
    assert (seen_by_new["school_urn"], seen_by_new["participant_status"]) == (new_school.school.urn, "active")


async def test_challenged_partnership_hides_the_participant(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    challenged = await f.programme(session, lp.lead_provider, 2022, challenged=True)
    p = await f.participant(session, lp.lead_provider, programme_=challenged)
    assert await list_ids(client, lp) == []
    assert (await show(client, lp, p.id)).status_code == 404


# ---- sorting ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        pytest.param(None, [0, 1, 2], id="default-created-at"),
        pytest.param("created_at", [0, 1, 2], id="created-at"),
        pytest.param("+created_at", [0, 1, 2], id="plus-created-at"),
        pytest.param("-created_at", [2, 1, 0], id="minus-created-at"),
        pytest.param("updated_at", [1, 2, 0], id="updated-at"),
        pytest.param("-updated_at", [0, 2, 1], id="minus-updated-at"),
        pytest.param("full_name", [0, 1, 2], id="unknown-field-ignored"),
        pytest.param("email,-created_at", [2, 1, 0], id="unknown-field-dropped"),
    ],
)
async def test_sort(
    client: httpx.AsyncClient, session: AsyncSession, sort: str | None, expected: list[int]
) -> None:
    lp = await f.provider(session)
    created = [
        await f.participant(session, lp.lead_provider, created_at=f.at(days)) for days in (-30, -20, -10)
    ]
    for p, updated in zip(created, (-1, -3, -2), strict=True):
        await session.execute(
            update(User).where(User.id == p.person.user.id).values(updated_at=f.at(updated))
        )
    query = f"sort={sort}" if sort is not None else ""
    assert await list_ids(client, lp, query) == [created[i].id for i in expected]


async def test_updated_since_keeps_the_creation_order(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Unlike v1/v2, v3 does not switch to update order when filtering on updated_since."""
    lp = await f.provider(session)
    first = await f.participant(session, lp.lead_provider, created_at=f.at(-30))
    second = await f.participant(session, lp.lead_provider, created_at=f.at(-20))
    await session.execute(update(User).where(User.id == first.person.user.id).values(updated_at=f.at(-1)))
    await session.execute(update(User).where(User.id == second.person.user.id).values(updated_at=f.at(-2)))
    since = f"filter[updated_since]={rfc3339(f.at(-3))}"
    assert await list_ids(client, lp, since) == [first.id, second.id]


async def test_updated_since_lists_only_the_providers_users_in_the_cohorts(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The filtered list starts from the users updated since (a semi-join with the provider's
    users): another provider's users, users of excluded cohorts and a cohort the user left are
    still filtered out, with and without a sort or a cohort filter."""
    lp = await f.provider(session)
    other = await f.provider(session)
    in_2021 = await f.participant(session, lp.lead_provider, 2021, created_at=f.at(-30))
    in_2020 = await f.participant(session, lp.lead_provider, 2020, created_at=f.at(-29))
    elsewhere = await f.participant(session, other.lead_provider, 2021, created_at=f.at(-28))
    moved = await f.participant(
        session,
        lp.lead_provider,
        2021,
        created_at=f.at(-27),
        start_date=f.at(-400),
        end_date=f.at(-10),
        induction_status="changed",
    )
    school_2022 = await f.programme(session, lp.lead_provider, 2022, school_=moved.programme.school)
    schedule_2022 = await f.schedule(session, 2022)
    await f.induction_record(session, moved, school_2022, schedule_id=schedule_2022.id, start_date=f.at(-10))
    stale = await f.participant(session, lp.lead_provider, 2021, created_at=f.at(-26))
    for p in (in_2021, in_2020, elsewhere, moved):
        await session.execute(update(User).where(User.id == p.person.user.id).values(updated_at=f.at(-1)))
    await session.execute(update(User).where(User.id == stale.person.user.id).values(updated_at=f.at(-9)))
    since = f"filter[updated_since]={rfc3339(f.at(-3))}"
    assert await list_ids(client, lp, since) == [in_2021.id, moved.id]
    assert await list_ids(client, lp, f"{since}&sort=-created_at") == [moved.id, in_2021.id]
    assert await list_ids(client, lp, f"{since}&filter[cohort]=2021") == [in_2021.id]
    assert await list_ids(client, lp, f"{since}&filter[cohort]=2020,2022") == [in_2020.id, moved.id]
    assert await list_ids(client, other, since) == [elsewhere.id]


# ---- updated_at -------------------------------------------------------------------------------------


async def backdate(session: AsyncSession, p: f.Participant, when: datetime) -> None:
    """Make every row the participant's `updated_at` reads look last changed at `when`."""
    await session.execute(
        update(InductionRecord).where(InductionRecord.id == p.record.id).values(updated_at=when)
    )
    await session.execute(
        update(ParticipantProfile).where(ParticipantProfile.id == p.profile.id).values(updated_at=when)
    )
    await session.execute(
        update(ParticipantIdentity)
        .where(ParticipantIdentity.id == p.person.identity.id)
        .values(updated_at=when)
    )
    await session.execute(update(User).where(User.id == p.person.user.id).values(updated_at=when))


async def test_a_change_to_an_induction_record_moves_updated_at_and_updated_since(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, created_at=f.at(-50))
    backdated = f.at(-40)
    await backdate(session, p, backdated)
    since = f"filter[updated_since]={rfc3339(f.at(-2))}"
    assert (await attributes_of(client, lp, p.id))["updated_at"] == rfc3339(backdated)
    assert await list_ids(client, lp, since) == []

    changed = f.at(-1)
    await session.execute(
        update(InductionRecord)
        .where(InductionRecord.id == p.record.id)
        .values(training_status="deferred", updated_at=changed)
    )
    assert (await attributes_of(client, lp, p.id))["updated_at"] == rfc3339(changed)
    assert await list_ids(client, lp, since) == [p.id]


async def every_page(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], per_page: int
) -> list[str]:
    seen: list[str] = []
    joiner = "&" if "?" in path else "?"
    for number in range(1, 100):
        response = await client.get(
            f"{path}{joiner}page[per_page]={per_page}&page[page]={number}", headers=headers
        )
        assert response.status_code == 200, response.text
        page = [item["id"] for item in response.json()["data"]]
        if not page:
            return seen
        assert len(page) <= per_page
        seen += page
    raise AssertionError("the pages never ended")


USERS_ACROSS_MONTHS = [
    datetime(2023, 1, 31, 23, 59, 59, 999999, UTC),
    datetime(2023, 2, 1, tzinfo=UTC),
    datetime(2021, 12, 9, 8, tzinfo=UTC),
    datetime(2024, 7, 20, tzinfo=UTC),
    datetime(2023, 2, 1, tzinfo=UTC),  # the same instant as another user: ordered by id
    datetime(2023, 3, 1, tzinfo=UTC),
]


@pytest.mark.parametrize("skip_from", [0, None], ids=["skip-months", "walk-from-the-start"])
async def test_deep_pages_start_in_the_right_month(
    client: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch, skip_from: int | None
) -> None:
    """Deep pages of the unfiltered list find their first user from the provider's users counted
    per month (migration 0029), shallow ones by walking from the start (every page here, unless
    the threshold is 0): either way every page size gives every user once, in (created_at, id)
    order, across month starts and shared creation times, without the 2020 cohort's users and
    with a user of two records once; a cohort filter and the newest-first order still walk."""
    if skip_from is not None:
        monkeypatch.setattr("app.repositories.ecf_participants.SKIP_FROM", skip_from)
    lp, other = await f.provider(session), await f.provider(session)
    assert lp.lead_provider is not None and other.lead_provider is not None
    people = [
        await f.person(session, trn=str(5_000_000 + f.n()), created_at=created)
        for created in USERS_ACROSS_MONTHS
    ]
    for person in people:
        await f.participant(session, lp.lead_provider, 2022, person_=person)
    await f.participant(session, lp.lead_provider, 2023, person_=people[3], profile_type="mentor")
    users = [person.user for person in people]
    await f.participant(
        session, lp.lead_provider, 2020, person_=await f.person(session, created_at=USERS_ACROSS_MONTHS[1])
    )
    await f.participant(
        session, other.lead_provider, 2022, person_=await f.person(session, created_at=USERS_ACROSS_MONTHS[0])
    )
    oldest_first = [str(u.id) for u in sorted(users, key=lambda u: (u.created_at, str(u.id)))]
    for per_page in (1, 2, 3, 4, 7):
        assert await every_page(client, LIST, lp.headers, per_page) == oldest_first, per_page
    newest_first = [str(u.id) for u in sorted(users, key=lambda u: (-u.created_at.timestamp(), str(u.id)))]
    assert await every_page(client, f"{LIST}?sort=-created_at", lp.headers, 2) == newest_first
    assert await every_page(client, f"{LIST}?filter[cohort]=2022", lp.headers, 2) == oldest_first
