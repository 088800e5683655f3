"""The customer's phone (390 px) against a live server: options chosen as chips with sold-out ones
disabled, the confirmation in view and focused after ordering, the phone asked once, and a new chat
that shows the introduction form alone.

Set ``SHANGLIAO_SHOTS`` to a folder to keep a screenshot of each step."""

from __future__ import annotations

import pytest

from tests.support.browser import (  # noqa: F401 (fixtures)
    browser_fixture,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    staff_api_fixture,
)
from tests.support.catalog import make_product
from tests.support.chat import customer_says
from tests.support.chat_pages import WAIT, expect, fill_link_address, introduce, phone_context, share_link


@pytest.fixture
def page(browser):
    context = phone_context(browser)
    yield context.new_page()
    context.close()


def chip(page, value: str):
    return page.locator("#order-form .chip", has_text=value)


@pytest.fixture
def tee(live, shop):
    """颜色 × 尺码: red L sold out, a green one no longer offered (inactive)."""
    return make_product(
        live[1],
        shop,
        name="纯棉T恤",
        options=["颜色", "尺码"],
        variants=[
            {"spec": {"颜色": "红色", "尺码": "M"}, "price": 5900, "on_hand": 3},
            {"spec": {"颜色": "红色", "尺码": "L"}, "price": 5900, "on_hand": 0},
            {"spec": {"颜色": "蓝色", "尺码": "M"}, "price": 6900, "on_hand": 3},
            {"spec": {"颜色": "蓝色", "尺码": "L"}, "price": 7900, "on_hand": 3},
            {"spec": {"颜色": "绿色", "尺码": "M"}, "price": 5900, "on_hand": 3, "active": False},
        ],
    )


def test_options_are_chips_and_the_placed_order_is_where_the_customer_looks(page, live, shop, staff, tee):
    # given a new phone on the T-shirt's share link
    page.goto(share_link(live, shop, tee))
    # then each option is a group of chips from the variants on offer, red M picked to start with
    groups = page.locator("#order-form fieldset.chips")
    expect()(groups.locator("legend")).to_have_text(["颜色", "尺码"])
    expect()(groups.nth(0).locator(".chip")).to_have_text(["红色", "蓝色"])
    expect()(chip(page, "红色").locator("input")).to_be_checked()
    # and L is sold out in red: disabled, and says so
    expect()(chip(page, "L").locator("input")).to_be_disabled()
    expect()(chip(page, "L")).to_contain_text("售罄")
    expect()(page.locator("#variant-line")).to_have_text("有货")
    keep_screenshot(page, "phone_1_chips")

    # when the customer picks blue, then L
    chip(page, "蓝色").click()
    expect()(chip(page, "L").locator("input")).to_be_enabled()
    chip(page, "L").click()
    # then the price line is blue L's
    expect()(page.locator("#price")).to_have_text("¥79.00")
    expect()(page.locator("#order-total")).to_have_text("¥79.00")
    # and the phone is asked once: the receiver's mobile is the customer's unless they untick it
    expect()(page.locator("#order-form input[type=tel]:visible")).to_have_count(1)
    page.fill("#order-form input[name=receiver]", "王小美")
    page.fill("#order-form input[name=address_phone]", "13912345678")
    fill_link_address(page)
    keep_screenshot(page, "phone_2_form")
    page.click("#order-submit")

    # then the confirmation is in view and focused, and the order is for blue L
    placed = page.locator("#placed")
    expect()(placed.locator(".order-card .card-status")).to_have_text("等待商家确认", timeout=WAIT)
    expect()(placed).to_be_in_viewport()
    expect()(placed).to_be_focused()
    keep_screenshot(page, "phone_3_placed")
    orders = staff.get("/api/v1/orders").json()["items"]
    order = staff.get(f"/api/v1/orders/{orders[0]['id']}").json()
    assert [i["variant_id"] for i in order["items"]] == [tee.variant_ids[3]]
    assert staff.get(f"/api/v1/customers/{order['customer_id']}").json()["name"] == "王小美"


def test_a_presale_option_says_so(page, live, shop, staff):
    product = make_product(live[1], shop, name="新款卫衣", options=["颜色"], presale=True, stock=0)
    page.goto(share_link(live, shop, product))
    expect()(page.locator("#variant-line")).to_have_text("预售商品：到货后发货")
    expect()(page.locator("#order-submit")).to_be_enabled()


def test_a_customer_who_introduced_themselves_in_chat_is_not_asked_for_their_phone_again(
    page, live, shop, staff, tee
):
    # given a customer who gave name and phone in the chat
    introduce(page, live, shop, name="小红", phone="13700001234")
    # when they open a product link on the same phone
    page.goto(share_link(live, shop, tee))
    # then the receiver is them already, and nothing asks who they are again
    expect()(page.locator("#order-form input[name=receiver]")).to_have_value("小红")
    expect()(page.locator("#order-form input[name=address_phone]")).to_have_value("13700001234")
    expect()(page.locator("#order-form input[name=phone]")).to_have_count(0)
    keep_screenshot(page, "phone_4_known_form")
    fill_link_address(page)
    page.click("#order-submit")
    expect()(page.locator("#placed")).to_be_focused(timeout=WAIT)
    order = staff.get("/api/v1/orders").json()["items"][0]
    assert staff.get(f"/api/v1/orders/{order['id']}").json()["address"]["phone"] == "13700001234"


def test_a_new_chat_shows_the_introduction_form_alone(page, live, shop):
    # when a new phone opens the shop link
    page.goto(f"{live[0]}/s/{shop.slug}")
    # then only the introduction form shows: no composer behind it, no earlier messages
    expect()(page.locator("#intro")).to_be_visible()
    expect()(page.locator("#composer")).to_be_hidden()
    expect()(page.locator("#earlier")).to_be_hidden()
    keep_screenshot(page, "phone_5_intro")
    # and once they introduce themselves, the composer shows, still with no earlier messages
    page.fill("#intro input[name=name]", "小红")
    page.fill("#intro input[name=phone]", "13700001234")
    page.click("#intro button[type=submit]")
    expect()(page.locator("#composer")).to_be_visible(timeout=WAIT)
    expect()(page.locator("#earlier")).to_be_hidden()
    keep_screenshot(page, "phone_6_chat")


def test_earlier_messages_are_offered_only_when_there_are_older_ones(page, live, shop, staff):
    # given a chat of exactly one page (30 messages)
    introduce(page, live, shop)
    conversation = staff.get("/api/v1/conversations").json()["items"][0]
    for n in range(30):
        customer_says(live[1], shop, conversation, f"第{n + 1}条")
    # when the customer comes back to it, there is nothing earlier to offer
    page.reload()
    expect()(page.locator("#messages li.msg")).to_have_count(30, timeout=WAIT)
    expect()(page.locator("#earlier")).to_be_hidden()
    # and with one more, the oldest waits behind "earlier messages", which shows it
    customer_says(live[1], shop, conversation, "第31条")
    page.reload()
    expect()(page.locator("#messages li.msg")).to_have_count(30, timeout=WAIT)
    page.click("#earlier")
    expect()(page.locator("#messages li.msg")).to_have_count(31, timeout=WAIT)
    expect()(page.locator("#messages li.msg .bubble").first).to_have_text("第1条")
    expect()(page.locator("#earlier")).to_be_hidden()
