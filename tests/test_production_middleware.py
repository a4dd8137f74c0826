"""Request ids and structured logs, deprecation headers, ETag/304, gzip, and the 1 MiB body limit."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import re
import sys
import zlib
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.observability import JsonFormatter
from app.settings import Environment, Settings, VersionDeprecation
from tests import factories as f
from tests.conftest import TEST_HMAC_KEY

V3_LIST = "/api/v3/participants/ecf"
V3_SHOW = "/api/v3/participants/ecf/{id}"
MIB = 1024 * 1024
ETAG = re.compile(r'^"[0-9a-f]{32}"$')
GZIP_ETAG = re.compile(r'^"[0-9a-f]{32}-gzip"$')


def request_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "cpd_api.request"]


def raw_client(app: FastAPI) -> httpx.AsyncClient:
    """A client without the contract check (for undocumented statuses and raw bytes)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def participants(session: AsyncSession, lp: f.Provider, count: int) -> list[f.Participant]:
    return [await f.participant(session, lp.lead_provider) for _ in range(count)]


# ---- request id and structured log ---------------------------------------------------------------


async def test_a_request_id_is_made_when_none_is_given(client: httpx.AsyncClient) -> None:
    first, second = await client.get("/healthz"), await client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_sane_request_id_from_the_client_is_kept(client: httpx.AsyncClient) -> None:
    given = "provider-abc.123:retry-2"
    response = await client.get("/healthz", headers={"X-Request-Id": given})
    assert response.headers["x-request-id"] == given


@pytest.mark.parametrize("given", ["has spaces", "x" * 129, "-leading-dash", 'quote"d', "é"])
async def test_an_insane_request_id_is_replaced(client: httpx.AsyncClient, given: str) -> None:
    response = await client.get("/healthz", headers={b"X-Request-Id": given.encode("utf-8")})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_one_log_line_per_request_with_route_template_provider_status_and_duration(
    client: httpx.AsyncClient, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    lp = await f.provider(session, name="Ambition Institute")
    p = await f.participant(session, lp.lead_provider)
    url = V3_SHOW.format(id=p.id) + f"?filter[participant_id]={p.id}&email=someone@example.com"
    with caplog.at_level(logging.INFO, logger="cpd_api.request"):
        response = await client.get(url, headers=lp.headers | {"X-Request-Id": "req-42"})
    assert response.status_code == 200
    [line] = request_lines(caplog)
    fields = json.loads(JsonFormatter().format(line))
    assert fields["request_id"] == "req-42"
    assert fields["method"] == "GET"
    assert fields["route"] == "/api/v3/participants/ecf/{id}"
    assert fields["status"] == 200
    assert fields["provider"] == "Ambition Institute"
    assert isinstance(fields["duration_ms"], float) and fields["duration_ms"] > 0
    assert fields["level"] == "info" and fields["logger"] == "cpd_api.request" and fields["pid"] > 0
    # Neither the token, nor the path's id, nor the query string, nor any header.
    text = JsonFormatter().format(line)
    for secret in (lp.token, str(p.id), "someone@example.com", "Bearer", "filter["):
        assert secret not in text


async def test_unauthenticated_and_unmatched_requests_are_logged_without_a_provider(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="cpd_api.request"):
        await client.get(V3_LIST, headers={"Authorization": "Bearer wrong-token-value"})
        await client.get("/api/v3/no/such/path/4f1c")
    denied, unmatched = (json.loads(JsonFormatter().format(r)) for r in request_lines(caplog))
    assert (denied["route"], denied["status"], denied["provider"]) == (V3_LIST, 401, None)
    assert (unmatched["route"], unmatched["status"]) == (None, 404)
    assert "wrong-token-value" not in caplog.text and "4f1c" not in caplog.text


async def test_an_unexpected_error_is_a_500_logged_with_the_same_request_id(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings, sessionmaker=sessionmaker)

    async def boom() -> None:
        raise RuntimeError("kaput")

    app.add_api_route("/boom", boom)
    with caplog.at_level(logging.INFO):
        async with raw_client(app) as client:
            response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error"}
    request_id = response.headers["x-request-id"]
    [line] = request_lines(caplog)
    assert (line.__dict__["request_id"], line.__dict__["status"], line.__dict__["route"]) == (
        request_id,
        500,
        "/boom",
    )
    assert any(request_id in r.getMessage() for r in caplog.records if r.name == "cpd_api.errors")


def test_json_formatter_writes_one_json_object_per_line_with_exceptions() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info(), extra={"answer": 42}
        )
    text = JsonFormatter().format(record)
    assert "\n" not in text
    document = json.loads(text)
    assert document["message"] == "failed here" and document["answer"] == 42
    assert document["level"] == "error" and "ValueError: bad" in document["exception"]


# ---- deprecation headers -------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_older_versions_announce_their_deprecation(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    response = await client.get(f"/api/{version}/participants/ecf", headers=lp.headers)
    assert response.status_code == 200
    assert response.headers["deprecation"] == "@1685664000"  # 2023-06-02, when v3 went live
    assert response.headers["link"] == '</api/v3>; rel="successor-version"'
    assert response.headers["warning"] == (
        f'299 - "API {version} is deprecated since 2023-06-02 and it remains available until further'
        ' notice. Please move to API v3."'
    )
    # No retirement date is configured by default, so no Sunset.
    assert "sunset" not in response.headers
    # Errors of a deprecated version carry the headers too.
    assert "deprecation" in (await client.get(f"/api/{version}/participants/ecf")).headers


async def test_the_current_version_and_other_paths_carry_no_deprecation(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    for response in (await client.get(V3_LIST, headers=lp.headers), await client.get("/healthz")):
        assert not {"deprecation", "sunset", "warning", "link"} & set(response.headers)


async def test_deprecations_are_configurable_per_version(
    sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    settings = Settings(
        environment=Environment.TEST,
        token_hmac_key=TEST_HMAC_KEY,
        api_deprecations={
            "v1": VersionDeprecation(deprecated_on=date(2024, 1, 31), sunset_on=date(2026, 7, 31)),
        },
    )
    lp = await f.provider(session)
    async with raw_client(create_app(settings, sessionmaker=sessionmaker)) as client:
        v1 = await client.get("/api/v1/participants/ecf", headers=lp.headers)
        v2 = await client.get("/api/v2/participants/ecf", headers=lp.headers)
    assert v1.headers["deprecation"] == "@1706659200"
    assert v1.headers["sunset"] == "Fri, 31 Jul 2026 00:00:00 GMT"
    assert "will be withdrawn on 2026-07-31" in v1.headers["warning"]
    assert "deprecation" not in v2.headers and "warning" not in v2.headers


def test_deprecations_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "API_DEPRECATIONS", '{"v2": {"deprecated_on": "2025-01-01", "sunset_on": "2026-01-01"}}'
    )
    rules = Settings().api_deprecations
    assert rules == {"v2": VersionDeprecation(deprecated_on=date(2025, 1, 1), sunset_on=date(2026, 1, 1))}


# ---- conditional GET -----------------------------------------------------------------------------


async def test_list_and_single_gets_carry_a_strong_etag_and_a_match_is_304(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    [p] = await participants(session, lp, 1)
    for path in (V3_LIST, V3_SHOW.format(id=p.id), "/api/v1/participants/ecf"):
        first = await client.get(path, headers=lp.headers)
        etag = first.headers["etag"]
        assert first.status_code == 200 and ETAG.match(etag)
        assert (await client.get(path, headers=lp.headers)).headers["etag"] == etag
        again = await client.get(path, headers=lp.headers | {"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert "content-type" not in again.headers and "content-length" not in again.headers
        assert "x-request-id" in again.headers


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [
        ("{etag}", 304),
        ("W/{etag}", 304),
        ('"other", {etag}', 304),
        ("*", 304),
        ('"other"', 200),
        ('"{bare}"', 200),
    ],
)
async def test_if_none_match_forms(
    client: httpx.AsyncClient, session: AsyncSession, if_none_match: str, status: int
) -> None:
    lp = await f.provider(session)
    etag = (await client.get(V3_LIST, headers=lp.headers)).headers["etag"]
    header = if_none_match.format(etag=etag, bare=etag.strip('"')[:-1])
    response = await client.get(V3_LIST, headers=lp.headers | {"If-None-Match": header})
    assert response.status_code == status


async def test_a_change_in_the_data_changes_the_etag(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    await participants(session, lp, 1)
    before = (await client.get(V3_LIST, headers=lp.headers)).headers["etag"]
    await participants(session, lp, 1)
    after = await client.get(V3_LIST, headers=lp.headers | {"If-None-Match": before})
    assert after.status_code == 200 and len(after.json()["data"]) == 2
    assert after.headers["etag"] != before


async def test_no_etag_on_errors_writes_or_csv(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    await participants(session, lp, 1)
    unauthorised = await client.get(V3_LIST)
    not_found = await client.get(
        V3_SHOW.format(id="3b0a5e0c-0d5e-4d26-9b41-0b5c3bb9b8a1"), headers=lp.headers
    )
    write = await client.post("/api/v3/participant-declarations", headers=lp.headers, json={})
    csv = await client.get("/api/v1/participants/ecf.csv", headers=lp.headers)
    assert [r.status_code for r in (unauthorised, not_found, write, csv)] == [401, 404, 400, 200]
    assert all("etag" not in r.headers for r in (unauthorised, not_found, write, csv))


# ---- compression ---------------------------------------------------------------------------------


async def test_large_json_is_gzipped_for_clients_that_accept_it(session: AsyncSession, app: FastAPI) -> None:
    lp = await f.provider(session)
    await participants(session, lp, 4)
    await session.flush()
    async with raw_client(app) as client:
        zipped = await client.get(V3_LIST, headers=lp.headers | {"Accept-Encoding": "gzip"})
        plain = await client.get(V3_LIST, headers=lp.headers | {"Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in zipped.headers["vary"].lower()
    assert "content-encoding" not in plain.headers
    assert zipped.json() == plain.json()  # httpx decodes the gzip body
    assert int(zipped.headers["content-length"]) < len(plain.content) / 2
    # Different bytes on the wire, so different strong tags; either one revalidates.
    assert ETAG.match(plain.headers["etag"]) and GZIP_ETAG.match(zipped.headers["etag"])
    assert zipped.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    async with raw_client(app) as client:
        for tag in (zipped.headers["etag"], plain.headers["etag"]):
            for encoding in ("gzip", "identity"):
                headers = lp.headers | {"Accept-Encoding": encoding, "If-None-Match": tag}
                revalidated = await client.get(V3_LIST, headers=headers)
                assert revalidated.status_code == 304 and revalidated.headers["etag"] == tag


async def test_small_responses_are_not_compressed(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    response = await client.get(V3_LIST, headers=lp.headers | {"Accept-Encoding": "gzip"})
    assert response.json() == {"data": []}
    assert "content-encoding" not in response.headers


async def test_csv_exports_are_gzipped(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    await participants(session, lp, 5)
    zipped = await client.get(
        "/api/v1/participants/ecf.csv", headers=lp.headers | {"Accept-Encoding": "gzip"}
    )
    plain = await client.get(
        "/api/v1/participants/ecf.csv", headers=lp.headers | {"Accept-Encoding": "identity"}
    )
    assert zipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert zipped.headers["content-type"].startswith("text/csv")
    assert zipped.text == plain.text and len(plain.text.splitlines()) == 6


async def test_a_streamed_response_stays_streamed_when_gzipped(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Each chunk leaves as soon as it is made (compressed and flushed), not after the last one."""
    app = create_app(settings, sessionmaker=sessionmaker)
    produced: list[int] = []

    async def rows() -> AsyncIterator[str]:
        for i in range(3):
            produced.append(i)
            yield f"{i}," + "x" * 2000 + "\n"

    async def export() -> StreamingResponse:
        return StreamingResponse(rows(), media_type="text/csv")

    app.add_api_route("/export.csv", export)
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if requested:  # the response watches for a disconnect: never comes
            await asyncio.Event().wait()
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            message = message | {"produced_so_far": len(produced)}
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/export.csv",
        "raw_path": b"/export.csv",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test"), (b"accept-encoding", b"gzip")],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    start = sent[0]
    headers = dict(start["headers"])
    assert headers[b"content-encoding"] == b"gzip" and b"etag" not in headers
    chunks = [m for m in sent[1:] if m.get("body")]
    # One compressed chunk per produced row, each sent before the next row was made.
    # (the last message is gzip's trailer, sent when the stream ends)
    assert [m["produced_so_far"] for m in chunks] == [1, 2, 3, 3]
    assert sent[-1]["more_body"] is False
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    first_part = decompressor.decompress(chunks[0]["body"])
    assert first_part.startswith(b"0,xx")  # the first chunk is readable on its own
    rest = b"".join(decompressor.decompress(m["body"]) for m in sent[2:] if m.get("body"))
    assert (first_part + rest).count(b"\n") == 3
    assert gzip.decompress(b"".join(m["body"] for m in chunks)).startswith(b"0,")


# ---- request body limit --------------------------------------------------------------------------

TOO_LARGE = {
    "errors": [
        {
            "title": "Request entity too large",
            "detail": "The request body must not be larger than 1048576 bytes",
        }
    ]
}


async def test_a_body_declared_over_1_mib_is_413_before_the_app_runs(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    response = await client.post(
        "/api/v3/participant-declarations", headers=lp.headers, content=b"{" + b" " * MIB + b"}"
    )
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert response.headers["content-type"] == "application/vnd.api+json"


async def test_a_streamed_body_over_1_mib_is_413(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """No Content-Length (chunked upload): the bytes are counted as they are read."""
    lp = await f.provider(session)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b" " * (MIB // 4)

    response = await client.post("/api/v3/participant-declarations", headers=lp.headers, content=chunks())
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json() == TOO_LARGE


async def test_a_lying_content_length_does_not_get_past_the_limit(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    lp = await f.provider(session)
    app = create_app(settings, sessionmaker=sessionmaker)
    body = [b" " * (MIB // 2)] * 3
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        chunk = body.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(body)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await session.flush()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v3/participant-declarations",
        "raw_path": b"/api/v3/participant-declarations",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"test"),
            (b"content-length", b"10"),
            (b"authorization", f"Bearer {lp.token}".encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == TOO_LARGE


async def test_a_body_of_exactly_1_mib_is_read(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    padding = MIB - len(b'{"data": null, "x": ""}')
    content = b'{"data": null, "x": "' + b"a" * padding + b'"}'
    assert len(content) == MIB
    response = await client.post("/api/v3/participant-declarations", headers=lp.headers, content=content)
    assert response.status_code == 400  # read and refused for its content, not its size


def test_gzip_goes_through_isa_l() -> None:
    """The installed service compresses with ISA-L (zlib's level 1 cost ~6x as much CPU on a
    2000-record page); zlib is only the fallback for a platform without its wheels."""
    from app.middleware import compression

    assert compression.deflate.__name__ == "isal.isal_zlib"
