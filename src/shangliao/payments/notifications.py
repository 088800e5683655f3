"""What a verified provider notification changes, and the log of every notification a shop's
URL received (``PaymentNotification``).

Each function here runs inside one write unit the route submits only after the signature held
(rule 16 of docs/architecture.md); it may run twice under group commit, so it touches only the
session. A payment is applied exactly once per provider transaction id: the order's row lock
serialises copies of one notification, the first records the payment, the others find it and are
logged ``duplicate`` (a unique clash, should one slip past, is answered the same by the route).
An applied payment, the common case, is a hot path written in Core statements (``applied.py``);
refunds and alerts use the ORM.
A notification whose merchant, amount or currency is not what the shop asked for is not applied:
it alerts the members who record payments (a notification and an audit row), and overpayment is
a human decision too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.orm import Session

from shangliao.audit.log import record_audit
from shangliao.auth.scope import Scope, Viewer, within_scope
from shangliao.core import clock
from shangliao.notifications.service import notify, recipients
from shangliao.orders import actions
from shangliao.orders.models import Order, Refund
from shangliao.orders.refunds import refundable
from shangliao.orders.state import Status
from shangliao.orders.timeline import access_order
from shangliao.payments import applied
from shangliao.payments.models import PaymentNotification
from shangliao.payments.notice import Notice
from shangliao.storage.prepared import Prepared

MISMATCH_ACT = "payments.notification_mismatch"
ALERT_KIND = "payment_alert"
_log = PaymentNotification.__table__
_INSERT_LOG = Prepared(insert(_log).returning(_log.c.id))


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
) -> int:
    """One log row: ids and the amount, never the body; its id."""
    ((row_id,),) = _INSERT_LOG.execute(
        session.connection(),
        {
            "shop_id": shop_id,
            "provider": provider,
            "received_at": clock.now(),
            "outcome": outcome,
            "kind": notice.kind if notice else None,
            "out_trade_no": notice.out_trade_no[:64] if notice else None,
            "transaction_id": notice.transaction_id[:64] if notice else None,
            "amount": notice.amount if notice else None,
            "order_id": order_id,
            "remote_address": address[:64],
            "body_digest": digest,
            "reason": reason,
        },
    )
    return row_id


def apply_notice(
    session: Session, shop_id: int, notice: Notice, *, address: str, digest: str
) -> dict[str, Any]:
    """Apply a verified notification: ``{"outcome", "reason", "order_id"}`` (plain data)."""
    found = applied.locate(session, shop_id, notice.out_trade_no)  # the attempt and its order, locked
    outcome, reason = _decide(session, shop_id, notice, found)
    order_id = found.id if found is not None else None
    log_id = log_notification(
        session,
        shop_id,
        notice.provider,
        outcome,
        address=address,
        digest=digest,
        notice=notice,
        order_id=order_id,
        reason=reason,
    )
    if outcome == "mismatch":
        _alert(session, shop_id, notice, found, log_id, reason or "")
    return {"outcome": outcome, "reason": reason, "order_id": order_id}


def _decide(session: Session, shop_id: int, notice: Notice, found: Any | None) -> tuple[str, str | None]:
    """Apply the notice if it may be: ``(outcome, reason)``. ``found``: ``applied.locate``'s row."""
    if notice.merchant_mismatch:
        return "mismatch", f"notify.{notice.merchant_mismatch}_mismatch"
    if found is None:
        return "unknown_trade", "notify.unknown_trade"
    if notice.currency != found.currency:
        return "mismatch", "notify.currency_mismatch"
    if notice.kind == "refund":
        order = access_order(session, Scope.whole_shop(shop_id), found.id, lock=True)
        return _refund(session, notice, order, found.attempt_id)
    # A transaction pays its own out_trade_no's attempt, so only a paid attempt may have been paid
    # by this one: a copy. (Should one slip past, the payments' unique key stops it, rule 19.)
    if found.attempt_status == "paid" and applied.already_paid(session, shop_id, notice):
        return "duplicate", None
    if not notice.settled:
        return "ignored", "notify.not_paid"
    if found.attempt_status == "paid":  # another transaction already paid this out_trade_no
        return "mismatch", "notify.attempt_already_paid"
    if notice.amount != found.attempt_amount:
        return "mismatch", "notify.amount_mismatch"
    if found.status in (Status.DRAFT, Status.CANCELLED) or found.archived_at is not None:
        return "mismatch", "notify.order_not_payable"
    if notice.amount > found.total - found.paid_amount:
        return "mismatch", "notify.exceeds_outstanding"
    applied.record(session, shop_id, notice, found)
    return "applied", None


def _refund(session: Session, notice: Notice, order: Order, attempt_id: int) -> tuple[str, str | None]:
    """Record the refund ``notice`` tells of, through the trade ``attempt_id`` (its out_trade_no)."""
    if _refunded(session, order.shop_id, notice):
        return "duplicate", None
    if not notice.settled:
        return "ignored", "notify.not_refunded"
    if notice.out_refund_no:
        # A refund staff recorded themselves under this number is the same money. Per order: a
        # number typed in the provider's console need not name the order (orders/refunds.py).
        earlier = session.scalar(
            select(Refund).where(
                Refund.shop_id == order.shop_id,
                Refund.order_id == order.id,
                Refund.out_refund_no == notice.out_refund_no,
            )
        )
        if earlier is not None:
            if earlier.transaction_id is None and earlier.method == notice.provider:
                earlier.transaction_id = notice.transaction_id
            if earlier.attempt_id is None and earlier.method == notice.provider:
                earlier.attempt_id = attempt_id  # now known: it counts in this trade's total
            return "duplicate", None
    amount = notice.amount
    if notice.refund_is_total:
        # Alipay's refund_fee is everything refunded through this trade so far: less every refund
        # recorded against the trade, by hand or notified (never another trade's of the order).
        amount -= session.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.shop_id == order.shop_id, Refund.order_id == order.id, Refund.attempt_id == attempt_id
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
        attempt_id=attempt_id,
    )
    return "applied", None


def _refunded(session: Session, shop_id: int, notice: Notice) -> bool:
    return (
        session.scalar(
            select(Refund.id).where(
                Refund.shop_id == shop_id,
                Refund.method == notice.provider,
                Refund.transaction_id == notice.transaction_id,
            )
        )
        is not None
    )


def _alert(
    session: Session, shop_id: int, notice: Notice, order: Any | None, log_id: int, reason: str
) -> None:
    """Tell the members who record payments, once per provider transaction, and audit it.
    ``order``: ``applied.locate``'s row (its ``id``, ``number`` and ``assignee_id``)."""
    transaction_id, out_trade_no = notice.transaction_id[:64], notice.out_trade_no[:64]
    earlier = session.scalar(
        select(PaymentNotification.id).where(
            PaymentNotification.shop_id == shop_id,
            PaymentNotification.provider == notice.provider,
            PaymentNotification.transaction_id == transaction_id,
            PaymentNotification.outcome == "mismatch",
            PaymentNotification.id != log_id,
        )
    )
    if earlier is not None:
        return
    data = {"provider": notice.provider, "reason": reason, "amount": notice.amount, "notification_id": log_id}
    if order is not None:
        data["number"] = order.number
    staff_ids = recipients(
        session,
        shop_id,
        ALERT_KIND,
        assignee_id=order.assignee_id if order else None,
        scoped=order is not None,
    )
    target = ("order", order.id) if order is not None else ("payment_notification", log_id)
    notify(session, shop_id, staff_ids, ALERT_KIND, *target, data=data)
    record_audit(
        session,
        shop_id,
        MISMATCH_ACT,
        actor_type="system",
        target_type=target[0],
        target_id=target[1],
        data={**data, "out_trade_no": out_trade_no, "transaction_id": transaction_id},
    )


def list_notifications(
    session: Session, who: Viewer, *, outcome: str | None, before: int | None, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """The shop's log as ``who`` may see it, newest first, ``limit`` a page; the cursor of the next
    page (or None). A member limited to their orders sees only rows of orders in their scope
    (rule 21 of docs/architecture.md): a row naming no order (an unknown trade, a forged body) is
    the whole shop's, so only members who see every order read it."""
    stmt = (
        select(PaymentNotification, Order.number)
        .outerjoin(Order, and_(Order.id == PaymentNotification.order_id, Order.shop_id == who.shop_id))
        .where(PaymentNotification.shop_id == who.shop_id)
    )
    if who.limited:
        stmt = stmt.where(PaymentNotification.order_id.is_not(None), *within_scope(who, Order.assignee_id))
    if outcome:
        stmt = stmt.where(PaymentNotification.outcome == outcome)
    if before:
        stmt = stmt.where(PaymentNotification.id < before)
    found = session.execute(stmt.order_by(PaymentNotification.id.desc()).limit(limit + 1)).all()
    more = len(found) > limit
    found = found[:limit]
    rows = [r for r, _ in found]
    numbers = {r.order_id: number for r, number in found}
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
