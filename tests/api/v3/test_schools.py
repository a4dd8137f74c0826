"""v3 ECF schools (ecf.md §5.3): which schools a cohort lists, the required cohort filter, the other
filters, sorting, paging, the show route and each attribute's derivation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import School, SchoolCohort
from tests import factories as f
from tests import factories_schools as fs
from tests.contract import assert_matches_spec

LIST = "/api/v3/schools/ecf"
SHOW = "/api/v3/schools/ecf/{id}"
COHORT_REQUIRED = {
    "errors": [{"title": "Bad parameter", "detail": "The filter '#/cohort' must be included in your request"}]
}
MOMENT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def listed(
    client: httpx.AsyncClient, lp: f.Provider, params: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    response = await client.get(LIST, params={"filter[cohort]": "2022", **(params or {})}, headers=lp.headers)
    assert response.status_code == 200, response.text
    assert_matches_spec("v3", "get", LIST, 200, response.json())
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def listed_ids(
    client: httpx.AsyncClient, lp: f.Provider, params: dict[str, str] | None = None
) -> list[str]:
    return [item["id"] for item in await listed(client, lp, params)]


async def show(
    client: httpx.AsyncClient, lp: f.Provider, school_id: object, params: dict[str, str] | None = None
) -> httpx.Response:
    path = SHOW.format(id=school_id)
    response = await client.get(path, params={"filter[cohort]": "2022", **(params or {})}, headers=lp.headers)
    if response.status_code == 200:
        assert_matches_spec("v3", "get", SHOW, 200, response.json())
    return response


async def attributes_of(
    client: httpx.AsyncClient, lp: f.Provider, school: School, params: dict[str, str] | None = None
) -> dict[str, Any]:
    response = await show(client, lp, school.id, params)
    assert response.status_code == 200, response.text
    attributes: dict[str, Any] = response.json()["data"]["attributes"]
    return attributes


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- which schools ------------------------------------------------------------------------------


async def test_lists_eligible_schools_that_are_not_cip_only(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    await f.cohort(session, 2022)
    visible = [
        await fs.school(session),  # open, in England, eligible type
        await fs.school(session, school_status_code=3),  # open, proposed to close
        await fs.school(session, administrative_district_code="9999"),
        await fs.school(session, administrative_district_code="e06000001"),  # case-insensitive E
        await fs.school(session, school_type_code=25, section_41_approved=True),  # section 41 approved
        await fs.school(session, school_type_code=None, section_41_approved=True),
        await fs.school(session, school_type_code=48),
    ]
    await fs.school(session, school_status_code=2)  # closed
    await fs.school(session, school_status_code=None)
    await fs.school(session, administrative_district_code="W06000001")  # Wales
    await fs.school(session, administrative_district_code=None)
    await fs.school(session, school_type_code=25)  # ineligible establishment type
    await fs.school(session, school_type_code=None)
    # Section 41 makes a CIP-only type eligible, but CIP-only schools are left out.
    for cip_type in (10, 11, 30, 37):
        await fs.school(session, school_type_code=cip_type, section_41_approved=True)

    assert await listed_ids(client, lp) == [str(s.id) for s in visible]


async def test_a_closed_cip_only_type_school_with_section_41_is_not_eligible(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    await f.cohort(session, 2022)
    await fs.school(session, school_type_code=10, section_41_approved=True, school_status_code=2)
    assert await listed_ids(client, lp) == []


async def test_a_partnership_in_the_cohort_makes_any_school_visible(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    other = await f.provider(session)
    closed = await fs.school(session, school_status_code=2)
    welsh = await fs.school(session, administrative_district_code="W06000001")
    cip_only = await fs.school(session, school_type_code=10)
    pending = await fs.school(session, school_status_code=2)
    await fs.partnership(session, closed, other.lead_provider, 2022)
    await fs.partnership(session, welsh, lp.lead_provider, 2022)
    await fs.partnership(session, cip_only, other.lead_provider, 2022)
    await fs.partnership(session, pending, other.lead_provider, 2022, pending=True)

    expected = [str(s.id) for s in (closed, welsh, cip_only, pending)]
    assert await listed_ids(client, lp) == expected
    # Only in the cohort of the partnership.
    await f.cohort(session, 2023)
    assert await listed_ids(client, lp, {"filter[cohort]": "2023"}) == []


async def test_challenged_and_relationship_partnerships_do_not_make_a_school_visible(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    challenged = await fs.school(session, school_status_code=2)
    reason_only = await fs.school(session, school_status_code=2)
    relationship = await fs.school(session, school_status_code=2)
    await fs.partnership(session, challenged, lp.lead_provider, 2022, challenged=True)
    await fs.partnership(session, reason_only, lp.lead_provider, 2022, challenge_reason_only=True)
    await fs.partnership(session, relationship, lp.lead_provider, 2022, relationship_=True)
    assert await listed_ids(client, lp) == []


async def test_every_provider_sees_the_same_schools(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    other = await f.provider(session)
    mine = await fs.school(session)
    theirs = await fs.school(session, school_status_code=2)
    await fs.partnership(session, mine, lp.lead_provider, 2022)
    await fs.partnership(session, theirs, other.lead_provider, 2022)
    expected = [str(mine.id), str(theirs.id)]
    assert await listed_ids(client, lp) == expected
    assert await listed_ids(client, other) == expected


# ---- attributes ---------------------------------------------------------------------------------


async def test_school_document(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    created = datetime(2023, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    school = await fs.school(session, name="Greenfield Academy", urn="123456", created_at=created)
    sc = await fs.school_cohort(session, school, 2022, "school_funded_fip")
    await fs.set_updated_at(session, School, school.id, MOMENT)
    await fs.set_updated_at(session, SchoolCohort, sc.id, MOMENT - timedelta(days=1))

    response = await show(client, lp, school.id)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.api+json"
    expected = {
        "id": str(school.id),
        "type": "school",
        "attributes": {
            "name": "Greenfield Academy",
            "urn": "123456",
            "cohort": "2022",
            "in_partnership": False,
            "induction_programme_choice": "school_funded_fip",
            "created_at": "2023-01-02T03:04:05Z",
            "updated_at": "2026-06-01T12:00:00Z",
        },
    }
    assert response.json() == {"data": expected}
    assert await listed(client, lp) == [expected]


async def test_in_partnership(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    other = await f.provider(session)
    cases: list[tuple[School, bool]] = []

    async def case(expected: bool, partnered: bool = True, **partnership: Any) -> None:
        school = await fs.school(session)
        if partnered:
            year = partnership.pop("year", 2022)
            provider = partnership.pop("provider", lp)
            await fs.partnership(session, school, provider.lead_provider, year, **partnership)
        cases.append((school, expected))

    await case(False, partnered=False)
    await case(True)  # with the caller
    await case(True, provider=other)  # with any provider
    await case(True, relationship_=True)  # an internal relationship record counts here
    await case(True, pending=True)
    await case(False, challenged=True)
    await case(False, challenge_reason_only=True)
    await case(False, year=2023)  # another cohort

    data = {item["id"]: item["attributes"]["in_partnership"] for item in await listed(client, lp)}
    assert data == {str(school.id): expected for school, expected in cases}


async def test_in_partnership_when_a_challenged_partnership_sits_beside_an_active_one(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    other = await f.provider(session)
    school = await fs.school(session)
    await fs.partnership(session, school, lp.lead_provider, 2022, challenged=True)
    await fs.partnership(session, school, other.lead_provider, 2022)
    assert (await attributes_of(client, lp, school))["in_partnership"] is True


async def test_induction_programme_choice_of_the_cohort(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    await f.cohort(session, 2022)
    none = await fs.school(session)
    other_cohort = await fs.school(session)
    await fs.school_cohort(session, other_cohort, 2023, "full_induction_programme")
    default = await fs.school(session)
    await fs.school_cohort(session, default, 2022, None)
    choices = [
        "core_induction_programme",
        "full_induction_programme",
        "design_our_own",
        "school_funded_fip",
        "no_early_career_teachers",
        "not_yet_known",
    ]
    chosen = []
    for choice in choices:
        school = await fs.school(session)
        await fs.school_cohort(session, school, 2022, choice)
        chosen.append(school)

    data = {item["id"]: item["attributes"]["induction_programme_choice"] for item in await listed(client, lp)}
    assert data == {
        str(none.id): "not_yet_known",
        str(other_cohort.id): "not_yet_known",
        str(default.id): "not_yet_known",
        **{str(school.id): choice for school, choice in zip(chosen, choices, strict=True)},
    }


async def test_updated_at_is_the_later_of_school_and_its_cohort(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    cohort_later = await fs.school(session)
    school_later = await fs.school(session)
    no_cohort = await fs.school(session)
    for school, school_time, cohort_time in (
        (cohort_later, MOMENT, MOMENT + timedelta(hours=1)),
        (school_later, MOMENT + timedelta(hours=2), MOMENT),
    ):
        sc = await fs.school_cohort(session, school, 2022)
        await fs.set_updated_at(session, School, school.id, school_time)
        await fs.set_updated_at(session, SchoolCohort, sc.id, cohort_time)
    # Another cohort's record does not count.
    other = await fs.school_cohort(session, no_cohort, 2023)
    await fs.set_updated_at(session, School, no_cohort.id, MOMENT)
    await fs.set_updated_at(session, SchoolCohort, other.id, MOMENT + timedelta(days=5))

    data = {item["id"]: item["attributes"]["updated_at"] for item in await listed(client, lp)}
    assert data == {
        str(cohort_later.id): "2026-06-01T13:00:00Z",
        str(school_later.id): "2026-06-01T14:00:00Z",
        str(no_cohort.id): "2026-06-01T12:00:00Z",
    }


# ---- the cohort filter ----------------------------------------------------------------------------


async def test_cohort_filter_is_required(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    school = await fs.school(session)
    for path in (LIST, SHOW.format(id=school.id)):
        response = await client.get(path, headers=lp.headers)
        assert response.status_code == 400
        assert response.json() == COHORT_REQUIRED
        response = await client.get(path, params={"filter[urn]": school.urn}, headers=lp.headers)
        assert response.json() == COHORT_REQUIRED
        # Checked before the other filters are read.
        response = await client.get(path, params={"filter[updated_since]": "bad"}, headers=lp.headers)
        assert response.json() == COHORT_REQUIRED
    # Required even for an id that names no school.
    response = await client.get(SHOW.format(id="not-an-id"), headers=lp.headers)
    assert response.status_code == 400
    assert response.json() == COHORT_REQUIRED


async def test_filter_must_be_a_hash(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    response = await client.get(LIST, params={"filter": "2022"}, headers=lp.headers)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"title": "Bad parameter", "detail": "Filter must be a hash"}]}


async def test_a_blank_or_unknown_cohort_lists_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    school = await fs.school(session)
    await f.cohort(session, 2022)
    for cohort in ("", " ", "1999", "abc", "-2022", "99999999999999999999", "0"):
        assert await listed_ids(client, lp, {"filter[cohort]": cohort}) == [], cohort
        response = await show(client, lp, school.id, {"filter[cohort]": cohort})
        assert response.status_code == 404, cohort
        assert response.json() == {"error": "Resource not Found"}


async def test_cohort_is_read_as_one_year(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """The reference casts the value to an integer: leading digits name the year."""
    lp = await f.provider(session)
    school = await fs.school(session)
    await f.cohort(session, 2022)
    await f.cohort(session, 2023)
    for cohort in ("2022,2023", " 2022", "2022abc", "+2022"):
        data = await listed(client, lp, {"filter[cohort]": cohort})
        assert [(d["id"], d["attributes"]["cohort"]) for d in data] == [(str(school.id), "2022")], cohort


async def test_the_2020_cohort_can_be_asked_for(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    school = await fs.school(session)
    await f.cohort(session, 2020)
    data = await listed(client, lp, {"filter[cohort]": "2020"})
    assert [(d["id"], d["attributes"]["cohort"]) for d in data] == [(str(school.id), "2020")]


# ---- other filters ----------------------------------------------------------------------------------


async def test_urn_filter_is_an_exact_match(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    await f.cohort(session, 2022)
    wanted = await fs.school(session, urn="106286")
    other = await fs.school(session, urn="1062860")
    ineligible = await fs.school(session, urn="555555", school_status_code=2)
    assert await listed_ids(client, lp, {"filter[urn]": "106286"}) == [str(wanted.id)]
    assert await listed_ids(client, lp, {"filter[urn]": "10628"}) == []
    assert await listed_ids(client, lp, {"filter[urn]": ineligible.urn}) == []
    assert await listed_ids(client, lp, {"filter[urn]": "106286\x00"}) == []
    # Blank: not applied.
    assert await listed_ids(client, lp, {"filter[urn]": ""}) == [str(wanted.id), str(other.id)]


async def test_updated_since_compares_school_and_school_cohorts_inclusively(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    await f.cohort(session, 2022)
    old = await fs.school(session)
    exact = await fs.school(session)
    via_cohort = await fs.school(session)
    via_other_cohort = await fs.school(session)
    for school in (old, exact, via_cohort, via_other_cohort):
        await fs.set_updated_at(session, School, school.id, MOMENT - timedelta(seconds=1))
    await fs.set_updated_at(session, School, exact.id, MOMENT)
    stale = await fs.school_cohort(session, old, 2022)
    await fs.set_updated_at(session, SchoolCohort, stale.id, MOMENT - timedelta(seconds=1))
    fresh = await fs.school_cohort(session, via_cohort, 2022)
    await fs.set_updated_at(session, SchoolCohort, fresh.id, MOMENT)
    # Any school cohort of the school counts, as in the reference.
    fresh_other = await fs.school_cohort(session, via_other_cohort, 2023)
    await fs.set_updated_at(session, SchoolCohort, fresh_other.id, MOMENT + timedelta(days=1))

    expected = [str(exact.id), str(via_cohort.id), str(via_other_cohort.id)]
    for value in ("2026-06-01T12:00:00Z", "2026-06-01T13:00:00+01:00", "2026-06-01T13%3A00%3A00%2B01%3A00"):
        assert await listed_ids(client, lp, {"filter[updated_since]": value}) == expected, value
    assert await listed_ids(client, lp, {"filter[updated_since]": "2026-06-01T12:00:01Z"}) == [
        str(via_other_cohort.id)
    ]
    assert len(await listed_ids(client, lp, {"filter[updated_since]": ""})) == 4
    # The show route applies it too.
    since = {"filter[updated_since]": "2026-06-01T12:00:00Z"}
    assert (await show(client, lp, old.id, since)).status_code == 404
    assert (await show(client, lp, exact.id, since)).status_code == 200


async def test_invalid_updated_since(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    school = await fs.school(session)
    await f.cohort(session, 2022)
    for path in (LIST, SHOW.format(id=school.id)):
        response = await client.get(
            path, params={"filter[cohort]": "2022", "filter[updated_since]": "last week"}, headers=lp.headers
        )
        assert response.status_code == 400
        detail = "The filter '#/updated_since' must be a valid RCF3339 date"
        assert response.json() == {"errors": [{"title": "Bad request", "detail": detail}]}


# ---- sorting and paging -----------------------------------------------------------------------------


async def test_sort(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    await f.cohort(session, 2022)
    first = await fs.school(session, name="Charlie", urn="300000")
    second = await fs.school(session, name="Alpha", urn="200000")
    third = await fs.school(session, name="Bravo", urn="100000")
    await fs.set_updated_at(session, School, first.id, MOMENT + timedelta(hours=2))
    await fs.set_updated_at(session, School, second.id, MOMENT)
    await fs.set_updated_at(session, School, third.id, MOMENT + timedelta(hours=1))

    def order(*schools: School) -> list[str]:
        return [str(s.id) for s in schools]

    cases = {
        "": order(first, second, third),
        "updated_at": order(second, third, first),
        "-updated_at": order(first, third, second),
        "+updated_at": order(second, third, first),
        "-created_at": order(third, second, first),
        "name": order(second, third, first),
        "-urn": order(first, second, third),
        "unknown": order(first, second, third),  # unknown fields: the default order
        "unknown,-updated_at": order(first, third, second),
    }
    for sort, expected in cases.items():
        assert await listed_ids(client, lp, {"sort": sort}) == expected, sort


async def test_sort_by_updated_at_uses_the_school_column(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    early = await fs.school(session)
    late = await fs.school(session)
    await fs.set_updated_at(session, School, early.id, MOMENT)
    await fs.set_updated_at(session, School, late.id, MOMENT + timedelta(hours=1))
    sc = await fs.school_cohort(session, early, 2022)
    await fs.set_updated_at(session, SchoolCohort, sc.id, MOMENT + timedelta(hours=2))
    assert await listed_ids(client, lp, {"sort": "updated_at"}) == [str(early.id), str(late.id)]


async def test_pagination(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    await f.cohort(session, 2022)
    schools = [await fs.school(session) for _ in range(5)]
    ids = [str(s.id) for s in schools]
    assert await listed_ids(client, lp, {"page[per_page]": "2", "page[page]": "2"}) == ids[2:4]
    assert await listed_ids(client, lp, {"page[per_page]": "2", "page[page]": "3"}) == ids[4:]
    assert await listed_ids(client, lp, {"page[per_page]": "2", "page[page]": "4"}) == []
    assert await listed_ids(client, lp, {"page[per_page]": "5000"}) == ids
    for page in ({"page[page]": "0"}, {"page[per_page]": "abc"}, {"page": "2"}):
        response = await client.get(LIST, params={"filter[cohort]": "2022", **page}, headers=lp.headers)
        assert response.status_code == 400
        assert response.json()["errors"][0]["title"] == "Bad request"


# ---- show ------------------------------------------------------------------------------------------


async def test_show_finds_only_schools_of_the_cohort_list(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    await f.cohort(session, 2022)
    await f.cohort(session, 2023)
    listed_school = await fs.school(session, urn="111111")
    partnered = await fs.school(session, school_status_code=2)
    await fs.partnership(session, partnered, lp.lead_provider, 2023)
    ineligible = await fs.school(session, school_status_code=2)

    assert (await show(client, lp, listed_school.id)).status_code == 200
    assert (await show(client, lp, partnered.id, {"filter[cohort]": "2023"})).status_code == 200
    assert (await show(client, lp, listed_school.id, {"filter[urn]": "111111"})).status_code == 200
    missing = [
        (partnered.id, {}),  # partnered in 2023 only
        (ineligible.id, {}),
        (listed_school.id, {"filter[urn]": "999999"}),
        (uuid.uuid4(), {}),
        ("not-an-id", {}),
        (f"{listed_school.id}x", {}),
    ]
    for school_id, params in missing:
        response = await show(client, lp, school_id, params)
        assert response.status_code == 404, school_id
        assert response.json() == {"error": "Resource not Found"}


async def test_show_ignores_paging_and_sort(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    await f.cohort(session, 2022)
    school = await fs.school(session)
    response = await show(client, lp, school.id, {"page[page]": "0", "page": "x", "sort": "-name"})
    assert response.status_code == 200
    assert response.json()["data"]["id"] == str(school.id)


# ---- access -------------------------------------------------------------------------------------------


async def test_needs_a_token(client: httpx.AsyncClient, session: AsyncSession) -> None:
    school = await fs.school(session)
    for path in (LIST, SHOW.format(id=school.id)):
        for headers in ({}, {"Authorization": "Bearer unknown"}):
            response = await client.get(path, params={"filter[cohort]": "2022"}, headers=headers)
            assert response.status_code == 401
            assert response.json() == {"error": "HTTP Token: Access denied"}
            assert response.headers["www-authenticate"] == 'Token realm="Application"'


async def test_npq_only_provider_is_forbidden(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session, ecf=False, npq=True)
    school = await fs.school(session)
    for path in (LIST, SHOW.format(id=school.id)):
        # Access is checked before the filters.
        for params in ({"filter[cohort]": "2022"}, {}):
            response = await client.get(path, params=params, headers=lp.headers)
            assert response.status_code == 403
            assert response.content == b""
