"""Nothing slips by: a product-link order is the customer's unread message in the inbox, and the
console's navigation badges (pending orders, unread conversations) count it, per shop and as far as
the staff member may see. The live part is in tests/test_journey_alerts_browser.py."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.support.catalog import make_product
from tests.support.orders import ADDRESS
from tests.test_console import sign_in

NEW_VISITOR = {"name": "小红", "phone": "13700001234"}


@pytest.fixture
def client(app) -> TestClient:
    """A customer's phone: no staff credential, keeps its cookies."""
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def console(app, shop) -> TestClient:
    return sign_in(app, shop)


def product_link(runtime, shop, *, stock: int = 3):
    product = make_product(runtime, shop, name="纯棉T恤", options=["颜色"], stock=stock, price=5900)
    token = shop.api.get(f"/api/v1/products/{product.product_id}").json()["share_token"]
    return product, token


def order_from_link(client, shop, link) -> dict:
    product, token = link
    body = {
        "token": token,
        "variant_id": product.variant_id,
        "quantity": 1,
        "address": ADDRESS,
        **NEW_VISITOR,
    }
    r = client.post(f"/s/{shop.slug}/api/orders", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def scoped(app, shop, scopes: list[str]) -> TestClient:
    r = shop.api.post("/api/v1/auth/tokens", json={"name": "scoped", "scopes": scopes})
    assert r.status_code == 201, r.text
    return TestClient(
        app, headers={"Authorization": f"Bearer {r.json()['token']}"}, raise_server_exceptions=False
    )


def badges(client: TestClient) -> dict:
    r = client.get("/alerts")
    assert r.status_code == 200, r.text
    return r.json()


def test_a_product_link_order_is_an_unread_customer_message_counted_on_both_badges(
    runtime, console, client, shop
):
    # given a console with nothing waiting
    link = product_link(runtime, shop)
    assert (badges(console)["orders_pending"], badges(console)["chats_unread"]) == (0, 0)

    # when a customer orders from the product link
    placed = order_from_link(client, shop, link)

    # then the order counts as pending and its conversation as unread
    counts = badges(console)
    assert (counts["orders_pending"], counts["chats_unread"]) == (1, 1)
    # and the inbox lists it unread, the order card written by the customer (not "我：")
    page = console.get("/inbox").text
    row = re.search(r'<li class="inbox-row unread.*?</li>', page, re.S)
    assert row is not None and f'data-id="{placed["conversation_id"]}"' in row.group(0)
    preview = re.search(r'class="row-preview muted">([^<]*)<', row.group(0)).group(1)
    assert preview.startswith("[订单]") and "我：" not in preview
    card = [
        m
        for m in shop.api.get(f"/api/v1/conversations/{placed['conversation_id']}/messages").json()
        if m["kind"] == "order_card"
    ]
    assert [(m["sender_type"], m["sender_id"]) for m in card] == [("customer", placed["customer_id"])]


def test_reading_the_conversation_and_confirming_the_order_clear_the_badges(runtime, console, client, shop):
    placed = order_from_link(client, shop, product_link(runtime, shop))
    conversation = placed["conversation_id"]
    seq = shop.api.get(f"/api/v1/conversations/{conversation}").json()["message_count"]

    # when the shop reads the chat and confirms the order
    assert shop.api.post(f"/api/v1/conversations/{conversation}/read", json={"seq": seq}).status_code == 200
    assert shop.api.post(f"/api/v1/orders/{placed['order']['id']}/confirm").status_code == 200

    # then nothing is waiting any more
    counts = badges(console)
    assert (counts["orders_pending"], counts["chats_unread"]) == (0, 0)


def test_the_badges_count_only_the_shops_own(runtime, app, client, shop, other_shop):
    # given an order placed with one shop
    order_from_link(client, shop, product_link(runtime, shop))

    # when the other shop's console asks
    counts = badges(sign_in(app, other_shop))

    # then it sees none of it
    assert (counts["orders_pending"], counts["chats_unread"]) == (0, 0)
    assert badges(sign_in(app, shop))["orders_pending"] == 1


def test_staff_who_may_not_read_orders_get_no_order_count(runtime, app, client, shop):
    order_from_link(client, shop, product_link(runtime, shop))

    chat_only = badges(scoped(app, shop, ["chat.read"]))
    orders_only = badges(scoped(app, shop, ["orders.read"]))

    assert (chat_only["orders_pending"], chat_only["chats_unread"]) == (None, 1)
    assert (orders_only["orders_pending"], orders_only["chats_unread"]) == (1, None)


def test_every_console_page_carries_the_badges_its_reader_may_see(console, app, shop):
    # given the owner, who may read orders and chats
    for path in ("/orders", "/products", "/customers", "/inbox"):
        page = console.get(path).text
        # then each page has both badges and loads the script that fills them
        assert 'id="nav-orders"' in page and 'id="nav-chats"' in page, path
        assert "/static/console/alerts.js" in page, path


def test_a_customer_cannot_recall_the_card_of_the_order_they_placed(runtime, client, shop):
    placed = order_from_link(client, shop, product_link(runtime, shop))
    card = next(m for m in client.get(f"/s/{shop.slug}/api/messages").json() if m["kind"] == "order_card")

    r = client.post(f"/s/{shop.slug}/api/messages/{card['id']}/recall")

    assert r.status_code == 409 and r.json()["error"]["code"] == "chat.order_card_kept"
    assert "取消订单" in r.json()["error"]["message"]
    assert shop.api.get(f"/api/v1/orders/{placed['order']['id']}").json()["status"] == "pending"
    seen = client.get(f"/s/{shop.slug}/api/messages").json()
    assert [m["recalled"] for m in seen if m["kind"] == "order_card"] == [False]
