"""The console's 批量发货: a template to fill, the filled sheet uploaded for a preview (each row:
ships, already shipped, or why not, by row and column), then one click ships them all or none."""

from __future__ import annotations

import io
from typing import Annotated

import xlsxwriter
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.chat.attachment_api import content_disposition
from shangliao.core.i18n import N_, current_locale, gettext
from shangliao.orders.couriers import COURIERS
from shangliao.runtime import Runtime, get_runtime
from shangliao.sheets.api import FULFIL, import_upload, preview_upload
from shangliao.web.console.forms import in_thread
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)
PAGE = "/orders/ship-sheet"
HEADERS = (N_("Order ID"), N_("Courier"), N_("Waybill number"))


@router.get(PAGE)
def ship_sheet_page(request: Request, actor: Actor = Depends(staff(FULFIL))):
    couriers = [c.name(current_locale.get()) for c in COURIERS.values()]
    return render(request, "orders/ship_sheet.html", section="orders", couriers=couriers)


@router.get(f"{PAGE}/template.xlsx")
def template(actor: Actor = Depends(staff(FULFIL))) -> Response:
    """An empty sheet with the three columns, order numbers kept as text, and the couriers listed."""
    locale, out = current_locale.get(), io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    text = book.add_format({"num_format": "@"})
    sheet = book.add_worksheet(gettext(N_("Bulk shipping"), locale))
    for i, header in enumerate(HEADERS):
        sheet.write_string(0, i, gettext(header, locale), book.add_format({"bold": True}))
        sheet.set_column(i, i, 22, text)
    names = book.add_worksheet(gettext(N_("Couriers"), locale))
    for i, courier in enumerate(COURIERS.values()):
        names.write_string(i, 0, courier.name(locale))
    sheet.data_validation(
        1, 1, 2000, 1, {"validate": "list", "source": f"='{names.name}'!$A$1:$A${len(COURIERS)}"}
    )
    book.close()
    return workbook_download(out, gettext(N_("Bulk shipping template"), locale))


def workbook_download(out: io.BytesIO, title: str) -> Response:
    """A workbook written in memory, downloaded as ``<title>.xlsx`` (the sheets' templates)."""
    return Response(
        out.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": content_disposition("attachment", title + ".xlsx")},
    )


@router.post(f"{PAGE}/preview")
async def preview(
    request: Request, actor: Actor = Depends(staff(FULFIL)), rt: Runtime = Depends(get_runtime)
):
    found = await preview_upload(request, rt, actor)
    return render(request, "orders/_ship_preview.html", found=found)


@router.post(f"{PAGE}/{{upload}}")
async def ship(
    request: Request,
    upload: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    actor: Actor = Depends(staff(FULFIL)),
    rt: Runtime = Depends(get_runtime),
):
    done = await in_thread(lambda: import_upload(rt, actor, upload))
    return render(request, "orders/_ship_done.html", done=done)
