"""Published OpenAPI documents, one per API version, and the Swagger UI page that shows each.

Each version's document is generated from the routes mounted under `/api/<version>/` only, so a
provider (or a client generator) sees exactly that version. The documents are OpenAPI 3.0.3: the
vendored Swagger UI (4.x) cannot render 3.1, several client generators handle 3.0 best, and the
reference documents are 3.0 too. FastAPI writes 3.1 schemas, so they are rewritten (`nullable`
instead of a `null` type, `enum` instead of `const`, one `example` instead of `examples`).

Operation ids are declared app-wide as `<version>_<name>` (unique in the combined /openapi.json);
inside one version's document the prefix says nothing, so it is dropped: a generated client gets
`list_ecf_participants`, not `v3_list_ecf_participants`.

Every asset of the docs page is served from this service (no CDN): the pages must work where
there is no internet access, and a provider's browser should not fetch code from third parties.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import yaml
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import Scope
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from app.api.responses import JSONAPI_MEDIA_TYPE

VERSIONS = ("v1", "v2", "v3")
# DfE's own services (schools, NPQ registration, finance, administrators) and the sandbox scenario
# API (providers acting as a school; absent in production) have documents of their own.
INTERNAL_DOCUMENTS = ("internal", "sandbox")
DOCUMENTS = (*VERSIONS, *INTERNAL_DOCUMENTS)
LATEST_VERSION = "v3"
DOCS_PATH = "/lead-providers/api-docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
OPENAPI_VERSION = "3.0.3"
SECURITY_SCHEME = "bearerAuth"
JSON_MEDIA_TYPE = "application/json"
YAML_MEDIA_TYPE = "application/yaml"

# Only what the page uses; the package also ships a demo page that points at a third-party host.
ASSET_FILES = frozenset(
    {"swagger-ui.css", "swagger-ui-bundle.js", "index.css", "favicon-16x16.png", "favicon-32x32.png"}
)
_SCOPE = {
    "v1": "ECF and NPQ participants, NPQ applications and outcomes, and participant declarations.",
    "v2": "ECF and NPQ participants, NPQ applications, enrolments and outcomes, and participant "
    "declarations.",
    "v3": "schools, partnerships, delivery partners, ECF and NPQ participants, transfers, unfunded "
    "mentors, NPQ applications and outcomes, participant declarations and statements.",
}
_FRAMEWORK_VALIDATION_ERROR = "#/components/schemas/HTTPValidationError"
_FRAMEWORK_SCHEMAS = ("HTTPValidationError", "ValidationError")
_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


# --- building a version's document -----------------------------------------------------------------


def version_routes(app: FastAPI, version: str) -> list[RouteContext]:
    """The documented API routes of one version, with their full paths."""
    prefix = f"/api/{version}/"
    return [
        context
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and context.include_in_schema
        and (context.path_format or "").startswith(prefix)
    ]


def _heading(version: str) -> tuple[str, str, str]:
    """(title, version, description) of a document."""
    if version == "internal":
        return (
            "Manage teacher CPD - internal API",
            "1.0.0",
            "What DfE's own services and operators use: induction tutors (school role), the NPQ "
            "registration service (npq_registration role), finance users (finance role) and "
            "administrators (admin role). Authenticate with an internal token of the role "
            "(`cpd-api create-internal-token`).",
        )
    if version == "sandbox":
        return (
            "Manage teacher CPD - sandbox scenario API",
            "1.0.0",
            "Sandbox only (absent in production): a lead provider acts as the induction tutor of a "
            "school it is partnered with, to rehearse registrations, transfers, unfunded mentors and "
            "challenges, and watch their effects through the lead provider API. Authenticate with "
            "your sandbox token.",
        )
    number = version.removeprefix("v")
    return (
        f"Lead provider API - {number}.0.0",
        f"{number}.0.0",
        f"Version {number} of the lead provider API of the Manage teacher CPD service: "
        f"{_SCOPE[version]} Authenticate with the bearer token issued to your organisation.",
    )


def build_document(app: FastAPI, version: str) -> dict[str, Any]:
    """Generate the OpenAPI document of one version (or of the internal or sandbox API) from its
    routes (uncached; see `document`)."""
    if version not in DOCUMENTS:
        raise ValueError(f"unknown API version {version!r}")
    title, document_version, description = _heading(version)
    routes = version_routes(app, version)
    generated = get_openapi(
        title=title,
        version=document_version,
        openapi_version=OPENAPI_VERSION,
        description=description,
        routes=routes,
        servers=[{"url": "/", "description": "This environment"}],
    )
    # get_openapi may hold references to the routes' own `openapi_extra` dicts; never edit those.
    doc: dict[str, Any] = copy.deepcopy(generated)
    _use_docstring_summaries(doc, routes)
    _drop_framework_validation_errors(doc)
    _json_bodies_are_jsonapi(doc)
    _drop_version_prefix(doc, version)
    components = doc.setdefault("components", {})
    components["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "The API token issued to your organisation: `Authorization: Bearer <token>`.",
        }
    }
    doc["security"] = [{SECURITY_SCHEME: []}]
    for schema in _schema_slots(doc):
        _to_openapi_30(schema)
    return doc


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in (doc.get("paths") or {}).items():
        for method, operation in item.items():
            if method in _HTTP_METHODS and isinstance(operation, dict):
                yield path, method, operation


def _use_docstring_summaries(doc: dict[str, Any], routes: list[RouteContext]) -> None:
    """The summary is the endpoint's one-line docstring (FastAPI would title-case the function name)."""
    by_operation: dict[tuple[str, str], RouteContext] = {
        (context.path_format or "", method.lower()): context
        for context in routes
        for method in (context.methods or ())
    }
    for path, method, operation in _operations(doc):
        context = by_operation.get((path, method))
        if context is None or context.summary:
            continue  # an explicit summary stays
        description = (context.description or "").strip()
        if description:
            operation["summary"] = description.splitlines()[0]
            if description == operation["summary"]:
                operation.pop("description", None)


def _drop_framework_validation_errors(doc: dict[str, Any]) -> None:
    """FastAPI documents a 422 `HTTPValidationError` for any route with parameters; this service
    parses parameters and bodies itself and never sends that body, so the response is removed."""
    for _, _, operation in _operations(doc):
        responses = operation.get("responses") or {}
        for status, response in list(responses.items()):
            if _FRAMEWORK_VALIDATION_ERROR in json.dumps(response):
                del responses[status]
    schemas = doc.get("components", {}).get("schemas", {})
    if _FRAMEWORK_VALIDATION_ERROR not in json.dumps(doc):
        for name in _FRAMEWORK_SCHEMAS:
            schemas.pop(name, None)


def _json_bodies_are_jsonapi(doc: dict[str, Any]) -> None:
    """Every JSON body the API sends is `application/vnd.api+json` (JSONAPIResponse, error handlers
    included). FastAPI documents a response model under the route's media type, and a CSV route has
    none, so its 400 and 401 bodies came out as `application/json`: they are renamed."""
    for _, _, operation in _operations(doc):
        for response in (operation.get("responses") or {}).values():
            content = response.get("content") or {}
            if JSON_MEDIA_TYPE in content and JSONAPI_MEDIA_TYPE not in content:
                response["content"] = {
                    (JSONAPI_MEDIA_TYPE if media == JSON_MEDIA_TYPE else media): value
                    for media, value in content.items()
                }


def _drop_version_prefix(doc: dict[str, Any], version: str) -> None:
    seen: dict[str, str] = {}
    for path, method, operation in _operations(doc):
        operation_id = operation.get("operationId")
        if not operation_id:
            raise RuntimeError(f"{version}: {method.upper()} {path} has no operation id")
        short = operation_id.removeprefix(f"{version}_")
        if short in seen:
            raise RuntimeError(f"{version}: operation id {short!r} used by {seen[short]} and {path}")
        seen[short] = path
        operation["operationId"] = short


# --- OpenAPI 3.1 schemas (what FastAPI and pydantic write) to 3.0 ---------------------------------------


def _schema_slots(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every root schema object of the document (nested ones are reached by `_to_openapi_30`)."""
    yield from (s for s in doc.get("components", {}).get("schemas", {}).values() if isinstance(s, dict))
    for _, _, operation in _operations(doc):
        for parameter in operation.get("parameters") or []:
            if isinstance(parameter.get("schema"), dict):
                yield parameter["schema"]
        bodies = [operation.get("requestBody") or {}, *(operation.get("responses") or {}).values()]
        for body in bodies:
            for media in (body.get("content") or {}).values():
                if isinstance(media.get("schema"), dict):
                    yield media["schema"]


_NULL = {"type": "null"}
_COMBINATORS = ("anyOf", "oneOf")


def _to_openapi_30(schema: dict[str, Any]) -> None:
    """Rewrite one schema (and its subschemas) in place from OpenAPI 3.1 to 3.0 form."""
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            _to_openapi_30(schema[key])
    for sub in (schema.get("properties") or {}).values():
        if isinstance(sub, dict):
            _to_openapi_30(sub)
    for key in ("allOf", *_COMBINATORS):
        for sub in schema.get(key) or []:
            if isinstance(sub, dict):
                _to_openapi_30(sub)

    if "const" in schema:
        schema.setdefault("enum", [schema["const"]])
        del schema["const"]
    if isinstance(schema.get("examples"), list):
        examples = schema.pop("examples")
        if examples:
            schema.setdefault("example", examples[0])
    kind = schema.get("type")
    if isinstance(kind, list):
        others = [k for k in kind if k != "null"]
        if len(others) != len(kind):
            schema["nullable"] = True
        schema["type"] = others[0] if len(others) == 1 else others
        if not others:
            del schema["type"]
    for key in _COMBINATORS:
        options = schema.get(key)
        if not isinstance(options, list) or _NULL not in options:
            continue
        rest = [option for option in options if option != _NULL]
        schema["nullable"] = True
        if len(rest) != 1:
            schema[key] = rest
            continue
        del schema[key]
        (only,) = rest
        if "$ref" in only:
            # In 3.0 a `$ref` ignores its siblings, so nullability needs an `allOf` wrapper.
            schema["allOf"] = [only]
        else:
            for name, value in only.items():
                schema.setdefault(name, value)
    if schema.get("nullable") is True and isinstance(schema.get("enum"), list) and None not in schema["enum"]:
        # In 3.0 an `enum` restricts `nullable` too: null must be listed, or clients reject it.
        schema["enum"] = [*schema["enum"], None]
    if "$ref" in schema and len(schema) > 1:
        ref = schema.pop("$ref")
        schema["allOf"] = [{"$ref": ref}, *schema.get("allOf", [])]


# --- cache and HTTP ----------------------------------------------------------------------------------


_YamlDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when available: ~10x faster


class PublishedDocument:
    """One version's document and its JSON; the YAML is rendered on first request."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.json = json.dumps(document, ensure_ascii=False, indent=2).encode()
        self._yaml: bytes | None = None

    @property
    def yaml(self) -> bytes:
        if self._yaml is None:
            text = yaml.dump(self.document, Dumper=_YamlDumper, sort_keys=False, allow_unicode=True)
            self._yaml = text.encode()
        return self._yaml


def published(app: FastAPI, version: str) -> PublishedDocument:
    """The version's document, built once per app (routes do not change after startup)."""
    cache: dict[str, PublishedDocument] | None = getattr(app.state, "api_documents", None)
    if cache is None:
        cache = {}
        app.state.api_documents = cache
    if version not in cache:
        cache[version] = PublishedDocument(build_document(app, version))
    return cache[version]


def document(app: FastAPI, version: str) -> dict[str, Any]:
    """The cached document of `version` (do not mutate it)."""
    return published(app, version).document


def _base(request: Request) -> str:
    # Behind a proxy that mounts the service under a prefix, links must carry that prefix.
    return str(request.scope.get("root_path", "")).rstrip("/")


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="stylesheet" href="{assets}/index.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="{assets}/favicon-16x16.png" sizes="16x16">
</head>
<body>
<nav aria-label="API versions">{links} &middot; <a href="{spec}.yml">OpenAPI (YAML)</a>
 &middot; <a href="{spec}.json">OpenAPI (JSON)</a></nav>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{docs}/{version}/swagger-initializer.js"></script>
</body>
</html>
"""

# `validatorUrl: null`: Swagger UI would otherwise send the document to a public validator.
_INITIALIZER = """window.addEventListener("load", function () {{
  window.ui = SwaggerUIBundle({{
    url: {spec_url},
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  }});
}});
"""


def _page(request: Request, version: str) -> HTMLResponse:
    base = _base(request)
    docs = f"{base}{DOCS_PATH}"
    shown = [v for v in DOCUMENTS if v != "sandbox" or _sandbox_enabled(request)]
    links = " | ".join(
        f"<strong>{v}</strong>" if v == version else f'<a href="{docs}/{v}">{v}</a>' for v in shown
    )
    html = _PAGE.format(
        title=f"{_heading(version)[0]} ({version}) - documentation",
        assets=f"{base}{ASSETS_PATH}",
        docs=docs,
        version=version,
        links=links,
        spec=f"{docs}/{version}/api_spec",
    )
    return HTMLResponse(html)


def _initializer(request: Request, version: str) -> Response:
    spec_url = json.dumps(f"{_base(request)}{DOCS_PATH}/{version}/api_spec.json")
    return Response(_INITIALIZER.format(spec_url=spec_url), media_type="text/javascript")


def _sandbox_enabled(request: Request) -> bool:
    settings = getattr(request.app.state, "settings", None)
    return bool(getattr(settings, "scenario_api_enabled", False))


def _exists(request: Request, version: str) -> None:
    """The sandbox document exists only where the sandbox scenario API does."""
    if version == "sandbox" and not _sandbox_enabled(request):
        raise HTTPException(status_code=404)


def _version_routes(router: APIRouter, version: str) -> None:
    def spec_json(request: Request) -> Response:
        _exists(request, version)
        return Response(published(request.app, version).json, media_type=JSON_MEDIA_TYPE)

    def spec_yaml(request: Request) -> Response:
        _exists(request, version)
        return Response(published(request.app, version).yaml, media_type=YAML_MEDIA_TYPE)

    def page(request: Request) -> HTMLResponse:
        _exists(request, version)
        return _page(request, version)

    def initializer(request: Request) -> Response:
        _exists(request, version)
        return _initializer(request, version)

    endpoints: dict[str, Callable[[Request], Response]] = {
        f"{DOCS_PATH}/{version}/api_spec.json": spec_json,
        f"{DOCS_PATH}/{version}/api_spec.yml": spec_yaml,
        f"{DOCS_PATH}/{version}": page,
        f"{DOCS_PATH}/{version}/swagger-initializer.js": initializer,
    }
    for path, endpoint in endpoints.items():
        router.add_api_route(path, endpoint, methods=["GET"], include_in_schema=False)


def _redirect_to_latest(request: Request) -> RedirectResponse:
    return RedirectResponse(f"{_base(request)}{DOCS_PATH}/{LATEST_VERSION}")


router = APIRouter(include_in_schema=False)
for _version in DOCUMENTS:
    _version_routes(router, _version)
router.add_api_route(DOCS_PATH, _redirect_to_latest, methods=["GET"], include_in_schema=False)
router.add_api_route("/docs", _redirect_to_latest, methods=["GET"], include_in_schema=False)


class SwaggerAssets(StaticFiles):
    """The vendored Swagger UI files the page uses, and nothing else of the package."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path not in ASSET_FILES:
            raise HTTPException(status_code=404)
        return await super().get_response(path, scope)


def install_docs(app: FastAPI) -> None:
    """Serve the per-version documents, their docs pages and the Swagger UI assets."""
    app.include_router(router)
    app.mount(ASSETS_PATH, SwaggerAssets(directory=str(swagger_ui_path)), name="api-docs-assets")


__all__ = [
    "DOCS_PATH",
    "DOCUMENTS",
    "INTERNAL_DOCUMENTS",
    "VERSIONS",
    "build_document",
    "document",
    "install_docs",
    "published",
]
