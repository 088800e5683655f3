"""HTTP routes of an order's money: refunds recorded by hand, and the list of its payments and
refunds. Recording a payment is ``POST /orders/{id}/payments`` (orders/api.py).

A refund accepts an ``Idempotency-Key`` like a payment (rule 11 of docs/architecture.md): a retry
answers what the first request made and records nothing more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.schemas import PathId, StrictModel
from shangliao.orders import actions, idempotency
from shangliao.orders.api import IdempotencyKey, IdempotentMoney, _money_change
from shangliao.orders.models import Order, Payment, Refund
from shangliao.orders.payments import payment_status
from shangliao.orders.refunds import find_by_idempotency_key, refundable
from shangliao.orders.timeline import access_order
from shangliao.runtime import Runtime, get_runtime

router = APIRouter(prefix="/orders", tags=["orders"])

# How money goes back by hand: the ways a payment is recorded (orders/schemas.py PaymentIn).
RefundMethod = Literal["wechat", "alipay", "bank_transfer", "cash", "other"]


class RefundIn(StrictModel):
    method: RefundMethod
    amount: int = Field(gt=0, le=100_000_000, description="In fen; at most paid − refunded.")
    reference: str = Field(default="", max_length=64)
    note: str = Field(default="", max_length=200)
    # With a zone (e.g. "2026-01-05T14:30:00+08:00"): a bare time would be ambiguous.
    refunded_at: AwareDatetime | None = None


@router.post("/{order_id}/refunds", status_code=201, responses=idempotency.replayed())
def refund(
    order_id: PathId,
    body: RefundIn,
    idempotency_key: IdempotencyKey = None,
    actor: Actor = Depends(staff("payments.refund")),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """Record money given back outside Shangliao. More than paid − refunded is refused (409
    `refund.exceeds_refundable`). With an ``Idempotency-Key``, a retry records nothing more and
    answers 200 with the order."""
    money = IdempotentMoney.of(actor, idempotency_key, body, find_by_idempotency_key, order_id=order_id)

    return _money_change(
        rt,
        actor,
        order_id,
        money,
        lambda session, order: actions.do_refund(
            session,
            actor,
            order,
            method=body.method,
            amount=body.amount,
            reference=body.reference,
            note=body.note,
            refunded_at=body.refunded_at,
            idempotency_key=idempotency_key,
            idempotency_hash=money.request,
        ),
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def money_of(session: Session, order: Order) -> dict[str, Any]:
    """What an order received and gave back, oldest first, with the sums and what is left."""
    payments = session.scalars(
        select(Payment)
        .where(Payment.shop_id == order.shop_id, Payment.order_id == order.id)
        .order_by(Payment.id)
    )
    refunds = session.scalars(
        select(Refund).where(Refund.shop_id == order.shop_id, Refund.order_id == order.id).order_by(Refund.id)
    )
    return {
        "order_id": order.id,
        "total": order.total,
        "paid_amount": order.paid_amount,
        "refunded_amount": order.refunded_amount,
        "outstanding": max(order.total - order.paid_amount, 0),
        "refundable": refundable(order),
        "payment_status": payment_status(order.total, order.paid_amount, order.refunded_amount),
        "payments": [
            {
                "id": p.id,
                "method": p.method,
                "amount": p.amount,
                "reference": p.reference,
                "note": p.note,
                "source": p.source,
                "out_trade_no": p.out_trade_no,
                "transaction_id": p.transaction_id,
                "recorded_by": p.recorded_by,
                "paid_at": _iso(p.paid_at),
            }
            for p in payments
        ],
        "refunds": [
            {
                "id": r.id,
                "method": r.method,
                "amount": r.amount,
                "reference": r.reference,
                "note": r.note,
                "source": r.source,
                "out_refund_no": r.out_refund_no,
                "aftersale_id": r.aftersale_id,
                "recorded_by": r.recorded_by,
                "refunded_at": _iso(r.refunded_at),
            }
            for r in refunds
        ],
    }


@router.get("/{order_id}/payments")
def order_payments(
    order_id: PathId, actor: Actor = Depends(staff("orders.read")), rt: Runtime = Depends(get_runtime)
) -> Any:
    """The order's payments (with their source and `out_trade_no`) and refunds, and the sums."""
    with rt.db.read() as session:
        return money_of(session, access_order(session, actor, order_id))
