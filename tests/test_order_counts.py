"""The list's tab counts: kept by trigger in the changing transaction, always equal to a real count."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text, update

from shangliao.core import clock
from shangliao.orders import counts
from shangliao.orders.archive import archive_older_than
from shangliao.orders.models import OrderStatusCount
from tests.support.catalog import make_product
from tests.support.live import serve
from tests.support.orders import ADDRESS, act, make_order
from tests.support.sql import statements_sent

SHIP = {"carrier_code": "SF", "tracking_number": "SF1234567890"}
PARAMS = {"ship": SHIP, "cancel": {"reason": "out_of_stock"}}


@pytest.fixture
def product(runtime, shop):
    return make_product(runtime, shop, stock=10_000)


@pytest.fixture(scope="module")
def live_url(app):
    with serve(app) as url:
        yield url


def both_ways(runtime, shop_id: int) -> tuple[dict, dict]:
    with runtime.db.read() as session:
        return counts.maintained(session, shop_id), counts.counted(session, shop_id)


def tabs_by_hand(counted: dict[tuple[str, bool], int]) -> dict[str, int]:
    tabs = dict.fromkeys(counts.TAB_KEYS, 0)
    for (status, archived), n in counted.items():
        tabs["archived" if archived else status] += n
    return tabs


def test_counts_follow_a_random_mix_of_changes(runtime, shop, product):
    # given a shop where orders are placed, drafted, moved through their lifecycle at random,
    # archived one by one and in batches
    rng = random.Random(20261126)
    orders = [make_order(shop, [(product.variant_id, 1)], draft=rng.random() < 0.2) for _ in range(12)]
    for _ in range(45):
        i = rng.randrange(len(orders))
        order = orders[i]
        if order["archived"]:
            continue
        choices = list(order["allowed_actions"])
        if order["status"] in ("completed", "cancelled"):
            choices.append("archive")
        if not choices or rng.random() < 0.15:
            orders.append(make_order(shop, [(product.variant_id, 1)], draft=rng.random() < 0.3))
            continue
        action = rng.choice(choices)
        orders[i] = act(shop, order, action, **PARAMS.get(action, {}))
    pending = [o["id"] for o in orders if o["status"] == "pending" and not o["archived"]]
    r = shop.api.post("/api/v1/orders/batch", json={"order_ids": pending, "action": "confirm"})
    assert r.status_code == 200 and r.json()["failed"] == 0, r.text
    archive_older_than(runtime.db, shop.id, clock.now() + timedelta(days=1))

    # when the counts are read
    maintained, counted = both_ways(runtime, shop.id)
    body = shop.api.get("/api/v1/orders/counts").json()

    # then they equal COUNT(*) GROUP BY status, archived, and the tabs add up the same way
    assert maintained == counted
    assert body == tabs_by_hand(counted)
    assert sum(body.values()) == len(orders)
    assert body["archived"] > 0 and body["confirmed"] >= len(pending)


def test_reading_the_counts_does_not_count_orders(runtime, shop, product):
    # given a shop with orders
    make_order(shop, [(product.variant_id, 1)])

    # when the counts are read
    with statements_sent(runtime.db.reader) as sent, runtime.db.read() as session:
        tabs = counts.status_counts(session, shop.id)

    # then one query read the count rows (SQLite's reader also sends a BEGIN), none read orders
    queries = [s for s in sent if s.lstrip().upper().startswith("SELECT")]
    assert tabs["pending"] == 1 and set(tabs) == set(counts.TAB_KEYS)
    assert len(queries) == 1 and "FROM order_status_counts" in queries[0]
    assert not any("FROM orders" in s or "JOIN orders" in s for s in sent)


def test_counts_of_another_shop_stay_apart(runtime, shop, other_shop, product):
    make_order(shop, [(product.variant_id, 1)])
    theirs = make_product(runtime, other_shop, stock=5)
    make_order(other_shop, [(theirs.variant_id, 1)], draft=True)

    assert shop.api.get("/api/v1/orders/counts").json()["draft"] == 0
    assert other_shop.api.get("/api/v1/orders/counts").json() == {
        **dict.fromkeys(counts.TAB_KEYS, 0),
        "draft": 1,
    }


def test_recount_repairs_counts_that_drifted(runtime, shop, product):
    # given counts someone broke by hand
    for _ in range(3):
        make_order(shop, [(product.variant_id, 1)])
    with runtime.db.write() as session:
        session.execute(update(OrderStatusCount).where(OrderStatusCount.shop_id == shop.id).values(n=99))

    # when they are recounted
    with runtime.db.write() as session:
        counts.recount(session, shop.id)

    # then they match the orders again
    maintained, counted = both_ways(runtime, shop.id)
    assert maintained == counted == {("pending", False): 3}


def test_the_migrated_database_has_the_count_triggers(runtime):
    # SQLite drops a table's triggers when a migration rebuilds it: this notices.
    dialect = runtime.db.dialect
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'orders'"
        if dialect == "sqlite"
        else "SELECT tgname FROM pg_trigger WHERE tgrelid = 'orders'::regclass AND NOT tgisinternal"
    )
    with runtime.db.read() as session:
        found = set(session.execute(text(sql)).scalars())
    assert set(counts.TRIGGER_NAMES) <= found


def test_counts_do_not_drift_under_concurrent_writers(runtime, shop, product, live_url):
    # given orders to move through their lifecycle, each by its own client
    moving = [make_order(shop, [(product.variant_id, 1)]) for _ in range(10)]
    headers = {"Authorization": f"Bearer {shop.token}"}
    body = {"items": [{"variant_id": product.variant_id, "quantity": 1}], "address": ADDRESS}

    def lifecycle(order: dict) -> list[int]:
        steps = [("confirm", {}), ("prepare", {}), ("ship", SHIP), ("complete", {}), ("archive", {})]
        if order["id"] % 3 == 0:
            steps = [("confirm", {}), ("cancel", {"reason": "out_of_stock"})]
        with httpx.Client(base_url=live_url, headers=headers, timeout=60) as client:
            return [client.post(f"/api/v1/orders/{order['id']}/{a}", json=p).status_code for a, p in steps]

    def place(_) -> list[int]:
        with httpx.Client(base_url=live_url, headers=headers, timeout=60) as client:
            return [client.post("/api/v1/orders", json=body).status_code for _ in range(3)]

    # when they move while new orders are placed, all at once (PostgreSQL: in parallel transactions)
    with ThreadPoolExecutor(max_workers=12) as pool:
        moving_now, placing_now = pool.map(lifecycle, moving), pool.map(place, range(6))
        moved, placed = list(moving_now), list(placing_now)

    # then every request succeeded (no deadlock between creates and transitions) and no count drifted
    assert all(code == 200 for codes in moved for code in codes), moved
    assert all(code == 201 for codes in placed for code in codes), placed
    maintained, counted = both_ways(runtime, shop.id)
    assert maintained == counted
    assert sum(counted.values()) == 10 + 18
