"""Archiving finished orders in bulk: only completed or cancelled orders older than the cutoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shangliao.orders.archive import archive_older_than
from tests.support.catalog import make_product
from tests.support.orders import act, make_order

SHIP = {"carrier_code": "SF", "tracking_number": "SF1234567890"}
LONG_AGO = datetime(2011, 5, 1, 8, 0, tzinfo=UTC)
CUTOFF = LONG_AGO + timedelta(days=30)


@pytest.fixture
def product(runtime, shop):
    return make_product(runtime, shop, stock=100)


def completed(shop, product) -> dict:
    order = make_order(shop, [(product.variant_id, 1)])
    for action, params in (("confirm", {}), ("ship", SHIP), ("complete", {})):
        order = act(shop, order, action, **params)
    return order


def cancelled(shop, product) -> dict:
    return act(shop, make_order(shop, [(product.variant_id, 1)]), "cancel", reason="out_of_stock")


def state(shop, order: dict) -> dict:
    r = shop.api.get(f"/api/v1/orders/{order['id']}")
    assert r.status_code == 200, r.text
    return r.json()


def test_only_final_orders_finished_before_the_cutoff_are_archived(runtime, shop, product, frozen):
    # given, long ago: a completed order, a cancelled one, and one still shipped
    frozen(LONG_AGO)
    old_done, old_cancelled = completed(shop, product), cancelled(shop, product)
    old_shipped = act(shop, act(shop, make_order(shop, [(product.variant_id, 1)]), "confirm"), "ship", **SHIP)
    old_pending = make_order(shop, [(product.variant_id, 1)])
    # and an order placed long ago but completed only after the cutoff
    late = act(shop, act(shop, make_order(shop, [(product.variant_id, 1)]), "confirm"), "ship", **SHIP)
    frozen(CUTOFF + timedelta(days=1))
    late = act(shop, late, "complete")
    frozen(None)

    # when archiving what finished before the cutoff
    count = archive_older_than(runtime.db, shop.id, CUTOFF)

    # then exactly the two old final orders are archived, with their final status kept
    assert count == 2
    assert state(shop, old_done)["archived"] and state(shop, old_done)["status"] == "completed"
    assert state(shop, old_cancelled)["archived"] and state(shop, old_cancelled)["status"] == "cancelled"
    for untouched in (old_shipped, old_pending, late):
        assert state(shop, untouched)["archived"] is False
    # and each has a timeline row by the system, like a manual archive
    timeline = shop.api.get(f"/api/v1/orders/{old_done['id']}/timeline").json()
    assert (timeline[-1]["kind"], timeline[-1]["actor_type"]) == ("archived", "system")
    # and a second run finds nothing left to do
    assert archive_older_than(runtime.db, shop.id, CUTOFF) == 0


def test_one_shop_or_every_shop(runtime, shop, other_shop, product, frozen):
    theirs_product = make_product(runtime, other_shop, stock=10)
    frozen(LONG_AGO - timedelta(days=3650))
    mine, theirs = completed(shop, product), completed(other_shop, theirs_product)
    frozen(None)
    cutoff = LONG_AGO - timedelta(days=3000)

    assert archive_older_than(runtime.db, shop.id, cutoff) == 1
    assert state(other_shop, theirs)["archived"] is False

    assert archive_older_than(runtime.db, None, cutoff) >= 1
    assert state(other_shop, theirs)["archived"] is True
    assert state(shop, mine)["archived"] is True


def test_work_goes_in_chunks_and_reports_progress(runtime, shop, product, frozen):
    frozen(LONG_AGO)
    orders = [cancelled(shop, product) for _ in range(5)]
    frozen(None)
    seen: list[int] = []

    count = archive_older_than(runtime.db, shop.id, CUTOFF, chunk=2, progress=seen.append)

    assert count == 5 and seen == [2, 4, 5]
    assert all(state(shop, o)["archived"] for o in orders)


def test_archived_orders_leave_the_default_list(runtime, shop, product, frozen):
    frozen(LONG_AGO)
    old = cancelled(shop, product)
    frozen(None)
    fresh = make_order(shop, [(product.variant_id, 1)])

    archive_older_than(runtime.db, shop.id, CUTOFF)

    listed = [o["id"] for o in shop.api.get("/api/v1/orders", params={"status": "cancelled"}).json()["items"]]
    assert listed == []
    everything = shop.api.get("/api/v1/orders", params={"archived": "all"}).json()["items"]
    assert {o["id"] for o in everything} == {old["id"], fresh["id"]}


def test_a_cutoff_without_a_time_zone_is_refused(runtime, shop):
    with pytest.raises(ValueError):
        archive_older_than(runtime.db, shop.id, datetime(2020, 1, 1))
