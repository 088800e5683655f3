"""What every console form needs: bounded parsing, yuan typed by people, and a worker thread."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any, TypeVar

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import Invalid
from shangliao.core.field_labels import field_names
from shangliao.core.i18n import N_
from shangliao.core.money import MAX_AMOUNT
from shangliao.core.schemas import MAX_ID
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.nul_bytes import check_form

M = TypeVar("M", bound=BaseModel)

_CENT = Decimal("0.01")


async def read_form(request: Request, *, max_fields: int = 50, max_part_size: int = 4096) -> FormData:
    """The posted fields; no files, and no field larger than ``max_part_size`` bytes, and no NUL
    character anywhere (422, as for the API)."""
    return check_form(await request.form(max_files=0, max_fields=max_fields, max_part_size=max_part_size))


async def in_thread(fn, *args, **kwargs):
    """Forms are read on the event loop (async); the database work runs on a worker thread."""
    return await to_thread.run_sync(partial(fn, *args, **kwargs))


async def save_then_show_saved(
    rt: Runtime, write: Callable[[Session], object], page: str
) -> RedirectResponse:
    """Run ``write(session)`` in one write unit off the event loop, then send the browser back to
    the settings ``page`` with ``?saved=1`` (a 303: a reload does not post the form again)."""

    def save() -> None:
        with rt.db.write() as session:
            write(session)

    await in_thread(save)
    return RedirectResponse(f"{page}?saved=1", status_code=303)


def yuan_to_fen(value: str, field: str) -> int | None:
    """A yuan amount typed by a person ("12.5", "¥1,200") in fen; blank means none."""
    text = value.strip().replace("¥", "").replace("￥", "").replace(",", "").replace("，", "")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if (
        amount is None
        or not amount.is_finite()
        or amount < 0
        or amount != amount.quantize(_CENT)
        or amount * 100 > MAX_AMOUNT
    ):
        raise Invalid(
            "console.bad_amount",
            N_("Write amounts in yuan with at most two decimals, like 12.50."),
            details={"field": field},
        )
    return int(amount * 100)


def refused_fields(exc: ValidationError, code: str, message: str, *, depth: int = 1) -> Invalid:
    """A model's refusal in the console's words: ``message`` with ``{fields}``, the fields named by
    the first ``depth`` parts of their location (``address.phone`` for depth 2)."""
    fields = list(
        dict.fromkeys(".".join(str(p) for p in e["loc"][:depth]) for e in exc.errors() if e.get("loc"))
    )
    # Named in the reader's language, in the form's order (``core/field_labels.py``).
    return Invalid(code, message, fields=field_names(fields), details={"fields": fields})


def whole_number(text: str) -> int | None:
    """``text`` as a whole number if it is ASCII digits, else None: ``"²".isdigit()`` is true, yet
    ``int("²")`` raises, so a crafted form would get a 500 instead of the answer to a non-number."""
    return int(text) if text.isascii() and text.isdigit() else None


def row_id(text: str) -> int | None:
    """``text`` as a row id: a whole number the database's ids can hold, else None (a bigger one
    would overflow the query's parameter: a 500 instead of "not found")."""
    number = whole_number(text)
    return number if number is not None and number <= MAX_ID else None


def form_version(form: FormData) -> int | None:
    """The version the page was showing (409 when the row changed since), if the form sent one."""
    return whole_number(str(form.get("version") or ""))


def list_routes(router: APIRouter, path: str, permission: str, view) -> None:
    """A list page driven by one filter form, ``view(request, actor, rt, values, posted=…)``.

    GET serves links and bookmarks; the search box POSTs, because it takes whole phone numbers
    and a phone number must never sit in a URL (rule 12 of docs/architecture.md).
    """

    def page(request: Request, actor: Actor = Depends(staff(permission)), rt: Runtime = Depends(get_runtime)):
        return view(request, actor, rt, request.query_params, posted=False)

    async def search(
        request: Request, actor: Actor = Depends(staff(permission)), rt: Runtime = Depends(get_runtime)
    ):
        form = await read_form(request)
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        return await in_thread(view, request, actor, rt, values, posted=True)

    router.add_api_route(path, page, methods=["GET"])
    router.add_api_route(path, search, methods=["POST"])


def filters_model(model: type[M], raw: dict[str, Any], cursor: str | None) -> M:
    """A list page's filters (and page cursor) as its query model; bad ones refused in one message."""
    if cursor:
        raw["cursor"] = cursor
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise refused_fields(
            exc,
            "console.bad_filters",
            N_("Some filters are not valid: {fields}. Correct them and search again."),
        ) from exc
