"""Routers that reject requests for other API versions without walking their routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope


class PathPrefixRouter(APIRouter):
    """An APIRouter whose routes all live under `path_prefix` (e.g. `/api/v3/`).

    The framework finds a request's route by trying every route in turn, through every included
    router: a v3 request tried all of v1's and v2's routes first (~0.4 ms per request on the
    benchmark machine, and /healthz, registered last, ~0.8 ms). A version's router answers "no
    match" at once for a path outside its prefix. tests/api/test_routing.py checks that every
    route of such a router is under its prefix (a route outside it would never be reached).
    """

    def __init__(self, path_prefix: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path_prefix = path_prefix.rstrip("/") + "/"

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not get_route_path(scope).startswith(self.path_prefix):
            return Match.NONE, {}
        return super().matches(scope)


class ResourceRouter(APIRouter):
    """An APIRouter that answers "no match" at once for a path none of its routes could match.

    A route's path can only match request paths that begin with its literal part (the text before
    its first `{`). The framework tries a version's resource routers in turn, each walking every
    route's pattern, and does it twice per request (to select, then to handle); a resource router
    that rejects on those literal prefixes leaves the walk to the one resource the path is about.
    Its routes' paths must be the paths requests use: it is included without a further prefix
    (tests/api/test_routing.py checks every one). A route without a plain path (a mount, say)
    switches the shortcut off.
    """

    _literal_prefixes: tuple[str, ...] | None = None
    _prefixes_of_routes: int = -1

    def _prefixes(self) -> tuple[str, ...] | None:
        if self._prefixes_of_routes != len(self.routes):  # routes are only ever added
            paths = [route.path if isinstance(route, APIRoute) else None for route in self.routes]
            self._literal_prefixes = (
                None if None in paths else tuple(sorted({str(path).split("{", 1)[0] for path in paths}))
            )
            self._prefixes_of_routes = len(self.routes)
        return self._literal_prefixes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        prefixes = self._prefixes()
        if prefixes is not None and not get_route_path(scope).startswith(prefixes):
            return Match.NONE, {}
        return super().matches(scope)
