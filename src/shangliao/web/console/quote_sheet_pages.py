"""The console's 报价单 / 批量下单: pick the customer, upload their sheet, read the preview (each row's
product, price and recipient, or why not, by row and column), then make one merged order, one order
per recipient, or send the lines as a quote card into the customer's chat. Opened from the order
list, a customer's page, or the chat's composer (with that customer picked)."""

from __future__ import annotations

import io
from typing import Annotated

import xlsxwriter
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_, current_locale, gettext
from shangliao.core.schemas import PathId
from shangliao.customers import service as customers
from shangliao.customers.masking import view_for
from shangliao.runtime import Runtime, get_runtime
from shangliao.sheets import uploads
from shangliao.sheets.quote_api import WRITE, QuoteImportIn, import_quote_upload, preview_quote_upload
from shangliao.web.console.forms import in_thread, read_form
from shangliao.web.console.order_new_pages import search_customers
from shangliao.web.console.ship_sheet_pages import workbook_download
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)
PAGE = "/orders/import"
TEMPLATE = (
    (N_("Product name"), "纯棉圆领T恤"),
    (N_("Spec"), "白色 M"),
    (N_("Quantity"), 2),
    (N_("Unit price"), 52.5),
    (N_("Recipient"), "张三"),
    (N_("Mobile"), "13812345678"),
    (N_("Delivery address"), "浙江省杭州市西湖区文三路100号"),
    (N_("Remark"), ""),
)


def _customer(rt: Runtime, actor: Actor, customer_id: int) -> dict:
    with rt.db.read() as session:
        customer = customers.access_customer(session, actor.shop_id, customer_id)
        return customers.customer_out(rt.keyring, customer, view_for(actor))


@router.get(PAGE)
def import_page(
    request: Request,
    customer_id: int | None = None,
    actor: Actor = Depends(staff(WRITE)),
    rt: Runtime = Depends(get_runtime),
):
    picked = _customer(rt, actor, customer_id) if customer_id else None
    return render(request, "orders/quote_sheet.html", section="orders", customer=picked)


@router.post(f"{PAGE}/customers")
async def pick_customer(
    request: Request, actor: Actor = Depends(staff(WRITE)), rt: Runtime = Depends(get_runtime)
):
    return await search_customers(
        request, rt, actor, pick_url=f"{PAGE}/customers", pick_target="#import-customer"
    )


@router.get(f"{PAGE}/customers/{{customer_id}}")
def picked_customer(
    customer_id: PathId,
    request: Request,
    actor: Actor = Depends(staff(WRITE)),
    rt: Runtime = Depends(get_runtime),
):
    return render(request, "orders/_import_customer.html", customer=_customer(rt, actor, customer_id))


@router.get(f"{PAGE}/template.xlsx")
def template(actor: Actor = Depends(staff(WRITE))) -> Response:
    """A sheet with the columns the import reads and one example row, to fill and upload."""
    locale, out = current_locale.get(), io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet(gettext(N_("Quote sheet"), locale))
    for i, (header, example) in enumerate(TEMPLATE):
        sheet.write_string(0, i, gettext(header, locale), bold)
        sheet.write(1, i, example)
        sheet.set_column(i, i, 30 if i == 6 else 14)
    book.close()
    return workbook_download(out, gettext(N_("Quote sheet template"), locale))


@router.post(f"{PAGE}/preview")
async def preview(request: Request, actor: Actor = Depends(staff(WRITE)), rt: Runtime = Depends(get_runtime)):
    found = await preview_quote_upload(request, rt, actor)
    return render(
        request, "orders/_quote_preview.html", found=found, can_quote="chat.write" in actor.permissions
    )


@router.post(f"{PAGE}/{{upload}}")
async def make(
    request: Request,
    upload: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    actor: Actor = Depends(staff(WRITE)),
    rt: Runtime = Depends(get_runtime),
):
    form = await read_form(request)
    await in_thread(lambda: uploads.find(rt, actor.shop_id, upload))  # not this shop's, or gone: 404 first
    try:
        body = QuoteImportIn(customer_id=form.get("customer_id") or 0, mode=form.get("mode") or "merged")
    except ValidationError:
        raise Invalid("sheet.quote.no_customer", N_("Choose the customer first.")) from None
    done = await in_thread(lambda: import_quote_upload(rt, actor, upload, body))
    return render(request, "orders/_quote_done.html", done=done)
