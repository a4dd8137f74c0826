"""v3 ECF partnerships (ecf.md §5.4): which partnerships a provider sees, filters, sorting, paging,
the show route and every attribute; confirming a partnership (POST) and changing its delivery partner
(PUT) with each validation message in the reference's order, and what a confirmation changes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import partnerships as rules
from app.domain.errors import BAD_JSON_STRUCTURE
from app.models import (
    DeliveryPartner,
    InductionProgramme,
    InductionRecord,
    Partnership,
    School,
    SchoolCohort,
    User,
)
from app.repositories.partnerships import CohortRecord
from tests import factories as f
from tests import factories_partnerships as fp
from tests import factories_schools as fs
from tests.contract import assert_matches_spec

LIST = "/api/v3/partnerships/ecf"
SHOW = "/api/v3/partnerships/ecf/{id}"
OLD = datetime(2020, 1, 1, tzinfo=UTC)
MOMENT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NOT_FOUND = {"error": "Resource not Found"}
BAD_REQUEST = {"errors": [{"title": "Bad request", "detail": BAD_JSON_STRUCTURE}]}


async def listed(
    client: httpx.AsyncClient, lp: f.Provider, params: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    response = await client.get(LIST, params=params or {}, headers=lp.headers)
    assert response.status_code == 200, response.text
    assert_matches_spec("v3", "get", LIST, 200, response.json())
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def listed_ids(
    client: httpx.AsyncClient, lp: f.Provider, params: dict[str, str] | None = None
) -> list[str]:
    return [item["id"] for item in await listed(client, lp, params)]


async def show(client: httpx.AsyncClient, lp: f.Provider, partnership_id: object) -> httpx.Response:
    response = await client.get(SHOW.format(id=partnership_id), headers=lp.headers)
    if response.status_code == 200:
        assert_matches_spec("v3", "get", SHOW, 200, response.json())
    return response


async def attributes_of(client: httpx.AsyncClient, lp: f.Provider, partnership_id: object) -> dict[str, Any]:
    response = await show(client, lp, partnership_id)
    assert response.status_code == 200, response.text
    attributes: dict[str, Any] = response.json()["data"]["attributes"]
    return attributes


async def post(client: httpx.AsyncClient, lp: f.Provider, payload: Any) -> httpx.Response:
    response = await client.post(LIST, json=payload, headers=lp.headers)
    if response.status_code == 200:
        assert_matches_spec("v3", "post", LIST, 200, response.json())
    return response


async def put(
    client: httpx.AsyncClient, lp: f.Provider, partnership_id: object, payload: Any
) -> httpx.Response:
    response = await client.put(SHOW.format(id=partnership_id), json=payload, headers=lp.headers)
    if response.status_code == 200:
        assert_matches_spec("v3", "put", SHOW, 200, response.json())
    return response


def errors(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return [(e["title"], e["detail"]) for e in response.json()["errors"]]


def ids(*rows: Partnership) -> list[str]:
    return [str(r.id) for r in rows]


async def count_partnerships(session: AsyncSession, school: School) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(Partnership).where(Partnership.school_id == school.id)
        )
        or 0
    )


async def stored(session: AsyncSession, partnership_id: object) -> Partnership:
    row = (
        await session.execute(
            select(Partnership)
            .where(Partnership.id == uuid.UUID(str(partnership_id)))
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return row


async def school_cohort_of(session: AsyncSession, school: School, year: int) -> SchoolCohort | None:
    cohort = await f.cohort(session, year)
    return (
        await session.execute(
            select(SchoolCohort)
            .where(SchoolCohort.school_id == school.id, SchoolCohort.cohort_id == cohort.id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def set_updated_at(session: AsyncSession, model: Any, ident: object, value: datetime) -> None:
    await session.execute(update(model).where(model.id == ident).values(updated_at=value))


# ---- which partnerships ---------------------------------------------------------------------------


async def test_lists_own_partnerships_challenged_included(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    other = await f.provider(session)
    active = await fp.partnership(session, await fp.school(session), lp.lead_provider, 2022)
    challenged = await fp.partnership(
        session, await fp.school(session), lp.lead_provider, 2023, challenged=True
    )
    pending = await fp.partnership(session, await fp.school(session), lp.lead_provider, 2021, pending=True)
    # Never listed: internal relationship records, another provider's, and (by default) 2020.
    await fp.partnership(session, await fp.school(session), lp.lead_provider, 2022, relationship=True)
    await fp.partnership(session, await fp.school(session), other.lead_provider, 2022)
    await fp.partnership(session, await fp.school(session), lp.lead_provider, 2020)

    assert await listed_ids(client, lp) == ids(active, challenged, pending)


async def test_empty_list(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    assert await listed(client, lp) == []


async def test_attributes(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    school = await fp.school(session, urn="654321")
    partner = await fs.delivery_partner(session, "Northern Partners")
    tutor = await fp.tutor(session, school, full_name="Jane Tutor", email="jane@school.example")
    await fp.tutor(session, school, full_name="Later Tutor", email="later@school.example")
    row = await fp.partnership(session, school, lp.lead_provider, 2022, partner=partner, challenged=True)
    challenged_at = datetime(2022, 10, 3, 9, 15, 42, 123456, tzinfo=UTC)
    await session.execute(
        update(Partnership)
        .where(Partnership.id == row.id)
        .values(challenged_at=challenged_at, challenge_reason="no_ects", updated_at=OLD)
    )
    for model, ident in ((School, school.id), (DeliveryPartner, partner.id), (User, tutor.id)):
        await set_updated_at(session, model, ident, OLD)

    body = (await show(client, lp, row.id)).json()
    assert body["data"]["id"] == str(row.id)
    assert body["data"]["type"] == "partnership"
    attributes = body["data"]["attributes"]
    assert list(attributes) == [
        "cohort",
        "urn",
        "school_id",
        "delivery_partner_id",
        "delivery_partner_name",
        "status",
        "challenged_reason",
        "challenged_at",
        "induction_tutor_name",
        "induction_tutor_email",
        "created_at",
        "updated_at",
    ]
    assert attributes | {"created_at": None} == {
        "cohort": "2022",
        "urn": "654321",
        "school_id": str(school.id),
        "delivery_partner_id": str(partner.id),
        "delivery_partner_name": "Northern Partners",
        "status": "challenged",
        "challenged_reason": "no_ects",
        "challenged_at": "2022-10-03T09:15:42.123Z",
        "induction_tutor_name": "Jane Tutor",
        "induction_tutor_email": "jane@school.example",
        "created_at": None,
        "updated_at": "2020-01-01T00:00:00Z",
    }
    assert attributes["created_at"].endswith("Z") and "." not in attributes["created_at"]


async def test_status_follows_the_challenge_reason(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    active = await fp.partnership(session, await fp.school(session), lp.lead_provider)
    reason_only = await fs.partnership(
        session, await fp.school(session), lp.lead_provider, 2022, challenge_reason_only=True
    )
    assert (await attributes_of(client, lp, active.id))["status"] == "active"
    assert (await attributes_of(client, lp, active.id))["challenged_reason"] is None
    assert (await attributes_of(client, lp, active.id))["challenged_at"] is None
    attributes = await attributes_of(client, lp, reason_only.id)
    assert (attributes["status"], attributes["challenged_reason"], attributes["challenged_at"]) == (
        "challenged",
        "mistake",
        None,
    )


async def test_induction_tutor_email_falls_back_to_the_school_contacts(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    primary = await fp.school(session, primary_contact_email="office@primary.example")
    secondary = await fp.school(
        session, primary_contact_email="  ", secondary_contact_email="head@second.example"
    )
    blank_tutor = await fp.school(session, primary_contact_email="office@third.example")
    await fp.tutor(session, blank_tutor, full_name="No Email", email="")
    rows = [await fp.partnership(session, s, lp.lead_provider) for s in (primary, secondary, blank_tutor)]

    found = [await attributes_of(client, lp, r.id) for r in rows]
    assert [(a["induction_tutor_name"], a["induction_tutor_email"]) for a in found] == [
        (None, "office@primary.example"),
        (None, "head@second.example"),
        ("No Email", "office@third.example"),
    ]


@pytest.mark.parametrize("newest", ["partnership", "school", "delivery_partner", "tutor"])
async def test_updated_at_is_the_latest_related_change(
    client: httpx.AsyncClient, session: AsyncSession, newest: str
) -> None:
    lp = await f.provider(session)
    school = await fp.school(session)
    partner = await fs.delivery_partner(session)
    tutor = await fp.tutor(session, school)
    row = await fp.partnership(session, school, lp.lead_provider, partner=partner)
    targets = {
        "partnership": (Partnership, row.id),
        "school": (School, school.id),
        "delivery_partner": (DeliveryPartner, partner.id),
        "tutor": (User, tutor.id),
    }
    for model, ident in targets.values():
        await set_updated_at(session, model, ident, OLD)
    model, ident = targets[newest]
    await set_updated_at(session, model, ident, MOMENT)

    assert (await attributes_of(client, lp, row.id))["updated_at"] == "2026-06-01T12:00:00Z"


# ---- filters ----------------------------------------------------------------------------------------


async def test_cohort_filter(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    by_year = {
        year: await fp.partnership(session, await fp.school(session), lp.lead_provider, year)
        for year in (2020, 2021, 2022, 2023)
    }
    assert await listed_ids(client, lp, {"filter[cohort]": "2021,2023"}) == ids(by_year[2021], by_year[2023])
    assert await listed_ids(client, lp, {"filter[cohort]": "2020"}) == ids(by_year[2020])
    assert await listed_ids(client, lp, {"filter[cohort]": ""}) == ids(
        by_year[2021], by_year[2022], by_year[2023]
    )
    assert await listed_ids(client, lp, {"filter[cohort]": "abc"}) == []
    assert await listed_ids(client, lp, {"filter[cohort]": "1999"}) == []


async def test_delivery_partner_filter(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    first, second, third = [await fs.delivery_partner(session) for _ in range(3)]
    rows = [
        await fp.partnership(session, await fp.school(session), lp.lead_provider, partner=p)
        for p in (first, second, third)
    ]
    both = f"{first.id},{third.id}"
    assert await listed_ids(client, lp, {"filter[delivery_partner_id]": both}) == ids(rows[0], rows[2])
    assert await listed_ids(client, lp, {"filter[delivery_partner_id]": str(second.id)}) == ids(rows[1])
    assert await listed_ids(client, lp, {"filter[delivery_partner_id]": f"nonsense,{second.id}"}) == ids(
        rows[1]
    )
    assert await listed_ids(client, lp, {"filter[delivery_partner_id]": "nonsense"}) == []
    assert await listed_ids(client, lp, {"filter[delivery_partner_id]": str(uuid.uuid4())}) == []
    assert await listed_ids(client, lp, {"filter[delivery_partner_id]": ""}) == ids(*rows)


@pytest.mark.parametrize("changed", ["partnership", "school", "delivery_partner", "tutor"])
async def test_updated_since_covers_every_related_change(
    client: httpx.AsyncClient, session: AsyncSession, changed: str
) -> None:
    lp = await f.provider(session)
    quiet_school = await fp.school(session)
    quiet = await fp.partnership(session, quiet_school, lp.lead_provider)
    school = await fp.school(session)
    partner = await fs.delivery_partner(session)
    tutor = await fp.tutor(session, school)
    row = await fp.partnership(session, school, lp.lead_provider, partner=partner)
    for model, ident in (
        (Partnership, quiet.id),
        (Partnership, row.id),
        (School, quiet_school.id),
        (School, school.id),
        (DeliveryPartner, partner.id),
        (DeliveryPartner, quiet.delivery_partner_id),
        (User, tutor.id),
    ):
        await set_updated_at(session, model, ident, OLD)
    targets: dict[str, tuple[Any, Any]] = {
        "partnership": (Partnership, row.id),
        "school": (School, school.id),
        "delivery_partner": (DeliveryPartner, partner.id),
        "tutor": (User, tutor.id),
    }
    model, ident = targets[changed]
    await set_updated_at(session, model, ident, MOMENT)

    assert await listed_ids(client, lp, {"filter[updated_since]": "2026-06-01T12:00:00Z"}) == ids(row)
    assert await listed_ids(client, lp, {"filter[updated_since]": "2026-06-01T12:00:01Z"}) == []
    assert await listed_ids(client, lp, {"filter[updated_since]": "2026-06-01T13:00:00+01:00"}) == ids(row)
    assert await listed_ids(client, lp, {"filter[updated_since]": ""}) == ids(quiet, row)


async def test_invalid_updated_since(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    response = await client.get(LIST, params={"filter[updated_since]": "yesterday"}, headers=lp.headers)
    assert (response.status_code, response.json()) == (
        400,
        {
            "errors": [
                {
                    "title": "Bad request",
                    "detail": "The filter '#/updated_since' must be a valid RCF3339 date",
                }
            ]
        },
    )
    response = await client.get(LIST, params={"filter": "abc"}, headers=lp.headers)
    assert (response.status_code, response.json()) == (
        400,
        {"errors": [{"title": "Bad parameter", "detail": "Filter must be a hash"}]},
    )


# ---- sorting and paging ------------------------------------------------------------------------------


async def test_sort(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    first, second, third = [
        await fp.partnership(session, await fp.school(session), lp.lead_provider) for _ in range(3)
    ]
    for row, moment in (
        (first, MOMENT),
        (second, MOMENT - timedelta(days=2)),
        (third, MOMENT - timedelta(days=1)),
    ):
        await set_updated_at(session, Partnership, row.id, moment)

    assert await listed_ids(client, lp) == ids(first, second, third)
    assert await listed_ids(client, lp, {"sort": "-created_at"}) == ids(third, second, first)
    assert await listed_ids(client, lp, {"sort": "updated_at"}) == ids(second, third, first)
    assert await listed_ids(client, lp, {"sort": "-updated_at"}) == ids(first, third, second)
    assert await listed_ids(client, lp, {"sort": "+updated_at"}) == ids(second, third, first)
    assert await listed_ids(client, lp, {"sort": "nonsense,-created_at"}) == ids(third, second, first)
    # Nothing usable: the default order (the reference would drop ordering altogether).
    assert await listed_ids(client, lp, {"sort": "nonsense"}) == ids(first, second, third)


async def test_pagination(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    rows = [await fp.partnership(session, await fp.school(session), lp.lead_provider) for _ in range(5)]
    page = {"page[per_page]": "2"}
    assert await listed_ids(client, lp, page) == ids(*rows[:2])
    assert await listed_ids(client, lp, page | {"page[page]": "2"}) == ids(*rows[2:4])
    assert await listed_ids(client, lp, page | {"page[page]": "3"}) == ids(rows[4])
    assert await listed_ids(client, lp, page | {"page[page]": "4"}) == []
    for bad in ({"page[page]": "0"}, {"page[per_page]": "abc"}, {"page": "2"}):
        response = await client.get(LIST, params=bad, headers=lp.headers)
        assert response.status_code == 400, bad
        assert response.json()["errors"][0]["title"] == "Bad request"


# ---- show -----------------------------------------------------------------------------------------------


async def test_show_any_cohort_and_challenged(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    old = await fp.partnership(session, await fp.school(session), lp.lead_provider, 2020)
    challenged = await fp.partnership(session, await fp.school(session), lp.lead_provider, challenged=True)
    assert (await attributes_of(client, lp, old.id))["cohort"] == "2020"
    assert (await attributes_of(client, lp, challenged.id))["status"] == "challenged"


async def test_show_not_found(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    other = await f.provider(session)
    theirs = await fp.partnership(session, await fp.school(session), other.lead_provider)
    relationship = await fp.partnership(
        session, await fp.school(session), lp.lead_provider, relationship=True
    )
    for ident in (theirs.id, relationship.id, uuid.uuid4(), "not-a-uuid", "123"):
        response = await show(client, lp, ident)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), ident


# ---- access ---------------------------------------------------------------------------------------------


async def test_unauthenticated(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    row = await fp.partnership(session, await fp.school(session), lp.lead_provider)
    denied = {"error": "HTTP Token: Access denied"}
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        for response in (
            await client.get(LIST, headers=headers),
            await client.get(SHOW.format(id=row.id), headers=headers),
            await client.post(LIST, json=fp.post_body(), headers=headers),
            await client.put(SHOW.format(id=row.id), json=fp.put_body(None), headers=headers),
        ):
            assert (response.status_code, response.json()) == (401, denied)
            assert response.headers["www-authenticate"] == 'Token realm="Application"'


async def test_npq_only_provider_is_forbidden(client: httpx.AsyncClient, session: AsyncSession) -> None:
    npq = await f.provider(session, ecf=False, npq=True)
    for response in (
        await client.get(LIST, headers=npq.headers),
        await client.get(SHOW.format(id=uuid.uuid4()), headers=npq.headers),
        await client.post(LIST, json=fp.post_body(), headers=npq.headers),
        await client.put(SHOW.format(id=uuid.uuid4()), json=fp.put_body(None), headers=npq.headers),
    ):
        assert (response.status_code, response.content) == (403, b"")


# ---- POST: confirming a partnership ----------------------------------------------------------------


async def test_confirm_a_partnership(client: httpx.AsyncClient, session: AsyncSession) -> None:
    r = await fp.ready(session)
    tutor = await fp.tutor(session, r.school, full_name="Sam Tutor", email="sam@school.example")
    response = await post(client, r.lp, r.body())
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["type"] == "partnership"
    assert data["attributes"] | {"created_at": None, "updated_at": None} == {
        "cohort": "2022",
        "urn": r.school.urn,
        "school_id": str(r.school.id),
        "delivery_partner_id": str(r.partner.id),
        "delivery_partner_name": r.partner.name,
        "status": "active",
        "challenged_reason": None,
        "challenged_at": None,
        "induction_tutor_name": tutor.full_name,
        "induction_tutor_email": "sam@school.example",
        "created_at": None,
        "updated_at": None,
    }
    row = await stored(session, data["id"])
    assert (row.lead_provider_id, row.relationship_, row.pending) == (r.lead_provider.id, False, False)
    assert row.report_id is not None
    assert row.challenge_deadline is not None
    assert row.challenge_deadline > datetime.now(UTC) + timedelta(days=13)
    # Shown by the list and show routes from now on.
    assert await listed_ids(client, r.lp) == [data["id"]]
    assert (await show(client, r.lp, data["id"])).json()["data"] == data


async def test_cohort_may_be_a_number(client: httpx.AsyncClient, session: AsyncSession) -> None:
    r = await fp.ready(session)
    response = await post(client, r.lp, r.body(cohort=2022))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["attributes"]["cohort"] == "2022"


async def test_challenge_deadline_and_timestamps_follow_the_server_date(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    response = await client.post(
        LIST, json=r.body(), headers=r.lp.headers | {"X-With-Server-Date": "2022-08-01T10:00:00Z"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["attributes"]["created_at"].startswith("2022-08-01T10:00")
    row = await stored(session, response.json()["data"]["id"])
    # Two months (less a day) into the academic year beats two weeks from "now".
    assert row.challenge_deadline == datetime(2022, 10, 31, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "now", "expected"),
    [
        (date(2022, 9, 1), datetime(2022, 8, 1, tzinfo=UTC), datetime(2022, 10, 31, tzinfo=UTC)),
        (date(2022, 9, 1), datetime(2022, 10, 30, 9, tzinfo=UTC), datetime(2022, 11, 13, 9, tzinfo=UTC)),
        (date(2023, 12, 31), datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 2, 28, tzinfo=UTC)),
        (None, datetime(2022, 8, 1, tzinfo=UTC), datetime(2022, 8, 15, tzinfo=UTC)),
    ],
)
def test_challenge_deadline(start: date | None, now: datetime, expected: datetime) -> None:
    cohort = CohortRecord(id=uuid.uuid4(), start_year=2022, academic_year_start_date=start)
    assert rules.challenge_deadline(cohort, now) == expected


async def test_all_attributes_missing(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    expected = [
        ("cohort", rules.COHORT_BLANK),
        ("school_id", rules.SCHOOL_BLANK),
        ("delivery_partner_id", rules.DELIVERY_PARTNER_BLANK),
    ]
    payloads: list[Any] = [
        {"data": {"type": "ecf-partnership"}},
        {"data": {"attributes": {}}},
        fp.post_body(cohort="", school_id="  ", delivery_partner_id=None),
        fp.post_body(cohort=False, school_id=[], delivery_partner_id={}),
    ]
    for payload in payloads:
        assert errors(await post(client, lp, payload)) == expected, payload


async def test_unknown_attributes_and_type_are_ignored(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    payload = r.body(lead_provider_id=str(uuid.uuid4()), extra="x")
    payload["data"]["type"] = "anything"
    response = await post(client, r.lp, payload)
    assert response.status_code == 200, response.text
    assert (await stored(session, response.json()["data"]["id"])).lead_provider_id == r.lead_provider.id


@pytest.mark.parametrize("cohort", ["1999", "abc", "20x", "-2022", "true", "99999999999999999999"])
async def test_unknown_cohort(client: httpx.AsyncClient, session: AsyncSession, cohort: str) -> None:
    r = await fp.ready(session)
    # An eligible school and a known partner: the reference fails with a server error here.
    assert errors(await post(client, r.lp, r.body(cohort=cohort))) == [
        ("cohort", rules.COHORT_INVALID),
        ("delivery_partner_id", rules.NO_RELATIONSHIP),
    ]


async def test_cohort_is_read_like_the_reference_casts_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    response = await post(client, r.lp, r.body(cohort=" 2022"))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("school_id", ["not-a-uuid", str(uuid.uuid4()), "123", "\x00"])
async def test_unknown_school(client: httpx.AsyncClient, session: AsyncSession, school_id: str) -> None:
    r = await fp.ready(session)
    assert errors(await post(client, r.lp, r.body(school_id=school_id))) == [
        ("school_id", rules.SCHOOL_INVALID)
    ]


@pytest.mark.parametrize("type_code", [10, 11, 30, 37])
async def test_cip_only_school(client: httpx.AsyncClient, session: AsyncSession, type_code: int) -> None:
    r = await fp.ready(session)
    r.school = await fp.school(session, school_type_code=type_code)
    assert errors(await post(client, r.lp, r.body())) == [("school_id", rules.SCHOOL_CIP_ONLY)]


@pytest.mark.parametrize(
    "values",
    [
        {"school_status_code": 2},  # closed
        {"school_status_code": None},
        {"administrative_district_code": "W06000015"},  # in Wales
        {"administrative_district_code": None},
        {"school_type_code": 25},  # not an eligible establishment type
        {"school_type_code": None},
        {"school_status_code": 2, "school_type_code": 10},  # CIP-only types only count while open
    ],
)
async def test_ineligible_school(
    client: httpx.AsyncClient, session: AsyncSession, values: dict[str, Any]
) -> None:
    r = await fp.ready(session)
    r.school = await fp.school(session, **values)
    assert errors(await post(client, r.lp, r.body())) == [("school_id", rules.SCHOOL_INELIGIBLE)]


@pytest.mark.parametrize(
    "values",
    [
        {"school_type_code": 25, "section_41_approved": True},
        {"administrative_district_code": "9999"},
        {"administrative_district_code": "e06000001"},
        {"school_status_code": 3},  # open, but proposed to close
    ],
)
async def test_eligible_schools(
    client: httpx.AsyncClient, session: AsyncSession, values: dict[str, Any]
) -> None:
    r = await fp.ready(session)
    r.school = await fp.school(session, **values)
    assert (await post(client, r.lp, r.body())).status_code == 200


@pytest.mark.parametrize("pending", [False, True])
async def test_already_partnered_with_this_provider(
    client: httpx.AsyncClient, session: AsyncSession, pending: bool
) -> None:
    r = await fp.ready(session)
    other_partner = await fp.partner_for(session, r.lp)
    await fp.partnership(session, r.school, r.lead_provider, partner=other_partner, pending=pending)
    assert errors(await post(client, r.lp, r.body())) == [("school_id", rules.ALREADY_CONFIRMED)]


async def test_already_partnered_with_another_provider(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    other = await f.provider(session)
    await fp.partnership(session, r.school, other.lead_provider)
    assert errors(await post(client, r.lp, r.body())) == [("school_id", rules.OTHER_PROVIDER)]


async def test_challenged_and_relationship_partnerships_do_not_block(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    other = await f.provider(session)
    theirs = await fp.partnership(session, r.school, other.lead_provider, challenged=True)
    await fp.partnership(session, r.school, other.lead_provider, relationship=True)
    await fp.partnership(session, r.school, r.lead_provider, 2023)  # another cohort
    response = await post(client, r.lp, r.body())
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"] != str(theirs.id)
    assert await count_partnerships(session, r.school) == 4


async def test_school_not_yet_confirmed_after_a_partnership_last_year(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session, 2023)
    other = await f.provider(session)
    await fp.partnership(session, r.school, other.lead_provider, 2022)
    assert errors(await post(client, r.lp, r.body())) == [("school_id", rules.NOT_YET_CONFIRMED)]
    # Once the school has said how it trains this year, the confirmation goes through.
    await fs.school_cohort(session, r.school, 2023)
    assert (await post(client, r.lp, r.body())).status_code == 200


async def test_school_not_yet_confirmed_applies_to_the_same_provider_too(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session, 2023)
    await fp.partnership(session, r.school, r.lead_provider, 2022)
    assert errors(await post(client, r.lp, r.body())) == [("school_id", rules.NOT_YET_CONFIRMED)]


async def test_last_years_challenged_or_relationship_partnership_does_not_count(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session, 2023)
    other = await f.provider(session)
    await fp.partnership(session, r.school, other.lead_provider, 2022, challenged=True)
    await fp.partnership(session, r.school, r.lead_provider, 2022, relationship=True)
    assert (await post(client, r.lp, r.body())).status_code == 200


@pytest.mark.parametrize("delivery_partner_id", ["nonsense", str(uuid.uuid4()), "discarded"])
async def test_unknown_delivery_partner(
    client: httpx.AsyncClient, session: AsyncSession, delivery_partner_id: str
) -> None:
    r = await fp.ready(session)
    if delivery_partner_id == "discarded":
        gone = await fs.delivery_partner(session, discarded=True)
        await fs.relationship(session, r.lead_provider, gone, 2022)
        delivery_partner_id = str(gone.id)
    assert errors(await post(client, r.lp, r.body(delivery_partner_id=delivery_partner_id))) == [
        ("delivery_partner_id", rules.DELIVERY_PARTNER_INVALID)
    ]


async def test_delivery_partner_without_a_relationship_in_the_cohort(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    other_year = await fp.partner_for(session, r.lp, 2023)
    discarded = await fs.delivery_partner(session)
    await fs.relationship(session, r.lead_provider, discarded, 2022, discarded=True)
    someone_elses = await fs.delivery_partner(session)
    await fs.relationship(session, (await f.provider(session)).lead_provider, someone_elses, 2022)
    for partner in (other_year, discarded, someone_elses):
        assert errors(await post(client, r.lp, r.body(delivery_partner_id=str(partner.id)))) == [
            ("delivery_partner_id", rules.NO_RELATIONSHIP)
        ]


async def test_errors_are_grouped_presence_first(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """Presence checks run before each attribute's own rules, so a blank delivery partner is
    reported before an unknown school."""
    r = await fp.ready(session)
    assert errors(await post(client, r.lp, r.body(school_id=str(uuid.uuid4()), delivery_partner_id=""))) == [
        ("delivery_partner_id", rules.DELIVERY_PARTNER_BLANK),
        ("school_id", rules.SCHOOL_INVALID),
    ]
    assert errors(
        await post(client, r.lp, r.body(cohort="", school_id="x", delivery_partner_id=str(uuid.uuid4())))
    ) == [
        ("cohort", rules.COHORT_BLANK),
        ("school_id", rules.SCHOOL_INVALID),
        ("delivery_partner_id", rules.DELIVERY_PARTNER_INVALID),
    ]
    cip = await fp.school(session, school_type_code=10)
    assert errors(await post(client, r.lp, r.body(cohort="1999", school_id=str(cip.id)))) == [
        ("cohort", rules.COHORT_INVALID),
        ("school_id", rules.SCHOOL_CIP_ONLY),
        ("delivery_partner_id", rules.NO_RELATIONSHIP),
    ]


async def test_school_rules_stop_at_the_first_failure(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    other = await f.provider(session)
    # CIP-only and partnered elsewhere: only the first school rule is reported.
    r.school = await fp.school(session, school_type_code=10)
    await fp.partnership(session, r.school, other.lead_provider)
    assert errors(await post(client, r.lp, r.body())) == [("school_id", rules.SCHOOL_CIP_ONLY)]


async def test_failed_confirmation_changes_nothing(client: httpx.AsyncClient, session: AsyncSession) -> None:
    r = await fp.ready(session)
    assert errors(await post(client, r.lp, r.body(delivery_partner_id=str(uuid.uuid4()))))
    assert await count_partnerships(session, r.school) == 0
    assert await school_cohort_of(session, r.school, 2022) is None


# ---- POST: re-confirming ------------------------------------------------------------------------------


async def test_reposting_after_a_challenge_reactivates_the_same_row(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    challenged = await fp.partnership(session, r.school, r.lead_provider, partner=r.partner, challenged=True)
    before = await stored(session, challenged.id)
    old_report_id = before.report_id

    response = await post(client, r.lp, r.body())
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"] == str(challenged.id)
    attributes = response.json()["data"]["attributes"]
    assert (attributes["status"], attributes["challenged_reason"], attributes["challenged_at"]) == (
        "active",
        None,
        None,
    )
    assert await count_partnerships(session, r.school) == 1
    row = await stored(session, challenged.id)
    assert (row.challenge_reason, row.challenged_at, row.pending) == (None, None, False)
    assert row.report_id != old_report_id
    # And it is confirmed now: a second confirmation is refused.
    assert errors(await post(client, r.lp, r.body())) == [("school_id", rules.ALREADY_CONFIRMED)]


async def test_reposting_after_a_challenge_with_another_partner(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    challenged = await fp.partnership(session, r.school, r.lead_provider, partner=r.partner, challenged=True)
    new_partner = await fp.partner_for(session, r.lp)
    response = await post(client, r.lp, r.body(delivery_partner_id=str(new_partner.id)))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"] == str(challenged.id)
    assert response.json()["data"]["attributes"]["delivery_partner_id"] == str(new_partner.id)
    assert await count_partnerships(session, r.school) == 1


async def test_a_relationship_record_for_the_partner_becomes_the_partnership(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    relationship = await fp.partnership(
        session, r.school, r.lead_provider, partner=r.partner, relationship=True
    )
    assert await listed_ids(client, r.lp) == []
    response = await post(client, r.lp, r.body())
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"] == str(relationship.id)
    assert (await stored(session, relationship.id)).relationship_ is False
    assert await listed_ids(client, r.lp) == [str(relationship.id)]
    assert await count_partnerships(session, r.school) == 1


# ---- POST: the school cohort and its programme -------------------------------------------------------


async def test_creates_a_full_induction_school_cohort(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    response = await post(client, r.lp, r.body())
    partnership_id = uuid.UUID(response.json()["data"]["id"])
    school_cohort = await school_cohort_of(session, r.school, 2022)
    assert school_cohort is not None
    assert school_cohort.induction_programme_choice == "full_induction_programme"
    assert school_cohort.default_induction_programme_id is not None
    programme = await session.get(InductionProgramme, school_cohort.default_induction_programme_id)
    assert programme is not None
    assert (programme.training_programme, programme.partnership_id) == (
        "full_induction_programme",
        partnership_id,
    )


async def test_an_unpartnered_full_induction_programme_takes_the_partnership(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    school_cohort = await fs.school_cohort(session, r.school, 2022)
    programme = InductionProgramme(
        school_cohort_id=school_cohort.id, training_programme="full_induction_programme"
    )
    session.add(programme)
    await session.flush()
    school_cohort.default_induction_programme_id = programme.id
    await session.flush()

    response = await post(client, r.lp, r.body())
    await session.refresh(programme)
    assert str(programme.partnership_id) == response.json()["data"]["id"]
    assert (await school_cohort_of(session, r.school, 2022)).default_induction_programme_id == programme.id  # type: ignore[union-attr]


async def test_a_school_led_cohort_moves_to_full_induction_with_its_participants(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    place = await f.programme(session, None, 2022, school_=r.school)  # core induction, no partnership
    place.school_cohort.default_induction_programme_id = place.programme.id
    place.school_cohort.opt_out_of_updates = True
    await session.flush()
    ect = await f.participant(session, None, 2022, programme_=place)

    response = await post(client, r.lp, r.body())
    assert response.status_code == 200, response.text
    school_cohort = await school_cohort_of(session, r.school, 2022)
    assert school_cohort is not None
    assert (school_cohort.induction_programme_choice, school_cohort.opt_out_of_updates) == (
        "full_induction_programme",
        False,
    )
    new_programme = await session.get(InductionProgramme, school_cohort.default_induction_programme_id)
    assert new_programme is not None and new_programme.id != place.programme.id
    assert str(new_programme.partnership_id) == response.json()["data"]["id"]
    records = await records_of(session, ect)
    assert [(rec.induction_programme_id, rec.induction_status) for rec in records] == [
        (place.programme.id, "changed"),
        (new_programme.id, "active"),
    ]
    assert records[0].end_date is not None


async def test_a_challenged_partners_programme_is_replaced(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    other = await f.provider(session)
    place = await f.programme(session, other.lead_provider, 2022, school_=r.school, challenged=True)
    place.school_cohort.default_induction_programme_id = place.programme.id
    await session.flush()
    ect = await f.participant(session, other.lead_provider, 2022, programme_=place)

    response = await post(client, r.lp, r.body())
    assert response.status_code == 200, response.text
    school_cohort = await school_cohort_of(session, r.school, 2022)
    assert school_cohort is not None and school_cohort.default_induction_programme_id != place.programme.id
    records = await records_of(session, ect)
    assert [rec.induction_status for rec in records] == ["changed", "active"]
    assert records[1].induction_programme_id == school_cohort.default_induction_programme_id
    # The participant is now the confirming provider's.
    participants = await client.get("/api/v3/participants/ecf", headers=r.lp.headers)
    assert [p["id"] for p in participants.json()["data"]] == [ect.id]


async def records_of(session: AsyncSession, participant: f.Participant) -> list[InductionRecord]:
    result = await session.execute(
        select(InductionRecord)
        .where(InductionRecord.participant_profile_id == participant.profile.id)
        .order_by(InductionRecord.created_at, InductionRecord.start_date)
        .execution_options(populate_existing=True)
    )
    return list(result.scalars())


async def test_confirmation_moves_the_schools_updated_at(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    place = await f.programme(session, None, 2022, school_=r.school)
    ect = await f.participant(session, None, 2022, programme_=place)
    await set_updated_at(session, School, r.school.id, OLD)
    await set_updated_at(session, User, ect.person.user.id, OLD)

    assert (await post(client, r.lp, r.body())).status_code == 200
    await session.refresh(r.school)
    await session.refresh(ect.person.user)
    assert r.school.updated_at > OLD
    assert ect.person.user.updated_at > OLD


# ---- request shape ------------------------------------------------------------------------------------


async def test_malformed_bodies(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    row = await fp.partnership(session, await fp.school(session), lp.lead_provider)
    payloads: list[Any] = [{}, {"data": {}}, {"data": None}, {"data": []}, {"data": "x"}, {"attributes": {}}]
    for path, method in ((LIST, "POST"), (SHOW.format(id=row.id), "PUT")):
        for payload in [*payloads, [], "x", 1]:
            response = await client.request(method, path, json=payload, headers=lp.headers)
            assert (response.status_code, response.json()) == (400, BAD_REQUEST), (path, payload)
        for content in (b"{not json", b"", b"   "):
            response = await client.request(
                method, path, content=content, headers=lp.headers | {"Content-Type": "application/json"}
            )
            assert (response.status_code, response.json()) == (400, BAD_REQUEST), (path, content)


# ---- PUT: changing the delivery partner ----------------------------------------------------------------


async def test_change_the_delivery_partner(client: httpx.AsyncClient, session: AsyncSession) -> None:
    r = await fp.ready(session)
    row = await fp.partnership(session, r.school, r.lead_provider, partner=r.partner)
    before = await stored(session, row.id)
    old_report_id, old_deadline = before.report_id, before.challenge_deadline
    new_partner = await fp.partner_for(session, r.lp, name="New Partner")

    response = await put(client, r.lp, row.id, fp.put_body(str(new_partner.id)))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["id"] == str(row.id)
    assert (data["attributes"]["delivery_partner_id"], data["attributes"]["delivery_partner_name"]) == (
        str(new_partner.id),
        "New Partner",
    )
    after = await stored(session, row.id)
    assert after.delivery_partner_id == new_partner.id
    assert after.report_id is not None and after.report_id != old_report_id
    assert after.challenge_deadline is not None and after.challenge_deadline != old_deadline
    assert await count_partnerships(session, r.school) == 1


async def test_patch_is_the_same_update(client: httpx.AsyncClient, session: AsyncSession) -> None:
    r = await fp.ready(session)
    row = await fp.partnership(session, r.school, r.lead_provider, partner=r.partner)
    new_partner = await fp.partner_for(session, r.lp)
    response = await client.patch(
        SHOW.format(id=row.id), json=fp.put_body(str(new_partner.id)), headers=r.lp.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["attributes"]["delivery_partner_id"] == str(new_partner.id)


async def test_same_delivery_partner_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    row = await fp.partnership(session, r.school, r.lead_provider, partner=r.partner)
    await set_updated_at(session, Partnership, row.id, OLD)
    before = await stored(session, row.id)
    snapshot = (before.report_id, before.challenge_deadline, before.updated_at)

    response = await put(client, r.lp, row.id, fp.put_body(str(r.partner.id)))
    assert response.status_code == 200, response.text
    after = await stored(session, row.id)
    assert (after.report_id, after.challenge_deadline, after.updated_at) == snapshot
    assert await school_cohort_of(session, r.school, 2022) is None


@pytest.mark.parametrize("blank", [None, "", "   ", False])
async def test_update_needs_a_delivery_partner(
    client: httpx.AsyncClient, session: AsyncSession, blank: Any
) -> None:
    r = await fp.ready(session)
    row = await fp.partnership(session, r.school, r.lead_provider, partner=r.partner)
    assert errors(await put(client, r.lp, row.id, fp.put_body(blank))) == [
        ("delivery_partner_id", rules.DELIVERY_PARTNER_BLANK)
    ]
    payloads: list[Any] = [{"data": {"type": "ecf-partnership-update"}}, {"data": {"attributes": {}}}]
    for payload in payloads:
        assert errors(await put(client, r.lp, row.id, payload)) == [
            ("delivery_partner_id", rules.DELIVERY_PARTNER_BLANK)
        ]


async def test_update_with_an_unknown_delivery_partner(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    row = await fp.partnership(session, r.school, r.lead_provider, partner=r.partner)
    gone = await fs.delivery_partner(session, discarded=True)
    await fs.relationship(session, r.lead_provider, gone, 2022)
    for value in ("nonsense", str(uuid.uuid4()), str(gone.id), 12):
        assert errors(await put(client, r.lp, row.id, fp.put_body(value))) == [
            ("delivery_partner_id", rules.DELIVERY_PARTNER_INVALID)
        ], value


async def test_update_needs_a_relationship_in_the_partnerships_cohort(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    row = await fp.partnership(session, r.school, r.lead_provider, partner=r.partner)
    other_year = await fp.partner_for(session, r.lp, 2023)
    discarded = await fs.delivery_partner(session)
    await fs.relationship(session, r.lead_provider, discarded, 2022, discarded=True)
    for partner in (other_year, discarded):
        assert errors(await put(client, r.lp, row.id, fp.put_body(str(partner.id)))) == [
            ("delivery_partner_id", rules.NO_RELATIONSHIP)
        ]


async def test_challenged_partnerships_are_read_only(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    row = await fp.partnership(session, r.school, r.lead_provider, partner=r.partner, challenged=True)
    new_partner = await fp.partner_for(session, r.lp)
    for partner in (new_partner, r.partner):
        assert errors(await put(client, r.lp, row.id, fp.put_body(str(partner.id)))) == [
            ("delivery_partner_id", rules.CHALLENGED)
        ]
    assert (await stored(session, row.id)).delivery_partner_id == r.partner.id
    # The earlier rules come first: an unknown partner is reported as such.
    assert errors(await put(client, r.lp, row.id, fp.put_body(str(uuid.uuid4())))) == [
        ("delivery_partner_id", rules.DELIVERY_PARTNER_INVALID)
    ]


async def test_update_to_a_partner_already_in_a_relationship_record(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    r = await fp.ready(session)
    row = await fp.partnership(session, r.school, r.lead_provider, partner=r.partner)
    new_partner = await fp.partner_for(session, r.lp)
    await fp.partnership(session, r.school, r.lead_provider, partner=new_partner, relationship=True)
    assert errors(await put(client, r.lp, row.id, fp.put_body(str(new_partner.id)))) == [
        ("delivery_partner_id", rules.DUPLICATE_DELIVERY_PARTNER)
    ]


async def test_update_not_found(client: httpx.AsyncClient, session: AsyncSession) -> None:
    r = await fp.ready(session)
    other = await f.provider(session)
    theirs = await fp.partnership(session, r.school, other.lead_provider)
    relationship = await fp.partnership(session, await fp.school(session), r.lead_provider, relationship=True)
    for ident in (theirs.id, relationship.id, uuid.uuid4(), "not-a-uuid"):
        for payload in (fp.put_body(str(r.partner.id)), {}):
            # The partnership is looked up before the body is read.
            response = await put(client, r.lp, ident, payload)
            assert (response.status_code, response.json()) == (404, NOT_FOUND), ident


async def test_openapi_documents_the_routes(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operations = document["paths"]
    assert set(operations["/api/v3/partnerships/ecf"]) == {"get", "post"}
    assert set(operations["/api/v3/partnerships/ecf/{id}"]) == {"get", "put"}
    body = operations["/api/v3/partnerships/ecf"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert body["properties"]["data"]["properties"]["type"]["enum"] == ["ecf-partnership"]
    parameters = {p["name"] for p in operations["/api/v3/partnerships/ecf"]["get"]["parameters"]}
    assert parameters == {"filter", "page", "sort"}
