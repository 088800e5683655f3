"""Refunds recorded against an order (rule 6 of docs/architecture.md): what was refunded never
exceeds what was paid, and the payment status is derived from both sums (orders/payments.py)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shangliao.core import clock
from shangliao.core.errors import Conflict
from shangliao.core.i18n import N_
from shangliao.core.money import format_yuan
from shangliao.customers.models import Customer
from shangliao.orders.models import Order, Refund
from shangliao.payments.models import PaymentAttempt

# Providers whose refunds name the trade they went back through (payments/notifications.py).
NATIVE_PROVIDERS = ("wechat", "alipay")


def refundable(order: Order) -> int:
    """What may still be refunded: money received and not yet given back."""
    return max(order.paid_amount - order.refunded_amount, 0)


def find_by_idempotency_key(session: Session, shop_id: int, key: str) -> Refund | None:
    """The refund a retried request already made (``orders/idempotency.py``), if any."""
    return session.scalar(select(Refund).where(Refund.shop_id == shop_id, Refund.idempotency_key == key))


def refund_no(order: Order, n: int) -> str:
    """The ``out_refund_no`` of the order's ``n``-th refund (WeChat Pay and Alipay take ≤ 64)."""
    return f"{order.number}R{n:02d}"


def next_refund_no(session: Session, order: Order) -> str:
    """The order's next own refund number, one past the highest taken under this order's form
    (the caller holds the order's lock). Not a count: a provider's refund may arrive under a
    number we would have given later (``…R05``), and counting would then hit it forever."""
    taken = session.scalars(
        select(Refund.out_refund_no).where(Refund.shop_id == order.shop_id, Refund.order_id == order.id)
    )
    own = re.compile(re.escape(order.number) + r"R([0-9]{1,6})")
    highest = max((int(m.group(1)) for no in taken if (m := own.fullmatch(no))), default=0)
    return refund_no(order, highest + 1)


def provider_trade(session: Session, order: Order, method: str) -> int | None:
    """The attempt a refund through ``method`` went back through when the order was paid through
    that provider exactly once (a refund goes back the way the money came); None otherwise."""
    paid = session.scalars(
        select(PaymentAttempt.id)
        .where(
            PaymentAttempt.shop_id == order.shop_id,
            PaymentAttempt.order_id == order.id,
            PaymentAttempt.method == method,
            PaymentAttempt.status == "paid",
        )
        .limit(2)
    ).all()
    return paid[0] if len(paid) == 1 else None


def do_record_refund(
    session: Session,
    order: Order,
    *,
    method: str,
    amount: int,
    actor_id: int | None,
    reference: str = "",
    note: str = "",
    refunded_at: datetime | None = None,
    aftersale_id: int | None = None,
    source: str = "manual",
    transaction_id: str | None = None,
    out_refund_no: str | None = None,
    attempt_id: int | None = None,
    idempotency_key: str | None = None,
    idempotency_hash: bytes | None = None,
) -> Refund:
    """Record money given back. More than was paid and not yet refunded is refused.

    The caller locks the order (``access_order(..., lock=True)``) and records the timeline: an
    after-sales refund and a plain one read differently there."""
    left = refundable(order)
    if amount > left:
        raise Conflict(
            "refund.exceeds_refundable",
            N_("The refund is more than what was paid and not yet refunded ({refundable})."),
            refundable=format_yuan(left),
            details={"refundable": left},
        )
    now = clock.now()
    if attempt_id is None and method in NATIVE_PROVIDERS:
        attempt_id = provider_trade(session, order, method)
    refund = Refund(
        shop_id=order.shop_id,
        order_id=order.id,
        aftersale_id=aftersale_id,
        method=method,
        amount=amount,
        reference=reference,
        note=note,
        out_refund_no=out_refund_no or next_refund_no(session, order),
        source=source,
        transaction_id=transaction_id,
        attempt_id=attempt_id,
        recorded_by=actor_id,
        refunded_at=refunded_at or now,
        created_at=now,
        idempotency_key=idempotency_key,
        idempotency_hash=idempotency_hash,
    )
    session.add(refund)
    order.refunded_amount += amount
    if order.customer_id is not None:
        # In SQL, as a payment adds it: two refunds of one customer at once must both count.
        session.execute(
            update(Customer)
            .where(Customer.id == order.customer_id, Customer.shop_id == order.shop_id)
            .values(total_spent=Customer.total_spent - amount)
            .execution_options(synchronize_session=False)
        )
    return refund
