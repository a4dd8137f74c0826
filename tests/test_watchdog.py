"""The test watchdog (tests/watchdog.py), run on a probe suite in a separate pytest process.

The probe blocks one test on a lock held by another connection to this run's database, then has a
test that passes, then one that hangs in Python. The watchdog must report the blocked statement and
its blocker and cancel it (that test fails, the next one runs), then interrupt the run at the hang.
"""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent

PROBE = textwrap.dedent(
    """
    import asyncio
    import os

    import asyncpg

    from tests.watchdog import watch_database


    async def test_blocked_behind_a_lock():
        watch_database(os.environ["PROBE_DATABASE_URL"])
        dsn = os.environ["PROBE_DSN"]
        holder, waiter = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
        try:
            await holder.execute("BEGIN; LOCK TABLE cohorts IN ACCESS EXCLUSIVE MODE")
            await waiter.fetch("SELECT count(*) AS watchdog_probe FROM cohorts")
        finally:
            await waiter.close()
            await holder.close()


    def test_the_run_goes_on():
        pass


    async def test_stuck_in_python():
        await asyncio.sleep(3600)
    """
)


# A hang that swallows the interrupt: the watchdog must end the process itself.
DEAF_PROBE = textwrap.dedent(
    """
    import time


    def test_deaf_to_interrupts():
        while True:
            try:
                time.sleep(3600)
            except KeyboardInterrupt:
                pass
    """
)


def _run_probe(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, database_url: str, *, sigint_ignored: bool
) -> pytest.RunResult:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("TEST_HANG_SECONDS", "2")
    monkeypatch.setenv("PROBE_DATABASE_URL", database_url)
    monkeypatch.setenv(
        "PROBE_DSN", make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    previous = signal.getsignal(signal.SIGINT)
    if sigint_ignored:
        # As a shell starts a background job (`cmd &`): the probe process inherits SIGINT ignored.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return pytester.runpytest_subprocess(
            "-p", "tests.watchdog", "-p", "no:cacheprovider", "-o", "asyncio_mode=auto", timeout=120
        )
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["foreground", "sigint-ignored"])
def test_a_hang_is_reported_cancelled_and_then_interrupted(
    pytester: pytest.Pytester, database_url: str, monkeypatch: pytest.MonkeyPatch, sigint_ignored: bool
) -> None:
    pytester.makepyfile(test_probe=PROBE)
    result = _run_probe(pytester, monkeypatch, database_url, sigint_ignored=sigint_ignored)
    report = "\n".join(result.errlines)
    # The blocked statement, who blocks it, and the cancellation are reported...
    assert "test_probe.py::test_blocked_behind_a_lock still running after" in report
    blocked = [line for line in result.errlines if "watchdog_probe" in line]
    assert blocked and "'wait_event_type': 'Lock'" in blocked[0] and "'blocked_by': [" in blocked[0]
    assert "'relation': 'cohorts'" in report and "cancelled the running statements of pids [" in report
    # ...the blocked test fails with the cancellation, the next test runs, and the one stuck in
    # Python interrupts the run instead of running on.
    assert "test_stuck_in_python still running after" in report and "interrupting" in report
    assert "QueryCanceledError" in result.stdout.str()
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_a_hang_deaf_to_the_interrupt_ends_the_process(
    pytester: pytest.Pytester, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_probe=DEAF_PROBE)
    result = _run_probe(pytester, monkeypatch, database_url, sigint_ignored=False)
    report = "\n".join(result.errlines)
    assert "interrupting" in report and "test_deaf_to_interrupts ignored the interrupt: exiting" in report
    assert result.ret == pytest.ExitCode.INTERRUPTED
