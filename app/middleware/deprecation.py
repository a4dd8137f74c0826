"""Older API versions announce their retirement on every response.

`Deprecation` (RFC 9745: `@<unix time>` of the deprecation date), `Sunset` (RFC 8594: an HTTP date,
only when a retirement date is set), a `Link` to the successor version, and a human `Warning`
(`299 - "..."`), as the service's documentation promises providers.
"""

from __future__ import annotations

from calendar import timegm
from datetime import date
from email.utils import formatdate

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import VersionDeprecation


def _http_date(day: date) -> str:
    return formatdate(timegm(day.timetuple()), usegmt=True)


def deprecation_headers(version: str, rule: VersionDeprecation) -> list[tuple[bytes, bytes]]:
    """The headers one deprecated version sends (computed once, at start-up)."""
    when = f"since {rule.deprecated_on.isoformat()}"
    if rule.sunset_on is not None:
        retirement = f"it will be withdrawn on {rule.sunset_on.isoformat()}"
    else:
        retirement = "it remains available until further notice"
    text = f"API {version} is deprecated {when} and {retirement}. Please move to API {rule.successor}."
    headers = [
        (b"deprecation", f"@{timegm(rule.deprecated_on.timetuple())}".encode()),
        (b"link", f'</api/{rule.successor}>; rel="successor-version"'.encode()),
        (b"warning", f'299 - "{text}"'.encode()),
    ]
    if rule.sunset_on is not None:
        headers.append((b"sunset", _http_date(rule.sunset_on).encode()))
    return headers


class DeprecationMiddleware:
    def __init__(self, app: ASGIApp, *, deprecations: dict[str, VersionDeprecation]) -> None:
        self.app = app
        self.headers = {
            f"/api/{version}/": deprecation_headers(version, rule) for version, rule in deprecations.items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        extra = None
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith("/api/"):
                # "/api/v1/..." -> "/api/v1/"
                extra = self.headers.get(path[: path.find("/", 5) + 1])
        if not extra:
            await self.app(scope, receive, send)
            return
        headers = extra

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)
