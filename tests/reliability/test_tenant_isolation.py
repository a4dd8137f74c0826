"""Tenant isolation: provider B using provider A's ids finds nothing and changes nothing; lists show
only the caller's records; internal routes refuse provider tokens.

The matrices name every /api/ route the app serves (read from the app's routes), so a new route
without an entry fails `test_every_route_has_a_matrix_entry`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import declaration_submission, npq_outcomes
from app.domain.enums import TokenScope
from tests import factories as f
from tests import factories_finance as ff
from tests.reliability._routes import api_routes
from tests.reliability.dataset import Estate, estate, fingerprint

NOT_FOUND = {"error": "Resource not Found"}
VERSIONS = ("v1", "v2", "v3")
ATTEMPTS = "participant_declaration_attempts"


def _errors(attribute: str, message: str) -> dict[str, Any]:
    return {"errors": [{"title": attribute, "detail": message}]}


NOT_RECOGNISED = _errors("participant_id", declaration_submission.PARTICIPANT_NOT_RECOGNISED)
ALREADY_DECLARED = _errors("base", declaration_submission.ALREADY_DECLARED)
NO_DECLARATION = _errors("Invalid action", npq_outcomes.NO_DECLARATION)


@dataclass(frozen=True)
class Probe:
    """How provider B calls a route with provider A's id, and what it must get back."""

    kind: str  # the Estate field whose id goes into the path
    status: int = 404
    body: dict[str, Any] | None = field(default_factory=lambda: NOT_FOUND)
    json: dict[str, Any] | None = None
    params: dict[str, str] | None = None
    # "shared": the record is public (the schools list ignores the caller): B may read it.
    note: str = ""


def _action(action: str, course: str, **attributes: str) -> dict[str, Any]:
    kind = "participant-change-schedule" if action == "change-schedule" else f"participant-{action}"
    return {"data": {"type": kind, "attributes": {"course_identifier": course, **attributes}}}


ECF_ACTIONS = {
    "defer": {"reason": "career-break"},
    "resume": {},
    "withdraw": {"reason": "left-teaching-profession"},
    "change-schedule": {"schedule_identifier": "ecf-standard-january", "cohort": "2022"},
}
NPQ_ACTIONS = {
    "defer": {"reason": "other"},
    "resume": {},
    "withdraw": {"reason": "other"},
    "change-schedule": {"schedule_identifier": "npq-leadership-spring", "cohort": "2022"},
}
OUTCOME = {
    "data": {
        "type": "npq-outcome-confirmation",
        "attributes": {
            "state": "passed",
            "course_identifier": "npq-headship",
            "completion_date": "2023-06-01",
        },
    }
}


def _id_matrix() -> dict[tuple[str, str], Probe]:
    m: dict[tuple[str, str], Probe] = {}
    for v in VERSIONS:
        m["GET", f"/api/{v}/participants/ecf/{{id}}"] = Probe("ecf_participant")
        m["GET", f"/api/{v}/participant-declarations/{{id}}"] = Probe("ecf_declaration")
        m["PUT", f"/api/{v}/participant-declarations/{{id}}/void"] = Probe("ecf_declaration")
        m["GET", f"/api/{v}/npq-applications/{{id}}"] = Probe("npq_application")
        m["POST", f"/api/{v}/npq-applications/{{id}}/accept"] = Probe("npq_application")
        m["POST", f"/api/{v}/npq-applications/{{id}}/reject"] = Probe("npq_application")
        m["GET", f"/api/{v}/participants/npq/{{id}}"] = Probe("npq_participant")
        # The outcomes of someone else's participant: an empty list, as for an unknown id.
        m["GET", f"/api/{v}/participants/npq/{{participant_id}}/outcomes"] = Probe(
            "npq_participant", status=200, body={"data": []}
        )
        m["POST", f"/api/{v}/participants/npq/{{participant_id}}/outcomes"] = Probe(
            "npq_participant", status=422, body=NO_DECLARATION, json=OUTCOME
        )
        # Actions resolve the participant among the caller's own: "not recognised" (422).
        for action, attributes in ECF_ACTIONS.items():
            m["PUT", f"/api/{v}/participants/ecf/{{id}}/{action}"] = Probe(
                "ecf_participant", 422, NOT_RECOGNISED, _action(action, "ecf-induction", **attributes)
            )
        for action, attributes in NPQ_ACTIONS.items():
            m["PUT", f"/api/{v}/participants/npq/{{id}}/{action}"] = Probe(
                "npq_participant", 422, NOT_RECOGNISED, _action(action, "npq-headship", **attributes)
            )
    for action, attributes in ECF_ACTIONS.items():
        # v1's shared action routes pick the programme from the course.
        m["PUT", f"/api/v1/participants/{{id}}/{action}"] = Probe(
            "ecf_participant", 422, NOT_RECOGNISED, _action(action, "ecf-induction", **attributes)
        )
    m["GET", "/api/v3/participants/ecf/{id}/transfers"] = Probe("transfer")
    m["GET", "/api/v3/statements/{id}"] = Probe("statement")
    m["GET", "/api/v3/unfunded-mentors/ecf/{id}"] = Probe("unfunded_mentor")
    m["GET", "/api/v3/partnerships/ecf/{id}"] = Probe("partnership")
    m["GET", "/api/v3/delivery-partners/{id}"] = Probe("delivery_partner")
    for method in ("PUT", "PATCH"):
        m[method, "/api/v3/partnerships/ecf/{id}"] = Probe(
            "partnership",
            json={
                "data": {
                    "type": "ecf-partnership-update",
                    "attributes": {"delivery_partner_id": "{own_partner}"},
                }
            },
        )
    m["GET", "/api/v3/schools/ecf/{id}"] = Probe(
        "school", status=200, body=None, params={"filter[cohort]": "2022"}, note="shared"
    )
    return m


ID_ROUTES = _id_matrix()

# Collection routes: provider A's ids (by Estate field) that A's list shows and B's must not.
LIST_ROUTES: dict[tuple[str, str], tuple[str, ...]] = {}
for _v in VERSIONS:
    LIST_ROUTES["GET", f"/api/{_v}/participants/ecf"] = ("ecf_participant",)
    LIST_ROUTES["GET", f"/api/{_v}/participant-declarations"] = ("ecf_declaration", "npq_declaration")
    LIST_ROUTES["GET", f"/api/{_v}/npq-applications"] = ("npq_application",)
    LIST_ROUTES["GET", f"/api/{_v}/participants/npq"] = ("npq_participant",)
    LIST_ROUTES["GET", f"/api/{_v}/participants/npq/outcomes"] = ("npq_outcome",)
for _v in ("v1", "v2"):
    LIST_ROUTES["GET", f"/api/{_v}/participants/ecf.csv"] = ("ecf_participant",)
    LIST_ROUTES["GET", f"/api/{_v}/participant-declarations.csv"] = ("ecf_declaration", "npq_declaration")
    LIST_ROUTES["GET", f"/api/{_v}/npq-applications.csv"] = ("npq_application",)
LIST_ROUTES["GET", "/api/v1/participants"] = ("ecf_participant",)
LIST_ROUTES["GET", "/api/v1/participants.csv"] = ("ecf_participant",)
LIST_ROUTES["GET", "/api/v2/participants"] = ("ecf_participant",)
LIST_ROUTES["GET", "/api/v2/participants.csv"] = ("ecf_participant",)
LIST_ROUTES["GET", "/api/v2/npq-enrolments.csv"] = ("npq_participant",)
LIST_ROUTES["GET", "/api/v3/participants/ecf/transfers"] = ("transfer",)
LIST_ROUTES["GET", "/api/v3/statements"] = ("statement",)
LIST_ROUTES["GET", "/api/v3/unfunded-mentors/ecf"] = ("unfunded_mentor",)
LIST_ROUTES["GET", "/api/v3/partnerships/ecf"] = ("partnership",)
LIST_ROUTES["GET", "/api/v3/delivery-partners"] = ("delivery_partner",)
# The schools list ignores the caller (a public register): nothing of A's to hide.
SHARED_LISTS = {("GET", "/api/v3/schools/ecf")}

# Collection writes whose body names a participant or partner: B naming A's gets the 422.
BODY_WRITES = {("POST", f"/api/{v}/participant-declarations") for v in VERSIONS} | {
    ("POST", "/api/v3/partnerships/ecf")
}


def _fill(path: str, ids: dict[str, str], kind: str) -> str:
    return path.replace("{id}", ids[kind]).replace("{participant_id}", ids[kind])


def _substitute(value: Any, extra: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, extra) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return extra.get(value[1:-1], value)
    return value


async def _two_estates(session: AsyncSession) -> tuple[Estate, Estate]:
    return await estate(session), await estate(session)


async def test_every_route_has_a_matrix_entry(app: FastAPI) -> None:
    served = api_routes(app)
    internal = {r for r in served if r[1].startswith("/api/internal/")}
    # A provider acting as a school (sandbox only): tests/internal/test_sandbox_scenarios.py.
    sandbox = {r for r in served if r[1].startswith("/api/sandbox/")}
    covered = set(ID_ROUTES) | set(LIST_ROUTES) | SHARED_LISTS | BODY_WRITES | internal | sandbox
    assert served - covered == set(), "routes without an isolation entry"
    assert covered - served == set(), "matrix entries for routes the app does not serve"
    assert internal, "no internal routes found"


async def test_ids_of_another_provider(client: httpx.AsyncClient, session: AsyncSession) -> None:
    a, b = await _two_estates(session)
    ids = a.ids()
    extra = {"own_partner": b.delivery_partner}
    failures: list[str] = []
    for (method, path), probe in sorted(ID_ROUTES.items()):
        url = _fill(path, ids, probe.kind)
        before = await fingerprint(session)
        response = await client.request(
            method,
            url,
            headers=b.provider.headers,
            params=probe.params,
            json=_substitute(probe.json, extra) if probe.json is not None else None,
        )
        changed = [t for t, digest in (await fingerprint(session)).items() if before[t] != digest]
        if response.status_code != probe.status:
            failures.append(f"{method} {url}: {response.status_code} {response.text[:200]}")
        elif probe.body is not None and response.json() != probe.body:
            failures.append(f"{method} {url}: body {response.text[:200]}")
        if changed:
            failures.append(f"{method} {url}: changed {changed}")
        if probe.note == "shared":
            # Public record: nothing of provider A's relationship may show through.
            for secret in (a.partnership, a.delivery_partner, str(a.provider.cpd.id)):
                if secret in response.text:
                    failures.append(f"{method} {url}: shows {secret}")
    assert failures == []


async def test_own_ids_are_found(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """The control: the same reads by provider A succeed (so the 404s above mean isolation)."""
    a, _ = await _two_estates(session)
    ids = a.ids()
    failures = []
    for (method, path), probe in sorted(ID_ROUTES.items()):
        if method != "GET":
            continue
        url = _fill(path, ids, probe.kind)
        response = await client.get(url, headers=a.provider.headers, params=probe.params)
        if response.status_code != 200 or ids[probe.kind] not in response.text:
            failures.append(f"{url}: {response.status_code} {response.text[:200]}")
    assert failures == []


async def test_lists_show_only_the_callers_records(client: httpx.AsyncClient, session: AsyncSession) -> None:
    a, b = await _two_estates(session)
    failures: list[str] = []
    for (_, path), kinds in sorted(LIST_ROUTES.items()):
        own = (await client.get(path, headers=a.provider.headers)).text
        theirs = await client.get(path, headers=b.provider.headers)
        if theirs.status_code != 200:
            failures.append(f"{path}: {theirs.status_code} {theirs.text[:200]}")
        for kind in kinds:
            mine = getattr(a, kind)
            if mine not in own:
                failures.append(f"{path}: A's own {kind} missing")
            if mine in theirs.text:
                failures.append(f"{path}: B sees A's {kind}")
            if getattr(b, kind) not in theirs.text:
                failures.append(f"{path}: B's own {kind} missing")
    assert failures == []


def _declaration(participant_id: str) -> dict[str, Any]:
    attributes = {
        "participant_id": participant_id,
        "declaration_type": "started",
        "declaration_date": "2022-10-01T10:00:00Z",
        "course_identifier": "ecf-induction",
    }
    return {"data": {"type": "participant-declaration", "attributes": attributes}}


async def test_writes_naming_another_providers_records(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    a, b = await _two_estates(session)
    undeclared = await f.participant(
        session, a.provider.lead_provider, person_=await f.person(session, trn=None)
    )
    before = await fingerprint(session)
    for version in VERSIONS:
        url = f"/api/{version}/participant-declarations"
        response = await client.post(url, json=_declaration(undeclared.id), headers=b.provider.headers)
        assert (response.status_code, response.json()) == (422, NOT_RECOGNISED), version
        # The contract checks the event's billable slot (whoever declared it) before the provider:
        # an event A already declared answers with the duplicate error. Still nothing is stored.
        response = await client.post(url, json=_declaration(a.ecf_participant), headers=b.provider.headers)
        assert (response.status_code, response.json()) == (422, ALREADY_DECLARED), version
    partnership = {
        "data": {
            "type": "ecf-partnership",
            "attributes": {
                "cohort": "2022",
                "school_id": a.school,
                "delivery_partner_id": a.delivery_partner,
            },
        }
    }
    response = await client.post("/api/v3/partnerships/ecf", json=partnership, headers=b.provider.headers)
    assert response.status_code == 422
    assert "delivery_partner_id" in [e["title"] for e in response.json()["errors"]]
    after = await fingerprint(session)
    # Declaration attempts are an audit log of the caller's own requests (the contract keeps them).
    assert {k: v for k, v in after.items() if k != ATTEMPTS} == {
        k: v for k, v in before.items() if k != ATTEMPTS
    }


async def test_internal_routes_refuse_provider_tokens(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    a, _ = await _two_estates(session)
    internal = sorted(r for r in api_routes(app) if r[1].startswith("/api/internal/"))
    before = await fingerprint(session)
    for method, path in internal:
        url = path.replace("{id}", a.statement)
        response = await client.request(method, url, headers=a.provider.headers, json={})
        assert response.status_code == 403, (method, url, response.text)
    assert await fingerprint(session) == before
    # The control: an internal (finance) token gets past the role check.
    finance = await ff.internal_headers(session, TokenScope.FINANCE)
    response = await client.get(f"/api/internal/finance/statements/{a.statement}", headers=finance)
    assert response.status_code == 200
