"""The app's routes, read from the app itself (so a new route shows up in the matrices)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute


def api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves under /api/ (included routers are walked too)."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if callable(contexts):
            pairs = [(m, c.path) for c in contexts() for m in c.methods]
        elif isinstance(route, APIRoute):
            pairs = [(m, route.path) for m in route.methods or ()]
        else:
            continue
        found.update((m, p) for m, p in pairs if p.startswith("/api/") and m != "HEAD")
    return found
