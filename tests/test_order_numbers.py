"""Order numbers never repeat (rule 19 of docs/architecture.md): the day in a number is the later
of the counter's stored day and the shop's current day, whatever the clock or the time zone does."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shangliao.orders.models import Order
from shangliao.shops import counters
from tests.support.catalog import make_product
from tests.support.orders import ADDRESS
from tests.support.shops import ShopFixture

# 2026-11-26 23:59:30 in Shanghai (UTC+8)
BEFORE_MIDNIGHT = datetime(2026, 11, 26, 15, 59, 30, tzinfo=UTC)


@pytest.fixture
def tee(runtime, shop):
    return make_product(runtime, shop, name="纯棉T恤", stock=100, price=5900)


def place(shop, tee):
    r = shop.api.post(
        "/api/v1/orders", json={"items": [{"variant_id": tee.variant_id, "quantity": 1}], "address": ADDRESS}
    )
    assert r.status_code == 201, r.text
    return r.json()["number"]


def move_shop(shop, timezone: str) -> ShopFixture:
    """Move the shop to ``timezone`` with the shop's own credential, which the caller cache has
    already seen: its cached caller must not keep dating orders in the old zone."""
    r = shop.api.patch("/api/v1/shop", json={"timezone": timezone})
    assert r.status_code == 200, r.text
    return replace(shop, timezone=timezone)


def test_the_count_starts_again_after_local_midnight(shop, tee, frozen):
    # given an order placed just before midnight in Shanghai
    frozen(BEFORE_MIDNIGHT)
    assert place(shop, tee) == "26112600001"
    # when the clock passes midnight
    frozen(BEFORE_MIDNIGHT + timedelta(minutes=1))
    # then the next orders are numbered from one under the new day
    assert [place(shop, tee), place(shop, tee)] == ["26112700001", "26112700002"]


def test_moving_the_shop_west_keeps_counting_on_the_day_already_reached(shop, tee, frozen):
    # given two orders on 27 November in Shanghai (01:00), where Los Angeles is still on the 26th
    frozen(datetime(2026, 11, 26, 17, 0, tzinfo=UTC))
    assert [place(shop, tee), place(shop, tee)] == ["26112700001", "26112700002"]
    # when the shop moves to Los Angeles (16 hours west)
    shop = move_shop(shop, "America/Los_Angeles")
    # then orders are still placed, numbered on from the day the shop had reached
    assert [place(shop, tee), place(shop, tee)] == ["26112700003", "26112700004"]
    # and once the new zone's date passes that day, the count starts again
    frozen(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))  # 28 November, 01:00 in Los Angeles
    assert place(shop, tee) == "26112800001"


def test_moving_the_shop_east_starts_the_later_day(shop, tee, frozen):
    # given an order on 26 November at 20:00 in Shanghai
    frozen(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    assert place(shop, tee) == "26112600001"
    # when the shop moves to Kiritimati (UTC+14), already on the 27th
    shop = move_shop(shop, "Pacific/Kiritimati")
    # then the next orders are the first of the 27th
    assert [place(shop, tee), place(shop, tee)] == ["26112700001", "26112700002"]


def test_a_clock_stepping_back_never_repeats_a_number(runtime, shop, tee, frozen):
    # given orders placed on the 27th
    frozen(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
    first = [place(shop, tee), place(shop, tee)]
    # when the server's clock is set back a day (an NTP correction, a restored VM)
    frozen(datetime(2026, 11, 26, 2, 0, tzinfo=UTC))
    later = [place(shop, tee), place(shop, tee)]
    # then the count goes on from the day already reached: no number is handed out twice
    assert first + later == ["26112700001", "26112700002", "26112700003", "26112700004"]
    with runtime.db.read() as session:
        numbers = list(session.scalars(select(Order.number).where(Order.shop_id == shop.id)))
    assert sorted(numbers) == first + later


def test_a_bump_for_an_earlier_day_continues_the_stored_day(runtime, shop):
    """Two creates around midnight: the one that read the clock first may take the lock last."""
    # given a counter that has reached the 27th
    with runtime.db.write() as session:
        reached = counters.bump_order(session, shop.id, events=1, day="261127")
    # when an order that read its clock on the 26th bumps it afterwards
    with runtime.db.write() as session:
        late = counters.bump_order(session, shop.id, events=1, day="261126")
    # then it is numbered on the 27th, after the first
    assert (reached.day, reached.seq) == ("261127", 1)
    assert (late.day, late.seq) == ("261127", 2)
    assert late.last_event_seq == reached.last_event_seq + 1


def test_a_duplicate_order_number_is_a_conflict_with_a_code(runtime, shop, tee, frozen):
    # given an order numbered 26112700001, and a counter set back by hand (a restored backup)
    frozen(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
    assert place(shop, tee) == "26112700001"
    with runtime.db.write() as session:
        session.execute(
            counters.ShopCounter.__table__.update()
            .where(counters.ShopCounter.shop_id == shop.id)
            .values(order_day="261127", order_seq=0)
        )
    # when the next order would get the same number
    r = shop.api.post(
        "/api/v1/orders", json={"items": [{"variant_id": tee.variant_id, "quantity": 1}], "address": ADDRESS}
    )
    # then it is refused as a conflict with a code (not a 500), and nothing was written
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "conflict.duplicate"
    with runtime.db.read() as session:
        assert len(list(session.scalars(select(Order.id).where(Order.shop_id == shop.id)))) == 1
