"""`cpd-api`: migrate, seed, create-token, serve, and `up` (all three for a fresh machine)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from app import embedded_pg
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


def cmd_serve(settings: Settings, host: str | None, port: int | None, workers: int | None) -> None:
    import uvicorn

    # Workers inherit the resolved URL, so none of them starts a database of its own.
    os.environ["DATABASE_URL"] = database_url(settings)
    os.environ["ENVIRONMENT"] = settings.environment.value
    get_settings.cache_clear()
    uvicorn.run(
        "app.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level=settings.log_level,
        proxy_headers=True,
    )


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
    elif args.command == "serve":
        cmd_serve(settings, args.host, args.port, args.workers)
    elif args.command == "up":
        cmd_migrate(settings)
        cmd_seed(settings)
        cmd_serve(settings, args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
