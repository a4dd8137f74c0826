"""Schemathesis fuzzing of the service (tests/reliability/test_fuzz.py), in-process over ASGI.

What is fuzzed: every operation of our served per-version documents (fetched from the app at
/lead-providers/api-docs/vN/api_spec.json) and of the reference documents, with data generated
from each document (path ids, bracketed `filter[...]`/`page[...]` query parameters, `sort`,
bodies), in positive mode (data the document allows) and negative mode (data it forbids).

Where it runs: a database of its own (`<TEST_DATABASE_NAME>_fuzz`), migrated and loaded with the
sandbox seed, so the fuzzer's writes (accepts, withdrawals, voids, declarations...) never reach
another test; the database is dropped afterwards. The app runs with its own engine, started by
its lifespan in schemathesis's ASGI event loop, exactly as under a server.

Reaching past the 404: ids drawn at random from a uuid format are never found, so about half of
the generated path ids and body ids (`participant_id`, `school_id`, `delivery_partner_id`) are
swapped for real ids that the token's provider can see, read from the API before fuzzing.

How much: CPD_FUZZ_EXAMPLES examples per operation and generation mode (default below), generated
deterministically (hypothesis `derandomize`), so a CI failure reproduces on any machine.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.hooks import HookContext
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.db import async_url
from app.seed import seed_sandbox
from app.settings import Settings
from tests import contract

EXAMPLES_ENV = "CPD_FUZZ_EXAMPLES"
# Per operation and mode. 188 operations (94 in our documents, the same 94 in the reference ones)
# x 2 modes x 3 is about 1,000 requests, which keeps the file near 90 s on an idle 2-core machine:
# generating the cases costs more than serving them. Longer runs set CPD_FUZZ_EXAMPLES.
DEFAULT_EXAMPLES = 3
# A provider with both ECF and NPQ roles, so every route answers as it would a real client.
TOKEN = "ambition-token"
AUTHORIZATION = {"Authorization": f"Bearer {TOKEN}"}
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
JSONAPI = "application/vnd.api+json"


def examples() -> int:
    raw = os.environ.get(EXAMPLES_ENV, "")
    return int(raw) if raw.strip() else DEFAULT_EXAMPLES


# --- the database ---------------------------------------------------------------------------------


def database_url(server_url: str, name: str) -> str:
    return make_url(async_url(server_url)).set(database=name).render_as_string(hide_password=False)


async def seed(url: str, settings: Settings) -> None:
    """The sandbox seed, committed (with the real date: statement states follow the seeding day)."""
    engine = create_async_engine(async_url(url))
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            await seed_sandbox(session, settings=settings, today=datetime.now(UTC).date())
            await session.commit()
    finally:
        await engine.dispose()


async def drop_database(server_url: str, name: str) -> None:
    admin = create_async_engine(
        make_url(async_url(server_url)).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :d AND pid <> pg_backend_pid()"
                ),
                {"d": name},
            )
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        await admin.dispose()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# --- real ids ---------------------------------------------------------------------------------------


def collection(template: str) -> str:
    """The list route whose records a path id names: `/api/v3/participants/ecf/{id}/defer` ->
    `/api/v3/participants/ecf`; transfers of one participant come from the transfers list; v1's
    un-prefixed ECF actions (`/api/v1/participants/{id}/defer`) act on ECF participants."""
    base, _, rest = template.partition("/{")
    if rest.endswith("}/transfers"):
        return f"{base}/transfers"
    if base.endswith("/participants"):
        return f"{base}/ecf"
    return base


@dataclass
class IdPools:
    """Ids the token's provider can see, by list route, read through the API."""

    by_collection: dict[str, list[str]] = field(default_factory=dict)

    def for_path(self, template: str) -> list[str]:
        return self.by_collection.get(collection(template), [])

    def for_attribute(self, version: str, name: str) -> list[str]:
        prefix = f"/api/{version}"
        sources = {
            "participant_id": [f"{prefix}/participants/ecf", f"{prefix}/participants/npq"],
            "school_id": [f"{prefix}/schools/ecf"],
            "delivery_partner_id": [f"{prefix}/delivery-partners"],
        }.get(name, [])
        return sorted({i for source in sources for i in self.by_collection.get(source, [])})


def read_pools(get: Callable[[str, dict[str, str]], Any], templates: Iterable[str]) -> IdPools:
    """`get(path, params)` returns a decoded JSON:API list document (None when the list failed)."""
    pools = IdPools()
    for template in sorted(templates):
        if "{" not in template:
            continue
        source = collection(template)
        if source in pools.by_collection:
            continue
        # v3 schools are listed per cohort; every other list takes no required filter.
        queries = (
            [{"filter[cohort]": str(year)} for year in range(2021, 2025)]
            if source.endswith("/schools/ecf")
            else [{}]
        )
        found: set[str] = set()
        for query in queries:
            document = get(source, {"page[per_page]": "300", **query})
            for record in (document or {}).get("data") or []:
                found.add(str(record["id"]))
        pools.by_collection[source] = sorted(found)
    return pools


def use_real_ids(schema: BaseSchema, version: str, pools: IdPools) -> None:
    """About half of the generated path ids and body ids become ids of real, visible records."""

    def path_parameters(context: HookContext, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        operation = context.operation
        if operation is None:
            return strategy
        ids = pools.for_path(operation.path)
        names = [p.name for p in operation.path_parameters]
        if not ids or len(names) != 1:
            return strategy
        (name,) = names
        return st.one_of(strategy, st.sampled_from(ids).map(lambda i: {name: i}))

    def body(context: HookContext, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(strategy, strategy.flatmap(lambda b: _with_real_ids(b, version, pools)))

    schema.hooks.register_hook_with_name(path_parameters, "before_generate_path_parameters")
    schema.hooks.register_hook_with_name(body, "before_generate_body")


def _with_real_ids(body: Any, version: str, pools: IdPools) -> st.SearchStrategy[Any]:
    data = body.get("data") if isinstance(body, dict) else None
    attributes = data.get("attributes") if isinstance(data, dict) else None
    if not isinstance(attributes, dict):
        return st.just(body)
    choices = {name: pools.for_attribute(version, name) for name in attributes}
    choices = {name: ids for name, ids in choices.items() if ids}
    if not choices:
        return st.just(body)

    def put(values: dict[str, str]) -> Any:
        return {**body, "data": {**data, "attributes": {**attributes, **values}}}

    return st.fixed_dictionaries({name: st.sampled_from(ids) for name, ids in choices.items()}).map(put)


# --- checks -----------------------------------------------------------------------------------------

# Our own documents are checked by schemathesis itself: no 5xx, a documented status, a documented
# content type, and a body that validates against the documented schema (any status).
OUR_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def our_problems(case: Case, response: Response) -> list[str]:
    try:
        case.validate_response(response, checks=OUR_CHECKS)
    except FailureGroup as group:
        return [_failure_text(f) for f in group.exceptions]
    except Failure as failure:
        return [_failure_text(failure)]
    return []


def _failure_text(failure: Failure) -> str:
    return f"{failure.title}: {' '.join(failure.message.split())[:400]}"


def header(response: Response, name: str) -> str:
    for key, values in response.headers.items():
        if key.lower() == name.lower() and values:
            return values[0]
    return ""


def reference_problems(version: str, ours: dict[str, Any], case: Case, response: Response) -> list[str]:
    """Checks against a reference document, with the rules and allow-lists every other test applies
    to it (tests/contract.py). `ours` is our document of the same version.

    - No 5xx.
    - The status is documented by the reference document, or else by ours for the same operation:
      the reference documents list few error statuses (many operations only 200) although the
      reference service answers 400, 404 and 422 on them (reference/behaviour); ours list every
      status we send, and the ours-vN runs check those responses against ours.
    - The content type is documented (application/vnd.api+json where it says application/json:
      the reference service sends JSON as application/vnd.api+json, its behaviour notes say, while
      its documents call every JSON body application/json).
    - 200 and 401 bodies (contract.AUTO_VALIDATED_STATUSES) validate against the reference schema
      with contract.py's KNOWN_NULLABLE, KNOWN_EXTRA and KNOWN_ENUM_VALUES. Error bodies are not
      compared with the reference document: contract.py records that its error schemas describe
      shapes the reference service never sent (`error` where it sends `errors`, ...); they are
      validated against our documents in the ours-vN runs instead.
    """
    status = response.status_code
    if status >= 500:
        return [f"server error {status}"]
    method, template = case.operation.method.lower(), case.operation.path
    responses = contract.spec(version)["paths"][template][method].get("responses") or {}
    documented = responses.get(str(status))
    if documented is None:
        our_responses = ours["paths"].get(template, {}).get(method, {}).get("responses") or {}
        if str(status) in our_responses:
            return []
        listed = ", ".join(sorted({*responses, *our_responses}))
        return [f"status {status} documented neither by the reference nor by us (documented: {listed})"]
    content = documented.get("content") or {}
    media = header(response, "content-type").split(";")[0].strip()
    if not response.content or not content:
        return []
    if media not in content and not (media == JSONAPI and "application/json" in content):
        return [f"undocumented content type {media!r} for {status} (documented: {', '.join(content)})"]
    if "json" not in media or status not in contract.AUTO_VALIDATED_STATUSES:
        return []
    return reference_body_errors(version, method, template, status, json.loads(response.content))


def reference_body_errors(version: str, method: str, template: str, status: int, body: Any) -> list[str]:
    """contract.py's validator for the documented body (its allow-lists included)."""
    validator = contract._response_validator(
        str(contract.reference_dir()),
        version,
        method,
        template,
        status,
        "application/json",
        contract._nullable_pairs(version, None),
    )
    if validator is None:
        return []
    found = []
    for error in validator.iter_errors(body):
        where = f"{version} {method.upper()} {template} {status}"
        found.append(f"{where}: {error.json_path}: {error.message}"[:600])
    return found


# --- running ----------------------------------------------------------------------------------------


@dataclass
class Finding:
    source: str
    operation: str
    mode: str
    status: int
    problem: str
    reproduce: str

    def line(self) -> str:
        where = f"[{self.source} {self.mode}] {self.operation} -> {self.status}"
        return f"{where}: {self.problem}\n    {self.reproduce}"


@dataclass
class Tally:
    """Requests made (by source and status) and what the checks found."""

    requests: Counter[tuple[str, int]] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    unsatisfiable: list[str] = field(default_factory=list)

    def total(self, source: str | None = None) -> int:
        return sum(n for (s, _), n in self.requests.items() if source is None or s == source)

    def statuses(self, source: str | None = None) -> dict[int, int]:
        found: Counter[int] = Counter()
        for (s, status), n in self.requests.items():
            if source is None or s == source:
                found[status] += n
        return dict(sorted(found.items()))

    def distinct(self) -> list[Finding]:
        """One finding per source, operation, status and problem (the first example of each)."""
        seen: set[tuple[str, str, int, str]] = set()
        unique = []
        for finding in self.findings:
            key = (finding.source, finding.operation, finding.status, finding.problem[:120])
            if key not in seen:
                seen.add(key)
                unique.append(finding)
        return unique


Checker = Callable[[Case, Response], list[str]]


def fuzz_operation(
    source: str, operation: APIOperation, mode: GenerationMode, count: int, check: Checker, tally: Tally
) -> None:
    """`count` generated requests to one operation; every response is checked, nothing raises."""
    if mode is GenerationMode.NEGATIVE and not (len(operation.query) or len(operation.body)):
        # Only a path id to break, which schemathesis cannot make invalid in a URL (hypothesis gives
        # up after ~10 s per operation); tests/reliability/test_hostile_input.py covers hostile ids.
        tally.unsatisfiable.append(f"{source} {mode.value} {operation.label}")
        return

    # The token is fixed at generation: a header given only to `call` is dropped from the cases in
    # which negative mode removes the security scheme's header (hundreds of pointless 401s).
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode, headers=AUTHORIZATION))
    @hypothesis.settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        # Failures are collected, not raised, so there is nothing to shrink.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def one(case: Case) -> None:
        response = case.call()
        tally.requests[(source, response.status_code)] += 1
        for problem in check(case, response):
            tally.findings.append(
                Finding(
                    source,
                    operation.label,
                    mode.value,
                    response.status_code,
                    problem,
                    case.as_curl_command()[:1500],
                )
            )

    try:
        one()
    except hypothesis.errors.Unsatisfiable:
        # Negative mode with nothing left to break once the token is fixed (an operation without
        # parameters or body). Recorded, so the summary says which operations had no such cases.
        tally.unsatisfiable.append(f"{source} {mode.value} {operation.label}")
