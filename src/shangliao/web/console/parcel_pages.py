"""The order page's parcels: ship one from the ship dialog (the items and quantities of this
parcel, all that remain proposed), and 已签收 on a parcel that arrived."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_
from shangliao.core.schemas import PathId
from shangliao.orders import actions
from shangliao.orders.state import TRANSITION_PERMISSIONS
from shangliao.orders.timeline import check_version
from shangliao.runtime import Runtime, get_runtime
from shangliao.shipping import parcels
from shangliao.web.console.forms import form_version, in_thread, read_form, whole_number
from shangliao.web.console.order_detail_pages import _check_paid_before_shipping, change_order

router = APIRouter(include_in_schema=False)
SHIP = TRANSITION_PERMISSIONS["ship"]
# The dialog's quantity fields: ``ship_<order item id>``.
PREFIX = "ship_"


def _is_line(key: str) -> bool:
    """A quantity field: ``ship_`` and an id (``ship_unpaid``, the dialog's checkbox, is not one)."""
    return key.startswith(PREFIX) and key.removeprefix(PREFIX).isdigit()


def parcel_lines(form) -> list[dict[str, int]] | None:
    """The quantities of this parcel from the dialog; None when the form names no line (a form
    without the item list ships everything left, as the one-courier ship always did)."""
    asked = {}
    lines = [(k, v) for k, v in form.items() if _is_line(k)]
    for key, value in lines:
        item_id, quantity = whole_number(key.removeprefix(PREFIX)), whole_number(str(value).strip() or "0")
        if item_id is None or quantity is None:
            raise Invalid("parcel.bad_quantity", N_("A parcel holds at least one of each item it names."))
        if quantity:
            asked[item_id] = quantity
    if not asked and lines:
        raise Invalid("parcel.empty", N_("Put at least one item in the parcel."))
    return [{"order_item_id": i, "quantity": q} for i, q in asked.items()] or None


@router.post("/orders/{order_id}/parcels")
async def ship_parcel(
    order_id: PathId,
    request: Request,
    actor: Actor = Depends(staff(SHIP)),
    rt: Runtime = Depends(get_runtime),
):
    form = await read_form(request, max_fields=220)
    version = form_version(form)
    params = {
        "carrier_code": str(form.get("carrier_code") or "").strip(),
        "tracking_number": str(form.get("tracking_number") or "").strip(),
    }
    params = {k: v for k, v in params.items() if v}
    items = parcel_lines(form)
    if items is not None:
        params["items"] = items
    ship_unpaid = form.get("ship_unpaid") == "1"

    def step(s, o):
        if not ship_unpaid:
            _check_paid_before_shipping(o)
        return actions.do_transition(s, actor, o, "ship", params, version=version)

    return await in_thread(change_order, request, rt, actor, order_id, step, done=N_("Parcel shipped."))


@router.post("/orders/{order_id}/parcels/{parcel_id}/delivered")
async def parcel_delivered(
    order_id: PathId,
    parcel_id: PathId,
    request: Request,
    actor: Actor = Depends(staff(SHIP)),
    rt: Runtime = Depends(get_runtime),
):
    form = await read_form(request)
    version = form_version(form)

    def sign(s, o):
        check_version(o, version)
        parcels.do_mark_delivered(s, actor, o, parcel_id)

    return await in_thread(change_order, request, rt, actor, order_id, sign, done=N_("Signed for."))
