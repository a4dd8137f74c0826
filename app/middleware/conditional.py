"""Strong ETags on JSON GET responses, and 304 Not Modified when the client already has the body.

The tag is a hash of the exact body, so a provider that polls a list gets a 304 (no body) while
nothing changed. The request still runs its queries (the body must be built to be hashed); what is
saved is the transfer and the client's parsing. Streaming responses (CSV exports) pass through
untouched: tagging them would mean holding the whole export in memory.

A compressed body's tag gets a `-gzip` suffix (see compression.py); either form of the tag
matches here.
"""

from __future__ import annotations

import hashlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

GZIP_SUFFIX = "-gzip"
_JSON_TYPES = (b"application/vnd.api+json", b"application/json")
# Headers a 304 must not carry (it has no body); the others (ETag, Vary, Warning, ...) stay.
_BODY_HEADERS = frozenset({b"content-length", b"content-type", b"content-encoding"})


def etag_of(body: bytes) -> str:
    """128 bits of the body's SHA-256. CPUs with SHA instructions (x86 SHA-NI, Armv8 SHA2) hash
    twice as fast as with BLAKE2b (a 30 KB page: 17 against 34 us; a 2000-record page of 1.7 MB:
    about 1 ms less), and a strong hash keeps two different bodies from sharing a tag."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def matching_tag(if_none_match: str, etag: str) -> str | None:
    """The client's tag that matches `etag` (weak comparison, RFC 9110 13.1.2), if any."""
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*":
            return etag
        opaque = tag.removeprefix("W/")
        if opaque == etag or opaque == etag[:-1] + GZIP_SUFFIX + '"':
            return opaque
    return None


class ConditionalGetMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        if_none_match = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value.decode("latin-1")
                break

        start: Message | None = None
        chunks: list[bytes] = []
        passthrough = False

        async def send_tagged(message: Message) -> None:
            nonlocal start, passthrough
            if passthrough:
                await send(message)
                return
            if message["type"] == "http.response.start":
                if message["status"] == 200 and _is_json(message):
                    start = message  # held until the whole body is known
                    return
                passthrough = True
                await send(message)
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            etag = etag_of(body)
            matched = matching_tag(if_none_match, etag) if if_none_match else None
            if matched is not None:
                headers = [(k, v) for k, v in start["headers"] if k.lower() not in _BODY_HEADERS]
                headers.append((b"etag", matched.encode()))
                await send({"type": "http.response.start", "status": 304, "headers": headers})
                await send({"type": "http.response.body", "body": b""})
                return
            start["headers"] = [*start["headers"], (b"etag", etag.encode())]
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_tagged)


def _is_json(start: Message) -> bool:
    for name, value in start.get("headers", []):
        if name.lower() == b"content-type":
            return value.split(b";", 1)[0].strip().lower() in _JSON_TYPES
    return False
