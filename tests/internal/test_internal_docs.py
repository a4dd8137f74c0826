"""The internal API and the sandbox scenario API publish OpenAPI documents and docs pages of their
own; the sandbox's exists only where the scenario routes do."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.docs import build_document
from app.main import create_app
from app.settings import Environment, Settings
from tests.conftest import TEST_HMAC_KEY
from tests.reliability._routes import api_routes

DOCS = "/lead-providers/api-docs"
METHODS = ("get", "put", "post", "patch", "delete")


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, m, op) for path, item in doc["paths"].items() for m, op in item.items() if m in METHODS]


@pytest.mark.parametrize(("name", "prefix"), [("internal", "/api/internal/"), ("sandbox", "/api/sandbox/")])
async def test_documents_cover_every_route(
    app: FastAPI, client: httpx.AsyncClient, name: str, prefix: str
) -> None:
    served = await client.get(f"{DOCS}/{name}/api_spec.json")
    assert served.status_code == 200
    doc = served.json()
    assert doc["openapi"] == "3.0.3"
    documented = {(m.upper(), path) for path, m, _ in operations(doc)}
    expected = {r for r in api_routes(app) if r[1].startswith(prefix)}
    assert documented == expected
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids))
    for path, method, op in operations(doc):
        assert op.get("summary"), (method, path)
        assert "401" in op["responses"] and "403" in op["responses"], (method, path)
        if method in ("post", "put", "patch") and "{" in path and not path.endswith("withdraw"):
            assert "requestBody" in op or path.endswith("mark-paid") or path.endswith("mark-payable"), (
                method,
                path,
            )
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert yaml.safe_load((await client.get(f"{DOCS}/{name}/api_spec.yml")).text) == doc
    page = await client.get(f"{DOCS}/{name}")
    assert page.status_code == 200 and f"{DOCS}/{name}/api_spec.json" in page.text


async def test_the_sandbox_document_is_absent_in_production(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    production = create_app(
        Settings(environment=Environment.PRODUCTION, token_hmac_key=TEST_HMAC_KEY + "-production-secret"),
        sessionmaker=sessionmaker,
    )
    assert build_document(production, "sandbox")["paths"] == {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=production), base_url="http://test"
    ) as prod:
        for url in (f"{DOCS}/sandbox", f"{DOCS}/sandbox/api_spec.json", f"{DOCS}/sandbox/api_spec.yml"):
            assert (await prod.get(url)).status_code == 404, url
        internal = await prod.get(f"{DOCS}/internal/api_spec.json")
        assert internal.status_code == 200
        page = await prod.get(f"{DOCS}/v3")
        assert 'href="/lead-providers/api-docs/sandbox"' not in page.text
