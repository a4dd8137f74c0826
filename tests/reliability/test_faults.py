"""Faults (issue 10): a worker killed mid-burst, the database going away (refused connections and a
silent network), and statement_timeout. Real `cpd-api serve` processes; every wait is bounded.

- kill -9 during a burst of declarations, then restart: every request that got a 200 is stored
  once, whole (attempt, state history, statement line); nothing partial; retrying the rest gives
  each participant exactly one declaration.
- PostgreSQL unreachable (a proxy the test controls between server and database): API requests get
  a fast 503 with a JSON:API error body, /readyz 503, and when the database returns requests
  succeed again without restarting the server.
- statement_timeout: a write stuck behind a lock is cancelled by PostgreSQL after the configured
  time; the client gets the 503 (not a hang, not a 500) and nothing of the request is kept.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.api.errors import DATABASE_UNAVAILABLE
from app.domain import declaration_submission as rules
from tests.reliability.fault_tools import TcpProxy, clients, five_hundreds, servers, timed
from tests.reliability.test_races import V3, declaration, ects, rows, withdrawal
from tests.servers import Server, server_env, start_server, stop_server

log = logging.getLogger(__name__)
UNAVAILABLE = {"errors": [{"title": DATABASE_UNAVAILABLE[0], "detail": DATABASE_UNAVAILABLE[1]}]}
DUPLICATE = {"errors": [{"title": "base", "detail": rules.ALREADY_DECLARED}]}
LIST = "/api/v3/participants/ecf"
FIGURES: dict[str, Any] = {}


def assert_logged_sqlstate(server: Server, sqlstate: str) -> None:
    """The server's first error-log warning names the database failure's SQLSTATE."""
    warnings = [
        line
        for line in server.log_lines()
        if line.get("logger") == "cpd_api.errors" and line.get("level") == "warning"
    ]
    assert warnings and sqlstate in warnings[0]["message"], warnings


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.json() == UNAVAILABLE
    assert response.headers["content-type"] == "application/vnd.api+json"


# ---- kill -9 mid-burst -----------------------------------------------------------------------------


async def test_a_worker_killed_mid_burst_loses_nothing_that_was_confirmed(
    database_url: str, committed: async_sessionmaker[AsyncSession]
) -> None:
    burst, kill_after = 40, 8
    lp, people = await ects(committed, burst)
    payloads = {p.id: declaration(p.id, "started", datetime.now(UTC) - timedelta(days=1)) for p in people}
    env = server_env(database_url)
    server = await start_server(env)
    confirmed: dict[str, str] = {}  # participant -> declaration id of a 200
    failed: dict[str, str] = {}  # participant -> what the client saw instead
    try:
        async with clients([server], lp.headers) as (client,):
            killed = asyncio.Event()

            async def send(participant_id: str) -> None:
                try:
                    response = await client.post(V3, json=payloads[participant_id])
                except httpx.TransportError as exc:
                    failed[participant_id] = type(exc).__name__
                    return
                assert response.status_code < 500, response.text
                if response.status_code == 200:
                    confirmed[participant_id] = response.json()["data"]["id"]
                    if len(confirmed) >= kill_after and not killed.is_set():
                        killed.set()
                        os.kill(server.process.pid, signal.SIGKILL)
                else:
                    failed[participant_id] = f"{response.status_code} {response.text}"

            await asyncio.wait_for(asyncio.gather(*(send(p.id) for p in people)), 120)
            assert killed.is_set()
        await asyncio.wait_for(server.process.wait(), 10)
        assert server.process.returncode == -signal.SIGKILL
    finally:
        await stop_server(server)
    assert failed, "the kill came after every request had finished: nothing was in flight"

    # What the database holds: each 200 once and whole; nothing else but whole declarations.
    stored = await rows(
        committed,
        """SELECT d.id, d.user_id, d.state,
                  (SELECT count(*) FROM declaration_states s
                    WHERE s.participant_declaration_id = d.id) AS states,
                  (SELECT count(*) FROM participant_declaration_attempts a
                    WHERE a.participant_declaration_id = d.id) AS attempts,
                  (SELECT count(*) FROM statement_line_items i
                    WHERE i.participant_declaration_id = d.id) AS line_items
             FROM participant_declarations d WHERE d.cpd_lead_provider_id = :lp""",
        lp=lp.cpd.id,
    )
    by_user = {str(r["user_id"]): r for r in stored}
    assert len(by_user) == len(stored), "a participant has two declarations"
    for participant_id, declaration_id in confirmed.items():
        assert str(by_user[participant_id]["id"]) == declaration_id
    for row in stored:
        assert (row["state"], row["states"], row["attempts"], row["line_items"]) == ("eligible", 2, 1, 1), row
    [orphans] = await rows(
        committed,
        """SELECT count(*) AS n FROM participant_declaration_attempts
            WHERE cpd_lead_provider_id = :lp AND participant_declaration_id IS NULL""",
        lp=lp.cpd.id,
    )
    assert orphans["n"] == 0, "an attempt of a killed request survived without its declaration"
    unconfirmed_but_stored = len(stored) - len(confirmed)

    # Restarted, the service takes the retries: a stored one is the duplicate 422, the rest 200.
    async with servers(database_url, 1) as (again,), clients([again], lp.headers) as (client,):
        retries = [await client.post(V3, json=payloads[p]) for p in failed]
    assert five_hundreds(retries) == []
    assert all(r.status_code == 200 or r.json() == DUPLICATE for r in retries), [r.text for r in retries]
    assert sum(r.status_code == 422 for r in retries) == unconfirmed_but_stored
    [total] = await rows(
        committed,
        "SELECT count(*) AS n, count(DISTINCT user_id) AS users FROM participant_declarations "
        "WHERE cpd_lead_provider_id = :lp",
        lp=lp.cpd.id,
    )
    assert (total["n"], total["users"]) == (burst, burst)
    FIGURES["kill"] = {
        "requests": burst,
        "confirmed_before_kill": len(confirmed),
        "cut_off": len(failed),
        "stored_without_answer": unconfirmed_but_stored,
    }
    log.info("kill -9 mid-burst: %s", FIGURES["kill"])


# ---- the database goes away ------------------------------------------------------------------------


CONNECT_TIMEOUT = 2.0
STATEMENT_TIMEOUT_MS = 2000
# The configured bound (connect or statement timeout plus the connect timeout) and a margin for a
# loaded machine.
OUTAGE_BOUND = STATEMENT_TIMEOUT_MS / 1000 + CONNECT_TIMEOUT + 5.0


async def test_database_outage_gives_fast_503s_and_recovers_without_restart(
    database_url: str, committed: async_sessionmaker[AsyncSession]
) -> None:
    lp, (participant, *_) = await ects(committed, 3)
    proxy = TcpProxy.to(database_url)
    await proxy.up()
    env = server_env(
        proxy.url_through(database_url),
        DB_CONNECT_TIMEOUT_SECONDS=str(CONNECT_TIMEOUT),
        DB_STATEMENT_TIMEOUT_MS=str(STATEMENT_TIMEOUT_MS),
    )
    server = await start_server(env)
    pid = server.process.pid
    timings: dict[str, float] = {}
    try:
        async with clients([server], lp.headers) as (client,):
            assert (await client.get(LIST)).status_code == 200

            for outage in ("refused", "black hole"):
                await (proxy.refuse() if outage == "refused" else proxy.black_hole())
                for label, call in (
                    ("list", lambda: client.get(LIST)),
                    (
                        "declaration",
                        lambda: client.post(
                            V3,
                            json=declaration(
                                participant.id, "started", datetime.now(UTC) - timedelta(days=1)
                            ),
                        ),
                    ),
                    ("list again", lambda: client.get(LIST)),
                ):
                    response, seconds = await timed(call)
                    assert_unavailable(response)
                    assert seconds < OUTAGE_BOUND, (outage, label, seconds)
                    timings[f"{outage}: {label}"] = round(seconds, 2)
                ready, seconds = await timed(lambda: client.get("/readyz"))
                assert ready.status_code == 503 and ready.json()["status"] == "unavailable", ready.text
                assert seconds < OUTAGE_BOUND
                assert (await client.get("/healthz")).status_code == 200

                await proxy.up()
                # Back without a restart: the pool replaces its dead connections.
                recovered = await client.get(LIST)
                assert recovered.status_code == 200, recovered.text
                assert (await client.get("/readyz")).status_code == 200
            assert server.process.returncode is None and server.process.pid == pid

            # Nothing of the refused declarations was stored; now it goes through.
            assert (
                await rows(
                    committed,
                    "SELECT id FROM participant_declarations WHERE user_id = :u",
                    u=participant.person.user.id,
                )
                == []
            )
            assert (
                await rows(
                    committed,
                    "SELECT id FROM participant_declaration_attempts WHERE user_id = :u",
                    u=participant.person.user.id,
                )
                == []
            )
            created = await client.post(
                V3, json=declaration(participant.id, "started", datetime.now(UTC) - timedelta(days=1))
            )
            assert created.status_code == 200, created.text
    finally:
        await stop_server(server)
        await proxy.close()
    # Every failure was logged, none as an unhandled 500.
    statuses = [line.get("status") for line in server.log_lines() if line.get("logger") == "cpd_api.request"]
    assert 500 not in statuses, statuses
    FIGURES["outage_seconds"] = timings
    log.info("outage answers (s): %s", timings)


# ---- statement_timeout -----------------------------------------------------------------------------


async def test_a_statement_stuck_behind_a_lock_is_cancelled_by_statement_timeout(
    database_url: str, committed: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    lp, (participant, *_) = await ects(committed, 1)
    payload = declaration(participant.id, "started", datetime.now(UTC) - timedelta(days=1))
    async with (
        servers(database_url, 1, DB_STATEMENT_TIMEOUT_MS="500") as (server,),
        clients([server], lp.headers) as (client,),
    ):
        async with engine.connect() as blocker:
            transaction = await blocker.begin()
            try:
                # Another session writes to the table for a long time: inserts must wait for it.
                await blocker.execute(text("LOCK TABLE participant_declarations IN EXCLUSIVE MODE"))
                response, seconds = await timed(lambda: client.post(V3, json=payload))
                # Reads still work meanwhile.
                assert (await client.get(LIST)).status_code == 200
            finally:
                await transaction.rollback()
        assert_unavailable(response)
        assert seconds < 10, seconds
        assert (
            await rows(
                committed,
                "SELECT id FROM participant_declaration_attempts WHERE user_id = :u",
                u=participant.person.user.id,
            )
            == []
        )
        # The lock gone, the same request is stored.
        again = await client.post(V3, json=payload)
        assert again.status_code == 200, again.text
        assert_logged_sqlstate(server, "57014")
    FIGURES["statement_timeout_seconds"] = round(seconds, 2)
    log.info("statement timeout answered in %.2f s", seconds)


# ---- deadlock ----------------------------------------------------------------------------------------


async def wait_for_advisory_waiter(engine: AsyncEngine, seconds: float = 15.0) -> None:
    """Until another session of this database waits for an advisory lock."""
    deadline = asyncio.get_running_loop().time() + seconds
    async with engine.connect() as conn:
        while True:
            waiting = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
                    )
                )
            ).scalar_one()
            if waiting:
                return
            assert asyncio.get_running_loop().time() < deadline, "no session waits for the advisory lock"
            await asyncio.sleep(0.02)


async def test_a_deadlock_victim_gets_a_503_and_its_retry_succeeds(
    database_url: str, committed: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """A withdrawal locks the training record, then (by trigger) the record's latest-records lock;
    another session holding that lock then waits for the record: PostgreSQL aborts the request's
    transaction (it waited first). The provider gets the retryable 503, nothing of it is kept, and
    the same request succeeds afterwards."""
    lp, (participant, *_) = await ects(committed, 1)
    key = f"latest-induction-records:{participant.profile.id}"
    path = f"/api/v3/participants/ecf/{participant.id}/withdraw"
    async with (
        servers(database_url, 1) as (server,),
        clients([server], lp.headers) as (client,),
    ):
        async with engine.connect() as blocker:
            transaction = await blocker.begin()
            try:
                await blocker.execute(
                    text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
                )
                request = asyncio.create_task(client.put(path, json=withdrawal()))
                await wait_for_advisory_waiter(engine)  # the request holds the record, waits for the key
                await blocker.execute(
                    text("SELECT 1 FROM participant_profiles WHERE id = :id FOR UPDATE"),
                    {"id": participant.profile.id},
                )
                response = await request
            finally:
                await transaction.rollback()
        assert_unavailable(response)
        assert response.headers["retry-after"].isdigit()
        assert (
            await rows(
                committed,
                "SELECT id FROM participant_profile_states WHERE participant_profile_id = :p",
                p=participant.profile.id,
            )
            == []
        )
        again = await client.put(path, json=withdrawal())
        assert again.status_code == 200, again.text
        assert_logged_sqlstate(server, "40P01")
