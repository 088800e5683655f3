"""The order list: filters, text search, sorting and keyset pagination, always within one shop."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from shangliao.core.pagination import encode_cursor
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
    return make_order(
        shop, [], items=[{"variant_id": variant_id, "quantity": 1, "unit_price": unit_price}], **fields
    )


def make_customer(rt, shop, name: str, phone: str) -> int:
    with rt.db.write() as session:
        return do_create_customer(session, rt.keyring, shop.actor, CustomerIn(name=name, phones=[phone])).id


@pytest.fixture
def product(runtime, shop):
    return make_product(runtime, shop, stock=500, price=1000)


def test_default_list_hides_drafts_and_archived_orders(runtime, shop, product):
    # given a pending order, a draft, and a completed order that was archived
    pending = make_order(shop, [(product.variant_id, 1)])
    draft = make_order(shop, [(product.variant_id, 1)], draft=True)
    done = make_order(shop, [(product.variant_id, 1)])
    for action, params in (
        ("confirm", {}),
        ("ship", {"carrier_code": "SF", "tracking_number": "SF1234567890"}),
        ("complete", {}),
        ("archive", {}),
    ):
        done = act(shop, done, action, **params)

    # then the default list shows only the pending order
    assert ids(shop.api.get(LIST)) == [pending["id"]]
    # and drafts or archived orders appear when asked for
    assert ids(shop.api.get(LIST, params={"status": "draft"})) == [draft["id"]]
    assert ids(shop.api.get(LIST, params={"archived": "true"})) == [done["id"]]
    assert ids(shop.api.get(LIST, params={"archived": "all"})) == [done["id"], pending["id"]]
    assert ids(shop.api.get(LIST, params={"archived": "all", "status": ["draft", "completed"]})) == [
        done["id"],
        draft["id"],
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
    act(shop, make_order(shop, [(product.variant_id, 1)]), "cancel", reason="duplicate")

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


def test_filter_by_channel_assignee_tag_and_customer(runtime, shop, product):
    customer_id = make_customer(runtime, shop, "老顾客", "13900001111")
    chat = make_order(
        shop, [(product.variant_id, 1)], channel="chat", assignee_id=shop.owner_id, tags=["加急"]
    )
    manual = make_order(shop, [(product.variant_id, 1)], customer_id=customer_id)

    assert ids(shop.api.get(LIST, params={"channel": "chat"})) == [chat["id"]]
    assert ids(shop.api.get(LIST, params={"channel": "manual"})) == [manual["id"]]
    assert ids(shop.api.get(LIST, params={"assignee_id": shop.owner_id})) == [chat["id"]]
    assert ids(shop.api.get(LIST, params={"unassigned": "true"})) == [manual["id"]]
    assert ids(shop.api.get(LIST, params={"tag": "加急"})) == [chat["id"]]
    assert ids(shop.api.get(LIST, params={"tag": "送礼"})) == []
    assert ids(shop.api.get(LIST, params={"customer_id": customer_id})) == [manual["id"]]
    both = shop.api.get(LIST, params={"assignee_id": shop.owner_id, "unassigned": "true"})
    assert both.status_code == 422


def test_filter_by_payment_status(runtime, shop, product):
    paid = priced_order(shop, product.variant_id, 1000)
    partly = priced_order(shop, product.variant_id, 1000)
    unpaid = priced_order(shop, product.variant_id, 1000)
    for order, amount in ((paid, 1000), (partly, 400)):
        r = shop.api.post(f"{LIST}/{order['id']}/payments", json={"method": "wechat", "amount": amount})
        assert r.status_code == 201, r.text

    assert ids(shop.api.get(LIST, params={"payment_status": "paid"})) == [paid["id"]]
    assert ids(shop.api.get(LIST, params={"payment_status": "partially_paid"})) == [partly["id"]]
    assert ids(shop.api.get(LIST, params={"payment_status": "unpaid"})) == [unpaid["id"]]
    assert ids(shop.api.get(LIST, params={"payment_status": "refunded"})) == []


def test_unknown_query_parameters_are_refused(runtime, shop, product):
    make_order(shop, [(product.variant_id, 1)])

    r = shop.api.get(LIST, params={"stauts": "pending"})

    assert r.status_code == 422
    assert r.json()["error"]["code"] == "request.invalid"


def test_search_by_whole_phone_matches_order_and_customer_phones(runtime, shop, product):
    # given an order shipped to 138…5678, and a customer whose own phone is 150…0000
    by_address = make_order(shop, [(product.variant_id, 1)], address=address(phone="13812345678"))
    customer_id = make_customer(runtime, shop, "王芳", "15012340000")
    by_customer = make_order(
        shop, [(product.variant_id, 1)], customer_id=customer_id, address=address(phone="18600001111")
    )
    make_order(shop, [(product.variant_id, 1)], address=address(phone="13700009999"))

    # when searching by each whole number (in the body, never in a URL)
    assert ids(shop.api.post(SEARCH, json={"q": "138 1234 5678"})) == [by_address["id"]]
    assert ids(shop.api.post(SEARCH, json={"q": "+86 150-1234-0000"})) == [by_customer["id"]]
    assert ids(shop.api.post(SEARCH, json={"q": "18600001111"})) == [by_customer["id"]]
    # then a whole phone number in the query string is refused, so it never lands in a log
    refused = shop.api.get(LIST, params={"q": "13812345678"})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "order.phone_in_url"


def test_search_by_last_four_digits_or_order_number_ending(runtime, shop, product):
    phone_hit = make_order(shop, [(product.variant_id, 1)], address=address(phone="13812344321"))
    other = make_order(shop, [(product.variant_id, 1)], address=address(phone="13812340000"))
    ending = other["number"][-4:]

    assert ids(shop.api.get(LIST, params={"q": "4321"})) == [phone_hit["id"]]
    assert other["id"] in ids(shop.api.get(LIST, params={"q": ending}))


def test_search_by_order_number_tracking_number_and_name(runtime, shop, product):
    wang = make_order(shop, [(product.variant_id, 1)], address=address(receiver="王小明"))
    li = make_order(shop, [(product.variant_id, 1)], address=address(receiver="李四"))
    li = act(shop, act(shop, li, "confirm"), "ship", carrier_code="ZTO", tracking_number="ZT7788990011")

    assert ids(shop.api.get(LIST, params={"q": wang["number"]})) == [wang["id"]]
    assert set(ids(shop.api.get(LIST, params={"q": wang["number"][:6]}))) == {wang["id"], li["id"]}
    assert ids(shop.api.get(LIST, params={"q": "ZT7788990011"})) == [li["id"]]
    assert ids(shop.api.get(LIST, params={"q": "ZT77889900"})) == []  # tracking numbers match whole
    assert ids(shop.api.get(LIST, params={"q": "小明"})) == [wang["id"]]
    assert ids(shop.api.get(LIST, params={"q": "%"})) == []  # LIKE wildcards are plain text


@pytest.mark.parametrize(
    "sort", ["created_at", "-created_at", "total", "-total", "updated_at", "-updated_at"]
)
def test_pages_walk_every_order_once_even_with_ties(runtime, shop, product, frozen, sort):
    # given 7 orders created in the same instant, with only two different totals
    frozen(datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
    placed = [priced_order(shop, product.variant_id, 1000 if i % 2 else 2000) for i in range(7)]
    frozen(None)

    # when walking pages of 3
    seen: list[dict] = []
    cursor = None
    for _ in range(10):
        params = {"sort": sort, "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = shop.api.get(LIST, params=params).json()
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    # then every order appears exactly once, in the sort order with ids breaking ties
    assert sorted(o["id"] for o in seen) == sorted(o["id"] for o in placed)
    field = sort.lstrip("-")
    keys = [(o[field], o["id"]) for o in seen]
    assert keys == sorted(keys, reverse=sort.startswith("-"))


def test_bad_cursors_are_refused(runtime, shop, product):
    for _ in range(2):
        make_order(shop, [(product.variant_id, 1)])
    cursor = shop.api.get(LIST, params={"limit": 1}).json()["next_cursor"]

    assert shop.api.get(LIST, params={"limit": 1, "cursor": cursor}).status_code == 200
    for bad in ({"cursor": "not-a-cursor"}, {"cursor": cursor, "sort": "total"}):
        r = shop.api.get(LIST, params=bad)
        assert r.status_code == 422 and r.json()["error"]["code"] == "pagination.bad_cursor"
    assert shop.api.get(LIST, params={"limit": 101}).status_code == 422


def test_orders_of_another_shop_never_appear(runtime, shop, other_shop, product):
    mine = make_order(shop, [(product.variant_id, 1)])
    theirs_product = make_product(runtime, other_shop, stock=5)
    theirs = make_order(other_shop, [(theirs_product.variant_id, 1)], address=address(phone="13812345678"))
    their_customer = make_customer(runtime, other_shop, "别家顾客", "13599998888")

    assert ids(shop.api.get(LIST, params={"archived": "all"})) == [mine["id"]]
    assert theirs["id"] not in ids(shop.api.get(LIST, params={"q": theirs["number"]}))
    assert ids(shop.api.get(LIST, params={"customer_id": their_customer})) == []
    assert ids(shop.api.post(SEARCH, json={"q": "13599998888"})) == []


def test_a_page_costs_the_same_queries_however_many_orders_it_holds(runtime, shop, product):
    for i in range(6):
        make_order(shop, [(product.variant_id, 1), (product.variant_id, 2)], tags=[f"t{i}", "共同"])
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def statements_for(limit: int) -> int:
        statements.clear()
        event.listen(runtime.db.reader, "before_cursor_execute", count)
        try:
            assert len(ids(shop.api.get(LIST, params={"limit": limit}))) == limit
        finally:
            event.remove(runtime.db.reader, "before_cursor_execute", count)
        return len(statements)

    assert statements_for(1) == statements_for(6)


def test_requests_of_one_shape_share_one_statement_with_their_own_values(runtime, shop, product):
    cheap = priced_order(shop, product.variant_id, 500)
    dear = priced_order(shop, product.variant_id, 5000)
    sent: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, *args):
        if "FROM orders" in statement:
            sent.append((statement, parameters))

    event.listen(runtime.db.reader, "before_cursor_execute", record)
    try:
        above_1000 = ids(shop.api.get(LIST, params={"amount_min": 1000}))
        above_100 = ids(shop.api.get(LIST, params={"amount_min": 100}))
        below_1000 = ids(shop.api.get(LIST, params={"amount_max": 1000}))
    finally:
        event.remove(runtime.db.reader, "before_cursor_execute", record)

    assert (
        above_1000 == [dear["id"]] and above_100 == [dear["id"], cheap["id"]] and below_1000 == [cheap["id"]]
    )
    (first, p1), (second, p2), (third, _) = sent
    assert first == second and p1 != p2  # same shape: the compiled text again, new values
    assert third != first  # another filter: another statement


def test_search_body_refuses_unknown_fields(runtime, shop):
    r = shop.api.post(SEARCH, json={"q": "x", "page": 2})
    assert r.status_code == 422


def test_limit_defaults_to_twenty(runtime, shop, product):
    for _ in range(21):
        make_order(shop, [(product.variant_id, 1)])

    body = shop.api.get(LIST).json()

    assert len(body["items"]) == 20 and body["next_cursor"] is not None


# --- input a database cannot take -----------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"created_to": "9999-12-31"},  # "the next day" overflowed Python's dates
        {"created_from": "0001-01-01T00:00:00"},  # read in the shop's zone, UTC overflowed
        {"amount_min": 2**31},  # compared with a 32-bit column on PostgreSQL
    ],
)
def test_filters_beyond_what_the_database_holds_are_a_clear_422(shop, params):
    r = shop.api.get(LIST, params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["errors"][0]["loc"] == ["query", next(iter(params))]


def test_a_number_is_not_a_date(shop):
    # Pydantic's lax mode read 852360 as a time in January 1970
    r = shop.api.post(SEARCH, json={"created_from": 852360})
    assert r.status_code == 422 and r.json()["error"]["code"] == "request.invalid"


def test_a_forged_cursor_with_an_out_of_range_value_is_refused(shop):
    forged = [
        ["-total", 2**31, 1],  # past the 32-bit total column
        ["-created_at", "2026-01-05T00:00:00+00:00", 2**70],  # past a 64-bit id
        ["-created_at", "0001-01-01T00:00:00+14:00", 1],  # before year 1 in UTC
    ]
    for values in forged:
        r = shop.api.get(LIST, params={"sort": values[0], "cursor": encode_cursor(values)})
        assert r.status_code == 422 and r.json()["error"]["code"] == "pagination.bad_cursor", values
