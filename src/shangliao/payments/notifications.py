"""What a verified provider notification changes, and the log of every notification a shop's
URL received (``PaymentNotification``).

Each function here runs inside one write unit the route submits only after the signature held
(rule 16 of docs/architecture.md); it may run twice under group commit, so it touches only the
session. A payment is applied exactly once per provider transaction id: the order's row lock
serialises copies of one notification, the first records the payment, the others find it and are
logged ``duplicate`` (a unique clash, should one slip past, is answered the same by the route).
A notification whose merchant, amount or currency is not what the shop asked for is not applied:
it alerts the members who record payments (a notification and an audit row), and overpayment is
a human decision too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shangliao.audit.log import record_audit
from shangliao.auth.scope import Scope
from shangliao.core import clock
from shangliao.notifications.service import notify, recipients
from shangliao.orders import actions
from shangliao.orders.models import Order, Payment, Refund
from shangliao.orders.refunds import refundable
from shangliao.orders.state import Status
from shangliao.orders.timeline import access_order
from shangliao.payments.models import PaymentAttempt, PaymentNotification
from shangliao.payments.notice import Notice

MISMATCH_ACT = "payments.notification_mismatch"
ALERT_KIND = "payment_alert"


def log_notification(
    session: Session,
    shop_id: int,
    provider: str,
    outcome: str,
    *,
    address: str,
    digest: str,
    notice: Notice | None = None,
    order_id: int | None = None,
    reason: str | None = None,
) -> PaymentNotification:
    """One log row: ids and the amount, never the body."""
    row = PaymentNotification(
        shop_id=shop_id,
        provider=provider,
        received_at=clock.now(),
        outcome=outcome,
        kind=notice.kind if notice else None,
        out_trade_no=notice.out_trade_no[:64] if notice else None,
        transaction_id=notice.transaction_id[:64] if notice else None,
        amount=notice.amount if notice else None,
        order_id=order_id,
        remote_address=address[:64],
        body_digest=digest,
        reason=reason,
    )
    session.add(row)
    return row


def apply_notice(
    session: Session, shop_id: int, notice: Notice, *, address: str, digest: str
) -> dict[str, Any]:
    """Apply a verified notification: ``{"outcome", "reason", "order_id"}`` (plain data)."""
    attempt = session.scalar(
        select(PaymentAttempt).where(
            PaymentAttempt.shop_id == shop_id, PaymentAttempt.out_trade_no == notice.out_trade_no
        )
    )
    order = access_order(session, Scope.whole_shop(shop_id), attempt.order_id, lock=True) if attempt else None
    if order is not None and attempt is not None:
        session.refresh(attempt)  # read again under the order's lock: a copy may have paid it
    outcome, reason = _decide(session, notice, order, attempt)
    row = log_notification(
        session,
        shop_id,
        notice.provider,
        outcome,
        address=address,
        digest=digest,
        notice=notice,
        order_id=order.id if order else None,
        reason=reason,
    )
    if outcome == "mismatch":
        session.flush()
        _alert(session, shop_id, notice, order, row, reason or "")
    return {"outcome": outcome, "reason": reason, "order_id": order.id if order else None}


def _decide(
    session: Session, notice: Notice, order: Order | None, attempt: PaymentAttempt | None
) -> tuple[str, str | None]:
    """Apply the notice if it may be: ``(outcome, reason)``."""
    if notice.merchant_mismatch:
        return "mismatch", f"notify.{notice.merchant_mismatch}_mismatch"
    if order is None or attempt is None:
        return "unknown_trade", "notify.unknown_trade"
    if notice.currency != attempt.currency:
        return "mismatch", "notify.currency_mismatch"
    if notice.kind == "refund":
        return _refund(session, notice, order)
    if _applied(session, Payment, order.shop_id, notice):
        return "duplicate", None
    if not notice.settled:
        return "ignored", "notify.not_paid"
    if attempt.status == "paid":  # another transaction already paid this out_trade_no
        return "mismatch", "notify.attempt_already_paid"
    if notice.amount != attempt.amount:
        return "mismatch", "notify.amount_mismatch"
    if order.status in (Status.DRAFT, Status.CANCELLED) or order.archived_at is not None:
        return "mismatch", "notify.order_not_payable"
    if notice.amount > order.total - order.paid_amount:
        return "mismatch", "notify.exceeds_outstanding"
    attempt.status = "paid"
    attempt.paid_at = clock.now()
    actions.do_mark_paid(
        session,
        None,
        order,
        method=notice.provider,
        amount=notice.amount,
        reference=notice.transaction_id[:64],
        note="",
        paid_at=attempt.paid_at,
        source="provider",
        transaction_id=notice.transaction_id,
        attempt_id=attempt.id,
    )
    return "applied", None


def _applied(session: Session, model: type[Payment] | type[Refund], shop_id: int, notice: Notice) -> bool:
    return (
        session.scalar(
            select(model.id).where(
                model.shop_id == shop_id,
                model.method == notice.provider,
                model.transaction_id == notice.transaction_id,
            )
        )
        is not None
    )


def _refund(session: Session, notice: Notice, order: Order) -> tuple[str, str | None]:
    if _applied(session, Refund, order.shop_id, notice):
        return "duplicate", None
    if not notice.settled:
        return "ignored", "notify.not_refunded"
    if notice.out_refund_no:
        # A refund staff recorded themselves under this number is the same money.
        earlier = session.scalar(
            select(Refund).where(
                Refund.shop_id == order.shop_id, Refund.out_refund_no == notice.out_refund_no
            )
        )
        if earlier is not None:
            if earlier.transaction_id is None and earlier.method == notice.provider:
                earlier.transaction_id = notice.transaction_id
            return "duplicate", None
    amount = notice.amount
    if notice.refund_is_total:
        # Alipay's refund_fee is everything refunded through it so far.
        amount -= session.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.order_id == order.id, Refund.method == notice.provider, Refund.source == "provider"
            )
        )
        if amount <= 0:
            return "duplicate", None
    if amount > refundable(order) or order.archived_at is not None:
        return "mismatch", "notify.exceeds_refundable"
    actions.do_refund(
        session,
        None,
        order,
        method=notice.provider,
        amount=amount,
        reference=notice.transaction_id[:64],
        source="provider",
        transaction_id=notice.transaction_id,
        out_refund_no=notice.out_refund_no,
    )
    return "applied", None


def _alert(
    session: Session, shop_id: int, notice: Notice, order: Order | None, row: PaymentNotification, reason: str
) -> None:
    """Tell the members who record payments, once per provider transaction, and audit it."""
    earlier = session.scalar(
        select(PaymentNotification.id).where(
            PaymentNotification.shop_id == shop_id,
            PaymentNotification.provider == notice.provider,
            PaymentNotification.transaction_id == row.transaction_id,
            PaymentNotification.outcome == "mismatch",
            PaymentNotification.id != row.id,
        )
    )
    if earlier is not None:
        return
    data = {"provider": notice.provider, "reason": reason, "amount": notice.amount, "notification_id": row.id}
    if order is not None:
        data["number"] = order.number
    staff_ids = recipients(
        session,
        shop_id,
        ALERT_KIND,
        assignee_id=order.assignee_id if order else None,
        scoped=order is not None,
    )
    target = ("order", order.id) if order is not None else ("payment_notification", row.id)
    notify(session, shop_id, staff_ids, ALERT_KIND, *target, data=data)
    record_audit(
        session,
        shop_id,
        MISMATCH_ACT,
        actor_type="system",
        target_type=target[0],
        target_id=target[1],
        data={**data, "out_trade_no": row.out_trade_no, "transaction_id": row.transaction_id},
    )


def list_notifications(
    session: Session, shop_id: int, *, outcome: str | None, before: int | None, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """The shop's log, newest first, ``limit`` a page; the cursor of the next page (or None)."""
    stmt = select(PaymentNotification).where(PaymentNotification.shop_id == shop_id)
    if outcome:
        stmt = stmt.where(PaymentNotification.outcome == outcome)
    if before:
        stmt = stmt.where(PaymentNotification.id < before)
    rows = list(session.scalars(stmt.order_by(PaymentNotification.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    numbers = dict(
        session.execute(
            select(Order.id, Order.number).where(
                Order.shop_id == shop_id, Order.id.in_({r.order_id for r in rows if r.order_id})
            )
        ).all()
    )
    items = [
        {
            "id": r.id,
            "provider": r.provider,
            "received_at": r.received_at,
            "outcome": r.outcome,
            "reason": r.reason,
            "kind": r.kind,
            "out_trade_no": r.out_trade_no,
            "transaction_id": r.transaction_id,
            "amount": r.amount,
            "order_id": r.order_id,
            "order_number": numbers.get(r.order_id),
            "remote_address": r.remote_address,
            "body_digest": r.body_digest,
        }
        for r in rows
    ]
    return items, (rows[-1].id if more else None)
