"""The dashboard's figures (stats/) against a shop whose every number is worked out by hand
(tests/support/stats.py ``Scene``): days and hours in the shop's zone across midnight and a
month's end, a payment in two parts, a refund, a cancellation, a submitted draft, customers old
and new; then the consumer's retries, a rebuild against the consumer, another shop's orders, a
shop in another zone, a zone changed, and bad ranges."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete

from shangliao.jobs import consumers
from shangliao.jobs.consumers import run_consumer
from shangliao.stats.charts import CHARTS
from shangliao.stats.models import CONSUMER, StatsDaily, StatsHourly, StatsProductDaily
from shangliao.stats.rebuild import backfill, forget_zone, rebuild, unfollowed
from tests.support.catalog import make_product
from tests.support.orders import act, make_order
from tests.support.shops import make_shop
from tests.support.stats import Scene, catch_up, local, pay, rollups


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


def test_a_failing_event_and_a_crashed_unit_count_nothing_twice(runtime, shop, frozen, monkeypatch):
    # given the scene's events, not yet passed, and a consumer that fails the first time it meets
    # a payment (inside the event's savepoint) and dies outright in the middle of its second unit
    Scene(runtime, shop, frozen)
    real = consumers.CONSUMERS[CONSUMER].handle
    failed: set[int] = set()
    handled = [0]

    class Crash(BaseException):
        """Not an Exception: nothing catches it, the unit rolls back whole, as a killed worker's."""

    def flaky(session, event, rt):
        real(session, event, rt)  # the effect is made, then lost with its savepoint or unit
        handled[0] += 1
        if event.type == "order.paid" and event.seq not in failed:
            failed.add(event.seq)
            raise RuntimeError("the database went away")
        if handled[0] == 12:
            raise Crash

    monkeypatch.setitem(consumers.CONSUMERS, CONSUMER, consumers.Consumer(CONSUMER, flaky))
    with pytest.raises(Crash):
        for _ in range(50):
            run_consumer(runtime, CONSUMER, shop.id)
    catch_up(runtime, shop)

    # then every figure is counted once
    body = get(shop, "overview")
    assert failed and body["periods"]["range"]["figures"] == figures(4, 2, 22700, 3000, 1)
    assert body["periods"]["month"]["previous"]["figures"] == figures(1, 1, 5900, 0, 0)
    assert get(shop, "products")["by_quantity"][0]["quantity"] == 3


def test_another_shops_orders_are_not_counted(runtime, scene, other_shop):
    theirs = make_product(runtime, other_shop, stock=10, price=100_00)
    placed = make_order(other_shop, [(theirs.variant_id, 2)], channel="chat")
    pay(other_shop, placed, 20000)
    catch_up(runtime, other_shop)

    mine = get(scene.shop, "overview")["periods"]["today"]["figures"]
    assert mine == figures(3, 2, 22700, 3000, 1)
    assert get(other_shop, "overview")["periods"]["today"]["figures"] == figures(1, 1, 20000, 0, 0)
    assert theirs.product_id not in {p["product_id"] for p in get(scene.shop, "products")["by_quantity"]}
    assert {c["name"] for c in get(other_shop, "customers")["top"]}.isdisjoint({"老王", "小李"})


def test_a_shop_in_another_zone_counts_its_own_days(runtime, app, frozen):
    # given a shop in Los Angeles (UTC-7 in April): an order at 20:00 on 31 March there (11:00 on
    # 1 April in Shanghai), paid at 00:30 on 1 April there
    west = make_shop(runtime, app, timezone="America/Los_Angeles")
    zone = ZoneInfo("America/Los_Angeles")
    tee = make_product(runtime, west, stock=5, price=5900)
    frozen(local("2026-03-31 20:00", zone))
    order = make_order(west, [(tee.variant_id, 1)], channel="chat")
    frozen(local("2026-04-01 00:30", zone))
    pay(west, order, 5900)
    frozen(local("2026-04-01 12:00", zone))
    catch_up(runtime, west)

    body = get(west, "overview")
    assert body["today"] == "2026-04-01" and body["timezone"] == "America/Los_Angeles"
    assert body["periods"]["today"]["figures"] == figures(0, 1, 5900, 0, 0)
    assert body["periods"]["today"]["previous"]["figures"] == figures(1, 0, 0, 0, 0)
    hours = get(west, "hours")
    assert hours["by_hour"] == [1 if h == 20 else 0 for h in range(24)]
    assert hours["by_weekday_hour"][1][20] == 1  # Tuesday, 31 March


def test_a_new_zone_redoes_the_days(runtime, scene):
    # when the owner moves the shop to Los Angeles
    r = scene.shop.api.patch("/api/v1/shop", json={"timezone": "America/Los_Angeles"})
    assert r.status_code == 200, r.text

    # then until the backfill has run, the figures say they are being redone
    assert get(scene.shop, "overview")["complete"] is False
    assert scene.shop.id in unfollowed(runtime.db, limit=10_000)
    backfill(runtime)
    body = get(scene.shop, "overview")
    assert body["complete"] is True and body["today"] == "2026-03-31"  # 12:00 in Shanghai
    # every order of the 31st and the 1st in Shanghai was placed on the 31st in Los Angeles
    # (23:59, 00:01, 08:00, 11:00 there are 08:59, 09:01, 17:00, 20:00 here)
    assert get(scene.shop, "hours")["by_hour"] == [1 if h in (8, 9, 17, 20) else 0 for h in range(24)]
    assert body["periods"]["today"]["figures"] == figures(4, 2, 22700, 3000, 1)
    # and the consumer follows the shop again
    assert scene.shop.id not in unfollowed(runtime.db, limit=10_000)


def test_a_shop_older_than_the_rollups_is_backfilled(runtime, scene):
    incremental = rollups(runtime, scene.shop.id)
    with runtime.db.write() as session:  # as a shop made before the stats consumer existed
        forget_zone(session, scene.shop.id)
        for model in (StatsDaily, StatsHourly, StatsProductDaily):
            session.execute(delete(model).where(model.shop_id == scene.shop.id))

    assert backfill(runtime) >= 1
    assert rollups(runtime, scene.shop.id) == incremental


# --- asking -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, code",
    [
        ({"from": "2026-04-02", "to": "2026-04-01"}, "stats.range_reversed"),
        ({"from": "2025-03-31", "to": "2026-04-01"}, "stats.range_too_long"),
        ({"from": "yesterday"}, "request.invalid"),
        ({"to": "1800-01-01"}, "request.invalid"),
        ({"since": "2026-04-01"}, "request.invalid"),
    ],
)
def test_a_bad_range_is_refused_with_its_code(shop, params, code):
    for path in ("overview", "products", "customers", "hours", "channels"):
        r = shop.api.get(f"/api/v1/stats/{path}", params=params)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, (path, r.text)
    r = shop.api.get("/api/v1/stats/csv", params={"chart": "trend", **params})
    assert r.status_code == 422 and r.json()["error"]["code"] == code


def test_a_year_is_the_longest_range(shop):
    r = shop.api.get("/api/v1/stats/overview", params={"from": "2024-01-01", "to": "2024-12-31"})
    assert r.status_code == 200 and len(r.json()["trend"]) == 366


def test_each_chart_downloads_as_csv(runtime, scene, frozen):
    # given a product whose name a spreadsheet would run as a formula, sold and paid today
    evil = make_product(runtime, scene.shop, name='=HYPERLINK("http://x.example","点我")', stock=5, price=100)
    order = make_order(scene.shop, [(evil.variant_id, 1)])
    pay(scene.shop, order, 100)
    catch_up(runtime, scene.shop)

    r = scene.shop.api.get("/api/v1/stats/csv", params={"chart": "top_quantity"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="top_quantity-2026-03-03-2026-04-01.csv"' in r.headers["content-disposition"]
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["商品", "销量", "销售额（元）", "库存"]
    assert rows[1:] == [["纯棉T恤", "3", "177.00", "46"], ["马克杯", "2", "50.00", "14"],
                        ["\'=HYPERLINK(\"http://x.example\",\"点我\")", "1", "1.00", "4"]]  # fmt: skip

    trend = list(csv.reader(io.StringIO(get_csv(scene.shop, "trend"))))
    assert trend[-1] == ["2026-04-01", "4", "3", "228.00", "30.00", "1"]
    assert len(trend) == 31
    groups = list(csv.reader(io.StringIO(get_csv(scene.shop, "segments"))))
    assert groups == [
        ["客户分组", "客户数"],
        ["高价值", "1"],
        ["流失风险", "1"],
        ["新客", "2"],
        ["已流失", "1"],
    ]
    heat = list(csv.reader(io.StringIO(get_csv(scene.shop, "weekday_hours"))))
    # Wednesday 1 April: O2 at 00:01, O3 at 08:00, O4 at 11:00 and the order above at 12:00
    assert heat[0][:3] == ["星期", "00", "01"]
    assert heat[3] == ["星期三", *("1" if h in (0, 8, 11, 12) else "0" for h in range(24))]
    for chart in CHARTS:  # every chart answers a table
        assert len(list(csv.reader(io.StringIO(get_csv(scene.shop, chart))))) >= 2, chart


def get_csv(shop, chart: str) -> str:
    r = shop.api.get("/api/v1/stats/csv", params={"chart": chart})
    assert r.status_code == 200, r.text
    return r.content.decode("utf-8-sig")
