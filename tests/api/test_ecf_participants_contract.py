"""ECF participant endpoints across v1, v2 and v3: auth, errors, paging, filters, visibility."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiToken, InductionRecord
from tests import factories as f
from tests.conftest import TEST_HMAC_KEY
from tests.contract import assert_matches_spec

LISTS = [
    ("v1", "/api/v1/participants/ecf"),
    ("v2", "/api/v2/participants/ecf"),
    ("v3", "/api/v3/participants/ecf"),
]
SHOWS = [
    ("v1", "/api/v1/participants/ecf/{id}"),
    ("v2", "/api/v2/participants/ecf/{id}"),
    ("v3", "/api/v3/participants/ecf/{id}"),
]
PAGINATION_ERROR = {
    "errors": [
        {
            "title": "Bad request",
            "detail": "The '#/page[page]' and '#/page[per_page]' parameter values must be a valid number "
            "(equal and more than 1)",
        }
    ]
}


def ids(response: httpx.Response) -> list[str]:
    return [item["id"] for item in response.json()["data"]]


@pytest.mark.parametrize(("version", "path"), LISTS)
@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer "])
async def test_missing_or_unknown_token_is_401(
    client: httpx.AsyncClient, version: str, path: str, header: str | None
) -> None:
    response = await client.get(path, headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json() == {"error": "HTTP Token: Access denied"}
    assert response.headers["www-authenticate"] == 'Token realm="Application"'
    assert response.headers["content-type"] == "application/vnd.api+json"
    assert_matches_spec(version, "get", path, 401, response.json())


@pytest.mark.parametrize("scheme", ["Bearer {t}", "Token {t}", 'Token token="{t}"'])
async def test_token_schemes(client: httpx.AsyncClient, session: AsyncSession, scheme: str) -> None:
    lp = await f.provider(session)
    response = await client.get(LISTS[2][1], headers={"Authorization": scheme.format(t=lp.token)})
    assert response.status_code == 200


@pytest.mark.parametrize(("version", "path"), LISTS)
async def test_npq_only_provider_is_forbidden_with_empty_body(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str
) -> None:
    npq = await f.provider(session, ecf=False, npq=True)
    response = await client.get(path + "?filter[updated_since]=garbage", headers=npq.headers)
    assert response.status_code == 403
    assert response.content == b""


async def test_authentication_comes_before_filter_validation(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v3/participants/ecf?filter[updated_since]=garbage")
    assert response.status_code == 401


async def test_tokens_are_hashed_and_last_use_written_once_a_minute(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    await client.get("/api/v3/participants/ecf", headers=lp.headers)
    token = (
        await session.execute(select(ApiToken).where(ApiToken.cpd_lead_provider_id == lp.cpd.id))
    ).scalar_one()
    await session.refresh(token)
    assert token.hashed_token != lp.token and lp.token not in token.hashed_token
    first_use = token.last_used_at
    assert first_use is not None
    await client.get("/api/v3/participants/ecf", headers=lp.headers)
    await session.refresh(token)
    assert token.last_used_at == first_use
    assert TEST_HMAC_KEY  # the digest is keyed


@pytest.mark.parametrize(("version", "path"), SHOWS)
async def test_other_providers_unknown_and_malformed_ids_are_404(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str
) -> None:
    mine = await f.provider(session)
    theirs = await f.provider(session)
    other = await f.participant(session, theirs.lead_provider)
    for participant_id in (other.id, str(uuid.uuid4()), "not-a-uuid"):
        response = await client.get(path.format(id=participant_id), headers=mine.headers)
        assert response.status_code == 404
        assert response.json() == {"error": "Resource not Found"}
    own = await client.get(path.format(id=other.id), headers=theirs.headers)
    assert own.status_code == 200
    assert_matches_spec(version, "get", path, 200, own.json())


@pytest.mark.parametrize(("version", "path"), LISTS)
async def test_pagination_pages_do_not_overlap(
    client: httpx.AsyncClient, session: AsyncSession, version: str, path: str
) -> None:
    lp = await f.provider(session)
    created = [
        (await f.participant(session, lp.lead_provider, created_at=f.at(-10 + i))).id for i in range(5)
    ]
    pages = []
    for number in (1, 2, 3, 4):
        response = await client.get(f"{path}?page[per_page]=2&page[page]={number}", headers=lp.headers)
        assert response.status_code == 200
        assert_matches_spec(version, "get", path, 200, response.json())
        pages.append(ids(response))
    assert pages == [created[0:2], created[2:4], created[4:5], []]
    assert ids(await client.get(f"{path}?page[per_page]=2abc", headers=lp.headers)) == created[0:2]


@pytest.mark.parametrize(
    "query", ["page[page]=0", "page[per_page]=0", "page[page]=abc", "page=2", "page[per_page]=-1"]
)
async def test_bad_pagination_is_400(client: httpx.AsyncClient, session: AsyncSession, query: str) -> None:
    lp = await f.provider(session)
    for _, path in LISTS:
        response = await client.get(f"{path}?{query}", headers=lp.headers)
        assert response.status_code == 400
        assert response.json() == PAGINATION_ERROR


async def test_per_page_is_capped_not_rejected(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    await f.participant(session, lp.lead_provider)
    response = await client.get("/api/v3/participants/ecf?page[per_page]=999999", headers=lp.headers)
    assert response.status_code == 200 and len(response.json()["data"]) == 1


async def test_filter_errors(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    cases = {
        "filter=abc": {"errors": [{"title": "Bad parameter", "detail": "Filter must be a hash"}]},
        "filter[updated_since]=yesterday": {
            "errors": [
                {
                    "title": "Bad request",
                    "detail": "The filter '#/updated_since' must be a valid RCF3339 date",
                }
            ]
        },
    }
    for query, body in cases.items():
        for _, path in LISTS:
            response = await client.get(f"{path}?{query}", headers=lp.headers)
            assert response.status_code == 400, (path, query)
            assert response.json() == body
    response = await client.get("/api/v3/participants/ecf?filter[training_status]=paused", headers=lp.headers)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "title": "Bad request",
                "detail": 'The filter \'#/training_status\' must be ["active", "deferred", "withdrawn"]',
            }
        ]
    }


async def test_updated_since_accepts_encoded_and_blank_values(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider)
    for value in ("2000-01-01T00%253A00%253A00%252B01%253A00", "2000-01-01", "", "2000-01-01t00:00:00z"):
        response = await client.get(
            f"/api/v1/participants/ecf?filter[updated_since]={value}", headers=lp.headers
        )
        assert response.status_code == 200, value
        assert ids(response) == [p.id]
    response = await client.get(
        "/api/v1/participants/ecf?filter[updated_since]=2999-01-01T00:00:00Z", headers=lp.headers
    )
    assert ids(response) == []


async def test_challenged_partnerships_cip_and_other_providers_are_hidden(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    other = await f.provider(session)
    visible = await f.participant(session, lp.lead_provider)
    challenged = await f.programme(session, lp.lead_provider, 2022, challenged=True)
    await f.participant(session, lp.lead_provider, programme_=challenged)
    await f.participant(session, None)  # school-led, no partnership
    await f.participant(session, other.lead_provider)
    for _, path in LISTS:
        assert ids(await client.get(path, headers=lp.headers)) == [visible.id]


async def test_default_cohorts_exclude_2020_unless_asked(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    old = await f.participant(session, lp.lead_provider, 2020)
    new = await f.participant(session, lp.lead_provider, 2022)
    for _, path in LISTS:
        assert ids(await client.get(path, headers=lp.headers)) == [new.id]
        assert ids(await client.get(f"{path}?filter[cohort]=2020", headers=lp.headers)) == [old.id]
        both = await client.get(f"{path}?filter[cohort]=2020,2022", headers=lp.headers)
        assert sorted(ids(both)) == sorted([old.id, new.id])
        assert ids(await client.get(f"{path}?filter[cohort]=abc", headers=lp.headers)) == []


async def test_latest_record_per_provider_after_a_transfer(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    first = await f.provider(session)
    second = await f.provider(session)
    p = await f.participant(
        session, first.lead_provider, induction_status="leaving", end_date=f.at(-5), start_date=f.at(-100)
    )
    target = await f.programme(session, second.lead_provider, 2022)
    await f.induction_record(session, p, target, start_date=f.at(-4), school_transfer=True)
    old = (await client.get(f"/api/v3/participants/ecf/{p.id}", headers=first.headers)).json()
    new = (await client.get(f"/api/v3/participants/ecf/{p.id}", headers=second.headers)).json()
    assert old["data"]["attributes"]["ecf_enrolments"][0]["participant_status"] == "left"
    assert old["data"]["attributes"]["ecf_enrolments"][0]["school_urn"] == p.programme.school.urn
    assert new["data"]["attributes"]["ecf_enrolments"][0]["participant_status"] == "active"
    assert new["data"]["attributes"]["ecf_enrolments"][0]["school_urn"] == target.school.urn


async def test_updated_at_follows_a_change_to_an_induction_record(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, created_at=f.at(-50))
    await session.execute(
        update(InductionRecord)
        .where(InductionRecord.id == p.record.id)
        .values(training_status="deferred", updated_at=f.at(-1))
    )
    since = f.at(-2).strftime("%Y-%m-%dT%H:%M:%SZ")
    for _, path in LISTS:
        response = await client.get(f"{path}?filter[updated_since]={since}", headers=lp.headers)
        assert ids(response) == [p.id], path


async def test_server_date_header_moves_the_clock(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider, start_date=f.at(10))
    url = f"/api/v3/participants/ecf/{p.id}"
    now = await client.get(url, headers=lp.headers)
    later = await client.get(url, headers=lp.headers | {"X-With-Server-Date": f.at(20).isoformat()})
    assert now.json()["data"]["attributes"]["ecf_enrolments"][0]["participant_status"] == "joining"
    assert later.json()["data"]["attributes"]["ecf_enrolments"][0]["participant_status"] == "active"
    bad = await client.get(url, headers=lp.headers | {"X-With-Server-Date": "next tuesday"})
    assert bad.status_code == 400


async def test_unknown_route_is_a_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v3/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}
