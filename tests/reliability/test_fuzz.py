"""Fuzzing with schemathesis (issue 10): every operation of our served v1-v3 documents and of the
reference documents, generated data in positive and negative mode, the sandbox token of a provider
with ECF and NPQ roles, against the sandbox seed. Never a 5xx; every status documented; every JSON
body valid against the documented schema (see tests/reliability/fuzzing.py for how).

CI runs CPD_FUZZ_EXAMPLES (default 3) examples per operation and mode, deterministically (hypothesis
`derandomize`). A longer run: `CPD_FUZZ_EXAMPLES=25 pytest tests/reliability/test_fuzz.py`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.python import asgi

from app import embedded_pg
from app.main import create_app
from app.migrate import upgrade
from app.settings import Environment, Settings
from tests import contract
from tests.conftest import ROOT, TEST_DATABASE, TEST_HMAC_KEY, _recreate_database, in_thread
from tests.reliability import fuzzing

VERSIONS = ("v1", "v2", "v3")
SOURCES = [f"ours-{v}" for v in VERSIONS] + [f"reference-{v}" for v in VERSIONS]


@dataclass
class Target:
    app: FastAPI
    pools: dict[str, fuzzing.IdPools]
    documents: dict[str, dict[str, Any]]  # ours, by version
    tally: fuzzing.Tally


def _server_url() -> str:
    return (
        os.environ.get("TEST_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or embedded_pg.start(ROOT / ".pgdata" / "server")
    )


@pytest.fixture(scope="module")
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The app on a database of its own with the sandbox seed; dropped afterwards."""
    server, name = _server_url(), f"{TEST_DATABASE}_fuzz"
    url = fuzzing.database_url(server, name)
    in_thread(lambda: fuzzing.run(_recreate_database(server, name)))
    in_thread(lambda: upgrade(url))
    settings = Settings(environment=Environment.TEST, database_url=url, token_hmac_key=TEST_HMAC_KEY)
    in_thread(lambda: fuzzing.run(fuzzing.seed(url, settings)))
    app = create_app(settings)
    tally = fuzzing.Tally()
    try:
        with asgi.get_client(app) as client:

            def get(path: str, params: dict[str, str]) -> Any:
                response = client.get(
                    f"http://{asgi.HOST}{path}", params=params, headers=fuzzing.AUTHORIZATION
                )
                return response.json() if response.status_code == 200 else None

            pools = {v: fuzzing.read_pools(get, contract.spec(v)["paths"]) for v in VERSIONS}
            assert all(p.for_path(f"/api/{v}/participants/ecf/{{id}}") for v, p in pools.items()), pools
            documents = {v: get(f"/lead-providers/api-docs/{v}/api_spec.json", {}) for v in VERSIONS}
        yield Target(app, pools, documents, tally)
    finally:
        asgi.shutdown_lifespans()  # the app's engine is disposed before its database is dropped
        in_thread(lambda: fuzzing.run(fuzzing.drop_database(server, name)))
        _report(request, tally)


def _report(request: pytest.FixtureRequest, tally: fuzzing.Tally) -> None:
    """How many requests were made, shown even when the tests pass (CI logs keep the figures)."""
    lines = [
        f"fuzz: {tally.total()} requests ({fuzzing.examples()} examples per operation and mode),"
        f" {len(tally.findings)} failing responses ({len(tally.distinct())} distinct),"
        f" {len(tally.unsatisfiable)} operation/mode pairs without cases",
        *(f"  {s}: {tally.total(s)} requests, statuses {tally.statuses(s)}" for s in SOURCES),
    ]
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is None:
        print("\n".join(lines))  # noqa: T201
        return
    with capture.global_and_fixture_disabled():
        print("\n" + "\n".join(lines))  # noqa: T201


def _schema(source: str, target: Target) -> tuple[Any, fuzzing.Checker]:
    kind, version = source.split("-")
    if kind == "ours":
        schema = schemathesis.openapi.from_asgi(
            f"/lead-providers/api-docs/{version}/api_spec.json", target.app
        )
        checker: fuzzing.Checker = fuzzing.our_problems
    else:
        # A copy: schemathesis may annotate the document it is given; contract.spec is shared.
        schema = schemathesis.openapi.from_dict(copy.deepcopy(contract.spec(version)))
        schema.app = target.app

        def checker(case: schemathesis.Case, response: schemathesis.Response) -> list[str]:
            return fuzzing.reference_problems(version, target.documents[version], case, response)

    fuzzing.use_real_ids(schema, version, target.pools[version])
    return schema, checker


@pytest.mark.parametrize("source", SOURCES)
def test_fuzz(source: str, target: Target) -> None:
    schema, checker = _schema(source, target)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, f"{source}: no operations loaded"
    count = fuzzing.examples()
    before = len(target.tally.findings)
    for operation in operations:
        for mode in fuzzing.MODES:
            fuzzing.fuzz_operation(source, operation, mode, count, checker, target.tally)
    found = target.tally.findings[before:]
    distinct = fuzzing.Tally(findings=found).distinct()
    assert not distinct, f"{source}: {len(found)} failing responses, {len(distinct)} distinct:\n" + "\n".join(
        f.line() for f in distinct[:40]
    )
