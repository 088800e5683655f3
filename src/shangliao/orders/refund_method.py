"""Which channel a refund goes back through: every refund form proposes the channel the customer
paid with (the latest payment's, when there were several), and the customer reads "原路退回" only
when the refund really went back that way; otherwise they are told which channel it took."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.core.i18n import N_, gettext
from shangliao.orders.models import Order, Payment, Refund

# How money is recorded by hand (orders/schemas.py PaymentIn), as the merchant says it. A provider's
# payment (payments/notifications.py) is recorded under its kind, "wechat" or "alipay", the same codes.
METHODS: dict[str, str] = {
    "wechat": N_("WeChat Pay"),
    "alipay": N_("Alipay"),
    "bank_transfer": N_("Bank transfer"),
    "cash": N_("Cash"),
    "other": N_("Other"),
}
SAME_WAY = N_("The money is on its way back to you.")
OTHER_WAY = N_("The money was refunded to you through {method}; please check that it arrived.")


def paid_with(session: Session, order: Order) -> str | None:
    """The method of the order's latest payment (None before any payment)."""
    return session.scalar(
        select(Payment.method)
        .where(Payment.shop_id == order.shop_id, Payment.order_id == order.id)
        .order_by(Payment.paid_at.desc(), Payment.id.desc())
        .limit(1)
    )


def refund_words(session: Session, order: Order, refund_id: int | None, locale: str | None = None) -> str:
    """What the customer reads of a refund: back the way they paid, or through which channel."""
    refund = session.get(Refund, refund_id) if refund_id else None
    paid = paid_with(session, order)
    if refund is None or paid is None or refund.method == paid:
        return gettext(SAME_WAY, locale)
    method = METHODS.get(refund.method)
    return gettext(OTHER_WAY, locale, method=gettext(method, locale) if method else refund.method)
