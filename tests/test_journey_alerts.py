"""Nothing slips by: a product-link order is the customer's unread message in the inbox, and the
console's navigation badges (pending orders, unread conversations) count it, per shop and as far as
the staff member may see. The live part is in tests/test_journey_alerts_browser.py."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from shangliao.catalog.models import Variant
from tests.support.catalog import make_product
from tests.support.chat import open_conversation
from tests.support.orders import ADDRESS, variant_stock
from tests.test_console import sign_in

NEW_VISITOR = {"name": "小红", "phone": "13700001234"}


@pytest.fixture
def client(app) -> TestClient:
    """A customer's phone: no staff credential, keeps its cookies."""
    return TestClient(app, raise_server_exceptions=False)


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
    # while a staff member who may read chats but not orders gets no order badge at all
    page = scoped(app, shop, ["chat.read"]).get("/inbox").text
    assert 'id="nav-chats"' in page and 'id="nav-orders"' not in page


def test_a_customer_cannot_recall_the_card_of_the_order_they_placed(runtime, client, shop):
    placed = order_from_link(client, shop, product_link(runtime, shop))
    card = next(m for m in client.get(f"/s/{shop.slug}/api/messages").json() if m["kind"] == "order_card")

    r = client.post(f"/s/{shop.slug}/api/messages/{card['id']}/recall")

    assert r.status_code == 409 and r.json()["error"]["code"] == "chat.order_card_kept"
    assert "取消订单" in r.json()["error"]["message"]
    assert shop.api.get(f"/api/v1/orders/{placed['order']['id']}").json()["status"] == "pending"
    seen = client.get(f"/s/{shop.slug}/api/messages").json()
    assert [m["recalled"] for m in seen if m["kind"] == "order_card"] == [False]


# --- a chat draft warns before it is submitted ----------------------------------------------------


def chat_draft(runtime, shop, product, quantity: int = 1, phone: str = "13900001111") -> dict:
    conversation = open_conversation(runtime, shop, "李四", phone)
    r = shop.api.post(
        f"/api/v1/conversations/{conversation['id']}/orders",
        json={"items": [{"variant_id": product.variant_id, "quantity": quantity}], "address": ADDRESS},
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "draft"
    return r.json()


def warnings_on(console, order: dict) -> list[str]:
    page = console.get(f"/orders/{order['id']}").text
    return [text.strip() for text in re.findall(r'<li class="draft-warning[^"]*">([^<]*)</li>', page)]


def test_a_draft_of_a_sold_out_variant_warns_and_its_submission_is_refused(runtime, console, shop):
    # given a chat draft of a T-shirt nobody has in stock
    product = make_product(runtime, shop, name="纯棉T恤", stock=0, price=5900)
    draft = chat_draft(runtime, shop, product)

    # then its page warns before 提交订单 is pressed
    assert warnings_on(console, draft) == ["纯棉T恤 已售罄：补货前无法提交。"]
    # and submitting it anyway is refused, naming the SKU, and changes nothing
    r = shop.api.post(f"/api/v1/orders/{draft['id']}/submit")
    assert r.status_code == 409 and r.json()["error"]["code"] == "stock.insufficient"
    assert product.skus[0] in r.json()["error"]["message"]
    assert shop.api.get(f"/api/v1/orders/{draft['id']}").json()["status"] == "draft"


def test_a_draft_asking_for_more_than_is_left_says_how_many_are(runtime, console, shop):
    product = make_product(runtime, shop, name="纯棉T恤", stock=2, price=5900)
    draft = chat_draft(runtime, shop, product, quantity=3)

    assert warnings_on(console, draft) == ["纯棉T恤 仅剩 2 件，草稿需要 3 件：提交会被拒绝。"]
    # while a draft of what is left has nothing to warn about
    assert warnings_on(console, chat_draft(runtime, shop, product, 2, "13900002222")) == []


def test_a_draft_of_a_variant_taken_off_sale_warns_and_is_refused(runtime, console, shop):
    # given a chat draft whose variant was taken off sale afterwards
    product = make_product(runtime, shop, name="纯棉T恤", stock=5, price=5900)
    draft = chat_draft(runtime, shop, product)
    with runtime.db.write() as session:
        session.get(Variant, product.variant_id).active = False

    # then its page says so
    assert warnings_on(console, draft) == ["纯棉T恤 已下架：请修改商品，否则无法提交。"]
    # and submitting is refused with the reason, holding no stock
    r = shop.api.post(f"/api/v1/orders/{draft['id']}/submit")
    assert r.status_code == 409 and r.json()["error"]["code"] == "order.variant_inactive"
    assert shop.api.get(f"/api/v1/orders/{draft['id']}").json()["status"] == "draft"
    assert variant_stock(shop, product.product_id, product.variant_id)["reserved"] == 0


def test_a_presale_draft_says_it_ships_later_and_submits(runtime, console, shop):
    # given a chat draft of a presale product with no stock yet
    product = make_product(runtime, shop, name="新款卫衣", stock=0, price=12900, presale=True)
    draft = chat_draft(runtime, shop, product, quantity=2)

    # then its page says it ships later (not that it is sold out)
    assert warnings_on(console, draft) == ["新款卫衣 为预售商品：到货后发货。"]
    # and it can be submitted: a presale line holds no stock
    r = shop.api.post(f"/api/v1/orders/{draft['id']}/submit")
    assert r.status_code == 200, r.text
    assert warnings_on(console, r.json()) == []
