"""Volume seeder for the benchmark: the sandbox seed, then K copies of its people in bulk.

The sandbox seed (`cpd-api seed`) builds a small, coherent world: 11 providers with their known
tokens, schools, partnerships, programmes, ECF and NPQ participants with induction-record history,
transfers, declarations, line items, outcomes and monthly statements. This script multiplies its
*people* with `INSERT ... SELECT ... CROSS JOIN generate_series(1, K)`, one statement per table,
while schools, partnerships, programmes, schedules, providers and statements stay shared. So each
copy sits in the same school programme as its original and every visibility rule (partnership,
latest induction record, schedule, NPQ provider) holds for it exactly as for the original.

Ids of copy k are `md5(original id || ':' || k)::uuid`, for every id column and every foreign key
into a copied table, so references stay consistent without any lookup table. Emails get a `bk.`
prefix (unique), TRNs are shifted (so TRN-keyed rules don't see 400 twins), timestamps move back
k seconds (no giant ties in created_at order).

Declarations: the sandbox has fewer per person than the national data, so each copied declaration
also gets `extra` copies of later types (retained, completed) in realistic states (submitted, eligible,
payable, paid, clawed back, voided) until the declaration target is met.

`--scale 1` is the issue's national volume (>= 200,000 ECF participant records, >= 150,000 NPQ
applications, >= 1,000,000 declarations); `--scale 0.05` takes seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from sqlalchemy import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.models import Base  # noqa: E402

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_DB = "cpd_api_bench"

# The people graph, parents first. Everything else (schools, partnerships, programmes, schedules,
# providers, contracts, statements, tokens) is shared by the copies.
COPIED = (
    "users",
    "participant_identities",
    "teacher_profiles",
    "npq_applications",
    "participant_profiles",
    "ecf_participant_eligibilities",
    "ecf_participant_validation_data",
    "school_mentors",
    "induction_records",
    "participant_profile_states",
    "participant_profile_schedules",
    "participant_id_changes",
    "participant_declarations",
    "declaration_states",
    "participant_outcomes",
    "statement_line_items",
)
# uuid columns that hold a copied id without a declared foreign key.
MAPPED_PLAIN = {"external_identifier", "from_participant_id", "to_participant_id"}
TRN_COLUMNS = {"trn", "teacher_reference_number"}

TARGET_ECF = 200_000
TARGET_NPQ = 150_000
TARGET_DECLARATIONS = 1_000_000


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _mapped(expr: str) -> str:
    return f"md5(({expr})::text || ':' || k)::uuid"


def column_expression(table: Table, name: str) -> str:
    column = table.c[name]
    quoted = f't."{name}"'
    if column.primary_key or name in MAPPED_PLAIN:
        return _mapped(quoted)
    if any(fk.column.table.name in COPIED for fk in column.foreign_keys):
        return f"CASE WHEN {quoted} IS NULL THEN NULL ELSE {_mapped(quoted)} END"
    if name == "email":
        return f"'b' || k || '.' || {quoted}"
    if name in TRN_COLUMNS:
        return (
            f"CASE WHEN {quoted} ~ '^[0-9]{{7}}$' "
            f"THEN lpad(((({quoted})::int + k * 7919) % 10000000)::text, 7, '0') ELSE {quoted} END"
        )
    if name in ("created_at", "updated_at"):
        return f"{quoted} - k * interval '1 second'"
    return quoted


def copy_statement(table: Table, copies: int) -> str:
    names = [c.name for c in table.columns]
    cols = ", ".join(f'"{n}"' for n in names)
    exprs = ", ".join(column_expression(table, n) for n in names)
    return (
        f"INSERT INTO {table.name} ({cols}) SELECT {exprs} "
        f"FROM {table.name} t CROSS JOIN generate_series(1, {copies}) AS k"
    )


# Types an extra copy takes, by programme: a participant's later declarations (retained, completed).
ECF_TYPES = ("started", "retained-1", "retained-2", "retained-3", "retained-4", "completed")
NPQ_TYPES = ("started", "retained-1", "retained-2", "completed")
# State of a live-capable extra copy, by a hash bucket 0-99 of its id (cumulative upper bounds).
STATE_BUCKETS = (
    (15, "submitted"),
    (30, "eligible"),
    (42, "payable"),
    (80, "paid"),
    (84, "awaiting_clawback"),
    (90, "clawed_back"),
)


def _array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


def extra_copies_statement(table: Table, copies: int, extra: int) -> str:
    """`extra` further declarations per copied declaration (ids of their own, no line items).

    Extra copy j of a declaration takes the (j+1)-th type of its programme's lifecycle (cyclic: started,
    retained-1.., completed), so a copied participant gets a history of declarations rather than
    one declaration voided again and again. The first extra row of each (training record, course,
    type) whose key holds no live declaration yet gets a state from a hash of its id (submitted 15 %,
    eligible 15 %, payable 12 %, paid 38 %, awaiting clawback 4 %, clawed back 6 %, voided 10 %);
    the others are voided (a resubmitted-and-voided history), so the partial unique index on live
    declarations holds.
    """
    names = [c.name for c in table.columns]
    cols = ", ".join(f'"{n}"' for n in names)
    digest = "decode(md5(x.id::text), 'hex')"
    bucket = f"((get_byte({digest}, 0) * 256 + get_byte({digest}, 1)) % 100)"
    state_case = " ".join(f"WHEN {bucket} < {upper} THEN '{state}'" for upper, state in STATE_BUCKETS)
    live_ok = (
        "x.rn = 1 AND NOT EXISTS (SELECT 1 FROM participant_declarations d "
        "WHERE d.participant_profile_id = x.participant_profile_id "
        "AND d.course_identifier = x.course_identifier AND d.declaration_type = x.declaration_type "
        "AND d.state IN ('submitted', 'eligible', 'payable', 'paid'))"
    )
    state_expr = f"CASE WHEN {live_ok} THEN CASE {state_case} ELSE 'voided' END ELSE 'voided' END"
    exprs: list[str] = []
    for n in names:
        if n == "id":
            exprs.append("md5(t.id::text || ':' || k || ':v' || j)::uuid")
        elif n == "declaration_type":
            npq = "t.programme = 'npq'"
            exprs.append(
                f"(CASE WHEN {npq} THEN {_array(NPQ_TYPES)} ELSE {_array(ECF_TYPES)} END)"
                f"[1 + j % (CASE WHEN {npq} THEN {len(NPQ_TYPES)} ELSE {len(ECF_TYPES)} END)]"
            )
        elif n in ("state", "voided_at"):
            exprs.append(f't."{n}"')  # replaced below, once the type is known
        elif n == "state_reason":
            exprs.append("NULL::varchar")
        elif n == "superseded_by_id":
            exprs.append("NULL::uuid")
        elif n in ("created_at", "updated_at", "declaration_date"):
            exprs.append(f"t.\"{n}\" - k * interval '1 second' - j * interval '1 minute'")
        else:
            exprs.append(column_expression(table, n))
    selected = ", ".join(f'{e} AS "{n}"' for e, n in zip(exprs, names, strict=True))
    outer: list[str] = []
    for n in names:
        if n == "state":
            outer.append("s.new_state")
        elif n == "voided_at":
            outer.append("CASE WHEN s.new_state = 'voided' THEN s.updated_at END")
        else:
            outer.append(f's."{n}"')
    return (
        f"INSERT INTO {table.name} ({cols}) "
        f"SELECT {', '.join(outer)} FROM ("
        f"SELECT x.*, {state_expr} AS new_state FROM ("
        f"SELECT c.*, row_number() OVER (PARTITION BY c.participant_profile_id, c.course_identifier, "
        f"c.declaration_type ORDER BY c.created_at DESC, c.id) AS rn FROM ("
        f"SELECT {selected} FROM {table.name} t CROSS JOIN generate_series(1, {copies}) AS k "
        f"CROSS JOIN generate_series(1, {extra}) AS j "
        "WHERE t.id IN (SELECT id FROM bench_original_declarations)) c) x) s"
    )


async def recreate_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def sandbox_seed(url: str) -> None:
    from app.db import create_engine, create_sessionmaker
    from app.seed import seed_sandbox
    from app.settings import Environment, Settings

    settings = Settings(database_url=url, environment=Environment.SANDBOX)
    engine = create_engine(settings, url)
    try:
        async with create_sessionmaker(engine)() as session:
            await seed_sandbox(session, settings=settings, today=datetime.now(UTC).date())
            await session.commit()
    finally:
        await engine.dispose()


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    out: dict[str, int] = {}
    for name in sorted(Base.metadata.tables):
        out[name] = int(await conn.fetchval(f"SELECT count(*) FROM {name}"))
    return out


async def multiply(url: str, scale: float) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        ecf = int(
            await conn.fetchval("SELECT count(*) FROM participant_profiles WHERE profile_type <> 'npq'")
        )
        npq = int(await conn.fetchval("SELECT count(*) FROM npq_applications"))
        decl = int(await conn.fetchval("SELECT count(*) FROM participant_declarations"))
        copies = max(
            1,
            math.ceil(TARGET_ECF * scale / max(ecf, 1)) - 1,
            math.ceil(TARGET_NPQ * scale / max(npq, 1)) - 1,
        )
        total_decl = decl * (copies + 1)
        extra = max(0, math.ceil((TARGET_DECLARATIONS * scale - total_decl) / max(decl * copies, 1)))
        print(
            f"sandbox: {ecf} ECF records, {npq} NPQ applications, {decl} declarations; "
            f"{copies} copies, {extra} extra (later types) per copied declaration"
        )
        tables = Base.metadata.tables
        async with conn.transaction():
            for name in COPIED:
                await conn.execute(f"ALTER TABLE {name} DISABLE TRIGGER USER")
            await conn.execute(
                "CREATE TEMP TABLE bench_original_declarations AS SELECT id FROM participant_declarations"
            )
            for name in COPIED:
                started = time.perf_counter()
                status = await conn.execute(copy_statement(tables[name], copies))
                print(f"  {name:<34} {status.split()[-1]:>10} rows  {time.perf_counter() - started:6.1f}s")
                if name == "participant_declarations" and extra:
                    started = time.perf_counter()
                    table = tables[name]
                    status = await conn.execute(extra_copies_statement(table, copies, extra))
                    print(
                        f"  {name + ' (extra)':<34} {status.split()[-1]:>10} rows  "
                        f"{time.perf_counter() - started:6.1f}s"
                    )
            for name in COPIED:
                await conn.execute(f"ALTER TABLE {name} ENABLE TRIGGER USER")
            # Rows loaded with triggers off moved no participant's version: forget any rendering.
            await conn.execute("DELETE FROM ecf_participant_documents")
            # The triggers that keep the derived tables (each ECF provider's latest induction records,
            # transfer set, records with inherited declarations and unfunded mentors, declarations per
            # month, each NPQ provider's participants) were off for the copies: rebuild them once,
            # from everything.
            started = time.perf_counter()
            await conn.execute("SELECT cpd_rebuild_latest_induction_records()")
            rebuilt = await conn.fetchval("SELECT count(*) FROM ecf_latest_induction_records")
            took = time.perf_counter() - started
            print(f"  {'ecf_latest_induction_records':<34} {rebuilt:>10} rows  {took:6.1f}s")
            inherited = await conn.fetchval("SELECT count(*) FROM ecf_inherited_declaration_profiles")
            print(f"  {'ecf_inherited_declaration_profiles':<34} {inherited:>10} rows  (rebuilt with it)")
            started = time.perf_counter()
            await conn.execute("SELECT cpd_rebuild_declaration_month_counts()")
            rebuilt = await conn.fetchval("SELECT count(*) FROM participant_declaration_month_counts")
            took = time.perf_counter() - started
            print(f"  {'participant_declaration_month_counts':<34} {rebuilt:>10} rows  {took:6.1f}s")
            started = time.perf_counter()
            await conn.execute("SELECT cpd_rebuild_npq_participant_users()")
            rebuilt = await conn.fetchval("SELECT count(*) FROM npq_participant_users")
            took = time.perf_counter() - started
            print(f"  {'npq_participant_users':<34} {rebuilt:>10} rows  {took:6.1f}s")
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        print(f"  vacuum analyze {time.perf_counter() - started:.1f}s")
    finally:
        await conn.close()


async def main_async(args: argparse.Namespace) -> None:
    url = with_database(args.server_url, args.database)
    started = time.perf_counter()
    if not args.keep:
        await recreate_database(args.server_url, args.database)
        print(f"database {args.database} created")
    from app.migrate import upgrade

    await asyncio.to_thread(upgrade, url)
    print(f"migrated ({time.perf_counter() - started:.1f}s)")
    step = time.perf_counter()
    await sandbox_seed(url)
    print(f"sandbox seed ({time.perf_counter() - step:.1f}s)")
    step = time.perf_counter()
    await multiply(url, args.scale)
    print(f"volume copies ({time.perf_counter() - step:.1f}s)")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await counts(conn)
    finally:
        await conn.close()
    print("rows per table:")
    for name, n in rows.items():
        if n:
            print(f"  {name:<40} {n:>10}")
    print(f"total {sum(rows.values())} rows in {time.perf_counter() - started:.1f}s (scale {args.scale})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=0.05, help="1 = the issue's national volume")
    parser.add_argument(
        "--server-url",
        default=os.environ.get("BENCH_SERVER_URL", DEFAULT_SERVER),
        help="any database URL on the PostgreSQL server (the bench database is created beside it)",
    )
    parser.add_argument("--database", default=DEFAULT_DB)
    parser.add_argument("--keep", action="store_true", help="do not drop and recreate the database")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
