"""Printing from the order list: the bulk bar's 打印发货单 answers a card holding the chosen orders
(web/console/order_pages.py ``_bulk``), whose button posts them here; the PDF opens in a new tab,
for the browser's viewer to print. One order's slip and its evidence pack are links on the order
page to the API's routes (the console's session is a credential there too)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.documents.api import SLIPS, slips_response
from shangliao.documents.slips import MAX_SLIPS
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.forms import in_thread, read_form, whole_number

router = APIRouter(include_in_schema=False)


@router.post("/orders/packing-slips")
async def print_packing_slips(
    request: Request, actor: Actor = Depends(staff(SLIPS)), rt: Runtime = Depends(get_runtime)
):
    """The packing slips of the orders posted as ``ids``, as the API prints them."""
    form = await read_form(request, max_fields=MAX_SLIPS + 10)
    picked = (whole_number(v) for v in form.getlist("ids") if isinstance(v, str))
    return await in_thread(slips_response, rt, actor, [n for n in picked if n is not None])
