"""The order list: filters, text search, sorting and keyset pagination, always within one shop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from shangliao.core import clock
from shangliao.customers.schemas import CustomerIn
from shangliao.customers.service import do_create_customer
from tests.support.catalog import make_product
from tests.support.orders import ADDRESS, act, make_order

LIST = "/api/v1/orders"
SEARCH = "/api/v1/orders/search"


def address(**changes) -> dict:
    return {**ADDRESS, **changes}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [o["id"] for o in response.json()["items"]]


def priced_order(shop, variant_id: int, unit_price: int, **fields) -> dict:
    """An order of one unit at a negotiated price, so its total is ``unit_price``."""
    return make_order(shop, [], items=[{"variant_id": variant_id, "quantity": 1, "unit_price": unit_price}],
                      **fields)


def make_customer(rt, shop, name: str, phone: str) -> int:
    with rt.db.write() as session:
        return do_create_customer(session, rt.keyring, shop.actor, CustomerIn(name=name, phones=[phone])).id


@pytest.fixture
def product(runtime, shop):
    return make_product(runtime, shop, stock=500, price=1000)


@pytest.fixture
def frozen() -> Iterator:
    """Pin the clock where a test says; released afterwards."""
    yield clock.freeze
    clock.freeze(None)


def test_default_list_hides_drafts_and_archived_orders(runtime, shop, product):
    # given a pending order, a draft, and a completed order that was archived
    pending = make_order(shop, [(product.variant_id, 1)])
    draft = make_order(shop, [(product.variant_id, 1)], draft=True)
    done = make_order(shop, [(product.variant_id, 1)])
    for action, params in (("confirm", {}), ("ship", {"carrier_code": "SF", "tracking_number": "SF1234567890"}),
                           ("complete", {}), ("archive", {})):
        done = act(shop, done, action, **params)

    # then the default list shows only the pending order
    assert ids(shop.api.get(LIST)) == [pending["id"]]
    # and drafts or archived orders appear when asked for
    assert ids(shop.api.get(LIST, params={"status": "draft"})) == [draft["id"]]
    assert ids(shop.api.get(LIST, params={"archived": "true"})) == [done["id"]]
    assert ids(shop.api.get(LIST, params={"archived": "all"})) == [done["id"], pending["id"]]
    assert ids(shop.api.get(LIST, params={"archived": "all", "status": ["draft", "completed"]})) == [
        done["id"], draft["id"],
    ]


def test_items_come_in_the_order_serializer_shape(runtime, shop, product):
    order = make_order(shop, [(product.variant_id, 2)], tags=["加急"])

    body = shop.api.get(LIST).json()

    assert body["next_cursor"] is None
    [item] = body["items"]
    assert item == shop.api.get(f"{LIST}/{order['id']}").json()
    assert item["tags"] == ["加急"] and item["items"][0]["quantity"] == 2


def test_filter_by_several_statuses(runtime, shop, product):
    pending = make_order(shop, [(product.variant_id, 1)])
    confirmed = act(shop, make_order(shop, [(product.variant_id, 1)]), "confirm")
    act(shop, make_order(shop, [(product.variant_id, 1)]), "cancel", reason="Duplicate order")

    listed = ids(shop.api.get(LIST, params={"status": ["pending", "confirmed"]}))

    assert listed == [confirmed["id"], pending["id"]]
    assert shop.api.get(LIST, params={"status": "lost"}).status_code == 422


def test_created_dates_are_days_in_the_shops_time_zone(runtime, shop, product, frozen):
    # given an order at 23:30 and one at 00:30 the next day, Beijing time
    frozen(datetime(2026, 1, 4, 15, 30, tzinfo=UTC))  # 2026-01-04 23:30 in Shanghai
    late = make_order(shop, [(product.variant_id, 1)])
    frozen(datetime(2026, 1, 4, 16, 30, tzinfo=UTC))  # 2026-01-05 00:30 in Shanghai
    early = make_order(shop, [(product.variant_id, 1)])
    frozen(None)

    # then a date covers the shop's whole local day
    assert ids(shop.api.get(LIST, params={"created_from": "2026-01-05"})) == [early["id"]]
    assert ids(shop.api.get(LIST, params={"created_to": "2026-01-04"})) == [late["id"]]
    assert ids(shop.api.get(LIST, params={"created_from": "2026-01-04", "created_to": "2026-01-04"})) == [
        late["id"]
    ]
    # and a datetime is an exact instant (in the shop's zone when it has none)
    assert ids(shop.api.get(LIST, params={"created_from": "2026-01-04T16:00:00Z"})) == [early["id"]]
    assert ids(shop.api.get(LIST, params={"created_to": "2026-01-05T00:00:00"})) == [late["id"]]
    assert shop.api.get(LIST, params={"created_from": "next tuesday"}).status_code == 422


def test_filter_by_amount_range(runtime, shop, product):
    orders = {price: priced_order(shop, product.variant_id, price) for price in (1000, 2000, 3000)}

    listed = ids(shop.api.get(LIST, params={"amount_min": 1500, "amount_max": 3000}))

    assert listed == [orders[3000]["id"], orders[2000]["id"]]
    assert ids(shop.api.get(LIST, params={"amount_max": 1000})) == [orders[1000]["id"]]
    refused = shop.api.get(LIST, params={"amount_min": 3000, "amount_max": 1000})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "request.invalid"
