"""The customer's after-sales on the shop page (``/s/{shop}/api/…``): ask for one on their own
order, read it, withdraw it, enter the return parcel's courier and number. The rules live in
``aftersales/service.py``; these routes resolve the visitor and open the unit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from shangliao.aftersales import service
from shangliao.aftersales.models import AfterSale
from shangliao.aftersales.schemas import AfterSaleIn, GuestVersionIn, ReturnIn
from shangliao.aftersales.views import aftersale_dict
from shangliao.auth.actor import Actor
from shangliao.core.errors import NotFound
from shangliao.core.i18n import current_locale
from shangliao.core.schemas import PathId
from shangliao.orders.couriers import COURIERS
from shangliao.orders.models import Order
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.models import Shop
from shangliao.storefront.api import check_customer_rate, shop_page_router, visitor
from shangliao.storefront.orders import access_guest_order
from shangliao.storefront.visitors import Guest
from shangliao.web.responses import JSONResponse

router = shop_page_router()
# Requests per customer: a person asks about a few orders, a script filling the shop's queue is cut off.
REQUESTS = ("5/minute", "30/day")


def _customer(session: Session, guest: Guest) -> Actor:
    return Actor.customer(guest.shop_id, guest.customer_id, session.get(Shop, guest.shop_id).timezone)


def access_guest_aftersale(
    session: Session, guest: Guest, aftersale_id: int, *, lock: bool = False
) -> tuple[AfterSale, Order]:
    """A request on one of the visitor's own orders; anyone else's is 404 like a missing one."""
    row = session.get(AfterSale, aftersale_id)
    if row is None or row.shop_id != guest.shop_id:
        raise service.not_found()
    try:
        order = access_guest_order(session, guest, row.order_id, lock=lock)
    except NotFound:
        raise service.not_found() from None
    return row, order


@router.get("/orders/{order_id}/aftersales")
def order_aftersales(
    shop: str, order_id: PathId, guest: Guest = Depends(visitor()), rt: Runtime = Depends(get_runtime)
) -> Any:
    """Your after-sales requests on one of your orders, oldest first, and what a new one may ask
    about (``kinds`` allowed now, each line's quantity ``left``)."""
    with rt.db.read() as session:
        order = access_guest_order(session, guest, order_id)
        return JSONResponse(
            {"items": [aftersale_dict(r, order) for r in service.of_order(session, order)]}
            | service.request_options(session, order)
            | {
                "couriers": [
                    {"code": c.code, "name": c.name(current_locale.get())} for c in COURIERS.values()
                ]
            }
        )


@router.post("/orders/{order_id}/aftersales", status_code=201)
def request_aftersale(
    shop: str,
    order_id: PathId,
    body: AfterSaleIn,
    guest: Guest = Depends(visitor()),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """Ask for a refund, a return or an exchange; its card goes to your chat with the shop."""
    check_customer_rate(rt, guest, "aftersale", REQUESTS)
    with rt.db.write() as session:
        order = access_guest_order(session, guest, order_id, lock=True)
        row = service.do_request(
            session, rt.keyring, _customer(session, guest), order, body, guest.conversation_id
        )
        session.flush()
        return JSONResponse(aftersale_dict(row, order), status_code=201)


@router.get("/aftersales/{aftersale_id}")
def my_aftersale(
    shop: str, aftersale_id: PathId, guest: Guest = Depends(visitor()), rt: Runtime = Depends(get_runtime)
) -> Any:
    """One of your requests as it is now (the chat's card redraws from it)."""
    with rt.db.read() as session:
        row, order = access_guest_aftersale(session, guest, aftersale_id)
        return JSONResponse(aftersale_dict(row, order))


def _change(rt: Runtime, guest: Guest, aftersale_id: int, step: Callable[..., Any]) -> Any:
    try:
        with rt.db.write() as session:
            row, order = access_guest_aftersale(session, guest, aftersale_id, lock=True)
            step(session, _customer(session, guest), order, row)
            session.flush()
            return JSONResponse(aftersale_dict(row, order))
    except StaleDataError as exc:
        raise service.changed_meanwhile() from exc


@router.post("/aftersales/{aftersale_id}/withdraw")
def withdraw(
    shop: str,
    aftersale_id: PathId,
    body: GuestVersionIn,
    guest: Guest = Depends(visitor()),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """Take your request back (not once the shop has the goods back)."""
    return _change(rt, guest, aftersale_id, lambda s, c, o, r: service.do_withdraw(s, c, o, r, body.version))


@router.post("/aftersales/{aftersale_id}/return")
def send_return(
    shop: str,
    aftersale_id: PathId,
    body: ReturnIn,
    guest: Guest = Depends(visitor()),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """You posted the goods back: the courier and the tracking number."""
    return _change(
        rt,
        guest,
        aftersale_id,
        lambda s, c, o, r: service.do_send_return(
            s, c, o, r, body.carrier_code, body.tracking_number, body.version
        ),
    )
