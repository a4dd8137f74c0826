"""Hostile input: malformed bodies and queries, oversized requests, injection payloads and unicode
edge cases in every string field of every write body. Always a clear 4xx, never a 5xx, and nothing
stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests import factories as f
from tests.reliability._routes import api_routes
from tests.reliability.dataset import Estate, counts, estate, fingerprint

VERSIONS = ("v1", "v2", "v3")
ATTEMPTS = "participant_declaration_attempts"
MIB = 1024 * 1024

# Values put into each string field in turn (as JSON values).
STRINGS: list[Any] = [
    "\u0000",
    "abc\u0000def",
    "'; DROP TABLE users; --",
    '=HYPERLINK("http://evil.example","x")',
    "\u202eevil\u200f\ufeff",
    "2022-10-01T10:00:00+99:00",
    "x" * 10_000,
]
NON_STRINGS: list[Any] = [None, 10**30, True, [], {"a": "b"}]
# Attributes whose hostile values may legitimately be read as "absent" (a request that then
# succeeds): a `cohort` that is not a number means the current cohort, as in the contract.
MAY_BE_ABSENT = {"cohort"}
# v3 accept: a blank or missing schedule means "choose it for me", and `funded_place` is read as a
# boolean (anything but true is false); a document without `data` is an accept without a body.
ACCEPT_MAY_SUCCEED = {"funded_place", "schedule_identifier"}
# Outcome dates are read leniently as in the contract (the leading yyyy-mm-dd is the date).
LENIENT_DATES = {"completion_date"}
# Raw JSON bodies with a lone surrogate escape, and with bytes that are not UTF-8.
RAW_VALUES = [b'"\\ud800"', b'"\xff\xfe"']


@dataclass
class Write:
    method: str
    path: str
    type: str
    attributes: dict[str, Any]


def _writes(a: Estate, ect: str, schedule: str) -> list[Write]:
    """Every write with a body, with attributes that are valid for provider A's records."""
    found: list[Write] = []
    for v in VERSIONS:
        found.append(
            Write(
                "POST",
                f"/api/{v}/participant-declarations",
                "participant-declaration",
                {
                    "participant_id": ect,
                    "declaration_type": "started",
                    "declaration_date": "2022-10-01T10:00:00Z",
                    "course_identifier": "ecf-induction",
                    "evidence_held": "other",
                    "has_passed": "true",
                },
            )
        )
        for action, extra in (
            ("defer", {"reason": "career-break"}),
            ("withdraw", {"reason": "left-teaching-profession"}),
            ("resume", {}),
            ("change-schedule", {"schedule_identifier": "ecf-standard-january", "cohort": "2022"}),
        ):
            kind = "participant-change-schedule" if action == "change-schedule" else f"participant-{action}"
            paths = [f"/api/{v}/participants/ecf/{a.ecf_participant}/{action}"]
            if v == "v1":
                paths.append(f"/api/v1/participants/{a.ecf_participant}/{action}")
            for path in paths:
                found.append(Write("PUT", path, kind, {"course_identifier": "ecf-induction", **extra}))
        for action, extra in (
            ("defer", {"reason": "other"}),
            ("withdraw", {"reason": "other"}),
            ("resume", {}),
            ("change-schedule", {"schedule_identifier": "npq-leadership-spring", "cohort": "2022"}),
        ):
            kind = "participant-change-schedule" if action == "change-schedule" else f"participant-{action}"
            found.append(
                Write(
                    "PUT",
                    f"/api/{v}/participants/npq/{a.npq_participant}/{action}",
                    kind,
                    {"course_identifier": "npq-headship", **extra},
                )
            )
        found.append(
            Write(
                "POST",
                f"/api/{v}/npq-applications/{a.npq_application}/accept",
                "npq-application-accept",
                {"schedule_identifier": schedule, "funded_place": True},
            )
        )
        found.append(
            Write(
                "POST",
                f"/api/{v}/participants/npq/{a.npq_participant}/outcomes",
                "npq-outcome-confirmation",
                {"state": "passed", "course_identifier": "npq-headship", "completion_date": "2023-06-01"},
            )
        )
    found.append(
        Write(
            "POST",
            "/api/v3/partnerships/ecf",
            "ecf-partnership",
            {"cohort": "2022", "school_id": a.school, "delivery_partner_id": a.delivery_partner},
        )
    )
    found.append(
        Write(
            "PUT",
            f"/api/v3/partnerships/ecf/{a.partnership}",
            "ecf-partnership-update",
            {"delivery_partner_id": a.delivery_partner},
        )
    )
    return found


def _raw_body(write: Write, field: str, raw: bytes) -> bytes:
    marker = "__RAW__"
    attributes = {**write.attributes, field: marker}
    text = orjson.dumps({"data": {"type": write.type, "attributes": attributes}})
    return text.replace(orjson.dumps(marker), raw)


async def _setup(session: AsyncSession) -> tuple[Estate, list[Write]]:
    a = await estate(session)
    ect = await f.participant(session, a.provider.lead_provider, person_=await f.person(session, trn=None))
    return a, _writes(a, ect.id, "npq-leadership-spring")


def _stable(snapshot: dict[str, int]) -> dict[str, int]:
    # Declaration attempts are the contract's log of every declaration request.
    return {k: v for k, v in snapshot.items() if k != ATTEMPTS}


async def _send(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response | str:
    """The response, or the exception's text when the app raised (a 500 in production)."""
    try:
        return await client.request(method, url, **kwargs)
    except Exception as exc:
        return f"raised {type(exc).__name__}: {str(exc)[:160]}"


def _judge(
    response: httpx.Response | str, label: str, failures: list[str], *, may_succeed: bool = False
) -> None:
    if isinstance(response, str):
        failures.append(f"{label}: {response}")
    elif response.status_code >= 500:
        failures.append(f"{label}: {response.status_code} {response.text[:160]}")
    elif response.status_code < 400 and not may_succeed:
        failures.append(f"{label}: accepted ({response.status_code})")


def _leading_date(body: dict[str, Any], name: str) -> bool:
    value = body["data"]["attributes"][name]
    return isinstance(value, str) and value[:10] == "2022-10-01"


def _bodies(write: Write, values: str) -> list[tuple[str, str, dict[str, Any] | bytes]]:
    """(attribute, label, body) for every attribute of the write and every value of the set."""
    found: list[tuple[str, str, dict[str, Any] | bytes]] = []
    for name in write.attributes:
        if values == "raw":
            found += [(name, f"{name}={raw!r}", _raw_body(write, name, raw)) for raw in RAW_VALUES]
            continue
        for value in STRINGS if values == "strings" else NON_STRINGS:
            attributes = {**write.attributes, name: value}
            body = {"data": {"type": write.type, "attributes": attributes}}
            found.append((name, f"{name}={str(value)[:20]!r}", body))
    return found


@pytest.mark.parametrize("values", ["strings", "non-strings", "raw"])
async def test_every_string_field_of_every_write(
    client: httpx.AsyncClient, session: AsyncSession, values: str
) -> None:
    a, writes = await _setup(session)
    failures: list[str] = []
    for write in writes:
        if write.path.endswith("/accept") and "/v3/" not in write.path:
            continue  # v1/v2 accept ignore any body (the contract's behaviour)
        before = _stable(await counts(session))
        succeeded = False
        for name, label, body in _bodies(write, values):
            if isinstance(body, bytes):
                headers = {**a.provider.headers, "Content-Type": "application/json"}
                response = await _send(client, write.method, write.path, content=body, headers=headers)
            else:
                response = await _send(
                    client, write.method, write.path, json=body, headers=a.provider.headers
                )
            may_succeed = (
                name in MAY_BE_ABSENT
                or (write.path.endswith("/accept") and name in ACCEPT_MAY_SUCCEED)
                or (name in LENIENT_DATES and isinstance(body, dict) and _leading_date(body, name))
            )
            _judge(response, f"{write.method} {write.path} {label}", failures, may_succeed=may_succeed)
            succeeded |= isinstance(response, httpx.Response) and response.status_code < 400
        if not succeeded and _stable(await counts(session)) != before:
            failures.append(f"{write.method} {write.path}: stored something")
    assert failures == [], "\n".join(failures)


async def test_hostile_types_never_fail_the_server(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """`data.type` is not checked by the contract: any value is read, none may break the server."""
    a, writes = await _setup(session)
    failures: list[str] = []
    for write in writes:
        hostile_types: list[Any] = ["\u0000", None, {}]
        for value in hostile_types:
            body = {"data": {"type": value, "attributes": write.attributes}}
            response = await _send(client, write.method, write.path, json=body, headers=a.provider.headers)
            _judge(response, f"{write.path} type={value!r}", failures, may_succeed=True)
    assert failures == [], "\n".join(failures)


BAD_DOCUMENTS: list[tuple[str, bytes, str]] = [
    ("not json", b"{not json", "application/json"),
    ("truncated", b'{"data": {"type": "x", "attributes": {', "application/json"),
    ("trailing garbage", b'{"data": {}} x', "application/json"),
    ("array", b"[]", "application/json"),
    ("string", b'"data"', "application/json"),
    ("number", b"1", "application/json"),
    ("null", b"null", "application/json"),
    ("data null", b'{"data": null}', "application/json"),
    ("data string", b'{"data": "x"}', "application/json"),
    ("data list", b'{"data": [1, 2]}', "application/json"),
    ("attributes list", b'{"data": {"type": "x", "attributes": [1]}}', "application/json"),
    ("nul key", b'{"data": {"type": "x", "attributes": {"a\\u0000": "b"}}}', "application/json"),
    ("deep nesting", b'{"data": ' + b"[" * 5000 + b"]" * 5000 + b"}", "application/json"),
    ("duplicate keys", b'{"data": {"attributes": {}}, "data": null}', "application/json"),
    ("form", b"data[type]=x&data[attributes][a]=b", "application/x-www-form-urlencoded"),
    ("xml", b"<data><type>x</type></data>", "application/xml"),
    ("text", b"hello", "text/plain"),
    ("utf-16", '{"data": {}}'.encode("utf-16"), "application/json"),
    ("bom", b"\xef\xbb\xbf{}", "application/json"),
    ("invalid utf-8", b'{"data": {"type": "\xff"}}', "application/json"),
]


@pytest.mark.parametrize("case", BAD_DOCUMENTS, ids=[c[0] for c in BAD_DOCUMENTS])
async def test_malformed_documents(
    client: httpx.AsyncClient, session: AsyncSession, case: tuple[str, bytes, str]
) -> None:
    label, content, content_type = case
    a, writes = await _setup(session)
    headers = {**a.provider.headers, "Content-Type": content_type}
    failures: list[str] = []
    before = _stable(await counts(session))
    for write in writes:
        if not write.path.endswith("/accept"):
            response = await _send(client, write.method, write.path, content=content, headers=headers)
            _judge(response, f"{write.path} {label}", failures)
    assert _stable(await counts(session)) == before
    # Accept takes an optional body: v1/v2 ignore it, v3 reads a document without `data` as none.
    for write in writes:
        if write.path.endswith("/accept"):
            response = await _send(client, write.method, write.path, content=content, headers=headers)
            _judge(response, f"{write.path} {label}", failures, may_succeed=True)
    assert failures == [], "\n".join(failures)


async def test_bodies_over_one_mib_are_413(client: httpx.AsyncClient, session: AsyncSession) -> None:
    a, writes = await _setup(session)
    before = await fingerprint(session)
    for write in writes[:3] + writes[-2:]:
        body = {"data": {"type": write.type, "attributes": {**write.attributes, "padding": "x" * MIB}}}
        response = await client.request(write.method, write.path, json=body, headers=a.provider.headers)
        assert response.status_code == 413, write.path
        assert response.json()["errors"][0]["title"] == "Request entity too large"
    assert _stable(await fingerprint(session)) == _stable(before)  # type: ignore[arg-type]


# --- queries ---------------------------------------------------------------------------------------

HOSTILE_QUERIES: list[list[tuple[str, str]]] = [
    [("page[per_page]", "99999999999999999999999999"), ("page[page]", "99999999999999999999999999")],
    [("page[per_page]", "0")],
    [("page[page]", "-5")],
    [("page[page]", "abc")],
    [("page", "1")],
    [("page[page]", "1"), ("page[page]", "2"), ("page[per_page]", "1.5")],
    [("filter", "abc")],
    [("filter[updated_since]", "2022-13-45T99:99:99Z")],
    [("filter[updated_since]", "2022-01-01T00:00:00+99:00")],
    [("filter[updated_since]", "-999999-01-01T00:00:00Z"), ("filter[updated_since]", "x")],
    [("filter[cohort]", "2022"), ("filter[cohort]", "99999999999999999999999999,abc,-1")],
    [
        ("filter[cohort]", "2022"),
        ("filter[training_status]", "bogus"),
        ("filter[participant_id]", "' OR 1=1 --"),
        ("filter[delivery_partner_id]", "not-a-uuid"),
        ("filter[type]", "=cmd|'/C calc'!A0"),
        ("filter[urn]", "\u202e" + "x" * 5000),
    ],
    [("sort", "-created_at,'; DROP TABLE users; --," + "x" * 5000)],
]
NUL_KEYS = [
    "filter[updated_since]",
    "filter[cohort]",
    "filter[participant_id]",
    "filter[training_status]",
    "filter[urn]",
    "filter[delivery_partner_id]",
    "filter[from_participant_id]",
    "filter[type]",
    "sort",
    "page[page]",
]


def _list_routes(app: FastAPI) -> list[str]:
    return sorted(p for m, p in api_routes(app) if m == "GET" and "{" not in p and "/internal/" not in p)


@pytest.mark.parametrize("kind", ["hostile", "nul"])
async def test_hostile_queries_on_every_list(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, kind: str
) -> None:
    a = await estate(session)
    routes = _list_routes(app)
    assert len(routes) > 25
    queries = (
        HOSTILE_QUERIES
        if kind == "hostile"
        else [[("filter[cohort]", "2022"), (key, value)] for key in NUL_KEYS for value in ("2022\x00",)]
    )
    failures: list[str] = []
    for path in routes:
        for query in queries:
            response = await _send(client, "GET", path, params=query, headers=a.provider.headers)
            _judge(response, f"{path} {query}", failures, may_succeed=True)
    assert failures == [], "\n".join(failures)


async def test_hostile_path_ids(app: FastAPI, client: httpx.AsyncClient, session: AsyncSession) -> None:
    a = await estate(session)
    failures: list[str] = []
    ids = [
        "%00",
        "abc%00",
        "'%20OR%201=1",
        "x" * 5000,
        "%E2%80%AE",
        "..%2F..%2Fetc",
        "-1",
        "99999999999999999999",
    ]
    for method, path in sorted(api_routes(app)):
        if "{" not in path or "/internal/" in path:
            continue
        for ident in ids:
            url = path.replace("{id}", ident).replace("{participant_id}", ident)
            response = await _send(
                client, method, url, params={"filter[cohort]": "2022"}, json={}, headers=a.provider.headers
            )
            _judge(response, f"{method} {url[:120]}", failures, may_succeed=method == "GET")
    assert failures == [], "\n".join(failures)
