"""The order page's 售后 panel (``orders/_aftersales.html`` loads ``aftersales/_panel.html``): each
request with its photos and lines, and the buttons its state allows the reader. Each form answers
with the order page again, like the page's other forms (``order_detail_pages.change_order``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from shangliao.aftersales import exchange, service, settle
from shangliao.aftersales.models import AfterSale
from shangliao.aftersales.views import staff_dict
from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_
from shangliao.core.schemas import PathId
from shangliao.orders.couriers import COURIERS
from shangliao.orders.refund_method import paid_with
from shangliao.orders.refunds import refundable
from shangliao.orders.timeline import access_order
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.forms import yuan_to_fen
from shangliao.web.console.order_detail_pages import change_order
from shangliao.web.console.payment_pages import METHODS
from shangliao.web.render import render

router = APIRouter(include_in_schema=False)
Message = Annotated[str, Form(max_length=500)]
Version = Annotated[int | None, Form(ge=1)]
REFUND_METHODS = ("wechat", "alipay", "bank_transfer", "cash", "other")


@router.get("/orders/{order_id}/aftersales")
def panel(
    order_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("orders.read")),
    rt: Runtime = Depends(get_runtime),
):
    """The panel's content, loaded by the order page (nothing at all when the order has none)."""
    with rt.db.read() as session:
        order = access_order(session, actor, order_id)
        requests = service.of_order(session, order)
        rows = [staff_dict(r, order) for r in requests]
        left = refundable(order)
        paid_method = paid_with(session, order)  # the refund form proposes the way the money came
        unclaimed = [
            {"id": u.id, "amount": u.amount, "method": u.method}
            for u in settle.unclaimed_refunds(session, order)
        ]
        # aftersales/settle.py: which requests may be linked to a refund or closed with no money
        settling = {r.id for r in requests if settle.offers_settling(r, unclaimed, left)}
    if not rows:
        return HTMLResponse("")
    return render(
        request,
        "aftersales/_panel.html",
        order_id=order_id,
        requests=rows,
        refundable=left,
        unclaimed=unclaimed,
        settling=settling,
        method_words=METHODS,
        couriers=COURIERS,
        methods=REFUND_METHODS,
        paid_method=paid_method,
    )


def _step(
    request: Request, rt: Runtime, actor: Actor, order_id: int, aftersale_id: int, do: Callable, done: str
):
    """Run ``do(session, order, row)`` on a request of this order (another order's is 404)."""

    def change(session: Any, order: Any) -> None:
        row = session.get(AfterSale, aftersale_id)
        if row is None or row.order_id != order.id or row.shop_id != order.shop_id:
            raise service.not_found()
        do(session, order, row)

    return change_order(request, rt, actor, order_id, change, done=done)


def _message_form(action: str, permission: str, do: Callable, done: str) -> None:
    """A form whose one field is a ``message`` to the customer: ``do(session, actor, order, row,
    message, version)`` runs on the request."""

    def route(
        order_id: PathId,
        aftersale_id: PathId,
        request: Request,
        message: Message = "",
        version: Version = None,
        actor: Actor = Depends(staff(permission)),
        rt: Runtime = Depends(get_runtime),
    ):
        return _step(
            request, rt, actor, order_id, aftersale_id,
            lambda s, o, r: do(s, actor, o, r, message.strip(), version),
            done,
        )  # fmt: skip

    route.__name__ = route.__qualname__ = action
    router.post(f"/orders/{{order_id}}/aftersales/{{aftersale_id}}/{action}")(route)


_message_form("approve", "aftersales.manage", service.do_approve, N_("After-sales request approved."))
_message_form("refuse", "aftersales.manage", service.do_refuse, N_("After-sales request refused."))


@router.post("/orders/{order_id}/aftersales/{aftersale_id}/arrived")
async def arrived(
    order_id: PathId,
    aftersale_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("aftersales.manage")),
    rt: Runtime = Depends(get_runtime),
):
    """One ``restock_<line id>`` field per line: "1" back into stock, "0" damaged."""
    form = await request.form()
    restock: dict[int, bool] = {}
    for name, value in form.items():
        if name.startswith("restock_") and name[8:].isdigit():
            restock[int(name[8:])] = value == "1"
    raw = str(form.get("version") or "")
    version = int(raw) if raw.isdigit() else None

    def run():
        return _step(
            request, rt, actor, order_id, aftersale_id,
            lambda s, o, r: service.do_confirm_arrival(s, actor, o, r, restock, version),
            N_("Return received."),
        )  # fmt: skip

    return await to_thread.run_sync(run)


@router.post("/orders/{order_id}/aftersales/{aftersale_id}/refund")
def refund(
    order_id: PathId,
    aftersale_id: PathId,
    request: Request,
    method: Annotated[str, Form(max_length=16)] = "",
    amount: Annotated[str, Form(max_length=16)] = "",
    reference: Annotated[str, Form(max_length=64)] = "",
    version: Version = None,
    actor: Actor = Depends(staff("payments.refund")),
    rt: Runtime = Depends(get_runtime),
):
    """The refund in yuan as typed (blank: what the customer asked for). The form is checked
    once the request is found: another shop's id is a 404 whatever was typed."""

    def do(session, order, row):
        if method not in REFUND_METHODS:
            raise Invalid("aftersale.unknown_method", N_("Choose how the money was refunded."))
        fen = yuan_to_fen(amount, "amount")
        service.do_refund_request(
            session,
            actor,
            order,
            row,
            method=method,
            amount=fen,
            reference=reference.strip(),
            version=version,
        )

    return _step(request, rt, actor, order_id, aftersale_id, do, N_("Refund recorded."))


@router.post("/orders/{order_id}/aftersales/{aftersale_id}/ship")
def ship(
    order_id: PathId,
    aftersale_id: PathId,
    request: Request,
    carrier_code: Annotated[str, Form(max_length=16)] = "",
    tracking_number: Annotated[str, Form(max_length=40)] = "",
    version: Version = None,
    actor: Actor = Depends(staff("aftersales.manage")),
    rt: Runtime = Depends(get_runtime),
):
    return _step(
        request, rt, actor, order_id, aftersale_id,
        lambda s, o, r: exchange.do_ship_exchange(s, actor, o, r, carrier_code, tracking_number.strip(), version),
        N_("Replacement shipped."),
    )  # fmt: skip


@router.post("/orders/{order_id}/aftersales/{aftersale_id}/link_refund")
def link_refund(
    order_id: PathId,
    aftersale_id: PathId,
    request: Request,
    refund_id: Annotated[str, Form(max_length=18)] = "",
    version: Version = None,
    actor: Actor = Depends(staff("payments.refund")),
    rt: Runtime = Depends(get_runtime),
):
    """Settle the request with a refund already on the order (aftersales/settle.py). The choice is
    checked once the request is found (another shop's id is a 404 whatever was sent); no such
    refund on this order is a 404 too."""
    chosen = int(refund_id) if refund_id.isdigit() else 0
    return _step(
        request, rt, actor, order_id, aftersale_id,
        lambda s, o, r: settle.do_link_refund(s, actor, o, r, chosen, version),
        N_("After-sales request settled by the earlier refund."),
    )  # fmt: skip


# Close the request with no money recorded, saying how it was settled (已线下处理).
_message_form("close", "payments.refund", settle.do_close_offline, N_("After-sales request closed."))
