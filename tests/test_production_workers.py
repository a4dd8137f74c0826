"""`cpd-api serve --workers 2` as a real server: two worker processes share the rate limit (PostgreSQL
or Redis counters), the metrics (Prometheus multiprocess mode) and the database; logs are JSON lines
that never contain the token."""

from __future__ import annotations

import asyncio
import os
import socket
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
from uvicorn import Config

from app.security import hash_token
from app.serving import BALANCED_PORTS, balanced, reuse_port_socket
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


def tcp_sockets(port: int, state: str) -> set[int]:
    """Inodes of this machine's IPv4 TCP sockets on local `port` in `state` (Linux /proc/net/tcp:
    0A listening, 01 established)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
            inodes.add(int(fields[9]))
    return inodes


def owners(pids: set[int], inodes: set[int]) -> dict[int, set[int]]:
    """Which of these socket inodes each of `pids` holds open (the pids holding any)."""
    held: dict[int, set[int]] = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and int(target[8:-1]) in inodes:
                held.setdefault(pid, set()).add(int(target[8:-1]))
    return held


@pytest.mark.skipif(not BALANCED_PORTS, reason="the kernel balances SO_REUSEPORT listeners on Linux only")
async def test_each_worker_listens_on_its_own_socket_and_takes_its_share_of_connections(
    committed: async_sessionmaker[AsyncSession], start_server: Any
) -> None:
    """Two workers, two listening sockets on the one port, one in each worker; 32 connections
    opened at once are spread over both (all on one: about 2 in 4 billion by the kernel's hash)."""
    async with committed() as session:
        lp = await f.provider(session)
        await session.commit()
    server: Server = await start_server(RATE_LIMIT_ENABLED="false")
    port = int(server.base_url.rsplit(":", 1)[1])
    deadline = time.monotonic() + START_TIMEOUT
    listening: dict[int, set[int]] = {}
    sockets: set[int] = set()
    while time.monotonic() < deadline:
        sockets = tcp_sockets(port, "0A")
        listening = owners(children(server.process.pid), sockets)
        if len(listening) >= 2:
            break
        await asyncio.sleep(0.2)
    # Two listening sockets, each held by one worker alone (a shared socket is one inode held by
    # every worker and the supervisor).
    assert len(sockets) == 2, sockets
    assert sorted(len(held) for held in listening.values()) == [1, 1], listening
    assert set.union(*listening.values()) == sockets
    assert owners({server.process.pid}, sockets) == {}

    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=30) as client:
        answers = await asyncio.gather(*(client.get(LIST, headers=lp.headers) for _ in range(32)))
        assert [r.status_code for r in answers] == [200] * 32
        served = owners(set(listening), tcp_sockets(port, "01"))
    assert len(served) == 2 and sum(len(held) for held in served.values()) == 32, served


def test_balanced_serving_applies_to_several_workers_on_a_tcp_address() -> None:
    def config(**values: Any) -> Config:
        return Config("app.asgi:app", **({"host": "127.0.0.1", "port": 8000} | values))

    assert balanced(config(workers=2)) is BALANCED_PORTS
    assert not balanced(config(workers=1))
    assert not balanced(config(workers=2, uds="cpd-api.sock"))


def test_worker_sockets_share_a_port_that_a_plain_listener_would_refuse() -> None:
    first = reuse_port_socket("127.0.0.1", 0)
    port = first.getsockname()[1]
    try:
        second = reuse_port_socket("127.0.0.1", port)
        second.close()
    finally:
        first.close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            reuse_port_socket("127.0.0.1", taken.getsockname()[1]).close()
