"""gzip for large responses when the client accepts it (JSON lists and CSV exports).

Starlette's GZipMiddleware compresses a whole body at once, and a streamed CSV chunk by chunk
(each chunk flushed, so the export still streams with flat memory). A compressed representation
is a different sequence of bytes, so its strong ETag must differ from the plain one: the tag of a
gzipped body gets a `-gzip` suffix (conditional.py accepts both forms).
"""

from __future__ import annotations

from typing import Any

from starlette.middleware.gzip import GZipMiddleware, GZipResponder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.middleware.conditional import GZIP_SUFFIX

try:  # ISA-L's deflate: same stream format and API as zlib, several times faster
    from isal import isal_zlib as deflate

    # ISA-L level 1 on a 2000-record v3 page (1.7 MB of JSON): 1.0 ms and 180 KB, against 6.0 ms
    # and 201 KB for zlib's level 1.
    COMPRESS_LEVEL = 1
except ImportError:  # pragma: no cover - a platform without ISA-L wheels
    import zlib as deflate  # type: ignore[no-redef]

    # zlib level 1 (nginx's default): on the same page 8 ms against 19 ms at level 6, for a body
    # 22% larger. The service is bound by CPU, not by bandwidth.
    COMPRESS_LEVEL = 1


class _Responder(GZipResponder):
    """Starlette's gzip responder (whole bodies at once, streamed chunks flushed one by one,
    large bodies compressed off the event loop) with the deflate above."""

    _deflate: Any = None

    @property
    def compressor(self) -> Any:
        if self._deflate is None:
            self._deflate = deflate.compressobj(self.compresslevel, deflate.DEFLATED, 16 + deflate.MAX_WBITS)
        return self._deflate

    def _compress_body(self, body: bytes, more_body: bool) -> bytes:
        if more_body:
            return bytes(self.compressor.compress(body) + self.compressor.flush(deflate.Z_SYNC_FLUSH))
        return bytes(self.compressor.compress(body) + self.compressor.flush())


class _GZip(GZipMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        accepts = scope["type"] == "http" and any(
            name == b"accept-encoding" and b"gzip" in value for name, value in scope["headers"]
        )
        if not accepts:  # other scopes (lifespan) and clients without gzip: Starlette's own path
            await super().__call__(scope, receive, send)
            return
        responder = _Responder(
            self.app,
            self.minimum_size,
            compresslevel=self.compresslevel,
            thread_minimum_size=self.thread_minimum_size,
            exclude_content_types=self.exclude_content_types,
        )
        await responder(scope, receive, send)


class CompressionMiddleware:
    def __init__(self, app: ASGIApp, *, minimum_size: int) -> None:
        self.gzip = _GZip(app, minimum_size=minimum_size, compresslevel=COMPRESS_LEVEL)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.gzip(scope, receive, send)
            return

        async def send_with_etag(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if (b"content-encoding", b"gzip") in headers:
                    message["headers"] = [(k, _suffixed(v) if k == b"etag" else v) for k, v in headers]
            await send(message)

        await self.gzip(scope, receive, send_with_etag)


def _suffixed(etag: bytes) -> bytes:
    if etag.endswith(b'"') and not etag.endswith(GZIP_SUFFIX.encode() + b'"'):
        return etag[:-1] + GZIP_SUFFIX.encode() + b'"'
    return etag
