"""The customer page's PIPL section: download a copy of the customer's data, or erase them.

The readable copy is one plain HTML file (no script, no style sheet, nothing fetched), so it opens
and prints the same from a USB stick years later; it is served as an attachment. The JSON copy is
the API's. Erasure asks for the customer's name (or 删除) and a reason on a page of its own, then
returns to the customer, whose record now says 已删除.
"""

from __future__ import annotations

from datetime import datetime

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import ShangliaoError
from shangliao.core.schemas import PathId
from shangliao.customers import service
from shangliao.privacy.api import NO_STORE, check_privacy_officer, export_for
from shangliao.privacy.erase import CONFIRM_WORD, OPEN_STATUSES, REASONS, do_erase_customer
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.forms import in_thread, read_form
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)


def officer(actor: Actor = Depends(staff("team.manage"))) -> Actor:
    return check_privacy_officer(actor)


def _download(body: bytes, media_type: str, filename: str) -> Response:
    disposition = f'attachment; filename="{filename}"'
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition, **NO_STORE})


def _when(value: str | None) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M") if value else ""


@router.get("/customers/{customer_id}/export.html")
def export_page(
    customer_id: PathId, request: Request, actor: Actor = Depends(officer), rt: Runtime = Depends(get_runtime)
):
    data = export_for(rt, actor, customer_id, as_format="html")
    page = render(request, "customers/privacy_export.html", data=data, when=_when)
    return _download(page.body, "text/html; charset=utf-8", f"customer-{customer_id}.html")


@router.get("/customers/{customer_id}/export.json")
def export_json(customer_id: PathId, actor: Actor = Depends(officer), rt: Runtime = Depends(get_runtime)):
    data = export_for(rt, actor, customer_id, as_format="json")
    return _download(
        orjson.dumps(data, option=orjson.OPT_INDENT_2), "application/json", f"customer-{customer_id}.json"
    )


def _erase_form(
    request: Request,
    rt: Runtime,
    actor: Actor,
    customer_id: int,
    *,
    error: str | None = None,
    status: int = 200,
):
    with rt.db.read() as session:
        customer = service.access_customer(session, actor.shop_id, customer_id)
        c = {"id": customer.id, "name": customer.name}
    return render(
        request,
        "customers/privacy_erase.html",
        status,
        c=c,
        reasons=REASONS,
        word=CONFIRM_WORD,
        open_statuses=OPEN_STATUSES,
        error=error,
    )


@router.get("/customers/{customer_id}/erase")
def erase_page(
    customer_id: PathId, request: Request, actor: Actor = Depends(officer), rt: Runtime = Depends(get_runtime)
):
    return _erase_form(request, rt, actor, customer_id)


@router.post("/customers/{customer_id}/erase")
async def erase_confirm(
    customer_id: PathId, request: Request, actor: Actor = Depends(officer), rt: Runtime = Depends(get_runtime)
):
    form = await read_form(request)

    def erase():
        try:
            with rt.db.write() as session:
                do_erase_customer(
                    session,
                    actor,
                    customer_id,
                    confirm=str(form.get("confirm") or ""),
                    reason=str(form.get("reason") or ""),
                )
        except ShangliaoError as exc:
            if exc.status == 404:
                raise
            return _erase_form(request, rt, actor, customer_id, error=exc.localized(), status=exc.status)
        return RedirectResponse(f"/customers/{customer_id}", status_code=303)

    return await in_thread(erase)
