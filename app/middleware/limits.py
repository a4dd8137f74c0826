"""Request bodies over the limit (1 MiB by default) are refused with 413 and a JSON error body.

Both a declared Content-Length over the limit (refused before the app runs) and a body that turns
out larger while it is read (chunked uploads, or a Content-Length that lies) are caught.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.responses import JSONAPI_MEDIA_TYPE

TOO_LARGE_TITLE = "Request entity too large"


class BodyTooLarge(Exception):
    """Raised from `receive` once the body read so far passes the limit."""


def too_large_body(limit: int) -> bytes:
    detail = f"The request body must not be larger than {limit} bytes"
    return orjson.dumps({"errors": [{"title": TOO_LARGE_TITLE, "detail": detail}]})


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.body = too_large_body(max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > self.max_bytes:
                    await self._refuse(send)
                    return
                break

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:  # pragma: no cover (endpoints read their body before answering)
                raise
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", JSONAPI_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(self.body)).encode()),
                    # The unread rest of the body makes the connection unusable for another request.
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": self.body})
