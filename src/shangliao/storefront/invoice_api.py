"""The customer's invoice (发票) for one of their orders (``/s/{shop}/api/orders/{id}/invoice``):
read it, ask for it, change it until the shop has issued it. Another customer's order is a 404."""

from __future__ import annotations

from typing import Any

from fastapi import Depends
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.core.schemas import PathId
from shangliao.customers.masking import FULL
from shangliao.invoices import service
from shangliao.invoices.service import InvoiceIn
from shangliao.orders.models import Order
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.models import Shop
from shangliao.storefront import orders as go
from shangliao.storefront.api import check_customer_rate, shop_page_router, visitor
from shangliao.storefront.visitors import Guest
from shangliao.web.responses import JSONResponse

router = shop_page_router()

# A person fills the form once and fixes a typo or two; a script rewriting it is cut off.
INVOICE_EDITS = ("10/minute", "60/hour")


def _answer(session: Session, rt: Runtime, order: Order) -> JSONResponse:
    row = service.current_request(session, order)
    return JSONResponse(
        {
            # The customer's own request, in full (their data, rule 12 of docs/architecture.md).
            "invoice": service.invoice_dict(rt.keyring, row, FULL),
            "can_request": (row is None or row.status == "requested")
            and order.archived_at is None
            and order.status not in ("draft", "cancelled")
            and not service.fully_refunded(order),
        }
    )


@router.get("/orders/{order_id}/invoice")
def my_invoice(
    shop: str, order_id: PathId, guest: Guest = Depends(visitor()), rt: Runtime = Depends(get_runtime)
) -> Any:
    """Your order's invoice request, with its number once the shop issued it."""
    with rt.db.read() as session:
        return _answer(session, rt, go.access_guest_order(session, guest, order_id))


@router.post("/orders/{order_id}/invoice")
def ask_for_invoice(
    shop: str,
    order_id: PathId,
    body: InvoiceIn,
    guest: Guest = Depends(visitor()),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """申请发票, or change the request until the shop has issued it."""
    check_customer_rate(rt, guest, "invoice", INVOICE_EDITS)
    with rt.db.write() as session:
        order = go.access_guest_order(session, guest, order_id, lock=True)
        customer = Actor.customer(guest.shop_id, guest.customer_id, session.get(Shop, guest.shop_id).timezone)
        service.do_request(session, rt.keyring, customer, order, body)
        return _answer(session, rt, order)
