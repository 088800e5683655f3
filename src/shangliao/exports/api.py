"""``/api/v1/exports``: orders to a spreadsheet. Asking needs ``orders.export``; the file is written
in the background (poll the export for its progress) and downloaded once, by whoever asked."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.chat.attachment_api import content_disposition
from shangliao.core import clock
from shangliao.core.i18n import current_locale
from shangliao.core.schemas import PathId, StrictModel
from shangliao.exports import service
from shangliao.exports.models import ExportJob
from shangliao.exports.writers import MEDIA_TYPES
from shangliao.orders.listing import OrderQuery, spec_for
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.models import Shop

router = APIRouter(prefix="/exports", tags=["exports"])
EXPORT = "orders.export"
NO_STORE = {"Cache-Control": "private, no-store"}


class ExportIn(StrictModel):
    format: Literal["xlsx", "csv"] = Field(
        "xlsx", description="xlsx: orders and order lines on two sheets; csv: a row per line."
    )
    query: OrderQuery = Field(
        default_factory=OrderQuery,
        description="The order list's filters and search (cursor and limit ignored): every order they find.",
    )


class ExportOut(BaseModel):
    id: int
    kind: str
    format: str
    status: str = Field(description="queued, running, done, failed, downloaded, expired")
    rows_total: int | None
    rows_done: int
    size: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    downloaded_at: datetime | None


def export_out(job: ExportJob) -> dict:
    return ExportOut.model_validate(job, from_attributes=True).model_dump()


def request_export(rt: Runtime, actor: Actor, body: ExportIn) -> ExportJob:
    """Check the query and the member's rate, then queue the export (shared with the console)."""
    spec_for(rt.keyring, actor, actor.timezone, body.query)  # a bad query is refused now, not in the worker
    rt.limits.check(service.EXPORTS_PER_HOUR, "orders-export", str(actor.shop_id), str(actor.staff_id or 0))
    with rt.db.write() as session:
        job = service.do_request(session, rt.keyring, actor, body.query, body.format, current_locale.get())
        session.expunge(job)
        return job


@router.post("/orders", response_model=ExportOut, status_code=202)
def export_orders(body: ExportIn, actor: Actor = Depends(staff(EXPORT)), rt: Runtime = Depends(get_runtime)):
    """Export the orders the query finds, as the member sees them: within their data scope,
    personal data masked unless they hold `customers.pii`. At most 20 an hour."""
    return export_out(request_export(rt, actor, body))


@router.get("")
def list_exports(
    actor: Actor = Depends(staff(EXPORT)), rt: Runtime = Depends(get_runtime)
) -> dict[str, list[ExportOut]]:
    """The member's own ten latest exports."""
    with rt.db.read() as session:
        return {"items": [export_out(j) for j in service.recent_of(session, actor)]}


@router.get("/{export_id}", response_model=ExportOut)
def get_export(export_id: PathId, actor: Actor = Depends(staff(EXPORT)), rt: Runtime = Depends(get_runtime)):
    with rt.db.read() as session:
        return export_out(service.access_own(session, actor, export_id))


def download(rt: Runtime, actor: Actor, export_id: int) -> Response:
    """The file, once (its record says so; the file is removed when sent)."""
    with rt.db.write() as session:
        job = service.access_own(session, actor, export_id)
        path = service.do_take(session, rt, job)
        slug = session.get(Shop, actor.shop_id).slug
        fmt = job.format
    name = f"订单导出-{slug}-{clock.local(clock.now(), actor.timezone):%Y%m%d-%H%M}.{fmt}"
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": content_disposition("attachment", name), **NO_STORE},
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.get("/{export_id}/file", response_class=Response)
def download_export(
    export_id: PathId, actor: Actor = Depends(staff(EXPORT)), rt: Runtime = Depends(get_runtime)
):
    """The finished file, to the member who asked, once: 409 while it is being written, 410 after."""
    return download(rt, actor, export_id)
