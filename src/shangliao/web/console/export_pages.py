"""The order list's 导出: the list's current filters to a spreadsheet, written in the background
with its progress on the page, then downloaded once (from the API's file route: the console's
session is a credential there too)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.schemas import PathId
from shangliao.exports import service
from shangliao.exports.api import EXPORT, ExportIn, request_export
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.forms import in_thread, read_form
from shangliao.web.console.order_pages import filters_from, query_from
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)


@router.post("/orders/export")
async def export_orders(
    request: Request, actor: Actor = Depends(staff(EXPORT)), rt: Runtime = Depends(get_runtime)
):
    form = await read_form(request)
    fmt = "csv" if form.get("format") == "csv" else "xlsx"
    body = ExportIn(format=fmt, query=query_from(filters_from(form), None))
    job = await in_thread(lambda: request_export(rt, actor, body))
    return render(request, "orders/_export.html", job=job)


@router.get("/orders/exports/{export_id}")
def export_progress(
    export_id: PathId,
    request: Request,
    actor: Actor = Depends(staff(EXPORT)),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.read() as session:
        job = service.access_own(session, actor, export_id)
        return render(request, "orders/_export.html", job=job)
