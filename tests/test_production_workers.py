"""`cpd-api serve --workers 2` as a real server: two worker processes share the rate limit (PostgreSQL
or Redis counters), the metrics (Prometheus multiprocess mode) and the database; logs are JSON lines
that never contain the token."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.security import hash_token
from tests import factories as f
from tests.conftest import TEST_HMAC_KEY
from tests.servers import START_TIMEOUT, Server, free_port, server_env, stop_server
from tests.servers import start_server as start_server_process

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LIMIT = 5
PERIOD = 3600
LIST = "/api/v3/participants/ecf"
ROUTE_COUNT = "cpd_api_http_request_duration_seconds_count"


@pytest_asyncio.fixture(loop_scope="session")
async def start_server(database_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    """Starts `cpd-api serve` (two workers unless told otherwise) on a free loopback port, with a
    small rate limit and its own metrics directory; stops each (by its pid) afterwards."""
    started: list[Server] = []

    async def start(**extra_env: str) -> Server:
        port = free_port()
        multiproc = tmp_path / f"metrics-{port}"
        multiproc.mkdir()
        env = (
            server_env(
                database_url,
                RATE_LIMIT_ENABLED="true",
                RATE_LIMIT_REQUESTS=str(LIMIT),
                RATE_LIMIT_PERIOD_SECONDS=str(PERIOD),
                PROMETHEUS_MULTIPROC_DIR=str(multiproc),
                WEB_CONCURRENCY="2",
            )
            | extra_env
        )
        server = await start_server_process(env, port=port)
        started.append(server)
        return server

    yield start

    for server in started:
        await stop_server(server)


def worker_pids(server: Server) -> set[int]:
    return {line["pid"] for line in server.log_lines() if line.get("logger") == "cpd_api.request"}


def metric_total(text: str, name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " "):
            label_text, value = "", line.split(" ")[1]
        elif line.startswith(name + "{"):
            label_text, _, value = line[len(name) + 1 :].rpartition("} ")
        else:
            continue
        if all(f'{k}="{v}"' in label_text for k, v in labels.items()):
            total += float(value)
    return total


async def wait_for_a_safe_window() -> None:
    """Fixed windows: make sure the burst does not straddle a window boundary."""
    left = PERIOD - time.time() % PERIOD
    if left < 30:
        await asyncio.sleep(left + 0.5)


@pytest_asyncio.fixture(loop_scope="session")
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own on the shared Redis; its keys are deleted afterwards."""
    prefix = f"cpd-api-test:{uuid.uuid4().hex}"
    yield prefix
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


def metric_file_pids(tmp_path: Path) -> set[int]:
    """Pids of the processes that wrote Prometheus multiprocess files (`counter_<pid>.db`...)."""
    directories = list(tmp_path.glob("metrics-*"))
    assert len(directories) == 1
    stems = (p.stem.rsplit("_", 1)[-1] for p in directories[0].glob("*_*.db"))
    return {int(stem) for stem in stems if stem.isdigit()}


def children(pid: int) -> set[int]:
    """Process ids whose parent is `pid` (Linux /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


@pytest.mark.parametrize("backend", ["postgresql", "redis"])
async def test_two_processes_share_one_rate_limit(
    committed: async_sessionmaker[AsyncSession], start_server: Any, redis_prefix: str, backend: str
) -> None:
    """Two server processes on one database (and Redis): requests alternate between them, so each
    process both accepts and refuses; exactly LIMIT are accepted in all. Which worker of a
    multi-worker server accepts a connection is up to the kernel, so sharing is proven across two
    servers, where the test chooses the process."""
    async with committed() as session:
        lp = await f.provider(session, name=f"Workers Provider {uuid.uuid4().hex[:6]}")
        await f.participant(session, lp.lead_provider)
        await session.commit()
    extra = {"REDIS_URL": REDIS_URL, "RATE_LIMIT_KEY_PREFIX": redis_prefix} if backend == "redis" else {}
    servers: list[Server] = [await start_server(WEB_CONCURRENCY="1", **extra) for _ in range(2)]
    await wait_for_a_safe_window()

    codes: list[tuple[int, int]] = []
    clients = [httpx.AsyncClient(base_url=s.base_url, headers=lp.headers) for s in servers]
    try:
        for i in range(2 * LIMIT):
            response = await clients[i % 2].get(LIST)
            codes.append((i % 2, response.status_code))
        refused = response
        metrics_texts = [(await c.get("/metrics")).text for c in clients]
    finally:
        for c in clients:
            await c.aclose()

    statuses = [code for _, code in codes]
    assert statuses == [200] * LIMIT + [429] * LIMIT, (codes, "\n".join(servers[0].output))
    assert {server for server, code in codes if code == 200} == {0, 1}
    assert {server for server, code in codes if code == 429} == {0, 1}
    assert refused.text == "Retry later\n" and 0 < int(refused.headers["retry-after"]) <= PERIOD

    # Each server's metrics count what it answered.
    for index, text in enumerate(metrics_texts):
        answered = [code for server, code in codes if server == index]
        assert metric_total(text, ROUTE_COUNT, route=LIST, status="200") == answered.count(200)
        assert metric_total(text, "cpd_api_rate_limited_total") == answered.count(429)

    # One JSON line per request: provider on the accepted ones, never the token.
    await asyncio.sleep(0.2)
    for index, server in enumerate(servers):
        requests = [line for line in server.log_lines() if line.get("logger") == "cpd_api.request"]
        api = [line for line in requests if line["status"] in (200, 429) and line["route"] in (LIST, None)]
        assert len(api) == sum(1 for s, _ in codes if s == index)
        assert {line["provider"] for line in api if line["status"] == 200} == {lp.cpd.name}
        assert all(line["request_id"] and line["duration_ms"] >= 0 for line in api)
        everything = "\n".join(server.output)
        assert lp.token not in everything
        assert hash_token(lp.token, TEST_HMAC_KEY) not in everything

    if backend == "redis":
        redis = Redis.from_url(REDIS_URL)
        try:
            keys = [key async for key in redis.scan_iter(match=f"{redis_prefix}:*")]
            assert len(keys) == 1
            assert int(await redis.get(keys[0]) or 0) == len(codes)
        finally:
            await redis.aclose()


async def test_serve_starts_the_configured_workers_with_shared_metrics(
    committed: async_sessionmaker[AsyncSession], start_server: Any, tmp_path: Path
) -> None:
    """`WEB_CONCURRENCY=2`: two worker processes under one server, both writing to the one
    Prometheus multiprocess directory that /metrics aggregates."""
    server: Server = await start_server()
    deadline = time.monotonic() + START_TIMEOUT
    workers: set[int] = set()
    while time.monotonic() < deadline:
        workers = children(server.process.pid)
        if len(workers) >= 2:
            break
        await asyncio.sleep(0.2)
    # uvicorn's supervisor may also start a resource-tracker helper; its workers serve HTTP.
    assert len(workers) >= 2, workers
    # Each worker creates its metric files at start-up, named after its pid.
    pids: set[int] = set()
    while time.monotonic() < deadline:
        pids = metric_file_pids(tmp_path)
        if len(pids & workers) >= 2:
            break
        await asyncio.sleep(0.2)
    assert len(pids & workers) >= 2, (pids, workers)
