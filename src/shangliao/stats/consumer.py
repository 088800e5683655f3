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

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from shangliao.events.models import EventLogEntry
from shangliao.jobs.consumers import consumer
from shangliao.orders.models import Order, OrderItem, Refund
from shangliao.shops.models import Shop
from shangliao.stats import tally
from shangliao.stats.models import CONSUMER
from shangliao.storage.prepared import Prepared

HANDLED = frozenset({"order.created", "order.pending", "order.paid", "order.refunded", "order.cancelled"})
_o = Order.__table__.c
# Prepared (storage/prepared.py): the consumer reads an order for every order event it counts.
_ORDER = Prepared(
    select(_o.channel, _o.submitted_at, _o.paid_at, _o.cancelled_at).where(
        _o.id == bindparam("order"), _o.shop_id == bindparam("shop")
    )
)
_i, _r = OrderItem.__table__.c, Refund.__table__.c
_LINES = Prepared(
    select(_i.product_id, _i.quantity, _i.amount).where(
        _i.order_id == bindparam("order"), _i.shop_id == bindparam("shop")
    )
)
_REFUNDED_AT = Prepared(
    select(_r.refunded_at).where(_r.id == bindparam("refund"), _r.shop_id == bindparam("shop"))
)


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
    found = _ORDER.rows(conn, {"order": order_id, "shop": shop_id})
    if not found:  # gone since (a deleted draft): nothing to count
        return
    order = found[0]
    made = tally.Tally(_zone(session, shop_id))
    data = event.data or {}
    if event.type in ("order.created", "order.pending"):
        if order.submitted_at is not None:
            made.placed(order.submitted_at, order.channel)
    elif event.type == "order.paid":
        if order.paid_at is not None:
            lines = _LINES.tuples(conn, {"order": order_id, "shop": shop_id})
            made.paid(order.paid_at, order.channel, int(data.get("paid_amount") or 0), lines)
    elif event.type == "order.refunded":
        refunded = _REFUNDED_AT.rows(conn, {"refund": data.get("refund_id"), "shop": shop_id})
        if refunded:
            made.refunded(refunded[0].refunded_at, order.channel, int(data.get("amount") or 0))
    elif order.submitted_at is not None and order.cancelled_at is not None:  # order.cancelled
        made.cancelled(order.cancelled_at, order.channel)
    tally.write(conn, shop_id, made)
