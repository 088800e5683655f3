"""``/api/v1/shipping-sheets``: 批量发货 from a spreadsheet. Upload it for a preview (kept an hour
under a token), then import by the token: every row shipped in one unit, or none. Needs
``orders.fulfil``; rows outside the member's data scope are "no such order"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path as FilePath
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Path, Request

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.chat.attachment_api import UPLOAD_RESPONSES, upload_body
from shangliao.chat.attachments import receive_upload
from shangliao.core.errors import Invalid
from shangliao.core.i18n import current_locale
from shangliao.runtime import Runtime, get_runtime
from shangliao.sheets import shipping, uploads
from shangliao.sheets.guard import Checked
from shangliao.sheets.read import read_table
from shangliao.web.errors import ErrorBody

router = APIRouter(prefix="/shipping-sheets", tags=["orders"])
SHEET_RESPONSES = {
    **UPLOAD_RESPONSES,
    415: {
        "model": ErrorBody,
        "description": "Not a readable sheet: an old .xls, macros, encrypted, not .xlsx or CSV",
    },
}
FULFIL = "orders.fulfil"
SHEET_UPLOADS = "30/hour"
Token = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


async def receive_sheet(
    request: Request, rt: Runtime, actor: Actor, describe: Callable[[FilePath, Checked], dict[str, Any]]
) -> dict[str, Any]:
    """Receive a sheet, keep it under a token, and answer ``describe(path, checked)`` (what importing
    it would do) with the token; a sheet that cannot be read is not kept."""
    rt.limits.check(SHEET_UPLOADS, "sheet-upload", str(actor.shop_id), str(actor.staff_id or 0))
    upload = await receive_upload(request, rt.settings.uploads_dir, rt.settings.max_upload_bytes, frozenset())

    def look() -> dict[str, Any]:
        token, path, checked = uploads.keep(rt, actor.shop_id, upload.temp)
        try:
            return {"upload": token, **describe(path, checked)}
        except Exception:
            uploads.forget(path)
            raise

    try:
        return await to_thread.run_sync(look)
    finally:
        upload.forget_temp()


async def preview_upload(request: Request, rt: Runtime, actor: Actor) -> dict[str, Any]:
    """What importing the uploaded shipping sheet would do (shared with the console)."""
    locale = current_locale.get()

    def describe(path: FilePath, checked: Checked) -> dict[str, Any]:
        table = read_table(path, checked, shipping.ALIASES, required=shipping.REQUIRED)
        with rt.db.read() as session:
            return shipping.summary(shipping.plan(session, actor, table, locale))

    return await receive_sheet(request, rt, actor, describe)


def import_upload(rt: Runtime, actor: Actor, token: str) -> dict[str, Any]:
    """Read the kept sheet again and ship its rows, all or none (shared with the console)."""
    path, checked = uploads.find(rt, actor.shop_id, token)
    table = read_table(path, checked, shipping.ALIASES, required=shipping.REQUIRED)
    locale = current_locale.get()
    with rt.db.write() as session:
        lines = shipping.plan(session, actor, table, locale)
        found = shipping.summary(lines)
        if found["errors"]:
            raise Invalid(
                "sheet.ship.problems",
                shipping.PROBLEMS,
                details={"rows": [r for r in found["rows"] if r["problems"]]},
            )
        shipped = shipping.do_ship(session, actor, lines)
    uploads.forget(path)
    return {"shipped": shipped, "already": sum(line.outcome == shipping.ALREADY for line in lines)}


@router.post(
    "/preview",
    responses=SHEET_RESPONSES,
    openapi_extra=upload_body("The sheet (.xlsx or .csv): 订单编号, 快递公司, 物流单号 columns."),
)
async def preview_sheet(
    request: Request, actor: Actor = Depends(staff(FULFIL)), rt: Runtime = Depends(get_runtime)
) -> dict:
    """What each row would do: `ship`, `already` (shipped with that number), or `error` with its
    problems (row, column, code, message). Nothing is written; `upload` names the kept file."""
    return await preview_upload(request, rt, actor)


@router.post("/{upload}")
def import_sheet(
    upload: Token, actor: Actor = Depends(staff(FULFIL)), rt: Runtime = Depends(get_runtime)
) -> dict:
    """Ship every `ship` row of the previewed sheet in one unit; any problem: 422 and nothing shipped."""
    return import_upload(rt, actor, upload)
