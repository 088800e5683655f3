"""The dashboard's figures (stats/) against a shop whose every number is worked out by hand below:
days and hours in the shop's zone across midnight and a month's end, a payment in two parts,
a refund, a cancellation, a submitted draft, customers old and new; then the consumer's retries,
a rebuild against the consumer, another shop's orders, and a shop in another zone.

The shop (Asia/Shanghai, UTC+8), ``now`` = 2026-04-01 12:00 there:

- O5 2026-03-01 21:00, chat, customer C1, 1 tee (5,900), paid at once;
- O1 2026-03-31 23:59, chat, C1, 2 tees (11,800), paid 04-01 00:01, 3,000 refunded 04-01 10:00;
- O2 2026-04-01 00:01, manual, C3, 1 mug (2,500), cancelled 09:00, never paid;
- O3 2026-04-01 08:00, product link, C2, 1 tee + 2 mugs (10,900), paid 5,000 at 08:30 and the
  rest at 09:30 (paid in full once, on 04-01);
- O4 a draft made 2026-03-15 10:00, manual, no customer, 1 mug, submitted 04-01 11:00;
- C4 ordered twice in November 2025 and C5 once in September 2025 (neither paid);
- a lamp in stock (30) that nobody bought.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from shangliao.stats.rebuild import rebuild
from tests.support.catalog import make_product
from tests.support.customers import make_customer
from tests.support.orders import act, make_order
from tests.support.stats import catch_up, rollups

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


@pytest.fixture
def scene(runtime, shop, frozen) -> Scene:
    made = Scene(runtime, shop, frozen)
    catch_up(runtime, shop)
    return made


def get(shop, path: str, **params) -> dict:
    r = shop.api.get(f"/api/v1/stats/{path}", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def figures(orders, paid, gmv, refunds, cancelled) -> dict:
    return {
        "orders": orders,
        "paid_orders": paid,
        "gmv": gmv,
        "aov": (2 * gmv + paid) // (2 * paid) if paid else None,
        "refunds": refunds,
        "cancelled": cancelled,
    }


# --- the overview -------------------------------------------------------------------------------


def test_today_and_this_month_are_the_shops_days(scene):
    body = get(scene.shop, "overview")

    assert body["today"] == "2026-04-01" and body["timezone"] == "Asia/Shanghai" and body["complete"]
    today = body["periods"]["today"]
    # O2, O3 and the submitted draft O4 placed today; O1 (23:59 yesterday) paid today at 00:01
    assert (today["from"], today["to"]) == ("2026-04-01", "2026-04-01")
    assert today["figures"] == figures(3, 2, 11800 + 10900, 3000, 1)
    assert today["previous"] == {"from": "2026-03-31", "to": "2026-03-31", "figures": figures(1, 0, 0, 0, 0)}
    month = body["periods"]["month"]
    assert (month["from"], month["to"]) == ("2026-04-01", "2026-04-01")
    assert month["figures"] == today["figures"]
    # the month before, over the same days: 1 March, O5
    assert month["previous"] == {
        "from": "2026-03-01",
        "to": "2026-03-01",
        "figures": figures(1, 1, 5900, 0, 0),
    }


def test_the_range_its_days_before_and_its_trend(scene):
    body = get(scene.shop, "overview")  # the last 30 days: 3 March to 1 April

    span = body["periods"]["range"]
    assert (span["from"], span["to"]) == ("2026-03-03", "2026-04-01")
    assert span["figures"] == figures(4, 2, 22700, 3000, 1)
    assert span["previous"] == {
        "from": "2026-02-01",
        "to": "2026-03-02",
        "figures": figures(1, 1, 5900, 0, 0),
    }
    trend = body["trend"]
    assert len(trend) == 30 and trend[0]["day"] == "2026-03-03" and trend[-1]["day"] == "2026-04-01"
    busy = {
        d["day"]: d for d in trend if any(d[k] for k in ("orders", "paid_orders", "refunds", "cancelled"))
    }
    assert busy == {
        "2026-03-31": {"day": "2026-03-31", "orders": 1, "paid_orders": 0, "gmv": 0, "refunds": 0, "cancelled": 0},
        "2026-04-01": {
            "day": "2026-04-01", "orders": 3, "paid_orders": 2, "gmv": 22700, "refunds": 3000, "cancelled": 1,
        },
    }  # fmt: skip


def test_what_waits_is_the_order_lists_count(scene):
    # every order placed but O2 (cancelled) waits to be confirmed: seven; confirm O3, it waits to ship
    act(scene.shop, scene.o3, "confirm")
    waiting = get(scene.shop, "overview")["waiting"]
    assert waiting == {"to_confirm": 6, "to_ship": 1, "aftersales_open": 0}


def test_a_chosen_range(scene):
    body = get(scene.shop, "overview", **{"from": "2026-03-01", "to": "2026-03-31"})
    span = body["periods"]["range"]
    assert span["figures"] == figures(2, 1, 5900, 0, 0)  # O5 and O1 placed; O5 paid
    assert (span["previous"]["from"], span["previous"]["to"]) == ("2026-01-29", "2026-02-28")
    assert len(body["trend"]) == 31


# --- products, customers, hours, channels ---------------------------------------------------------


def test_products_ranked_with_their_stock_and_the_slow_movers(scene):
    # stock available: tees 50 - 4 held (O5, O1, O3), mugs 20 - 6 held (C5, C4 twice, O3's two, O4)
    body = get(scene.shop, "products")
    tee = {
        "product_id": scene.tee.product_id,
        "name": "纯棉T恤",
        "quantity": 3,
        "revenue": 17700,
        "stock": 46,
    }
    mug = {"product_id": scene.mug.product_id, "name": "马克杯", "quantity": 2, "revenue": 5000, "stock": 14}
    lamp = {"product_id": scene.lamp.product_id, "name": "台灯", "quantity": 0, "revenue": 0, "stock": 30}
    assert body["by_quantity"] == [tee, mug] and body["by_revenue"] == [tee, mug]
    # in 30 days, fewer than one a week: all three, the unsold first
    assert body["slow_movers"] == [lamp, mug, tee]
    # in the last week (26 March to 1 April) only what sold nothing
    week = get(scene.shop, "products", **{"from": "2026-03-26", "to": "2026-04-01"})
    assert week["slow_movers"] == [lamp]


def test_customers_top_new_returning_and_groups(scene):
    body = get(scene.shop, "customers")
    # by what they spent, then the newest customer first
    assert [(c["name"], c["orders"], c["spent"]) for c in body["top"]] == [
        ("老王", 2, 5900 + 11800 - 3000),
        ("小李", 1, 10900),
        ("远去的", 1, 0),
        ("老顾客", 2, 0),
        ("阿三", 1, 0),
    ]
    # the range's buyers: 老王 (back, first order on 1 March), 小李 and 阿三 (new)
    assert (body["buyers"], body["new"], body["returning"]) == (3, 2, 1)
    assert body["repeat_rate"] == round(1 / 3, 4)
    # 老王: 1 March 21:00 to 31 March 23:59, one gap of 30 days 2 h 59 min
    assert body["median_days_between_orders"] == 30.1
    # average spend (14,700 + 10,900) / 5 buyers = 5,120: 老王 is high value
    assert body["groups"] == [
        {"segment": "high_value", "customers": 1},
        {"segment": "at_risk", "customers": 1},
        {"segment": "new", "customers": 2},
        {"segment": "lost", "customers": 1},
    ]


@pytest.mark.parametrize(
    "segment, names",
    [("high_value", {"老王"}), ("at_risk", {"老顾客"}), ("new", {"小李", "阿三"}), ("lost", {"远去的"})],
)
def test_each_group_lists_its_customers(scene, segment, names):
    r = scene.shop.api.get("/api/v1/customers", params={"segment": segment})
    assert r.status_code == 200, r.text
    assert {c["name"] for c in r.json()["items"]} == names


def test_order_hours_and_the_weekday_heatmap(scene):
    body = get(scene.shop, "hours")
    # O1 at 23:59 on Tuesday 31 March; O2 00:01, O3 08:00, O4 submitted 11:00 on Wednesday 1 April
    assert body["by_hour"] == [1 if h in (0, 8, 11, 23) else 0 for h in range(24)]
    heat = body["by_weekday_hour"]
    assert heat[1] == [1 if h == 23 else 0 for h in range(24)]
    assert heat[2] == [1 if h in (0, 8, 11) else 0 for h in range(24)]
    assert sum(map(sum, heat)) == 4


def test_channels(scene):
    rows = {c["channel"]: c for c in get(scene.shop, "channels")["channels"]}
    assert list(rows) == ["manual", "chat", "product_link", "quote"]
    assert rows["chat"] == {"channel": "chat", **figures(1, 1, 11800, 3000, 0)}
    assert rows["manual"] == {"channel": "manual", **figures(2, 0, 0, 0, 1)}
    assert rows["product_link"] == {"channel": "product_link", **figures(1, 1, 10900, 0, 0)}
    assert rows["quote"] == {"channel": "quote", **figures(0, 0, 0, 0, 0)}


# --- the rollups' bookkeeping -------------------------------------------------------------------


def test_a_rebuild_makes_what_the_consumer_made(runtime, scene):
    incremental = rollups(runtime, scene.shop.id)
    assert incremental["stats_daily"] and incremental["stats_hourly"] and incremental["stats_product_daily"]

    done = rebuild(runtime.db, scene.shop.id)

    assert done.orders == 8
    assert rollups(runtime, scene.shop.id) == incremental
