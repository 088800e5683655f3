"""发票 end to end in Chromium: the customer asks for an invoice on their order page at phone size,
finance marks it issued on the order page on a desktop, the customer reads the number."""

from __future__ import annotations

import re

from tests.support.browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    PHONE,
    browser_fixture,
    customer_phone,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    live_tee_fixture,
    staff_api_fixture,
)
from tests.support.chat import Device
from tests.support.orders import ADDRESS
from tests.support.team import MEMBER_PASSWORD, make_member

TAX_ID = "91330106MA2AXXXX1Q"


def sign_in(browser, live, username: str):
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP)
    page = context.new_page()
    page.goto(live[0] + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", MEMBER_PASSWORD)
    page.click("form[action='/login'] button")
    page.wait_for_url(re.compile(r"/dashboard$"))  # finance reads the figures: 工作台 is their home
    return page


def test_the_customer_asks_finance_issues_the_customer_reads_the_number(browser, live, shop, tee, staff):
    # given a customer's paid order
    device = Device(live[0], shop.slug, "王小满", "13900004444")
    r = staff.post(
        "/api/v1/orders",
        json={
            "items": [{"variant_id": tee.variant_id, "quantity": 1}],
            "customer_id": device.customer_id,
            "address": ADDRESS,
        },
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert staff.post(
        f"/api/v1/orders/{order['id']}/payments", json={"method": "wechat", "amount": order["total"]}
    )
    phone = customer_phone(browser, live, device)
    phone.goto(f"{live[0]}/s/{shop.slug}/orders/{order['id']}")

    # when the customer asks for a company invoice on their phone, first with a tax id too short
    phone.click("#invoice .invoice-open")
    phone.check("#invoice input[name=title_type][value=company]")
    phone.fill("#invoice input[name=title]", "杭州小满贸易有限公司")
    phone.fill("#invoice input[name=tax_id]", "9133")
    phone.fill("#invoice input[name=email]", "xiaoman@example.com")
    phone.click("#invoice .invoice-form button")
    # then the refusal says what is wrong, in Chinese, and nothing is asked yet
    phone.wait_for_selector("#invoice .invoice-error:has-text('税号是 15 到 20 位数字或大写字母')")
    phone.fill("#invoice input[name=tax_id]", TAX_ID.lower())
    phone.click("#invoice .invoice-form button")
    # and once it is right, the page says it was asked for, and the form fits the phone
    phone.wait_for_selector("#invoice[data-invoice-status=requested] .invoice-state:has-text('已申请')")
    assert TAX_ID in phone.inner_text("#invoice .invoice-title")
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the order page scrolls sideways ({width}px)"
    keep_screenshot(phone, "invoice-requested", PHONE)

    # when finance opens the order on a desktop, filtered to 待开票
    member = make_member(live[1], shop, role="finance")
    desk = sign_in(browser, live, member.username)
    desk.goto(f"{live[0]}/orders?tab=all&invoice=requested")
    desk.click(f"text={order['number']}")
    desk.wait_for_selector("#order-invoice")
    # then finance reads the email and tax id it sends the invoice with (invoices.manage, no
    # customers.pii needed), and marks it issued
    card = desk.inner_text("#order-invoice")
    assert "杭州小满贸易有限公司" in card and "xiaoman@example.com" in card and TAX_ID in card
    desk.fill("#order-invoice input[name=invoice_number]", "25332000000012345678")
    desk.click("#order-invoice .invoice-issue button")
    desk.wait_for_selector(
        "#order-invoice[data-invoice-status=issued] .invoice-number:has-text('25332000000012345678')"
    )
    assert "已开票" in desk.inner_text(".timeline")
    keep_screenshot(desk, "invoice-issued", DESKTOP)

    # then the customer's order page, still open, reads the number without a reload, and may no
    # longer change the request
    phone.wait_for_selector(
        "#invoice[data-invoice-status=issued] .invoice-number:has-text('25332000000012345678')",
        timeout=45_000,  # the page re-reads a waiting request at most every 30 s
    )
    assert phone.is_hidden("#invoice .invoice-change") and phone.is_hidden("#invoice .invoice-open")
