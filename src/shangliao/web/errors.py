"""Every failure leaves as ``{"error": {"code", "message", "details"}}`` in the caller's language."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shangliao.core.errors import ShangliaoError
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
    )
}

_HTTP_CODES = {
    404: ("http.not_found", N_("Not found.")),
    405: ("http.method_not_allowed", N_("This method is not allowed here.")),
    413: ("http.too_large", N_("The request is too large.")),
}


def _locale(request: Request) -> str:
    # Worked out again here rather than read from LocaleMiddleware's context variable: the handler
    # for unexpected errors runs outside that middleware.
    return locale_from_headers(request.headers.get("cookie"), request.headers.get("accept-language"))


# Renders a refusal as a console page (or an HTMX fragment) instead of JSON: set by the console.
PageErrors = Callable[[Request, int, str, str], Response]


# The shop page's own API (``/s/<shop>/api/…``) answers in JSON like ``/api/v1``.
_SHOP_PAGE_API = re.compile(r"^/s/[^/]+/api/")


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/static/")) or path == "/healthz" or bool(_SHOP_PAGE_API.match(path))


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


def install(app: FastAPI, page_errors: PageErrors | None = None) -> None:
    """JSON refusals for the API; console pages get ``page_errors`` (never a stack trace)."""

    def refuse(request: Request, status: int, code: str, message: str, details=None, headers=None):
        if page_errors is not None and not wants_json(request):
            return page_errors(request, status, code, message)
        return error_response(status, code, message, details, headers)

    @app.exception_handler(ShangliaoError)
    async def _domain(request: Request, exc: ShangliaoError):
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return refuse(request, exc.status, exc.code, exc.localized(_locale(request)), exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return refuse(
            request,
            422,
            "request.invalid",
            gettext(N_("Some fields are missing or invalid."), _locale(request)),
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
        # Logged with the trace for the operator; the caller only learns that it failed.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return refuse(
            request,
            500,
            "server.error",
            gettext(N_("Something went wrong on our side. Please try again."), _locale(request)),
        )
