"""Regressions for what the schemathesis fuzzer (tests/reliability/test_fuzz.py) found, one test each.

1. CSV routes documented their 400 and 401 bodies as `application/json`, but every JSON body the
   service sends is `application/vnd.api+json` (FastAPI documents a response model under the route's
   media type, and a CSV route has none). Found by schemathesis' content-type check on
   `GET /api/v1/participants/ecf.csv?filter[updated_since]=<not a date>`; fixed in app/api/docs.py.
2. change-schedule with a `cohort` no smallint holds (`-24420996877982`, sent as a JSON number by
   negative-mode generation) was a server error: the start-year lookup failed in PostgreSQL. Such
   a year now names no cohort (the schedule 422); fixed in app/repositories/ecf_actions.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests import factories as f
from tests import factories_npq_outcomes as fo

VERSIONS = ("v1", "v2", "v3")
JSONAPI = "application/vnd.api+json"


async def _document(client: httpx.AsyncClient, version: str) -> dict[str, Any]:
    response = await client.get(f"/lead-providers/api-docs/{version}/api_spec.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _csv_operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (path, item["get"])
        for path, item in document["paths"].items()
        if "get" in item and "text/csv" in (item["get"]["responses"].get("200", {}).get("content") or {})
    ]


@pytest.mark.parametrize("version", VERSIONS)
async def test_every_documented_json_body_is_jsonapi(client: httpx.AsyncClient, version: str) -> None:
    document = await _document(client, version)
    media_types = {
        (path, method, status): media
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        for status, response in (operation.get("responses") or {}).items()
        for media in (response.get("content") or {})
    }
    assert media_types
    assert {key: media for key, media in media_types.items() if media not in (JSONAPI, "text/csv")} == {}


@pytest.mark.parametrize("version", ("v1", "v2"))
async def test_csv_errors_are_sent_as_documented(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session, npq=True)
    document = await _document(client, version)
    operations = _csv_operations(document)
    assert operations, f"{version} documents no CSV route"
    for path, operation in operations:
        bad = await client.get(path, params={"filter[updated_since]": "not a date"}, headers=lp.headers)
        anonymous = await client.get(path)
        for response in (bad, anonymous):
            documented = operation["responses"][str(response.status_code)]["content"]
            assert response.headers["content-type"] in documented, (path, response.status_code, documented)
        assert (bad.status_code, anonymous.status_code) == (400, 401), path


@pytest.mark.parametrize("cohort", [-24420996877982, "99999999999", 2**15])
@pytest.mark.parametrize("version", VERSIONS)
async def test_change_schedule_to_a_year_no_cohort_column_holds(
    client: httpx.AsyncClient, session: AsyncSession, version: str, cohort: object
) -> None:
    lp = await f.provider(session, npq=True)
    learner = await fo.learner(session, lp)
    ect = await f.participant(session, lp.lead_provider, 2022)
    for path, course in (
        (f"/api/{version}/participants/npq/{learner.id}/change-schedule", "npq-headship"),
        (f"/api/{version}/participants/ecf/{ect.id}/change-schedule", "ecf-induction"),
    ):
        attributes = {
            "course_identifier": course,
            "schedule_identifier": "ecf-standard-january",
            "cohort": cohort,
        }
        body = {"data": {"type": "participant-change-schedule", "attributes": attributes}}
        response = await client.put(path, json=body, headers=lp.headers)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["errors"], path
