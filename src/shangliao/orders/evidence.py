"""Attachments that are evidence of an order: a payment proof's screenshot, an after-sales
request's photos. Finance and the warehouse must see them on the order page without reading the
chat, so they are readable by whoever may see the order (orders.read and the data scope of
``access_order``); every other attachment stays behind chat.read and the conversation's scope
(chat/attachments.py ``access_attachment``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.aftersales.models import AfterSale
from shangliao.auth.actor import Actor
from shangliao.chat.models import Attachment
from shangliao.core.errors import NotFound
from shangliao.orders.timeline import access_order
from shangliao.payments.models import PaymentProof


def evidence_orders(session: Session, attachment: Attachment) -> list[int]:
    """The ids of the orders ``attachment`` is evidence of (none: it is only a chat message's)."""
    orders = set(
        session.scalars(
            select(PaymentProof.order_id).where(
                PaymentProof.shop_id == attachment.shop_id, PaymentProof.attachment_id == attachment.id
            )
        )
    )
    # Photos are picked from the customer's own conversation (aftersales/service.py _check_photos).
    requests = session.execute(
        select(AfterSale.order_id, AfterSale.photos).where(
            AfterSale.shop_id == attachment.shop_id, AfterSale.conversation_id == attachment.conversation_id
        )
    )
    orders.update(order_id for order_id, photos in requests if attachment.id in (photos or []))
    return sorted(orders)


def access_evidence(session: Session, actor: Actor, attachment_id: int) -> Attachment | None:
    """The attachment when it is evidence of an order ``actor`` may read; None otherwise (the
    caller answers 404 as for any attachment it may not open)."""
    if "orders.read" not in actor.permissions:
        return None
    attachment = session.scalar(
        select(Attachment).where(
            Attachment.id == attachment_id,
            Attachment.shop_id == actor.shop_id,
            Attachment.message_id.is_not(None),
        )
    )
    if attachment is None:
        return None
    for order_id in evidence_orders(session, attachment):
        try:
            access_order(session, actor, order_id)
        except NotFound:
            continue
        return attachment
    return None
