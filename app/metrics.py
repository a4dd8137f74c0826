"""Prometheus metrics: request latency, database pool use, declarations created and voided.

With several worker processes, set PROMETHEUS_MULTIPROC_DIR (an empty directory, the same for every
worker, emptied before they start: `cpd-api serve` does that) and /metrics adds up every worker.
"""

from __future__ import annotations

import os
import re
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "unmatched"

REQUEST_DURATION = Histogram(
    "cpd_api_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
DB_POOL_IN_USE = Gauge(
    "cpd_api_db_pool_connections_in_use",
    "Database connections checked out of the pool (summed over live workers).",
    multiprocess_mode="livesum",
)
DECLARATIONS_CREATED = Counter(
    "cpd_api_declarations_created", "Participant declarations created through the API.", ["version"]
)
DECLARATIONS_VOIDED = Counter(
    "cpd_api_declarations_voided", "Participant declarations voided through the API.", ["version"]
)
RATE_LIMITED = Counter("cpd_api_rate_limited", "Requests refused with 429 by the rate limiter.")
RATE_LIMITER_FAILURES = Counter(
    "cpd_api_rate_limiter_failures", "Limiter back-end errors (requests were let through)."
)

# The hook for declaration counters: a 200 from one of these routes means a declaration was
# created (a refused submission is a 4xx) or voided. Keyed by the route *template*, so the routers
# need no metrics code.
_DECLARATION_EVENTS: tuple[tuple[str, re.Pattern[str], Counter], ...] = (
    ("POST", re.compile(r"^/api/(v\d+)/participant-declarations$"), DECLARATIONS_CREATED),
    ("PUT", re.compile(r"^/api/(v\d+)/participant-declarations/\{id\}/void$"), DECLARATIONS_VOIDED),
)


def observe_request(method: str, route: str | None, status: int, seconds: float) -> None:
    template = route or UNMATCHED_ROUTE
    REQUEST_DURATION.labels(template, method, str(status)).observe(seconds)
    if status == 200 and route is not None and method in ("POST", "PUT"):
        for event_method, pattern, counter in _DECLARATION_EVENTS:
            if method == event_method and (match := pattern.match(route)):
                counter.labels(match.group(1)).inc()


def instrument_pool(engine: AsyncEngine) -> None:
    """Keep DB_POOL_IN_USE in step with the engine's pool checkouts and checkins."""

    def checkout(*_: Any) -> None:
        DB_POOL_IN_USE.inc()

    def checkin(*_: Any) -> None:
        DB_POOL_IN_USE.dec()

    event.listen(engine.sync_engine, "checkout", checkout)
    event.listen(engine.sync_engine, "checkin", checkin)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_ENV) or None


def render() -> tuple[bytes, str]:
    """The exposition text: this process's metrics, or every worker's in multiprocess mode."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def worker_exiting() -> None:
    """Drop this worker's live gauges (pool use) so the sum covers live workers only."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
