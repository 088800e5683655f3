"""The right order, the same evidence, in Chromium against a live server: a quick reply fills from
the order staff are discussing (and says which), and a dispute checkpoint reads the same on the
merchant's screen and on the customer's phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import (  # noqa: F401 (fixtures)
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    open_console,
)
from tests.support.catalog import make_product
from tests.support.chat import Device
from tests.support.chat_pages import introduce, open_chat, phone_context
from tests.support.orders import act, make_order

SHOTS = "/tmp/h3"


@pytest.fixture
def customer(live, shop):
    c = Device(live[0], shop.slug, "小红", "13700001234")
    yield c
    c.http.close()


def test_a_quick_reply_fills_from_the_order_staff_chose_and_says_which(browser, live, shop, customer):
    # given a customer with a shipped order and, placed after it, a pending one
    tee = make_product(live[1], shop, name="纯棉T恤", stock=9, price=5900)
    shipped = make_order(shop, [(tee.variant_id, 1)], customer_id=customer.customer_id)
    act(shop, shipped, "confirm")
    act(shop, shipped, "ship", carrier_code="SF", tracking_number="SF1234567890")
    pending = make_order(shop, [(tee.variant_id, 2)], customer_id=customer.customer_id)
    customer.says("我的快递到哪了？")
    page = open_console(browser, live, shop)
    open_chat(page, live, customer.conversation_id)

    # when staff take up the shipped order in the side panel and type the shipping notice
    page.click(f".panel-order[data-order-id='{shipped['id']}'] [data-reply-order]")
    page.type("#composer-text", "/fh")
    page.locator("#reply-suggest .reply-option", has_text="/fh").wait_for()
    page.press("#composer-text", "Enter")

    # then the reply is filled from the shipped order, courier and tracking number included
    page.wait_for_function("() => document.getElementById('composer-text').value.includes('SF1234567890')")
    text = page.input_value("#composer-text")
    assert shipped["number"] in text and "顺丰速运" in text and pending["number"] not in text
    # and the composer says which order it used
    assert page.inner_text("#composer-hint") == f"按订单 #{shipped['number']} 填写"
    assert page.input_value("#reply-order") == str(shipped["id"])
    page.screenshot(path=f"{SHOTS}/reply_order_desktop.png")

    # when staff confirm the other order in the panel, a click inside that order
    filled = page.input_value("#composer-text")
    page.click(f".panel-order[data-order-id='{pending['id']}'] [data-order-action=confirm]")
    expect(
        page.locator(f".panel-order[data-order-id='{pending['id']}'] [data-order-action=confirm]")
    ).to_have_count(0)
    # then the reply still speaks of the shipped order: only 用于回复 or the list switches it
    assert page.input_value("#reply-order") == str(shipped["id"])
    assert page.input_value("#composer-text") == filled
    assert page.locator(f".panel-order[data-order-id='{shipped['id']}'].is-reply-order").count() == 1

    # when staff switch the reply to the other order
    page.select_option("#reply-order", str(pending["id"]))
    # then the text follows it, and says what it cannot fill (nothing shipped yet)
    page.wait_for_function(
        f"() => document.getElementById('composer-text').value.includes('{pending['number']}')"
    )
    assert "SF1234567890" not in page.input_value("#composer-text")
    hint = page.inner_text("#composer-hint")
    assert hint.startswith(f"按订单 #{pending['number']} 填写") and "物流单号" in hint
    assert page.locator(f".panel-order[data-order-id='{pending['id']}'].is-reply-order").count() == 1

    # when staff come to the chat from the shipped order's page
    page.goto(f"{live[0]}/orders/{shipped['id']}")
    page.click("#order-chat a.button")
    page.wait_for_selector("#inbox[data-connection=live]")
    # then quick replies speak of that order from the start
    assert page.input_value("#reply-order") == str(shipped["id"])
    assert page.locator(f".panel-order[data-order-id='{shipped['id']}'].is-reply-order").count() == 1


def test_a_checkpoint_reads_the_same_on_the_merchants_screen_and_the_customers_phone(browser, live, shop):
    # given a customer chatting from their phone, and their confirmed order
    context = phone_context(browser)
    phone = context.new_page()
    introduce(phone, live, shop, name="王小美", phone="13900001111")
    conversation = shop.api.get("/api/v1/conversations").json()["items"][0]
    tee = make_product(live[1], shop, name="纯棉T恤", stock=9, price=5900)
    order = make_order(
        shop, [(tee.variant_id, 2)], customer_id=conversation["customer_id"], remark="周末送货"
    )
    act(shop, order, "confirm")

    # when staff send the order details for the customer to check (a dispute checkpoint)
    r = shop.api.post(f"/api/v1/orders/{order['id']}/checkpoints/details")
    assert r.status_code == 201, r.text

    # then the customer's phone shows the note, the lines, the total and the address sent
    customer_lines = phone.locator("#messages .checkpoint-evidence li")
    customer_lines.first.wait_for()
    on_phone = customer_lines.all_inner_texts()
    assert on_phone[0].startswith("麻烦您核对一下订单")
    assert "纯棉T恤" in on_phone[1] and any("¥118.00" in line for line in on_phone)
    assert any("张三" in line and "杭州市" in line for line in on_phone)
    assert not any("文三路100号" in line for line in on_phone)  # the street stays with the shop
    phone.screenshot(path=f"{SHOTS}/checkpoint_phone.png", full_page=True)

    # and the merchant's screen shows exactly those parts, in the same order
    page = open_console(browser, live, shop)
    open_chat(page, live, conversation["id"])
    staff_lines = page.locator("#chat-list .checkpoint-evidence li")
    staff_lines.first.wait_for()
    assert staff_lines.all_inner_texts() == on_phone
    page.screenshot(path=f"{SHOTS}/checkpoint_desktop.png")
    # and so does the order page's chat panel, the third place a checkpoint is drawn
    page.goto(f"{live[0]}/orders/{order['id']}")
    assert page.locator("#order-chat .checkpoint-evidence li").all_inner_texts() == on_phone
    page.locator("#order-chat").screenshot(path=f"{SHOTS}/checkpoint_order_page.png")
    context.close()
