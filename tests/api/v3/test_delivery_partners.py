"""v3 delivery partners (ecf.md §5.5): the partners a provider works with, their cohorts, the cohort
filter, sorting, paging and the show route."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import DeliveryPartner
from tests import factories as f
from tests import factories_schools as fs
from tests.contract import assert_matches_spec

LIST = "/api/v3/delivery-partners"
SHOW = "/api/v3/delivery-partners/{id}"
MOMENT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


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


async def show(client: httpx.AsyncClient, lp: f.Provider, partner_id: object) -> httpx.Response:
    response = await client.get(SHOW.format(id=partner_id), headers=lp.headers)
    if response.status_code == 200:
        assert_matches_spec("v3", "get", SHOW, 200, response.json())
    return response


def ids(*partners: DeliveryPartner) -> list[str]:
    return [str(p.id) for p in partners]


# ---- which delivery partners --------------------------------------------------------------------


async def test_lists_partners_the_provider_works_with(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    other = await f.provider(session)
    first = await fs.delivery_partner(session)
    second = await fs.delivery_partner(session)
    theirs = await fs.delivery_partner(session)
    discarded = await fs.delivery_partner(session, discarded=True)
    ended = await fs.delivery_partner(session)
    only_2020 = await fs.delivery_partner(session)
    await fs.delivery_partner(session)  # no relationship at all
    await fs.relationship(session, lp.lead_provider, second, 2023)
    await fs.relationship(session, lp.lead_provider, first, 2021)
    await fs.relationship(session, other.lead_provider, theirs, 2022)
    await fs.relationship(session, lp.lead_provider, discarded, 2022)
    await fs.relationship(session, lp.lead_provider, ended, 2022, discarded=True)
    await fs.relationship(session, lp.lead_provider, only_2020, 2020)

    assert await listed_ids(client, lp) == ids(first, second)
    assert await listed_ids(client, other) == ids(theirs)


async def test_a_partner_in_several_cohorts_is_listed_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    partner = await fs.delivery_partner(session)
    for year in (2021, 2022, 2023):
        await fs.relationship(session, lp.lead_provider, partner, year)
    assert await listed_ids(client, lp) == ids(partner)
    assert await listed_ids(client, lp, {"filter[cohort]": "2021,2022"}) == ids(partner)


# ---- attributes ---------------------------------------------------------------------------------


async def test_delivery_partner_document(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    created = datetime(2021, 5, 31, 2, 22, 32, 123000, tzinfo=UTC)
    partner = await fs.delivery_partner(session, "Awesome Delivery Partner Ltd", created_at=created)
    await fs.set_updated_at(session, DeliveryPartner, partner.id, MOMENT)
    await fs.relationship(session, lp.lead_provider, partner, 2022)

    response = await show(client, lp, partner.id)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.api+json"
    expected = {
        "id": str(partner.id),
        "type": "delivery-partner",
        "attributes": {
            "name": "Awesome Delivery Partner Ltd",
            "cohort": ["2022"],
            "created_at": "2021-05-31T02:22:32Z",
            "updated_at": "2026-06-01T12:00:00Z",
        },
    }
    assert response.json() == {"data": expected}
    assert await listed(client, lp) == [expected]


async def test_cohort_lists_every_cohort_with_the_provider(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    other = await f.provider(session)
    partner = await fs.delivery_partner(session)
    for year in (2023, 2020, 2021):
        await fs.relationship(session, lp.lead_provider, partner, year)
    await fs.relationship(session, lp.lead_provider, partner, 2022, discarded=True)  # ended
    await fs.relationship(session, other.lead_provider, partner, 2024)  # another provider's

    everything = ["2020", "2021", "2023"]
    (item,) = await listed(client, lp)
    assert item["attributes"]["cohort"] == everything
    # Not narrowed by the filter.
    (item,) = await listed(client, lp, {"filter[cohort]": "2023"})
    assert item["attributes"]["cohort"] == everything
    assert (await show(client, lp, partner.id)).json()["data"]["attributes"]["cohort"] == everything
    (item,) = await listed(client, other)
    assert item["attributes"]["cohort"] == ["2024"]


# ---- filters ------------------------------------------------------------------------------------


async def test_cohort_filter(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    p2020 = await fs.delivery_partner(session)
    p2021 = await fs.delivery_partner(session)
    p2022 = await fs.delivery_partner(session)
    for partner, year in ((p2020, 2020), (p2021, 2021), (p2022, 2022)):
        await fs.relationship(session, lp.lead_provider, partner, year)
    await fs.relationship(session, lp.lead_provider, p2021, 2019, discarded=True)

    cases = {
        "2021": ids(p2021),
        "2021,2022": ids(p2021, p2022),
        " 2022 , 2020": ids(p2020, p2022),
        "2020": ids(p2020),
        "2019": [],
        "abc": [],
        "1999": [],
        "99999999999999999999": [],
        "": ids(p2021, p2022),  # blank: the default, every cohort after 2020
    }
    for cohort, expected in cases.items():
        assert await listed_ids(client, lp, {"filter[cohort]": cohort}) == expected, cohort


async def test_other_filters_are_ignored(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    partner = await fs.delivery_partner(session)
    await fs.relationship(session, lp.lead_provider, partner, 2022)
    params = {"filter[updated_since]": "not a date", "filter[urn]": "123456"}
    assert await listed_ids(client, lp, params) == ids(partner)


async def test_filter_must_be_a_hash(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    response = await client.get(LIST, params={"filter": "2022"}, headers=lp.headers)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"title": "Bad parameter", "detail": "Filter must be a hash"}]}


# ---- sorting and paging ---------------------------------------------------------------------------


async def test_sort(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    first = await fs.delivery_partner(session, "Charlie")
    second = await fs.delivery_partner(session, "Alpha")
    third = await fs.delivery_partner(session, "Bravo")
    for partner, hours in ((first, 2), (second, 0), (third, 1)):
        await fs.relationship(session, lp.lead_provider, partner, 2022)
        await fs.set_updated_at(session, DeliveryPartner, partner.id, MOMENT + timedelta(hours=hours))

    cases = {
        "": ids(first, second, third),
        "created_at": ids(first, second, third),
        "-created_at": ids(third, second, first),
        "updated_at": ids(second, third, first),
        "-updated_at": ids(first, third, second),
        "name": ids(second, third, first),
        "-name": ids(first, third, second),
        "unknown": ids(first, second, third),  # unknown fields: the default order
        "discarded_at,-name": ids(first, third, second),
    }
    for sort, expected in cases.items():
        assert await listed_ids(client, lp, {"sort": sort}) == expected, sort


async def test_pagination(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    partners = [await fs.delivery_partner(session) for _ in range(5)]
    for partner in partners:
        await fs.relationship(session, lp.lead_provider, partner, 2022)
        await fs.relationship(session, lp.lead_provider, partner, 2023)  # two rows each: still one item
    expected = ids(*partners)
    assert await listed_ids(client, lp, {"page[per_page]": "2", "page[page]": "2"}) == expected[2:4]
    assert await listed_ids(client, lp, {"page[per_page]": "2", "page[page]": "3"}) == expected[4:]
    assert await listed_ids(client, lp, {"page[per_page]": "2", "page[page]": "9"}) == []
    assert await listed_ids(client, lp, {"page[per_page]": "5000"}) == expected
    for page in ({"page[page]": "0"}, {"page[per_page]": "-1"}, {"page": "1"}):
        response = await client.get(LIST, params=page, headers=lp.headers)
        assert response.status_code == 400
        assert response.json() == {
            "errors": [
                {
                    "title": "Bad request",
                    "detail": "The '#/page[page]' and '#/page[per_page]' parameter values must be a valid "
                    "number (equal and more than 1)",
                }
            ]
        }


# ---- show -----------------------------------------------------------------------------------------


async def test_show_finds_partners_of_any_cohort(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    partner = await fs.delivery_partner(session)
    await fs.relationship(session, lp.lead_provider, partner, 2020)  # not listed by default, but shown
    response = await show(client, lp, partner.id)
    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["cohort"] == ["2020"]


async def test_show_not_found(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    other = await f.provider(session)
    theirs = await fs.delivery_partner(session)
    await fs.relationship(session, other.lead_provider, theirs, 2022)
    discarded = await fs.delivery_partner(session, discarded=True)
    await fs.relationship(session, lp.lead_provider, discarded, 2022)
    ended = await fs.delivery_partner(session)
    await fs.relationship(session, lp.lead_provider, ended, 2022, discarded=True)
    unrelated = await fs.delivery_partner(session)

    for partner_id in (theirs.id, discarded.id, ended.id, unrelated.id, uuid.uuid4(), "not-an-id", "0"):
        response = await show(client, lp, partner_id)
        assert response.status_code == 404, partner_id
        assert response.json() == {"error": "Resource not Found"}


# ---- access ---------------------------------------------------------------------------------------


async def test_needs_a_token(client: httpx.AsyncClient, session: AsyncSession) -> None:
    partner = await fs.delivery_partner(session)
    for path in (LIST, SHOW.format(id=partner.id)):
        for headers in ({}, {"Authorization": "Bearer unknown"}):
            response = await client.get(path, headers=headers)
            assert response.status_code == 401
            assert response.json() == {"error": "HTTP Token: Access denied"}


async def test_npq_only_provider_is_forbidden(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session, ecf=False, npq=True)
    partner = await fs.delivery_partner(session)
    for path in (LIST, SHOW.format(id=partner.id)):
        response = await client.get(path, headers=lp.headers)
        assert response.status_code == 403
        assert response.content == b""
