"""The customer's pages render for phones, in Chinese first, and show nothing of anyone else."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shangliao.storefront.visitors import VISITOR_COOKIE
from tests.support.catalog import make_product
from tests.support.orders import ADDRESS, act


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def bag(runtime, shop):
    product = make_product(runtime, shop, name="帆布包", options=["颜色"], price=3900, stock=5)
    return product, shop.api.get(f"/api/v1/products/{product.product_id}").json()["share_token"]


def place(client, shop, bag, who=("小红", "13700001234"), address=ADDRESS) -> dict:
    product, token = bag
    r = client.post(
        f"/s/{shop.slug}/api/orders",
        json={
            "token": token,
            "variant_id": product.variant_id,
            "quantity": 1,
            "address": address,
            "name": who[0],
            "phone": who[1],
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["order"]


def test_the_chat_page_asks_a_new_device_who_it_is(client, shop):
    r = client.get(f"/s/{shop.slug}")

    assert r.status_code == 200 and 'id="intro"' in r.text
    assert "联系商家" in r.text and "/static/shop/shop.js" in r.text
    assert 'name="viewport"' in r.text and '/orders"' not in r.text  # no console navigation


def test_the_chat_page_knows_a_returning_device(client, shop):
    client.post(f"/s/{shop.slug}/api/visitor", json={"name": "小红", "phone": "13700001234"})

    r = client.get(f"/s/{shop.slug}")

    assert r.status_code == 200 and 'id="intro"' not in r.text and 'id="composer"' in r.text


def test_the_pages_speak_english_when_asked(client, shop):
    r = client.get(f"/s/{shop.slug}", headers={"Accept-Language": "en"})

    assert "Chat with the shop" in r.text and "联系商家" not in r.text


def test_an_unknown_shop_or_product_is_a_404_page(client, shop, other_shop, runtime):
    theirs = make_product(runtime, other_shop)
    their_token = other_shop.api.get(f"/api/v1/products/{theirs.product_id}").json()["share_token"]

    for path in (
        "/s/no-such-shop",
        "/s/no-such-shop/p/AAAAAAAAAAAAAAAAAAAAAA",
        f"/s/{shop.slug}/p/AAAAAAAAAAAAAAAAAAAAAA",
        f"/s/{shop.slug}/p/{their_token}",
        f"/s/{shop.slug}/orders/1",
    ):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "text/html" in r.headers["content-type"] and "页面不存在" in r.text


def test_the_product_page_shows_the_variants_and_the_order_form(client, shop, bag):
    r = client.get(f"/s/{shop.slug}/p/{bag[1]}")

    assert r.status_code == 200
    assert "帆布包" in r.text and "颜色1" in r.text and "颜色2" in r.text and "¥39.00" in r.text
    assert 'id="order-form"' in r.text and 'name="phone"' in r.text  # a new device introduces itself there


def test_the_order_page_shows_the_public_timeline_and_receipt_once_shipped(client, shop, bag):
    placed = place(client, shop, bag)
    shop.api.post(f"/api/v1/orders/{placed['id']}/notes", json={"body": "客户难缠，注意"})
    act(shop, placed, "confirm")
    act(shop, placed, "ship", carrier_code="SF", tracking_number="SF1234567890")

    r = client.get(f"/s/{shop.slug}/orders/{placed['id']}")

    assert r.status_code == 200 and placed["number"] in r.text
    assert "已发货" in r.text and "顺丰速运 SF1234567890" in r.text and 'id="receipt"' in r.text
    assert "kuaidi100.com" in r.text
    assert "客户难缠" not in r.text
    assert ADDRESS["detail"] not in r.text and ADDRESS["phone"] not in r.text


def test_an_order_page_shows_nothing_of_another_customer(app, client, shop, bag):
    placed = place(client, shop, bag, address={**ADDRESS, "receiver": "欧阳娜娜"})
    stranger = TestClient(app, raise_server_exceptions=False)
    place(stranger, shop, bag, who=("小明", "13700005678"))

    r = stranger.get(f"/s/{shop.slug}/orders/{placed['id']}")
    chat = stranger.get(f"/s/{shop.slug}")

    assert r.status_code == 404 and placed["number"] not in r.text and "欧阳娜娜" not in r.text
    assert "欧阳娜娜" not in chat.text and "小红" not in chat.text


def test_a_device_without_a_cookie_cannot_open_an_order_page(client, app, shop, bag):
    placed = place(client, shop, bag)
    assert client.cookies.get(VISITOR_COOKIE)

    r = TestClient(app, raise_server_exceptions=False).get(f"/s/{shop.slug}/orders/{placed['id']}")

    assert r.status_code == 404 and placed["number"] not in r.text
