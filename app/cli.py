"""`cpd-api`: migrate, seed, create-token, serve, and `up` (all three for a fresh machine); statement
and finance commands for operators."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from app import embedded_pg
from app.domain.audit import CLI as CLI_ACTOR
from app.domain.audit import bind_actor
from app.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("cpd_api.cli")


def _embedded_pgdata(settings: Settings) -> Path:
    pgdata = Path(settings.embedded_pgdata)
    return pgdata if pgdata.is_absolute() else ROOT / pgdata


def database_url(settings: Settings) -> str:
    """DATABASE_URL, or the embedded server (started on demand, data under .pgdata/)."""
    if settings.database_url:
        return settings.database_url
    pgdata = _embedded_pgdata(settings)
    print(f"DATABASE_URL is not set: using the embedded PostgreSQL in {pgdata}", file=sys.stderr)
    return embedded_pg.ensure_database(pgdata, settings.embedded_database)


def cmd_migrate(settings: Settings) -> None:
    from app.migrate import upgrade

    upgrade(database_url(settings))
    print("migrations applied")


async def _seed(settings: Settings, url: str) -> None:
    from app.db import create_engine, create_sessionmaker
    from app.seed import seed_reference_data, seed_sandbox

    engine = create_engine(settings, url)
    try:
        async with create_sessionmaker(engine)() as session:
            bind_actor(session, CLI_ACTOR)
            if settings.is_production:
                report = await seed_reference_data(session)
            else:
                report = await seed_sandbox(session, settings=settings, today=datetime.now(UTC).date())
            await session.commit()
        print(f"seed complete ({settings.environment.value}): {report}")
    finally:
        await engine.dispose()


def cmd_seed(settings: Settings) -> None:
    asyncio.run(_seed(settings, database_url(settings)))


async def _create_token(settings: Settings, url: str, provider: str, description: str | None) -> str:
    from app.db import create_engine, create_sessionmaker
    from app.domain.auth import issue_token
    from app.domain.enums import TokenScope
    from app.repositories.tokens import TokenRepository

    engine = create_engine(settings, url)
    try:
        async with create_sessionmaker(engine)() as session:
            bind_actor(session, CLI_ACTOR)
            repo = TokenRepository(session)
            owner = await repo.find_cpd_lead_provider(provider)
            if owner is None:
                raise SystemExit(f"no lead provider named or with id {provider!r}")
            raw = await issue_token(
                repo,
                settings.token_hmac_key,
                scope=TokenScope.LEAD_PROVIDER,
                cpd_lead_provider_id=owner.id,
                description=description,
            )
            await session.commit()
            return raw
    finally:
        await engine.dispose()


def cmd_create_token(settings: Settings, provider: str, description: str | None) -> None:
    raw = asyncio.run(_create_token(settings, database_url(settings), provider, description))
    print("Token created. It is shown only this once; store it safely:", file=sys.stderr)
    print(raw)


async def _revoke_tokens(settings: Settings, url: str, provider: str | None, raw: str | None) -> int:
    from app.db import create_engine, create_sessionmaker
    from app.domain.auth import revoke_tokens
    from app.repositories.tokens import TokenRepository

    engine = create_engine(settings, url)
    try:
        async with create_sessionmaker(engine)() as session:
            bind_actor(session, CLI_ACTOR)
            repo = TokenRepository(session)
            provider_id = None
            if provider is not None:
                owner = await repo.find_cpd_lead_provider(provider)
                if owner is None:
                    raise SystemExit(f"no lead provider named or with id {provider!r}")
                provider_id = owner.id
            revoked = await revoke_tokens(
                repo,
                settings.token_hmac_key,
                datetime.now(UTC),
                raw_token=raw,
                cpd_lead_provider_id=provider_id,
            )
            await session.commit()
            return len(revoked)
    finally:
        await engine.dispose()


def cmd_revoke_token(settings: Settings, provider: str | None) -> None:
    """Revoke every live token of a lead provider, or the one token read from standard input (never
    from the command line, where it would stay in the shell's history and the process list)."""
    raw = None
    if provider is None:
        raw = sys.stdin.readline().strip()
        if not raw:
            raise SystemExit("no token on standard input (or give --provider)")
    count = asyncio.run(_revoke_tokens(settings, database_url(settings), provider, raw))
    if count == 0:
        raise SystemExit("no live token matched: nothing revoked")
    print(
        f"{count} token{'s' if count != 1 else ''} revoked; every worker refuses "
        f"{'them' if count != 1 else 'it'} within {settings.token_cache_ttl:g} s (TOKEN_CACHE_SECONDS)"
    )


async def _statements(settings: Settings, url: str, action: str, statement_id: str | None) -> None:
    import uuid

    from app.db import create_engine, create_sessionmaker
    from app.domain.declaration_lifecycle import StatementPayments
    from app.domain.errors import DomainError, NotFound

    try:
        ident = uuid.UUID(statement_id) if statement_id is not None else None
    except ValueError:
        raise SystemExit(f"not a statement id: {statement_id!r}") from None
    engine = create_engine(settings, url)
    now = datetime.now(UTC)
    try:
        async with create_sessionmaker(engine)() as session:
            bind_actor(session, CLI_ACTOR)
            payments = StatementPayments(session)
            try:
                if action == "mark-due-payable":
                    done = await payments.mark_due_payable(now.date())
                elif action == "mark-payable":
                    done = [await payments.mark_payable(ident or uuid.UUID(int=0), now.date())]
                else:
                    done = [await payments.mark_paid(ident or uuid.UUID(int=0), now)]
            except NotFound:
                raise SystemExit(f"no statement with id {statement_id}") from None
            except DomainError as exc:
                raise SystemExit(str(exc)) from None
            await session.commit()
        for t in done:
            extra = f", {t.clawbacks} clawed back" if t.to_state == "paid" else ""
            print(f"{t.name} ({t.statement_id}) -> {t.to_state}: {t.declarations} declarations{extra}")
        if not done:
            print("no statement was due")
    finally:
        await engine.dispose()


def cmd_statements(settings: Settings, action: str, statement_id: str | None) -> None:
    asyncio.run(_statements(settings, database_url(settings), action, statement_id))


async def _prune_participant_documents(settings: Settings, url: str) -> int:
    from app.db import create_engine, create_sessionmaker
    from app.repositories.participant_documents import ParticipantDocumentRepository

    engine = create_engine(settings, url)
    try:
        async with create_sessionmaker(engine)() as session:
            deleted = await ParticipantDocumentRepository(session).prune(datetime.now(UTC))
            await session.commit()
        return deleted
    finally:
        await engine.dispose()


def cmd_prune_participant_documents(settings: Settings) -> None:
    deleted = asyncio.run(_prune_participant_documents(settings, database_url(settings)))
    print(f"{deleted} participant documents no longer current deleted")


async def _create_internal_token(
    settings: Settings, url: str, role: str, school: str | None, description: str | None
) -> str:
    import uuid

    from app.db import create_engine, create_sessionmaker
    from app.domain.auth import issue_internal_token
    from app.domain.enums import TokenScope
    from app.domain.errors import ValidationFailed
    from app.repositories.tokens import TokenRepository

    try:
        school_id = uuid.UUID(school) if school is not None else None
    except ValueError:
        raise SystemExit(f"not a school id: {school!r}") from None
    engine = create_engine(settings, url)
    try:
        async with create_sessionmaker(engine)() as session:
            bind_actor(session, CLI_ACTOR)
            try:
                raw = await issue_internal_token(
                    TokenRepository(session),
                    settings.token_hmac_key,
                    role=TokenScope(role),
                    school_id=school_id,
                    description=description,
                )
            except ValidationFailed as exc:
                raise SystemExit("; ".join(f"{where}: {message}" for where, message in exc.errors)) from None
            await session.commit()
            return raw
    finally:
        await engine.dispose()


def cmd_create_internal_token(
    settings: Settings, role: str, school: str | None, description: str | None
) -> None:
    raw = asyncio.run(_create_internal_token(settings, database_url(settings), role, school, description))
    print(f"{role} token created. It is shown only this once; store it safely:", file=sys.stderr)
    print(raw)


async def _finance(settings: Settings, url: str, args: argparse.Namespace, content: str | None) -> str:
    """`cpd-api finance ...`: one transaction; an error changes nothing and exits non-zero."""
    import json

    from app.db import create_engine, create_sessionmaker
    from app.domain.errors import NotFound, ValidationFailed
    from app.domain.finance.imports import ContractImporter, StatementImporter
    from app.domain.finance.rendering import calculation_csv, calculation_data
    from app.domain.finance.statements import FinanceStatementService

    engine = create_engine(settings, url)
    try:
        async with create_sessionmaker(engine)() as session:
            bind_actor(session, CLI_ACTOR)
            try:
                if args.action == "calculate":
                    calculation = await FinanceStatementService(session).calculate(args.statement_id)
                    if args.csv:
                        return calculation_csv(calculation)
                    return json.dumps(calculation_data(calculation), indent=2) + "\n"
                if args.action == "import-statements":
                    today = args.today or datetime.now(UTC).date()
                    result = await StatementImporter(session).load(content or "", today)
                    lines = [
                        f"created {s.programme} statement {s.name!r} (cohort {s.cohort})"
                        f" for {s.provider_name}: {s.state}"
                        for s in result.created
                    ]
                    lines.append(f"{len(result.created)} created, {result.skipped} already existed")
                else:
                    try:
                        document = json.loads(content or "")
                    except json.JSONDecodeError as exc:
                        raise SystemExit(f"{args.file} is not JSON: {exc}") from None
                    if isinstance(document, dict) and isinstance(document.get("data"), dict):
                        document = document["data"].get("attributes")  # a JSON:API request document
                    loaded = await ContractImporter(session).load(document)
                    lines = [
                        f"ECF contracts: {loaded.ecf_created} created, {loaded.ecf_updated} replaced",
                        f"NPQ contracts: {loaded.npq_created} created, {loaded.npq_updated} replaced",
                    ]
            except NotFound:
                raise SystemExit(f"no statement with id {args.statement_id}") from None
            except ValidationFailed as exc:
                raise SystemExit("\n".join(f"{where}: {message}" for where, message in exc.errors)) from None
            await session.commit()
            return "\n".join(lines) + "\n"
    finally:
        await engine.dispose()


def cmd_finance(settings: Settings, args: argparse.Namespace) -> None:
    content = None
    if args.action != "calculate":
        try:
            content = Path(args.file).read_text(encoding="utf-8")
        except OSError as exc:
            raise SystemExit(f"cannot read {args.file}: {exc.strerror}") from None
    sys.stdout.write(asyncio.run(_finance(settings, database_url(settings), args, content)))


def cmd_serve(settings: Settings, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve with N worker processes (--workers, else WEB_CONCURRENCY / WORKERS).

    Every worker opens its own pool on the same database and counts rate limits in the same shared
    store (Redis or PostgreSQL). With PROMETHEUS_MULTIPROC_DIR set, workers write their metrics
    there and /metrics adds them up; the directory is emptied first so no stale worker counts.
    """
    import uvicorn

    from app.observability import clear_multiprocess_dir, log_config
    from app.serving import balanced, serve_balanced

    # Workers inherit the resolved URL, so none of them starts a database of its own.
    os.environ["DATABASE_URL"] = database_url(settings)
    os.environ["ENVIRONMENT"] = settings.environment.value
    get_settings.cache_clear()
    clear_multiprocess_dir()
    options: dict[str, Any] = {
        "host": host or settings.host,
        "port": port or settings.port,
        "workers": workers or settings.workers,
        "timeout_worker_healthcheck": int(settings.worker_healthcheck_timeout_s),
        "log_level": settings.log_level,
        "log_config": log_config(settings.log_level, json=settings.log_json),
        # The request-log middleware writes one line per request; uvicorn's would repeat it.
        "access_log": False,
        "proxy_headers": True,
    }
    config = uvicorn.Config("app.asgi:app", **options)
    if balanced(config):
        serve_balanced(config)  # several workers, each listening on a socket of its own
    else:
        uvicorn.run("app.asgi:app", **options)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="cpd-api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("stop-db", help="stop the embedded PostgreSQL (its data is kept)")
    sub.add_parser("seed", help="load reference data, plus the sandbox data outside production (idempotent)")
    token = sub.add_parser("create-token", help="create an API token for a lead provider and print it once")
    token.add_argument("provider", help="the CPD lead provider's name or id")
    token.add_argument("--description", default=None)
    revoke = sub.add_parser(
        "revoke-token",
        help="revoke the token given on standard input, or every live token of a lead provider (--provider)",
    )
    revoke.add_argument("--provider", default=None, help="the CPD lead provider's name or id")
    statements = sub.add_parser("statements", help="move statements (and their declarations) towards payment")
    statements_sub = statements.add_subparsers(dest="action", required=True)
    statements_sub.add_parser(
        "mark-due-payable", help="every open statement past its deadline becomes payable (run daily)"
    )
    for action, help_text in (
        ("mark-payable", "one open statement past its deadline becomes payable"),
        ("mark-paid", "a payable statement is paid: payable -> paid, awaiting clawback -> clawed back"),
    ):
        statements_sub.add_parser(action, help=help_text).add_argument("statement_id")
    internal = sub.add_parser(
        "create-internal-token",
        help="create a token for an internal role (DfE finance, ...) and print it once",
    )
    internal.add_argument("--role", required=True, choices=["finance", "admin", "school", "npq_registration"])
    internal.add_argument("--school", default=None, help="the school a `school` token acts for (its id)")
    internal.add_argument("--description", default=None)
    finance = sub.add_parser("finance", help="statement calculations, statement schedules and contracts")
    finance_sub = finance.add_subparsers(dest="action", required=True)
    calculate = finance_sub.add_parser("calculate", help="what a statement pays (JSON, or CSV with --csv)")
    calculate.add_argument("statement_id")
    calculate.add_argument("--csv", action="store_true", help="one CSV line per payment, then the totals")
    import_statements = finance_sub.add_parser(
        "import-statements",
        help="create statements from a schedule CSV (type,name,cohort,deadline_date,payment_date,output_fee)",
    )
    import_statements.add_argument("file")
    import_statements.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        help="judge statement states on this date (YYYY-MM-DD)",
    )
    import_contracts = finance_sub.add_parser(
        "import-contracts", help="create or replace ECF and NPQ contracts from a JSON file"
    )
    import_contracts.add_argument("file")
    sub.add_parser(
        "prune-participant-documents",
        help="delete stored participant renderings no page can use any more (safe at any time)",
    )
    for name, help_text in (("serve", "serve the API"), ("up", "migrate, seed, then serve")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--host", default=None)
        p.add_argument("--port", type=int, default=None)
        p.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    settings = get_settings()

    if args.command == "migrate":
        cmd_migrate(settings)
    elif args.command == "stop-db":
        stopped = embedded_pg.stop(_embedded_pgdata(settings))
        print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
    elif args.command == "seed":
        cmd_seed(settings)
    elif args.command == "create-token":
        cmd_create_token(settings, args.provider, args.description)
    elif args.command == "revoke-token":
        cmd_revoke_token(settings, args.provider)
    elif args.command == "statements":
        cmd_statements(settings, args.action, getattr(args, "statement_id", None))
    elif args.command == "create-internal-token":
        cmd_create_internal_token(settings, args.role, args.school, args.description)
    elif args.command == "finance":
        cmd_finance(settings, args)
    elif args.command == "prune-participant-documents":
        cmd_prune_participant_documents(settings)
    elif args.command == "serve":
        cmd_serve(settings, args.host, args.port, args.workers)
    elif args.command == "up":
        cmd_migrate(settings)
        cmd_seed(settings)
        cmd_serve(settings, args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
