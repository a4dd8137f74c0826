"""The docs pages: one Swagger UI page per version, every asset served by this service (no CDN)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest
from fastapi import FastAPI

from app.api.docs import VERSIONS

DOCS = "/lead-providers/api-docs"
EXTERNAL_URL = re.compile(r"(?i)\b(?:https?:)?//[a-z0-9.-]+")


class _References(HTMLParser):
    """Every URL the page makes the browser load or link to."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


def _references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize("version", VERSIONS)
async def test_the_page_and_everything_it_references_are_served_here(
    client: httpx.AsyncClient, version: str
) -> None:
    page = await client.get(f"{DOCS}/{version}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert EXTERNAL_URL.findall(html) == [], "the page refers to another host"

    urls = _references(html)
    scripts = [u for u in urls if u.endswith(".js")]
    assert f"{DOCS}/assets/swagger-ui-bundle.js" in scripts
    assert f"{DOCS}/assets/swagger-ui.css" in urls
    assert f"{DOCS}/{version}/api_spec.json" in urls and f"{DOCS}/{version}/api_spec.yml" in urls
    for url in urls:
        assert url.startswith("/"), url
        response = await client.get(url)
        assert response.status_code == 200, url
        assert response.content, url
    for script in scripts:
        assert "javascript" in (await client.get(script)).headers["content-type"], script

    # The page's own script loads this version's document from here, and nothing from elsewhere.
    initializer = (await client.get(f"{DOCS}/{version}/swagger-initializer.js")).text
    assert EXTERNAL_URL.findall(initializer) == []
    assert f'url: "{DOCS}/{version}/api_spec.json"' in initializer
    assert "validatorUrl: null" in initializer  # Swagger UI's default validator is a public site


async def test_the_page_links_every_version(client: httpx.AsyncClient) -> None:
    urls = _references((await client.get(f"{DOCS}/v2")).text)
    assert {f"{DOCS}/v1", f"{DOCS}/v3"} <= set(urls)


async def test_the_asset_files_are_the_vendored_swagger_ui(client: httpx.AsyncClient) -> None:
    css = await client.get(f"{DOCS}/assets/swagger-ui.css")
    assert css.headers["content-type"].startswith("text/css")
    bundle = await client.get(f"{DOCS}/assets/swagger-ui-bundle.js")
    assert b"SwaggerUIBundle" in bundle.content
    # The package's own demo page (which loads a third-party document) is not served.
    for name in ("index.html", "swagger-initializer.js", "../__init__.py", "nothing.js"):
        assert (await client.get(f"{DOCS}/assets/{name}")).status_code == 404, name


async def test_docs_redirects_to_the_latest_version(client: httpx.AsyncClient) -> None:
    for path in ("/docs", DOCS):
        response = await client.get(path)
        assert response.is_redirect, path
        assert response.headers["location"] == f"{DOCS}/v3"


async def test_the_frameworks_cdn_pages_are_gone(client: httpx.AsyncClient) -> None:
    assert (await client.get("/redoc")).status_code == 404
    assert (await client.get("/docs/oauth2-redirect")).status_code == 404


async def test_a_proxy_prefix_is_kept_in_every_link(app: FastAPI) -> None:
    # Behind a proxy mounting the service under a prefix (ASGI root_path), links carry the prefix.
    transport = httpx.ASGITransport(app=app, root_path="/cpd")
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as proxied:
        html = (await proxied.get(f"/cpd{DOCS}/v1")).text
        initializer = (await proxied.get(f"/cpd{DOCS}/v1/swagger-initializer.js")).text
    assert all(url.startswith(f"/cpd{DOCS}/") for url in _references(html))
    assert f'url: "/cpd{DOCS}/v1/api_spec.json"' in initializer
