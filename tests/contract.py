"""Validate bodies against the reference OpenAPI 3.0.1 documents (one helper for every test).

The documents are converted to JSON Schema (draft 2020-12):

- every local `$ref` is inlined; a schema that refers back to itself goes to `$defs` instead, so
  recursion stays strict and terminates;
- `nullable: true` allows null, whatever else the schema says (`type`, `enum`, `$ref`, `anyOf`);
- OpenAPI-only keywords are dropped (`example`, `xml`, `discriminator`, ...), as is a boolean
  `required` inside a property schema (the documents contain `required: false`, which is not JSON
  Schema);
- STRICT: an object schema that lists `properties` rejects any other attribute unless it sets
  `additionalProperties` itself (the project rule "no undocumented attributes");
- `uuid`, `date` and `date-time` formats are checked.

The reference documents are read from `<repo>/../shared/reference/openapi/v{1,2,3}.json`, or from
the directory in `CPD_REFERENCE_DIR`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError

VERSIONS = ("v1", "v2", "v3")
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

# ---------------------------------------------------------------------------------------------
# Deviations of the reference DOCUMENTS from the reference SERVICE. This is the only place they
# are listed, and the README lists the same ones. They describe where the published documents are
# wrong about what the reference service sends, never a difference of this service.
# ---------------------------------------------------------------------------------------------

# (schema component, property) pairs the reference service sends as null although the document
# marks them non-nullable. Applied when that component is resolved, so they hold wherever it is used.
# v1/v2 action responses are the participant GET's serialisation, which the action response
# components describe more strictly than the GET's own component.
_ACTION_RESPONSES = (
    "ECFParticipantDeferAttributesResponse",
    "ECFParticipantResumeAttributesResponse",
    "ECFParticipantWithdrawAttributesResponse",
)
_ACTION_NULLABLE = {
    (component, prop)
    for component in _ACTION_RESPONSES
    for prop in ("teacher_reference_number", "teacher_reference_number_validated")
}
_ACTION_EXTRA: dict[str, dict[str, Any]] = {
    component: {"training_record_id": {"type": "string", "format": "uuid"}} for component in _ACTION_RESPONSES
}

# NPQ applications store what the registration service collected; these are null when it
# collected nothing (no TRN, no school, no funding choice or headteacher answer).
_NPQ_APPLICATION_NULLABLE = {
    ("NPQApplicationAttributes", prop)
    for prop in (
        "teacher_reference_number",
        "school_urn",
        "school_ukprn",
        "funding_choice",
        "headteacher_status",
        "works_in_school",
    )
}

KNOWN_NULLABLE: dict[str, set[tuple[str, str]]] = {
    "v1": _ACTION_NULLABLE | _NPQ_APPLICATION_NULLABLE,
    "v2": _ACTION_NULLABLE | _NPQ_APPLICATION_NULLABLE,
    "v3": _NPQ_APPLICATION_NULLABLE
    | {
        ("ECFParticipantAttributes", "teacher_reference_number"),  # no TRN recorded yet
        ("ECFEnrolment", "teacher_reference_number_validated"),  # no TRN recorded yet
        ("ECFEnrolment", "participant_status"),  # reported as leaving without an end date
        ("UnfundedMentorAttributes", "teacher_reference_number"),
        ("ECFPartnershipAttributes", "induction_tutor_email"),  # no tutor and no school contact email
        ("ECFPartnershipAttributes", "delivery_partner_name"),  # partnership without a delivery partner
        ("ECFParticipantLeaving", "provider"),  # left a school-led programme
        ("ECFParticipantLeaving", "date"),  # reported as leaving without an end date
        ("ECFParticipantJoining", "provider"),  # joined a school-led programme
    },
}

# Attributes the reference service sends that the document leaves out of the schema (the
# document's own example shows them): component -> property -> OpenAPI schema of the property.
KNOWN_EXTRA: dict[str, dict[str, dict[str, Any]]] = {
    "v1": _ACTION_EXTRA,
    "v2": _ACTION_EXTRA,
    "v3": {"ParticipantDeclarationAttributes": {"created_at": {"type": "string", "format": "date-time"}}},
}

# Enum values the reference service sends that the document's enum leaves out:
# version -> (component, property) -> the extra values.
KNOWN_ENUM_VALUES: dict[str, dict[tuple[str, str], list[Any]]] = {
    # The outcome history includes the `voided` rows that voiding a declaration appends (the v1 and
    # v3 documents list `voided`; v2's omits it, though v2 lists the same rows).
    # v2 declarations: a voided paid declaration is `awaiting-clawback`, then `clawed-back`; the
    # reference service shows those states in every version, the v2 document predates clawbacks.
    "v2": {
        ("NPQOutcomeAttributes", "state"): ["voided"],
        ("ParticipantDeclarationAttributes", "state"): ["awaiting-clawback", "clawed-back"],
    },
}

# OpenAPI 3.0 keywords with no JSON Schema meaning (annotations only, or OpenAPI machinery).
_OPENAPI_ONLY = frozenset(
    {"example", "examples", "xml", "discriminator", "readOnly", "writeOnly", "deprecated", "externalDocs"}
)
_COMBINATORS = ("anyOf", "oneOf", "allOf")
_COMPONENT_REF = "#/components/schemas/"

# RFC 3339 date-time, as JSON Schema means it: a `T` separator and a mandatory offset or `Z`.
# jsonschema only checks date-time when the optional rfc3339-validator is installed, so the check
# is done here instead of adding a dependency.
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


class UndocumentedResponse(AssertionError):
    """The version's document has no such path, method or status (callers may catch it)."""


# --- loading -------------------------------------------------------------------------------------


def reference_dir() -> Path:
    override = os.environ.get("CPD_REFERENCE_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "shared" / "reference" / "openapi"


def spec(version: str) -> dict[str, Any]:
    """The raw reference document of a version (cached; do not mutate it)."""
    return _load(str(reference_dir()), version)


# Caches are keyed by the directory too, so pointing CPD_REFERENCE_DIR elsewhere takes effect.
@lru_cache(maxsize=8)
def _load(directory: str, version: str) -> dict[str, Any]:
    if version not in VERSIONS:
        raise ValueError(f"unknown API version {version!r}; expected one of {', '.join(VERSIONS)}")
    with open(Path(directory) / f"{version}.json", encoding="utf-8") as fh:
        loaded: dict[str, Any] = json.load(fh)
    return loaded


# --- OpenAPI 3.0 -> JSON Schema ------------------------------------------------------------------


class _Converter:
    """Converts schemas of one document; `nullable` holds the KNOWN_NULLABLE pairs in force."""

    def __init__(self, version: str, nullable: frozenset[tuple[str, str]]) -> None:
        self.version = version
        self.nullable = nullable
        self.components: dict[str, Any] = spec(version).get("components", {}).get("schemas", {})
        self.defs: dict[str, Any] = {}  # components that refer back to themselves
        self._pending: list[str] = []  # cyclic components still to convert into `defs`
        self._queued: set[str] = set()  # every component ever put in `_pending`

    def document(self, schema: Any) -> dict[str, Any]:
        """A self-contained JSON Schema for `schema` (cyclic components in `$defs`)."""
        root = self.convert(schema, component=None, expanding=())
        # Cyclic components are converted once each, into `$defs`; converting one may find more.
        while self._pending:
            name = self._pending.pop()
            self.defs[name] = self.convert(self._component(name), component=name, expanding=(name,))
        if not isinstance(root, dict):  # a boolean schema; only a dict can carry `$defs`
            root = {"allOf": [root]}
        if self.defs:
            root = {**root, "$defs": dict(self.defs)}
        return root

    def _component(self, name: str) -> Any:
        if name not in self.components:
            raise KeyError(f"{self.version}: $ref to missing schema component {name!r}")
        return self.components[name]

    def convert(self, node: Any, component: str | None, expanding: tuple[str, ...]) -> Any:
        """Convert one schema. `component` names the component `node` is the root of, if any."""
        if not isinstance(node, dict):
            return node  # boolean schemas are valid as they are
        if "$ref" in node:
            return self._ref(node, expanding)

        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _OPENAPI_ONLY or key == "nullable":
                continue
            if key == "required" and not isinstance(value, list):
                continue  # the stray `required: false` on a property; required-ness lives in the parent
            if key == "properties":
                out[key] = self._properties(value, component, expanding)
            elif key in ("items", "not", "additionalProperties"):
                out[key] = self.convert(value, None, expanding)
            elif key in _COMBINATORS:
                out[key] = [self.convert(sub, None, expanding) for sub in value]
            elif key == "enum":
                out[key] = _fix_yaml_booleans(node.get("type"), value)
            else:
                out[key] = value  # type, format, description, minItems, default, ...

        if "properties" in out:
            out.setdefault("additionalProperties", False)  # no undocumented attributes
            if out["additionalProperties"] is False and isinstance(out.get("required"), list):
                # `required` naming an attribute that `properties` does not document (e.g. v3
                # StatementAttributes requires `name`) would make the schema unsatisfiable under the
                # strict rule. What is documented is the property list, so such names are dropped.
                out["required"] = [name for name in out["required"] if name in out["properties"]]

        out = _collapse_single_combinator(out)
        return _allow_null(out) if node.get("nullable") is True else out

    def _ref(self, node: dict[str, Any], expanding: tuple[str, ...]) -> Any:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith(_COMPONENT_REF):
            raise ValueError(f"{self.version}: only local component refs are supported, got {ref!r}")
        name = ref.removeprefix(_COMPONENT_REF)
        if name in expanding:
            # Recursion: refer to a `$defs` entry rather than expanding forever.
            if name not in self._queued:
                self._queued.add(name)
                self._pending.append(name)
            resolved: Any = {"$ref": f"#/$defs/{name}"}
        else:
            resolved = self.convert(self._component(name), component=name, expanding=(*expanding, name))
        # OpenAPI 3.0 ignores siblings of `$ref`, but `nullable` beside a `$ref` is common intent.
        return _allow_null(resolved) if node.get("nullable") is True else resolved

    def _properties(
        self, properties: dict[str, Any], component: str | None, expanding: tuple[str, ...]
    ) -> dict[str, Any]:
        converted: dict[str, Any] = {}
        for prop, prop_schema in properties.items():
            schema = self.convert(prop_schema, None, expanding)
            extra_values = KNOWN_ENUM_VALUES.get(self.version, {}).get((component or "", prop))
            if extra_values and isinstance(schema, dict) and "enum" in schema:
                schema = {**schema, "enum": [*schema["enum"], *extra_values]}
            if component is not None and (component, prop) in self.nullable:
                schema = _allow_null(schema)
            converted[prop] = schema
        if component is not None:
            for prop, prop_schema in KNOWN_EXTRA.get(self.version, {}).get(component, {}).items():
                converted.setdefault(prop, self.convert(prop_schema, None, expanding))
        return converted


def _allow_null(schema: Any) -> Any:
    """`schema` or null. Keeps a plain `type` schema flat, so its errors stay precise."""
    if not isinstance(schema, dict):  # a boolean schema
        return True if schema is True else {"type": "null"}
    plain = "$ref" not in schema and not any(k in schema for k in (*_COMBINATORS, "not", "const"))
    kind = schema.get("type")
    if plain and isinstance(kind, str | list):
        kinds = [kind] if isinstance(kind, str) else list(kind)
        flat = {**schema, "type": kinds if "null" in kinds else [*kinds, "null"]}
        # An `enum` is checked on its own: null has to be one of its values too.
        if "enum" in flat and None not in flat["enum"]:
            flat["enum"] = [*flat["enum"], None]
        return flat
    if not schema:
        return schema  # `{}` already accepts null
    return {"anyOf": [schema, {"type": "null"}]}


def _collapse_single_combinator(schema: dict[str, Any]) -> dict[str, Any]:
    """`{"anyOf": [X]}` (the documents' way to add `nullable` to a `$ref`) becomes X itself.

    Same meaning, but errors then point at the attribute inside X instead of "not valid under any
    of the given schemas". Merged only when no keyword would be lost or contradicted.
    """
    for combinator in _COMBINATORS:
        options = schema.get(combinator)
        if not isinstance(options, list) or len(options) != 1 or not isinstance(options[0], dict):
            continue
        (inner,) = options
        rest = {k: v for k, v in schema.items() if k != combinator}
        if all(k in {"description", "title", "default"} or inner.get(k, v) == v for k, v in rest.items()):
            return {**rest, **inner}
    return schema


def _fix_yaml_booleans(kind: Any, values: list[Any]) -> list[Any]:
    """The documents come from YAML 1.1, which reads a bare `no`/`yes` as a boolean.

    v1/v2 `NPQApplicationCsvRow.headteacher_status` is `type: string` with `enum: [false, ...]` and
    example "no". A boolean can never satisfy a string type, so restore the string that was meant.
    """
    if kind != "string":
        return values
    return ["no" if v is False else "yes" if v is True else v for v in values]


def to_json_schema(
    version: str, schema: Any, known_nullable: Iterable[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """Convert an OpenAPI schema of `version`'s document (with its refs) to a JSON Schema."""
    return _Converter(version, _nullable_pairs(version, known_nullable)).document(schema)


def _nullable_pairs(
    version: str, known_nullable: Iterable[tuple[str, str]] | None
) -> frozenset[tuple[str, str]]:
    if known_nullable is None:
        return frozenset(KNOWN_NULLABLE.get(version, set()))
    return frozenset(known_nullable)


# --- formats ---------------------------------------------------------------------------------------


def _is_date_time(instance: object) -> bool:
    if not isinstance(instance, str):
        return True  # formats only constrain strings
    if not _DATE_TIME.match(instance):
        return False
    try:
        datetime.fromisoformat(instance.upper().replace("Z", "+00:00"))
    except ValueError:
        return False  # well-formed but impossible, e.g. month 13
    return True


def _format_checker() -> Any:
    # Only the formats the documents use. `uuid` and `date` come from jsonschema's own checkers.
    checker = FormatChecker(formats=("uuid", "date"))
    checker.checks("date-time")(_is_date_time)
    return checker


# --- lookup ----------------------------------------------------------------------------------------


def _operation(version: str, method: str, path_template: str) -> dict[str, Any]:
    paths = spec(version).get("paths", {})
    if path_template not in paths:
        raise UndocumentedResponse(f"{version}: path {path_template} is not documented")
    operation = paths[path_template].get(method.lower())
    if not isinstance(operation, dict):
        raise UndocumentedResponse(f"{version}: {method.upper()} {path_template} is not documented")
    return operation


def _media_schema(content: dict[str, Any], content_type: str) -> Any:
    """The schema of `content_type`, else of application/json, else of the first type listed."""
    for wanted in (content_type, "application/json"):
        if wanted in content:
            return content[wanted].get("schema", {})
    return next(iter(content.values())).get("schema", {})


@lru_cache(maxsize=1024)
def _response_validator(
    directory: str,
    version: str,
    method: str,
    path_template: str,
    status: int,
    content_type: str,
    nullable: frozenset[tuple[str, str]],
) -> Any:
    """A compiled validator for one documented response, or None when it documents no body.

    `directory` is only part of the cache key: everything below reads the current document.
    """
    responses = _operation(version, method, path_template).get("responses", {})
    response = responses.get(str(status))
    if response is None:
        documented = ", ".join(sorted(responses)) or "none"
        raise UndocumentedResponse(
            f"{version}: {method.upper()} {path_template} does not document status {status} "
            f"(documented: {documented})"
        )
    content = response.get("content") or {}
    if not content:
        return None
    schema = _Converter(version, nullable).document(_media_schema(content, content_type))
    Draft202012Validator.check_schema(schema)  # a conversion bug should fail loudly, once
    return Draft202012Validator(schema, format_checker=_format_checker())


# --- public API --------------------------------------------------------------------------------------


def assert_matches_spec(
    version: str,
    method: str,
    path_template: str,
    status: int,
    body: Any,
    *,
    content_type: str = "application/json",
    known_deviations: Iterable[tuple[str, str]] | None = None,
) -> None:
    """Fail listing every difference between `body` (decoded JSON) and the documented response.

    `path_template` is the document's path key, e.g. "/api/v3/participants/ecf/{id}".
    `known_deviations`: (component, property) pairs additionally treated as nullable; None means
    KNOWN_NULLABLE[version], `()` means the document exactly as published.
    Raises UndocumentedResponse when the path, method or status is not documented.
    """
    method = method.lower()
    nullable = _nullable_pairs(version, known_deviations)
    validator = _response_validator(
        str(reference_dir()), version, method, path_template, status, content_type, nullable
    )
    where = f"{version} {method.upper()} {path_template} {status}"
    if validator is None:
        if body not in (None, "", b""):
            raise AssertionError(f"{where} documents no body, but one was given: {body!r}")
        return
    problems = sorted(validator.iter_errors(body), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if problems:
        lines = [line for error in problems for line in _describe(error, depth=1)]
        raise AssertionError(
            f"{where} does not match the reference schema ({len(problems)} error(s)):\n" + "\n".join(lines)
        )


def _describe(error: ValidationError, depth: int) -> list[str]:
    """`$.json.path: message`, with the reasons each alternative of an anyOf/oneOf failed."""
    indent = "  " * depth
    lines = [f"{indent}{error.json_path}: {error.message}"]
    if depth < 4:  # the documents nest combinators at most a couple of levels deep
        by_option: dict[str, list[ValidationError]] = {}
        for sub in error.context or []:
            option = str(sub.relative_schema_path[0]) if sub.relative_schema_path else "?"
            by_option.setdefault(option, []).append(sub)
        for option, subs in sorted(by_option.items()):
            lines.append(f"{indent}  option {option} fails because:")
            for sub in sorted(subs, key=lambda e: list(map(str, e.absolute_path))):
                lines.extend(_describe(sub, depth + 2))
    return lines


def documented_paths(version: str) -> list[tuple[str, str]]:
    """Every (METHOD, path template) pair the version's document lists, in document order."""
    return [
        (method.upper(), path)
        for path, operations in spec(version).get("paths", {}).items()
        for method in operations
        if method in HTTP_METHODS
    ]


def request_schema(version: str, method: str, path_template: str) -> dict[str, Any]:
    """The converted JSON Schema of the request body ({} when the operation documents none)."""
    body = _operation(version, method, path_template).get("requestBody") or {}
    content = body.get("content") or {}
    if not content:
        return {}
    return to_json_schema(version, _media_schema(content, "application/json"))


# --- used by the test client (tests/conftest.py) ------------------------------------------------

# Statuses whose reference schema matches the reference service's real bodies. Error bodies
# (404, 400, 422) are asserted exactly by the tests instead: the published documents describe
# shapes the service never sent (e.g. a 404 with an `errors` array).
AUTO_VALIDATED_STATUSES = frozenset({200, 401})


def _path_patterns(version: str) -> list[tuple[re.Pattern[str], str]]:
    return _compiled_paths(str(reference_dir()), version)


@lru_cache(maxsize=8)
def _compiled_paths(directory: str, version: str) -> list[tuple[re.Pattern[str], str]]:
    patterns = []
    for template in _load(directory, version).get("paths", {}):
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
        operation = _operation(version, method, template)
    except UndocumentedResponse:
        return
    if status != 200 and str(status) not in (operation.get("responses") or {}):
        # Some operations document only their success; a 401 there has the standard body.
        return
    assert_matches_spec(version, method, template, status, json.loads(body))
