"""The ``stats`` consumer of the event log: each order event that moves a figure adds to the shop's
rollups, in the unit that moves the cursor (jobs/consumers.py), so a retried unit adds nothing
twice and a crash loses nothing.

What counts, and on which local day (the shop's zone when the event is handled):

- placed: ``order.created`` of a non-draft, or ``order.pending`` (a draft submitted), on the
  order's ``submitted_at``;
- paid: the ``order.paid`` whose payment paid the order in full (``paid_in_full``), once per
  order, on its ``paid_at``, with what it paid (GMV) and its lines (products sold);
- refunds: every ``order.refunded``, its amount on the refund's ``refunded_at``;
- cancelled: ``order.cancelled`` of an order that had been placed, on its ``cancelled_at``.

Times are read from the rows, not the event, so a consumer running behind buckets an order where
a rebuild (stats/rebuild.py, which reads the same columns) would.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.events.models import EventLogEntry
from shangliao.jobs.consumers import consumer
from shangliao.orders.models import Order, OrderItem, Refund
from shangliao.shops.models import Shop
from shangliao.stats import tally
from shangliao.stats.models import CONSUMER

HANDLED = frozenset({"order.created", "order.pending", "order.paid", "order.refunded", "order.cancelled"})
_ORDER = select(Order.channel, Order.submitted_at, Order.paid_at, Order.cancelled_at)


def _zone(session: Session, shop_id: int) -> str:
    """The shop's time zone, read once per unit of work."""
    zones = session.info.setdefault("stats_zones", {})
    if shop_id not in zones:
        zones[shop_id] = session.scalar(select(Shop.timezone).where(Shop.id == shop_id)) or "Asia/Shanghai"
    return zones[shop_id]


def _counts(event: EventLogEntry) -> bool:
    data = event.data or {}
    if event.type == "order.created":
        return data.get("status") != "draft"
    if event.type == "order.paid":
        return bool(data.get("paid_in_full"))
    return event.type in HANDLED


@consumer(CONSUMER, priority=1)  # after rules and webhooks: a figure may wait, a customer should not
def handle(session: Session, event: EventLogEntry, _rt) -> None:
    if event.type not in HANDLED or event.entity_id is None or not _counts(event):
        return
    shop_id, order_id = event.shop_id, event.entity_id
    conn = session.connection()
    order = conn.execute(_ORDER.where(Order.id == order_id, Order.shop_id == shop_id)).first()
    if order is None:  # gone since (a deleted draft): nothing to count
        return
    made = tally.Tally(_zone(session, shop_id))
    data = event.data or {}
    if event.type in ("order.created", "order.pending"):
        if order.submitted_at is not None:
            made.placed(order.submitted_at, order.channel)
    elif event.type == "order.paid":
        if order.paid_at is not None:
            lines = conn.execute(
                select(OrderItem.product_id, OrderItem.quantity, OrderItem.amount).where(
                    OrderItem.order_id == order_id, OrderItem.shop_id == shop_id
                )
            ).all()
            made.paid(order.paid_at, order.channel, int(data.get("paid_amount") or 0), lines)
    elif event.type == "order.refunded":
        refunded_at = conn.scalar(
            select(Refund.refunded_at).where(Refund.id == data.get("refund_id"), Refund.shop_id == shop_id)
        )
        if refunded_at is not None:
            made.refunded(refunded_at, order.channel, int(data.get("amount") or 0))
    elif order.submitted_at is not None and order.cancelled_at is not None:  # order.cancelled
        made.cancelled(order.cancelled_at, order.channel)
    tally.write(conn, shop_id, made)
