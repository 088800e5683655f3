"""The console's catalog sheet: 导出 the products (a row per SKU) and 从表格导入 them back, a preview
first (what each row creates or changes, or why not, by row and column), then all rows or none."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.runtime import Runtime, get_runtime
from shangliao.sheets.product_api import WRITE, catalog_file, import_product_upload, preview_product_upload
from shangliao.web.console.forms import in_thread
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)
PAGE = "/products/import"


@router.get("/products/export")
def export(actor: Actor = Depends(staff("catalog.read")), rt: Runtime = Depends(get_runtime)):
    return catalog_file(rt, actor, "xlsx")


@router.get(PAGE)
def import_page(request: Request, actor: Actor = Depends(staff(WRITE))):
    return render(request, "products/sheet.html", section="products")


@router.post(f"{PAGE}/preview")
async def preview(request: Request, actor: Actor = Depends(staff(WRITE)), rt: Runtime = Depends(get_runtime)):
    found = await preview_product_upload(request, rt, actor)
    return render(request, "products/_sheet_preview.html", found=found)


@router.post(f"{PAGE}/{{upload}}")
async def apply(
    request: Request,
    upload: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    actor: Actor = Depends(staff(WRITE)),
    rt: Runtime = Depends(get_runtime),
):
    done = await in_thread(lambda: import_product_upload(rt, actor, upload))
    return render(request, "products/_sheet_done.html", done=done)
