"""Worker processes for `cpd-api serve`: on Linux, each worker listens on a socket of its own.

uvicorn's supervisor binds one socket and hands it to every worker, and a worker that wakes for
it accepts every connection waiting. When clients connect at about the same time the workers'
shares come out uneven: 32 benchmark clients connecting at once landed 24/8, 27/5 and 23/9 on
two workers, and the busier worker's queue set the line's latency (a one-page list answered
1,066-1,127 requests per second at p95 46.6-54.2 ms; spread 17/15, 1,270-1,294 at p95 38-39 ms).

Here each worker binds its own socket to the same address with SO_REUSEPORT, and the kernel
spreads new connections over the listening sockets by a hash of each connection's addresses,
whatever their timing. uvicorn's supervisor is kept as it is (health checks, restarts, signals):
only its worker processes are of a subclass whose target binds the worker's socket before serving.
Elsewhere (one worker, no SO_REUSEPORT load balancing) `cpd-api serve` runs uvicorn as it is.

The trade-off: connections already waiting in a worker's own queue when that worker dies are
reset (with a shared socket another worker would take them); the supervisor replaces the worker,
which binds a socket of its own again. tests/test_production_workers.py checks the sockets and the
spread on a real server, so an uvicorn release that stops building workers from
`uvicorn.supervisors.multiprocess.Process` fails there.
"""

from __future__ import annotations

import logging
import socket
import sys

from uvicorn import Config
from uvicorn.supervisors import Multiprocess, multiprocess

log = logging.getLogger("uvicorn.error")

# Linux balances connections over SO_REUSEPORT listeners; other systems' SO_REUSEPORT does not.
BALANCED_PORTS = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) with SO_REUSEPORT, as each worker's own listener."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class OwnSocketProcess(multiprocess.Process):
    """A uvicorn worker process that listens on a socket of its own (see the module's docstring)."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover (child)
        super().target([reuse_port_socket(self.config.host, self.config.port)])


def balanced(config: Config) -> bool:
    """Whether `serve_balanced` applies: several workers on a TCP address, on Linux."""
    return config.workers > 1 and BALANCED_PORTS and config.uds is None and config.fd is None


def serve_balanced(config: Config) -> None:
    """Serve `config` (see `balanced`) with uvicorn's supervisor and a listening socket per worker."""
    # Fails here, before any worker starts, when the address is taken or cannot be bound.
    reuse_port_socket(config.host, config.port).close()
    # The supervisor builds (and rebuilds) its workers from this name.
    setattr(multiprocess, "Process", OwnSocketProcess)  # noqa: B010
    log.info(
        "Uvicorn running on http://%s:%d, a listening socket per worker (SO_REUSEPORT)",
        config.host,
        config.port,
    )
    Multiprocess(config, sockets=[]).run()
