"""NPQ applications, reading side: list, show and the CSV exports in v1, v2 and v3."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.v1.npq_application_serializers import NPQ_APPLICATION_CSV_HEADER
from app.api.v2.npq_application_serializers import NPQ_APPLICATION_CSV_HEADER_V2, NPQ_ENROLMENT_CSV_HEADER
from app.models import NpqApplication, ParticipantIdentity
from app.seed import seed_sandbox
from app.seed.reference import NPQ_PROVIDERS
from app.settings import Settings
from tests import factories as f
from tests import factories_npq as fn

VERSIONS = ("v1", "v2", "v3")
UPDATED_SINCE_ERROR = "The filter '#/updated_since' must be a valid RCF3339 date"


def url(version: str, suffix: str = "") -> str:
    return f"/api/{version}/npq-applications{suffix}"


async def npq_provider(session: AsyncSession) -> f.Provider:
    return await f.provider(session, ecf=False, npq=True)


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


def attributes(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["type"] == "npq_application"
    result: dict[str, Any] = data["attributes"]
    return result


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


async def stamp(session: AsyncSession, table: str, row_id: Any, moment: datetime) -> None:
    sql = f"UPDATE {table} SET updated_at = :m WHERE id = :id"  # noqa: S608 (test-chosen table names)
    await session.execute(text(sql), {"m": moment, "id": row_id})


# ---- access ---------------------------------------------------------------------------------------


ROUTES = (
    [(v, "GET", url(v)) for v in VERSIONS]
    + [(v, "GET", url(v, ".csv")) for v in ("v1", "v2")]
    + [("v2", "GET", "/api/v2/npq-enrolments.csv")]
)


@pytest.mark.parametrize(("version", "method", "path"), ROUTES)
async def test_tokens_and_roles(
    client: httpx.AsyncClient, session: AsyncSession, version: str, method: str, path: str
) -> None:
    assert (await client.request(method, path)).status_code == 401
    bad = await client.request(method, path, headers={"Authorization": "Bearer nope"})
    assert (bad.status_code, bad.json()) == (401, {"error": "HTTP Token: Access denied"})
    ecf_only = await f.provider(session)
    forbidden = await client.request(method, path, headers=ecf_only.headers)
    assert (forbidden.status_code, forbidden.content) == (403, b"")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("action", ["", "/accept", "/reject"])
async def test_single_application_routes_need_an_npq_token(
    client: httpx.AsyncClient, session: AsyncSession, version: str, action: str
) -> None:
    lp = await npq_provider(session)
    app = await fn.application(session, lp)
    method = "GET" if action == "" else "POST"
    path = url(version, f"/{app.id}{action}")
    assert (await client.request(method, path)).status_code == 401
    ecf_only = await f.provider(session)
    assert (await client.request(method, path, headers=ecf_only.headers)).status_code == 403


async def test_csv_and_enrolment_routes_exist_only_where_the_reference_has_them(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await npq_provider(session)
    assert (await client.get(url("v3", ".csv"), headers=lp.headers)).status_code == 404
    for version in ("v1", "v3"):
        assert (await client.get(f"/api/{version}/npq-enrolments.csv", headers=lp.headers)).status_code == 404


# ---- attributes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_every_attribute_of_a_pending_application(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await npq_provider(session)
    person = await f.person(session, full_name="Isabelle MacDonald", trn="0743795")
    app = await fn.application(
        session,
        lp,
        person_=person,
        course="npq-leading-teaching-development",
        year=2022,
        employer_name="Some Company Ltd",
        employment_role="Director",
        funding_choice="trust",
        headteacher_status="yes_when_course_starts",
        private_childcare_provider_urn="EY944860",
        teacher_reference_number="0743795",
        teacher_reference_number_verified=False,
        works_in_school=False,
        targeted_delivery_funding_eligibility=True,
        itt_provider="University of Southampton",
        lead_mentor=True,
        created_at=datetime(2022, 7, 6, 10, 47, 24, 123456, tzinfo=UTC),
    )
    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    await stamp(session, "users", person.user.id, moment)
    response = await client.get(url(version, f"/{app.id}"), headers=lp.headers)
    expected = {
        "course_identifier": "npq-leading-teaching-development",
        "email": person.identity.email,
        "email_validated": True,
        "employer_name": "Some Company Ltd",
        "employment_role": "Director",
        "full_name": "Isabelle MacDonald",
        "funding_choice": "trust",
        "headteacher_status": "yes_when_course_starts",
        "ineligible_for_funding_reason": None,
        "participant_id": str(person.user.id),
        "private_childcare_provider_urn": "EY944860",
        "teacher_reference_number": "0743795",
        "teacher_reference_number_validated": False,
        "school_urn": "123456",
        "school_ukprn": "10012345",
        "status": "pending",
        "works_in_school": False,
        "created_at": "2022-07-06T10:47:24Z",
        "updated_at": "2030-01-02T03:04:05Z",
        "cohort": "2022",
        "eligible_for_funding": True,
        "targeted_delivery_funding_eligibility": True,
        "teacher_catchment": True,
        "teacher_catchment_iso_country_code": "GBR",
        "teacher_catchment_country": "United Kingdom of Great Britain and Northern Ireland",
        "itt_provider": "University of Southampton",
        "lead_mentor": True,
    }
    if version == "v3":
        expected["schedule_identifier"] = None
    assert response.json()["data"]["id"] == str(app.id)
    got = attributes(response)
    assert got == expected
    assert list(got) == list(expected)  # the reference's attribute order


async def test_nullable_fields_come_out_as_null(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await npq_provider(session)
    app = await fn.application(
        session,
        lp,
        person_=await f.person(session, trn=None),
        school_urn=None,
        school_ukprn=None,
        headteacher_status=None,
        funding_choice=None,
        works_in_school=None,
        teacher_catchment=None,
        teacher_catchment_country=None,
        teacher_catchment_iso_country_code=None,
    )
    for version in VERSIONS:
        got = attributes(await client.get(url(version, f"/{app.id}"), headers=lp.headers))
        assert got["teacher_reference_number"] is None and got["school_urn"] is None
        assert got["funding_choice"] is None and got["headteacher_status"] is None
        assert got["works_in_school"] is None
        assert got["teacher_catchment"] is False  # never null


@pytest.mark.parametrize(
    ("catchment", "expected"),
    [
        ("england", True),
        ("scotland", True),
        ("wales", True),
        ("northern_ireland", True),
        ("jersey_guernsey_isle_of_man", True),
        ("another", False),
        (None, False),
    ],
)
async def test_teacher_catchment_is_whether_the_catchment_is_in_the_uk(
    client: httpx.AsyncClient, session: AsyncSession, catchment: str | None, expected: bool
) -> None:
    lp = await npq_provider(session)
    app = await fn.application(session, lp, teacher_catchment=catchment)
    assert (
        attributes(await client.get(url("v1", f"/{app.id}"), headers=lp.headers))["teacher_catchment"]
        is expected
    )


async def test_accepted_application_shows_its_schedule_in_v3_only(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await npq_provider(session)
    n = await fn.accepted(session, lp, await fn.person(session), course="npq-leading-teaching")
    v3 = attributes(await client.get(url("v3", f"/{n.application.id}"), headers=lp.headers))
    assert (v3["status"], v3["schedule_identifier"]) == ("accepted", "npq-specialist-autumn")
    v1 = attributes(await client.get(url("v1", f"/{n.application.id}"), headers=lp.headers))
    assert "schedule_identifier" not in v1


async def test_updated_at_is_the_latest_of_application_user_identity_and_training_record(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await npq_provider(session)
    person = await fn.person(session)
    n = await fn.accepted(session, lp, person)
    base = datetime(2031, 1, 1, tzinfo=UTC)
    rows = [
        ("npq_applications", n.application.id),
        ("users", person.user.id),
        ("participant_identities", person.identity.id),
        ("participant_profiles", n.profile.id),
    ]
    for step, (table, row_id) in enumerate(rows):
        moment = base + timedelta(days=step)
        await stamp(session, table, row_id, moment)
        got = attributes(await client.get(url("v3", f"/{n.application.id}"), headers=lp.headers))
        assert got["updated_at"] == moment.strftime("%Y-%m-%dT%H:%M:%SZ"), table


# ---- funding eligibility ------------------------------------------------------------------------------


async def eligibility(client: httpx.AsyncClient, lp: f.Provider, app: NpqApplication) -> tuple[Any, Any]:
    got = attributes(await client.get(url("v3", f"/{app.id}"), headers=lp.headers))
    return got["eligible_for_funding"], got["ineligible_for_funding_reason"]


async def test_establishment_ineligible(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await npq_provider(session)
    app = await fn.application(session, lp, eligible_for_funding=False)
    assert await eligibility(client, lp, app) == (False, "establishment-ineligible")


@pytest.mark.parametrize(
    ("earlier_course", "course"),
    [
        ("npq-headship", "npq-headship"),
        ("npq-additional-support-offer", "npq-early-headship-coaching-offer"),
        ("npq-early-headship-coaching-offer", "npq-additional-support-offer"),
    ],
)
async def test_previously_funded_by_an_accepted_funded_application_for_the_course(
    client: httpx.AsyncClient, session: AsyncSession, earlier_course: str, course: str
) -> None:
    lp = await npq_provider(session)
    other = await npq_provider(session)
    person = await fn.person(session)
    await fn.accepted(session, other, person, course=earlier_course, year=2021)
    app = await fn.application(session, lp, person_=person, course=course, year=2023)
    assert await eligibility(client, lp, app) == (False, "previously-funded")
    # previous funding wins over an ineligible establishment
    await session.execute(
        text("UPDATE npq_applications SET eligible_for_funding = false WHERE id = :id"), {"id": app.id}
    )
    assert await eligibility(client, lp, app) == (False, "previously-funded")


async def test_what_does_not_count_as_previous_funding(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await npq_provider(session)
    person = await fn.person(session)
    # unfunded acceptance, pending and rejected applications, another course
    await fn.accepted(session, lp, person, course="npq-headship", year=2021, eligible_for_funding=False)
    await fn.application(session, lp, person_=person, course="npq-headship", year=2022)
    await fn.application(session, lp, person_=person, course="npq-headship", year=2022, status="rejected")
    await fn.accepted(session, lp, person, course="npq-senior-leadership", year=2021)
    app = await fn.application(session, lp, person_=person, course="npq-headship", year=2023)
    assert await eligibility(client, lp, app) == (True, None)
    # another identity of the same user is a different applicant for this rule
    second = await fn.person(session)
    identity = ParticipantIdentity(
        user_id=person.user.id,
        email=f"second-{uuid.uuid4().hex[:6]}@example.com",
        external_identifier=uuid.uuid4(),
    )
    session.add(identity)
    await session.flush()
    second.identity = identity
    await fn.accepted(session, lp, second, course="npq-executive-leadership", year=2021)
    later = await fn.application(session, lp, person_=person, course="npq-executive-leadership", year=2023)
    assert await eligibility(client, lp, later) == (True, None)


async def test_previous_funding_is_computed_for_a_whole_page_in_one_list(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await npq_provider(session)
    funded, fresh = await fn.person(session), await fn.person(session)
    await fn.accepted(session, lp, funded, year=2021)
    again = await fn.application(session, lp, person_=funded, year=2023)
    new = await fn.application(session, lp, person_=fresh, year=2023)
    data = (await client.get(url("v1"), headers=lp.headers, params={"filter[cohort]": "2023"})).json()["data"]
    by_id = {d["id"]: d["attributes"]["ineligible_for_funding_reason"] for d in data}
    assert by_id == {str(again.id): "previously-funded", str(new.id): None}


# ---- lists: scope, order, paging -----------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_list_shows_own_applications_after_2020_oldest_first(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp, other = await npq_provider(session), await npq_provider(session)
    t = datetime(2022, 6, 1, tzinfo=UTC)
    second = await fn.application(session, lp, year=2023, created_at=t + timedelta(hours=2))
    first = await fn.application(session, lp, year=2021, created_at=t)
    third = await fn.application(session, lp, year=2022, created_at=t + timedelta(hours=3))
    await fn.application(session, lp, year=2020, created_at=t + timedelta(hours=1))
    await fn.application(session, lp, year=None, created_at=t + timedelta(hours=1))
    await fn.application(session, other, year=2022)
    assert ids(await client.get(url(version), headers=lp.headers)) == [
        str(first.id),
        str(second.id),
        str(third.id),
    ]


@pytest.mark.parametrize("version", VERSIONS)
async def test_paging_is_stable_with_equal_creation_times(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await npq_provider(session)
    same = datetime(2022, 6, 1, tzinfo=UTC)
    apps = [await fn.application(session, lp, created_at=same) for _ in range(5)]
    pages = []
    for number in (1, 2, 3):
        response = await client.get(
            url(version), headers=lp.headers, params={"page[page]": str(number), "page[per_page]": "2"}
        )
        pages.append(ids(response))
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sorted(i for p in pages for i in p) == sorted(str(a.id) for a in apps)
    past = await client.get(
        url(version), headers=lp.headers, params={"page[page]": "4", "page[per_page]": "2"}
    )
    assert ids(past) == []


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("params", "status", "body"),
    [
        ({"filter[updated_since]": "yesterday"}, 400, [("Bad request", UPDATED_SINCE_ERROR)]),
        ({"filter": "abc"}, 400, [("Bad parameter", "Filter must be a hash")]),
        (
            {"page[per_page]": "0"},
            400,
            [
                (
                    "Bad request",
                    "The '#/page[page]' and '#/page[per_page]' parameter values must be a valid number "
                    "(equal and more than 1)",
                )
            ],
        ),
    ],
)
async def test_bad_list_parameters(
    client: httpx.AsyncClient,
    session: AsyncSession,
    version: str,
    params: dict[str, str],
    status: int,
    body: list[tuple[str, str]],
) -> None:
    lp = await npq_provider(session)
    response = await client.get(url(version), headers=lp.headers, params=params)
    assert response.status_code == status
    assert response.json() == {"errors": [{"title": t, "detail": d} for t, d in body]}


@pytest.mark.parametrize("version", VERSIONS)
async def test_updated_since_is_strictly_after_the_application_row(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await npq_provider(session)
    old = await fn.application(session, lp)
    new = await fn.application(session, lp)
    cut = datetime(2030, 5, 1, 12, tzinfo=UTC)
    await stamp(session, "npq_applications", old.id, cut)
    await stamp(session, "npq_applications", new.id, cut + timedelta(seconds=1))
    response = await client.get(
        url(version), headers=lp.headers, params={"filter[updated_since]": "2030-05-01T12:00:00Z"}
    )
    assert ids(response) == [str(new.id)]
    # URL-encoded once more, as some clients send it
    encoded = await client.get(
        url(version) + "?filter[updated_since]=2030-05-01T12%253A00%253A00%252B00%253A00", headers=lp.headers
    )
    assert ids(encoded) == [str(new.id)]


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_v1_v2_cohort_filter_is_one_year(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await npq_provider(session)
    a2021 = await fn.application(session, lp, year=2021)
    a2022 = await fn.application(session, lp, year=2022)
    a2020 = await fn.application(session, lp, year=2020)
    nothing = await fn.application(session, lp, year=None)

    async def listed(value: str) -> list[str]:
        return ids(await client.get(url(version), headers=lp.headers, params={"filter[cohort]": value}))

    assert await listed("2022") == [str(a2022.id)]
    assert await listed("2020") == [str(a2020.id)]
    assert await listed("2021,2022") == [str(a2021.id)]  # read as its leading number
    assert await listed("") == [str(a2021.id), str(a2022.id)]
    # An unknown year matches the applications that have no cohort, as in the reference. (Checked
    # through the CSV export, which shares the filters: the JSON document has no null cohort.)
    for value in ("1999", "abc"):
        response = await client.get(
            url(version, ".csv"), headers=lp.headers, params={"filter[cohort]": value}
        )
        assert [(r["id"], r["cohort"]) for r in csv_rows(response)] == [(str(nothing.id), "")]


async def test_v3_cohort_filter_is_a_list(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await npq_provider(session)
    a2021 = await fn.application(session, lp, year=2021)
    a2022 = await fn.application(session, lp, year=2022)
    await fn.application(session, lp, year=2023)
    await fn.application(session, lp, year=None)

    async def listed(value: str) -> list[str]:
        return ids(await client.get(url("v3"), headers=lp.headers, params={"filter[cohort]": value}))

    assert await listed("2021,2022") == [str(a2021.id), str(a2022.id)]
    assert await listed("2022") == [str(a2022.id)]
    assert await listed("abc") == []


async def test_v3_participant_id_filter_takes_one_user(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await npq_provider(session)
    someone, other = await fn.person(session), await fn.person(session)
    mine = await fn.application(session, lp, person_=someone)
    theirs = await fn.application(session, lp, person_=other)

    async def listed(value: str) -> list[str]:
        return ids(await client.get(url("v3"), headers=lp.headers, params={"filter[participant_id]": value}))

    assert await listed(str(someone.user.id)) == [str(mine.id)]
    assert await listed(str(other.user.id)) == [str(theirs.id)]
    # one id only: a comma list or anything else is no participant
    assert await listed(f"{someone.user.id},{other.user.id}") == []
    assert await listed("not-an-id") == []
    # v1 has no such filter
    v1 = await client.get(
        url("v1"), headers=lp.headers, params={"filter[participant_id]": str(other.user.id)}
    )
    assert ids(v1) == [str(mine.id), str(theirs.id)]


async def test_v3_sort(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await npq_provider(session)
    t = datetime(2022, 6, 1, tzinfo=UTC)
    a = await fn.application(session, lp, created_at=t)
    b = await fn.application(session, lp, created_at=t + timedelta(hours=1))
    c = await fn.application(session, lp, created_at=t + timedelta(hours=2))
    await stamp(session, "npq_applications", a.id, t + timedelta(days=3))
    await stamp(session, "npq_applications", b.id, t + timedelta(days=1))
    await stamp(session, "npq_applications", c.id, t + timedelta(days=2))

    async def sorted_by(value: str) -> list[str]:
        return ids(await client.get(url("v3"), headers=lp.headers, params={"sort": value}))

    assert await sorted_by("-created_at") == [str(c.id), str(b.id), str(a.id)]
    assert await sorted_by("updated_at") == [str(b.id), str(c.id), str(a.id)]
    assert await sorted_by("+updated_at") == [str(b.id), str(c.id), str(a.id)]
    assert await sorted_by("-updated_at") == [str(a.id), str(c.id), str(b.id)]
    assert await sorted_by("nonsense,-created_at") == [str(c.id), str(b.id), str(a.id)]
    assert await sorted_by("nonsense") == [str(a.id), str(b.id), str(c.id)]
    # v1 ignores sort
    assert ids(await client.get(url("v1"), headers=lp.headers, params={"sort": "-created_at"})) == [
        str(a.id),
        str(b.id),
        str(c.id),
    ]


# ---- show ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_show_is_scoped_to_the_provider(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp, other = await npq_provider(session), await npq_provider(session)
    mine = await fn.application(session, lp, year=2020)  # any cohort
    theirs = await fn.application(session, other)
    assert attributes(await client.get(url(version, f"/{mine.id}"), headers=lp.headers))["cohort"] == "2020"
    for missing in (str(theirs.id), str(uuid.uuid4()), "not-a-uuid"):
        response = await client.get(url(version, f"/{missing}"), headers=lp.headers)
        assert (response.status_code, response.json()) == (404, {"error": "Resource not Found"})


# ---- CSV ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "header"), [("v1", NPQ_APPLICATION_CSV_HEADER), ("v2", NPQ_APPLICATION_CSV_HEADER_V2)]
)
async def test_applications_csv(
    client: httpx.AsyncClient, session: AsyncSession, version: str, header: tuple[str, ...]
) -> None:
    lp = await npq_provider(session)
    empty = await client.get(url(version, ".csv"), headers=lp.headers)
    assert empty.text.splitlines() == [",".join(header)]  # header even when nothing matches

    person = await f.person(session, full_name="Ada Lovelace", trn="1001001")
    await fn.accepted(session, lp, person, year=2021)
    app = await fn.application(
        session,
        lp,
        person_=person,
        year=2023,
        funding_choice=None,
        works_in_school=False,
        employer_name="=cmd",  # formula-looking values are neutralised
        created_at=datetime(2023, 5, 1, 9, 30, tzinfo=UTC),
    )
    rows = csv_rows(
        await client.get(url(version, ".csv"), headers=lp.headers, params={"filter[cohort]": "2023"})
    )
    assert len(rows) == 1
    row = rows[0]
    assert tuple(row) == header
    json_attrs = attributes(await client.get(url(version, f"/{app.id}"), headers=lp.headers))
    expected = {
        "id": str(app.id),
        "participant_id": str(person.user.id),
        "full_name": "Ada Lovelace",
        "email": person.identity.email,
        "email_validated": "true",
        "teacher_reference_number": "1001001",
        "teacher_reference_number_validated": "true",
        "school_urn": "123456",
        "school_ukprn": "10012345",
        "private_childcare_provider_urn": "",
        "headteacher_status": "no",
        "eligible_for_funding": "false",  # previously funded
        "funding_choice": "",
        "course_identifier": "npq-headship",
        "status": "pending",
        "works_in_school": "false",
        "employer_name": "'=cmd",
        "employment_role": "",
        "created_at": "2023-05-01T09:30:00Z",
        "updated_at": json_attrs["updated_at"],
        "cohort": "2023",
        "ineligible_for_funding_reason": "previously-funded",
        "targeted_delivery_funding_eligibility": "false",
        "teacher_catchment": "true",
        "teacher_catchment_country": "United Kingdom of Great Britain and Northern Ireland",
        "teacher_catchment_iso_country_code": "GBR",
        "itt_provider": "",
        "lead_mentor": "false",
    }
    assert row == {k: v for k, v in expected.items() if k in header}


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_applications_csv_filters_and_ignores_paging(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp, other = await npq_provider(session), await npq_provider(session)
    apps = [await fn.application(session, lp, year=2022) for _ in range(3)]
    await fn.application(session, lp, year=2020)
    await fn.application(session, other, year=2022)
    rows = csv_rows(
        await client.get(url(version, ".csv"), headers=lp.headers, params={"page[per_page]": "1"})
    )
    assert [r["id"] for r in rows] == [str(a.id) for a in apps]
    cut = datetime(2030, 1, 1, tzinfo=UTC)
    await stamp(session, "npq_applications", apps[1].id, cut + timedelta(seconds=1))
    since = await client.get(
        url(version, ".csv"), headers=lp.headers, params={"filter[updated_since]": cut.isoformat()}
    )
    assert [r["id"] for r in csv_rows(since)] == [str(apps[1].id)]
    bad = await client.get(url(version, ".csv"), headers=lp.headers, params={"filter[updated_since]": "x"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["detail"] == UPDATED_SINCE_ERROR


async def test_enrolments_csv(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, other = await npq_provider(session), await npq_provider(session)
    path = "/api/v2/npq-enrolments.csv"
    empty = await client.get(path, headers=lp.headers)
    assert empty.text.splitlines() == [",".join(NPQ_ENROLMENT_CSV_HEADER)]

    funded_before, person = await fn.person(session), await fn.person(session)
    await fn.accepted(session, other, funded_before, year=2021)  # someone else's participant
    late = await fn.accepted(session, lp, person, course="npq-leading-teaching", year=2022)
    early = await fn.accepted(
        session, lp, funded_before, course="npq-headship", year=2023, eligible_for_funding=True
    )
    await fn.application(session, lp)  # pending: no enrolment
    await session.execute(
        text(
            "UPDATE participant_profiles SET training_status = 'deferred', school_urn = '654321'"
            " WHERE id = :id"
        ),
        {"id": late.profile.id},
    )
    await stamp(session, "participant_profiles", early.profile.id, datetime(2030, 1, 1, tzinfo=UTC))
    await stamp(session, "participant_profiles", late.profile.id, datetime(2030, 1, 2, tzinfo=UTC))
    rows = csv_rows(await client.get(path, headers=lp.headers))
    assert rows == [
        {
            "participant_id": str(funded_before.user.id),
            "course_identifier": "npq-headship",
            "schedule_identifier": "npq-leadership-autumn",
            "cohort": "2023",
            "npq_application_id": str(early.application.id),
            # the application's own flag, although its JSON says previously funded
            "eligible_for_funding": "true",
            "training_status": "active",
            "school_urn": "",
        },
        {
            "participant_id": str(person.user.id),
            "course_identifier": "npq-leading-teaching",
            "schedule_identifier": "npq-specialist-autumn",
            "cohort": "2022",
            "npq_application_id": str(late.application.id),
            "eligible_for_funding": "true",
            "training_status": "deferred",
            "school_urn": "654321",
        },
    ]
    since = await client.get(
        path, headers=lp.headers, params={"filter[updated_since]": "2030-01-01T00:00:00Z"}
    )
    assert [r["npq_application_id"] for r in csv_rows(since)] == [str(late.application.id)]
    bad = await client.get(path, headers=lp.headers, params={"filter[updated_since]": "x"})
    assert bad.status_code == 400


# ---- sandbox seed -------------------------------------------------------------------------------------


async def test_seeded_npq_providers_have_applications_in_every_state_for_every_course_family(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await seed_sandbox(session, settings=settings, today=datetime.now(UTC).date())
    families = {
        "leadership": (
            "npq-senior-leadership",
            "npq-headship",
            "npq-executive-leadership",
            "npq-early-years-leadership",
        ),
        "specialist": (
            "npq-leading-teaching",
            "npq-leading-behaviour-culture",
            "npq-leading-teaching-development",
            "npq-leading-literacy",
            "npq-leading-primary-mathematics",
        ),
        "ehco": ("npq-early-headship-coaching-offer",),
        "aso": ("npq-additional-support-offer",),
    }
    assert len(NPQ_PROVIDERS) == 10
    for provider in NPQ_PROVIDERS:
        headers = {"Authorization": f"Bearer {provider.token}"}
        seen: set[tuple[str, str]] = set()
        for cohorts in ("2021", "2022,2023,2024"):
            response = await client.get(
                url("v3"), headers=headers, params={"filter[cohort]": cohorts, "page[per_page]": "3000"}
            )
            for item in response.json()["data"]:
                course = item["attributes"]["course_identifier"]
                family = next(name for name, courses in families.items() if course in courses)
                seen.add((family, item["attributes"]["status"]))
        assert seen == {
            (family, status) for family in families for status in ("pending", "accepted", "rejected")
        }, provider.name
