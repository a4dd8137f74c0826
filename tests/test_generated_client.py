"""A provider's own client: openapi-python-client generates a package from the v3 document the running
service publishes, the package is installed, and it lists participants, submits and voids a
declaration and lists NPQ applications against that service (a real `cpd-api serve` process).

These are the steps the README gives providers, so the document stays usable by a generator: no
operation lost to a schema the generator cannot read, and method names that read well.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests import factories as f
from tests import factories_npq as npq
from tests.servers import Server, server_env, start_server, stop_server

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "cpd_api_client"
# No post hooks: the generator would run `ruff` over the package, which says nothing about the document.
CONFIG = f"project_name_override: cpd-api-client\npackage_name_override: {PACKAGE}\npost_hooks: []\n"
STEP_TIMEOUT = 180.0
SPEC = "/lead-providers/api-docs/v3/api_spec.yml"
# 2022 ecf-standard-september: the started milestone runs from 2022-06-01 to 2022-12-31.
STARTED_AT = datetime(2022, 10, 1, 10, 0, tzinfo=UTC)


async def run(*command: str | Path, cwd: Path) -> str:
    """Run a command to completion within STEP_TIMEOUT; its combined output, or a failed test."""
    process = await asyncio.create_subprocess_exec(
        *map(str, command), cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        raw, _ = await asyncio.wait_for(process.communicate(), STEP_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"{command[0]} took longer than {STEP_TIMEOUT}s") from None
    output = raw.decode(errors="replace")
    assert process.returncode == 0, f"{command[0]} failed:\n{output}"
    return output


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server(database_url: str) -> AsyncIterator[Server]:
    """The service on a free loopback port, on the test database; stopped after this module."""
    started = await start_server(server_env(database_url))
    try:
        yield started
    finally:
        await stop_server(started)


@dataclass
class Generated:
    document: dict[str, Any]
    output: str  # what the generator printed
    root: Path  # the generated project
    package: ModuleType

    def module(self, name: str) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.{name}")

    def model(self, name: str) -> Any:
        return getattr(self.module("models"), name)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def generated(server: Server, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Generated]:
    """Download the YAML, generate the client, install it into a directory of its own, import it."""
    work = tmp_path_factory.mktemp("sdk")
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.get(SPEC)
    assert response.status_code == 200, response.text
    (work / "api_spec.yml").write_bytes(response.content)
    (work / "config.yml").write_text(CONFIG)
    output = await run(
        GENERATOR,
        "generate",
        "--path",
        "api_spec.yml",
        "--config",
        "config.yml",
        "--output-path",
        "client",
        cwd=work,
    )
    # poetry-core (a dev dependency) builds it, so nothing is fetched to install the package.
    await run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--target",
        "site",
        "./client",
        cwd=work,
    )
    sys.path.insert(0, str(work / "site"))
    importlib.invalidate_caches()
    try:
        package = importlib.import_module(PACKAGE)
        assert Path(package.__file__ or "").is_relative_to(work / "site"), package.__file__
        yield Generated(yaml.safe_load(response.content), output, work / "client", package)
    finally:
        sys.path.remove(str(work / "site"))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _operation_ids(document: dict[str, Any]) -> set[str]:
    return {
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in ("get", "put", "post", "delete", "patch")
    }


async def test_the_generator_keeps_every_operation_under_a_readable_name(generated: Generated) -> None:
    """openapi-python-client warns about (and skips) what it cannot read: nothing may be skipped,
    and each operation becomes a function named after its operation id."""
    assert not re.search(r"warning|will not be generated|skipping", generated.output, re.IGNORECASE), (
        generated.output
    )
    api = generated.root / PACKAGE / "api"
    functions = {p.stem for p in api.glob("*/*.py") if p.stem != "__init__"}
    assert functions == _operation_ids(generated.document)
    for name in (
        "list_ecf_participants",
        "create_participant_declaration",
        "void_participant_declaration",
        "list_npq_applications",
        "accept_npq_application",
    ):
        assert name in functions, name
    assert generated.module("api.ecf_participants.list_ecf_participants").asyncio


async def _data(committed: async_sessionmaker[AsyncSession]) -> tuple[f.Provider, f.Participant, str]:
    """An ECF and NPQ provider with an output statement open, an ECT and a pending NPQ application."""
    async with committed() as session:
        provider = await f.provider(session, name=f"SDK Provider {uuid.uuid4().hex[:6]}", npq=True)
        today = date.today()
        await f.statement(
            session,
            provider,
            2022,
            deadline_date=today + timedelta(days=30),
            payment_date=today + timedelta(days=55),
        )
        person = await f.person(session, trn=str(3_000_000 + f.n()))
        ect = await f.participant(session, provider.lead_provider, person_=person)
        application = await npq.application(session, provider)
        await session.commit()
        return provider, ect, str(application.id)


async def test_the_generated_client_lists_declares_voids_and_lists_applications(
    generated: Generated,
    server: Server,
    committed: async_sessionmaker[AsyncSession],
) -> None:
    provider, ect, application_id = await _data(committed)
    api = generated.module
    model = generated.model
    client = generated.package.AuthenticatedClient(
        base_url=server.base_url, token=provider.token, raise_on_unexpected_status=True, timeout=30.0
    )
    async with client:
        participants = await api("api.ecf_participants.list_ecf_participants").asyncio(client=client)
        assert isinstance(participants, model("MultipleECFParticipantsResponse")), participants
        (listed,) = participants.data
        assert str(listed.id) == ect.id
        assert listed.attributes.full_name == ect.person.user.full_name
        (enrolment,) = listed.attributes.ecf_enrolments
        assert enrolment.training_status == model("ECFEnrolmentTrainingStatus").ACTIVE
        assert enrolment.participant_type == model("ECFEnrolmentParticipantType").ECT

        body = model("CreateParticipantDeclarationBody")(
            data=model("CreateParticipantDeclarationBodyData")(
                type_=model("CreateParticipantDeclarationBodyDataType").PARTICIPANT_DECLARATION,
                attributes=model("CreateParticipantDeclarationBodyDataECFStartedDeclaration")(
                    participant_id=uuid.UUID(ect.id),
                    declaration_type=model(
                        "CreateParticipantDeclarationBodyDataECFStartedDeclarationDeclarationType"
                    ).STARTED,
                    declaration_date=STARTED_AT,
                    course_identifier=model(
                        "CreateParticipantDeclarationBodyDataECFStartedDeclarationCourseIdentifier"
                    ).ECF_INDUCTION,
                ),
            )
        )
        create = api("api.participant_declarations.create_participant_declaration")
        declared = await create.asyncio(client=client, body=body)
        assert isinstance(declared, model("ParticipantDeclarationResponse")), declared
        declaration = declared.data
        assert str(declaration.attributes.participant_id) == ect.id
        assert declaration.attributes.declaration_type == "started"
        assert declaration.attributes.state == "eligible"

        void = api("api.participant_declarations.void_participant_declaration")
        voided = await void.asyncio(str(declaration.id), client=client)
        assert isinstance(voided, model("ParticipantDeclarationResponse")), voided
        assert voided.data.id == declaration.id
        assert voided.data.attributes.state == "voided"

        applications = await api("api.npq_applications.list_npq_applications").asyncio(client=client)
        assert isinstance(applications, model("MultipleNPQApplicationsResponse")), applications
        assert [str(a.id) for a in applications.data] == [application_id]
        assert applications.data[0].attributes.status == model("NPQApplicationAttributesStatus").PENDING

        # Bracketed parameters (filter[...], page[...]) are deepObject parameters, which this
        # generator does not write; the README shows passing them through the client's httpx client.
        raw = await client.get_async_httpx_client().get(
            "/api/v3/participant-declarations", params={"filter[participant_id]": ect.id}
        )
        declarations = model("MultipleParticipantDeclarationsResponse").from_dict(raw.json())
        assert [(d.id, d.attributes.state) for d in declarations.data] == [(declaration.id, "voided")]

    unauthorised = generated.package.AuthenticatedClient(base_url=server.base_url, token="not-a-token")
    async with unauthorised:
        refused = await api("api.ecf_participants.list_ecf_participants").asyncio(client=unauthorised)
    assert isinstance(refused, model("UnauthorisedResponse"))
    assert refused.error == "HTTP Token: Access denied"
