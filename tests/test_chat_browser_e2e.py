"""Both sides of the chat in Chromium at once, on one live server: a customer on a phone-sized shop
page and a staff member in the console inbox, each in their own browser context. Everything either
side does shows on the other's screen live, without reloading; a page that loses its connection
shows what it missed once it is back, in order and once each."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import (  # noqa: F401 (fixtures)
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    open_console,
)
from tests.support.catalog import make_product
from tests.support.chat_pages import (
    INBOX_SOCKET,
    SHOP_SOCKET,
    WAIT,
    assert_not_reloaded,
    bubble,
    customer_fixture,  # noqa: F401 (fixture)
    drop_connection,
    expect,
    fill_link_order,
    introduce,
    mark_page,
    open_chat,
    share_link,
    ship_unpaid_from_panel,
    wait_for_shop_socket,
)
from tests.support.orders import make_order


@pytest.fixture
def staff(browser, live, shop):
    """The shop owner at a desk, signed in to the console in a second browser context."""
    page = open_console(browser, live, shop)
    yield page
    page.context.close()


def only_conversation(shop) -> int:
    items = shop.api.get("/api/v1/conversations").json()["items"]
    assert len(items) == 1
    return items[0]["id"]


def customer_bubbles(customer, side: str):
    return customer.locator(f"#messages li.from-{side} .bubble")


def staff_says(staff, text: str) -> None:
    """Sent from the inbox composer; waits until the server has stored it (the bubble has an id)."""
    staff.fill("#composer-text", text)
    staff.press("#composer-text", "Enter")
    expect()(staff.locator("#chat-list .msg-me[data-id]", has_text=text)).to_have_count(1, timeout=WAIT)


def customer_says(customer, text: str) -> None:
    """Sent from the shop page's composer; waits until the server has acknowledged it."""
    customer.fill("#compose-text", text)
    customer.press("#compose-text", "Enter")
    sent = customer.locator("#messages li.from-customer:not(.pending) .bubble", has_text=text)
    expect()(sent).to_have_count(1, timeout=WAIT)


def test_customer_and_staff_chat_live_both_ways(customer, staff, live, shop):
    # given the staff member has the inbox open before the customer turns up
    staff.goto(live[0] + "/inbox")
    inbox_mark = mark_page(staff)

    # when a customer opens the shop link on a phone, introduces themselves and writes
    introduce(customer, live, shop, name="王小红")
    customer_mark = mark_page(customer)
    customer_says(customer, "你好，在吗")

    # then the conversation appears in the inbox list on its own, with the message as its preview
    row = staff.locator("#inbox-rows .inbox-row", has_text="王小红")
    expect()(row.locator(".row-preview")).to_have_text("你好，在吗", timeout=WAIT)
    assert_not_reloaded(staff, inbox_mark)

    # and once staff open it, what the customer writes next lands in the open chat live
    row.locator("a").click()
    staff.wait_for_url(re.compile(rf"/inbox/{only_conversation(shop)}$"))
    staff.wait_for_selector("#inbox[data-connection=live]")
    chat_mark = mark_page(staff)
    expect()(bubble(staff, "你好，在吗")).to_have_count(1, timeout=WAIT)
    customer_says(customer, "这件T恤还有M码吗")
    expect()(staff.locator("#chat-list .msg-them .text")).to_have_text(
        ["你好，在吗", "这件T恤还有M码吗"], timeout=WAIT
    )

    # when staff reply from the composer
    staff_says(staff, "在的，M码还有货")

    # then the customer sees the reply live, after their own messages
    expect()(customer_bubbles(customer, "staff")).to_have_text(["在的，M码还有货"], timeout=WAIT)
    expect()(customer.locator("#messages li .bubble")).to_have_text(
        ["你好，在吗", "这件T恤还有M码吗", "在的，M码还有货"], timeout=WAIT
    )
    assert_not_reloaded(customer, customer_mark)
    assert_not_reloaded(staff, chat_mark)


def test_an_order_from_a_product_link_follows_confirm_and_ship_on_both_sides(customer, staff, live, shop):
    product = make_product(
        live[1],
        shop,
        name="纯棉T恤",
        options=["颜色"],
        variants=[{"spec": {"颜色": "白色"}, "price": 5900}, {"spec": {"颜色": "红色"}, "price": 6900}],
        stock=5,
    )
    staff.goto(live[0] + "/inbox")
    inbox_mark = mark_page(staff)

    # when a customer orders two red ones from the product's share link, on a phone
    customer.goto(share_link(live, shop, product))
    customer.locator("#order-form .chip", has_text="红色").click()
    fill_link_order(customer, name="李小红")
    expect()(customer.locator("#order-total")).to_have_text("¥138.00")
    customer.click("#order-submit")
    expect()(customer.locator("#placed .order-card .card-status")).to_have_text("等待商家确认", timeout=WAIT)

    # then the chat the customer moves on to holds the order's card
    customer.click("#placed a.button.primary")
    wait_for_shop_socket(customer)
    card = customer.locator("#messages li.kind-order_card .order-card")
    expect()(card.locator(".card-status")).to_have_text("等待商家确认", timeout=WAIT)
    expect()(card.locator(".lines")).to_contain_text("红色", timeout=WAIT)
    expect()(card.locator(".lines")).to_contain_text("× 2")
    expect()(card.locator(".total-value")).to_have_text("¥138.00")
    order_id = int(card.get_attribute("data-order"))
    customer_mark = mark_page(customer)

    # and the new conversation came into the inbox live, its chat showing the same card
    row = staff.locator("#inbox-rows .inbox-row", has_text="李小红")
    expect()(row).to_have_count(1, timeout=WAIT)
    assert_not_reloaded(staff, inbox_mark)
    row.locator("a").click()
    staff.wait_for_selector("#inbox[data-connection=live]")
    staff_mark = mark_page(staff)
    staff_card = staff.locator(f"#chat-list .card-order[data-order-id='{order_id}']")
    expect()(staff_card.locator(".live-status")).to_have_text("待确认", timeout=WAIT)
    expect()(staff_card.locator(".card-items")).to_contain_text("红色")
    expect()(staff_card.locator(".card-total")).to_contain_text("¥138.00")

    # when staff confirm from the side panel, beside the chat
    panel_order = staff.locator(f"#inbox-panel .panel-order[data-order-id='{order_id}']")
    panel_order.locator("[data-order-action=confirm]").click()

    # then the card turns confirmed on both screens
    expect()(staff_card.locator(".live-status")).to_have_text("已确认", timeout=WAIT)
    expect()(card.locator(".card-status")).to_have_text("已确认", timeout=WAIT)

    # when staff ship it with a courier and tracking number
    ship_unpaid_from_panel(staff, panel_order)  # not marked paid: asked once, ticked

    # then both cards say shipped, with the tracking number and its link
    expect()(staff_card.locator(".live-status")).to_have_text("已发货", timeout=WAIT)
    expect()(staff_card.locator(".live-tracking")).to_contain_text("SF1234567890", timeout=WAIT)
    expect()(card.locator(".card-status")).to_have_text("已发货", timeout=WAIT)
    track = card.locator("a.track")
    expect()(track).to_be_visible(timeout=WAIT)
    expect()(track).to_contain_text("SF1234567890")
    expect()(track).to_have_attribute("href", re.compile("SF1234567890"))
    expect()(panel_order.locator(".badge.status-shipped")).to_have_text("已发货", timeout=WAIT)
    assert_not_reloaded(customer, customer_mark)
    assert_not_reloaded(staff, staff_mark)
    assert shop.api.get(f"/api/v1/orders/{order_id}").json()["status"] == "shipped"


def test_a_dropped_connection_on_either_side_shows_what_it_missed(customer, staff, live, shop):
    introduce(customer, live, shop, name="赵小红")
    customer_says(customer, "我想改一下地址")
    open_chat(staff, live, only_conversation(shop))
    expect()(bubble(staff, "我想改一下地址")).to_have_count(1, timeout=WAIT)
    customer_mark, staff_mark = mark_page(customer), mark_page(staff)

    # given the customer's phone loses its connection
    drop_connection(customer, SHOP_SOCKET)
    expect()(customer.locator("#conn")).to_be_visible(timeout=WAIT)
    # when staff write twice meanwhile
    staff_says(staff, "好的，请发新地址")
    staff_says(staff, "改好后我再发您确认")
    expect()(customer_bubbles(customer, "staff")).to_have_count(0)
    # and the connection comes back
    customer.context.set_offline(False)
    # then both show, in order, once each
    expect()(customer.locator("#conn")).to_be_hidden(timeout=WAIT)
    expect()(customer.locator("#messages li .bubble")).to_have_text(
        ["我想改一下地址", "好的，请发新地址", "改好后我再发您确认"], timeout=WAIT
    )

    # given it is the staff page's turn to lose its connection
    drop_connection(staff, INBOX_SOCKET)
    expect()(staff.locator("#chat-connection")).to_be_visible(timeout=WAIT)
    # when the customer writes meanwhile
    customer_says(customer, "新地址：文三路200号")
    expect()(bubble(staff, "文三路200号")).to_have_count(0)
    # and the connection comes back
    staff.context.set_offline(False)
    # then the staff page shows it, once, after what it had
    expect()(staff.locator("#inbox[data-connection=live]")).to_have_count(1, timeout=WAIT)
    expect()(staff.locator("#chat-list .msg .text")).to_have_text(
        ["我想改一下地址", "好的，请发新地址", "改好后我再发您确认", "新地址：文三路200号"], timeout=WAIT
    )
    expect()(staff.locator("#chat-connection")).to_be_hidden(timeout=WAIT)
    # and the conversation's row caught up as well
    row = staff.locator(f"#row-{only_conversation(shop)} .row-preview")
    expect()(row).to_have_text("新地址：文三路200号", timeout=WAIT)
    assert_not_reloaded(customer, customer_mark)
    assert_not_reloaded(staff, staff_mark)


def test_a_payment_request_and_a_quote_show_on_both_pages(customer, staff, live, shop):
    # given a customer chatting on the shop page, with a pending order, and the staff chat open
    introduce(customer, live, shop)
    conversation_id = only_conversation(shop)
    customer_id = shop.api.get(f"/api/v1/conversations/{conversation_id}").json()["customer_id"]
    tee = make_product(live[1], shop, name="纯棉T恤", price=5900, stock=5)
    order = make_order(shop, [(tee.variant_id, 2)], customer_id=customer_id)
    open_chat(staff, live, conversation_id)

    # when the shop asks for payment and sends a quote with a negotiated price
    url = f"/api/v1/conversations/{conversation_id}/messages"
    asked = shop.api.post(url, json={"kind": "payment_request", "order_id": order["id"], "body": "请转账"})
    quoted = shop.api.post(
        url,
        json={
            "kind": "quote_card",
            "items": [{"variant_id": tee.variant_id, "quantity": 10, "unit_price": 5000}],
        },
    )
    assert asked.status_code == 201 and quoted.status_code == 201, (asked.text, quoted.text)

    # then both cards show live on the customer's phone and in the inbox, with their amounts
    cards = {
        customer: ("#messages .pay-card", "#messages .quote-card"),
        staff: ("#chat-list .card-payment", "#chat-list .card-quote"),
    }
    for page, (payment, quote) in cards.items():
        expect()(page.locator(payment)).to_contain_text("¥118.00", timeout=WAIT)  # what is owed
        expect()(page.locator(quote)).to_contain_text("¥500.00", timeout=WAIT)  # 10 at the agreed ¥50
