"""Rules every ECF endpoint shares (ecf.md §1): authentication and access, error bodies, the JSON:API
envelope, pagination, filter parsing, `X-With-Server-Date` and API tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.enums import TokenScope
from app.models import ApiToken, User
from app.security import hash_token
from tests import factories as f
from tests.conftest import TEST_HMAC_KEY
from tests.contract import assert_matches_spec

V1_LIST = "/api/v1/participants/ecf"
V3_LIST = "/api/v3/participants/ecf"
LISTS = [
    pytest.param("v1", V1_LIST, id="v1"),
    pytest.param("v2", "/api/v2/participants/ecf", id="v2"),
    pytest.param("v3", V3_LIST, id="v3"),
]
SHOWS = [
    pytest.param("v1", "/api/v1/participants/ecf/{id}", id="v1"),
    pytest.param("v2", "/api/v2/participants/ecf/{id}", id="v2"),
    pytest.param("v3", "/api/v3/participants/ecf/{id}", id="v3"),
]
DECLARATION_SHOWS = [
    "/api/v1/participant-declarations/{id}",
    "/api/v2/participant-declarations/{id}",
    "/api/v3/participant-declarations/{id}",
]

UNAUTHORISED = {"error": "HTTP Token: Access denied"}
NOT_FOUND = {"error": "Resource not Found"}
PAGINATION_ERROR = {
    "errors": [
        {
            "title": "Bad request",
            "detail": "The '#/page[page]' and '#/page[per_page]' parameter values must be a valid number "
            "(equal and more than 1)",
        }
    ]
}
UPDATED_SINCE_ERROR = {
    "errors": [
        {"title": "Bad request", "detail": "The filter '#/updated_since' must be a valid RCF3339 date"}
    ]
}
FILTER_NOT_A_HASH = {"errors": [{"title": "Bad parameter", "detail": "Filter must be a hash"}]}
JSONAPI = "application/vnd.api+json"


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def list_ids(
    client: httpx.AsyncClient, lp: f.Provider, version: str, path: str, query: str = ""
) -> list[str]:
    """The ids of a 200 list response (validated against the version's reference schema)."""
    response = await client.get(f"{path}?{query}" if query else path, headers=lp.headers)
    assert response.status_code == 200, response.text
    assert_matches_spec(version, "get", path, 200, response.json())
    return [item["id"] for item in response.json()["data"]]


async def participants_created_in_order(session: AsyncSession, lp: f.Provider, count: int) -> list[str]:
    """`count` participants of `lp`, oldest user first (the default list order)."""
    return [
        (await f.participant(session, lp.lead_provider, created_at=f.at(-100 + i))).id for i in range(count)
    ]


async def get_without_raising(app: FastAPI, url: str, headers: dict[str, str]) -> httpx.Response:
    """A request whose unhandled error comes back as the 500 response a client would see."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(url, headers=headers)


# ---- 401 / 403 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "path"), LISTS)
@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-header"),
        pytest.param("Bearer unknown-token", id="unknown-token"),
        pytest.param("Bearer", id="scheme-without-token"),
        pytest.param("Basic dXNlcjpwYXNz", id="basic-scheme"),
        pytest.param("garbage", id="no-scheme"),
        pytest.param('Token token=""', id="empty-token"),
    ],
)
async def test_missing_unknown_or_malformed_credentials_are_401(
    client: httpx.AsyncClient, version: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORISED
    assert response.headers["www-authenticate"] == 'Token realm="Application"'
    assert response.headers["content-type"] == JSONAPI
    assert_matches_spec(version, "get", path, 401, response.json())


@pytest.mark.parametrize("scheme", ["Bearer {token}", "Token {token}", 'Token token="{token}"'])
async def test_bearer_and_token_schemes_are_accepted(
    client: httpx.AsyncClient, session: AsyncSession, scheme: str
) -> None:
    lp = await f.provider(session)
    response = await client.get(V3_LIST, headers={"Authorization": scheme.format(token=lp.token)})
    assert response.status_code == 200
    assert_matches_spec("v3", "get", V3_LIST, 200, response.json())


@pytest.mark.parametrize(("version", "path"), LISTS)
async def test_npq_only_provider_is_forbidden_with_an_empty_body(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str
) -> None:
    npq_only = await f.provider(session, ecf=False, npq=True)
    response = await client.get(path, headers=npq_only.headers)
    assert response.status_code == 403
    assert response.content == b""


@pytest.mark.parametrize(("version", "path"), SHOWS)
async def test_npq_only_provider_is_forbidden_on_show(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str
) -> None:
    npq_only = await f.provider(session, ecf=False, npq=True)
    response = await client.get(path.format(id=uuid.uuid4()), headers=npq_only.headers)
    assert response.status_code == 403
    assert response.content == b""


@pytest.mark.parametrize(
    "scope", [TokenScope.SCHOOL, TokenScope.NPQ_REGISTRATION, TokenScope.ADMIN, TokenScope.FINANCE]
)
async def test_token_that_is_not_a_lead_providers_is_forbidden(
    client: httpx.AsyncClient, session: AsyncSession, scope: TokenScope
) -> None:
    raw = f"internal-{uuid.uuid4()}"
    session.add(ApiToken(hashed_token=hash_token(raw, TEST_HMAC_KEY), scope=scope))
    response = await client.get(V3_LIST, headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 403
    assert response.content == b""


async def test_revoked_token_is_401(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    await session.execute(
        update(ApiToken).where(ApiToken.cpd_lead_provider_id == lp.cpd.id).values(revoked_at=f.at(-1))
    )
    response = await client.get(V3_LIST, headers=lp.headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORISED


async def test_npq_only_provider_is_forbidden_on_csv(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    npq_only = await f.provider(session, ecf=False, npq=True)
    response = await client.get("/api/v1/participants/ecf.csv", headers=npq_only.headers)
    assert response.status_code == 403
    assert response.content == b""


async def test_authentication_is_checked_before_filters(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{V3_LIST}?filter=abc", headers={"Authorization": "Bearer unknown"})
    assert response.status_code == 401
    assert response.json() == UNAUTHORISED


async def test_access_is_checked_before_filters(client: httpx.AsyncClient, session: AsyncSession) -> None:
    npq_only = await f.provider(session, ecf=False, npq=True)
    response = await client.get(f"{V3_LIST}?filter[updated_since]=garbage", headers=npq_only.headers)
    assert response.status_code == 403
    assert response.content == b""


# ---- envelope ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "path"), LISTS)
async def test_empty_list_is_an_empty_data_array_in_the_jsonapi_type(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str
) -> None:
    lp = await f.provider(session)
    response = await client.get(path, headers=lp.headers)
    assert response.status_code == 200
    assert response.content == b'{"data":[]}'
    assert response.headers["content-type"] == JSONAPI
    assert_matches_spec(version, "get", path, 200, response.json())


# ---- pagination ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "path"), LISTS)
async def test_pages_cover_the_list_without_overlap_or_gap(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str
) -> None:
    lp = await f.provider(session)
    created = await participants_created_in_order(session, lp, 5)
    pages = [
        await list_ids(client, lp, version, path, f"page[per_page]=2&page[page]={number}")
        for number in (1, 2, 3)
    ]
    assert pages == [created[0:2], created[2:4], created[4:5]]


@pytest.mark.parametrize(("version", "path"), LISTS)
async def test_page_past_the_end_is_an_empty_list(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str
) -> None:
    lp = await f.provider(session)
    await participants_created_in_order(session, lp, 3)
    response = await client.get(f"{path}?page[per_page]=2&page[page]=3", headers=lp.headers)
    assert response.status_code == 200
    assert response.json() == {"data": []}


async def test_default_page_size_is_100(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    shared = await f.programme(session, lp.lead_provider, 2022)
    for i in range(101):
        await f.participant(session, lp.lead_provider, programme_=shared, created_at=f.at(-200 + i))
    assert len(await list_ids(client, lp, "v3", V3_LIST)) == 100
    assert len(await list_ids(client, lp, "v3", V3_LIST, "page[page]=2")) == 1


async def test_per_page_above_the_maximum_is_capped_not_rejected(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    created = await participants_created_in_order(session, lp, 2)
    assert await list_ids(client, lp, "v1", V1_LIST, "page[per_page]=1000000") == created


async def test_per_page_takes_the_leading_digits_like_ruby_to_i(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    created = await participants_created_in_order(session, lp, 3)
    assert await list_ids(client, lp, "v3", V3_LIST, "page[per_page]=2abc") == created[:2]


@pytest.mark.parametrize(("version", "path"), LISTS)
async def test_page_far_past_the_end_is_an_empty_list(
    app: FastAPI, session: AsyncSession, version: str, path: str
) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider)
    response = await get_without_raising(app, f"{path}?page[page]=99999999999999999999", lp.headers)
    assert response.status_code == 200
    assert response.json() == {"data": []}


@pytest.mark.parametrize(("version", "path"), LISTS)
@pytest.mark.parametrize(
    "query",
    ["page[page]=0", "page[per_page]=0", "page[page]=abc", "page[per_page]=abc", "page[page]=-1", "page=2"],
)
async def test_invalid_pagination_is_400(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str, query: str
) -> None:
    lp = await f.provider(session)
    response = await client.get(f"{path}?{query}", headers=lp.headers)
    assert response.status_code == 400
    assert response.json() == PAGINATION_ERROR
    assert response.headers["content-type"] == JSONAPI


# ---- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "path"), LISTS)
async def test_filter_that_is_not_a_hash_is_400(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str
) -> None:
    lp = await f.provider(session)
    response = await client.get(f"{path}?filter=abc", headers=lp.headers)
    assert response.status_code == 400
    assert response.json() == FILTER_NOT_A_HASH


@pytest.mark.parametrize(("version", "path"), LISTS)
@pytest.mark.parametrize("value", ["yesterday", "2021-13-01T00:00:00Z", "13/05/2021", "2021-05-13T10:00"])
async def test_invalid_updated_since_is_400(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str, value: str
) -> None:
    lp = await f.provider(session)
    response = await client.get(f"{path}?filter[updated_since]={value}", headers=lp.headers)
    assert response.status_code == 400
    assert response.json() == UPDATED_SINCE_ERROR


@pytest.mark.parametrize(("version", "path"), LISTS)
@pytest.mark.parametrize(
    "value",
    [
        pytest.param("2020-01-01T00%3A00%3A00Z", id="encoded"),
        pytest.param("2020-01-01T00%253A00%253A00Z", id="double-encoded"),
        pytest.param("2020-01-01T00%253A00%253A00%252B01%253A00", id="double-encoded-offset"),
        pytest.param("2020-01-01T00:00:00%2B01:00", id="offset"),
        pytest.param("2020-01-01", id="bare-date"),
    ],
)
async def test_updated_since_accepts_encoded_values(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str, value: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider)
    assert await list_ids(client, lp, version, path, f"filter[updated_since]={value}") == [p.id]


@pytest.mark.parametrize(("version", "path"), LISTS)
async def test_updated_since_is_inclusive(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider)
    updated = datetime(2023, 3, 4, 5, 6, 7, tzinfo=UTC)
    await session.execute(update(User).where(User.id == p.person.user.id).values(updated_at=updated))
    at_the_instant = rfc3339(updated)
    a_second_later = rfc3339(updated + timedelta(seconds=1))
    assert await list_ids(client, lp, version, path, f"filter[updated_since]={at_the_instant}") == [p.id]
    assert await list_ids(client, lp, version, path, f"filter[updated_since]={a_second_later}") == []


@pytest.mark.parametrize(("version", "path"), LISTS)
async def test_blank_filter_values_are_ignored(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str
) -> None:
    lp = await f.provider(session)
    current = await f.participant(session, lp.lead_provider, 2022)
    await f.participant(session, lp.lead_provider, 2020)  # outside the default cohorts
    query = "filter[updated_since]=&filter[cohort]="
    assert await list_ids(client, lp, version, path, query) == [current.id]


@pytest.mark.parametrize(("version", "path"), LISTS)
async def test_unknown_filter_keys_are_ignored(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider)
    assert await list_ids(client, lp, version, path, "filter[colour]=blue") == [p.id]


@pytest.mark.parametrize(("version", "path"), LISTS[:2])
async def test_v3_only_filters_are_unknown_keys_in_v1_and_v2(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider)
    query = f"filter[training_status]=paused&filter[from_participant_id]={uuid.uuid4()}"
    assert await list_ids(client, lp, version, path, query) == [p.id]


# ---- 404 -----------------------------------------------------------------------------------------
# The v3 document describes a 404 body with title/detail; the service sends {"error": ...}
# (ecf.md §1.2), so 404 bodies are asserted exactly rather than against the document.


@pytest.mark.parametrize(("version", "path"), SHOWS)
@pytest.mark.parametrize("participant_id", [str(uuid.uuid4()), "not-a-uuid", "1"])
async def test_unknown_or_malformed_participant_id_is_404(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str, participant_id: str
) -> None:
    lp = await f.provider(session)
    response = await client.get(path.format(id=participant_id), headers=lp.headers)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert response.headers["content-type"] == JSONAPI


@pytest.mark.parametrize(("version", "path"), SHOWS)
async def test_another_providers_participant_is_404(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str
) -> None:
    mine = await f.provider(session)
    theirs = await f.provider(session)
    p = await f.participant(session, theirs.lead_provider)
    response = await client.get(path.format(id=p.id), headers=mine.headers)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("path", DECLARATION_SHOWS)
@pytest.mark.parametrize("declaration_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_unknown_or_malformed_declaration_id_is_404(
    client: httpx.AsyncClient, session: AsyncSession, path: str, declaration_id: str
) -> None:
    lp = await f.provider(session)
    response = await client.get(path.format(id=declaration_id), headers=lp.headers)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("path", DECLARATION_SHOWS)
async def test_another_providers_declaration_is_404(
    client: httpx.AsyncClient, session: AsyncSession, path: str
) -> None:
    mine = await f.provider(session)
    theirs = await f.provider(session)
    p = await f.participant(session, theirs.lead_provider)
    declaration = await f.declaration(session, p, theirs)
    response = await client.get(path.format(id=declaration.id), headers=mine.headers)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


async def test_unknown_route_is_a_json_404(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    response = await client.get("/api/v3/no-such-thing", headers=lp.headers)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert response.headers["content-type"] == JSONAPI


# ---- X-With-Server-Date --------------------------------------------------------------------------


async def participant_status(
    client: httpx.AsyncClient, lp: f.Provider, participant_id: str, headers: dict[str, str] | None = None
) -> Any:
    path = "/api/v3/participants/ecf/{id}"
    response = await client.get(path.format(id=participant_id), headers=lp.headers | (headers or {}))
    assert response.status_code == 200, response.text
    assert_matches_spec("v3", "get", path, 200, response.json())
    return response.json()["data"]["attributes"]["ecf_enrolments"][0]["participant_status"]


async def test_server_date_header_moves_now_outside_production(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, start_date=f.at(10))
    assert await participant_status(client, lp, p.id) == "joining"
    later = {"X-With-Server-Date": rfc3339(f.at(20))}
    assert await participant_status(client, lp, p.id, later) == "active"


async def test_unparseable_server_date_header_is_400(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    response = await client.get(V3_LIST, headers=lp.headers | {"X-With-Server-Date": "next tuesday"})
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "title": "Bad request",
                "detail": "The 'X-With-Server-Date' header must be an ISO 8601 date and time",
            }
        ]
    }


# ---- tokens --------------------------------------------------------------------------------------


async def token_row(session: AsyncSession, lp: f.Provider) -> ApiToken:
    statement = (
        select(ApiToken)
        .where(ApiToken.cpd_lead_provider_id == lp.cpd.id)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one()


async def test_stored_token_never_contains_the_raw_token(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    await client.get(V3_LIST, headers=lp.headers)
    row = await token_row(session, lp)
    stored = [str(getattr(row, column.key)) for column in ApiToken.__table__.columns]
    assert not any(lp.token in value for value in stored)


async def test_first_use_records_last_used_at(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    assert (await token_row(session, lp)).last_used_at is None
    before = datetime.now(UTC)
    await client.get(V3_LIST, headers=lp.headers)
    last_used_at = (await token_row(session, lp)).last_used_at
    assert last_used_at is not None
    assert before - timedelta(seconds=1) <= last_used_at <= datetime.now(UTC)


async def test_last_used_at_is_not_rewritten_within_a_minute(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    await client.get(V3_LIST, headers=lp.headers)
    first = (await token_row(session, lp)).last_used_at
    await client.get(V3_LIST, headers=lp.headers)
    assert (await token_row(session, lp)).last_used_at == first


async def test_last_used_at_older_than_a_minute_is_rewritten(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    long_ago = datetime(2023, 1, 1, tzinfo=UTC)
    await session.execute(
        update(ApiToken).where(ApiToken.cpd_lead_provider_id == lp.cpd.id).values(last_used_at=long_ago)
    )
    await client.get(V3_LIST, headers=lp.headers)
    last_used_at = (await token_row(session, lp)).last_used_at
    assert last_used_at is not None and last_used_at > datetime.now(UTC) - timedelta(minutes=1)


async def test_a_near_miss_token_is_401_and_does_not_mark_the_real_one_used(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    response = await client.get(V3_LIST, headers={"Authorization": f"Bearer {lp.token}x"})
    assert response.status_code == 401
    assert (await token_row(session, lp)).last_used_at is None
