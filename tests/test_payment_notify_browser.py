"""In Chromium: WeChat Pay's verified notification pays an order while its page is open in the
console and its card is open on the customer's phone: both say 已付款 without a reload, and the
timeline names 微信支付通知 as who recorded it."""

from __future__ import annotations

import httpx

from tests.support import provider_notify as pn
from tests.support.browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    PHONE,
    browser_fixture,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    live_tee_fixture,
    open_console,
)
from tests.support.chat_pages import WAIT, expect, introduce, phone_context
from tests.support.orders import make_order


def test_a_wechat_notification_shows_paid_live_on_both_sides(browser, live, shop, tee):
    # given a shop taking WeChat Pay, a customer chatting on a phone, and their order's card sent
    url, runtime, _app = live
    pn.configure_all(runtime, shop.id)
    customer = phone_context(browser).new_page()
    introduce(customer, live, shop, name="小蓝", phone="13700009876")
    conversation = shop.api.get("/api/v1/conversations").json()["items"][0]
    order = make_order(shop, [(tee.variant_id, 2)], customer_id=conversation["customer_id"])
    sent = shop.api.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        json={"kind": "order_card", "order_id": order["id"], "body": "您的订单"},
    )
    assert sent.status_code == 201, sent.text
    card = customer.locator(f"#messages .order-card[data-order='{order['id']}']")
    expect()(card).to_be_visible(timeout=WAIT)
    # and the customer's order page in a second tab, the merchant's order page on a desktop
    order_page = customer.context.new_page()
    order_page.goto(f"{url}/s/{shop.slug}/orders/{order['id']}")
    expect()(order_page.locator("#pay")).to_be_visible(timeout=WAIT)
    staff = open_console(browser, live, shop, viewport=DESKTOP)
    staff.goto(f"{url}/orders/{order['id']}")
    expect()(staff.locator("#order-detail")).to_be_visible(timeout=WAIT)
    staff.evaluate("() => { window.stillThisPage = true; }")  # gone if the page reloads
    trade_no = pn.open_attempt(runtime, shop.id, order["id"], "wechat", order["total"])

    # when WeChat Pay notifies the payment (the test signs it as WeChat does)
    signed = pn.wechat_sign(pn.wechat_payment(trade_no, order["total"]))
    r = httpx.post(url + pn.url(shop.slug, "wechat"), content=signed.body, headers=signed.all_headers())
    assert r.status_code == 200, r.text

    # then the merchant's page says 已付款 without a reload, and who recorded it
    expect()(staff.locator("#order-detail dl.amounts").first).to_contain_text("已付款", timeout=WAIT)
    expect()(staff.locator("#order-detail .timeline")).to_contain_text("微信支付通知", timeout=WAIT)
    assert staff.evaluate("() => window.stillThisPage === true")
    # and the customer's card and order page say so too
    expect()(card).to_have_attribute("data-payment-status", "paid", timeout=WAIT)
    expect()(order_page.locator("#pay .pay-done")).to_have_text("已付款", timeout=WAIT)
    keep_screenshot(staff, "payment-notify-console", DESKTOP)
    keep_screenshot(order_page, "payment-notify-shop-order", PHONE)

    # and finance reads it in 支付通知, on a phone too, without scrolling sideways
    phone = open_console(browser, live, shop, viewport=PHONE)
    phone.goto(f"{url}/payments/notifications")
    row = phone.locator(".payment-log-row[data-outcome=applied]")
    expect()(row).to_have_count(1, timeout=WAIT)
    expect()(row).to_contain_text(order["number"])
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    keep_screenshot(phone, "payment-notify-log", PHONE)
