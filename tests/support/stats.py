"""The dashboard's rollups in tests: a shop whose every figure is worked out by hand (``Scene``),
the stats consumer run until it has passed the shop's log, and the rows it made (for comparing
with a rebuild).

The scene's shop (Asia/Shanghai, UTC+8), ``now`` = 2026-04-01 12:00 there:

- O5 2026-03-01 21:00, chat, customer C1 老王, 1 tee (5,900), paid at once;
- O1 2026-03-31 23:59, chat, C1, 2 tees (11,800), paid 04-01 00:01, 3,000 refunded 04-01 10:00;
- O2 2026-04-01 00:01, manual, C3 阿三, 1 mug (2,500), cancelled 09:00, never paid;
- O3 2026-04-01 08:00, product link, C2 小李, 1 tee + 2 mugs (10,900), paid 5,000 at 08:30 and
  the rest at 09:30 (paid in full once, on 04-01);
- O4 a draft made 2026-03-15 10:00, manual, no customer, 1 mug, submitted 04-01 11:00;
- C4 老顾客 ordered twice in November 2025 and C5 远去的 once in September 2025 (neither paid);
- a lamp in stock (30) that nobody bought.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from shangliao.jobs.consumers import run_consumer
from shangliao.jobs.models import ConsumerCursor
from shangliao.runtime import Runtime
from shangliao.shops.models import ShopCounter
from shangliao.stats.models import CONSUMER, StatsDaily, StatsHourly, StatsProductDaily
from tests.support.catalog import make_product
from tests.support.customers import make_customer
from tests.support.orders import act, make_order
from tests.support.shops import ShopFixture


def catch_up(runtime: Runtime, shop: ShopFixture, *, units: int = 500) -> None:
    """What the worker does for the shop: consumer units until its cursor is at the log's head (a
    unit whose first event fails passes none, and the next one tries again)."""
    for _ in range(units):
        run_consumer(runtime, CONSUMER, shop.id)
        with runtime.db.read() as session:
            head = session.scalar(select(ShopCounter.event_seq).where(ShopCounter.shop_id == shop.id))
            at = session.scalar(
                select(ConsumerCursor.last_seq).where(
                    ConsumerCursor.consumer == CONSUMER, ConsumerCursor.shop_id == shop.id
                )
            )
        if at == head:
            return
    raise AssertionError(f"the stats consumer is stuck at {at} of {head}")


def rollups(runtime: Runtime, shop_id: int) -> dict[str, set[tuple]]:
    """Every rollup row of the shop (without zero rows, which a rebuild does not write)."""
    out: dict[str, set[tuple]] = {}
    with runtime.db.read() as session:
        for model in (StatsDaily, StatsHourly, StatsProductDaily):
            table = model.__table__
            columns = [c for c in table.c if c.name != "shop_id"]
            rows = session.execute(select(*columns).where(table.c.shop_id == shop_id)).all()
            out[table.name] = {tuple(r) for r in rows if any(v for v in r[len(table.primary_key) - 1 :])}
    return out


SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)


def pay(shop, order: dict, amount: int) -> None:
    r = shop.api.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "cash", "amount": amount})
    assert r.status_code in (200, 201), r.text


def refund(shop, order: dict, amount: int) -> None:
    r = shop.api.post(f"/api/v1/orders/{order['id']}/refunds", json={"method": "cash", "amount": amount})
    assert r.status_code in (200, 201), r.text


class Scene:
    """The shop described in the module's docstring, made through the API with the clock moved."""

    def __init__(self, runtime, shop, frozen) -> None:
        self.shop = shop
        self.tee = make_product(runtime, shop, name="纯棉T恤", stock=50, price=5900)
        self.mug = make_product(runtime, shop, name="马克杯", stock=20, price=2500)
        self.lamp = make_product(runtime, shop, name="台灯", stock=30, price=9900)
        self.c1 = make_customer(runtime, shop, name="老王", phone="13900000001")[0]
        self.c2 = make_customer(runtime, shop, name="小李", phone="13900000002")[0]
        self.c3 = make_customer(runtime, shop, name="阿三", phone="13900000003")[0]
        self.c4 = make_customer(runtime, shop, name="老顾客", phone="13900000004")[0]
        self.c5 = make_customer(runtime, shop, name="远去的", phone="13900000005")[0]
        tee, mug = self.tee.variant_id, self.mug.variant_id

        def at(text: str) -> None:
            frozen(local(text))

        at("2025-09-01 10:00")
        make_order(shop, [(mug, 1)], customer_id=self.c5, address=None)
        at("2025-11-01 10:00")
        make_order(shop, [(mug, 1)], customer_id=self.c4, address=None)
        at("2025-11-05 10:00")
        make_order(shop, [(mug, 1)], customer_id=self.c4, address=None)
        at("2026-03-01 21:00")
        o5 = make_order(shop, [(tee, 1)], customer_id=self.c1, address=None, channel="chat")
        pay(shop, o5, 5900)
        at("2026-03-15 10:00")
        self.o4 = make_order(shop, [(mug, 1)], draft=True)
        at("2026-03-31 23:59")
        self.o1 = make_order(shop, [(tee, 2)], customer_id=self.c1, address=None, channel="chat")
        at("2026-04-01 00:01")
        pay(shop, self.o1, 11800)
        self.o2 = make_order(shop, [(mug, 1)], customer_id=self.c3, address=None)
        at("2026-04-01 08:00")
        self.o3 = make_order(
            shop, [(tee, 1), (mug, 2)], customer_id=self.c2, address=None, channel="product_link"
        )
        at("2026-04-01 08:30")
        pay(shop, self.o3, 5000)
        at("2026-04-01 09:00")
        act(shop, self.o2, "cancel", reason="changed_mind")
        at("2026-04-01 09:30")
        pay(shop, self.o3, 5900)
        at("2026-04-01 10:00")
        refund(shop, self.o1, 3000)
        at("2026-04-01 11:00")
        act(shop, self.o4, "submit")
        at("2026-04-01 12:00")
