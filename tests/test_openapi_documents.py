"""The published OpenAPI documents: served per version, equal to the reference specs except for the
differences listed (with their reason) below, documenting the errors each route really returns, and
describing the bodies the service really sends."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.docs import VERSIONS, published
from app.api.v2.npq_participant_serializers import NPQ_SCHEDULE_IDENTIFIERS
from app.domain.enums import TokenScope
from app.models import ApiToken
from app.security import hash_token
from app.seed import seed_sandbox
from app.settings import Settings
from tests import factories as f
from tests.conftest import TEST_HMAC_KEY
from tests.contract import spec
from tests.openapi_diff import diff, operations, resolve


def in_version(version: str) -> Callable[[str], bool]:
    return lambda path: path.startswith(f"/api/{version}/")


@dataclass(frozen=True)
class Allowed:
    """A difference from the reference document we keep on purpose. `pattern` is a regular
    expression that must match a whole line of the diff (`tests/openapi_diff.py`)."""

    pattern: str
    reason: str


_DATA = r"\.data(\[\])?"
# Every entry must still match a difference: a stale entry fails the test (see below).
ALLOWED_DIFFERENCES: tuple[Allowed, ...] = (
    Allowed(
        rf"(GET|POST|PUT) /api/v[123]/\S+: response 200 extra enum at {_DATA}\.type: \[.+\]",
        "Each resource's `type` is documented as its one value (the reference: any string); it is the "
        "value both services send.",
    ),
    Allowed(
        r"(GET|POST|PUT) /api/v[12]/participants/(ecf/)?\{id\}/(defer|resume|withdraw): response 200 "
        r"extra property \.data\.attributes\.training_record_id",
        "v1/v2 defer, resume and withdraw answer with the participant GET's body, training_record_id "
        "included, as the reference service does (tests/contract.py KNOWN_EXTRA).",
    ),
    Allowed(
        rf"(GET|POST|PUT) /api/v2/participant-declarations\S*: response 200 enum differs at "
        rf"{_DATA}\.attributes\.state: ours adds \['awaiting-clawback', 'clawed-back'\]",
        "A voided paid declaration is awaiting or clawed back, and v2 shows those states as every "
        "version does; the v2 document predates clawbacks.",
    ),
    Allowed(
        rf"(GET|POST|PUT) /api/v3/participant-declarations\S*: response 200 extra property "
        rf"{_DATA}\.attributes\.created_at",
        "The reference service sends created_at too (its document's example shows it; "
        "tests/contract.py KNOWN_EXTRA).",
    ),
    Allowed(
        r"GET /api/v[12]/participant-declarations\.csv: extra parameter query:filter",
        "The CSV export applies the JSON list's filters, as the reference service does.",
    ),
    Allowed(
        r"GET /api/v2/participants/ecf(\.csv)?: parameter query:filter extra property \.cohort",
        "v2 honours filter[cohort] like v1 (behaviour notes 3.2 and 1.7); the v2 document omits it.",
    ),
    Allowed(
        r"GET /api/v3/participants/(ecf|npq): parameter query:filter extra enum at \.training_status: "
        r"\['active', 'deferred', 'withdrawn'\]",
        "Any other training_status is a 400 (behaviour notes 3.4 for ECF, the same rule for NPQ); the "
        "enum says so.",
    ),
    Allowed(
        r"GET /api/v3/(participants/ecf/\{id\}|participants/ecf/\{id\}/transfers"
        r"|unfunded-mentors/ecf/\{id\}): extra parameter query:filter",
        "These shows look the record up in the list's results, so the list's filters apply "
        "(behaviour notes 3.5, 5.1, 5.2).",
    ),
    Allowed(
        r"GET /api/v3/delivery-partners: parameter query:sort enum differs at \[\]: ours adds "
        r"\['-name', 'name'\]",
        "The reference sorts by any delivery-partner column (behaviour notes 1.6, 5.5); we document the "
        "columns we accept.",
    ),
    Allowed(
        r"GET /api/v3/partnerships/ecf: parameter query:sort enum differs at \[\]: ours adds "
        r"\['-challenge_reason', '-challenged_at', 'challenge_reason', 'challenged_at'\]",
        "The reference sorts by any partnership column (behaviour notes 1.6); we document the columns "
        "we accept.",
    ),
    Allowed(
        r"GET /api/v3/schools/ecf: parameter query:sort enum differs at \[\]: ours adds "
        r"\['-created_at', '-name', '-urn', 'created_at', 'name', 'urn'\]",
        "The reference sorts by any school column (behaviour notes 1.6, 5.3); we document the columns "
        "we accept.",
    ),
    Allowed(
        r"GET /api/v3/unfunded-mentors/ecf: parameter query:sort enum differs at \[\]: ours adds "
        r"\['-created_at', 'created_at'\]",
        "The reference sorts by any user column (behaviour notes 1.6, 5.2); we document the columns we "
        "accept.",
    ),
    # ---- NPQ ----
    Allowed(
        r"GET /api/v1/(npq-applications(\.csv)?|participants/npq): parameter query:filter missing property "
        r"\.created_since",
        "v1's shared ListFilter lists created_since for the outcomes list; NPQ applications and participants "
        "filter on updated_since only, as the reference service does (behaviour notes NPQ 2.2).",
    ),
    Allowed(
        r"GET /api/v[12]/npq-applications(\.csv)?: parameter query:filter extra property \.cohort",
        "v1/v2 applications honour filter[cohort] (one start year; behaviour notes NPQ 2.2, and the "
        "reference's own example); its ListFilter omits it.",
    ),
    Allowed(
        r"POST /api/v[123]/(participants/npq/\{participant_id\}/outcomes|npq-applications/\{id\}/accept): "
        r"request (missing property \.data\.data|extra property \.data\.attributes)",
        "The reference document nests these attributes under data.data; both services read "
        "data.attributes (behaviour notes NPQ 2.5, 4.3; the document's own outcome example).",
    ),
    Allowed(
        r"POST /api/v[123]/(participants/npq/\{participant_id\}/outcomes|npq-applications/\{id\}/accept): "
        r"request extra enum at \.data\.type: \['(npq-outcome-confirmation|npq-application-accept)'\]",
        "The request's `type` is documented as the value the guidance sends (the reference: any string); "
        "it is not checked.",
    ),
    Allowed(
        r"PUT /api/v[123]/participants/npq/\{id\}/withdraw: request enum differs at "
        r"\.data\.attributes\.reason: ours adds \['started-in-error'\]",
        "The reference service accepts started-in-error for NPQ withdrawals although its document omits "
        "it (behaviour notes NPQ 3.7).",
    ),
    Allowed(
        rf"(GET|POST) /api/v2/participants/npq/(outcomes|\{{participant_id\}}/outcomes): response 200 enum "
        rf"differs at {_DATA}\.attributes\.state: ours adds \['voided'\]",
        "Outcome lists include the voided rows that voiding a declaration appends, in v2 as in v1/v3 "
        "(tests/contract.py KNOWN_ENUM_VALUES); POST shares the outcome schema.",
    ),
)


async def _document(client: httpx.AsyncClient, version: str) -> dict[str, Any]:
    response = await client.get(f"/lead-providers/api-docs/{version}/api_spec.json")
    assert response.status_code == 200, response.text
    loaded: dict[str, Any] = response.json()
    return loaded


def _unexplained(differences: dict[str, list[str]]) -> tuple[list[str], list[Allowed]]:
    """(differences no entry allows, entries matching no difference)."""
    every = [line for lines in differences.values() for line in lines]
    unexplained = [
        line for line in every if not any(re.fullmatch(a.pattern, line) for a in ALLOWED_DIFFERENCES)
    ]
    stale = [a for a in ALLOWED_DIFFERENCES if not any(re.fullmatch(a.pattern, line) for line in every)]
    return unexplained, stale


# ---- the comparison with the reference ----------------------------------------------------------------


async def test_documents_match_the_reference_except_the_allowed_differences(
    client: httpx.AsyncClient,
) -> None:
    differences = {
        version: diff(await _document(client, version), spec(version), in_version(version))
        for version in VERSIONS
    }
    unexplained, stale = _unexplained(differences)
    assert unexplained == [], "differences from the reference not in ALLOWED_DIFFERENCES:\n" + "\n".join(
        unexplained
    )
    assert stale == [], "ALLOWED_DIFFERENCES entries that no longer match anything:\n" + "\n".join(
        a.pattern for a in stale
    )


def test_every_allowed_difference_has_a_one_line_reason() -> None:
    for allowed in ALLOWED_DIFFERENCES:
        re.compile(allowed.pattern)
        assert allowed.reason.strip() and "\n" not in allowed.reason, allowed.pattern


def test_the_allow_list_check_fails_on_a_new_difference() -> None:
    unexplained, _ = _unexplained({"v3": ["GET /api/v3/statements: missing parameter query:filter"]})
    assert unexplained == ["GET /api/v3/statements: missing parameter query:filter"]


# ---- the diff tool itself -------------------------------------------------------------------------------


def _doc(paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"openapi": "3.0.3", "paths": paths, "components": {"schemas": schemas or {}}}


def _op(
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    ok: dict[str, Any] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"parameters": parameters or [], "responses": {}}
    if body is not None:
        operation["requestBody"] = {"content": {"application/json": {"schema": body}}}
    if ok is not None:
        operation["responses"]["200"] = {"content": {"application/vnd.api+json": {"schema": ok}}}
    return operation


def _obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def test_diff_reports_operations_parameters_and_enums() -> None:
    filter_ = {"name": "filter", "in": "query", "schema": _obj(cohort={"type": "string"})}
    sort = {"name": "sort", "in": "query", "schema": {"type": "array", "items": {"enum": ["a", "-a"]}}}
    ours = _doc(
        {
            "/a": {"get": _op([filter_, {**sort, "schema": {"items": {"enum": ["a", "b"]}}}])},
            "/extra": {"get": _op()},
        }
    )
    reference = _doc(
        {
            "/a": {"get": _op([sort, {"name": "id", "in": "path", "schema": {"type": "string"}}])},
            "/missing": {"put": _op()},
        }
    )
    assert diff(ours, reference) == [
        "PUT /missing: missing operation",
        "GET /extra: extra operation",
        "GET /a: missing parameter path:id",
        "GET /a: extra parameter query:filter",
        "GET /a: parameter query:sort enum differs at []: ours adds ['b']; ours lacks ['-a']",
    ]


def test_diff_reports_a_missing_subtree_once_and_a_missing_schema_as_such() -> None:
    nested = _obj(data=_obj(attributes=_obj(a={"type": "string"}, b={"enum": ["x"]})))
    reference = _doc({"/a": {"get": _op(ok=nested)}, "/b": {"get": _op(ok=nested)}})
    ours = _doc({"/a": {"get": _op(ok=_obj(data=_obj(id={"type": "string"})))}, "/b": {"get": _op(ok={})}})
    assert diff(ours, reference) == [
        "GET /a: response 200 missing property .data.attributes",
        "GET /a: response 200 extra property .data.id",
        "GET /b: response 200: no schema (4 documented properties)",
    ]


def test_diff_follows_refs_merges_alternatives_and_survives_cycles() -> None:
    schemas = {
        "Started": _obj(declaration_type={"enum": ["started"]}),
        "Retained": _obj(declaration_type={"enum": ["retained-1"]}, evidence_held={"type": "string"}),
        "Node": _obj(child={"$ref": "#/components/schemas/Node"}),
    }
    reference = _doc(
        {
            "/d": {
                "post": _op(
                    body=_obj(
                        attributes={
                            "oneOf": [
                                {"$ref": "#/components/schemas/Started"},
                                {"$ref": "#/components/schemas/Retained"},
                            ]
                        }
                    ),
                    ok={"$ref": "#/components/schemas/Node"},
                )
            }
        },
        schemas,
    )
    # One schema with the union of the alternatives flattens the same; 3.1 `const` counts as an enum.
    ours = _doc(
        {
            "/d": {
                "post": _op(
                    body=_obj(
                        attributes=_obj(
                            declaration_type={
                                "anyOf": [{"const": "started"}, {"enum": ["retained-1", None]}]
                            },
                            evidence_held={"type": ["string", "null"]},
                        )
                    ),
                    ok={"$ref": "#/components/schemas/Node"},
                )
            }
        },
        schemas,
    )
    assert diff(ours, reference) == []
    ours["paths"]["/d"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"][
        "attributes"
    ]["properties"]["declaration_type"] = {"enum": ["started"]}
    assert diff(ours, reference) == [
        "POST /d: request enum differs at .attributes.declaration_type: ours lacks ['retained-1']"
    ]


# ---- serving ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_each_version_is_served_as_json_and_yaml(client: httpx.AsyncClient, version: str) -> None:
    as_json = await client.get(f"/lead-providers/api-docs/{version}/api_spec.json")
    as_yaml = await client.get(f"/lead-providers/api-docs/{version}/api_spec.yml")
    assert (as_json.status_code, as_yaml.status_code) == (200, 200)
    assert as_json.headers["content-type"] == "application/json"
    assert as_yaml.headers["content-type"] == "application/yaml"
    document = as_json.json()
    assert yaml.safe_load(as_yaml.text) == document

    number = version.removeprefix("v")
    assert document["openapi"] == "3.0.3"
    assert document["info"]["title"] == f"Lead provider API - {number}.0.0"
    assert document["info"]["version"] == f"{number}.0.0"
    assert [server["url"] for server in document["servers"]] == ["/"]
    assert document["security"] == [{"bearerAuth": []}]
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The API token issued to your organisation: `Authorization: Bearer <token>`.",
    }
    # Only this version's paths, and every path the reference documents.
    assert document["paths"] and all(path.startswith(f"/api/{version}/") for path in document["paths"])
    reference_paths = {path for path in spec(version)["paths"]}
    assert reference_paths <= set(document["paths"])


async def test_unknown_versions_and_files_are_not_found(client: httpx.AsyncClient) -> None:
    for path in ("/lead-providers/api-docs/v4/api_spec.json", "/lead-providers/api-docs/v3/api_spec.xml"):
        assert (await client.get(path)).status_code == 404, path


@pytest.mark.parametrize("version", VERSIONS)
async def test_documents_are_openapi_30(client: httpx.AsyncClient, version: str) -> None:
    """No OpenAPI 3.1 constructs survive (Swagger UI 4 and 3.0 clients would reject them), and every
    schema component has the plain name of its model (a `module__Model` name means a clash)."""
    document = await _document(client, version)
    text = json.dumps(document)
    for keyword in ('"const"', '"type": "null"', '"examples": ['):
        assert keyword not in text, keyword
    for name in document["components"]["schemas"]:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name), name
    for name in ("HTTPValidationError", "ValidationError"):
        assert name not in document["components"]["schemas"]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            assert not isinstance(node.get("type"), list), node
            if "$ref" in node:
                assert set(node) == {"$ref"}, f"a 3.0 $ref ignores its siblings: {node}"
                resolve(document, node)  # resolvable
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)


@pytest.mark.parametrize("version", VERSIONS)
async def test_operation_ids_are_unique_readable_and_summaries_are_set(
    client: httpx.AsyncClient, version: str
) -> None:
    document = await _document(client, version)
    ids = [operation["operationId"] for operation in operations(document).values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) and not re.match(r"v\d_", i) for i in ids), ids
    assert all(operation.get("summary") for operation in operations(document).values())
    ecf = operations(document)
    assert ecf["GET", f"/api/{version}/participants/ecf"]["operationId"] == "list_ecf_participants"
    assert (
        ecf["PUT", f"/api/{version}/participants/ecf/{{id}}/defer"]["operationId"] == "defer_ecf_participant"
    )


async def test_v1_documents_its_older_action_paths_as_deprecated(client: httpx.AsyncClient) -> None:
    document = await _document(client, "v1")
    for action in ("defer", "resume", "withdraw", "change-schedule"):
        operation = document["paths"][f"/api/v1/participants/{{id}}/{action}"]["put"]
        assert operation["deprecated"] is True
        assert operation["operationId"] == f"{action.replace('-', '_')}_participant"
        current = document["paths"][f"/api/v1/participants/ecf/{{id}}/{action}"]["put"]
        assert "deprecated" not in current
        assert operation["requestBody"] == current["requestBody"]
        assert operation["responses"] == current["responses"]


async def test_documents_are_built_once_per_app(app: FastAPI, client: httpx.AsyncClient) -> None:
    await _document(client, "v3")
    first = published(app, "v3")
    await _document(client, "v3")
    assert published(app, "v3") is first
    assert published(app, "v2") is not first


# ---- every error a route really returns is documented ------------------------------------------------------

_RANDOM_ID = "00000000-0000-4000-8000-000000000000"


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", _RANDOM_ID, path)


async def _token(session: AsyncSession, scope: TokenScope) -> dict[str, str]:
    raw = f"token-{uuid.uuid4()}"
    session.add(ApiToken(hashed_token=hash_token(raw, TEST_HMAC_KEY), scope=scope))
    await session.flush()
    return {"Authorization": f"Bearer {raw}"}


@pytest.mark.parametrize("version", VERSIONS)
async def test_every_status_a_route_returns_is_documented(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    """Each documented route is called without a token, with a token of the wrong kind, with an id
    that does not exist, with a malformed filter, and (writes) with a body without `data` and one with
    empty attributes. Whatever it answers must be among the responses its document lists."""
    ecf = await f.provider(session)
    npq_only = await f.provider(session, ecf=False, npq=True)
    admin = await _token(session, TokenScope.ADMIN)
    document = await _document(client, version)
    problems: list[str] = []
    for (method, path), operation in operations(document).items():
        documented = set(operation["responses"])
        url = _concrete(path)
        writes = method in ("POST", "PUT") and "requestBody" in operation
        probes: list[tuple[str, dict[str, str], dict[str, str], Any]] = [
            ("no token", {}, {}, None),
            ("an internal token", admin, {}, None),
            ("an NPQ-only provider", npq_only.headers, {}, None),
            ("an unknown id", ecf.headers, {}, None),
            ("a malformed filter", ecf.headers, {"filter": "abc"}, None),
        ]
        if writes:
            probes += [
                ("a body without data", ecf.headers, {}, {}),
                ("empty attributes", ecf.headers, {}, {"data": {"type": "x", "attributes": {}}}),
            ]
        for label, headers, params, body in probes:
            response = await client.request(
                method, url, headers=headers, params=params, json=body if body is not None else None
            )
            if str(response.status_code) not in documented:
                problems.append(
                    f"{method} {path} with {label}: {response.status_code} is not documented "
                    f"(documented: {', '.join(sorted(documented))})"
                )
        for status in ("401", "403"):
            if status not in documented:
                problems.append(f"{method} {path}: {status} is not documented")
    assert problems == [], "\n".join(problems)


# ---- what the service sends matches what its documents say -----------------------------------------------

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=("uuid", "date"))
    checker.checks("date-time")(lambda value: not isinstance(value, str) or bool(_DATE_TIME.match(value)))
    return checker


def _strict(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: `nullable` allows null, and an object lists every
    attribute it may have (so a serializer adding an undocumented attribute fails)."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _strict(value) for key, value in node.items() if key not in ("nullable", "example")}
    if "properties" in node:
        out.setdefault("additionalProperties", False)
    if node.get("nullable") is True:
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "type" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def our_validator(document: dict[str, Any], method: str, path: str) -> Draft202012Validator:
    """A validator of the documented 200 body of one operation of our document."""
    response = document["paths"][path][method.lower()]["responses"]["200"]
    (media,) = response["content"].values()
    schema = {
        **_strict(media["schema"]),
        "components": {"schemas": _strict(document["components"]["schemas"])},
    }
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_format_checker())


def _errors(validator: Draft202012Validator, body: Any, where: str) -> list[str]:
    return [f"{where}: {error.json_path}: {error.message}" for error in validator.iter_errors(body)][:5]


def test_the_validator_rejects_undocumented_attributes_and_wrong_values() -> None:
    document = _doc(
        {"/a": {"get": _op(ok={"$ref": "#/components/schemas/A"})}},
        {
            "A": {
                "type": "object",
                "required": ["state"],
                "properties": {
                    "state": {"type": "string", "enum": ["x"]},
                    "when": {"type": "string", "format": "date-time", "nullable": True},
                },
            }
        },
    )
    validator = our_validator(document, "GET", "/a")
    assert validator.is_valid({"state": "x", "when": None})
    assert validator.is_valid({"state": "x", "when": "2021-05-31T02:21:32Z"})
    assert not validator.is_valid({"state": "y"})
    assert not validator.is_valid({"state": "x", "other": 1})
    assert not validator.is_valid({"state": "x", "when": "yesterday"})
    assert not validator.is_valid({})


AMBITION = {"Authorization": "Bearer ambition-token"}


async def test_real_responses_match_our_documents(
    app: FastAPI, session: AsyncSession, settings: Settings
) -> None:
    """The sandbox seed (every state of every resource) read through every documented GET, and a few
    writes, validated against OUR documents: the documents cannot drift from the serializers.

    A plain client, not the `client` fixture: that one also checks each body against the reference
    documents, and the reference v2 document lists no clawback states although the service (like the
    reference service) shows them in v2 too; tests/contract.py has no entry for an enum yet.
    """
    await seed_sandbox(session, settings=settings, today=datetime.now(UTC).date())

    async def flush_first(request: httpx.Request) -> None:
        await session.flush()

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", event_hooks={"request": [flush_first]}
    ) as client:
        await _walk(client)


async def _walk(client: httpx.AsyncClient) -> None:
    documents = {version: await _document(client, version) for version in VERSIONS}
    problems: list[str] = []
    exercised: set[tuple[str, str, str]] = set()

    async def check(
        version: str, method: str, path: str, url: str, tolerate: Collection[int] = (), **kwargs: Any
    ) -> Any:
        """The 200 body of the request, validated; None (and a problem unless `tolerate`d) otherwise."""
        response = await client.request(method, url, headers=AMBITION, **kwargs)
        where = f"{version} {method} {url}"
        if response.status_code != 200:
            if response.status_code not in tolerate:
                problems.append(f"{where}: {response.status_code} {response.text[:300]}")
            return None
        body = response.json()
        problems.extend(_errors(our_validator(documents[version], method, path), body, where))
        exercised.add((version, method, path))
        return body

    everything = {"page[per_page]": "3000"}
    for version, document in documents.items():
        for (method, path), operation in operations(document).items():
            content = operation["responses"]["200"].get("content", {})
            if method != "GET" or "{" in path or not any("json" in media for media in content):
                continue
            params = dict(everything)
            if path.endswith("/schools/ecf"):
                params["filter[cohort]"] = "2023"
            listed = await check(version, method, path, path, params=params)
            shows = [(m, p) for (m, p) in operations(document) if m == "GET" and p == f"{path}/{{id}}"]
            if path.endswith("/participants/ecf/transfers"):
                shows = [("GET", f"/api/{version}/participants/ecf/{{id}}/transfers")]
            for _, show in shows:
                for item in (listed or {"data": []})["data"][:3]:
                    await check(version, "GET", show, show.replace("{id}", item["id"]), params=params)

    await _writes(check)
    await _npq_writes(check)

    # Every JSON operation was exercised, or answers with the very schema of one that was.
    for version, document in documents.items():
        for (method, path), operation in operations(document).items():
            content = operation["responses"]["200"].get("content", {})
            if (version, method, path) in exercised or not any("json" in media for media in content):
                continue
            schema = next(iter(content.values()))["schema"]
            twins = [
                (m, p)
                for (v, m, p) in exercised
                if v == version
                and next(iter(document["paths"][p][m.lower()]["responses"]["200"]["content"].values()))[
                    "schema"
                ]
                == schema
            ]
            if not twins:
                problems.append(f"{version} {method} {path}: no response was checked against its schema")
            elif "npq" in path:
                problems.append(f"{version} {method} {path}: no NPQ response of its own was checked")
    assert problems == [], "\n".join(problems)


Check = Callable[..., Awaitable[Any]]


async def _writes(check: Check) -> None:
    """Void a declaration, defer, resume and withdraw a participant and re-confirm a partnership's
    delivery partner, in each version, on seeded records."""
    listed = await check(
        "v3",
        "GET",
        "/api/v3/participant-declarations",
        "/api/v3/participant-declarations",
        params={"page[per_page]": "3000"},
    )
    voidable = [d["id"] for d in listed["data"] if d["attributes"]["state"] in ("submitted", "eligible")]
    participants = (
        await check(
            "v3",
            "GET",
            "/api/v3/participants/ecf",
            "/api/v3/participants/ecf",
            params={"page[per_page]": "3000"},
        )
    )["data"]
    active = [
        (p["id"], p["attributes"]["ecf_enrolments"][0])
        for p in participants
        if len(p["attributes"]["ecf_enrolments"]) == 1
        and p["attributes"]["ecf_enrolments"][0]["training_status"] == "active"
        and p["attributes"]["ecf_enrolments"][0]["participant_status"] == "active"
    ]
    assert len(voidable) >= len(VERSIONS) and len(active) >= len(VERSIONS)
    for version, declaration_id, (participant_id, enrolment) in zip(VERSIONS, voidable, active, strict=False):
        void = f"/api/{version}/participant-declarations/{{id}}/void"
        await check(version, "PUT", void, void.replace("{id}", declaration_id))
        course = "ecf-induction" if enrolment["participant_type"] == "ect" else "ecf-mentor"
        for action, extra in (
            ("defer", {"reason": "other"}),
            ("resume", {}),
            ("withdraw", {"reason": "other"}),
        ):
            path = f"/api/{version}/participants/ecf/{{id}}/{action}"
            body = {
                "data": {
                    "type": f"participant-{action}",
                    "attributes": {"course_identifier": course, **extra},
                }
            }
            await check(version, "PUT", path, path.replace("{id}", participant_id), json=body)

    partnerships = (
        await check(
            "v3",
            "GET",
            "/api/v3/partnerships/ecf",
            "/api/v3/partnerships/ecf",
            params={"page[per_page]": "3000"},
        )
    )["data"]
    active_partnership = next(p for p in partnerships if p["attributes"]["status"] == "active")
    body = {
        "data": {
            "type": "ecf-partnership-update",
            "attributes": {"delivery_partner_id": active_partnership["attributes"]["delivery_partner_id"]},
        }
    }
    path = "/api/v3/partnerships/ecf/{id}"
    await check("v3", "PUT", path, path.replace("{id}", active_partnership["id"]), json=body)


_NPQ_EVERYTHING = {"page[per_page]": "3000"}
_NO_OUTCOME_COURSES = ("npq-additional-support-offer", "npq-early-headship-coaching-offer")
_LIVE_STATES = ("submitted", "eligible", "payable", "paid")


async def _npq_writes(check: Check) -> None:
    """In each version, on seeded records: reject one pending NPQ application and accept another,
    move the accepted participant to another schedule, defer, resume and withdraw an NPQ participant,
    post an outcome and read the participant's outcomes."""
    applications = (
        await check(
            "v3", "GET", "/api/v3/npq-applications", "/api/v3/npq-applications", params=_NPQ_EVERYTHING
        )
    )["data"]
    pending = [a["id"] for a in applications if a["attributes"]["status"] == "pending"]
    declarations = (
        await check(
            "v3",
            "GET",
            "/api/v3/participant-declarations",
            "/api/v3/participant-declarations",
            params=_NPQ_EVERYTHING,
        )
    )["data"]
    npq_declarations = [
        d["attributes"] for d in declarations if d["attributes"]["course_identifier"].startswith("npq-")
    ]
    started = {
        (d["participant_id"], d["course_identifier"])
        for d in npq_declarations
        if d["declaration_type"] == "started"
    }
    completed = sorted(
        {
            (d["participant_id"], d["course_identifier"])
            for d in npq_declarations
            if d["declaration_type"] == "completed"
            and d["state"] in _LIVE_STATES
            and d["course_identifier"] not in _NO_OUTCOME_COURSES
        }
    )
    participants = (
        await check(
            "v3", "GET", "/api/v3/participants/npq", "/api/v3/participants/npq", params=_NPQ_EVERYTHING
        )
    )["data"]
    active = [
        (p["id"], e)
        for p in participants
        for e in p["attributes"]["npq_enrolments"]
        if e["training_status"] == "active"
    ]
    withdrawable = [(pid, e) for pid, e in active if (pid, e["course_identifier"]) in started]
    assert len(withdrawable) >= len(VERSIONS) and len(completed) >= len(VERSIONS), "seed too small"

    for version in VERSIONS:
        applications_path = f"/api/{version}/npq-applications/{{id}}"
        reject = f"{applications_path}/reject"
        await check(version, "POST", reject, reject.replace("{id}", pending.pop()))
        accept = f"{applications_path}/accept"
        accepted = None
        while pending and not accepted:
            # Another application of the same user may already be accepted for the course: a 422.
            accepted = await check(
                version, "POST", accept, accept.replace("{id}", pending.pop()), tolerate=(422,)
            )
            accepted = accepted and accepted["data"]

        participant_id, enrolment = withdrawable.pop()
        course = enrolment["course_identifier"]
        for action, extra in (
            ("defer", {"reason": "other"}),
            ("resume", {}),
            ("withdraw", {"reason": "other"}),
        ):
            path = f"/api/{version}/participants/npq/{{id}}/{action}"
            body = {
                "data": {
                    "type": f"participant-{action}",
                    "attributes": {"course_identifier": course, **extra},
                }
            }
            await check(version, "PUT", path, path.replace("{id}", participant_id), json=body)

        assert accepted, f"{version}: no pending application could be accepted"
        await _change_schedule(check, version, accepted["attributes"])

        participant_id, course = completed.pop()
        outcomes = f"/api/{version}/participants/npq/{{participant_id}}/outcomes"
        url = outcomes.replace("{participant_id}", participant_id)
        body = {
            "data": {
                "type": "npq-outcome-confirmation",
                "attributes": {
                    "course_identifier": course,
                    "state": "failed",
                    "completion_date": "2024-01-02",
                },
            }
        }
        await check(version, "POST", outcomes, url, json=body)
        await check(version, "GET", outcomes, url)


async def _change_schedule(check: Check, version: str, application: dict[str, Any]) -> None:
    """Move a just-accepted participant (no declarations yet) to another schedule of the same kind."""
    participant_id, course = application["participant_id"], application["course_identifier"]
    show = "/api/v3/participants/npq/{id}"
    participant = await check("v3", "GET", show, show.replace("{id}", participant_id))
    (enrolment,) = [
        e for e in participant["data"]["attributes"]["npq_enrolments"] if e["course_identifier"] == course
    ]
    current = enrolment["schedule_identifier"]
    family = current.rsplit("-", 1)[0]
    target = next(s for s in NPQ_SCHEDULE_IDENTIFIERS if s.startswith(f"{family}-") and s != current)
    body = {
        "data": {
            "type": "participant-change-schedule",
            "attributes": {"course_identifier": course, "schedule_identifier": target},
        }
    }
    change = f"/api/{version}/participants/npq/{{id}}/change-schedule"
    changed = await check(version, "PUT", change, change.replace("{id}", participant_id), json=body)
    if version != "v1" and changed:
        schedules = {
            e["course_identifier"]: e["schedule_identifier"]
            for e in changed["data"]["attributes"]["npq_enrolments"]
        }
        assert schedules[course] == target
