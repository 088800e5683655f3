"""The demo shop and the bulk seed leave a consistent shop behind: ledger = stock, gapless events."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shangliao.catalog.models import Variant
from shangliao.customers.models import Customer
from shangliao.demo.bulk import seed_bulk
from shangliao.demo.shop import seed_demo
from shangliao.events.models import EventLogEntry
from shangliao.inventory.models import StockMovement
from shangliao.orders.models import Order
from shangliao.shops.models import Shop, ShopCounter


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
        return by_status


@pytest.mark.parametrize("orders", [120])
def test_demo_shop_has_orders_in_many_states(runtime, orders):
    slug = f"demo-{orders}-{runtime.db.dialect}"
    seed_demo(runtime, slug=slug, username=f"u{slug}", password="shangliao-demo", customers=20, orders=orders)
    with runtime.db.read() as s:
        shop_id = s.scalar(select(Shop.id).where(Shop.slug == slug))
    by_status = _check_consistent(runtime, shop_id)
    assert {"completed", "cancelled", "shipped"} <= set(by_status)
    assert sum(by_status.values()) > orders * 0.8


def test_bulk_seed_is_consistent(runtime):
    done = []
    slug = seed_bulk(runtime, orders=900, progress=done.append)
    assert done[-1] == 900
    with runtime.db.read() as s:
        shop_id = s.scalar(select(Shop.id).where(Shop.slug == slug))
    assert sum(_check_consistent(runtime, shop_id).values()) == 900
