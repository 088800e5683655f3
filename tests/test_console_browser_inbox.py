"""The staff inbox in Chromium, against a live server: a customer (driven over HTTP like the shop page
does) writes, staff see it live and reply; quick replies fill the composer; a dropped socket
reconnects and shows what it missed; the order is handled from the side panel; phones get one pane
at a time."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import (  # noqa: F401 (fixtures)
    PHONE,
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    open_console,
)
from tests.support.catalog import make_product
from tests.support.chat import Device
from tests.support.chat_pages import INBOX_SOCKET, bubble, drop_connection, open_chat
from tests.support.orders import make_order


@pytest.fixture
def customer(live, shop):
    c = Device(live[0], shop.slug, "小红", "13700001234")
    yield c
    c.http.close()


def stored(shop, customer) -> list[tuple[str, str]]:
    r = shop.api.get(f"/api/v1/conversations/{customer.conversation_id}/messages")
    assert r.status_code == 200, r.text
    return [(m["sender_type"], m["body"]) for m in r.json()]


def test_staff_hear_a_customer_live_and_reply(browser, live, shop, customer):
    customer.says("在吗")
    page = open_console(browser, live, shop)
    open_chat(page, live, customer.conversation_id)
    assert bubble(page, "在吗").count() == 1

    # when the customer writes markup while the chat is open
    customer.says("<img src=x onerror=\"document.title='hacked'\">这件有M码吗")
    # then it shows up live, as text: no element is made from it
    bubble(page, "这件有M码吗").wait_for()
    assert page.locator("#chat-list img").count() == 0
    assert page.title() != "hacked"
    assert "<img src=x" in bubble(page, "这件有M码吗").inner_text()
    # and the conversation's row says so, read because the chat is on screen
    row = page.locator(f"#row-{customer.conversation_id}")
    row.locator(".row-preview", has_text="这件有M码吗").wait_for()
    page.wait_for_selector(f"#row-{customer.conversation_id}[data-unread='0']")

    # when staff reply with Enter
    page.fill("#composer-text", "有的，M码还有3件")
    page.press("#composer-text", "Enter")
    # then the reply is sent once and stored as the shop's
    page.wait_for_selector("#chat-list .msg-me[data-id] >> text=有的，M码还有3件")
    assert page.locator("#chat-list .pending").count() == 0
    assert stored(shop, customer)[-1] == ("staff", "有的，M码还有3件")
    assert bubble(page, "有的，M码还有3件").count() == 1


def test_a_quick_reply_fills_the_composer_to_edit_before_sending(browser, live, shop, customer):
    r = shop.api.post(
        "/api/v1/reply-templates",
        json={"shortcode": "thx", "title": "感谢", "body": "{客户名}您好，感谢您的耐心等待！"},
    )
    assert r.status_code == 201, r.text
    page = open_console(browser, live, shop)
    open_chat(page, live, customer.conversation_id)
    # when staff type the shortcode and pick it
    page.type("#composer-text", "/thx")
    page.locator("#reply-suggest .reply-option", has_text="感谢").wait_for()
    page.press("#composer-text", "Enter")
    # then the composer holds the filled text (nothing sent yet), ready to edit
    page.wait_for_function("() => document.getElementById('composer-text').value.includes('小红您好')")
    assert page.input_value("#composer-text") == "小红您好，感谢您的耐心等待！"
    assert page.locator("#chat-list .msg-me").count() == 0
    page.fill("#composer-text", "小红您好，感谢您的耐心等待！明天发货。")
    page.click("#composer-send")
    page.wait_for_selector("#chat-list .msg-me[data-id] >> text=明天发货")
    assert stored(shop, customer)[-1] == ("staff", "小红您好，感谢您的耐心等待！明天发货。")


def test_after_the_socket_drops_a_message_sent_meanwhile_shows_once(browser, live, shop, customer):
    page = open_console(browser, live, shop)
    open_chat(page, live, customer.conversation_id)
    # given the page is cut off from the network and its socket is gone
    drop_connection(page, INBOX_SOCKET)
    page.wait_for_selector("#chat-connection:not([hidden])")
    assert "正在重新连接" in page.inner_text("#chat-connection")
    # when the customer writes meanwhile
    customer.says("我刚付款了")
    # and the network comes back
    page.context.set_offline(False)
    page.wait_for_selector("#inbox[data-connection=live]")
    # then the message shows, once, without reloading the page
    bubble(page, "我刚付款了").wait_for()
    assert page.locator("#chat-connection").is_hidden()
    customer.says("收到了吗")
    bubble(page, "收到了吗").wait_for()
    assert bubble(page, "我刚付款了").count() == 1


def test_the_order_is_handled_beside_the_chat_and_its_card_follows(browser, live, shop, customer):
    tee = make_product(live[1], shop, name="纯棉T恤", stock=5, price=5900)
    order = make_order(shop, [(tee.variant_id, 1)], customer_id=customer.customer_id)
    page = open_console(browser, live, shop)
    open_chat(page, live, customer.conversation_id)
    panel_order = page.locator(f".panel-order[data-order-id='{order['id']}']")
    # when staff send the order card from the panel
    panel_order.locator("[data-send-order=card]").click()
    cards = page.locator(f"#chat-list .card-order[data-order-id='{order['id']}']")
    card = cards.first
    card.locator(".live-status", has_text="待确认").wait_for()
    # and confirm, then ship, without leaving the chat
    panel_order.locator("[data-order-action=confirm]").click()
    card.locator(".live-status", has_text="已确认").wait_for()
    # and send the confirmed details for the customer to check (a dispute checkpoint)
    page.locator(f".panel-order[data-order-id='{order['id']}'] [data-send-order=details]").click()
    page.locator("#chat-list .msg-me .checkpoint").wait_for()
    page.locator(f".panel-order[data-order-id='{order['id']}'] [data-order-dialog=ship-dialog]").click()
    page.select_option("#ship-dialog select[name=carrier_code]", "SF")
    page.fill("#ship-dialog input[name=tracking_number]", "SF1234567890")
    # the order is not marked paid: the dialog says so and asks for a tick before shipping
    assert page.locator("#ship-dialog p[data-unpaid-note]").is_visible()
    page.check("#ship-dialog input[name=ship_unpaid]")
    page.click("#ship-dialog button.primary")
    # then every card of the order in the chat shows the new status and the tracking number, live
    cards.last.locator(".live-status", has_text="已发货").wait_for()
    assert cards.count() == 2  # the card, and the details sent to check
    assert cards.locator(".live-status").all_inner_texts() == ["已发货", "已发货"]
    assert all("SF1234567890" in t for t in cards.locator(".live-tracking").all_inner_texts())
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["status"] == "shipped"
    # and the conversation is taken with one click
    page.click("[data-assign-me]")
    page.wait_for_function(f"() => document.getElementById('assignee').value === '{shop.owner_id}'")
    conversation = shop.api.get(f"/api/v1/conversations/{customer.conversation_id}").json()
    assert conversation["assignee_id"] == shop.owner_id


def test_a_phone_shows_one_pane_at_a_time(browser, live, shop, customer):
    customer.says("手机上能看到吗")
    page = open_console(browser, live, shop, viewport=PHONE)
    page.goto(live[0] + "/inbox")
    # the list fills the screen
    assert page.locator("#inbox-list").is_visible()
    page.click(f"#row-{customer.conversation_id} a")
    page.wait_for_url(re.compile(rf"/inbox/{customer.conversation_id}$"))
    # then the chat alone, with the message and a way back
    bubble(page, "手机上能看到吗").wait_for()
    assert page.locator("#inbox-list").is_hidden() and page.locator("#inbox-side").is_hidden()
    assert page.locator(".chat-head .back").is_visible()
    # the customer's panel opens in place of the chat, and back again
    page.click(".chat-head [data-pane-to=side]")
    assert page.locator("#inbox-side").is_visible() and page.locator("#inbox-chat").is_hidden()
    assert "137****1234" in page.inner_text("#inbox-side")
    page.click("#inbox-side [data-pane-to=chat]")
    assert page.locator("#inbox-chat").is_visible()
    # and nothing is wider than the phone
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    page.fill("#composer-text", "能看到的")
    page.click("#composer-send")
    page.wait_for_selector("#chat-list .msg-me[data-id] >> text=能看到的")
