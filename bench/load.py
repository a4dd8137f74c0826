"""Load driver: asyncio + aiohttp against a running `cpd-api serve` on 127.0.0.1.

Scenarios (each at every concurrency level, bounded by --max-requests and --max-seconds; a read
line starts with one untimed request per client, so its figures are the steady state, not the
opening of connections):
  1. v1/v2/v3 participants/ecf?page[per_page]=2000, first and last page;
  2. per_page=100 pages across the whole list of every v3 list endpoint (a full provider sync,
     repeated up to the bounds);
  3. filter[updated_since] incremental syncs;
  4. declaration POST bursts for distinct participants, then void each;
  5. the v1 ECF CSV export of the largest provider (time, server RSS growth).
For scenarios 1 and 2, "the floor": the same page built by one SQL statement (json_agg) straight on
the database, timed at concurrency 1 in the same run; the API/floor ratio compares p50s at
concurrency 1 on the same pages (scenario 2: --floor-samples requests each, spread over the list).
Scenario 2 also runs, at every concurrency level, each list's floor statements alone on as many
database connections as clients ("floor ... (database only)"), and `GET /healthz` (no database,
no token: the HTTP stack alone): what the database, and the transport, give at that concurrency
on this machine with no application code at all.
Server RSS is the sum of VmRSS over --server-pid and its descendants.

CPU per request, for each measurement line: the server's (its process tree), the database's (the
postmaster's tree, when the database runs on this machine) and this driver's own, so a line shows
where its time went. The driver shares the machine with what it measures; aiohttp rather than
httpx because httpx spent ~2.4 ms of CPU per request at 32 connections (a core's worth at ~400
requests per second), against ~0.15 ms for aiohttp.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.domain.npq_applications import UK_CATCHMENTS  # noqa: E402
from app.domain.npq_courses import SUPPORT_OFFER_COURSES  # noqa: E402
from app.domain.schools import CIP_ONLY_TYPE_CODES, ELIGIBLE_TYPE_CODES, OPEN_STATUS_CODES  # noqa: E402
from app.repositories.ecf_participants import latest_records_sql  # noqa: E402
from app.seed.reference import PROVIDERS  # noqa: E402

DEFAULT_DB_URL = "postgresql://postgres@127.0.0.1:5432/cpd_api_bench"

# ---------------------------------------------------------------------------------------------
# Server memory and CPU, from /proc

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, ...); None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def load_average() -> str:
    """The machine's 1, 5 and 15-minute load averages (other work shares the cores)."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants, from one pass over /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    tree: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def server_rss_mb(pid: int | None) -> float | None:
    """VmRSS summed over the process tree (MB); None without a pid."""
    if pid is None:
        return None
    total_kb = 0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/status") as f:
                total_kb += sum(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except OSError:
            continue
    return total_kb / 1024


def tree_cpu_seconds(pid: int | None) -> float | None:
    """CPU seconds of a process tree: each live process's own time plus what it has reaped of
    children that have exited (a closed database connection's backend, a replaced worker)."""
    if pid is None:
        return None
    total = 0
    for member in process_tree(pid):
        fields = _stat(member)
        if fields is not None:
            # utime, stime, cutime, cstime: fields 14-17 of stat, 11-14 after the command name.
            total += sum(int(x) for x in fields[11:15])
    return total / _TICKS


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def parent_pid(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[1]) if fields is not None else None


def process_name(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


@dataclass(frozen=True)
class Processes:
    """Whose CPU a measurement line reports: the server's tree and the database's postmaster."""

    server: int | None
    database: int | None

    def cpu(self) -> tuple[float | None, float | None, float]:
        return tree_cpu_seconds(self.server), tree_cpu_seconds(self.database), own_cpu_seconds()


# ---------------------------------------------------------------------------------------------
# Measurement


@dataclass
class Result:
    scenario: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    rss_mb: float | None = None
    first_error: str | None = None
    # CPU seconds the line cost the server, the database and this driver (None: not measurable).
    cpu: tuple[float | None, float | None, float] = (None, None, 0.0)

    def pct(self, p: float) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)] * 1000

    def line(self) -> str:
        n = len(self.latencies)
        rps = n / self.seconds if self.seconds else 0.0
        rss = f"{self.rss_mb:8.0f}" if self.rss_mb is not None else "       -"
        per_request = [
            f"{1000 * seconds / n:6.2f}" if seconds is not None and n else "     -" for seconds in self.cpu
        ]
        return (
            f"| {self.scenario:<58} | {self.concurrency:>3} | {n:>6} | {self.pct(50):8.1f} "
            f"| {self.pct(95):8.1f} | {self.pct(99):8.1f} | {rps:8.1f} | {self.errors:>4} | {rss} "
            f"| {' | '.join(per_request)} |"
        )


HEADER = (
    "srv, db, drv: CPU ms per request of the server's processes, the database's and this driver's.\n\n"
    f"| {'scenario':<58} | {'c':>3} | {'n':>6} | {'p50 ms':>8} | {'p95 ms':>8} | {'p99 ms':>8} "
    f"| {'req/s':>8} | {'errs':>4} | {'RSS MB':>8} | {'srv':>6} | {'db':>6} | {'drv':>6} |\n"
    f"|{'-' * 60}|{'-' * 5}|{'-' * 8}|{'-' * 10}|{'-' * 10}|{'-' * 10}|{'-' * 10}|{'-' * 6}|{'-' * 10}"
    f"|{'-' * 8}|{'-' * 8}|{'-' * 8}|"
)

# A job returns (ok, error text) and is timed by the runner; None from the source ends the run.
Job = Callable[[], Awaitable[tuple[bool, str | None]]]


async def run_jobs(
    name: str,
    concurrency: int,
    next_job: Callable[[], Job | None],
    *,
    max_requests: int,
    max_seconds: float,
    processes: Processes | None,
    warmup: int = 0,
    min_seconds: float = 0.0,
) -> Result:
    """Run jobs from `next_job` on `concurrency` workers until a bound; `warmup` jobs first, all at
    once and untimed (their errors still count), so the timed requests find the client's
    connections open and the server's connections and caches in use. With `min_seconds`, the line
    goes on past `max_requests` until that long has passed (still within `max_seconds`)."""
    result = Result(name, concurrency)
    warm = [j for j in (next_job() for _ in range(warmup)) if j is not None]
    for outcome in await asyncio.gather(*(j() for j in warm), return_exceptions=True):
        ok, error = (False, repr(outcome)) if isinstance(outcome, BaseException) else outcome
        if not ok:
            result.errors += 1
            result.first_error = result.first_error or error
    deadline = time.perf_counter() + max_seconds
    long_enough = time.perf_counter() + min(min_seconds, max_seconds)
    issued = 0

    async def worker() -> None:
        nonlocal issued
        while (issued < max_requests or time.perf_counter() < long_enough) and time.perf_counter() < deadline:
            job = next_job()
            if job is None:
                return
            issued += 1
            started = time.perf_counter()
            try:
                ok, error = await job()
            except (aiohttp.ClientError, TimeoutError) as exc:
                ok, error = False, repr(exc)
            result.latencies.append(time.perf_counter() - started)
            if not ok:
                result.errors += 1
                result.first_error = result.first_error or error

    cpu_before = processes.cpu() if processes else None
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    if processes and cpu_before:
        after = processes.cpu()
        result.cpu = (
            _spent(cpu_before[0], after[0]),
            _spent(cpu_before[1], after[1]),
            after[2] - cpu_before[2],
        )
        result.rss_mb = server_rss_mb(processes.server)
    return result


def _spent(before: float | None, after: float | None) -> float | None:
    return after - before if before is not None and after is not None else None


@dataclass(frozen=True)
class Reply:
    status_code: int
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class Client:
    """The few calls the scenarios make, each read to the end (gzip decoded, as a client would)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def request(self, method: str, url: str, token: str, body: Any = None) -> Reply:
        headers = {"Authorization": f"Bearer {token}"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = orjson.dumps(body)
        async with self.session.request(method, url, headers=headers, data=data) as response:
            return Reply(response.status, await response.read())

    async def get(self, url: str, token: str) -> Reply:
        return await self.request("GET", url, token)


def get_job(client: Client, url: str, token: str) -> Job:
    async def job() -> tuple[bool, str | None]:
        response = await client.get(url, token)
        if response.status_code != 200:
            return False, f"GET {url} -> {response.status_code} {response.text[:200]}"
        return True, None

    return job


def cycle(jobs: list[Job]) -> Callable[[], Job | None]:
    index = 0

    def source() -> Job | None:
        nonlocal index
        job = jobs[index % len(jobs)]
        index += 1
        return job

    return source


# ---------------------------------------------------------------------------------------------
# The floor: one SQL statement per page, json_agg over the same rows.

# The planner settings the API's connections use (app/db.py), so a floor is planned as the API's
# statements are (no JIT or parallel workers, in-memory page costs).
FLOOR_SERVER_SETTINGS = {
    "jit": "off",
    "max_parallel_workers_per_gather": "0",
    "work_mem": "32MB",
    "random_page_cost": "1.1",
}

# The API's visibility core (the provider's latest induction record per training record, kept by
# triggers in ecf_latest_induction_records), keyed by the cpd lead provider id ($1).
LEAD_PROVIDER_OF_CPD = "(SELECT id FROM lead_providers WHERE cpd_lead_provider_id = $1)"
LATEST_FOR_CPD = latest_records_sql().replace(":lead_provider_id", LEAD_PROVIDER_OF_CPD)


def _sql_list(values: tuple[int | str, ...]) -> str:
    """Constants of the app (codes, course identifiers) as an SQL list: (1, 3) or ('a', 'b')."""
    return "(" + ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in values) + ")"


def _status_change(attribute: str, status: str, state: str) -> str:
    """A withdrawal/deferral attribute: the provider's ($1) latest such state row, when the
    training record's status is that state."""
    return f"""'{attribute}', CASE WHEN {status} = '{state}' THEN (
        SELECT json_build_object('reason', st.reason, 'date', st.created_at)
          FROM participant_profile_states st
         WHERE st.participant_profile_id = pp.id AND st.cpd_lead_provider_id = $1 AND st.state = '{state}'
         ORDER BY st.created_at DESC, st.id DESC LIMIT 1) END"""


FLOORS: dict[str, str] = {
    # Users with a latest record under the provider (default cohorts), in creation order, each with
    # every attribute the v3 page shows: enrolments through the latest records with the same joins
    # as the API (school, cohort, schedule, partnership, preferred email, mentor, TRN, validation
    # data, eligibility), the statuses computed from them, the provider's latest withdrawal and
    # deferral, and the participant id changes.
    "participants/ecf": f"""
        WITH page AS (
            SELECT l.user_id AS id, l.user_created_at AS created_at FROM ({LATEST_FOR_CPD}) l
             WHERE l.cohort_start_year > 2020
             GROUP BY l.user_created_at, l.user_id ORDER BY l.user_created_at, l.user_id OFFSET $2 LIMIT $3
        )
        SELECT json_agg(json_build_object(
            'id', u.id, 'type', 'participant',
            'attributes', json_build_object(
                'full_name', u.full_name, 'teacher_reference_number', tp.trn, 'updated_at', u.updated_at,
                'ecf_enrolments', (
                    SELECT json_agg(json_build_object(
                        'training_record_id', pp.id, 'email', coalesce(pref.email, eu.email),
                        'mentor_id', CASE WHEN pp.profile_type = 'ect' THEN mentor_pi.user_id END,
                        'school_urn', sch.urn,
                        'participant_type', CASE WHEN pp.profile_type = 'ect' THEN 'ect' ELSE 'mentor' END,
                        'cohort', scc.start_year::text, 'training_status', ir.training_status,
                        'participant_status', CASE
                            WHEN ir.end_date IS NOT NULL THEN
                                CASE WHEN ir.end_date > now() THEN 'leaving' ELSE 'left' END
                            WHEN ir.start_date > now() THEN 'joining'
                            WHEN ir.induction_status IN ('active', 'completed') THEN 'active'
                            WHEN ir.induction_status IN ('withdrawn', 'changed') THEN 'withdrawn' END,
                        'teacher_reference_number_validated', CASE
                            WHEN coalesce(etp.trn, vd.trn) IS NOT NULL
                            THEN coalesce(el.reason, '') NOT IN ('', 'different_trn') END,
                        'eligible_for_funding', CASE el.status
                            WHEN 'eligible' THEN true WHEN 'ineligible' THEN false END,
                        'pupil_premium_uplift', pp.pupil_premium_uplift,
                        'sparsity_uplift', pp.sparsity_uplift,
                        'schedule_identifier', s.schedule_identifier,
                        'delivery_partner_id', p.delivery_partner_id,
                        {_status_change("withdrawal", "ir.training_status", "withdrawn")},
                        {_status_change("deferral", "ir.training_status", "deferred")},
                        'created_at', pp.created_at,
                        'induction_end_date', pp.induction_completion_date,
                        'mentor_funding_end_date', pp.mentor_completion_date) ORDER BY pp.created_at, pp.id)
                    FROM ecf_latest_induction_records l
                    JOIN induction_records ir ON ir.id = l.induction_record_id
                    JOIN schedules s ON s.id = ir.schedule_id
                    JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
                    JOIN school_cohorts sc ON sc.id = ip.school_cohort_id
                    JOIN schools sch ON sch.id = sc.school_id
                    JOIN cohorts scc ON scc.id = sc.cohort_id
                    LEFT JOIN partnerships p ON p.id = ip.partnership_id
                    LEFT JOIN participant_identities pref ON pref.id = ir.preferred_identity_id
                    LEFT JOIN participant_profiles mp ON mp.id = ir.mentor_profile_id
                    LEFT JOIN participant_identities mentor_pi ON mentor_pi.id = mp.participant_identity_id
                    JOIN participant_profiles pp ON pp.id = ir.participant_profile_id
                    JOIN participant_identities pi ON pi.id = pp.participant_identity_id
                    JOIN users eu ON eu.id = pi.user_id
                    LEFT JOIN teacher_profiles etp ON etp.id = pp.teacher_profile_id
                    LEFT JOIN ecf_participant_validation_data vd ON vd.participant_profile_id = pp.id
                    LEFT JOIN ecf_participant_eligibilities el ON el.participant_profile_id = pp.id
                    WHERE l.user_id = u.id AND l.lead_provider_id = {LEAD_PROVIDER_OF_CPD} AND l.rank = 1),
                'participant_id_changes', (
                    SELECT coalesce(json_agg(json_build_object('from_participant_id', ch.from_participant_id,
                        'to_participant_id', ch.to_participant_id, 'changed_at', ch.created_at)
                        ORDER BY ch.created_at DESC, ch.id DESC), '[]')
                    FROM participant_id_changes ch WHERE ch.user_id = u.id))
            ) ORDER BY page.created_at, page.id)::text
        FROM page JOIN users u ON u.id = page.id LEFT JOIN teacher_profiles tp ON tp.user_id = u.id
    """,
    # The provider's own declarations and the live ECF ones it inherits (participants now training
    # with it, kept in list order since migration 0028), each part cut at offset + limit in page
    # order as the API does (the floor walks to the offset: no month skipping); each with the
    # attributes of app/api/v3/serializers.py: statement and clawback statement, dasherised state,
    # ECF-only delivery partner and evidence, and the ineligibility reason, uplift (the NPQ
    # application's targeted delivery funding) and NPQ outcome of app/domain/declarations.py.
    "participant-declarations": f"""
        WITH page AS (
            SELECT id, created_at FROM (
                (SELECT d.id, d.created_at FROM participant_declarations d
                  WHERE d.cpd_lead_provider_id = $1 ORDER BY d.created_at, d.id LIMIT $2::int + $3::int)
                UNION ALL
                (SELECT x.participant_declaration_id, x.created_at FROM ecf_inherited_declarations x
                  WHERE x.lead_provider_id = {LEAD_PROVIDER_OF_CPD}
                  ORDER BY x.created_at, x.participant_declaration_id LIMIT $2::int + $3::int)
            ) both_parts ORDER BY created_at, id OFFSET $2 LIMIT $3
        )
        SELECT json_agg(json_build_object('id', d.id, 'type', 'participant-declaration', 'attributes',
            json_build_object('participant_id', d.user_id, 'declaration_type', d.declaration_type,
                'course_identifier', d.course_identifier, 'declaration_date', d.declaration_date,
                'mentor_id', d.mentor_user_id, 'state', replace(d.state, '_', '-'),
                'updated_at', d.updated_at, 'created_at', d.created_at,
                'delivery_partner_id', CASE WHEN d.programme = 'ecf' THEN d.delivery_partner_id END,
                'statement_id', (SELECT li.statement_id FROM statement_line_items li
                                  WHERE li.participant_declaration_id = d.id
                                    AND li.state IN ('eligible', 'payable', 'paid') LIMIT 1),
                'clawback_statement_id', (SELECT li.statement_id FROM statement_line_items li
                                           WHERE li.participant_declaration_id = d.id
                                             AND li.state IN ('awaiting_clawback', 'clawed_back') LIMIT 1),
                'ineligible_for_funding_reason', CASE
                    WHEN d.state = 'ineligible' AND d.state_reason = 'duplicate'
                    THEN 'duplicate_declaration' END,
                'uplift_paid', d.declaration_type = 'started'
                    AND d.state IN ('paid', 'awaiting_clawback', 'clawed_back')
                    AND CASE WHEN d.programme = 'ecf'
                        THEN d.course_identifier = 'ecf-induction'
                             AND (d.sparsity_uplift OR d.pupil_premium_uplift)
                        ELSE d.course_identifier NOT IN {_sql_list(SUPPORT_OFFER_COURSES)}
                             AND coalesce((SELECT a.targeted_delivery_funding_eligibility
                                             FROM npq_applications a
                                            WHERE a.id = d.participant_profile_id), FALSE) END,
                'evidence_held', CASE WHEN d.programme = 'ecf' THEN d.evidence_held END,
                'has_passed', CASE WHEN d.programme = 'npq' THEN (
                    SELECT CASE o.state WHEN 'passed' THEN TRUE WHEN 'failed' THEN FALSE END
                      FROM participant_outcomes o WHERE o.participant_declaration_id = d.id
                     ORDER BY o.created_at DESC, o.id DESC LIMIT 1) END,
                'lead_provider_name', c.name))
            ORDER BY page.created_at, page.id)::text
        FROM page JOIN participant_declarations d ON d.id = page.id
        JOIN cpd_lead_providers c ON c.id = d.cpd_lead_provider_id
    """,
    # The provider's output-fee statements in the default cohorts (after 2020), earliest payment
    # first (app/repositories/statements.py), with the cohort and the month (first word of the
    # name), year (first run of digits) and paid of app/domain/statements.py.
    "statements": """
        WITH page AS (
            SELECT s.id, s.payment_date, s.created_at, c.start_year FROM statements s
              JOIN cohorts c ON c.id = s.cohort_id
             WHERE s.cpd_lead_provider_id = $1 AND s.output_fee AND c.start_year > 2020
             ORDER BY s.payment_date, s.created_at, s.id OFFSET $2 LIMIT $3
        )
        SELECT json_agg(json_build_object('id', s.id, 'type', 'statement', 'attributes', json_build_object(
            'month', coalesce(substring(s.name FROM '[^[:space:]]+'), ''),
            'year', substring(s.name FROM '[[:digit:]]+'),
            'type', s.programme, 'cohort', page.start_year::text, 'cut_off_date', s.deadline_date,
            'payment_date', s.payment_date, 'paid', s.state = 'paid', 'created_at', s.created_at,
            'updated_at', s.updated_at)) ORDER BY page.payment_date, page.created_at, page.id)::text
          FROM page JOIN statements s ON s.id = page.id
    """,
    # The provider's applications in the default cohorts (after 2020), in creation order
    # (app/repositories/npq_applications.py), with the v1 attributes plus the accepted training
    # record's schedule (app/api/v3/npq_application_serializers.py): previous funding (another
    # accepted, funded application of the identity for the course, the two support offers counting
    # as one), funding eligibility and reason, UK catchment (app/domain/npq_applications.py) and the
    # latest update of the application, user, identity and training record.
    "npq-applications": f"""
        WITH page AS (
            SELECT a.id, a.created_at FROM npq_applications a
             WHERE a.npq_lead_provider_id = (
                       SELECT id FROM npq_lead_providers WHERE cpd_lead_provider_id = $1)
               AND a.cohort_id IN (SELECT id FROM cohorts WHERE start_year > 2020)
             ORDER BY a.created_at, a.id OFFSET $2 LIMIT $3
        )
        SELECT json_agg(json_build_object('id', a.id, 'type', 'npq_application', 'attributes',
          json_build_object(
            'course_identifier', co.identifier, 'email', pi.email, 'email_validated', TRUE,
            'employer_name', a.employer_name, 'employment_role', a.employment_role, 'full_name', u.full_name,
            'funding_choice', a.funding_choice, 'headteacher_status', a.headteacher_status,
            'ineligible_for_funding_reason', CASE
                WHEN f.previously_funded THEN 'previously-funded'
                WHEN NOT a.eligible_for_funding THEN 'establishment-ineligible' END,
            'participant_id', pi.user_id, 'private_childcare_provider_urn', a.private_childcare_provider_urn,
            'teacher_reference_number', a.teacher_reference_number,
            'teacher_reference_number_validated', a.teacher_reference_number_verified,
            'school_urn', a.school_urn, 'school_ukprn', a.school_ukprn,
            'status', a.lead_provider_approval_status, 'works_in_school', a.works_in_school,
            'created_at', a.created_at,
            'updated_at', greatest(a.updated_at, u.updated_at, pi.updated_at, pp.updated_at),
            'cohort', c.start_year::text,
            'eligible_for_funding', a.eligible_for_funding AND NOT f.previously_funded,
            'targeted_delivery_funding_eligibility', a.targeted_delivery_funding_eligibility,
            'teacher_catchment',
                coalesce(a.teacher_catchment IN {_sql_list(tuple(sorted(UK_CATCHMENTS)))}, FALSE),
            'teacher_catchment_iso_country_code', a.teacher_catchment_iso_country_code,
            'teacher_catchment_country', a.teacher_catchment_country,
            'itt_provider', a.itt_provider, 'lead_mentor', a.lead_mentor,
            'schedule_identifier', s.schedule_identifier))
            ORDER BY page.created_at, page.id)::text
          FROM page
          JOIN npq_applications a ON a.id = page.id
          JOIN participant_identities pi ON pi.id = a.participant_identity_id
          JOIN users u ON u.id = pi.user_id
          JOIN npq_courses co ON co.id = a.npq_course_id
          LEFT JOIN cohorts c ON c.id = a.cohort_id
          LEFT JOIN participant_profiles pp ON pp.id = a.id AND pp.profile_type = 'npq'
          LEFT JOIN schedules s ON s.id = pp.schedule_id
          CROSS JOIN LATERAL (SELECT EXISTS (
              SELECT 1 FROM npq_applications o JOIN npq_courses oc ON oc.id = o.npq_course_id
               WHERE o.participant_identity_id = a.participant_identity_id AND o.id <> a.id
                 AND o.lead_provider_approval_status = 'accepted' AND o.eligible_for_funding
                 AND (o.npq_course_id = a.npq_course_id
                      OR (oc.identifier IN {_sql_list(SUPPORT_OFFER_COURSES)}
                          AND co.identifier IN {_sql_list(SUPPORT_OFFER_COURSES)}))
          ) AS previously_funded) f
    """,
    # Distinct users behind the provider's NPQ training records (kept by triggers), in order of
    # their first one (v3's default), each with every enrolment attribute, the provider's latest
    # withdrawal/deferral and the participant id changes.
    "participants/npq": f"""
        WITH page AS (
            SELECT m.user_id AS id, m.first_enrolment_at AS first_created_at
              FROM npq_participant_users m
              JOIN npq_lead_providers n ON n.id = m.npq_lead_provider_id AND n.cpd_lead_provider_id = $1
             ORDER BY m.first_enrolment_at, m.user_id OFFSET $2 LIMIT $3
        )
        SELECT json_agg(json_build_object(
            'id', u.id, 'type', 'npq-participant', 'attributes', json_build_object(
            'full_name', u.full_name, 'teacher_reference_number', tp.trn, 'updated_at', u.updated_at,
            'npq_enrolments', (
                SELECT json_agg(json_build_object(
                    'email', coalesce(pi.email, u.email), 'course_identifier', c.identifier,
                    'schedule_identifier', s.schedule_identifier, 'cohort', sc.start_year::text,
                    'npq_application_id', pp.id, 'eligible_for_funding', a.eligible_for_funding,
                    'training_status', pp.training_status, 'school_urn', pp.school_urn,
                    'targeted_delivery_funding_eligibility', a.targeted_delivery_funding_eligibility,
                    {_status_change("withdrawal", "pp.training_status", "withdrawn")},
                    {_status_change("deferral", "pp.training_status", "deferred")},
                    'created_at', pp.created_at) ORDER BY pp.created_at, pp.id)
                  FROM npq_applications a
                  JOIN npq_lead_providers n ON n.id = a.npq_lead_provider_id AND n.cpd_lead_provider_id = $1
                  JOIN participant_profiles pp ON pp.id = a.id AND pp.profile_type = 'npq'
                  JOIN participant_identities pi ON pi.id = pp.participant_identity_id
                  JOIN npq_courses c ON c.id = a.npq_course_id
                  JOIN schedules s ON s.id = pp.schedule_id
                  JOIN cohorts sc ON sc.id = s.cohort_id
                 WHERE pi.user_id = u.id),
            'participant_id_changes', (
                SELECT coalesce(json_agg(json_build_object('from_participant_id', ch.from_participant_id,
                    'to_participant_id', ch.to_participant_id, 'changed_at', ch.created_at)
                    ORDER BY ch.created_at DESC, ch.id DESC), '[]')
                FROM participant_id_changes ch WHERE ch.user_id = u.id)))
            ORDER BY page.first_created_at, page.id)::text
        FROM page JOIN users u ON u.id = page.id LEFT JOIN teacher_profiles tp ON tp.user_id = u.id
    """,
    # The provider's partnerships in the default cohorts (after 2020), `relationship` rows left out,
    # in creation order (app/repositories/partnerships.py), with the school, delivery partner and
    # school's first induction tutor, and the status, tutor email (else the school's primary, else
    # secondary contact) and latest update of app/domain/partnerships.py; challenged_at in
    # milliseconds as app/api/v3/partnership_serializers.py writes it.
    "partnerships/ecf": f"""
        WITH page AS (
            SELECT p.id, p.created_at FROM partnerships p JOIN cohorts c ON c.id = p.cohort_id
             WHERE p.lead_provider_id = {LEAD_PROVIDER_OF_CPD} AND NOT p.relationship AND c.start_year > 2020
             ORDER BY p.created_at, p.id OFFSET $2 LIMIT $3
        )
        SELECT json_agg(json_build_object('id', p.id, 'type', 'partnership', 'attributes', json_build_object(
            'cohort', c.start_year::text, 'urn', s.urn, 'school_id', s.id,
            'delivery_partner_id', p.delivery_partner_id, 'delivery_partner_name', dp.name,
            'status', CASE WHEN p.challenge_reason <> '' THEN 'challenged' ELSE 'active' END,
            'challenged_reason', p.challenge_reason,
            'challenged_at', to_char(p.challenged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            'induction_tutor_name', tutor.full_name,
            'induction_tutor_email', CASE
                WHEN tutor.email ~ '[^[:space:]]' THEN tutor.email
                WHEN s.primary_contact_email ~ '[^[:space:]]' THEN s.primary_contact_email
                ELSE s.secondary_contact_email END,
            'created_at', p.created_at,
            'updated_at', greatest(p.updated_at, s.updated_at, dp.updated_at, tutor.updated_at)))
            ORDER BY page.created_at, page.id)::text
          FROM page
          JOIN partnerships p ON p.id = page.id
          JOIN cohorts c ON c.id = p.cohort_id
          JOIN schools s ON s.id = p.school_id
          LEFT JOIN delivery_partners dp ON dp.id = p.delivery_partner_id
          LEFT JOIN LATERAL (
              SELECT u.full_name, u.email, u.updated_at
                FROM induction_coordinator_profile_schools icps
                JOIN induction_coordinator_profiles icp ON icp.id = icps.induction_coordinator_profile_id
                JOIN users u ON u.id = icp.user_id
               WHERE icps.school_id = s.id
               ORDER BY icps.created_at, icps.id LIMIT 1
          ) tutor ON TRUE
    """,
    # The outcomes of the provider's declarations, oldest first (app/repositories/npq_outcomes.py),
    # each with its declaration's course and the user of its training record's identity; the
    # completion date as midnight UTC with an offset (app/api/v1/npq_outcome_serializers.py).
    "participants/npq/outcomes": """
        WITH page AS (
            SELECT o.id, o.created_at FROM participant_outcomes o
             WHERE o.cpd_lead_provider_id = $1 ORDER BY o.created_at, o.id OFFSET $2 LIMIT $3
        )
        SELECT json_agg(json_build_object('id', o.id, 'type', 'participant-outcome', 'attributes',
            json_build_object('state', o.state,
                'completion_date', to_char(o.completion_date, 'YYYY-MM-DD"T00:00:00+00:00"'),
                'course_identifier', d.course_identifier, 'participant_id', pi.user_id,
                'created_at', o.created_at, 'updated_at', o.updated_at))
            ORDER BY page.created_at, page.id)::text
          FROM page
          JOIN participant_outcomes o ON o.id = page.id
          JOIN participant_declarations d ON d.id = o.participant_declaration_id
          JOIN participant_profiles pp ON pp.id = d.participant_profile_id
          JOIN participant_identities pi ON pi.id = pp.participant_identity_id
    """,
    # The provider's unfunded mentors (kept per provider in ecf_unfunded_mentors), one per mentor
    # training record, by user creation (app/repositories/unfunded_mentors.py), with the email (the
    # record's identity, else the user's) and TRN (the teacher profile's unless blank, else the
    # school-entered one) of app/domain/unfunded_mentors.py.
    "unfunded-mentors/ecf": f"""
        WITH page AS (
            SELECT mp.id AS profile_id, u.id AS user_id, u.created_at FROM ecf_unfunded_mentors m
              JOIN participant_profiles mp ON mp.id = m.mentor_profile_id
              JOIN participant_identities pi ON pi.id = mp.participant_identity_id
              JOIN users u ON u.id = pi.user_id
             WHERE m.lead_provider_id = {LEAD_PROVIDER_OF_CPD}
             ORDER BY u.created_at, u.id, mp.id OFFSET $2 LIMIT $3
        )
        SELECT json_agg(json_build_object('id', u.id, 'type', 'unfunded-mentor', 'attributes',
            json_build_object('full_name', u.full_name, 'email', coalesce(nullif(pi.email, ''), u.email),
                'teacher_reference_number', CASE WHEN tp.trn ~ '[^[:space:]]' THEN tp.trn ELSE vd.trn END,
                'created_at', u.created_at, 'updated_at', u.updated_at))
            ORDER BY page.created_at, page.user_id, page.profile_id)::text
          FROM page
          JOIN participant_profiles mp ON mp.id = page.profile_id
          JOIN participant_identities pi ON pi.id = mp.participant_identity_id
          JOIN users u ON u.id = page.user_id
          LEFT JOIN teacher_profiles tp ON tp.user_id = u.id
          LEFT JOIN ecf_participant_validation_data vd ON vd.participant_profile_id = mp.id
    """,
    # The 2024 cohort's schools (the bench's filter[cohort]=2024), the same for every provider:
    # eligible and not CIP-only by the school register codes of app/domain/schools.py, or in an
    # unchallenged, non-`relationship` partnership in the cohort; in creation order, with the
    # cohort's programme choice and partnership status and the later of the school's and school
    # cohort's updates (app/repositories/schools.py).
    "schools/ecf": f"""
        WITH cohort AS (SELECT id FROM cohorts WHERE start_year = 2024),
        page AS (
            SELECT s.id, s.created_at FROM schools s
             WHERE $1::uuid IS NOT NULL AND ((
                   s.school_status_code IN {_sql_list(OPEN_STATUS_CODES)}
                   AND (s.administrative_district_code ILIKE 'E%' OR s.administrative_district_code = '9999')
                   AND (s.school_type_code IN {_sql_list(ELIGIBLE_TYPE_CODES)} OR s.section_41_approved)
                   AND NOT coalesce(s.school_status_code IN {_sql_list(OPEN_STATUS_CODES)}
                                    AND s.school_type_code IN {_sql_list(CIP_ONLY_TYPE_CODES)}, FALSE))
                OR EXISTS (SELECT 1 FROM partnerships p WHERE p.school_id = s.id
                            AND p.cohort_id = (SELECT id FROM cohort) AND p.challenged_at IS NULL
                            AND p.challenge_reason IS NULL AND NOT p.relationship))
             ORDER BY s.created_at, s.id OFFSET $2 LIMIT $3
        )
        SELECT json_agg(json_build_object('id', s.id, 'type', 'school', 'attributes',
            json_build_object('name', s.name, 'urn', s.urn, 'cohort', '2024',
                'in_partnership', EXISTS (SELECT 1 FROM partnerships p WHERE p.school_id = s.id
                    AND p.cohort_id = (SELECT id FROM cohort) AND p.challenged_at IS NULL
                    AND p.challenge_reason IS NULL),
                'induction_programme_choice', coalesce(sc.induction_programme_choice, 'not_yet_known'),
                'created_at', s.created_at, 'updated_at', greatest(s.updated_at, sc.updated_at)))
            ORDER BY page.created_at, page.id)::text
          FROM page JOIN schools s ON s.id = page.id
          LEFT JOIN school_cohorts sc ON sc.school_id = s.id AND sc.cohort_id = (SELECT id FROM cohort)
    """,
    # Delivery partners (not discarded) with a live relationship with the provider in a default
    # cohort (after 2020), in creation order, each with every cohort of its live relationships with
    # the provider, ascending (app/repositories/delivery_partners.py).
    "delivery-partners": f"""
        WITH page AS (
            SELECT dp.id, dp.created_at FROM delivery_partners dp
             WHERE dp.discarded_at IS NULL AND EXISTS (
                   SELECT 1 FROM provider_relationships pr JOIN cohorts c ON c.id = pr.cohort_id
                    WHERE pr.delivery_partner_id = dp.id AND pr.lead_provider_id = {LEAD_PROVIDER_OF_CPD}
                      AND pr.discarded_at IS NULL AND c.start_year > 2020)
             ORDER BY dp.created_at, dp.id OFFSET $2 LIMIT $3
        )
        SELECT json_agg(json_build_object('id', dp.id, 'type', 'delivery-partner', 'attributes',
            json_build_object('name', dp.name, 'cohort', ARRAY(
                SELECT DISTINCT c.start_year FROM provider_relationships pr
                  JOIN cohorts c ON c.id = pr.cohort_id
                 WHERE pr.delivery_partner_id = dp.id AND pr.lead_provider_id = {LEAD_PROVIDER_OF_CPD}
                   AND pr.discarded_at IS NULL ORDER BY c.start_year)::text[],
                'created_at', dp.created_at, 'updated_at', dp.updated_at))
            ORDER BY page.created_at, page.id)::text
          FROM page JOIN delivery_partners dp ON dp.id = page.id
    """,
    # Users with a transfer the provider may be involved in (kept per provider in
    # ecf_transfer_participants), in creation order (app/repositories/transfers.py), each with the
    # transfers of app/domain/transfers.py: per training record, each leaving induction record in
    # turn (oldest first) takes the first record not yet taken that is not leaving, is at another
    # school and is a school transfer; a pair is shown when either side is under the provider's
    # partnership, an unmatched leaving record when it is the provider's own. Type, status (the later
    # of the leaving and joining dates not after the start of today, UTC) and latest update as there.
    "participants/ecf/transfers": f"""
        WITH RECURSIVE page AS (
            SELECT DISTINCT t.user_created_at, t.user_id FROM ecf_transfer_participants t
             WHERE t.lead_provider_id = {LEAD_PROVIDER_OF_CPD}
             ORDER BY t.user_created_at, t.user_id OFFSET $2 LIMIT $3
        ),
        records AS (
            SELECT ir.id, pi.user_id, pp.id AS profile_id, pp.created_at AS profile_created_at,
                   ir.induction_status, ir.school_transfer, sc.school_id, sch.urn, p.lead_provider_id,
                   lp.name AS provider, ir.start_date, ir.end_date, ir.created_at, ir.updated_at,
                   CASE WHEN ir.induction_status = 'leaving' THEN row_number() OVER (
                       PARTITION BY pp.id, ir.induction_status = 'leaving' ORDER BY ir.created_at, ir.id)
                   END AS leaving_no
              FROM page
              JOIN participant_identities pi ON pi.user_id = page.user_id
              JOIN participant_profiles pp ON pp.participant_identity_id = pi.id
                   AND pp.profile_type IN ('ect', 'mentor')
              JOIN induction_records ir ON ir.participant_profile_id = pp.id
              JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
              JOIN school_cohorts sc ON sc.id = ip.school_cohort_id
              JOIN schools sch ON sch.id = sc.school_id
              LEFT JOIN partnerships p ON p.id = ip.partnership_id
              LEFT JOIN lead_providers lp ON lp.id = p.lead_provider_id
        ),
        pairs AS (
            SELECT profile_id, 0::bigint AS leaving_no, NULL::uuid AS leaving_id, NULL::uuid AS joining_id,
                   '{{}}'::uuid[] AS taken
              FROM records WHERE leaving_no = 1
            UNION ALL
            SELECT l.profile_id, l.leaving_no, l.id, j.id, array_remove(prev.taken || j.id, NULL)
              FROM pairs prev
              JOIN records l ON l.profile_id = prev.profile_id AND l.leaving_no = prev.leaving_no + 1
              LEFT JOIN LATERAL (
                  SELECT r.id FROM records r
                   WHERE r.profile_id = l.profile_id AND r.induction_status <> 'leaving'
                     AND r.school_id <> l.school_id AND r.school_transfer AND r.id <> ALL (prev.taken)
                   ORDER BY r.created_at, r.id LIMIT 1
              ) j ON TRUE
        ),
        transfers AS (
            SELECT l.user_id, greatest(l.updated_at, j.updated_at) AS updated_at,
                   l.profile_created_at, l.profile_id, l.created_at, l.id,
                   json_build_object('training_record_id', l.profile_id,
                       'transfer_type', CASE WHEN j.id IS NULL THEN 'unknown'
                           WHEN l.lead_provider_id <> j.lead_provider_id THEN 'new_provider'
                           ELSE 'new_school' END,
                       'status', CASE
                           WHEN greatest(l.end_date, j.start_date) <= date_trunc('day', now(), 'UTC')
                           THEN 'complete' ELSE 'incomplete' END,
                       'created_at', l.created_at,
                       'leaving', json_build_object('school_urn', l.urn, 'provider', l.provider,
                           'date', (l.end_date AT TIME ZONE 'UTC')::date),
                       'joining', CASE WHEN j.id IS NOT NULL THEN json_build_object('school_urn', j.urn,
                           'provider', j.provider, 'date', (j.start_date AT TIME ZONE 'UTC')::date) END
                   ) AS transfer
              FROM pairs pr
              JOIN records l ON l.id = pr.leaving_id
              LEFT JOIN records j ON j.id = pr.joining_id
             WHERE CASE WHEN j.id IS NULL THEN l.lead_provider_id = {LEAD_PROVIDER_OF_CPD}
                        ELSE {LEAD_PROVIDER_OF_CPD} IN (l.lead_provider_id, j.lead_provider_id) END
        )
        SELECT json_agg(json_build_object('id', u.id, 'type', 'participant-transfer', 'attributes',
            json_build_object('updated_at', coalesce(t.updated_at, u.updated_at),
                'transfers', coalesce(t.transfers, '[]')))
            ORDER BY page.user_created_at, page.user_id)::text
          FROM page
          JOIN users u ON u.id = page.user_id
          LEFT JOIN (
              SELECT user_id, max(updated_at) AS updated_at,
                     json_agg(transfer ORDER BY profile_created_at, profile_id, created_at, id) AS transfers
                FROM transfers GROUP BY user_id
          ) t ON t.user_id = u.id
    """,
}

# Every v3 list endpoint (path, fixed query) for scenario 2; ECF ones use the ECF provider.
V3_LISTS: list[tuple[str, str, bool]] = [
    ("participants/ecf", "", True),
    ("participant-declarations", "", True),
    ("statements", "", True),
    ("unfunded-mentors/ecf", "", True),
    ("schools/ecf", "filter[cohort]=2024", True),
    ("partnerships/ecf", "", True),
    ("delivery-partners", "", True),
    ("participants/ecf/transfers", "", True),
    ("npq-applications", "", False),
    ("participants/npq", "", False),
    ("participants/npq/outcomes", "", False),
]
UPDATED_SINCE = ["participants/ecf", "participant-declarations", "npq-applications", "participants/npq"]


# Floors that build exactly the API's page: checked against it on the first and the last sampled
# page (timestamps compared as instants, since the API writes them at second precision with a Z).
EXACT_FLOORS = frozenset(
    {
        "participants/ecf",
        "participants/npq",
        "statements",
        "partnerships/ecf",
        "participants/npq/outcomes",
        "delivery-partners",
        "schools/ecf",
        "participants/ecf/transfers",
        "unfunded-mentors/ecf",
        "participant-declarations",
        "npq-applications",
    }
)


def _comparable(value: object) -> object:
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).replace(microsecond=0)
    return value


async def floor_matches(ctx: Context, url: str, token: str, path: str, cpd_id: str, offset: int) -> bool:
    """The floor statement's page equals the API's page at `url` (data, in order)."""
    response = await ctx.client.get(url, token)
    floor = await ctx.pool.fetchval(FLOORS[path], cpd_id, offset, 100)
    return bool(_comparable(response.json()["data"]) == _comparable(json.loads(floor or "[]")))


async def api_p50(ctx: Context, urls: list[str], token: str) -> float:
    """p50 (ms) of the API over these pages at concurrency 1, --floor-samples requests in all
    (cycling through the pages, as floor_p50 does)."""
    result = await run_jobs(
        "API on the floor's pages",
        1,
        cycle([get_job(ctx.client, url, token) for url in urls]),
        max_requests=ctx.floor_samples,
        max_seconds=ctx.max_seconds,
        processes=None,
    )
    return result.pct(50)


async def floor_p50(pool: asyncpg.Pool, sql: str, cpd_id: str, pages: list[tuple[int, int]], n: int) -> float:
    """p50 (ms) of the floor statement over the given (offset, limit) pages at concurrency 1."""
    samples: list[float] = []
    async with pool.acquire() as conn:
        for i in range(n):
            offset, limit = pages[i % len(pages)]
            started = time.perf_counter()
            await conn.fetchval(sql, cpd_id, offset, limit)
            samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def floor_job(pool: asyncpg.Pool, sql: str, cpd_id: str, offset: int, limit: int) -> Job:
    """One floor statement on a connection of `pool`, as a timed job."""

    async def job() -> tuple[bool, str | None]:
        async with pool.acquire() as conn:
            page = await conn.fetchval(sql, cpd_id, offset, limit)
        return page is not None, None if page is not None else "the floor returned no page"

    return job


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Replay:
    """The replay server: the service answering stored pages with no database work (its lines are
    what a page would cost this machine if building it cost nothing)."""

    base: str
    processes: Processes
    directory: Path

    async def store(self, client: Client, url: str, token: str, name: str) -> str:
        """Store the API's answer at `url` under `name`; the replay URL that answers it."""
        reply = await client.get(url, token)
        if reply.status_code != 200:
            raise SystemExit(f"GET {url} -> {reply.status_code}: cannot store it for the replay server")
        (self.directory / f"{name}.json").write_bytes(reply.body)
        return f"{self.base}/bench/replay/{name}"


@dataclass
class Context:
    base: str
    client: Client
    pool: asyncpg.Pool
    processes: Processes
    levels: list[int]
    max_requests: int
    post_requests: int
    max_seconds: float
    # Read lines run at least this long (a line of 200 fast requests at 32 clients lasts a fifth
    # of a second, and its p95 is a handful of answers).
    min_seconds: float
    floor_samples: int
    ecf_token: str
    ecf_cpd: str
    npq_token: str
    npq_cpd: str
    # As many connections as the highest concurrency level, for floors under load (scenario 2).
    load_pool: asyncpg.Pool | None = None
    # The replay server (bench/replay_app.py): its base URL, processes and page directory.
    replay: Replay | None = None
    results: list[Result] = field(default_factory=list)
    ratios: list[str] = field(default_factory=list)
    first_last: list[str] = field(default_factory=list)

    def emit(self, result: Result) -> None:
        self.results.append(result)
        print(result.line(), flush=True)
        if result.first_error:
            print(f"    first error: {result.first_error}", flush=True)

    async def run(
        self,
        name: str,
        c: int,
        source: Callable[[], Job | None],
        limit: int | None = None,
        *,
        warm: bool = True,
        processes: Processes | None = None,
    ) -> Result:
        """One measurement line; reads are preceded by one untimed request per client (`warm`).
        CPU is counted for `processes` (by default the API server's and the database's)."""
        result = await run_jobs(
            name,
            c,
            source,
            max_requests=limit or self.max_requests,
            max_seconds=self.max_seconds,
            processes=processes or self.processes,
            warmup=c if warm else 0,
            min_seconds=self.min_seconds if warm else 0.0,
        )
        self.emit(result)
        return result


async def local_postmaster(pool: asyncpg.Pool) -> int | None:
    """The database server's postmaster when it runs on this machine (a backend's parent), else None."""
    backend = await pool.fetchval("SELECT pg_backend_pid()")
    parent = parent_pid(backend)
    return parent if parent is not None and process_name(parent) in ("postgres", "postmaster") else None


async def largest_providers(pool: asyncpg.Pool) -> tuple[str, str]:
    ecf = await pool.fetchval(
        """SELECT lp.cpd_lead_provider_id::text FROM induction_records ir
           JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
           JOIN partnerships p ON p.id = ip.partnership_id
           JOIN lead_providers lp ON lp.id = p.lead_provider_id
           GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"""
    )
    npq = await pool.fetchval(
        """SELECT n.cpd_lead_provider_id::text FROM npq_applications a
           JOIN npq_lead_providers n ON n.id = a.npq_lead_provider_id
           GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"""
    )
    return str(ecf), str(npq)


def token_for(cpd_id: str) -> str:
    return next(p.token for p in PROVIDERS if str(p.cpd_id) == cpd_id)


async def count_pages(ctx: Context, path: str, query: str, token: str, per_page: int) -> int:
    """Pages of the list at per_page: the last non-empty page, found by doubling then bisecting."""
    sep = "&" if query else ""

    async def filled(page: int) -> bool:
        url = f"{ctx.base}/api/v3/{path}?{query}{sep}page[per_page]={per_page}&page[page]={page}"
        response = await ctx.client.get(url, token)
        return response.status_code == 200 and bool(response.json().get("data"))

    if not await filled(1):
        return 1
    low, high = 1, 2
    while high <= 1 << 20 and await filled(high):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if await filled(middle):
            low = middle
        else:
            high = middle
    return low


def spread(pages: int, n: int) -> list[int]:
    """At most n page numbers spread evenly over 1..pages, first and last included."""
    if pages <= n:
        return list(range(1, pages + 1))
    return sorted({1 + round(i * (pages - 1) / (n - 1)) for i in range(n)})


async def first_last(ctx: Context, label: str, url_for: Callable[[int], str], token: str, pages: int) -> None:
    """p50 of the first and the last page at concurrency 1 (--floor-samples requests each), and the ratio."""
    p50s: list[float] = []
    for page in (1, pages):
        result = await run_jobs(
            f"{label} page {page}",
            1,
            cycle([get_job(ctx.client, url_for(page), token)]),
            max_requests=ctx.floor_samples,
            max_seconds=ctx.max_seconds,
            processes=None,
        )
        p50s.append(result.pct(50))
    ctx.first_last.append(f"| {label} | {pages} | {p50s[0]:.1f} | {p50s[1]:.1f} | {p50s[1] / p50s[0]:.2f} |")


async def scenario_1(ctx: Context) -> None:
    print("\n## Scenario 1: participants/ecf, per_page 2000, first and last page\n")
    print(HEADER)
    pages = await count_pages(ctx, "participants/ecf", "", ctx.ecf_token, 2000)
    for version in ("v1", "v2", "v3"):

        def url_for(p: int, v: str = version) -> str:
            return f"{ctx.base}/api/{v}/participants/ecf?page[per_page]=2000&page[page]={p}"

        await first_last(ctx, f"{version} participants/ecf per_page 2000", url_for, ctx.ecf_token, pages)
        for label, page in (("first", 1), ("last", pages)):
            url = f"{ctx.base}/api/{version}/participants/ecf?page[per_page]=2000&page[page]={page}"
            job = get_job(ctx.client, url, ctx.ecf_token)
            api_c1: float | None = None
            for c in ctx.levels:
                result = await ctx.run(f"{version} participants/ecf {label} page ({page})", c, cycle([job]))
                if c == 1:
                    api_c1 = result.pct(50)
            if version == "v3" and api_c1 is not None:
                floor = await floor_p50(
                    ctx.pool,
                    FLOORS["participants/ecf"],
                    ctx.ecf_cpd,
                    [((page - 1) * 2000, 2000)],
                    ctx.floor_samples,
                )
                ctx.ratios.append(
                    f"| participants/ecf per_page 2000 {label} page | {api_c1:.1f} | {api_c1:.1f} "
                    f"| {floor:.1f} | {api_c1 / floor:.2f} |"
                )


async def scenario_2(ctx: Context) -> None:
    print("\n## Scenario 2: per_page 100 across the whole list, every v3 list endpoint\n")
    print(HEADER)
    healthz = get_job(ctx.client, f"{ctx.base}/healthz", "")
    for c in ctx.levels:
        await ctx.run("GET /healthz (the HTTP stack alone)", c, cycle([healthz]))
    for path, query, ecf in V3_LISTS:
        token = ctx.ecf_token if ecf else ctx.npq_token
        cpd = ctx.ecf_cpd if ecf else ctx.npq_cpd
        pages = await count_pages(ctx, path, query, token, 100)
        sep = "&" if query else ""

        def url_for(p: int, path: str = path, query: str = query, sep: str = sep) -> str:
            return f"{ctx.base}/api/v3/{path}?{query}{sep}page[per_page]=100&page[page]={p}"

        # Pages spread over the whole list (first and last included), so a bounded line still
        # samples deep offsets.
        sampled = spread(pages, ctx.max_requests)
        jobs = [get_job(ctx.client, url_for(p), token) for p in sampled]
        replayed: Job | None = None
        if ctx.replay is not None:
            name = path.replace("/", "_").replace("-", "_")
            replayed = get_job(ctx.client, await ctx.replay.store(ctx.client, url_for(1), token, name), token)
        api_c1: float | None = None
        for c in ctx.levels:
            # The sampled pages in turn, as often as the bounds allow (a list of a few pages is
            # synced again and again, so its percentiles rest on as many requests as a long one's).
            result = await ctx.run(f"v3 {path} ({pages} pages)", c, cycle(jobs))
            if c == 1:
                api_c1 = result.pct(50)
            if path in FLOORS and ctx.load_pool is not None:
                # The same pages' floor statements alone, c at a time on c connections.
                floors = [floor_job(ctx.load_pool, FLOORS[path], cpd, (p - 1) * 100, 100) for p in sampled]
                await ctx.run(f"floor {path} (database only)", c, cycle(floors))
            if replayed is not None and ctx.replay is not None:
                # The list's first page as stored bytes, through the whole service but the page's
                # own database work and rendering.
                await ctx.run(
                    f"replay {path} (page 1, no database)",
                    c,
                    cycle([replayed]),
                    processes=ctx.replay.processes,
                )
        await first_last(ctx, f"v3 {path} per_page 100", url_for, token, pages)
        if path in FLOORS and api_c1 is not None:
            # The API and the floor on the same pages (spread over the list), the same number of
            # times each, one after the other at concurrency 1.
            same_pages = spread(pages, ctx.floor_samples)
            sample = [((p - 1) * 100, 100) for p in same_pages]
            floor = await floor_p50(ctx.pool, FLOORS[path], cpd, sample, ctx.floor_samples)
            api_same = await api_p50(ctx, [url_for(p) for p in same_pages], token)
            same = ""
            if path in EXACT_FLOORS:
                # The first page and the last sampled one (the deepest offset the line reached).
                checked = sorted({1, sampled[-1]})
                matches = [
                    await floor_matches(ctx, url_for(p), token, path, cpd, (p - 1) * 100) for p in checked
                ]
                same = " (same page)" if all(matches) else " (DIFFERS)"
            ctx.ratios.append(
                f"| v3 {path} per_page 100{same} | {api_c1:.1f} | {api_same:.1f} | {floor:.1f} "
                f"| {api_same / floor:.2f} |"
            )


async def scenario_3(ctx: Context) -> None:
    print("\n## Scenario 3: filter[updated_since] incremental syncs (last 24 hours, per_page 100)\n")
    print(HEADER)
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for path in UPDATED_SINCE:
        token = ctx.npq_token if "npq" in path else ctx.ecf_token
        url = f"{ctx.base}/api/v3/{path}?filter[updated_since]={since}&page[per_page]=100"
        for c in ctx.levels:
            await ctx.run(f"v3 {path} updated_since", c, cycle([get_job(ctx.client, url, token)]))


DECLARATION_CANDIDATES = """
    WITH latest AS (
        SELECT DISTINCT ON (ir.participant_profile_id) ir.participant_profile_id, ir.induction_status,
               ir.training_status, ir.schedule_id, ip.partnership_id
        FROM induction_records ir JOIN induction_programmes ip ON ip.id = ir.induction_programme_id
        ORDER BY ir.participant_profile_id, ir.start_date DESC, ir.created_at DESC
    )
    SELECT pi.user_id::text AS user_id, pp.profile_type, m.start_date
    FROM latest l
    JOIN participant_profiles pp ON pp.id = l.participant_profile_id
    JOIN participant_identities pi ON pi.id = pp.participant_identity_id
    JOIN partnerships p ON p.id = l.partnership_id
    JOIN lead_providers lp ON lp.id = p.lead_provider_id
    JOIN schedules s ON s.id = pp.schedule_id
    JOIN cohorts c ON c.id = s.cohort_id
    JOIN milestones m ON m.schedule_id = s.id AND m.declaration_type = 'started'
    WHERE lp.cpd_lead_provider_id = $1
      AND pp.profile_type IN ('ect', 'mentor') AND pp.status = 'active' AND pp.training_status = 'active'
      AND l.induction_status = 'active' AND l.training_status = 'active'
      AND c.payments_frozen_at IS NULL AND m.start_date < now()
      AND EXISTS (SELECT 1 FROM statements st WHERE st.cpd_lead_provider_id = $1 AND st.programme = 'ecf'
                  AND st.cohort_id = c.id AND st.output_fee AND st.state = 'open'
                  AND st.deadline_date >= current_date)
      AND pi.external_identifier = pi.user_id
      AND NOT EXISTS (SELECT 1 FROM participant_declarations d WHERE d.participant_profile_id = pp.id
                      AND d.state IN ('submitted', 'eligible', 'payable', 'paid'))
    ORDER BY pp.id LIMIT $2
"""


async def scenario_4(ctx: Context) -> None:
    print("\n## Scenario 4: declaration POST bursts (started, distinct participants), then void\n")
    print(HEADER)
    for c in ctx.levels:
        await declaration_burst(ctx, c)


async def declaration_burst(ctx: Context, c: int) -> None:
    """POST `started` for up to --post-requests distinct participants at concurrency c (a
    sustained burst: a short one mostly measures connections' first, re-planned statements), then
    void them."""
    rows = await ctx.pool.fetch(DECLARATION_CANDIDATES, ctx.ecf_cpd, ctx.post_requests)
    if not rows:
        print(f"    no candidates left for c={c}")
        return
    created: list[str] = []
    todo = list(rows)

    def next_post() -> Job | None:
        if not todo:
            return None
        row = todo.pop()
        declared = datetime.combine(row["start_date"], datetime.min.time(), UTC) + timedelta(days=1, hours=9)
        body = {
            "data": {
                "type": "participant-declaration",
                "attributes": {
                    "participant_id": row["user_id"],
                    "declaration_type": "started",
                    "declaration_date": min(declared, datetime.now(UTC) - timedelta(hours=1)).strftime(
                        "%Y-%m-%dT%H:%M:%SZ"
                    ),
                    "course_identifier": "ecf-induction" if row["profile_type"] == "ect" else "ecf-mentor",
                },
            }
        }

        async def job() -> tuple[bool, str | None]:
            response = await ctx.client.request(
                "POST", f"{ctx.base}/api/v3/participant-declarations", ctx.ecf_token, body
            )
            if response.status_code != 200:
                return False, f"POST -> {response.status_code} {response.text[:300]}"
            created.append(response.json()["data"]["id"])
            return True, None

        return job

    await ctx.run(
        f"v3 POST participant-declarations ({len(rows)} participants)",
        c,
        next_post,
        limit=len(rows),
        warm=False,
    )

    def next_void() -> Job | None:
        if not created:
            return None
        declaration_id = created.pop()

        async def job() -> tuple[bool, str | None]:
            response = await ctx.client.request(
                "PUT", f"{ctx.base}/api/v3/participant-declarations/{declaration_id}/void", ctx.ecf_token
            )
            if response.status_code != 200:
                return False, f"PUT void -> {response.status_code} {response.text[:300]}"
            return True, None

        return job

    made = list(created)
    await ctx.run("v3 PUT participant-declarations/{id}/void", c, next_void, limit=len(rows), warm=False)
    removed = await remove_declarations(ctx.pool, made)
    print(f"    (removed the {removed} declarations this burst made, so the next run finds the same data)")


# What a declaration brings with it: rows that refer to it, deleted first in this order.
_DECLARATION_DEPENDANTS = (
    "declaration_states",
    "participant_declaration_attempts",
    "participant_outcomes",
    "statement_line_items",
)


async def remove_declarations(pool: asyncpg.Pool, ids: list[str]) -> int:
    """Delete declarations the benchmark made, with what refers to them, in one transaction.

    Each burst posts and voids declarations for the same kind of candidates run after run; left
    in place, every run would add thousands of voided declarations to the current month, and the
    deep pages of the declarations list (which walk the month their offset falls in) would slow
    down from one run to the next. The database's triggers keep the derived tables in step."""
    if not ids:
        return 0
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE participant_declarations SET superseded_by_id = NULL"
            " WHERE superseded_by_id = ANY($1::uuid[])",
            ids,
        )
        for table in _DECLARATION_DEPENDANTS:
            await conn.execute(f"DELETE FROM {table} WHERE participant_declaration_id = ANY($1::uuid[])", ids)
        result: str = await conn.execute(
            "DELETE FROM participant_declarations WHERE id = ANY($1::uuid[])", ids
        )
    return int(result.split()[-1])


async def scenario_5(ctx: Context) -> None:
    print("\n## Scenario 5: v1 participants/ecf.csv of the largest ECF provider\n")
    url = f"{ctx.base}/api/v1/participants/ecf.csv"
    before = server_rss_mb(ctx.processes.server)
    peak = before or 0.0
    sampling = True

    async def sample() -> None:
        nonlocal peak
        while sampling:
            peak = max(peak, server_rss_mb(ctx.processes.server) or 0.0)
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    size = 0
    lines = 0
    async with ctx.client.session.get(url, headers={"Authorization": f"Bearer {ctx.ecf_token}"}) as response:
        first_byte: float | None = None
        async for chunk in response.content.iter_chunked(1 << 16):
            first_byte = first_byte or time.perf_counter() - started
            size += len(chunk)
            lines += chunk.count(b"\n")
        status = response.status
    elapsed = time.perf_counter() - started
    sampling = False
    await sampler
    growth = f"{peak - before:.1f} MB (from {before:.0f} MB to peak {peak:.0f} MB)" if before else "-"
    print(
        f"status {status}, {lines - 1} rows, {size / 1e6:.1f} MB in {elapsed:.2f}s "
        f"(first byte {1000 * (first_byte or 0):.0f} ms); server RSS growth {growth}"
    )


# What the write scenarios (and stored renderings) change, for stand_in_for_autovacuum.
WRITTEN_TABLES = (
    "participant_declarations",
    "declaration_states",
    "statement_line_items",
    "participant_declaration_attempts",
    "participant_declaration_month_counts",
    "ecf_inherited_declarations",
    "ecf_inherited_declaration_profiles",
    "audit_events",
    "api_tokens",
    "ecf_participant_documents",
)


async def stand_in_for_autovacuum(pool: asyncpg.Pool, when: str) -> None:
    """With autovacuum off on the server (this machine's CI configuration turns it off), rows written
    by earlier runs and scenarios stay unvacuumed: index-only scans fetch heap pages for them and a
    deep page measured after a POST burst walks dead entries. A deployment's autovacuum would have
    vacuumed them (migration 0023 sets 1 % thresholds on the list tables), so the driver does it."""
    if await pool.fetchval("SHOW autovacuum") == "on":
        return
    started = time.perf_counter()
    for table in WRITTEN_TABLES:
        await pool.execute(f"VACUUM (ANALYZE) {table}")
    took = time.perf_counter() - started
    print(f"\n(autovacuum is off on this server: VACUUM (ANALYZE) of the written tables {when}, {took:.1f}s)")


async def scenario_4_then_vacuum(ctx: Context) -> None:
    await scenario_4(ctx)
    await stand_in_for_autovacuum(ctx.pool, "after the POST and void lines")


SCENARIOS: dict[str, Callable[[Context], Awaitable[None]]] = {
    "1": scenario_1,
    "2": scenario_2,
    "3": scenario_3,
    "4": scenario_4_then_vacuum,
    "5": scenario_5,
}


async def main_async(args: argparse.Namespace) -> None:
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the load driver only targets this machine (127.0.0.1)")
    base = f"http://{args.host}:{args.port}"
    levels = [int(x) for x in args.concurrency.split(",")]
    # Idle connections expire before uvicorn's 5 s keep-alive timeout closes them under us (a request
    # sent on a connection the server is closing fails, which is not the server's fault).
    connector = aiohttp.TCPConnector(limit=max(levels), keepalive_timeout=2.0)
    timeout = aiohttp.ClientTimeout(total=120.0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        pool = await asyncpg.create_pool(
            args.db_url, min_size=1, max_size=2, server_settings=FLOOR_SERVER_SETTINGS
        )
        load_pool = None
        if "2" in args.scenarios.split(","):
            load_pool = await asyncpg.create_pool(
                args.db_url,
                min_size=max(levels),
                max_size=max(levels),
                server_settings=FLOOR_SERVER_SETTINGS,
            )
        try:
            ecf_cpd, npq_cpd = await largest_providers(pool)
            ctx = Context(
                base=base,
                client=Client(session),
                pool=pool,
                processes=Processes(args.server_pid, await local_postmaster(pool)),
                levels=levels,
                max_requests=args.max_requests,
                post_requests=args.post_requests,
                max_seconds=args.max_seconds,
                min_seconds=args.min_seconds,
                floor_samples=args.floor_samples,
                ecf_token=token_for(ecf_cpd),
                ecf_cpd=ecf_cpd,
                npq_token=token_for(npq_cpd),
                npq_cpd=npq_cpd,
                load_pool=load_pool,
            )
            if args.replay_port is not None:
                ctx.replay = Replay(
                    f"http://{args.host}:{args.replay_port}",
                    Processes(args.replay_pid, ctx.processes.database),
                    Path(args.replay_dir),
                )
            print(
                f"server {base}, workers' RSS {server_rss_mb(args.server_pid) or 0:.0f} MB at start; "
                f"ECF provider {ctx.ecf_token}, NPQ provider {ctx.npq_token}; concurrency {levels}; "
                f"at most {args.max_requests} requests and {args.max_seconds:.0f}s per line; "
                f"load average {load_average()}"
            )
            await stand_in_for_autovacuum(pool, "before the first scenario")
            for key in args.scenarios.split(","):
                await SCENARIOS[key](ctx)
            if ctx.ratios:
                print(
                    "\n## API / floor (p50 at concurrency 1; floor = one json_agg statement on the database)"
                    "\n\nThe ratio compares the API and the floor on the same pages, the same number of times"
                    " each (--floor-samples), after the scenario's lines; the line's own p50 (pages across"
                    " the whole list, first visits included) is shown for reference.\n"
                )
                print(
                    "| page | line p50 ms | API p50 ms (same pages) | floor p50 ms | API/floor |"
                    "\n|---|---:|---:|---:|---:|"
                )
                for line in ctx.ratios:
                    print(line)
            if ctx.first_last:
                print(f"\n## First vs last page (p50 at concurrency 1, {ctx.floor_samples} requests each)\n")
                print("| list | pages | first p50 ms | last p50 ms | last/first |\n|---|---:|---:|---:|---:|")
                for line in ctx.first_last:
                    print(line)
            errors = sum(r.errors for r in ctx.results)
            print(f"\n{len(ctx.results)} measurements, {errors} errors; load average {load_average()}")
        finally:
            if load_pool is not None:
                await load_pool.close()
            await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--db-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB_URL))
    parser.add_argument("--server-pid", type=int, default=None, help="the server's master pid (RSS)")
    parser.add_argument(
        "--replay-port",
        type=int,
        default=None,
        help="bench/replay_app.py's port: scenario 2 then adds each list's replay lines",
    )
    parser.add_argument("--replay-pid", type=int, default=None, help="the replay server's master pid")
    parser.add_argument(
        "--replay-dir", default="bench/.data/replay", help="where the replay server reads stored pages"
    )
    parser.add_argument("--concurrency", default="1,8,32,64")
    parser.add_argument("--scenarios", default="1,2,3,4,5")
    parser.add_argument("--max-requests", type=int, default=200, help="per measurement line")
    parser.add_argument(
        "--post-requests", type=int, default=2000, help="per declaration POST (and void) line"
    )
    parser.add_argument("--max-seconds", type=float, default=20.0, help="per measurement line")
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=0.0,
        help="read lines go on past --max-requests until this long (within --max-seconds)",
    )
    parser.add_argument(
        "--floor-samples",
        type=int,
        default=10,
        help="floor statements, and first/last page requests, per page",
    )
    args = parser.parse_args()
    Path(args.replay_dir).mkdir(parents=True, exist_ok=True)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
