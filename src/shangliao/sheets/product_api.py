"""The catalog as a spreadsheet: ``GET /api/v1/products/export`` (a row per SKU, .xlsx or CSV), and
``/api/v1/product-sheets`` to bring the edited sheet back: a preview (create, update with its
changes, nothing, or why not, by row and column), then the import by the upload's token, all in
one unit or nothing. Exporting needs ``catalog.read``; importing ``catalog.write`` (and changing
stock ``inventory.adjust``)."""

from __future__ import annotations

import secrets
from pathlib import Path as FilePath
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.chat.attachment_api import content_disposition, upload_body
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_, current_locale, gettext
from shangliao.exports.writers import MEDIA_TYPES
from shangliao.runtime import Runtime, get_runtime
from shangliao.sheets import products, uploads
from shangliao.sheets.api import SHEET_RESPONSES, Token, receive_sheet
from shangliao.sheets.guard import Checked
from shangliao.sheets.read import read_table
from shangliao.shops.models import Shop

export_router = APIRouter(prefix="/products", tags=["catalog"])
router = APIRouter(prefix="/product-sheets", tags=["catalog"])
WRITE = "catalog.write"


def catalog_file(rt: Runtime, actor: Actor, fmt: str) -> FileResponse:
    """The shop's catalog written to a temporary file, sent, then removed (shared with the console)."""
    locale = current_locale.get()
    # Beside the shop's order exports: one left by a broken-off send is swept with them after a day.
    folder = rt.settings.data_dir / "exports" / str(actor.shop_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"catalog-{secrets.token_hex(8)}.{fmt}"
    try:
        with rt.db.read() as session:
            timezone = session.get(Shop, actor.shop_id).timezone
            products.write_catalog(
                path,
                fmt,
                products.catalog_rows(session, actor.shop_id, locale),
                locale=locale,
                timezone=timezone,
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    name = f"{gettext(N_('Products'), locale)}.{fmt}"
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": content_disposition("attachment", name), "Cache-Control": "no-store"},
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@export_router.get("/export", response_class=FileResponse)
def export_catalog(
    format: Literal["xlsx", "csv"] = Query("xlsx"),
    actor: Actor = Depends(staff("catalog.read")),
    rt: Runtime = Depends(get_runtime),
):
    """Every SKU of the shop's products: 商品名称, 规格 (颜色:红色;尺码:M), SKU, 售价, 库存, 已占用,
    上架, 预售, 低库存提醒, 重量(克). Edit it and bring it back through `/product-sheets`."""
    return catalog_file(rt, actor, format)


def _read(path: FilePath, checked: Checked):
    return read_table(path, checked, products.ALIASES, required=("sku",))


async def preview_product_upload(request: Request, rt: Runtime, actor: Actor) -> dict[str, Any]:
    locale = current_locale.get()

    def describe(path: FilePath, checked: Checked) -> dict[str, Any]:
        with rt.db.read() as session:
            return products.summary(products.plan(session, actor, _read(path, checked), locale))

    return await receive_sheet(request, rt, actor, describe)


def import_product_upload(rt: Runtime, actor: Actor, token: str) -> dict[str, Any]:
    path, checked = uploads.find(rt, actor.shop_id, token)
    table, locale = _read(path, checked), current_locale.get()
    with rt.db.write() as session:
        lines = products.plan(session, actor, table, locale)
        if any(line.problems for line in lines):
            rows = [r for r in products.summary(lines)["rows"] if r["problems"]]
            raise Invalid("sheet.product.problems", products.PROBLEMS, details={"rows": rows})
        done = products.do_import(session, actor, lines, locale)
    uploads.forget(path)
    return done


@router.post(
    "/preview",
    responses=SHEET_RESPONSES,
    openapi_extra=upload_body("The sheet (.xlsx or .csv) as the export writes it; SKU is the key."),
)
async def preview_sheet(
    request: Request, actor: Actor = Depends(staff(WRITE)), rt: Runtime = Depends(get_runtime)
) -> dict:
    """Each row's `outcome` (`create`, `update` with its `changes`, `same`, or `error` with its
    problems: row, column, code, message). Nothing is written; `upload` names the kept file."""
    return await preview_product_upload(request, rt, actor)


@router.post("/{upload}")
def import_sheet(
    upload: Token, actor: Actor = Depends(staff(WRITE)), rt: Runtime = Depends(get_runtime)
) -> dict:
    """Create and update every row of the previewed sheet in one unit; any problem: 422 and nothing
    changed. Answers the counts: `create`, `update`, `same`."""
    return import_product_upload(rt, actor, upload)
