"""One structured log line and one latency observation per request, with a request id.

Logged: request id, method, route *template* (`/api/v3/participants/ecf/{id}`, never the raw path
or its query string, which can carry personal data), status, duration in ms and, once the token was
accepted, the provider's name. Never logged: headers (so never the Authorization token) or bodies.
A request refused before routing (the rate limiter's 429) is logged with the template of the route
it asked for, looked up among the app's API routes; a path no route takes stays unmatched.

`X-Request-Id` is taken from the client when it looks like an id (letters, digits and `._:-`, at
most 128 characters), else a new one is made; either way it is echoed on the response and put back
into the request's headers, so the 500 handler reports the same id.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from starlette._utils import get_route_path
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.metrics import observe_request

log = logging.getLogger("cpd_api.request")

_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
PROVIDER_STATE_KEY = "provider_name"


def request_id_of(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            if _SANE_REQUEST_ID.fullmatch(value):
                given: bytes = value
                return given
            break
    return uuid.uuid4().hex.encode()


def _route_table(app: Any) -> list[tuple[re.Pattern[str], frozenset[str], str]]:
    """(pattern, methods, template) of every API route of `app`, built once per app."""
    table: list[tuple[re.Pattern[str], frozenset[str], str]] | None = getattr(app.state, "route_table", None)
    if table is None:
        table = [
            (compile_path(context.path_format)[0], frozenset(context.methods or ()), context.path_format)
            for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute) and context.path_format
        ]
        app.state.route_table = table
    return table


def route_template(scope: Scope) -> str | None:
    """The template of the API route that would take this request, if any (for requests answered
    before routing: everything else has its route in the scope)."""
    app = scope.get("app")
    if app is None:
        return None
    path, method = get_route_path(scope), scope["method"]
    for pattern, methods, template in _route_table(app):
        if method in methods and pattern.match(path):
            return template
    return None


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope)
        scope["headers"] = [
            *(header for header in scope["headers"] if header[0] != b"x-request-id"),
            (b"x-request-id", request_id),
        ]
        # Endpoints (the auth dependency) write into this dict through `request.state`.
        state = scope.setdefault("state", {})
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:  # an exception before the response started is logged as the 500 it becomes
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None)
            if route is None and status != 404:  # refused before routing (429)
                route = route_template(scope)
            method: str = scope["method"]
            observe_request(method, route, status, seconds)
            log.info(
                "%s %s %s",
                method,
                route or "(unmatched)",
                status,
                extra={
                    "request_id": request_id.decode(),
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "provider": state.get(PROVIDER_STATE_KEY),
                },
            )
