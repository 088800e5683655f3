"""NUL characters are refused at the edge, for every route: path, query and form fields.

PostgreSQL cannot compare or store text holding a NUL (``\\0``) character: a shop slug, a search
term or a login name with one would reach a query and fail there, as a 500 with a trace. JSON
bodies are refused by ``StrictModel``; this does the same for the rest, as a 422 (a JSON refusal
for the API, the usual error page for the console), on SQLite too, so both databases answer alike.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.requests import HTTPConnection, Request

from shangliao.core.schemas import NUL_MESSAGE

NUL = "\x00"


def _error(*loc: str) -> dict[str, Any]:
    return {"type": "string_nul", "loc": loc, "msg": NUL_MESSAGE}


def form_errors(form: FormData) -> list[dict[str, Any]]:
    """NUL characters in a parsed form's field names, text values and file names."""
    errors = []
    for name, value in form.multi_items():
        text = value.filename or "" if isinstance(value, UploadFile) else value
        if NUL in name or NUL in text:
            errors.append(_error("body", name.replace(NUL, "")))
    return errors


def check_form(form: FormData) -> FormData:
    """Refuse a form with a NUL anywhere (the console reads its forms through this)."""
    if errors := form_errors(form):
        raise RequestValidationError(errors)
    return form


async def refuse_nul(connection: HTTPConnection) -> None:
    """Installed on the whole app. ``async`` because it only reads what is already parsed: a plain
    ``def`` would cost every request a worker-thread trip.

    A form declared with ``Form(...)`` parameters has been parsed by FastAPI before dependencies
    run, and is checked here; forms a route reads itself go through :func:`check_form`.
    """
    errors = []
    if NUL in connection.scope["path"]:
        errors.append(_error("path"))
    errors += [
        _error("query", name.replace(NUL, ""))
        for name, value in connection.query_params.multi_items()
        if NUL in name or NUL in value
    ]
    if isinstance(connection, Request):
        # Starlette's private cache of what request.form() read; a test on a Form(...) route
        # (tests/test_nul_bytes.py) fails if an upgrade renames it.
        parsed = getattr(connection, "_form", None)
        if isinstance(parsed, FormData):
            errors += form_errors(parsed)
    if not errors:
        return
    if isinstance(connection, Request):
        raise RequestValidationError(errors)
    raise WebSocketRequestValidationError(errors)
