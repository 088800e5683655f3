"""售后 end to end in Chromium: the customer asks for a return on their order page at phone size,
the shop approves on the order page, the customer enters the return parcel, the shop confirms it
arrived and records the refund, and the request's card in the chat reads 已退款."""

from __future__ import annotations

from tests.support.aftersales import shipped_order
from tests.support.browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    PHONE,
    browser_fixture,
    customer_phone,
    fits,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    live_tee_fixture,
    open_console,
    staff_api_fixture,
)
from tests.support.chat import Device


def test_return_asked_on_a_phone_approved_received_and_refunded(browser, live, shop, tee, staff):
    # given a customer's paid and shipped order of 2 T-shirts
    device = Device(live[0], shop.slug, "林小雨", "13900005555")
    order = shipped_order(staff, tee, device, quantity=2)
    on_hand = staff.get(f"/api/v1/products/{tee.product_id}").json()["variants"][0]["on_hand"]

    # when the customer asks for a return and refund on their phone
    phone = customer_phone(browser, live, device)
    phone.goto(f"{live[0]}/s/{shop.slug}/orders/{order['id']}")
    phone.click("#aftersales .aftersale-open")
    phone.check("#aftersales input[name=kind][value=return_refund]")
    phone.select_option("#aftersales .aftersale-reason", "quality")
    phone.fill("#aftersales textarea[name=note]", "袖口开线了")
    fits(phone)
    phone.click("#aftersales .aftersale-form button.primary")
    # then the page shows the request waiting for the shop
    phone.wait_for_selector("#aftersales .aftersale-item[data-status=requested]:has-text('等待商家处理')")
    fits(phone)
    keep_screenshot(phone, "aftersale-requested", PHONE)

    # when the shop approves it on the order page
    desk = open_console(browser, live, shop, viewport=DESKTOP)
    desk.goto(f"{live[0]}/orders/{order['id']}")
    desk.wait_for_selector("#order-aftersales .aftersale-decide")
    assert "袖口开线了" in desk.inner_text("#order-aftersales")
    desk.fill("#order-aftersales input[name=message]", "请寄回，收到后退款")
    desk.click("#order-aftersales .aftersale-decide button.primary")
    desk.wait_for_selector("#order-aftersales .aftersale-arrived")

    # then the customer is asked for the return parcel, and enters it
    phone.reload()
    phone.wait_for_selector("#aftersales .aftersale-return")
    assert "请寄回，收到后退款" in phone.inner_text("#aftersales")
    phone.select_option("#aftersales .aftersale-return select", "ZTO")
    phone.fill("#aftersales .aftersale-return input[name=tracking_number]", "ZT7788990011")
    phone.click("#aftersales .aftersale-return button")
    phone.wait_for_selector("#aftersales .aftersale-next:has-text('商家收到包裹后')")
    fits(phone)
    # ... and, back in the chat, reads the request's card
    phone.goto(f"{live[0]}/s/{shop.slug}")
    phone.wait_for_selector(".aftersale-card .aftersale-status:has-text('已同意，请寄回商品')")

    # when the shop confirms the parcel arrived (back into stock) and records the refund
    desk.reload()
    desk.wait_for_selector("#order-aftersales .aftersale-return:has-text('ZT7788990011')")
    desk.click("#order-aftersales .aftersale-arrived button.primary")
    desk.wait_for_selector("#order-aftersales .aftersale-refund")
    desk.click("#order-aftersales .aftersale-refund button.primary")
    desk.wait_for_selector("#order-aftersales .aftersale-status:has-text('已退款')")
    keep_screenshot(desk, "aftersale-refunded", DESKTOP)

    # then the money and the stock are back
    assert staff.get(f"/api/v1/orders/{order['id']}").json()["refunded_amount"] == 2 * 5900
    assert staff.get(f"/api/v1/products/{tee.product_id}").json()["variants"][0]["on_hand"] == on_hand + 2
    # ... and the request's card in the customer's open chat has redrawn live: 已退款
    phone.wait_for_selector(".aftersale-card .aftersale-status:has-text('已退款')")
    fits(phone)
    keep_screenshot(phone, "aftersale-card-refunded", PHONE)
