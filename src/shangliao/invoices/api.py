"""HTTP routes for an order's invoice (发票): read it, request or edit it for the customer, mark it
issued, cancel it, and 显示 its email and tax id in full (audited like an address)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from shangliao.audit.log import record_audit
from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.schemas import PathId
from shangliao.customers.masking import FULL
from shangliao.customers.reveal import REVEALED, check_reveal_rate
from shangliao.invoices import service
from shangliao.invoices.service import InvoiceIn, IssueIn
from shangliao.orders.timeline import access_order
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.responses import JSONResponse

router = APIRouter(prefix="/orders", tags=["invoices"])


def _answer(rt: Runtime, actor: Actor, row) -> JSONResponse:
    return JSONResponse({"invoice": service.invoice_dict(rt.keyring, row, service.reader_view(actor))})


def _change(rt: Runtime, actor: Actor, order_id: int, change) -> JSONResponse:
    """Run ``change(session, order)`` on the locked order in one unit and answer the request."""
    with rt.db.write() as session:
        order = access_order(session, actor, order_id, lock=True)
        return _answer(rt, actor, change(session, order))


@router.get("/{order_id}/invoice")
def invoice(
    order_id: PathId, actor: Actor = Depends(staff("orders.read")), rt: Runtime = Depends(get_runtime)
):
    """The order's open invoice request (`invoice: null` without one); email and tax id in full
    for a member holding `invoices.manage` (they send the invoice), masked for a reader without
    `customers.pii`."""
    with rt.db.read() as session:
        order = access_order(session, actor, order_id)
        return _answer(rt, actor, service.current_request(session, order))


@router.post("/{order_id}/invoice")
def request_invoice(
    order_id: PathId,
    body: InvoiceIn,
    actor: Actor = Depends(staff("invoices.manage")),
    rt: Runtime = Depends(get_runtime),
):
    """Request the invoice on the customer's behalf, or change the request until it is issued."""
    return _change(rt, actor, order_id, lambda s, o: service.do_request(s, rt.keyring, actor, o, body))


@router.post("/{order_id}/invoice/issue")
def issue_invoice(
    order_id: PathId,
    body: IssueIn,
    actor: Actor = Depends(staff("invoices.manage")),
    rt: Runtime = Depends(get_runtime),
):
    """开票: mark the request issued with its number (and date); the amount is paid − refunded now."""
    return _change(
        rt, actor, order_id, lambda s, o: service.do_issue(s, actor, o, body.invoice_number, body.issued_at)
    )


@router.post("/{order_id}/invoice/cancel")
def cancel_invoice(
    order_id: PathId, actor: Actor = Depends(staff("invoices.manage")), rt: Runtime = Depends(get_runtime)
):
    """Cancel the open request; it stays on record and the customer may ask again."""
    return _change(rt, actor, order_id, lambda s, o: service.do_cancel(s, actor, o))


@router.post("/{order_id}/invoice/reveal")
def reveal_invoice(
    order_id: PathId, actor: Actor = Depends(staff("customers.pii")), rt: Runtime = Depends(get_runtime)
) -> Any:
    """显示: the request's email and tax id in full, recorded in the audit log (field names only)."""
    check_reveal_rate(rt.limits, actor)
    with rt.db.write() as session:
        order = access_order(session, actor, order_id)
        shown = service.invoice_dict(rt.keyring, service.current_request(session, order), FULL)
        record_audit(
            session,
            actor.shop_id,
            REVEALED,
            actor=actor,
            target_type="order",
            target_id=order.id,
            data={"fields": ["email", "tax_id"] if shown else []},
        )
        return JSONResponse({"invoice": {k: shown[k] for k in ("email", "tax_id")} if shown else None})
