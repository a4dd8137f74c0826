"""Security headers on every response.

- `X-Content-Type-Options: nosniff`: browsers never guess a type (a CSV export stays a download).
- `X-Frame-Options: DENY` and CSP `frame-ancestors 'none'`: no page of ours can be framed.
- `Content-Security-Policy`: only our own scripts and assets (the docs pages are served from the
  service itself; Swagger UI needs inline styles and data: images).
- `Referrer-Policy: no-referrer`: URLs carrying participant ids are not leaked onwards.
- `Cache-Control: private, no-cache` on API responses: personal data is never kept by shared caches,
  and clients revalidate with the response's ETag (a 304 is cheap) instead of reusing it blindly.
- `Strict-Transport-Security` in production, where the service is only reached over TLS.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
]
_API = [(b"cache-control", b"private, no-cache")]
_HSTS = [(b"strict-transport-security", b"max-age=31536000; includeSubDomains")]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, https_only: bool) -> None:
        self.app = app
        self.common = _COMMON + (_HSTS if https_only else [])
        self.api = self.common + _API

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.api if scope["path"].startswith("/api/") else self.common

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((name, value) for name, value in extra if name not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
