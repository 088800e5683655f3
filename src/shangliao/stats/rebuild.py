"""A shop's rollups made again from its orders, and the ``stats`` cursor set where they end.

The consumer follows a shop from the head of its log (history is never replayed), so a shop that
existed before the rollups did, or whose time zone changed, gets them from here:

1. One read unit (one snapshot on both databases) takes the head of the shop's log, then walks its
   orders a chunk at a time in creation order (``ix_orders_shop_created``), with their lines and
   refunds, into a :class:`~shangliao.stats.tally.Tally` in the shop's zone. Nothing is held
   meanwhile: requests and the consumer go on.
2. One write unit locks the shop's cursor, empties its rollups, writes the tally, and sets the
   cursor to that head. Events after the head (committed during step 1, or already passed by the
   consumer, whose effects step 2 just emptied) are then passed by the consumer, once.

Both steps read the same columns the consumer reads (``submitted_at``, ``paid_at``,
``cancelled_at``, ``refunded_at``), so a rebuild equals what the consumer made event by event.
The one difference: a rebuild reads an order as it is now (its lines and what it paid), the
consumer as it was when it was paid in full; they differ only for an order whose lines changed
after it was paid.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, delete, select, tuple_
from sqlalchemy.orm import Session

from shangliao.core import clock
from shangliao.jobs.consumers import insert_for
from shangliao.jobs.models import ConsumerCursor
from shangliao.orders.models import Order, OrderItem, Refund
from shangliao.runtime import Runtime
from shangliao.shops.models import Shop, ShopCounter
from shangliao.stats import tally
from shangliao.stats.models import CONSUMER, StatsDaily, StatsHourly, StatsProductDaily
from shangliao.storage.database import Database

log = logging.getLogger(__name__)

CHUNK = 2_000  # orders read per statement
BACKFILL_SHOPS = 10  # shops rebuilt per run of the periodic task

_o, _i, _r = Order.__table__.c, OrderItem.__table__.c, Refund.__table__.c
_FIRST = (
    select(_o.id, _o.created_at, _o.channel, _o.submitted_at, _o.paid_at, _o.paid_amount, _o.cancelled_at)
    .where(_o.shop_id == bindparam("shop"))
    .order_by(_o.created_at, _o.id)
    .limit(CHUNK)
)
# A row value, not "a > v OR (a = v AND id > i)": both databases seek ix_orders_shop_created to it,
# where the OR made SQLite walk every earlier order again for each chunk (a million orders: over
# ten minutes instead of seconds), as orders/list_sql.py's pages do.
_NEXT = _FIRST.where(
    tuple_(_o.created_at, _o.id)
    > tuple_(bindparam("at", type_=_o.created_at.type), bindparam("last", type_=_o.id.type))
)
# By order id alone (ids of this shop's orders, read just before): with shop_id beside it SQLite
# picked ix_order_items_variant (shop_id, …) and read every line of the shop for each chunk.
_LINES = select(_i.order_id, _i.product_id, _i.quantity, _i.amount).where(
    _i.order_id.in_(bindparam("ids", expanding=True))
)
_REFUNDS = select(_r.order_id, _r.refunded_at, _r.amount).where(
    _r.shop_id == bindparam("shop"), _r.order_id.in_(bindparam("ids", expanding=True))
)


@dataclass(frozen=True)
class Rebuilt:
    shop_id: int
    orders: int  # orders read
    head: int  # the log's seq the rollups are true to


def _chunks(conn: Connection, shop_id: int):
    rows = conn.execute(_FIRST, {"shop": shop_id}).all()
    while rows:
        yield rows
        if len(rows) < CHUNK:
            return
        last = rows[-1]
        rows = conn.execute(_NEXT, {"shop": shop_id, "at": last.created_at, "last": last.id}).all()


def _tally_of(conn: Connection, shop_id: int, zone: str) -> tuple[tally.Tally, int]:
    made, count = tally.Tally(zone), 0
    for rows in _chunks(conn, shop_id):
        count += len(rows)
        paid = [r.id for r in rows if r.paid_at is not None]
        lines: dict[int, list[tuple]] = {}
        if paid:
            for line in conn.execute(_LINES, {"ids": paid}):
                lines.setdefault(line.order_id, []).append((line.product_id, line.quantity, line.amount))
        channel = {r.id: r.channel for r in rows}
        for r in rows:
            if r.submitted_at is not None:
                made.placed(r.submitted_at, r.channel)
                if r.cancelled_at is not None:
                    made.cancelled(r.cancelled_at, r.channel)
            if r.paid_at is not None:
                made.paid(r.paid_at, r.channel, r.paid_amount, lines.get(r.id, ()))
        for refund in conn.execute(_REFUNDS, {"shop": shop_id, "ids": list(channel)}):
            made.refunded(refund.refunded_at, channel[refund.order_id], refund.amount)
    return made, count


def replace(session: Session, shop_id: int, made: tally.Tally, head: int) -> None:
    """Step 2: the shop's rollups become ``made`` and its cursor ``head``, in the caller's unit."""
    cursor = (
        insert_for(session)(ConsumerCursor)
        .values(consumer=CONSUMER, shop_id=shop_id, last_seq=head, errors=0, updated_at=clock.now())
        .on_conflict_do_nothing(index_elements=["consumer", "shop_id"])
    )
    session.execute(cursor)
    # Taken before the rollups: a consumer unit of this shop waits (SQLite's writer is one anyway).
    held = session.scalar(
        select(ConsumerCursor)
        .where(ConsumerCursor.consumer == CONSUMER, ConsumerCursor.shop_id == shop_id)
        .with_for_update()
    )
    for model in (StatsDaily, StatsHourly, StatsProductDaily):
        session.execute(delete(model).where(model.shop_id == shop_id))
    tally.write(session.connection(), shop_id, made)
    held.last_seq, held.errors, held.updated_at = head, 0, clock.now()


def rebuild(db: Database, shop_id: int) -> Rebuilt:
    """The shop's rollups made again from its orders (see the module's docstring)."""
    with db.read() as session:
        conn = session.connection()
        zone = conn.scalar(select(Shop.timezone).where(Shop.id == shop_id))
        head = conn.scalar(select(ShopCounter.event_seq).where(ShopCounter.shop_id == shop_id)) or 0
        made, count = _tally_of(conn, shop_id, zone or "Asia/Shanghai")
    with db.write() as session:
        replace(session, shop_id, made, head)
    return Rebuilt(shop_id, count, head)


def unfollowed(db: Database, limit: int = BACKFILL_SHOPS) -> list[int]:
    """Shops the consumer does not follow: made before the rollups, or their zone just changed."""
    with db.snapshot() as conn:
        followed = select(ConsumerCursor.shop_id).where(ConsumerCursor.consumer == CONSUMER)
        return list(
            conn.scalars(select(Shop.id).where(Shop.id.not_in(followed)).order_by(Shop.id).limit(limit))
        )


def backfill(rt: Runtime) -> int:
    """Rebuild the shops the consumer does not follow (a few per run); returns how many."""
    shops = unfollowed(rt.db)
    for shop_id in shops:
        done = rebuild(rt.db, shop_id)
        log.info("stats: shop %s rebuilt from %s orders up to event %s", shop_id, done.orders, done.head)
    return len(shops)


def forget_zone(session: Session, shop_id: int) -> None:
    """The shop's zone changed: its days are no longer the ones the rollups hold. The consumer
    stops following it, and the next backfill (at most ``SWEEP_EVERY`` later) rebuilds it in the
    new zone; until then the pages show the figures as they were, saying they are being redone."""
    session.execute(
        delete(ConsumerCursor).where(ConsumerCursor.consumer == CONSUMER, ConsumerCursor.shop_id == shop_id)
    )
