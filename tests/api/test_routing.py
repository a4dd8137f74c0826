"""Version routers reject other versions' paths at once; every route stays reachable."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.applications import Starlette
from starlette.routing import Match, Mount

from app.api.routing import PathPrefixRouter, ResourceRouter


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


def _resource_routers(routes: list[Any]) -> list[ResourceRouter]:
    """Every ResourceRouter included anywhere under these routes."""
    found: list[ResourceRouter] = []
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            if isinstance(original, ResourceRouter):
                found.append(original)
            found.extend(_resource_routers(original.routes))
    return found


def test_resource_routers_are_included_without_a_further_prefix(app: FastAPI) -> None:
    """A resource router rejects paths on its routes' own paths: were it included under a prefix,
    requests (which carry the prefix) would never reach it."""
    routers = _resource_routers(app.router.routes)
    # v1 and v2: ECF participants, declarations and the three NPQ ones; v3: eight more and NPQ's three.
    assert len(routers) == 2 * 5 + 11, len(routers)
    own_paths = {id(route): route.path for router in routers for route in router.routes}
    effective = {
        id(context.original_route): context.path_format
        for context in iter_route_contexts(app.router.routes)
        if id(context.original_route) in own_paths
    }
    assert effective.keys() == own_paths.keys()
    assert [p for key, p in effective.items() if p != own_paths[key]] == []


def _scope(path: str, method: str = "GET") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": ""}


class CountingRoute(APIRoute):
    tried = 0

    def matches(self, scope: Any) -> tuple[Match, Any]:
        CountingRoute.tried += 1
        return super().matches(scope)


def test_a_resource_router_rejects_paths_none_of_its_routes_could_match() -> None:
    router = ResourceRouter(prefix="/api/v9", route_class=CountingRoute)
    router.add_api_route("/things", lambda: [], methods=["GET"])
    router.add_api_route("/things/{id}/parts", lambda: [], methods=["GET"])
    router.add_api_route("/widgets/{id}", lambda: [], methods=["PUT"])
    app = FastAPI()
    app.include_router(router)
    included = app.router.routes[-1]
    CountingRoute.tried = 0
    for path in ("/api/v9/other", "/api/v9/thing", "/api/v9/widget/1", "/api/v1/things", "/api/v9"):
        assert included.matches(_scope(path))[0] is Match.NONE, path
    assert CountingRoute.tried == 0  # no route's pattern was tried
    # Paths under a literal prefix go on to the routes' own patterns (full, partial or no match).
    assert included.matches(_scope("/api/v9/things"))[0] is Match.FULL
    assert included.matches(_scope("/api/v9/things/1/parts"))[0] is Match.FULL
    assert included.matches(_scope("/api/v9/widgets/1"))[0] is Match.PARTIAL  # wrong method: 405
    assert included.matches(_scope("/api/v9/things/1/other"))[0] is Match.NONE
    assert CountingRoute.tried > 0


async def test_a_resource_router_answers_as_a_plain_one() -> None:
    """Same answers with and without the shortcut: found, 405 with Allow, 404, and a route added
    after the first request."""

    def build(router: APIRouter) -> FastAPI:
        router.add_api_route("/things/{id}", lambda id: {"id": id}, methods=["GET"])
        router.add_api_route("/things", lambda: {"made": True}, methods=["POST"])
        app = FastAPI()
        app.include_router(router)
        return app

    answers = []
    for router in (ResourceRouter(prefix="/api/v9"), APIRouter(prefix="/api/v9")):
        app = build(router)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            got = [
                (r.status_code, r.headers.get("allow"), r.text)
                for r in [
                    await client.get("/api/v9/things/7"),
                    await client.get("/api/v9/things"),
                    await client.get("/api/v9/elsewhere"),
                    await client.post("/api/v9/things"),
                ]
            ]
            router.add_api_route("/late", lambda: {"late": True}, methods=["GET"])
            late = await client.get("/api/v9/late")
            got.append((late.status_code, None, late.text))
        answers.append(got)
    assert answers[0] == answers[1]
    assert [status for status, _, _ in answers[0]] == [200, 405, 404, 200, 200]


def test_a_route_without_a_plain_path_switches_the_shortcut_off() -> None:
    router = ResourceRouter()
    router.add_api_route("/things", lambda: [], methods=["GET"])
    router.routes.append(Mount("/static", app=Starlette()))
    scope = _scope("/static/x")
    assert router._prefixes() is None
    assert APIRouter.matches(router, scope) == router.matches(scope)
