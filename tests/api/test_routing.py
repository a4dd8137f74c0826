"""Version routers reject other versions' paths at once; every route stays reachable."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Match

from app.api.routing import PathPrefixRouter


def _prefixed_routers(app: FastAPI) -> list[tuple[PathPrefixRouter, list[str]]]:
    found = []
    for route in app.router.routes:
        original = getattr(route, "original_router", None)
        if isinstance(original, PathPrefixRouter):
            paths = [context.path_format or "" for context in iter_route_contexts([route])]
            found.append((original, paths))
    return found


def test_the_api_versions_and_the_internal_api_have_prefixed_routers(app: FastAPI) -> None:
    prefixes = sorted(router.path_prefix for router, _ in _prefixed_routers(app))
    assert prefixes == ["/api/internal/", "/api/v1/", "/api/v2/", "/api/v3/"]


def test_every_route_of_a_prefixed_router_is_under_its_prefix(app: FastAPI) -> None:
    """A route outside the prefix would be rejected before it is tried: never reachable."""
    for router, paths in _prefixed_routers(app):
        assert paths, router.path_prefix
        outside = [path for path in paths if not path.startswith(router.path_prefix)]
        assert outside == [], (router.path_prefix, outside)


@pytest.mark.parametrize(
    ("path", "root_path", "expected"),
    [
        ("/api/v3/statements", "", Match.NONE),  # the v1 router: not its prefix
        ("/api/v1", "", Match.NONE),  # the prefix without its slash is not under it
    ],
)
def test_a_prefixed_router_rejects_paths_outside_its_prefix(
    path: str, root_path: str, expected: Match
) -> None:
    router = PathPrefixRouter("/api/v1")
    scope = {"type": "http", "method": "GET", "path": path, "root_path": root_path}
    assert router.matches(scope) == (expected, {})


@pytest.mark.parametrize(("root_path", "path"), [("", "/api/v1/ping"), ("/mounted", "/mounted/api/v1/ping")])
async def test_the_prefix_is_matched_after_the_root_path(root_path: str, path: str) -> None:
    """Behind a proxy that mounts the service under a path, routes match without that path."""
    inner = APIRouter(prefix="/api/v1")
    inner.add_api_route("/ping", lambda: {"pong": True}, methods=["GET"])
    router = PathPrefixRouter("/api/v1")
    router.include_router(inner)
    app = FastAPI()
    app.include_router(router)
    transport = httpx.ASGITransport(app=app, root_path=root_path)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(path)
    assert (response.status_code, response.json()) == (200, {"pong": True})


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/participants/ecf", 401),
        ("/api/v2/participants/npq", 401),
        ("/api/v3/delivery-partners", 401),
        ("/api/v3/participants/ecf/transfers", 401),
        ("/api/internal/finance/statements", 401),
        ("/api/v4/participants/ecf", 404),
        ("/healthz", 200),
    ],
)
async def test_requests_reach_their_routes_through_the_prefixed_routers(
    client: httpx.AsyncClient, path: str, status: int
) -> None:
    assert (await client.get(path)).status_code == status
