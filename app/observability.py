"""Structured logs (one JSON object per line) and the readiness check."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.repositories.health import database_ok, migration_revisions

ROOT = Path(__file__).resolve().parent.parent

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the record's `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                document[key] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(document, default=str).decode()


def log_config(level: str, *, json: bool) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the service and uvicorn (given to every worker).

    uvicorn's own access log is off: the request-log middleware writes one richer line per request.
    """
    formatter = (
        {"()": f"{__name__}.JsonFormatter"}
        if json
        else {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "stdout": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stdout"}
        },
        "root": {"handlers": ["stdout"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
        },
    }


# ---- readiness -----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """The head revision(s) of the migrations shipped with this code."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


async def readiness(
    sessionmaker: async_sessionmaker[AsyncSession], timeout_seconds: float
) -> tuple[bool, dict[str, str]]:
    """Whether the database answers and its schema is at this code's migration head."""
    checks = {"database": "unreachable", "migrations": "unknown"}
    try:
        async with asyncio.timeout(timeout_seconds), sessionmaker() as session:
            if await database_ok(session):
                checks["database"] = "ok"
            applied = await migration_revisions(session)
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log only
        logging.getLogger("cpd_api.readiness").warning("readiness check failed: %s", type(exc).__name__)
        return False, checks
    heads = migration_heads()
    if set(applied) == heads:
        checks["migrations"] = "ok"
        return True, checks
    checks["migrations"] = f"at {','.join(sorted(applied)) or 'none'}, expected {','.join(sorted(heads))}"
    return False, checks


def clear_multiprocess_dir() -> None:
    """Empty the Prometheus multiprocess directory before workers start (stale files would be
    added up). Lives here, not in app.metrics: importing that module creates the label-less
    metrics' files, which this would then delete from under the serving process."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))
