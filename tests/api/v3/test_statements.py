"""v3 statements: which a provider sees, filters, ordering, paging and attributes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.finance import Statement
from tests import factories as f

URL = "/api/v3/statements"


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()["data"]]


async def test_lists_own_output_statements_by_payment_date(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    other = await f.provider(session)
    late = await f.statement(session, lp, 2022, name="March 2023", payment_date=date(2023, 3, 25))
    early = await f.statement(session, lp, 2022, name="January 2023", payment_date=date(2023, 1, 25))
    npq = await f.statement(
        session, lp, 2023, name="February 2024", programme="npq", payment_date=date(2024, 2, 25)
    )
    await f.statement(session, lp, 2022, name="February 2023", output_fee=False)
    await f.statement(session, lp, 2020, name="May 2021", payment_date=date(2021, 5, 25))
    await f.statement(session, other, 2022, name="January 2023")

    assert ids(await client.get(URL, headers=lp.headers)) == [str(early.id), str(late.id), str(npq.id)]


async def test_attributes(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    row = await f.statement(
        session,
        lp,
        2022,
        name="May 2023",
        deadline_date=date(2023, 4, 30),
        payment_date=date(2023, 5, 25),
        state="paid",
    )
    body = (await client.get(f"{URL}/{row.id}", headers=lp.headers)).json()
    attributes = body["data"]["attributes"]
    assert body["data"]["type"] == "statement"
    assert attributes | {"created_at": None, "updated_at": None} == {
        "month": "May",
        "year": "2023",
        "type": "ecf",
        "cohort": "2022",
        "cut_off_date": "2023-04-30",
        "payment_date": "2023-05-25",
        "paid": True,
        "created_at": None,
        "updated_at": None,
    }
    assert attributes["created_at"].endswith("Z")


async def test_paid_only_once_statement_is_paid(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    open_ = await f.statement(session, lp, 2022)
    payable = await f.statement(session, lp, 2022, state="payable")
    response = await client.get(URL, headers=lp.headers)
    paid = {s["id"]: s["attributes"]["paid"] for s in response.json()["data"]}
    assert paid == {str(open_.id): False, str(payable.id): False}


async def test_cohort_filter(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    s21 = await f.statement(session, lp, 2021, payment_date=date(2022, 1, 25))
    s22 = await f.statement(session, lp, 2022, payment_date=date(2023, 1, 25))
    await f.statement(session, lp, 2023, payment_date=date(2024, 1, 25))
    assert ids(await client.get(URL, params={"filter[cohort]": "2021,2022"}, headers=lp.headers)) == [
        str(s21.id),
        str(s22.id),
    ]
    assert ids(await client.get(URL, params={"filter[cohort]": "2022"}, headers=lp.headers)) == [str(s22.id)]
    assert ids(await client.get(URL, params={"filter[cohort]": "abc"}, headers=lp.headers)) == []
    assert ids(await client.get(URL, params={"filter[cohort]": "1999"}, headers=lp.headers)) == []


async def test_type_filter(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session, npq=True)
    ecf = await f.statement(session, lp, 2022, payment_date=date(2023, 1, 25))
    npq = await f.statement(session, lp, 2022, programme="npq", payment_date=date(2023, 2, 25))
    assert ids(await client.get(URL, params={"filter[type]": "ecf"}, headers=lp.headers)) == [str(ecf.id)]
    assert ids(await client.get(URL, params={"filter[type]": "npq"}, headers=lp.headers)) == [str(npq.id)]
    assert ids(await client.get(URL, params={"filter[type]": "ECF"}, headers=lp.headers)) == []
    assert ids(await client.get(URL, params={"filter[type]": "other"}, headers=lp.headers)) == []
    assert ids(await client.get(URL, params={"filter[type]": ""}, headers=lp.headers)) == [
        str(ecf.id),
        str(npq.id),
    ]


async def test_updated_since_is_inclusive(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    old = await f.statement(session, lp, 2022, payment_date=date(2023, 1, 25))
    new = await f.statement(session, lp, 2022, payment_date=date(2023, 2, 25))
    moment = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    await session.execute(
        update(Statement).where(Statement.id == old.id).values(updated_at=moment - timedelta(seconds=1))
    )
    await session.execute(update(Statement).where(Statement.id == new.id).values(updated_at=moment))
    params = {"filter[updated_since]": "2026-06-01T12:00:00Z"}
    assert ids(await client.get(URL, params=params, headers=lp.headers)) == [str(new.id)]
    response = await client.get(URL, params={"filter[updated_since]": "yesterday"}, headers=lp.headers)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"title": "Bad request", "detail": "The filter '#/updated_since' must be a valid RCF3339 date"}
        ]
    }


async def test_pagination(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    rows = [await f.statement(session, lp, 2022, payment_date=date(2023, m, 25)) for m in range(1, 6)]
    page = {"page[per_page]": "2", "page[page]": "2"}
    assert ids(await client.get(URL, params=page, headers=lp.headers)) == [str(r.id) for r in rows[2:4]]


async def test_show_finds_any_own_statement_only(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    other = await f.provider(session)
    service_fee = await f.statement(session, lp, 2022, output_fee=False)
    theirs = await f.statement(session, other, 2022)
    ok = await client.get(f"{URL}/{service_fee.id}", headers=lp.headers)
    assert ok.status_code == 200
    assert ok.json()["data"]["id"] == str(service_fee.id)
    for missing in (str(theirs.id), "not-an-id", str(f.uuid.uuid4())):
        response = await client.get(f"{URL}/{missing}", headers=lp.headers)
        assert response.status_code == 404
        assert response.json() == {"error": "Resource not Found"}


async def test_npq_only_provider_reads_its_statements(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session, ecf=False, npq=True)
    row = await f.statement(session, lp, 2023, programme="npq")
    assert ids(await client.get(URL, headers=lp.headers)) == [str(row.id)]


async def test_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get(URL)
    assert response.status_code == 401
    assert response.json() == {"error": "HTTP Token: Access denied"}
