"""The ASGI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.deps import SessionDep
from app.api.docs import install_docs
from app.api.errors import install_error_handlers
from app.api.internal.routes import router as internal_router
from app.api.responses import JSONAPIResponse
from app.api.v1.routes import router as v1_router
from app.api.v2.routes import router as v2_router
from app.api.v3.routes import router as v3_router
from app.db import create_engine, create_sessionmaker
from app.repositories.health import database_ok
from app.settings import Settings, get_settings

log = logging.getLogger("cpd_api")


def create_app(
    settings: Settings | None = None,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
) -> FastAPI:
    """Build the app. Tests pass their own sessionmaker; otherwise the lifespan makes one."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if sessionmaker is not None:
            app.state.sessionmaker = sessionmaker
            yield
            return
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set (use `cpd-api serve`, which provides one)")
        engine = create_engine(settings, settings.database_url)
        app.state.sessionmaker = create_sessionmaker(engine)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="Manage teacher CPD - lead provider API",
        version="3.0.0",
        description="Lead provider API for early career framework (ECF) and NPQ training, versions 1 to 3.",
        lifespan=lifespan,
        default_response_class=JSONAPIResponse,
        # Docs pages are served per version from vendored assets (app/api/docs.py), not from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    if sessionmaker is not None:
        app.state.sessionmaker = sessionmaker
    install_error_handlers(app)
    app.include_router(v1_router)
    app.include_router(v2_router)
    app.include_router(v3_router)
    install_docs(app)
    app.include_router(internal_router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz(session: SessionDep) -> JSONAPIResponse:
        """Liveness and database reachability, for load balancers and the container healthcheck."""
        return JSONAPIResponse({"status": "ok", "database": await database_ok(session)})

    return app
