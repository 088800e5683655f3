"""Settling a request whose money moved outside its own refund step.

A refund recorded on the order by hand, or from a provider's refund notification (which never
names a request), settles no request: the request would wait for ever, and its own refund step
could give the same money back twice. So the shop may

* link such a refund ("unclaimed": ``Refund.aftersale_id`` is empty) to the request, which closes
  it as refunded and moves no money;
* close the request with a word on how it was settled and no money (已线下处理), e.g. when the
  whole order was refunded already and nothing is left to refund;

and the request's own refund step refuses while unclaimed refunds recorded since the customer
asked already cover what the request asked, pointing to the link. Every step locks the order
first, as the others do (``aftersales/service.py``), so one refund is never linked to two requests.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.aftersales.models import AfterSale
from shangliao.aftersales.service import (
    REFUNDABLE,
    check_refundable,
    check_version,
    close_request,
    record_step,
)
from shangliao.auth.actor import Actor
from shangliao.core.errors import Conflict, Invalid, NotFound
from shangliao.core.i18n import N_
from shangliao.core.money import format_yuan
from shangliao.orders.models import Order, Refund

# The state a request closed with no money through Shangliao ends in.
OFFLINE = "settled_offline"


def unclaimed_refunds(session: Session, order: Order) -> list[Refund]:
    """The order's refunds that settle no request, oldest first."""
    return list(
        session.scalars(
            select(Refund)
            .where(
                Refund.order_id == order.id, Refund.shop_id == order.shop_id, Refund.aftersale_id.is_(None)
            )
            .order_by(Refund.id)
        )
    )


def check_not_covered(session: Session, order: Order, row: AfterSale) -> None:
    """Refuse the request's own refund while refunds no request claimed, recorded since the
    customer asked, already add up to what it asked: that money most likely went back for this
    very request (a provider notification). One recorded before the request was for something
    else (the request then asks for what is left), so it does not count here."""
    unclaimed = [r for r in unclaimed_refunds(session, order) if r.created_at >= row.created_at]
    total = sum(r.amount for r in unclaimed)
    if unclaimed and total >= row.requested_amount:
        raise Conflict(
            "aftersale.refund_already_recorded",
            N_(
                "Refunds of {amount} on this order settle no request yet: link one instead of refunding again."
            ),
            amount=format_yuan(total),
            details={
                "unclaimed_refunds": [r.id for r in unclaimed],
                "unclaimed_amount": total,
                "next": "link_refund",
            },
        )


def offers_settling(row: AfterSale, unclaimed: list[Refund], refundable: int) -> bool:
    """Whether the console offers linking and closing: the request waits for its refund and the
    money went back elsewhere (unclaimed refunds) or cannot go back any more (nothing refundable)."""
    waiting = row.kind in REFUNDABLE and row.status == REFUNDABLE[row.kind]
    return waiting and (bool(unclaimed) or refundable <= 0)


def do_link_refund(
    session: Session, actor: Actor, order: Order, row: AfterSale, refund_id: int, version: int | None
) -> AfterSale:
    """Settle ``row`` with a refund already on its (locked) order that no request claimed."""
    check_version(row, version)
    check_refundable(row)
    refund = session.scalar(
        select(Refund).where(
            Refund.id == refund_id, Refund.order_id == order.id, Refund.shop_id == order.shop_id
        )
    )
    if refund is None:
        raise NotFound("aftersale.unknown_refund", N_("This order has no such refund."))
    if refund.aftersale_id is not None:
        raise Conflict(
            "aftersale.refund_claimed",
            N_("This refund already settles another after-sales request."),
            details={"refund_id": refund.id},
        )
    refund.aftersale_id = row.id
    row.refund_id = refund.id
    close_request(order, row, "refunded")
    record_step(session, actor, order, row, "refund_linked", refund_id=refund.id, amount=refund.amount)
    return row


def do_close_offline(
    session: Session, actor: Actor, order: Order, row: AfterSale, message: str, version: int | None
) -> AfterSale:
    """Close ``row`` with no money recorded: ``message`` (shown to the customer) says how it was
    settled outside Shangliao."""
    check_version(row, version)
    check_refundable(row)
    message = message.strip()
    if not message:
        raise Invalid(
            "aftersale.message_required",
            N_("Say how the request was settled."),
            details={"fields": ["message"]},
        )
    row.staff_message = message
    close_request(order, row, OFFLINE)
    record_step(session, actor, order, row, "closed_offline")
    return row
