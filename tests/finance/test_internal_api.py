"""The internal finance API: who may call it, statements, payment authorisation, contracts."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.query import PAGINATION_ERROR
from app.domain.enums import TokenScope
from app.models import (
    ApiToken,
    CallOffContract,
    NpqContract,
    ParticipantBand,
    ParticipantDeclaration,
)
from app.security import hash_token
from tests import factories as f
from tests import factories_finance as ff
from tests.conftest import TEST_HMAC_KEY

D = Decimal
BASE = "/api/internal/finance"
ROUTES = [
    ("GET", "/statements"),
    ("GET", "/statements/{id}"),
    ("GET", "/statements/{id}/calculation"),
    ("GET", "/statements/{id}/calculation.csv"),
    ("POST", "/statements/{id}/mark-payable"),
    ("POST", "/statements/{id}/mark-paid"),
    ("GET", "/contracts"),
    ("POST", "/contracts"),
]
TODAY = date.today()


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


# ---- authentication -------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_no_or_unknown_token_is_401(
    client: httpx.AsyncClient, session: AsyncSession, method: str, path: str
) -> None:
    url = BASE + path.format(id=uuid.uuid4())
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = await client.request(method, url, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": "HTTP Token: Access denied"}


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("role", ["lead_provider", TokenScope.SCHOOL, TokenScope.NPQ_REGISTRATION])
async def test_other_tokens_are_403(
    client: httpx.AsyncClient, session: AsyncSession, method: str, path: str, role: str
) -> None:
    if role == "lead_provider":
        headers = (await f.provider(session, npq=True)).headers
    else:
        headers = await ff.internal_headers(session, role)
    response = await client.request(method, BASE + path.format(id=uuid.uuid4()), headers=headers)
    assert response.status_code == 403
    assert response.content == b""


async def test_a_revoked_finance_token_is_401(client: httpx.AsyncClient, session: AsyncSession) -> None:
    session.add(
        ApiToken(
            hashed_token=hash_token("revoked-finance", TEST_HMAC_KEY),
            scope=TokenScope.FINANCE,
            revoked_at=datetime.now(UTC),
        )
    )
    response = await client.get(f"{BASE}/statements", headers={"Authorization": "Bearer revoked-finance"})
    assert response.status_code == 401


@pytest.mark.parametrize("role", [TokenScope.FINANCE, TokenScope.ADMIN])
async def test_finance_and_admin_tokens_are_admitted(
    client: httpx.AsyncClient, session: AsyncSession, role: str
) -> None:
    response = await client.get(f"{BASE}/statements", headers=await ff.internal_headers(session, role))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.api+json"


# ---- statements -----------------------------------------------------------------------------------


async def test_list_and_show_statements(client: httpx.AsyncClient, session: AsyncSession) -> None:
    headers = await ff.internal_headers(session)
    lp = await f.provider(session, name="Listed Provider", npq=True)
    other = await f.provider(session)
    ecf_2022 = await f.statement(
        session, lp, 2022, name="March 2023", payment_date=date(2023, 3, 25), reconcile_amount=D("12.5")
    )
    npq_2023 = await f.statement(
        session, lp, 2023, name="May 2024", programme="npq", payment_date=date(2024, 5, 25), state="paid"
    )
    other_2022 = await f.statement(
        session, other, 2022, name="January 2023", payment_date=date(2023, 1, 25), output_fee=False
    )
    [first, second, third] = data(
        await client.get(f"{BASE}/statements?filter[cohort]=2022,2023", headers=headers)
    )
    assert [first["id"], second["id"], third["id"]] == [
        str(other_2022.id),
        str(ecf_2022.id),
        str(npq_2023.id),
    ]
    assert second == {
        "id": str(ecf_2022.id),
        "type": "statement",
        "attributes": {
            "name": "March 2023",
            "programme": "ecf",
            "cohort": "2022",
            "lead_provider_id": str(lp.cpd.id),
            "lead_provider_name": "Listed Provider",
            "state": "open",
            "output_fee": True,
            "cut_off_date": "2023-01-31",
            "payment_date": "2023-03-25",
            "contract_version": "0.0.1",
            "reconcile_amount": "12.50",
            "marked_as_paid_at": None,
            "created_at": second["attributes"]["created_at"],
            "updated_at": second["attributes"]["updated_at"],
        },
    }
    assert first["attributes"]["output_fee"] is False

    async def ids(query: str) -> list[str]:
        return [s["id"] for s in data(await client.get(f"{BASE}/statements?{query}", headers=headers))]

    assert await ids(f"filter[provider]={lp.cpd.id}") == [str(ecf_2022.id), str(npq_2023.id)]
    assert await ids(f"filter[provider]={lp.cpd.id},{other.cpd.id}&filter[cohort]=2023") == [str(npq_2023.id)]
    assert await ids(f"filter[provider]={uuid.uuid4()}") == []
    assert await ids(f"filter[provider]={lp.cpd.id}&filter[programme]=npq") == [str(npq_2023.id)]
    assert await ids(f"filter[provider]={lp.cpd.id}&filter[state]=paid") == [str(npq_2023.id)]
    assert await ids("filter[cohort]=1999") == []
    assert await ids("filter[cohort]=2022,2023&page[per_page]=1&page[page]=2") == [str(ecf_2022.id)]
    assert await ids("filter[cohort]=2022,2023&page[per_page]=2&page[page]=3") == []

    shown = data(await client.get(f"{BASE}/statements/{npq_2023.id}", headers=headers))
    assert shown["attributes"]["programme"] == "npq" and shown["attributes"]["state"] == "paid"


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        (
            "filter[provider]=not-an-id",
            "The filter '#/provider' must be a comma-separated list of lead provider ids",
        ),
        ("filter[programme]=ecf-plus", "The filter '#/programme' must be ecf or npq"),
        ("filter[state]=closed", "The filter '#/state' must be open, payable or paid"),
        ("page[page]=0", PAGINATION_ERROR),
    ],
)
async def test_bad_statement_filters(
    client: httpx.AsyncClient, session: AsyncSession, query: str, detail: str
) -> None:
    response = await client.get(f"{BASE}/statements?{query}", headers=await ff.internal_headers(session))
    assert response.status_code == 400
    assert response.json() == {"errors": [{"title": "Bad request", "detail": detail}]}


@pytest.mark.parametrize("path", ["/statements/{id}", "/statements/{id}/calculation"])
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_unknown_statement_is_404(
    client: httpx.AsyncClient, session: AsyncSession, path: str, method: str
) -> None:
    if method == "POST":
        path = (
            "/statements/{id}/mark-paid" if path.endswith("calculation") else "/statements/{id}/mark-payable"
        )
    headers = await ff.internal_headers(session)
    for ident in (str(uuid.uuid4()), "not-an-id"):
        response = await client.request(method, BASE + path.format(id=ident), headers=headers)
        assert response.status_code == 404
        assert response.json() == {"error": "Resource not Found"}


# ---- payment authorisation ------------------------------------------------------------------------


async def test_statement_transitions(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """Open -> payable after the cut-off (eligible declarations become payable), then paid
    (payable -> paid, awaiting clawback -> clawed back)."""
    headers = await ff.internal_headers(session)
    lp = await f.provider(session)
    earlier = await f.statement(session, lp, 2022, state="paid", deadline_date=TODAY - timedelta(days=60))
    statement = await f.statement(
        session, lp, 2022, deadline_date=TODAY - timedelta(days=1), payment_date=TODAY + timedelta(days=20)
    )
    eligible = await ff.line_items(session, lp, statement, 3, state="eligible")
    paid = await ff.line_items(session, lp, earlier, 1, state="paid")
    await ff.clawbacks(session, statement, paid.declaration_ids)
    url = f"{BASE}/statements/{statement.id}"

    async def states() -> tuple[str, set[str]]:
        await session.refresh(statement)
        rows = await session.execute(
            select(ParticipantDeclaration.state).where(
                ParticipantDeclaration.id.in_(eligible.declaration_ids + paid.declaration_ids)
            )
        )
        return statement.state, set(rows.scalars())

    response = await client.post(f"{url}/mark-paid", headers=headers)
    assert response.status_code == 422
    assert response.json() == {
        "errors": [{"title": "Invalid action", "detail": f"Statement {statement.name} is open, not payable"}]
    }
    assert await states() == ("open", {"eligible", "awaiting_clawback"})

    body = (await client.post(f"{url}/mark-payable", headers=headers)).json()
    assert body["data"]["attributes"]["state"] == "payable"
    assert body["meta"] == {"to_state": "payable", "declarations": 3, "clawed_back": 0}
    assert await states() == ("payable", {"payable", "awaiting_clawback"})

    response = await client.post(f"{url}/mark-payable", headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["detail"] == f"Statement {statement.name} is payable, not open"

    body = (await client.post(f"{url}/mark-paid", headers=headers)).json()
    assert body["data"]["attributes"]["state"] == "paid"
    assert body["data"]["attributes"]["marked_as_paid_at"] is not None
    assert body["meta"] == {"to_state": "paid", "declarations": 3, "clawed_back": 1}
    assert await states() == ("paid", {"paid", "clawed_back"})


async def test_mark_payable_before_the_cut_off(client: httpx.AsyncClient, session: AsyncSession) -> None:
    headers = await ff.internal_headers(session)
    lp = await f.provider(session)
    deadline = TODAY + timedelta(days=3)
    statement = await f.statement(
        session, lp, 2022, deadline_date=deadline, payment_date=deadline + timedelta(10)
    )
    url = f"{BASE}/statements/{statement.id}/mark-payable"
    response = await client.post(url, headers=headers)
    assert response.status_code == 422
    assert (
        response.json()["errors"][0]["detail"] == f"Statement {statement.name} is still open until {deadline}"
    )
    # outside production, the server date can travel past the cut-off
    later = (datetime.now(UTC) + timedelta(days=4)).isoformat()
    response = await client.post(url, headers={**headers, "X-With-Server-Date": later})
    assert data(response)["attributes"]["state"] == "payable"


# ---- contracts ------------------------------------------------------------------------------------


def contracts_body(provider: str, **changes: Any) -> dict[str, Any]:
    ecf = {
        "lead_provider": provider,
        "cohort": 2022,
        "recruitment_target": 6000,
        "set_up_fee": "149651",
        "monthly_service_fee": None,
        "uplift_amount": 100,
        "uplift_target": "0.33",
        "bands": [
            {"min": 2001, "max": 4000, "per_participant": "979"},
            {"min": None, "max": 2000, "per_participant": "995.00"},
            {"min": 4001, "max": 6000, "per_participant": 966},
        ],
    }
    npq = {
        "lead_provider": provider,
        "cohort": 2022,
        "course_identifier": "npq-leading-teaching",
        "recruitment_target": 72,
        "per_participant": "800",
        "service_fee_installments": 19,
        "number_of_payment_periods": 3,
    }
    attributes = {"ecf": [{**ecf, **changes.get("ecf", {})}], "npq": [{**npq, **changes.get("npq", {})}]}
    return {"data": {"type": "finance-contracts", "attributes": attributes}}


async def test_load_and_list_contracts(client: httpx.AsyncClient, session: AsyncSession) -> None:
    headers = await ff.internal_headers(session)
    lp = await f.provider(session, name="Contracted Provider", npq=True)
    await f.cohort(session, 2022)
    response = await client.post(
        f"{BASE}/contracts", headers=headers, json=contracts_body("contracted provider")
    )
    assert data(response) == {
        "type": "finance-contracts-import",
        "attributes": {"ecf": {"created": 1, "updated": 0}, "npq": {"created": 1, "updated": 0}},
    }
    listed = data(await client.get(f"{BASE}/contracts?filter[provider]={lp.cpd.id}", headers=headers))
    assert [c["type"] for c in listed] == ["ecf-contract", "npq-contract"]
    ecf, npq = (c["attributes"] for c in listed)
    assert ecf["bands"] == [
        {
            "band": "A",
            "min": None,
            "max": 2000,
            "per_participant": "995.00",
            "output_payment_percentage": 60,
            "service_fee_percentage": 40,
        },
        {
            "band": "B",
            "min": 2001,
            "max": 4000,
            "per_participant": "979.00",
            "output_payment_percentage": 60,
            "service_fee_percentage": 40,
        },
        {
            "band": "C",
            "min": 4001,
            "max": 6000,
            "per_participant": "966.00",
            "output_payment_percentage": 60,
            "service_fee_percentage": 40,
        },
    ]
    assert (ecf["monthly_service_fee"], ecf["set_up_fee"], ecf["uplift_amount"]) == (
        None,
        "149651.00",
        "100.00",
    )
    assert (ecf["lead_provider_name"], ecf["cohort"], ecf["version"]) == (
        "Contracted Provider",
        "2022",
        "0.0.1",
    )
    assert npq["course_identifier"] == "npq-leading-teaching"
    assert (npq["monthly_service_fee"], npq["per_participant"], npq["service_fee_percentage"]) == (
        None,
        "800.00",
        40,
    )
    assert npq["targeted_delivery_funding_per_participant"] == "100.00" and npq["special_course"] is False

    # loaded contracts drive the calculation
    statement = await f.statement(session, lp, 2022)
    npq_statement = await f.statement(session, lp, 2022, programme="npq")
    calc = data(await client.get(f"{BASE}/statements/{statement.id}/calculation", headers=headers))
    assert calc["attributes"]["service_fee"] == "75943.07"
    calc = data(await client.get(f"{BASE}/statements/{npq_statement.id}/calculation", headers=headers))
    assert calc["attributes"]["total"] == "1212.63"

    # loading again replaces the terms (and the bands)
    body = contracts_body(
        str(lp.cpd.id),
        ecf={
            "monthly_service_fee": "0",
            "bands": [{"max": None, "per_participant": "100"}],
            "set_up_fee": "0",
        },
        npq={"monthly_service_fee": 0},
    )
    assert data(await client.post(f"{BASE}/contracts", headers=headers, json=body))["attributes"] == {
        "ecf": {"created": 0, "updated": 1},
        "npq": {"created": 0, "updated": 1},
    }
    listed = data(await client.get(f"{BASE}/contracts?filter[provider]={lp.cpd.id}", headers=headers))
    assert listed[0]["attributes"]["monthly_service_fee"] == "0.00"
    assert [b["max"] for b in listed[0]["attributes"]["bands"]] == [None]
    assert listed[1]["attributes"]["monthly_service_fee"] == "0.00"
    assert await session.scalar(select(func.count()).select_from(CallOffContract)) == 1
    calc = data(await client.get(f"{BASE}/statements/{statement.id}/calculation", headers=headers))
    assert calc["attributes"]["total"] == "0.00"


async def test_list_contracts_filters_and_pages(client: httpx.AsyncClient, session: AsyncSession) -> None:
    headers = await ff.internal_headers(session)
    lp = await f.provider(session, npq=True)
    await ff.ecf_contract(session, lp, 2021)
    await ff.ecf_contract(session, lp, 2022)
    await ff.npq_contract(session, lp, 2022, "npq-headship")
    await ff.npq_contract(session, lp, 2022, "npq-leading-teaching")

    async def listed(query: str) -> list[tuple[str, str, str]]:
        rows = data(
            await client.get(f"{BASE}/contracts?filter[provider]={lp.cpd.id}&{query}", headers=headers)
        )
        return [
            (c["type"], c["attributes"]["cohort"], c["attributes"].get("course_identifier", "")) for c in rows
        ]

    assert await listed("") == [
        ("ecf-contract", "2021", ""),
        ("ecf-contract", "2022", ""),
        ("npq-contract", "2022", "npq-headship"),
        ("npq-contract", "2022", "npq-leading-teaching"),
    ]
    assert await listed("filter[programme]=npq&page[per_page]=1&page[page]=2") == [
        ("npq-contract", "2022", "npq-leading-teaching")
    ]
    assert await listed("filter[cohort]=2021") == [("ecf-contract", "2021", "")]
    response = await client.get(f"{BASE}/contracts?filter[programme]=itt", headers=headers)
    assert response.status_code == 400


async def test_invalid_contracts_load_nothing(client: httpx.AsyncClient, session: AsyncSession) -> None:
    headers = await ff.internal_headers(session)
    lp = await f.provider(session, name="Careful Provider", npq=False)
    await f.cohort(session, 2022)
    body = contracts_body(
        "Careful Provider",
        ecf={
            "recruitment_target": -1,
            "set_up_fee": "12.345",
            "surprise": True,
            "bands": [
                {"min": None, "max": 2000, "per_participant": "995"},
                {"min": 2002, "max": 4000, "per_participant": "abc", "service_fee_percentage": 140},
            ],
        },
        npq={"course_identifier": "npq-underwater-basket-weaving"},
    )
    body["data"]["attributes"]["ecf"].append(
        {"lead_provider": "Nobody", "cohort": 1999, "recruitment_target": 1}
    )
    response = await client.post(f"{BASE}/contracts", headers=headers, json=body)
    assert response.status_code == 422
    assert response.json() == {
        "errors": [
            {"title": "ecf[0].surprise", "detail": "is not a field of this record"},
            {"title": "ecf[0].recruitment_target", "detail": "must be a whole number, 0 or more"},
            {
                "title": "ecf[0].set_up_fee",
                "detail": "must be an amount of 0 or more with at most 2 decimal places",
            },
            {
                "title": "ecf[1].bands",
                "detail": "can't be blank",
            },
            {
                "title": "ecf[0].bands[1].per_participant",
                "detail": "must be an amount of 0 or more with at most 2 decimal places",
            },
            {
                "title": "ecf[0].bands[1].service_fee_percentage",
                "detail": "must be a whole number from 0 to 100",
            },
            {"title": "ecf[0].bands.B", "detail": "min must follow the previous band's max (2001)"},
            {
                "title": "npq[0].course_identifier",
                "detail": "'npq-underwater-basket-weaving' is not an NPQ course",
            },
            {"title": "ecf[1].lead_provider", "detail": "no lead provider named or with id 'Nobody'"},
            {"title": "ecf[1].cohort", "detail": "cohort 1999 does not exist"},
            {"title": "npq[0].lead_provider", "detail": "Careful Provider is not an NPQ lead provider"},
        ]
    }
    assert await session.scalar(select(func.count()).select_from(CallOffContract)) == 0
    assert await session.scalar(select(func.count()).select_from(ParticipantBand)) == 0
    assert await session.scalar(select(func.count()).select_from(NpqContract)) == 0
    assert lp.cpd.name == "Careful Provider"


@pytest.mark.parametrize(
    ("bands", "title", "detail"),
    [
        ([], "ecf[0].bands", "must be a list of 1 to 4 bands"),
        ([{"per_participant": "1"}] * 5, "ecf[0].bands", "has 5 bands: at most 4 (A to D)"),
        (
            [{"min": 5, "max": 10, "per_participant": "1"}],
            "ecf[0].bands.A",
            "the first band must start at the first participant (min empty, 0 or 1)",
        ),
        (
            [
                {"min": None, "max": None, "per_participant": "1"},
                {"min": 3, "max": 4, "per_participant": "1"},
            ],
            "ecf[0].bands.B",
            "only the last band may have no max",
        ),
        (
            [{"min": None, "max": 0, "per_participant": "1"}],
            "ecf[0].bands.A",
            "max must be at least min (and at least 1)",
        ),
        (
            [{"min": None, "max": None, "per_participant": "1"}],
            "ecf[0].bands.A",
            "a set-up fee is spread over band A's places: band A needs a max",
        ),
    ],
)
async def test_band_rules(
    client: httpx.AsyncClient, session: AsyncSession, bands: list[dict[str, Any]], title: str, detail: str
) -> None:
    lp = await f.provider(session, npq=True)
    await f.cohort(session, 2022)
    response = await client.post(
        f"{BASE}/contracts",
        headers=await ff.internal_headers(session),
        json=contracts_body(str(lp.cpd.id), ecf={"bands": bands}),
    )
    assert response.status_code == 422
    assert {"title": title, "detail": detail} in response.json()["errors"]


async def test_the_same_contract_twice_in_one_document(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session, npq=True)
    await f.cohort(session, 2022)
    body = contracts_body(lp.cpd.name)
    body["data"]["attributes"]["npq"].append(body["data"]["attributes"]["npq"][0])
    response = await client.post(f"{BASE}/contracts", headers=await ff.internal_headers(session), json=body)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"title": "npq[1]", "detail": "is the same contract as npq[0]"}]


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (
            None,
            400,
            {
                "title": "Bad request",
                "detail": "correct json data structure required. See API docs for reference",
            },
        ),
        (
            {"ecf": []},
            400,
            {
                "title": "Bad request",
                "detail": "correct json data structure required. See API docs for reference",
            },
        ),
        (
            {"data": {"type": "finance-contracts", "attributes": {}}},
            422,
            {"title": "document", "detail": "the document must have an `ecf` or an `npq` list of contracts"},
        ),
        ({"data": {"attributes": {"ecf": {}}}}, 422, {"title": "ecf", "detail": "must be a list"}),
        ({"data": {"attributes": {"npq": ["x"]}}}, 422, {"title": "npq[0]", "detail": "must be an object"}),
    ],
)
async def test_malformed_contract_documents(
    client: httpx.AsyncClient, session: AsyncSession, body: Any, status: int, expected: dict[str, str]
) -> None:
    response = await client.post(f"{BASE}/contracts", headers=await ff.internal_headers(session), json=body)
    assert response.status_code == status
    assert response.json() == {"errors": [expected]}
