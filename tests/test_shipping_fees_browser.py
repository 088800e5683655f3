"""运费模板 in Chromium on a phone: the owner makes a template on /settings/shipping, then a new
order's running total charges its fee, priced again for the province of the address recognised,
and the placed order shows that fee."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.support.browser import (  # noqa: F401 (fixtures)
    PHONE,
    browser_fixture,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    live_tee_fixture,
    open_console,
)
from tests.support.catalog import make_product
from tests.support.chat_pages import WAIT, fill_link_order, phone_context, share_link
from tests.support.chat_pages import expect as expect_later


def test_a_template_made_in_the_console_prices_a_new_order(browser, live, shop, tee):
    page = open_console(browser, live, shop, viewport=PHONE)

    # given the owner makes a template: ¥10 the first piece, ¥5 each further; 新疆 ¥20 / ¥10
    page.goto(live[0] + "/settings/shipping")
    form = page.locator("form[action='/settings/shipping']")
    form.locator("input[name=name]").fill("快递")
    form.locator("input[name=first_fee]").fill("10")
    form.locator("input[name=further_fee]").fill("5")
    rule = form.locator("details.province-rule").first
    rule.locator("summary").click()
    rule.locator("input[name=rule0_first_fee]").fill("20")
    rule.locator("input[name=rule0_further_fee]").fill("10")
    rule.locator("input[name=rule0_province][value='650000']").check()
    form.locator("button.primary").click()
    page.wait_for_url(re.compile(r"/settings/shipping\?saved=1$"))
    card = page.locator(".shipping-template").first
    expect(card).to_contain_text("快递")
    expect(card).to_contain_text("默认")
    expect(card).to_contain_text("新疆维吾尔自治区")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    keep_screenshot(page, "shipping-templates", PHONE)

    # when staff pick 3 T-shirts on a new order, with no fee typed
    page.goto(live[0] + "/orders/new")
    page.fill("input[name=pq]", "纯棉T恤")
    page.locator("#product-found [data-add-line]").first.click()
    page.fill(f"#lines tr[data-variant='{tee.variant_id}'] input[name=quantity]", "3")
    totals = page.locator("#order-totals")
    # then the running total charges the template's fee: ¥10 + 2 × ¥5
    expect(totals.locator("[data-amount=shipping_fee]")).to_have_text("¥20.00")
    expect(totals).to_contain_text("按运费模板")

    # when the address recognised is in 新疆, the fee is priced again: ¥20 + 2 × ¥10
    page.fill("textarea[name=pasted]", "王小美 13900001234 新疆乌鲁木齐市天山区解放北路1号")
    page.click("[data-recognise]")
    page.wait_for_selector("#address-fields[data-recognised]")
    expect(totals.locator("[data-amount=shipping_fee]")).to_have_text("¥40.00")
    expect(totals.locator("[data-amount=total]")).to_have_text("¥217.00")
    keep_screenshot(page, "shipping-new-order", PHONE)

    # then the placed order charges what the page showed, on its own 运费 line
    page.click("#new-order button.primary")
    page.wait_for_url(re.compile(r"/orders/\d+$"))
    amounts = page.locator(".amounts").first
    expect(amounts).to_contain_text("¥40.00")
    expect(page.locator(".amounts dd.total").first).to_have_text("¥217.00")


def test_the_customers_product_link_form_shows_the_fee_it_will_charge(browser, live, shop):
    # given the shop charges ¥10 + ¥5 per further piece, in 浙江 ¥8 + ¥3
    made = shop.api.post(
        "/api/v1/shipping-templates",
        json={
            "name": "快递",
            "first_fee": 1000,
            "further_fee": 500,
            "province_rules": [{"provinces": ["330000"], "first_fee": 800, "further_fee": 300}],
        },
    )
    assert made.status_code == 201, made.text
    product = make_product(live[1], shop, name="纯棉T恤", options=["颜色"], price=5900, stock=5)
    context = phone_context(browser)
    page = context.new_page()

    # when a customer opens the product link (one piece, no address yet), then orders 2 to 浙江
    page.goto(share_link(live, shop, product))
    fee = page.locator("#order-shipping [data-shipping-fee]")
    expect_later()(fee).to_have_text("¥10.00", timeout=WAIT)
    expect_later()(page.locator("#order-total")).to_have_text("¥69.00", timeout=WAIT)
    fill_link_order(page)  # one more piece, an address in 浙江

    # then the form shows 浙江's fee and the total with it, and the order charges the same
    expect_later()(fee).to_have_text("¥11.00", timeout=WAIT)
    expect_later()(page.locator("#order-total")).to_have_text("¥129.00", timeout=WAIT)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    keep_screenshot(page, "shipping-link-order", PHONE)
    page.click("#order-submit")
    expect_later()(page.locator("#placed")).to_be_visible(timeout=WAIT)
    orders = shop.api.get("/api/v1/orders").json()["items"]
    assert [(o["shipping_fee"], o["total"]) for o in orders] == [(1100, 12900)]
    context.close()
