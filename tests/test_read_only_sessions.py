"""Read-only endpoints run on autocommit connections (app/api/deps.py `read_only`).

Which routes are read-only is checked from the app's route table; what that means is checked on
a real engine with committed data: a read-only request's statements run outside any transaction
(no BEGIN/COMMIT round trips), a streamed export and a write still run inside one, and a pooled
connection goes back to transactions after serving a read-only request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.api.deps import finish, is_read_only
from app.db import create_engine, read_only_sessionmaker
from app.main import create_app
from app.models.cohorts import Cohort
from app.settings import Settings
from tests import factories as f
from tests.api.test_declarations_submit import ecf, open_statement, someone


def _provider_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    contexts = iter_route_contexts(app.router.routes)
    return [
        (c.path or "", c.original_route)
        for c in contexts
        if isinstance(c.original_route, APIRoute) and (c.path or "").startswith("/api/v")
    ]


def test_every_provider_json_read_is_read_only_and_nothing_else_is(app: FastAPI) -> None:
    routes = _provider_routes(app)
    reads = [(p, r) for p, r in routes if r.methods == {"GET"} and not p.endswith(".csv")]
    assert len(reads) >= 40
    assert [p for p, r in reads if not is_read_only(r.endpoint)] == []
    # Streamed exports need a transaction (a server-side cursor); writes need their one commit.
    assert [(p, r.methods) for p, r in routes if is_read_only(r.endpoint) and (p, r) not in reads] == []


def test_a_sessionmaker_bound_to_a_connection_is_kept_as_it_is(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Tests bind sessions to a connection inside their transaction: reads stay in it."""
    assert read_only_sessionmaker(sessionmaker) is sessionmaker


@pytest_asyncio.fixture(loop_scope="session")
async def one_connection(
    database_url: str, settings: Settings, committed: async_sessionmaker[AsyncSession]
) -> AsyncIterator[tuple[AsyncEngine, list[tuple[str, bool]]]]:
    """An app engine with a single pooled connection, and each statement it runs with whether the
    connection was inside a transaction once it ran (`committed` empties the tables afterwards)."""
    engine = create_engine(settings.model_copy(update={"db_pool_size": 1}), database_url)
    seen: list[tuple[str, bool]] = []

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        driver = conn.connection.driver_connection
        seen.append((" ".join(statement.split())[:60], driver.is_in_transaction()))

    try:
        yield engine, seen
    finally:
        await engine.dispose()


async def test_reads_run_without_a_transaction_and_exports_and_writes_within_one(
    one_connection: tuple[AsyncEngine, list[tuple[str, bool]]],
    committed: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    engine, seen = one_connection
    async with committed() as session:
        lp = await f.provider(session)
        await open_statement(session, lp)
        participant = await f.participant(session, lp.lead_provider, person_=await someone(session))
        await session.commit()
    app = create_app(settings, sessionmaker=async_sessionmaker(engine, expire_on_commit=False))

    async def statements_of(method: str, path: str, **kwargs: Any) -> list[tuple[str, bool]]:
        seen.clear()
        response = await client.request(method, path, headers=lp.headers, **kwargs)
        assert response.status_code == 200, (path, response.text)
        assert seen
        return list(seen)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        # The v3 participant list also stores the documents it rendered (a single-statement write).
        for path in (
            "/api/v3/participants/ecf",
            f"/api/v3/participants/ecf/{participant.id}",
            "/api/v1/participants/ecf",
            "/api/v3/statements",
        ):
            assert [s for s in await statements_of("GET", path) if s[1]] == [], path
        # The same pooled connection is transactional again for an export and for a write.
        exported = await statements_of("GET", "/api/v1/participants/ecf.csv")
        assert all(in_transaction for _, in_transaction in exported), exported
        written = await statements_of("POST", "/api/v3/participant-declarations", json=ecf(participant))
        assert all(in_transaction for _, in_transaction in written), written

    async with committed() as session:
        stored = (await session.execute(text("SELECT count(*) FROM ecf_participant_documents"))).scalar_one()
        declared = (await session.execute(text("SELECT count(*) FROM participant_declarations"))).scalar_one()
    assert stored >= 1
    assert declared == 1


async def test_an_autocommit_session_is_committed_only_when_something_is_pending(
    engine: AsyncEngine, committed: async_sessionmaker[AsyncSession]
) -> None:
    """`finish` skips the commit of a read-only session with nothing pending (its statements have
    committed as they ran), and commits one holding an ORM object, which would be lost otherwise."""
    reader = read_only_sessionmaker(async_sessionmaker(engine, expire_on_commit=False))
    commits: list[AsyncSession] = []

    @event.listens_for(AsyncSession.sync_session_class, "after_commit")
    def count(session: Any) -> None:
        commits.append(session)

    try:
        async with reader() as session:
            await session.execute(
                text("INSERT INTO cohorts (id, start_year) VALUES (gen_random_uuid(), 2031)")
            )
            await finish(session, autocommit=True)
        assert commits == []
        async with reader() as session:
            session.add(Cohort(start_year=2032))
            await finish(session, autocommit=True)
        assert len(commits) == 1
    finally:
        event.remove(AsyncSession.sync_session_class, "after_commit", count)
    async with committed() as session:
        years = (await session.execute(text("SELECT start_year FROM cohorts ORDER BY 1"))).scalars().all()
    assert years == [2031, 2032]
