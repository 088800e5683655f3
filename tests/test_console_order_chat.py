"""The order page shows the chat: the dispute checkpoints with their messages or a one-click send,
the conversation's last messages, and the message an order was made from."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.catalog import make_product
from tests.support.chat import customer_says
from tests.support.customers import make_customer
from tests.support.orders import act, make_order
from tests.test_console import HTMX

SHIP = {"carrier_code": "SF", "tracking_number": "SF1234567890"}


@pytest.fixture
def water(runtime, shop):
    return make_product(runtime, shop, name="矿泉水", price=2400, stock=30)


@pytest.fixture
def customer(runtime, shop) -> int:
    customer_id, _ = make_customer(runtime, shop, name="李四", phone="13900001111")
    return customer_id


@pytest.fixture
def conversation(shop, customer) -> dict:
    return shop.api.post(f"/api/v1/customers/{customer}/conversation").json()


def test_the_order_page_shows_the_checkpoints_and_the_chat(
    runtime, shop, console, water, customer, conversation
):
    # given a customer who chatted, and their confirmed order
    customer_says(runtime, shop, conversation, "老板，水什么时候发？")
    order = make_order(shop, [(water.variant_id, 1)], customer_id=customer)
    act(shop, order, "confirm")

    # when staff open the order
    page = console.get(f"/orders/{order['id']}").text

    # then the four checkpoints are listed, the details one-click, and the chat's messages shown
    assert 'id="order-checkpoints"' in page
    for label in ("订单信息已发给客户核对", "发货前已发商品照片", "已发物流单号", "已提醒客户验货签收"):
        assert label in page
    assert f'hx-post="/orders/{order["id"]}/checkpoints/details"' in page
    assert f"/orders/{order['id']}/checkpoints/tracking" not in page
    assert 'id="order-chat"' in page and "老板，水什么时候发？" in page
    assert f'href="/inbox/{conversation["id"]}?order={order["id"]}"' in page  # the chat opens on this order


def test_one_click_sends_a_checkpoint_and_links_it_to_its_message(
    shop, console, water, customer, conversation
):
    order = make_order(shop, [(water.variant_id, 1)], customer_id=customer)
    act(shop, order, "confirm")

    r = console.post(f"/orders/{order['id']}/checkpoints/details", headers=HTMX)

    assert r.status_code == 200, r.text
    done = shop.api.get(f"/api/v1/orders/{order['id']}/checkpoints").json()["items"][0]
    assert done["done"] is True
    assert f'href="/inbox/{conversation["id"]}?order={order["id"]}#m{done["seq"]}"' in r.text
    # the chat panel comes along, swapped in beside the checkpoints, with the card just sent
    assert 'id="order-chat" class="card order-chat" hx-swap-oob="true"' in r.text
    assert order["number"] in r.text
    # drawn as the inbox and the customer's page draw it: the note, then the lines sent
    evidence = r.text.split('<ol class="checkpoint-evidence">', 1)[1].split("</ol>", 1)[0]
    assert "麻烦您核对一下订单" in evidence and "矿泉水" in evidence and "¥24.00" in evidence
    assert f'/orders/{order["id"]}/checkpoints/details"' not in r.text


def test_a_refused_checkpoint_says_why_and_a_plain_form_is_redirected(shop, console, water, customer):
    order = make_order(shop, [(water.variant_id, 1)], customer_id=customer)
    act(shop, order, "confirm")

    refused = console.post(f"/orders/{order['id']}/checkpoints/tracking", headers=HTMX)
    assert refused.status_code == 409 and "物流单号" in refused.text

    act(shop, shop.api.get(f"/api/v1/orders/{order['id']}").json(), "ship", **SHIP)
    plain = console.post(f"/orders/{order['id']}/checkpoints/tracking")
    assert plain.status_code == 303 and plain.headers["location"] == f"/orders/{order['id']}"
    tracking = shop.api.get(f"/api/v1/orders/{order['id']}/checkpoints").json()["items"][2]
    assert tracking["done"] is True


def test_an_order_made_from_chat_shows_the_message_it_came_from(runtime, shop, console, water, conversation):
    message = customer_says(runtime, shop, conversation, "再来一箱矿泉水")
    order = shop.api.post(
        f"/api/v1/conversations/{conversation['id']}/orders",
        json={"items": [{"variant_id": water.variant_id, "quantity": 1}], "source_message_id": message.id},
    ).json()

    page = console.get(f"/orders/{order['id']}").text

    assert f'<a href="/inbox/{conversation["id"]}#m{message.seq}">再来一箱矿泉水</a>' in page


def test_an_order_without_a_chat_says_so(shop, console, water):
    order = make_order(shop, [(water.variant_id, 1)])

    page = console.get(f"/orders/{order['id']}").text

    assert "该客户还没有和店铺聊过天。" in page


def test_the_one_click_details_needs_the_permission_to_read_orders(app, shop, water, customer, conversation):
    order = make_order(shop, [(water.variant_id, 1)], customer_id=customer)
    act(shop, order, "confirm")
    token = shop.api.post(
        "/api/v1/auth/tokens", json={"name": "客服", "scopes": ["chat.read", "chat.write"]}
    ).json()["token"]
    agent = TestClient(app, headers={"Authorization": f"Bearer {token}"}, raise_server_exceptions=False)

    r = agent.post(f"/orders/{order['id']}/checkpoints/details", headers=HTMX)

    assert r.status_code == 403
    assert shop.api.get(f"/api/v1/conversations/{conversation['id']}/messages").json() == []
