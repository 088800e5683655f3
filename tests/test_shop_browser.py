"""The customer's shop page in Chromium on a phone-sized screen, against a live server: chatting,
ordering from a product link with the card following the shop's steps live, and a dropped
connection that comes back and shows what it missed. The shop acts through the HTTP API."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import (  # noqa: F401 (fixtures)
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    staff_api_fixture,
)
from tests.support.catalog import make_product
from tests.support.chat_pages import (
    SHOP_SOCKET,
    WAIT,
    drop_connection,
    expect,
    fill_link_order,
    introduce,
    phone_context,
    share_link,
    wait_for_shop_socket,
)


@pytest.fixture
def phone(browser):
    context = phone_context(browser)
    yield context, context.new_page()
    context.close()


def conversation_id(staff) -> int:
    items = staff.get("/api/v1/conversations").json()["items"]
    assert len(items) == 1
    return items[0]["id"]


def test_a_customer_introduces_themselves_and_chats_live(phone, live, shop, staff):
    _context, page = phone
    introduce(page, live, shop)

    page.fill("#compose-text", "在吗？这件有红色吗")
    page.press("#compose-text", "Enter")
    expect()(page.locator("li.from-customer:not(.pending) .bubble")).to_have_text(
        "在吗？这件有红色吗", timeout=WAIT
    )
    r = staff.post(
        f"/api/v1/conversations/{conversation_id(staff)}/messages", json={"body": "有的，红色M码还有货"}
    )
    assert r.status_code == 201, r.text

    expect()(page.locator("li.from-staff .bubble")).to_have_text("有的，红色M码还有货", timeout=WAIT)
    seen = staff.get(f"/api/v1/conversations/{conversation_id(staff)}/messages").json()
    assert [(m["sender_type"], m["body"]) for m in seen] == [
        ("customer", "在吗？这件有红色吗"),
        ("staff", "有的，红色M码还有货"),
    ]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_an_order_from_a_product_link_follows_the_shop_live(phone, live, shop, staff):
    _context, page = phone
    product = make_product(live[1], shop, name="纯棉T恤", options=["颜色"], price=5900, stock=5)
    page.goto(share_link(live, shop, product))
    fill_link_order(page)
    expect()(page.locator("#order-total")).to_have_text("¥118.00")
    page.click("#order-submit")
    expect()(page.locator("#placed .order-card .card-status")).to_have_text("等待商家确认", timeout=WAIT)

    page.click("#placed a.button.primary")  # on to the chat, where the card was posted
    wait_for_shop_socket(page)
    card = page.locator("li.kind-order_card .order-card")
    expect()(card.locator(".card-status")).to_have_text("等待商家确认", timeout=WAIT)
    order_id = int(card.get_attribute("data-order"))
    assert staff.post(f"/api/v1/orders/{order_id}/confirm").status_code == 200
    expect()(card.locator(".card-status")).to_have_text("已确认", timeout=WAIT)
    shipped = staff.post(
        f"/api/v1/orders/{order_id}/ship", json={"carrier_code": "SF", "tracking_number": "SF1234567890"}
    )
    assert shipped.status_code == 200, shipped.text

    expect()(card.locator(".card-status")).to_have_text("已发货", timeout=WAIT)
    expect()(card.locator("a.track")).to_have_attribute("href", re.compile("SF1234567890"))
    card.locator("button.receipt").click()
    expect()(card.locator(".card-status")).to_have_text("已完成", timeout=WAIT)
    assert staff.get(f"/api/v1/orders/{order_id}").json()["status"] == "completed"


def test_a_dropped_connection_reconnects_and_shows_what_it_missed(phone, live, shop, staff):
    context, page = phone
    introduce(page, live, shop)

    drop_connection(page, SHOP_SOCKET)
    expect()(page.locator("#conn")).to_be_visible(timeout=WAIT)
    r = staff.post(
        f"/api/v1/conversations/{conversation_id(staff)}/messages", json={"body": "您的快递已到驿站"}
    )
    assert r.status_code == 201, r.text
    context.set_offline(False)

    expect()(page.locator("li.from-staff .bubble")).to_have_text("您的快递已到驿站", timeout=WAIT)
    expect()(page.locator("#conn")).to_be_hidden(timeout=WAIT)
