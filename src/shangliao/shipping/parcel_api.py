"""HTTP routes of parcels: ship one (``POST /orders/{id}/parcels``), list them, sign one for; and
the customer's 确认收货 of one parcel from the shop page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from pydantic import Field
from sqlalchemy.orm.exc import StaleDataError

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import Conflict, Invalid
from shangliao.core.i18n import N_, current_locale
from shangliao.core.schemas import MAX_ID, PathId, RowRef, StrictModel
from shangliao.customers.masking import order_view
from shangliao.orders import actions
from shangliao.orders.state import TRANSITION_PERMISSIONS
from shangliao.orders.timeline import access_order, check_version
from shangliao.orders.views import order_dict
from shangliao.runtime import Runtime, get_runtime
from shangliao.shipping import parcels
from shangliao.shops.models import Shop
from shangliao.storefront import orders as go
from shangliao.storefront.api import shop_page_router, visitor
from shangliao.storefront.visitors import Guest
from shangliao.web.responses import JSONResponse

router = APIRouter(prefix="/orders", tags=["orders"])
shop_router = shop_page_router()

IfMatch = Annotated[str | None, Header(alias="If-Match", description='The order version, e.g. "3".')]


class ParcelLineIn(StrictModel):
    order_item_id: RowRef
    quantity: int = Field(ge=1, le=9999)


class ParcelIn(StrictModel):
    version: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Refused with 409 if the order changed since."
    )
    carrier_code: str = Field(min_length=1, max_length=16)
    tracking_number: str = Field(min_length=1, max_length=40)
    items: list[ParcelLineIn] | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The order lines and quantities in this parcel; omitted: everything not shipped yet.",
    )


class DeliveredIn(StrictModel):
    version: int | None = Field(default=None, ge=1, le=MAX_ID)


def _version(body_version: int | None, if_match: str | None) -> int | None:
    if body_version is not None or if_match is None:
        return body_version
    try:
        return int(if_match.strip().strip("W/").strip('"'))
    except ValueError as exc:
        raise Invalid("order.bad_if_match", N_("If-Match must be the order version number.")) from exc


def ship_params(body: ParcelIn) -> dict[str, Any]:
    params: dict[str, Any] = {
        "carrier_code": body.carrier_code.strip(),
        "tracking_number": body.tracking_number.strip(),
    }
    if body.items is not None:
        params["items"] = [line.model_dump() for line in body.items]
    return params


def _answer(session, rt: Runtime, actor: Actor, order, status_code: int = 200) -> JSONResponse:
    session.flush()
    view = order_dict(order, rt.keyring, order_view(actor, order.status))
    shipment = parcels.shipment_view(session, order, current_locale.get())
    return JSONResponse({"order": view, **shipment}, status_code=status_code)


def _change(rt: Runtime, actor: Actor, order_id: int, change, status_code: int = 200) -> JSONResponse:
    try:
        with rt.db.write() as session:
            order = access_order(session, actor, order_id, lock=True)
            change(session, order)
            return _answer(session, rt, actor, order, status_code)
    except StaleDataError as exc:
        raise Conflict(
            "order.version_conflict",
            N_("Someone else changed this order meanwhile. Reload it and try again."),
        ) from exc


@router.get("/{order_id}/parcels")
def list_parcels(
    order_id: PathId, actor: Actor = Depends(staff("orders.read")), rt: Runtime = Depends(get_runtime)
):
    """The order's parcels with their items, and what each order line still waits for."""
    with rt.db.read() as session:
        order = access_order(session, actor, order_id)
        return _answer(session, rt, actor, order)


@router.post("/{order_id}/parcels", status_code=201)
def ship_parcel(
    order_id: PathId,
    body: ParcelIn,
    if_match: IfMatch = None,
    actor: Actor = Depends(staff(TRANSITION_PERMISSIONS["ship"])),
    rt: Runtime = Depends(get_runtime),
):
    """Ship a parcel of some items (all that remain when ``items`` is omitted): their held stock is
    deducted; the order becomes shipped with the parcel holding the last of its items."""
    version = _version(body.version, if_match)
    params = ship_params(body)
    return _change(
        rt,
        actor,
        order_id,
        lambda s, o: actions.do_transition(s, actor, o, "ship", params, version=version),
        status_code=201,
    )


@router.post("/{order_id}/parcels/{parcel_id}/delivered")
def parcel_delivered(
    order_id: PathId,
    parcel_id: PathId,
    body: DeliveredIn | None = None,
    if_match: IfMatch = None,
    actor: Actor = Depends(staff(TRANSITION_PERMISSIONS["ship"])),
    rt: Runtime = Depends(get_runtime),
):
    """已签收: the parcel arrived. Completing the order stays its own step."""
    version = _version(body.version if body else None, if_match)

    def sign(session, order):
        check_version(order, version)
        parcels.do_mark_delivered(session, actor, order, parcel_id)

    return _change(rt, actor, order_id, sign)


@shop_router.get("/orders/{order_id}/parcels")
def my_parcels(
    shop: str, order_id: PathId, guest: Guest = Depends(visitor()), rt: Runtime = Depends(get_runtime)
) -> Any:
    """Your order's parcels, and whether their arrival may still be confirmed (``open``)."""
    with rt.db.read() as session:
        order = go.access_guest_order(session, guest, order_id)
        return JSONResponse(
            {"parcels": parcels.public_parcels(session, order), "open": parcels.still_open(order)}
        )


@shop_router.post("/orders/{order_id}/parcels/{parcel_id}/receipt")
def parcel_receipt(
    shop: str,
    order_id: PathId,
    parcel_id: PathId,
    guest: Guest = Depends(visitor()),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """确认收货 of one parcel: the order completes once every parcel of a shipped order arrived."""
    with rt.db.write() as session:
        timezone = session.get(Shop, guest.shop_id).timezone
        order = go.do_confirm_receipt(session, guest, timezone, order_id, parcel_id=parcel_id)
        session.flush()
        return JSONResponse(
            go.public_order(order, rt.keyring)
            | {
                "timeline": go.public_timeline(session, order),
                "parcels": parcels.public_parcels(session, order),
            }
        )
