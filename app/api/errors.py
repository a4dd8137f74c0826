"""The single place where errors become the contract's status codes and bodies."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.api.responses import JSONAPIResponse
from app.domain.errors import (
    BAD_JSON_STRUCTURE,
    BadRequest,
    Forbidden,
    InvalidAction,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)

log = logging.getLogger("cpd_api.errors")

UNAUTHORISED_BODY = {"error": "HTTP Token: Access denied"}
NOT_FOUND_BODY = {"error": "Resource not Found"}
# character_not_in_repertoire (e.g. NUL) and untranslatable_character.
UNSTORABLE_TEXT = {"22021", "22P05"}
UNSTORABLE_TEXT_DETAIL = "The request contains characters that cannot be stored (such as \\u0000)"
# The database cannot serve the request now: it is unreachable, its connection broke, or the
# statement ran past statement_timeout. Nothing of the request was kept; retrying later is safe.
DATABASE_UNAVAILABLE = ("Service unavailable", "The service is temporarily unavailable. Try again later.")
# query_canceled (statement_timeout), lock_not_available, too_many_connections, admin/crash
# shutdown, cannot_connect_now, and the transaction rollbacks PostgreSQL asks clients to retry
# (deadlock_detected, serialization_failure); class 08 is every connection exception.
UNAVAILABLE_SQLSTATES = {"57014", "55P03", "53300", "57P01", "57P02", "57P03", "40P01", "40001"}
RETRY_AFTER_SECONDS = "5"


def _sqlstate(exc: DBAPIError) -> str | None:
    cause = exc.orig.__cause__ if exc.orig is not None else None
    return getattr(exc.orig, "sqlstate", None) or getattr(cause, "sqlstate", None)


def _unavailable(sqlstate: str | None) -> bool:
    return sqlstate is not None and (sqlstate in UNAVAILABLE_SQLSTATES or sqlstate.startswith("08"))


def database_unavailable(request: Request, cause: BaseException, sqlstate: str | None = None) -> Response:
    """503 with a JSON:API error body; the log names the failure's class (and SQLSTATE), never its
    message, which may quote request data."""
    log.warning(
        "database unavailable on %s %s: %s%s",
        request.method,
        request.url.path,
        type(cause).__name__,
        f" (SQLSTATE {sqlstate})" if sqlstate else "",
    )
    return JSONAPIResponse(
        errors_body([DATABASE_UNAVAILABLE]), status_code=503, headers={"Retry-After": RETRY_AFTER_SECONDS}
    )


def errors_body(pairs: list[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
    return {"errors": [{"title": title, "detail": detail} for title, detail in pairs]}


def unauthorised() -> Response:
    return JSONAPIResponse(
        UNAUTHORISED_BODY, status_code=401, headers={"WWW-Authenticate": 'Token realm="Application"'}
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Unauthenticated)
    async def _unauthenticated(_: Request, __: Unauthenticated) -> Response:
        return unauthorised()

    @app.exception_handler(Forbidden)
    async def _forbidden(_: Request, __: Forbidden) -> Response:
        return Response(status_code=403)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, __: NotFound) -> Response:
        return JSONAPIResponse(NOT_FOUND_BODY, status_code=404)

    @app.exception_handler(BadRequest)
    async def _bad_request(_: Request, exc: BadRequest) -> Response:
        return JSONAPIResponse(errors_body([(exc.title, exc.detail)]), status_code=400)

    @app.exception_handler(InvalidAction)
    async def _invalid_action(_: Request, exc: InvalidAction) -> Response:
        return JSONAPIResponse(errors_body([("Invalid action", exc.detail)]), status_code=422)

    @app.exception_handler(ValidationFailed)
    async def _validation_failed(_: Request, exc: ValidationFailed) -> Response:
        return JSONAPIResponse(errors_body(exc.grouped()), status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> Response:
        # Bodies and parameters are parsed by our own code; anything FastAPI rejects
        # first is a structurally wrong request.
        return JSONAPIResponse(errors_body([("Bad request", BAD_JSON_STRUCTURE)]), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return JSONAPIResponse(NOT_FOUND_BODY, status_code=404)
        if exc.status_code == 405:
            return JSONAPIResponse({"error": "Method Not Allowed"}, status_code=405)
        return JSONAPIResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> Response:
        # Text PostgreSQL cannot store (a NUL character, in a body or a query) is the client's
        # error, whichever statement met it first; the request's transaction is rolled back.
        sqlstate = _sqlstate(exc)
        if sqlstate in UNSTORABLE_TEXT:
            return JSONAPIResponse(errors_body([("Bad request", UNSTORABLE_TEXT_DETAIL)]), status_code=400)
        if exc.connection_invalidated or _unavailable(sqlstate):
            return database_unavailable(request, exc, sqlstate)
        raise exc

    @app.exception_handler(OSError)
    async def _unreachable(request: Request, exc: OSError) -> Response:
        # A connection refused, reset or timed out (TimeoutError is an OSError) before the driver
        # had a PostgreSQL error to report: the database is out of reach.
        return database_unavailable(request, exc)

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: PoolTimeout) -> Response:
        # Every pooled connection stayed busy past the pool's timeout.
        return database_unavailable(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
        log.exception("unhandled error on %s %s (request %s)", request.method, request.url.path, request_id)
        return JSONAPIResponse(
            {"error": "Internal server error"}, status_code=500, headers={"X-Request-Id": request_id}
        )
