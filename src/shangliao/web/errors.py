"""Every failure leaves as ``{"error": {"code", "message", "details"}}`` in the caller's language."""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import traceback
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shangliao.core.errors import ShangliaoError
from shangliao.core.field_labels import field_names
from shangliao.core.i18n import N_, gettext
from shangliao.web.locale import locale_from_headers
from shangliao.web.responses import JSONResponse

log = logging.getLogger(__name__)


class ErrorOut(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorBody(BaseModel):
    """What every refusal looks like (rule 9 of docs/architecture.md)."""

    error: ErrorOut


# The refusals any ``/api/v1`` route may answer with, declared once so the OpenAPI schema tells
# integrators (and the fuzzer) the truth: the error shape, not FastAPI's default ``{"detail": …}``.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "Bad request"),
        (401, "Not signed in"),
        (403, "Not allowed"),
        (404, "Not found (or in another shop)"),
        (409, "Conflict: stale version, state or duplicate"),
        (422, "Invalid input"),
        (503, "The database or the disk is unavailable for now: retry after Retry-After seconds"),
    )
}

_HTTP_CODES = {
    404: ("http.not_found", N_("Not found.")),
    405: ("http.method_not_allowed", N_("This method is not allowed here.")),
    413: ("http.too_large", N_("The request is too large.")),
}


RETRY_AFTER = 5  # seconds: what a caller refused for an unavailable database is told to wait

# Why the storage refused, as (code, message). Each answers 503 with Retry-After: the request
# itself was fine, and the same request can succeed once the database or the disk is back.
_UNAVAILABLE = ("db.unavailable", N_("The database is not answering right now. Please try again shortly."))
_BUSY = ("db.busy", N_("The database is busy right now. Please try again shortly."))
_FULL = ("storage.full", N_("The server has run out of disk space. Please try again later."))
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_FULL = 5, 6, 13
# The disk or the file failing under SQLite (I/O error, read-only, cannot open, protocol):
# anything else it calls "operational" (no such table, a bad statement) is a bug, a 500.
_SQLITE_UNAVAILABLE = {8, 10, 14, 15}
_PG_DISK_FULL = "53100"


def storage_failure(exc: BaseException) -> tuple[str, str] | None:
    """The (code, message) of a database or disk failure worth a 503, or None for a bug."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _FULL
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free in time
        return _UNAVAILABLE
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    orig = exc.orig
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if sqlite_code is not None:
        primary = sqlite_code & 0xFF  # extended codes (SQLITE_IOERR_WRITE…) keep the primary below
        if primary == _SQLITE_FULL:
            return _FULL
        if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return _BUSY
        return _UNAVAILABLE if primary in _SQLITE_UNAVAILABLE else None
    if getattr(orig, "sqlstate", None) == _PG_DISK_FULL:
        return _FULL
    if exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        # PostgreSQL's operational errors are about the server, not the statement: statement and
        # lock timeouts, a dropped or refused connection, too many clients, a deadlock.
        return _UNAVAILABLE
    return None


def log_unexpected(request: Request, exc: BaseException) -> None:
    """Log the trace for the operator, without the values a request sent: a database error's text
    carries what the statement was given (PostgreSQL echoes the offending row in its detail), so
    it is logged by type and SQLSTATE only."""
    if isinstance(exc, sa_exc.DBAPIError):
        trace = "".join(traceback.format_tb(exc.__traceback__))
        log.error(
            "unhandled error on %s %s: %s\n%s", request.method, request.url.path, db_error_brief(exc), trace
        )
    else:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)


def db_error_brief(exc: BaseException) -> str:
    """Class and SQLSTATE of a database error: no message text, which may echo a value sent."""
    orig = getattr(exc, "orig", None)
    if orig is not None:
        state = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
        return f"{type(exc).__name__}: {type(orig).__name__} ({state})"
    return type(exc).__name__


def _locale(request: Request) -> str:
    # Worked out again here rather than read from LocaleMiddleware's context variable: the handler
    # for unexpected errors runs outside that middleware.
    return locale_from_headers(request.headers.get("cookie"), request.headers.get("accept-language"))


# Renders a refusal as a console page (or an HTMX fragment) instead of JSON: set by the console.
PageErrors = Callable[[Request, int, str, str], Response]


# The shop page's own API (``/s/<shop>/api/…``) answers in JSON like ``/api/v1``.
_SHOP_PAGE_API = re.compile(r"^/s/[^/]+/api/")


def wants_json(request: Request) -> bool:
    # The path as routed, not ``request.url.path``: building the URL drops tabs and newlines
    # (urllib's URL cleaning), so ``/s/%0A/api/…`` would no longer look like the shop page's API.
    path = request.scope["path"]
    return (
        path.startswith(("/api/", "/static/"))
        or path in ("/healthz", "/readyz")
        or bool(_SHOP_PAGE_API.match(path))
    )


def error_response(status: int, code: str, message: str, details: dict | None = None, headers=None):
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details or {}}},
        status_code=status,
        headers=headers,
    )


def is_unique_violation(exc: IntegrityError) -> bool:
    """A unique index refused a row (SQLite says so in its message, PostgreSQL in SQLSTATE 23505)."""
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == "23505" or str(orig).startswith("UNIQUE constraint failed")


def _clean_validation_errors(errors: list[dict]) -> list[dict]:
    """Field path, message and type only: echoing the rejected input back could reflect PII."""
    return [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]


async def pace(request: Request, exc: ShangliaoError) -> None:
    """Hold back the answer to a paced refusal (``exc.paced``) by ``settings.refusal_pause``.

    Waiting here costs a parked coroutine, not a thread or the CPU: a client guessing tokens or
    passwords on one connection gets a couple of answers a second, and the core it would have
    taken serves orders (bench/order_create.py --flood). A route that answers such a refusal
    itself (the console's sign-in form) awaits this first.
    """
    if exc.paced:
        await asyncio.sleep(request.app.state.runtime.settings.refusal_pause)


def install(app: FastAPI, page_errors: PageErrors | None = None) -> None:
    """JSON refusals for the API; console pages get ``page_errors`` (never a stack trace)."""

    def refuse(request: Request, status: int, code: str, message: str, details=None, headers=None):
        if page_errors is not None and not wants_json(request):
            return page_errors(request, status, code, message)
        return error_response(status, code, message, details, headers)

    @app.exception_handler(ShangliaoError)
    async def _domain(request: Request, exc: ShangliaoError):
        await pace(request, exc)
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return refuse(request, exc.status, exc.code, exc.localized(_locale(request)), exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return refuse(
            request,
            422,
            "request.invalid",
            # The fields named in the reader's words; ``details`` keeps their machine paths.
            gettext(
                N_("Some fields are missing or invalid: {fields}."),
                _locale(request),
                fields=field_names(
                    (".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors()),
                    request.url.path,
                ),
            ),
            {"errors": _clean_validation_errors(list(exc.errors()))},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code, message = _HTTP_CODES.get(exc.status_code, (f"http.{exc.status_code}", str(exc.detail)))
        return refuse(request, exc.status_code, code, gettext(message, _locale(request)), headers=exc.headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError):
        # Two requests raced for one unique key (rule 19 of docs/architecture.md): the loser's unit
        # was rolled back, so nothing changed and a retry may well succeed. The caller hears a
        # conflict, never a 500. Any other integrity error is a bug, reported as one.
        if not is_unique_violation(exc):
            return await _crash(request, exc)
        # By type only: the driver's text echoes the clashing values, which may be PII.
        log.warning("unique key clash on %s %s", request.method, request.url.path)
        return refuse(
            request,
            409,
            "conflict.duplicate",
            gettext(
                N_("This clashed with a change saved at the same moment. Please try again."), _locale(request)
            ),
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        return crash(request, exc)

    def crash(request: Request, exc: BaseException) -> Response:
        failure = storage_failure(exc)
        if failure is not None:
            code, message = failure
            log.warning("%s on %s %s: %s", code, request.method, request.url.path, db_error_brief(exc))
            headers = {"Retry-After": str(RETRY_AFTER)}
            details = {"retry_after": RETRY_AFTER}
            return refuse(request, 503, code, gettext(message, _locale(request)), details, headers)
        # Logged with the trace for the operator; the caller only learns that it failed.
        log_unexpected(request, exc)
        return refuse(
            request,
            500,
            "server.error",
            gettext(N_("Something went wrong on our side. Please try again."), _locale(request)),
        )

    @app.exception_handler(sa_exc.OperationalError)
    @app.exception_handler(sa_exc.InterfaceError)
    @app.exception_handler(sa_exc.TimeoutError)
    @app.exception_handler(OSError)
    async def _storage(request: Request, exc: Exception):
        return crash(request, exc)

    app.add_middleware(AnswerCrashes, crash=crash)


class AnswerCrashes:
    """Answers an unexpected error itself, as the last handler before the server.

    Starlette's own last resort sends the 500 and then re-raises, and Uvicorn closes the
    connection on an exception raised after the answer started: every keep-alive client (a proxy
    in front of us, a browser) would lose its connection to one bug. Plain ASGI: it only watches
    whether the answer has started.
    """

    def __init__(self, app: ASGIApp, crash: Callable[[Request, BaseException], Response]) -> None:
        self.app, self.crash = app, crash

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:  # too late for another answer: the server must end this one
                raise
            await self.crash(Request(scope, receive), exc)(scope, receive, send)
