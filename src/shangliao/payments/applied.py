"""A provider's payment notification read and applied as a handful of prepared Core statements.

A provider sends one notification per payment, in bursts (a live stream's checkout), so this is a
hot path like placing an order (rule 3 of docs/architecture.md, ``orders/create.py``): the ORM
is kept off it. An applied notification costs, on SQLite: BEGIN IMMEDIATE, read the attempt and
its order together (both rows locked on PostgreSQL), insert the payment, mark the attempt paid,
update the order (its version checked and bumped: a lost update is a 409 the provider retries),
the customer's total (when the order has a customer), the timeline row, one counter bump for the
``order.paid`` event and the members' notifications (told from the shop's cached audience,
``notifications/audience.py``), the notifications, the event-log rows, the notification's log
row (payments/notifications.py), and COMMIT. A copy of an applied notification reads one more
statement: whether the payment exists (it can only when the attempt is paid).

The rows written are those ``orders/actions.py`` ``do_mark_paid`` writes for a payment recorded
by hand; ``tests/test_payment_notify_cost.py`` pins the statement count.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.orm import Session

from shangliao.core import clock
from shangliao.core.errors import Conflict
from shangliao.core.i18n import N_
from shangliao.customers.models import Customer
from shangliao.events import log
from shangliao.events.log import DomainEvent
from shangliao.notifications import service as notifications
from shangliao.orders.models import Order, OrderEvent, Payment
from shangliao.payments.models import PaymentAttempt
from shangliao.payments.notice import Notice
from shangliao.shops import counters
from shangliao.storage.prepared import Prepared

_attempts = PaymentAttempt.__table__
_orders = Order.__table__
_payments = Payment.__table__
_timeline = OrderEvent.__table__
_customers = Customer.__table__

# The attempt and its order in one read. On PostgreSQL both rows are locked, the order's first
# (as checkout locks them), so copies of one notification queue here and each reads both rows as
# the previous copy committed them; SQLite has one writer, whose transaction already excludes
# every other.
_LOCATE = Prepared(
    select(
        _attempts.c.id.label("attempt_id"),
        _attempts.c.status.label("attempt_status"),
        _attempts.c.amount.label("attempt_amount"),
        _attempts.c.currency,
        _orders.c.id,
        _orders.c.number,
        _orders.c.status,
        _orders.c.total,
        _orders.c.paid_amount,
        _orders.c.paid_at,
        _orders.c.archived_at,
        _orders.c.customer_id,
        _orders.c.assignee_id,
        _orders.c.trade_seq,
        _orders.c.version,
    )
    .join_from(
        _attempts,
        _orders,
        and_(_orders.c.id == _attempts.c.order_id, _orders.c.shop_id == _attempts.c.shop_id),
    )
    .where(_attempts.c.shop_id == bindparam("shop"), _attempts.c.out_trade_no == bindparam("trade_no"))
    .with_for_update(of=[_orders, _attempts])
)
_PAID_BY = Prepared(
    select(_payments.c.id)
    .where(
        _payments.c.shop_id == bindparam("shop"),
        _payments.c.method == bindparam("method"),
        _payments.c.transaction_id == bindparam("transaction_id"),
    )
    .limit(1)
)
_INSERT_PAYMENT = Prepared(insert(_payments).returning(_payments.c.id))
_ATTEMPT_PAID = Prepared(
    update(_attempts)
    .where(_attempts.c.id == bindparam("aid"))
    .values(status="paid", paid_at=bindparam("now"))
)
# ``version = :seen`` does what the ORM's version column does for every other change of an order.
_ORDER_PAID = Prepared(
    update(_orders)
    .where(_orders.c.id == bindparam("oid"), _orders.c.version == bindparam("seen"))
    .values(
        paid_amount=bindparam("paid_after"),
        paid_at=bindparam("order_paid_at"),
        trade_seq=bindparam("seq"),
        version=_orders.c.version + 1,
        updated_at=bindparam("now"),
    )
    .returning(_orders.c.version)
)
# In SQL: two payments of one customer at once must both count.
_CUSTOMER_SPENT = Prepared(
    update(_customers)
    .where(_customers.c.id == bindparam("cid"), _customers.c.shop_id == bindparam("shop"))
    .values(total_spent=_customers.c.total_spent + bindparam("amount"), updated_at=bindparam("now"))
)
_INSERT_TIMELINE = Prepared(insert(_timeline))


def locate(session: Session, shop_id: int, out_trade_no: str) -> Any | None:
    """The attempt of ``out_trade_no`` with its order's fields (``attempt_*``, ``currency``, then
    the order's own names), locked; None when the shop never issued it."""
    rows = _LOCATE.rows(session.connection(), {"shop": shop_id, "trade_no": out_trade_no})
    return rows[0] if rows else None


def already_paid(session: Session, shop_id: int, notice: Notice) -> bool:
    """Whether the provider's transaction was recorded (a copy of an applied notification)."""
    params = {"shop": shop_id, "method": notice.provider, "transaction_id": notice.transaction_id}
    return bool(_PAID_BY.rows(session.connection(), params))


def record(session: Session, shop_id: int, notice: Notice, found: Any) -> None:
    """Pay ``found`` (a :func:`locate` row the caller checked may take ``notice``): the payment,
    the attempt, the order, the customer's total, the timeline, the event and the members told."""
    conn = session.connection()
    now = clock.now()
    # The payment keeps the number the provider was told (the attempt's, which took its place in
    # the order's sequence when it opened): reconciling reads one out_trade_no on both sides.
    seq = found.trade_seq or 0
    paid_after = found.paid_amount + notice.amount
    trade_no = notice.out_trade_no
    ((payment_id,),) = _INSERT_PAYMENT.execute(
        conn,
        {
            "shop_id": shop_id,
            "order_id": found.id,
            "method": notice.provider,
            "amount": notice.amount,
            "reference": notice.transaction_id[:64],
            "out_trade_no": trade_no,
            "recorded_by": None,
            "paid_at": now,
            "created_at": now,
            "note": "",
            "idempotency_key": None,
            "idempotency_hash": None,
            "source": "provider",
            "transaction_id": notice.transaction_id,
            "attempt_id": found.attempt_id,
        },
    )
    _ATTEMPT_PAID.execute(conn, {"aid": found.attempt_id, "now": now})
    completes = found.paid_at is None and paid_after >= found.total  # this payment pays it in full
    bumped = _ORDER_PAID.execute(
        conn,
        {
            "oid": found.id,
            "seen": found.version,
            "paid_after": paid_after,
            "order_paid_at": now if completes else found.paid_at,
            "seq": seq,
            "now": now,
        },
    )
    if not bumped:  # cannot happen under the lock; if it ever does, the provider retries
        raise Conflict(
            "order.version_conflict",
            N_("Someone else changed this order meanwhile. Reload it and try again."),
        )
    _forget(session, Order, found.id)
    _forget(session, PaymentAttempt, found.attempt_id)
    if found.customer_id is not None:
        _CUSTOMER_SPENT.execute(
            conn, {"cid": found.customer_id, "shop": shop_id, "amount": notice.amount, "now": now}
        )
        _forget(session, Customer, found.customer_id)
    _INSERT_TIMELINE.execute(
        conn,
        {
            "shop_id": shop_id,
            "order_id": found.id,
            "kind": "paid",
            "actor_type": "system",
            "actor_id": None,
            "from_status": None,
            "to_status": None,
            "data": {
                "payment_id": payment_id,
                "method": notice.provider,
                "amount": notice.amount,
                "reference": notice.transaction_id[:64],
                "out_trade_no": trade_no,
                "paid_before": found.paid_amount,
                "paid_after": paid_after,
            },
            "created_at": now,
        },
    )
    paid = DomainEvent(
        "order.paid",
        "order",
        found.id,
        {
            "number": found.number,
            "status": found.status,
            "version": bumped[0][0],
            "payment_id": payment_id,
            "amount": notice.amount,
            "paid_amount": paid_after,
            "paid_in_full": completes,
        },
    )
    told = notifications.cached_recipients(session, shop_id, "payment", found.assignee_id)
    last_seq = counters.bump(session, shop_id, events=1 + len(told))
    notes = notifications.insert_notes(
        session, shop_id, told, "payment", "order", found.id, {"number": found.number}
    )
    log.insert_rows(session, log.rows_for(shop_id, last_seq, [paid, *notes]))


def _forget(session: Session, model: type, row_id: int) -> None:
    """A row this unit's session already holds (an earlier unit of the same group commit loaded
    it) is read again when next used, not flushed over what was written here."""
    held = session.identity_map.get((model, (row_id,), None))  # identity_key() costs ~50 µs
    if held is not None:
        session.expire(held)
