"""Tools for the race and fault tests: real server processes on the test database, a TCP proxy
between a server and PostgreSQL that the test can cut or turn into a black hole, and a few
database probes. Every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from tests.servers import Server, free_port, server_env, start_server, stop_server

# A request a test waits for never takes longer than this (a hung server fails, not hangs).
REQUEST_TIMEOUT = 30.0


@asynccontextmanager
async def servers(database_url: str, count: int, **extra_env: str) -> AsyncIterator[list[Server]]:
    """`count` separate single-worker `cpd-api serve` processes on the test database: two servers
    guarantee two processes (which worker of one server takes a connection is the kernel's choice)."""
    started: list[Server] = []
    try:
        for _ in range(count):
            started.append(await start_server(server_env(database_url, **extra_env)))
        yield started
    finally:
        for server in started:
            await stop_server(server)


@asynccontextmanager
async def clients(
    servers_: list[Server], headers: dict[str, str] | None = None
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One HTTP client per server (no connection limit below what a burst needs)."""
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    made = [
        httpx.AsyncClient(base_url=s.base_url, headers=headers, timeout=REQUEST_TIMEOUT, limits=limits)
        for s in servers_
    ]
    try:
        yield made
    finally:
        for c in made:
            await c.aclose()


def five_hundreds(responses: list[httpx.Response]) -> list[tuple[int, str]]:
    return [(r.status_code, r.text) for r in responses if r.status_code >= 500]


# ---- a TCP proxy the test controls ---------------------------------------------------------------


class Mode(StrEnum):
    UP = "up"  # forwards both ways
    REFUSING = "refusing"  # nothing listens: new connections are refused, open ones were closed
    BLACK_HOLE = "black-hole"  # accepts and reads, never answers; open connections go silent


@dataclass
class TcpProxy:
    """Between a server and PostgreSQL. `refuse()` is a database that went away (closed port),
    `black_hole()` a network that drops packets (connections open, no answer ever), `up()` brings
    the database back on the same port."""

    target_host: str
    target_port: int
    port: int = field(default_factory=free_port)
    mode: Mode = Mode.REFUSING
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    connections: int = 0

    # The embedded server (pgserver) listens on a Unix socket only: its URL names the socket's
    # directory in the `host` query parameter; the proxy then forwards to that socket.
    target_socket: str | None = None

    @classmethod
    def to(cls, database_url: str) -> TcpProxy:
        url = make_url(database_url)
        socket_dir = url.query.get("host")
        if url.host is None and isinstance(socket_dir, str) and socket_dir.startswith("/"):
            port = url.port or 5432
            return cls("", port, target_socket=f"{socket_dir}/.s.PGSQL.{port}")
        return cls(url.host or "127.0.0.1", url.port or 5432)

    def url_through(self, database_url: str) -> str:
        """The same database, reached through this proxy (over TCP)."""
        url = make_url(database_url)
        url = url.set(
            host="127.0.0.1", port=self.port, query={k: v for k, v in url.query.items() if k != "host"}
        )
        return url.render_as_string(hide_password=False)

    async def up(self) -> None:
        if self.mode is not Mode.UP:
            # Connections that lived through an outage are reset, as after a real partition.
            self._close_all()
        self.mode = Mode.UP
        await self._listen()

    async def black_hole(self) -> None:
        self.mode = Mode.BLACK_HOLE
        await self._listen()

    async def refuse(self) -> None:
        self.mode = Mode.REFUSING
        if self._server is not None:
            self._server.close()
            await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None
        self._close_all()

    async def close(self) -> None:
        await self.refuse()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True), 5)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._accept, "127.0.0.1", self.port, reuse_address=True
            )

    def _close_all(self) -> None:
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        if self.mode is not Mode.UP:
            await self._swallow(reader)
            return
        try:
            opening = (
                asyncio.open_unix_connection(self.target_socket)
                if self.target_socket is not None
                else asyncio.open_connection(self.target_host, self.target_port)
            )
            up_reader, up_writer = await asyncio.wait_for(opening, 5)
        except (OSError, TimeoutError):
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        self._spawn(self._pipe(reader, up_writer))
        self._spawn(self._pipe(up_reader, writer))

    async def _swallow(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(Exception):
            while await reader.read(65536):
                pass

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.mode is Mode.UP:
                    writer.write(data)
                    await writer.drain()
                # In a black hole the bytes vanish: the peer waits for an answer that never comes.
        except (OSError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.transport.abort()


# ---- timing --------------------------------------------------------------------------------------


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
    started = time.monotonic()
    result = await call()
    return result, time.monotonic() - started
