"""A watchdog for the test run, so a hang fails one test with a report instead of stalling the run.

A test (setup, call and teardown) still running after TEST_HANG_SECONDS (300 by default, far beyond
the slowest test) gets the database's view of that moment written to the terminal: every
connection to the test database, what it runs, what it waits for and which connections block it.
Then the statements running on the test database are cancelled, so a test stuck on a lock or an
endless query fails with the error and the run goes on. A test still running after twice the limit
(stuck outside the database) interrupts the run (SIGINT, even in a run started with it ignored);
after three times, the process exits. pytest's faulthandler_timeout adds Python's stacks.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

HANG_SECONDS = float(os.environ.get("TEST_HANG_SECONDS", "300"))
_POLL_SECONDS = 2.0

_ACTIVITY = """
SELECT pid, backend_type, state, wait_event_type, wait_event, pg_blocking_pids(pid) AS blocked_by,
       round(extract(epoch FROM now() - xact_start)::numeric, 1) AS xact_seconds,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 400) AS query
  FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid()
 ORDER BY pid
"""
_UNGRANTED_LOCKS = """
SELECT l.pid, l.locktype, l.mode, l.relation::regclass::text AS relation, l.transactionid::text AS xid
  FROM pg_locks l WHERE NOT l.granted ORDER BY l.pid
"""
_CANCEL = """
SELECT pid, pg_cancel_backend(pid) FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid()
   AND backend_type = 'client backend' AND state = 'active'
"""


class Watchdog:
    def __init__(self, terminal_fd: int) -> None:
        self.terminal_fd = terminal_fd
        self.database_url: str | None = None
        self._lock = threading.Lock()
        self._current: tuple[str, float] | None = None
        self._stage = 0

    def begin(self, nodeid: str) -> None:
        with self._lock:
            self._current = (nodeid, time.monotonic())
            self._stage = 0

    def end(self) -> None:
        with self._lock:
            self._current = None

    def write(self, text: str) -> None:
        os.write(self.terminal_fd, text.encode(errors="replace"))

    def run(self) -> None:
        while True:
            time.sleep(_POLL_SECONDS)
            with self._lock:
                if self._current is None:
                    continue
                nodeid, started = self._current
                elapsed = time.monotonic() - started
                stage = self._stage
                due = elapsed > (stage + 1) * HANG_SECONDS and stage < 3
                if due:
                    self._stage += 1
            if not due:
                continue
            if stage == 0:
                self.write(f"\n\n=== watchdog: {nodeid} still running after {elapsed:.0f} s ===\n")
                self._report_and_cancel()
            elif stage == 1:
                self.write(
                    f"\n=== watchdog: {nodeid} still running after {elapsed:.0f} s: interrupting ===\n"
                )
                # A real signal: it also wakes a main thread blocked in the event loop's select().
                os.kill(os.getpid(), signal.SIGINT)
            else:
                # The interrupt did not end the run (swallowed by the code under test): end the
                # process, so a hang can never hold a CI run until its time limit.
                self.write(f"\n=== watchdog: {nodeid} ignored the interrupt: exiting ===\n")
                os._exit(int(pytest.ExitCode.INTERRUPTED))

    def _report_and_cancel(self) -> None:
        if self.database_url is None:
            self.write("(no test database yet)\n")
            return
        dsn = make_url(self.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            asyncio.run(self._inspect(dsn))
        except Exception as exc:  # a report that fails must not take the run down with it
            self.write(f"(could not inspect the database: {exc!r})\n")

    async def _inspect(self, dsn: str) -> None:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            self.write("connections to the test database:\n")
            for row in await conn.fetch(_ACTIVITY):
                self.write(f"  {dict(row)}\n")
            self.write("locks waited for (whole server):\n")
            for row in await conn.fetch(_UNGRANTED_LOCKS):
                self.write(f"  {dict(row)}\n")
            cancelled = [row["pid"] for row in await conn.fetch(_CANCEL)]
            self.write(f"cancelled the running statements of pids {cancelled}\n\n")
        finally:
            await conn.close()


_watchdog: Watchdog | None = None


def watch_database(url: str) -> None:
    """Tell the watchdog which database the run uses (called once it exists)."""
    if _watchdog is not None:
        _watchdog.database_url = url


def pytest_configure(config: pytest.Config) -> None:
    global _watchdog
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        # A shell starts a background job (`cmd &`) with SIGINT ignored, and Python keeps it so:
        # the watchdog's interrupt would be lost and the run would hang on.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # Global capture is suspended while plugins are configured: fd 2 is still the real stderr.
    _watchdog = Watchdog(os.dup(2))
    threading.Thread(target=_watchdog.run, name="test-watchdog", daemon=True).start()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    if _watchdog is not None:
        _watchdog.begin(item.nodeid)
    try:
        yield
    finally:
        if _watchdog is not None:
            _watchdog.end()
