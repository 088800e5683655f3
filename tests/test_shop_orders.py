"""The customer's orders on the shop page: ordering from a product link, order requests in the chat,
their orders with the public timeline, confirming receipt, and what they must never see."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shangliao.customers.models import Customer
from shangliao.orders.models import Order
from shangliao.storefront.orders_api import ORDER_REQUESTS, ORDERS
from shangliao.storefront.visitors import VISITOR_COOKIE
from tests.support.catalog import make_product
from tests.support.orders import ADDRESS, act, make_order, variant_stock

NEW_VISITOR = {"name": "小红", "phone": "13700001234"}


@pytest.fixture
def client(app) -> TestClient:
    """A customer's phone: no staff credential, keeps its cookies."""
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def tee(runtime, shop):
    product = make_product(runtime, shop, name="纯棉T恤", options=["颜色"], stock=3, price=5900)
    token = shop.api.get(f"/api/v1/products/{product.product_id}").json()["share_token"]
    return product, token


def order_body(tee, quantity: int = 1, **fields) -> dict:
    product, token = tee
    return {
        "token": token,
        "variant_id": product.variant_id,
        "quantity": quantity,
        "address": ADDRESS,
        **fields,
    }


def order(client, shop, body: dict, key: str | None = None):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(f"/s/{shop.slug}/api/orders", json=body, headers=headers)


def introduce(client, shop, who: dict = NEW_VISITOR) -> dict:
    r = client.post(f"/s/{shop.slug}/api/visitor", json=who)
    assert r.status_code == 200, r.text
    return r.json()


def staff_messages(shop, conversation_id: int) -> list[dict]:
    r = shop.api.get(f"/api/v1/conversations/{conversation_id}/messages")
    assert r.status_code == 200, r.text
    return r.json()


def shop_orders(runtime, shop) -> int:
    with runtime.db.read() as session:
        return session.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop.id))


# --- ordering from a product link ------------------------------------------------------------------


def test_a_new_customer_orders_from_a_product_link_and_the_card_lands_in_the_chat(runtime, client, shop, tee):
    r = order(client, shop, order_body(tee, 2, remark="周末送", **NEW_VISITOR))

    assert r.status_code == 201, r.text
    assert r.cookies.get(VISITOR_COOKIE)  # the same form introduced the device
    placed = r.json()
    staff_view = shop.api.get(f"/api/v1/orders/{placed['order']['id']}").json()
    assert staff_view["status"] == "pending" and staff_view["channel"] == "product_link"
    assert staff_view["customer_id"] == placed["customer_id"]
    assert staff_view["remark"] == "周末送" and staff_view["total"] == 2 * 5900
    with runtime.db.read() as session:
        assert session.get(Order, placed["order"]["id"]).conversation_id == placed["conversation_id"]
    assert variant_stock(shop, tee[0].product_id, tee[0].variant_id)["reserved"] == 2
    cards = [m for m in staff_messages(shop, placed["conversation_id"]) if m["kind"] == "order_card"]
    assert len(cards) == 1 and cards[0]["sender_type"] == "customer"
    assert cards[0]["data"]["order_id"] == placed["order"]["id"]
    assert cards[0]["data"]["items"][0]["quantity"] == 2
    # the customer sees the same card in their chat
    seen = client.get(f"/s/{shop.slug}/api/messages").json()
    assert [m["kind"] for m in seen] == ["order_card"]


def test_a_known_device_orders_without_introducing_itself_again(client, shop, tee):
    me = introduce(client, shop)

    r = order(client, shop, order_body(tee))

    assert r.status_code == 201, r.text
    assert r.json()["customer_id"] == me["customer_id"] and VISITOR_COOKIE not in r.cookies


def test_an_unknown_device_must_give_its_name_and_phone(runtime, client, shop, tee):
    r = order(client, shop, order_body(tee))

    assert r.status_code == 401 and r.json()["error"]["code"] == "chat.visitor_required"
    assert shop_orders(runtime, shop) == 0


def test_overselling_is_refused_without_the_stock_count_and_nothing_is_written(runtime, client, shop, tee):
    r = order(client, shop, order_body(tee, 4, **NEW_VISITOR))

    assert r.status_code == 409 and r.json()["error"]["code"] == "stock.insufficient"
    assert "纯棉T恤" in r.json()["error"]["message"] and "3" not in r.json()["error"]["message"]
    assert "available" not in r.json()["error"]["details"]
    assert VISITOR_COOKIE not in r.cookies
    assert shop_orders(runtime, shop) == 0
    assert variant_stock(shop, tee[0].product_id, tee[0].variant_id)["reserved"] == 0
    with runtime.db.read() as session:  # not even the customer the form would have introduced
        assert (
            session.scalar(select(func.count()).select_from(Customer).where(Customer.shop_id == shop.id)) == 0
        )


@pytest.mark.parametrize(
    "change",
    [
        {"variant_id": 999_999_999},
        {"token": "not-a-real-token"},
        {"quantity": 0},
        {"address": {**ADDRESS, "phone": "123"}},
        {"unit_price": 1},
    ],
)
def test_bad_orders_are_refused_and_nothing_is_written(runtime, client, shop, tee, change):
    introduce(client, shop)

    r = order(client, shop, {**order_body(tee), **change})

    assert r.status_code in (404, 422), r.text
    assert shop_orders(runtime, shop) == 0


def test_an_inactive_variant_or_another_products_variant_is_refused(runtime, client, shop, tee):
    other = make_product(runtime, shop, name="矿泉水")
    introduce(client, shop)

    r = order(client, shop, order_body(tee, variant_id=other.variant_id))

    assert r.status_code == 404 and r.json()["error"]["code"] == "variant.not_found"


def test_an_idempotency_key_replays_the_first_order(runtime, client, shop, tee):
    body = order_body(tee, 1, **NEW_VISITOR)
    first = order(client, shop, body, key="tap-7f3a9e21")

    again = order(client, shop, body, key="tap-7f3a9e21")
    client.cookies.clear()  # the answer was lost on the way: the phone never got its cookie either
    lost = order(client, shop, body, key="tap-7f3a9e21")

    assert first.status_code == 201 and again.status_code == 200 and lost.status_code == 200, lost.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["order"]["id"] == lost.json()["order"]["id"] == first.json()["order"]["id"]
    assert shop_orders(runtime, shop) == 1
    assert variant_stock(shop, tee[0].product_id, tee[0].variant_id)["reserved"] == 1
    changed = order(client, shop, {**body, "quantity": 2}, key="tap-7f3a9e21")
    assert changed.status_code == 409 and changed.json()["error"]["code"] == "idempotency.key_reused"


def test_a_retry_whose_first_answer_was_lost_sees_its_own_order_and_card(app, client, shop, tee):
    # Given a customer whose earlier phone already talked to the shop
    earlier_phone = TestClient(app, raise_server_exceptions=False)
    introduce(earlier_phone, shop)
    assert (
        earlier_phone.post(f"/s/{shop.slug}/api/messages", json={"body": "我家地址换了"}).status_code == 201
    )
    # and a new phone that orders, but never gets the answer (nor the cookie in it)
    body = order_body(tee, 1, **NEW_VISITOR)
    placed = order(client, shop, body, key="tap-lost-0001").json()["order"]
    client.cookies.clear()

    # When it retries with the same key and body
    retry = order(client, shop, body, key="tap-lost-0001")

    # Then it is handed the same order and a cookie that shows it that order and its card
    assert retry.status_code == 200 and retry.json()["order"]["id"] == placed["id"], retry.text
    assert VISITOR_COOKIE in retry.cookies
    assert client.get(f"/s/{shop.slug}/api/orders/{placed['id']}").status_code == 200
    assert [o["id"] for o in client.get(f"/s/{shop.slug}/api/orders").json()["items"]] == [placed["id"]]
    assert client.get(f"/s/{shop.slug}/orders/{placed['id']}").status_code == 200
    seen = client.get(f"/s/{shop.slug}/api/messages").json()
    # but nothing said before the order: the key proves the order, not the phone number
    assert [(m["kind"], m["data"].get("order_id")) for m in seen] == [("order_card", placed["id"])]


def test_another_customers_key_places_a_new_order(app, client, shop, tee):
    first = order(client, shop, order_body(tee, 1, **NEW_VISITOR), key="same-key-01")
    stranger = TestClient(app, raise_server_exceptions=False)

    theirs = order(stranger, shop, order_body(tee, 1, name="小明", phone="13700005678"), key="same-key-01")

    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["order"]["id"] != first.json()["order"]["id"]


def test_orders_from_one_address_are_rate_limited(client, shop, tee):
    allowed = int(ORDERS.split("/")[0])
    for _ in range(allowed):  # refused ones count too: guessing tokens is what the limit is for
        assert order(client, shop, order_body(tee, token="guessing-token")).status_code == 404

    r = order(client, shop, order_body(tee, **NEW_VISITOR))

    assert r.status_code == 429 and r.json()["error"]["code"] == "rate.limited"


# --- order requests in the chat ------------------------------------------------------------------


def test_picked_products_become_a_draft_and_an_order_request_message(runtime, client, shop, tee):
    me = introduce(client, shop)
    water = make_product(runtime, shop, name="矿泉水", price=2400)
    picked = {
        "items": [
            {"variant_id": tee[0].variant_ids[1], "quantity": 2},
            {"variant_id": water.variant_id, "quantity": 1},
        ],
        "remark": "红色要大一点的",
        "client_id": "pick-0001",
    }

    r = client.post(f"/s/{shop.slug}/api/order-requests", json=picked)
    again = client.post(f"/s/{shop.slug}/api/order-requests", json=picked)

    assert r.status_code == 201, r.text
    message = r.json()
    assert message["kind"] == "order_request" and message["sender_type"] == "customer"
    assert again.json()["id"] == message["id"] and again.json()["replayed"] is True
    data = message["data"]
    assert data["remark"] == "红色要大一点的"
    assert [(i["name"], i["spec"], i["quantity"], i["unit_price"]) for i in data["items"]] == [
        ("纯棉T恤", "颜色2", 2, 5900),
        ("矿泉水", "", 1, 2400),
    ]
    draft = shop.api.get(f"/api/v1/orders/{data['order_id']}").json()
    assert draft["status"] == "draft" and draft["channel"] == "chat"
    assert draft["customer_id"] == me["customer_id"]
    with runtime.db.read() as session:
        assert session.get(Order, data["order_id"]).conversation_id == me["conversation_id"]
    assert shop_orders(runtime, shop) == 1
    assert variant_stock(shop, tee[0].product_id, tee[0].variant_ids[1])["reserved"] == 0
    assert [m["id"] for m in staff_messages(shop, me["conversation_id"])] == [message["id"]]
    mine = client.get(f"/s/{shop.slug}/api/orders/{data['order_id']}").json()
    assert mine["status"] == "draft" and mine["awaiting_shop"] is True


def test_an_order_request_needs_a_visitor_and_known_products(runtime, client, anon, shop, tee):
    r = anon.post(
        f"/s/{shop.slug}/api/order-requests",
        json={"items": [{"variant_id": tee[0].variant_id, "quantity": 1}]},
    )
    assert r.status_code == 401
    introduce(client, shop)

    unknown = client.post(
        f"/s/{shop.slug}/api/order-requests", json={"items": [{"variant_id": 999_999, "quantity": 1}]}
    )

    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "order.unknown_variant"
    assert shop_orders(runtime, shop) == 0


def test_order_requests_per_customer_are_rate_limited_and_a_refused_one_drafts_nothing(
    runtime, client, shop, tee
):
    introduce(client, shop)
    picked = {"items": [{"variant_id": tee[0].variant_id, "quantity": 1}], "client_id": "pick-rate-01"}
    per_minute = int(ORDER_REQUESTS[0].split("/")[0])
    for _ in range(per_minute):  # retries of one tap count too: each one is a request to answer
        assert client.post(f"/s/{shop.slug}/api/order-requests", json=picked).status_code == 201

    refused = client.post(f"/s/{shop.slug}/api/order-requests", json={**picked, "client_id": "pick-rate-02"})

    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate.limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert shop_orders(runtime, shop) == 1


# --- their orders ---------------------------------------------------------------------------------


def test_the_public_timeline_never_shows_notes_tags_or_assignees(client, shop, tee):
    placed = order(client, shop, order_body(tee, 1, **NEW_VISITOR)).json()["order"]
    staff_order = {"id": placed["id"]}
    shop.api.post(f"/api/v1/orders/{placed['id']}/notes", json={"body": "客户难缠，注意"})
    shop.api.post(f"/api/v1/orders/{placed['id']}/tags", json={"add": ["黑名单候选"]})
    shop.api.put(f"/api/v1/orders/{placed['id']}/assignee", json={"assignee_id": shop.owner_id})
    act(shop, staff_order, "confirm")
    act(shop, staff_order, "ship", carrier_code="SF", tracking_number="SF1234567890")

    mine = client.get(f"/s/{shop.slug}/api/orders/{placed['id']}").json()

    assert [(s["kind"], s["status"], s["by"]) for s in mine["timeline"]] == [
        ("created", "pending", "you"),
        ("status", "confirmed", "shop"),
        ("status", "shipped", "shop"),
    ]
    assert mine["timeline"][-1]["delivery"]["tracking_url"].endswith("SF1234567890")
    assert mine["delivery"]["carrier_zh"] == "顺丰速运" and mine["can_confirm_receipt"] is True
    text = json.dumps(mine, ensure_ascii=False)
    for secret in ("客户难缠", "黑名单候选", "assignee", "note", "tags", ADDRESS["detail"], ADDRESS["phone"]):
        assert secret not in text
    assert mine["address"] == {"receiver": "张三", "phone": "138****5678", "region": "浙江省 杭州市 西湖区"}


def test_another_customers_orders_are_not_found(runtime, app, client, shop, tee):
    placed = order(client, shop, order_body(tee, 1, **NEW_VISITOR)).json()["order"]
    stranger = TestClient(app, raise_server_exceptions=False)
    introduce(stranger, shop, {"name": "小明", "phone": "13700005678"})
    walk_in = make_order(shop, [(tee[0].variant_id, 1)])  # an order of nobody on the shop page

    for order_id in (placed["id"], walk_in["id"]):
        assert stranger.get(f"/s/{shop.slug}/api/orders/{order_id}").status_code == 404
        assert stranger.post(f"/s/{shop.slug}/api/orders/{order_id}/receipt").status_code == 404
    assert stranger.get(f"/s/{shop.slug}/api/orders").json()["items"] == []


def test_a_new_device_with_a_known_phone_sees_none_of_the_earlier_orders(app, client, shop, tee):
    placed = order(client, shop, order_body(tee, 1, **NEW_VISITOR)).json()["order"]
    impostor = TestClient(app, raise_server_exceptions=False)
    introduce(impostor, shop, {"name": "冒充者", "phone": NEW_VISITOR["phone"]})

    assert impostor.get(f"/s/{shop.slug}/api/orders").json()["items"] == []
    assert impostor.get(f"/s/{shop.slug}/api/orders/{placed['id']}").status_code == 404


def test_their_orders_are_listed_newest_first(client, shop, tee):
    introduce(client, shop)
    ids = [order(client, shop, order_body(tee)).json()["order"]["id"] for _ in range(2)]

    listed = client.get(f"/s/{shop.slug}/api/orders").json()

    assert [o["id"] for o in listed["items"]] == ids[::-1] and listed["next_before_id"] is None


def test_receipt_is_confirmed_only_once_shipped(client, shop, tee):
    placed = order(client, shop, order_body(tee, 1, **NEW_VISITOR)).json()["order"]
    url = f"/s/{shop.slug}/api/orders/{placed['id']}/receipt"

    early = client.post(url)
    act(shop, placed, "confirm")
    act(shop, placed, "ship", carrier_code="SF", tracking_number="SF1234567890")
    done = client.post(url)
    twice = client.post(url)

    assert early.status_code == 409 and early.json()["error"]["code"] == "order.invalid_transition"
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed" and done.json()["can_confirm_receipt"] is False
    assert done.json()["timeline"][-1] == {**done.json()["timeline"][-1], "status": "completed", "by": "you"}
    assert twice.status_code == 409
    last = shop.api.get(f"/api/v1/orders/{placed['id']}/timeline").json()[-1]
    assert last["to_status"] == "completed" and last["actor_type"] == "customer"


@pytest.mark.parametrize("action", ["confirm", "cancel"])
def test_a_customer_takes_only_the_steps_the_lifecycle_gives_customers(runtime, shop, tee, action):
    from shangliao.auth.actor import Actor
    from shangliao.auth.scope import Scope
    from shangliao.core.errors import Forbidden, NotFound
    from shangliao.orders import actions
    from shangliao.orders.timeline import access_order
    from tests.support.customers import make_customer

    customer_id, _ = make_customer(runtime, shop, name="王五", phone="13600002222")
    placed = make_order(shop, [(tee[0].variant_id, 1)], customer_id=customer_id)
    params = {"reason": "changed_mind"} if action == "cancel" else {}

    with runtime.db.write() as session:
        order = access_order(session, Scope.whole_shop(shop.id), placed["id"])
        # another customer: not found, whatever the step
        with pytest.raises(NotFound):
            actions.do_transition(session, Actor.customer(shop.id, customer_id + 1), order, action, params)
        # their own order, but a step only the shop takes
        with pytest.raises(Forbidden):
            actions.do_transition(session, Actor.customer(shop.id, customer_id), order, action, params)
        session.rollback()

    assert shop.api.get(f"/api/v1/orders/{placed['id']}").json()["status"] == "pending"


# --- the catalog -----------------------------------------------------------------------------------------


def test_a_product_link_shows_variants_and_whether_they_can_be_had_never_the_count(runtime, anon, shop):
    product = make_product(
        runtime,
        shop,
        name="帆布包",
        options=["颜色"],
        variants=[
            {"spec": {"颜色": "米白"}, "on_hand": 7, "price": 3900},
            {"spec": {"颜色": "黑色"}, "on_hand": 0, "price": 4100},
            {"spec": {"颜色": "藏青"}, "on_hand": 5, "active": False},
        ],
    )
    token = shop.api.get(f"/api/v1/products/{product.product_id}").json()["share_token"]

    shown = anon.get(f"/s/{shop.slug}/api/products/{token}").json()

    assert [(v["spec_label"], v["price"], v["availability"]) for v in shown["variants"]] == [
        ("米白", 3900, "in_stock"),
        ("黑色", 4100, "sold_out"),
    ]
    assert shown["price_min"] == 3900 and shown["price_max"] == 4100
    text = json.dumps(shown)
    for hidden in ("on_hand", "available", "reserved", "sku", "backorder"):
        assert hidden not in text


def test_unknown_inactive_or_another_shops_product_links_are_not_found(runtime, anon, shop, other_shop):
    gone = make_product(runtime, shop, active=False)
    theirs = make_product(runtime, other_shop)
    tokens = [
        shop.api.get(f"/api/v1/products/{gone.product_id}").json()["share_token"],
        other_shop.api.get(f"/api/v1/products/{theirs.product_id}").json()["share_token"],
        "AAAAAAAAAAAAAAAAAAAAAA",
    ]

    for token in tokens:
        r = anon.get(f"/s/{shop.slug}/api/products/{token}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "product.not_found"


def test_the_catalog_to_pick_from_lists_products_on_sale(runtime, client, anon, shop):
    make_product(runtime, shop, name="纯棉T恤")
    make_product(runtime, shop, name="矿泉水")
    make_product(runtime, shop, name="下架的T恤", active=False)
    assert anon.get(f"/s/{shop.slug}/api/products").status_code == 401
    introduce(client, shop)

    everything = client.get(f"/s/{shop.slug}/api/products").json()
    tees = client.get(f"/s/{shop.slug}/api/products", params={"q": "T恤"}).json()

    assert [p["name"] for p in everything["items"]] == ["矿泉水", "纯棉T恤"]
    assert [p["name"] for p in tees["items"]] == ["纯棉T恤"]
