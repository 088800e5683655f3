"""Payments recorded by hand (mark paid); the payment status is derived from stored amounts (rule 6 of docs/architecture.md)."""

from __future__ import annotations

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from shangliao.core import clock
from shangliao.core.errors import Conflict
from shangliao.core.i18n import N_
from shangliao.core.money import format_yuan
from shangliao.customers.models import Customer
from shangliao.orders.models import Order, Payment
from shangliao.orders.numbers import payment_trade_no
from shangliao.orders.state import Status

PAYMENT_STATUSES = ("unpaid", "partially_paid", "paid", "partially_refunded", "refunded")


def payment_status(total: int, paid: int, refunded: int) -> str:
    if refunded > 0:
        return "refunded" if refunded >= paid else "partially_refunded"
    if paid <= 0:
        return "unpaid"
    return "partially_paid" if paid < total else "paid"


def payment_status_sql():
    """The same derivation as a SQL expression (on the table's columns), so lists can filter on it."""
    o = Order.__table__.c
    return case(
        (
            o.refunded_amount >= o.paid_amount,
            case((o.refunded_amount > 0, "refunded"), else_="unpaid"),
        ),
        (o.refunded_amount > 0, "partially_refunded"),
        (o.paid_amount < o.total, "partially_paid"),
        else_="paid",
    )


def next_trade_no(order: Order) -> str:
    """The next ``out_trade_no`` of ``order``: payment attempts and hand-recorded payments share
    one per-order sequence (``Order.trade_seq``), so no two ever carry the same number."""
    order.trade_seq = (order.trade_seq or 0) + 1
    return payment_trade_no(order.number, order.trade_seq)


def find_by_idempotency_key(session: Session, shop_id: int, key: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.shop_id == shop_id, Payment.idempotency_key == key))


def do_record_payment(
    session: Session,
    order: Order,
    *,
    method: str,
    amount: int,
    reference: str,
    note: str,
    paid_at,
    actor_id: int | None,
    idempotency_key: str | None = None,
    idempotency_hash: bytes | None = None,
    source: str = "manual",
    transaction_id: str | None = None,
    attempt_id: int | None = None,
    out_trade_no: str | None = None,
) -> Payment:
    """Record money received. Overpaying is refused: the merchant must correct the amount first.

    A retried request (same ``idempotency_key``) must be answered before this is called: see
    ``orders/idempotency.py``. A payment through a provider's attempt passes the attempt's
    ``out_trade_no`` (the number the provider was told); others take the order's next one."""
    if order.status in (Status.DRAFT, Status.CANCELLED):
        raise Conflict("payment.order_not_payable", N_("A draft or cancelled order cannot take a payment."))
    outstanding = order.total - order.paid_amount
    if amount > outstanding:
        raise Conflict(
            "payment.exceeds_outstanding",
            N_("The amount is more than what is still owed ({outstanding})."),
            outstanding=format_yuan(outstanding),
            details={"outstanding": outstanding},
        )
    now = clock.now()
    payment = Payment(
        shop_id=order.shop_id,
        order_id=order.id,
        method=method,
        amount=amount,
        reference=reference,
        note=note,
        out_trade_no=out_trade_no or next_trade_no(order),
        recorded_by=actor_id,
        paid_at=paid_at or now,
        created_at=now,
        idempotency_key=idempotency_key,
        idempotency_hash=idempotency_hash,
        source=source,
        transaction_id=transaction_id,
        attempt_id=attempt_id,
    )
    session.add(payment)
    order.paid_amount += amount
    if order.paid_amount >= order.total and order.paid_at is None:
        order.paid_at = payment.paid_at
    if order.customer_id is not None:
        # Incremented in SQL: two payments of one customer at once must both count.
        session.execute(
            update(Customer)
            .where(Customer.id == order.customer_id, Customer.shop_id == order.shop_id)
            .values(total_spent=Customer.total_spent + amount)
            .execution_options(synchronize_session=False)
        )
    return payment
