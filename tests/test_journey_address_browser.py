"""A chat-born order gets an address and reaches the customer's phone as shipped, in Chromium: the
customer (a 390 px phone) asks in the chat and writes their address there; the merchant (a 1366 px
desk) turns the message into a draft, takes "the address from the chat", submits, confirms and
ships it; the customer's order card follows. The 修改地址 dialog's province → city → district
picker stays open while it fills, a refusal names its fields in Chinese, and a product-link
order's address comes back, filled in, on the customer's next order form.

Set ``SHANGLIAO_SHOTS`` to a folder to keep a screenshot of each step."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import (  # noqa: F401 (fixtures)
    browser_fixture,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    open_console,
)
from tests.support.catalog import make_white_tee
from tests.support.chat_pages import (
    WAIT,
    customer_fixture,  # noqa: F401 (fixture)
    expect,
    fill_link_order,
    introduce,
    open_chat,
    share_link,
    ship_unpaid_from_panel,
    wait_for_shop_socket,
)
from tests.support.orders import make_order

DESK = {"width": 1366, "height": 900}
CHAT_ADDRESS = "王小美 13912345678 浙江省杭州市西湖区文三路100号华星大厦5楼"


@pytest.fixture
def staff(browser, live, shop):
    page = open_console(browser, live, shop, viewport=DESK)
    yield page
    page.context.close()


@pytest.fixture
def tee(live, shop):
    return make_white_tee(live[1], shop)


def customer_says(customer, text: str) -> None:
    """Sent from the shop page's composer; waits until the server has acknowledged it."""
    customer.fill("#compose-text", text)
    customer.press("#compose-text", "Enter")
    sent = customer.locator("#messages li.from-customer:not(.pending) .bubble", has_text=text)
    expect()(sent).to_have_count(1, timeout=WAIT)


def only_conversation(shop) -> int:
    [conversation] = shop.api.get("/api/v1/conversations").json()["items"]
    return conversation["id"]


def test_a_chat_born_order_takes_the_chat_address_and_ships_to_the_customers_phone(
    customer, staff, live, shop, tee
):
    # given a customer who asks for a shirt in the chat and then writes their address there
    introduce(customer, live, shop, name="王小美", phone="13900001111")
    customer_says(customer, "你好，我要一件纯棉T恤 白色")
    customer_says(customer, CHAT_ADDRESS)

    # when the merchant turns the request into a draft and opens it
    open_chat(staff, live, only_conversation(shop))
    offer = staff.locator("#chat-list .msg", has_text="我要一件纯棉T恤").locator(".draft-from-message")
    expect()(offer).to_have_count(1, timeout=WAIT)
    offer.click()
    expect()(staff.locator("#draft-lines tr")).to_have_count(1)
    staff.click("#draft-form button.primary")
    staff.locator("#toast a", has_text="去完善").click()
    staff.wait_for_url(re.compile(r"/orders/\d+$"))
    order_id = int(staff.url.rsplit("/", 1)[1])

    # then the draft offers the address from the chat; taking it fills the dialog's fields
    staff.get_by_role("button", name="使用聊天中的地址").click()
    dialog = staff.locator("#address-dialog")
    expect()(dialog.locator("select[name=district_code]")).to_have_value("330106", timeout=WAIT)
    expect()(dialog.locator("select[name=province_code]")).to_have_value("330000")
    expect()(dialog.locator("select[name=city_code]")).to_have_value("330100")
    expect()(dialog.locator("input[name=receiver]")).to_have_value("王小美")
    expect()(dialog.locator("input[name=phone]")).to_have_value("13912345678")
    expect()(dialog.locator("input[name=detail]")).to_have_value("文三路100号华星大厦5楼")
    expect()(dialog.locator(".address-choice.choice-chat input")).to_be_checked()
    # and no load failure is claimed while the lists are there
    expect()(dialog.locator("[data-region-error]")).to_be_hidden()
    keep_screenshot(staff, "address_draft_chat_address")

    # when the merchant saves it and submits the draft
    dialog.locator("button.primary").click()
    # (masked on the page until 显示, which reads it in full: customers/reveal.py)
    expect()(staff.locator("#order-detail p.address")).to_contain_text(
        "浙江省杭州市西湖区 ****", timeout=WAIT
    )
    staff.locator("#order-detail p.address + .reveal [data-reveal]").click()
    expect()(staff.locator("#order-detail p.address")).to_contain_text("文三路100号华星大厦5楼", timeout=WAIT)
    staff.locator(f"#order-detail form[action='/orders/{order_id}/do/submit'] button").click()

    # then the order is pending
    expect()(staff.locator("#order-detail")).to_have_attribute("data-status", "pending", timeout=WAIT)
    assert shop.api.get(f"/api/v1/orders/{order_id}").json()["address"]["receiver"] == "王小美"

    # when the merchant sends its card in the chat, confirms it and ships it from the side panel
    open_chat(staff, live, only_conversation(shop))
    panel_order = staff.locator(f"#inbox-panel .panel-order[data-order-id='{order_id}']")
    panel_order.locator("[data-send-order=card]").click()
    wait_for_shop_socket(customer)
    card = customer.locator(f"#messages li.kind-order_card .order-card[data-order='{order_id}']").last
    expect()(card.locator(".card-status")).to_have_text("等待商家确认", timeout=WAIT)
    panel_order.locator("[data-order-action=confirm]").click()
    expect()(card.locator(".card-status")).to_have_text("已确认", timeout=WAIT)
    panel_order = staff.locator(f"#inbox-panel .panel-order[data-order-id='{order_id}']")
    ship_unpaid_from_panel(staff, panel_order)  # paid on delivery: asked once, ticked

    # then the customer's card on their phone says shipped, with the tracking number
    expect()(card.locator(".card-status")).to_have_text("已发货", timeout=WAIT)
    expect()(card.locator("a.track")).to_contain_text("SF1234567890", timeout=WAIT)
    keep_screenshot(customer, "address_customer_shipped")
    assert shop.api.get(f"/api/v1/orders/{order_id}").json()["status"] == "shipped"


def test_the_address_dialog_stays_open_as_its_pickers_fill_and_refusals_name_fields_in_chinese(
    staff, live, shop, tee
):
    # given a draft without an address, its 修改地址 dialog open
    draft = make_order(shop, [(tee.variant_id, 1)], address=None, draft=True)
    staff.goto(f"{live[0]}/orders/{draft['id']}")
    staff.click("button[data-open=address-dialog]")
    dialog = staff.locator("#address-dialog")

    # when a province is picked
    dialog.locator("select[name=province_code]").select_option(label="浙江省")

    # then the dialog stays open and the city picker fills with its cities, still one select
    city = dialog.locator("select[name=city_code]")
    expect()(city.locator("option", has_text="杭州市")).to_have_count(1, timeout=WAIT)
    expect()(dialog).to_be_visible()
    assert dialog.locator("select").count() == 3
    assert dialog.locator(".region-picker > option").count() == 0

    # and a city fills the districts
    city.select_option(label="杭州市")
    district = dialog.locator("select[name=district_code]")
    expect()(district.locator("option", has_text="西湖区")).to_have_count(1, timeout=WAIT)
    district.select_option(label="西湖区")
    keep_screenshot(staff, "address_dialog_pickers")

    # when it is saved without a mobile and a street
    dialog.locator("input[name=receiver]").fill("王五")
    dialog.locator("button.primary").click()

    # then the refusal names those fields in Chinese, and the draft has no address still
    expect()(staff.get_by_text("订单信息不完整或有误：手机号、详细地址。")).to_be_visible(timeout=WAIT)
    keep_screenshot(staff, "address_dialog_refusal")
    assert shop.api.get(f"/api/v1/orders/{draft['id']}").json()["address"] is None


def test_a_product_link_address_is_saved_once_and_filled_in_on_the_next_order_form(customer, live, shop, tee):
    link = share_link(live, shop, tee)

    # given a customer who ordered from a product link, picking the region on their phone
    customer.goto(link)
    fill_link_order(customer, name="李小红")
    customer.click("#order-submit")
    expect()(customer.locator("#placed .order-card .card-status")).to_have_text("等待商家确认", timeout=WAIT)

    # when they open the link again
    customer.goto(link)

    # then the form offers the saved address and has it filled in, regions picked
    saved = customer.locator("#order-form .address-choice")
    expect()(saved).to_have_count(1)
    expect()(saved).to_contain_text("文三路100号")
    expect()(saved.locator("input")).to_be_checked()
    form = customer.locator("#order-form")
    expect()(form.locator("select[name=district]")).to_have_value("西湖区", timeout=WAIT)
    expect()(form.locator("select[name=province]")).to_have_value("浙江省")
    expect()(form.locator("select[name=city]")).to_have_value("杭州市")
    expect()(form.locator("input[name=detail]")).to_have_value("文三路100号")
    expect()(form.locator("input[name=receiver]")).to_have_value("张三")
    keep_screenshot(customer, "address_form_prefilled")

    # when they order again with it as it is
    customer.click("#order-submit")
    expect()(customer.locator("#placed .order-card .card-status")).to_have_text("等待商家确认", timeout=WAIT)

    # then their record holds that address once
    [customer_row] = shop.api.get("/api/v1/customers").json()["items"]
    addresses = shop.api.get(f"/api/v1/customers/{customer_row['id']}").json()["addresses"]
    assert [(a["receiver"], a["detail"]) for a in addresses] == [("张三", "文三路100号")]
