"""Request-scoped dependencies: settings, the session (the one commit point), clock, caller."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.query import ListQuery, parse_iso8601, parse_list_query
from app.clock import SYSTEM_CLOCK, Clock
from app.domain.audit import Actor, audit_unrecorded_write, bind_actor
from app.domain.auth import (
    Caller,
    EcfProvider,
    LeadProviderCaller,
    NpqProvider,
    authenticate,
    require_ecf,
    require_lead_provider,
    require_npq,
)
from app.domain.errors import BAD_JSON_STRUCTURE, BadRequest, DomainError
from app.repositories.tokens import TokenRepository
from app.security import parse_authorization
from app.settings import Settings

log = logging.getLogger("cpd_api")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_settings(request: Request) -> Settings:
    return _settings(request)


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return maker


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READ_METHODS = frozenset({"GET", "HEAD"})

_READ_ONLY = "_cpd_read_only"
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def read_only(endpoint: Endpoint) -> Endpoint:
    """Mark a GET endpoint whose statements only read (besides self-contained single-statement
    writes such as a token's last use or a stored document): its session runs on an autocommit
    connection, without the BEGIN and COMMIT round trips a transaction costs (two of a small
    list's four). Under READ COMMITTED every statement takes its own snapshot either way, so the
    answers are the same. Not for streamed exports (a server-side cursor needs a transaction) nor
    for anything that locks rows or writes more than one statement."""
    setattr(endpoint, _READ_ONLY, True)
    return endpoint


def is_read_only(endpoint: object) -> bool:
    return bool(getattr(endpoint, _READ_ONLY, False))


def _request_maker(request: Request) -> async_sessionmaker[AsyncSession]:
    if request.method in READ_METHODS and is_read_only(request.scope.get("endpoint")):
        reader: async_sessionmaker[AsyncSession] = request.app.state.read_sessionmaker
        return reader
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return maker


async def finish(session: AsyncSession, *, autocommit: bool) -> None:
    """Commit a request's work. On an autocommit connection each statement committed as it ran, so
    only objects still pending in the session need the commit (which flushes them); with none, the
    commit is skipped, and with it SQLAlchemy's transaction bookkeeping (0.06 of a one-row list's
    0.9 ms in the worker)."""
    if autocommit and not (session.new or session.dirty or session.deleted):
        return
    await session.commit()


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, committed once when the endpoint returns.

    Used with scope="function" so the commit happens before the response is sent:
    a failed commit becomes an error response, never a success that was not stored.
    A successful write request always leaves an audit event (see audit_unrecorded_write).
    Read-only endpoints (see `read_only`) get an autocommit session, committed only if something
    is pending in it (see `finish`).
    """
    maker = _request_maker(request)
    autocommit = maker is not request.app.state.sessionmaker
    async with maker() as session:
        try:
            yield session
            if request.method in WRITE_METHODS:
                route = getattr(request.scope.get("route"), "path", request.url.path)
                await audit_unrecorded_write(session, request.method, route)
            await finish(session, autocommit=autocommit)
        except DomainError as exc:
            # A refused request may still leave an audit trail (e.g. the declaration attempts log).
            await (session.commit() if exc.keep_writes else session.rollback())
            raise
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


# get_clock and get_caller, resolved on every request, read the settings from the app themselves
# rather than through SettingsDep: each dependency FastAPI resolves has a cost per request (these
# two: a one-row list in one worker 0.90-0.92 -> 0.83-0.89 ms).
async def get_clock(request: Request) -> Clock:
    return clock_for(request, _settings(request))


def clock_for(request: Request, settings: Settings) -> Clock:
    """Now; outside production, `X-With-Server-Date` moves it for the whole request."""
    header = request.headers.get("x-with-server-date")
    if not header or not settings.time_travel_allowed:
        return SYSTEM_CLOCK
    instant = parse_iso8601(header)
    if instant is None:
        raise BadRequest("The 'X-With-Server-Date' header must be an ISO 8601 date and time")
    return Clock.travelling_to(instant)


ClockDep = Annotated[Clock, Depends(get_clock)]


async def get_caller(request: Request, session: SessionDep, clock: ClockDep) -> Caller:
    raw = parse_authorization(request.headers.get("authorization"))
    caller = await authenticate(
        TokenRepository(session),
        raw,
        _settings(request).token_hmac_key,
        clock.now(),
        request.app.state.token_cache,
    )
    request.state.provider_name = caller.cpd_lead_provider_name  # for the request log
    bind_actor(
        session,
        Actor(
            type=caller.scope.value,
            token_id=caller.token_id,
            organisation_id=caller.cpd_lead_provider_id or caller.school_id,
            request_id=request.headers.get("x-request-id"),
        ),
    )
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_ecf_provider(caller: CallerDep) -> EcfProvider:
    return require_ecf(caller)


EcfProviderDep = Annotated[EcfProvider, Depends(get_ecf_provider)]


async def get_npq_provider(caller: CallerDep) -> NpqProvider:
    return require_npq(caller)


NpqProviderDep = Annotated[NpqProvider, Depends(get_npq_provider)]


async def get_lead_provider(caller: CallerDep) -> LeadProviderCaller:
    return require_lead_provider(caller)


LeadProviderDep = Annotated[LeadProviderCaller, Depends(get_lead_provider)]


async def get_list_query(request: Request) -> ListQuery:
    return parse_list_query(request)


ListQueryDep = Annotated[ListQuery, Depends(get_list_query)]


async def get_filter_query(request: Request) -> ListQuery:
    return parse_list_query(request, paginated=False)


# Filters and sort only: for CSV exports and single-record routes, which are not paginated.
FilterQueryDep = Annotated[ListQuery, Depends(get_filter_query)]


async def get_json_body(request: Request) -> Any:
    """The request's JSON document; an unreadable body is a 400 with the contract's message."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest(BAD_JSON_STRUCTURE) from None


JsonBodyDep = Annotated[Any, Depends(get_json_body)]
