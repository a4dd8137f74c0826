"""The embedded PostgreSQL used when DATABASE_URL is not set.

`pgserver` ships a real PostgreSQL server in a wheel. Its data lives in a project-local
folder (ignored by git) and is reused on the next start.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import warnings
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

_servers: dict[Path, Any] = {}


def start(pgdata: str | Path) -> str:
    """Start (or attach to) the embedded server; return its admin URL (database `postgres`)."""
    path = Path(pgdata).resolve()
    path.mkdir(parents=True, exist_ok=True)
    if path not in _servers:
        os.environ.setdefault("XDG_RUNTIME_DIR", str(path.parent))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

            # cleanup_mode=None keeps the server running for the next command (serve after migrate).
            _servers[path] = pgserver.get_server(path, cleanup_mode=None)  # type: ignore[attr-defined]
    server = _servers[path]
    uri: str = server.get_uri()
    return uri


def ensure_database(pgdata: str | Path, database: str) -> str:
    """Start the embedded server, create `database` if it is missing, and return its URL."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", database):
        raise ValueError(f"invalid embedded database name: {database!r}")
    admin_uri = start(pgdata)
    server = _servers[Path(pgdata).resolve()]
    # The name was checked above to be a plain identifier.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608
    if "(1 row)" not in exists:
        log.info("creating embedded database %s", database)
        server.psql(f'CREATE DATABASE "{database}";')
    return make_url(admin_uri).set(database=database).render_as_string(hide_password=False)


def resolve_database_url(database_url: str | None, pgdata: str | Path, database: str) -> str:
    """DATABASE_URL when given, else the embedded server's database."""
    if database_url:
        return database_url
    return ensure_database(pgdata, database)


def stop(pgdata: str | Path) -> bool:
    """Stop the embedded server (its data stays for the next start). False if it was not running."""
    path = Path(pgdata).resolve()
    if not (path / "postmaster.pid").exists():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver import pg_ctl  # type: ignore[attr-defined]

    # pgserver runs the server as its own system user when started by root.
    user = "pgserver" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=path, user=user)
    except subprocess.CalledProcessError:
        return False
    _servers.pop(path, None)
    return True
