"""The shop's scheduled steps (流程设置 → 自动处理), run every few minutes by the worker:

- 超时未付款自动取消: pending orders with nothing paid, placed longer ago than the shop's
  ``expire_unpaid_hours``, are cancelled (reason "not paid"), which releases the stock they held;
- 自动确认收货: orders shipped longer ago than ``auto_complete_days`` are completed (their parcels
  marked delivered), unless an after-sales request is open;
- 自动归档: completed and cancelled orders are archived after ``auto_archive_days``.

Each is idempotent by the state it reads (an order it changed no longer matches), so a run that
repeats or overlaps another changes nothing twice. Each acts through the same step as a person
(``do_transition``, ``do_archive``), so stock, parcels, timeline and events follow as usual, with
the timeline reading 自动化：<what>. Periods are off by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, select

from shangliao.auth.actor import Actor
from shangliao.core import clock
from shangliao.core.i18n import N_
from shangliao.orders.actions import do_transition
from shangliao.orders.archive import archive_older_than
from shangliao.orders.chunked import each_in_chunks
from shangliao.orders.models import Order
from shangliao.orders.state import Status
from shangliao.orders.workflow import workflow_of
from shangliao.shops.models import Shop
from shangliao.storage.database import Database

SWEEP_EVERY = timedelta(minutes=5)
CHUNK = 100  # orders per unit of work: a request waiting for SQLite's writer waits one short unit

EXPIRED = N_("Unpaid order cancelled in time")
COMPLETED = N_("Receipt confirmed in time")
ARCHIVED = N_("Finished order archived in time")


@dataclass
class Swept:
    expired: int = 0
    completed: int = 0
    archived: int = 0


def unpaid_before(shop_id: int, cutoff: datetime):
    # created_at <= submitted_at, so the first bound keeps the walk on (shop, status, created_at).
    return and_(
        Order.shop_id == shop_id,
        Order.status == Status.PENDING.value,
        Order.created_at < cutoff,
        Order.submitted_at < cutoff,
        Order.paid_amount == 0,
        Order.archived_at.is_(None),
    )


def shipped_before(shop_id: int, cutoff: datetime):
    return and_(
        Order.shop_id == shop_id,
        Order.status == Status.SHIPPED.value,
        Order.created_at < cutoff,
        Order.shipped_at < cutoff,
        Order.aftersales_open == 0,
        Order.archived_at.is_(None),
    )


def sweep_shop(db: Database, shop_id: int, settings: dict | None, timezone: str) -> Swept:
    """Run the shop's scheduled steps once, as of now."""
    flow, now, swept = workflow_of(settings), clock.now(), Swept()
    if flow.expire_unpaid_hours:
        actor = Actor.automation(shop_id, EXPIRED, timezone)
        swept.expired = each_in_chunks(
            db,
            unpaid_before(shop_id, now - timedelta(hours=flow.expire_unpaid_hours)),
            lambda session, order: do_transition(session, actor, order, "cancel", {"reason": "not_paid"}),
            chunk=CHUNK,
        )
    if flow.auto_complete_days:
        actor = Actor.automation(shop_id, COMPLETED, timezone)
        swept.completed = each_in_chunks(
            db,
            shipped_before(shop_id, now - timedelta(days=flow.auto_complete_days)),
            lambda session, order: do_transition(session, actor, order, "complete", {}),
            chunk=CHUNK,
        )
    if flow.auto_archive_days:
        actor = Actor.automation(shop_id, ARCHIVED, timezone)
        swept.archived = archive_older_than(
            db, shop_id, now - timedelta(days=flow.auto_archive_days), chunk=CHUNK, actor=actor
        )
    return swept


def sweep_every_shop(db: Database) -> Swept:
    """Every shop that set a period (the worker's ``orders.sweep``, every ``SWEEP_EVERY``)."""
    with db.snapshot() as conn:
        shops = list(conn.execute(select(Shop.id, Shop.settings, Shop.timezone).order_by(Shop.id)))
    total = Swept()
    for shop_id, settings, timezone in shops:
        flow = workflow_of(settings)
        if not (flow.expire_unpaid_hours or flow.auto_complete_days or flow.auto_archive_days):
            continue
        swept = sweep_shop(db, shop_id, settings, timezone)
        total.expired += swept.expired
        total.completed += swept.completed
        total.archived += swept.archived
    return total
