"""The real service as a subprocess (`cpd-api serve` on a free loopback port) for tests that need
separate processes: several workers, a generated client. Every wait is bounded, and a server is
stopped by its own process id."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import TEST_HMAC_KEY

CLI = Path(sys.executable).parent / "cpd-api"
# Bounds, so a broken server fails the test instead of hanging it.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
# Settings a test's server must not inherit from the environment of the run.
_NOT_INHERITED = ("REDIS_URL", "WORKERS", "WEB_CONCURRENCY", "PROMETHEUS_MULTIPROC_DIR")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a test server on the test database (the test HMAC key, so tokens made by
    the factories work), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env |= {
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "test",
        "TOKEN_HMAC_KEY": TEST_HMAC_KEY,
        "LOG_JSON": "true",
        "WEB_CONCURRENCY": "1",
    }
    return env | extra


@dataclass
class Server:
    process: asyncio.subprocess.Process
    base_url: str
    output: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.output:
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
        return lines


async def _collect(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode(errors="replace").rstrip("\n"))


async def start_server(env: Mapping[str, str], *, port: int | None = None) -> Server:
    """`cpd-api serve` with exactly `env`, once /readyz answers 200 (stopped again if it never does)."""
    port = port or free_port()
    process = await asyncio.create_subprocess_exec(
        str(CLI),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    server = Server(process, f"http://127.0.0.1:{port}")
    assert process.stdout is not None
    server.reader = asyncio.create_task(_collect(process.stdout, server.output))
    try:
        await _wait_until_ready(server)
    except BaseException:
        await stop_server(server)
        raise
    return server


async def _wait_until_ready(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        while True:
            assert server.process.returncode is None, "\n".join(server.output)
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start:\n" + "\n".join(server.output)
            await asyncio.sleep(0.2)


async def stop_server(server: Server) -> None:
    """SIGINT (uvicorn's graceful stop), then SIGKILL if it outlives STOP_TIMEOUT."""
    if server.process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            server.process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(server.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            server.process.kill()
            await server.process.wait()
    if server.reader is not None:
        await asyncio.wait_for(server.reader, 5)


async def run_cli(database_url: str, *args: str, stdin: str = "") -> tuple[int, str, str]:
    """`cpd-api *args` as a separate process on the test database (test environment, the test HMAC
    key), `stdin` on its standard input: (exit code, standard output, standard error)."""
    env = os.environ | {"DATABASE_URL": database_url, "ENVIRONMENT": "test", "TOKEN_HMAC_KEY": TEST_HMAC_KEY}
    process = await asyncio.create_subprocess_exec(
        str(CLI),
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), START_TIMEOUT)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
