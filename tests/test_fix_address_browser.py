"""The shop page's address step in Chromium, on a 390 px phone: a device nobody vouched for picks a
saved address it did not type by who and which city only (the street never reaches the page) and
orders to it; and when the regions list does not load, the picker says so and tries again.

Set ``SHANGLIAO_SHOTS`` to a folder to keep a screenshot of each step."""

from __future__ import annotations

import pytest

from tests.support.browser import (  # noqa: F401 (fixtures)
    browser_fixture,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
)
from tests.support.catalog import make_white_tee
from tests.support.chat_pages import (
    WAIT,
    customer_fixture,  # noqa: F401 (fixture)
    expect,
    introduce,
    share_link,
)
from tests.support.orders import OWNER_ADDRESS


@pytest.fixture
def link(live, shop) -> str:
    return share_link(live, shop, make_white_tee(live[1], shop))


def test_a_device_nobody_vouched_for_orders_to_a_masked_saved_address(customer, live, shop, link):
    # given a device that introduced itself with a number the shop did not know, and staff who then
    # saved the real owner's address on that customer
    introduce(customer, live, shop, name="李真", phone="13700009999")
    [row] = shop.api.get("/api/v1/customers").json()["items"]
    r = shop.api.post(f"/api/v1/customers/{row['id']}/addresses", json={**OWNER_ADDRESS, "is_default": True})
    assert r.status_code == 201, r.text

    # when the device opens a product link and goes on to the address step
    customer.goto(link)
    customer.click("#order-form button[data-step='1']")

    # then the saved address is picked, shown by who and which city only, and the fields are hidden
    form = customer.locator("#order-form")
    choice = form.locator(".address-choice").first
    expect()(choice.locator("input")).to_be_checked()
    expect()(choice).to_contain_text("136****5555")
    expect()(choice).to_contain_text("上海市 徐汇区")
    expect()(form.locator("[data-address-fields]")).to_be_hidden()
    assert "漕溪北路88号" not in customer.content()
    keep_screenshot(customer, "fix_address_masked_choice")

    # and "another address" brings the fields back, the saved one hides them again
    form.locator(".address-choice", has_text="填写新地址").click()
    expect()(form.locator("input[name=detail]")).to_be_visible()
    choice.click()
    expect()(form.locator("[data-address-fields]")).to_be_hidden()

    # when they order with it
    customer.click("#order-submit")

    # then the order is placed, and the shop has the whole address on it
    expect()(customer.locator("#placed .order-card .card-status")).to_have_text("等待商家确认", timeout=WAIT)
    [order] = shop.api.get("/api/v1/orders").json()["items"]
    address = shop.api.get(f"/api/v1/orders/{order['id']}").json()["address"]
    assert {k: address[k] for k in OWNER_ADDRESS} == OWNER_ADDRESS


def test_a_regions_list_that_does_not_load_is_said_and_tried_again(customer, live, shop, link):
    # given a phone whose requests for the regions list fail
    customer.route("**/api/v1/public/regions*", lambda route: route.abort())

    # when it opens a product link and goes on to the address step
    customer.goto(link)
    customer.click("#order-form button[data-step='1']")

    # then the picker says in Chinese that the list did not load, with a way to try again
    note = customer.locator("#order-form [data-region-error]")
    expect()(note).to_be_visible(timeout=WAIT)
    expect()(note).to_contain_text("省市区列表加载失败")
    keep_screenshot(customer, "fix_address_regions_failed")

    # when the connection is back and they tap 重试
    customer.unroute("**/api/v1/public/regions*")
    note.get_by_role("button", name="重试").click()

    # then the provinces are there to pick, and the note is gone
    province = customer.locator("#order-form select[name=province]")
    expect()(province.locator("option", has_text="浙江省")).to_have_count(1, timeout=WAIT)
    expect()(note).to_be_hidden()
