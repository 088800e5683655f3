"""The demo shop and the bulk seed leave a consistent shop behind: ledger = stock, gapless events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shangliao.audit.models import AuditEntry
from shangliao.auth.models import Role, Staff
from shangliao.auth.passwords import verify_password
from shangliao.auth.scope import Scope
from shangliao.catalog.models import Variant
from shangliao.chat.checkpoints import checkpoints_of
from shangliao.chat.models import Conversation
from shangliao.chat.verify import verify
from shangliao.core import clock
from shangliao.customers.models import Customer
from shangliao.demo.bulk import seed_bulk
from shangliao.demo.shop import STEP_CATALOG, STEP_ORDERS, STEP_TIDY, seed_demo
from shangliao.events.models import EventLogEntry
from shangliao.inventory.models import StockMovement
from shangliao.jobs.models import ConsumerCursor
from shangliao.notifications.models import Notification
from shangliao.orders import counts
from shangliao.orders.listing import OrderQuery, list_orders
from shangliao.orders.models import Order, OrderItem, OrderSearchTerm, Refund
from shangliao.orders.search_terms import micros, terms_for
from shangliao.shops.models import Shop, ShopCounter
from shangliao.stats.models import CONSUMER, StatsDaily, StatsHourly, StatsProductDaily


def _check_consistent(runtime, shop_id: int) -> dict[str, int]:
    with runtime.db.read() as s:
        ledger = dict(
            (vid, (oh, rs))
            for vid, oh, rs in s.execute(
                select(
                    StockMovement.variant_id,
                    func.sum(StockMovement.on_hand_delta),
                    func.sum(StockMovement.reserved_delta),
                )
                .where(StockMovement.shop_id == shop_id)
                .group_by(StockMovement.variant_id)
            )
        )
        stock = {
            v.id: (v.on_hand, v.reserved)
            for v in s.scalars(select(Variant).where(Variant.shop_id == shop_id))
        }
        assert ledger == stock
        seqs = list(
            s.scalars(
                select(EventLogEntry.seq).where(EventLogEntry.shop_id == shop_id).order_by(EventLogEntry.seq)
            )
        )
        assert seqs == list(range(1, len(seqs) + 1))
        assert s.scalar(select(ShopCounter.event_seq).where(ShopCounter.shop_id == shop_id)) == len(seqs)
        by_status = dict(
            s.execute(
                select(Order.status, func.count()).where(Order.shop_id == shop_id).group_by(Order.status)
            ).all()
        )
        placed = s.scalar(select(func.sum(Customer.order_count)).where(Customer.shop_id == shop_id))
        assert placed == sum(n for status, n in by_status.items() if status != "draft")
        assert counts.maintained(s, shop_id) == counts.counted(s, shop_id)
    _check_stats(runtime, shop_id)
    return by_status


def _check_stats(runtime, shop_id: int) -> None:
    """The dashboard's rollups hold every order once, and the stats consumer has nothing left."""
    o = Order.__table__.c
    with runtime.db.read() as s:
        rolled = s.execute(
            select(*(func.coalesce(func.sum(c), 0) for c in (StatsDaily.placed, StatsDaily.paid, StatsDaily.gmv,
                                                               StatsDaily.refunds, StatsDaily.cancelled)))
            .where(StatsDaily.shop_id == shop_id)
        ).one()  # fmt: skip
        placed = s.scalar(select(func.count()).where(o.shop_id == shop_id, o.submitted_at.is_not(None)))
        paid, gmv = s.execute(
            select(func.count(), func.coalesce(func.sum(o.paid_amount), 0)).where(
                o.shop_id == shop_id, o.paid_at.is_not(None)
            )
        ).one()
        refunded = s.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(Refund.shop_id == shop_id)
        )
        cancelled = s.scalar(
            select(func.count()).where(
                o.shop_id == shop_id, o.cancelled_at.is_not(None), o.submitted_at.is_not(None)
            )
        )
        assert tuple(rolled) == (placed, paid, gmv, refunded, cancelled)
        hourly = s.scalar(select(func.sum(StatsHourly.placed)).where(StatsHourly.shop_id == shop_id))
        assert hourly == placed
        sold = s.scalar(
            select(func.sum(OrderItem.quantity))
            .join(Order, Order.id == OrderItem.order_id)
            .where(Order.shop_id == shop_id, Order.paid_at.is_not(None))
        )
        units = s.scalar(
            select(func.sum(StatsProductDaily.quantity)).where(StatsProductDaily.shop_id == shop_id)
        )
        assert units == sold
        cursor = s.scalar(
            select(ConsumerCursor.last_seq).where(
                ConsumerCursor.consumer == CONSUMER, ConsumerCursor.shop_id == shop_id
            )
        )
        assert cursor == s.scalar(select(ShopCounter.event_seq).where(ShopCounter.shop_id == shop_id))


def _check_search_terms(runtime, shop_id: int) -> None:
    """Every order has exactly the terms the order-create path gives it."""
    with runtime.db.read() as s:
        expected = {
            (term, micros(created), order_id)
            for order_id, number, name, created in s.execute(
                select(Order.id, Order.number, Order.customer_name, Order.created_at).where(
                    Order.shop_id == shop_id
                )
            )
            for term in terms_for(number, name)
        }
        written = {
            tuple(row)
            for row in s.execute(
                select(OrderSearchTerm.term, OrderSearchTerm.created_us, OrderSearchTerm.order_id).where(
                    OrderSearchTerm.shop_id == shop_id
                )
            )
        }
    assert written == expected


@pytest.mark.parametrize("orders", [120])
def test_demo_shop_has_orders_in_many_states(runtime, orders):
    slug = f"demo-{orders}-{runtime.db.dialect}"
    reports = []
    seed_demo(
        runtime,
        slug=slug,
        username=f"u{slug}",
        password="shangliao-demo",
        customers=20,
        orders=orders,
        progress=lambda step, done, total: reports.append((step, done, total)),
    )
    # Every step was shown and ended complete; the orders counted up one by one (`make demo`'s bar).
    last = {step: (done, total) for step, done, total in reports}
    assert list(last) == [STEP_CATALOG, STEP_ORDERS, STEP_TIDY]
    assert all(done == total for done, total in last.values())
    assert [done for step, done, _ in reports if step == STEP_ORDERS] == list(range(orders + 1))
    with runtime.db.read() as s:
        shop_id = s.scalar(select(Shop.id).where(Shop.slug == slug))
    by_status = _check_consistent(runtime, shop_id)
    _check_search_terms(runtime, shop_id)
    assert {"completed", "cancelled", "shipped"} <= set(by_status)
    assert sum(by_status.values()) > orders * 0.8
    _check_team(runtime, shop_id, f"u{slug}")
    _check_chats(runtime, shop_id)


def _check_team(runtime, shop_id: int, owner_username: str) -> None:
    """The demo team: 小王, 老李, 阿芳 and a night shift member on an assigned-only custom role,
    signing in with the demo password, each given work through the services (so notified, and
    the owner's acts are in the audit log)."""
    with runtime.db.read() as s:
        members = {
            m.username: m
            for m in s.scalars(select(Staff).where(Staff.shop_id == shop_id, Staff.role != "owner"))
        }
        night = s.scalar(select(Role).where(Role.shop_id == shop_id))
        assert {u: (m.display_name, m.role) for u, m in members.items()} == {
            f"{owner_username}-xiaowang": ("客服小王", "agent"),
            f"{owner_username}-laoli": ("仓库老李", "warehouse"),
            f"{owner_username}-afang": ("财务阿芳", "finance"),
            f"{owner_username}-xiaochen": ("夜班小陈", "custom"),
        }
        assert (night.name, night.data_scope, night.sees_unassigned) == ("夜班客服", "assigned", False)
        assert "customers.pii" not in night.permissions and {"chat.write", "orders.write"} <= set(
            night.permissions
        )
        assert members[f"{owner_username}-xiaochen"].role_id == night.id
        wang_hash = members[f"{owner_username}-xiaowang"].password_hash
        wang, chen = members[f"{owner_username}-xiaowang"].id, members[f"{owner_username}-xiaochen"].id
        given = dict(
            s.execute(
                select(Order.assignee_id, func.count())
                .where(Order.shop_id == shop_id)
                .group_by(Order.assignee_id)
            ).all()
        )
        chats = dict(
            s.execute(
                select(Conversation.assignee_id, func.count())
                .where(Conversation.shop_id == shop_id)
                .group_by(Conversation.assignee_id)
            ).all()
        )
        told = s.scalar(select(func.count()).select_from(Notification).where(Notification.shop_id == shop_id))
        # Ninety days of orders do not open the demo with thousands of unread notifications.
        unread_old = s.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.shop_id == shop_id,
                Notification.read_at.is_(None),
                Notification.created_at < clock.now() - timedelta(days=1),
            )
        )
        acts = set(s.scalars(select(AuditEntry.act).where(AuditEntry.shop_id == shop_id)))
    assert given.get(wang, 0) > 0 and given.get(chen, 0) > 0
    assert chats.get(wang, 0) == 2 and chats.get(chen, 0) == 1
    assert told >= 3
    assert unread_old == 0
    assert verify_password(wang_hash, "shangliao-demo")  # the demo password, as the banner says
    assert {"team.role_created", "team.member_created"} <= acts


def _check_chats(runtime, shop_id: int) -> None:
    """The demo inbox: five conversations with intact chains, some waiting, one order born in chat."""
    with runtime.db.read() as s:
        conversations = s.scalars(select(Conversation).where(Conversation.shop_id == shop_id)).all()
        assert len(conversations) == 5
        assert sum(1 for c in conversations if c.staff_unread) == 4  # the customer spoke last
        born = s.scalars(
            select(Order).where(Order.shop_id == shop_id, Order.conversation_id.is_not(None))
        ).all()
        assert [(o.channel, o.status) for o in born] == [("chat", "shipped")]
        done = {c["kind"] for c in checkpoints_of(s, Scope.whole_shop(shop_id), born[0]) if c["done"]}
        assert done == {"details", "tracking", "inspect"}  # photos are left for the merchant to try
    assert verify(runtime.db, runtime.keyring, shop_id) == []


def test_bulk_seed_is_consistent(runtime):
    done = []
    slug = seed_bulk(runtime, orders=900, progress=done.append)
    assert done[-1] == 900
    with runtime.db.read() as s:
        shop_id = s.scalar(select(Shop.id).where(Shop.slug == slug))
    assert sum(_check_consistent(runtime, shop_id).values()) == 900
    _check_search_terms(runtime, shop_id)
    # and the list finds a seeded customer's orders by part of the name, newest first
    with runtime.db.read() as s:
        name, newest = s.execute(
            select(Order.customer_name, Order.id)
            .where(Order.shop_id == shop_id, Order.status != "draft")
            .order_by(Order.created_at.desc(), Order.id.desc())
            .limit(1)
        ).one()
        page = list_orders(
            s.connection(),
            runtime.keyring,
            Scope.whole_shop(shop_id),
            "Asia/Shanghai",
            OrderQuery(q=name[1:]),
        )
        assert page.orders[0].id == newest
        assert all(name[1:] in o.customer_name for o in page.orders)
