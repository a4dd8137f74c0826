"""Validate responses against the reference OpenAPI documents (one helper for every test).

OpenAPI 3.0 schemas become JSON Schema: `nullable` allows null, OpenAPI-only keywords are
dropped, and every object that lists its properties rejects undocumented ones (the project
rule "no undocumented attributes").
"""

from __future__ import annotations

import copy
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, FormatChecker

REFERENCE_DIR = Path(
    os.environ.get("CPD_REFERENCE_DIR")
    or Path(__file__).resolve().parents[2] / "shared" / "reference" / "openapi"
)

# Attributes the reference service returns as null although its own documents say otherwise.
# Listed in the README as differences between the reference documents and the reference service.
KNOWN_NULLABLE: dict[str, set[tuple[str, str]]] = {
    "v1": set(),
    "v2": set(),
    "v3": {
        ("ECFParticipantAttributes", "teacher_reference_number"),
        ("ECFEnrolment", "teacher_reference_number_validated"),
        ("ECFEnrolment", "participant_status"),
        ("UnfundedMentorAttributes", "teacher_reference_number"),
    },
}

# Attributes the reference service sends that its own documents leave out of the schema (the
# document's example shows them). Listed in the README with KNOWN_NULLABLE.
KNOWN_EXTRA: dict[str, dict[str, dict[str, Any]]] = {
    "v3": {"ParticipantDeclarationAttributes": {"created_at": {"type": "string", "format": "date-time"}}},
}

_DROP = {"example", "examples", "xml", "discriminator", "readOnly", "writeOnly", "deprecated", "externalDocs"}


class UndocumentedResponse(AssertionError):
    """The version's document has no such path, method or status."""


@lru_cache(maxsize=3)
def spec(version: str) -> dict[str, Any]:
    with open(REFERENCE_DIR / f"{version}.json") as fh:
        loaded: dict[str, Any] = json.load(fh)
    return loaded


def _convert(version: str, node: Any, component: str | None, seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_convert(version, item, component, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in seen:  # recursive schema: stop expanding
            return {}
        target = spec(version)["components"]["schemas"][name]
        resolved = _convert(version, target, name, (*seen, name))
        if node.get("nullable"):
            return {"anyOf": [resolved, {"type": "null"}]}
        return resolved
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key == "properties" and isinstance(value, dict):
            props = {}
            for prop, prop_schema in value.items():
                converted = _convert(version, prop_schema, None, seen)
                if (component, prop) in KNOWN_NULLABLE.get(version, set()) or (
                    isinstance(prop_schema, dict) and prop_schema.get("nullable")
                ):
                    converted = _nullable(converted)
                props[prop] = converted
            props.update(KNOWN_EXTRA.get(version, {}).get(component or "", {}))
            out["properties"] = props
        elif key == "required" and not isinstance(value, list):
            continue  # a stray `required: false` inside a property schema
        elif key == "nullable":
            continue
        else:
            out[key] = _convert(version, value, None, seen)
    if node.get("nullable") and "properties" not in out:
        out = _nullable(out)
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def _nullable(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "null":
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def to_json_schema(version: str, schema: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = _convert(version, copy.deepcopy(schema), None, ())
    return converted


def _operation(version: str, method: str, path_template: str) -> dict[str, Any]:
    paths = spec(version)["paths"]
    if path_template not in paths:
        raise UndocumentedResponse(f"{version}: path {path_template} is not documented")
    operation = paths[path_template].get(method.lower())
    if operation is None:
        raise UndocumentedResponse(f"{version}: {method.upper()} {path_template} is not documented")
    result: dict[str, Any] = operation
    return result


@lru_cache(maxsize=512)
def _response_validator(version: str, method: str, path_template: str, status: int) -> Draft7Validator:
    responses = _operation(version, method, path_template).get("responses", {})
    response = responses.get(str(status))
    if response is None:
        raise UndocumentedResponse(
            f"{version}: {method.upper()} {path_template} does not document status {status}"
        )
    content = response.get("content") or {}
    media = content.get("application/json") or next(iter(content.values()), None)
    schema = (media or {}).get("schema") or {}
    return Draft7Validator(to_json_schema(version, schema), format_checker=FormatChecker())


def assert_matches_spec(version: str, method: str, path_template: str, status: int, body: Any) -> None:
    """Fail listing every difference between `body` and the documented response schema."""
    validator = _response_validator(version, method.lower(), path_template, status)
    problems = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if problems:
        lines = [f"  at /{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in problems]
        raise AssertionError(
            f"{version} {method.upper()} {path_template} {status} does not match the reference schema:\n"
            + "\n".join(lines)
        )


def documented_paths(version: str) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, operations in spec(version)["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def request_schema(version: str, method: str, path_template: str) -> dict[str, Any]:
    body = _operation(version, method, path_template).get("requestBody") or {}
    content = body.get("content") or {}
    media: dict[str, Any] = content.get("application/json") or next(iter(content.values()), {})
    return to_json_schema(version, media.get("schema") or {})


# Statuses whose reference schema matches the reference service's real bodies. Error bodies
# (404, 400, 422) are asserted exactly by the tests instead: the published documents describe
# shapes the service never sent (e.g. a 404 with an `errors` array).
AUTO_VALIDATED_STATUSES = frozenset({200, 401})


@lru_cache(maxsize=3)
def _path_patterns(version: str) -> list[tuple[re.Pattern[str], str]]:
    patterns = []
    for template in spec(version)["paths"]:
        regex = "[^/]+".join(re.escape(part) for part in re.split(r"\{[^}]+\}", template))
        patterns.append((re.compile(f"^{regex}$"), template))
    # Literal paths win over templated ones (`/participants/ecf/transfers` over `/{id}`).
    return sorted(patterns, key=lambda p: p[1].count("{"))


def documented_template(path: str) -> tuple[str, str] | None:
    """(version, path template) of a request path, when a reference document lists it."""
    match = re.match(r"^/api/(v[123])/", path)
    if not match:
        return None
    version = match.group(1)
    for pattern, template in _path_patterns(version):
        if pattern.match(path):
            return version, template
    return None


def validate_exchange(method: str, path: str, status: int, content_type: str, body: bytes) -> None:
    """Validate a JSON response of a documented path and status (used by the test client)."""
    if status not in AUTO_VALIDATED_STATUSES or "json" not in content_type:
        return
    found = documented_template(path)
    if found is None:
        return
    version, template = found
    try:
        _operation(version, method, template)
    except UndocumentedResponse:
        return
    assert_matches_spec(version, method, template, status, json.loads(body))
