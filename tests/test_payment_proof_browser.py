"""Payment proof end to end in Chromium: the customer, on a phone, sends a screenshot of their
payment from the order page; the merchant, on a desktop, records the payment from it on the order
page in one step; the customer's page says 已付款 by itself, and the proof reads confirmed."""

from __future__ import annotations

import re

from PIL import Image

from tests.support.browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    PHONE,
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    live_tee_fixture,
    open_console,
)
from tests.support.chat_pages import WAIT, expect, introduce, phone_context
from tests.support.orders import make_order

SHOTS = "/tmp/h4"


def test_a_proof_sent_on_a_phone_is_recorded_on_the_desktop_and_the_phone_shows_paid(
    browser, live, shop, tee, tmp_path
):
    # given the customer on their phone has introduced themselves, and the shop made their order
    customer = phone_context(browser).new_page()
    introduce(customer, live, shop, name="小绿", phone="13700002468")
    conversation = shop.api.get("/api/v1/conversations").json()["items"][0]
    order = make_order(shop, [(tee.variant_id, 2)], customer_id=conversation["customer_id"])

    # when the customer opens the order and sends a screenshot of the transfer
    customer.goto(f"{live[0]}/s/{shop.slug}/orders/{order['id']}")
    form = customer.locator("#proof-form")
    expect()(form).to_be_visible(timeout=WAIT)
    shot = tmp_path / "转账截图.jpg"
    Image.new("RGB", (390, 800), (30, 170, 90)).save(shot, "JPEG")
    form.locator("input[type=file]").set_input_files(str(shot))
    form.locator("input[name=note]").fill("已转账，请查收")
    form.locator("button[type=submit]").click()
    expect()(customer.locator(".proof-item.proof-pending")).to_have_count(1, timeout=WAIT)
    # (at phone width nothing runs off the screen)
    assert customer.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    customer.screenshot(path=f"{SHOTS}/shop-proof-sent.png", full_page=True)

    # then the merchant sees it on the order page, with the amount owed proposed
    staff = open_console(browser, live, shop, viewport=DESKTOP)
    staff.goto(f"{live[0]}/orders/{order['id']}")
    money = staff.locator(".order-money[data-loaded]")
    expect()(money.locator("[data-proof] img.proof-photo")).to_be_visible(timeout=WAIT)
    money.locator("[data-proof] button[data-open^=proof-record]").click()
    dialog = staff.locator("dialog[open]")
    expect()(dialog.locator("input[name=amount]")).to_have_value(f"¥{order['total'] / 100:,.2f}")
    dialog.locator("input[name=reference]").fill("420000123456")
    staff.screenshot(path=f"{SHOTS}/console-proof-record.png")

    # when they record it, in one step
    dialog.locator("button.primary").click()
    expect()(staff.locator(".order-money [data-payment-status]")).to_have_attribute(
        "data-payment-status", "paid", timeout=WAIT
    )
    # and the whole order says so, the timeline too (the page redraws on the order's event)
    expect()(staff.locator("#order-detail dl.amounts").first).to_contain_text("已付款", timeout=WAIT)
    expect()(staff.locator("#order-detail .timeline")).to_contain_text("付款凭证已入账", timeout=WAIT)
    expect()(staff.locator(".order-money [data-proof] .badge")).to_have_text(re.compile("已入账"))
    staff.screenshot(path=f"{SHOTS}/console-proof-recorded.png", full_page=True)

    # then the customer's page says 已付款 by itself, and their proof reads confirmed
    expect()(customer.locator("#pay .pay-done")).to_have_text("已付款", timeout=WAIT)
    expect()(customer.locator(".proof-item.proof-recorded")).to_have_count(1, timeout=WAIT)
    expect()(customer.locator("#proof-form")).to_be_hidden()
    customer.screenshot(path=f"{SHOTS}/shop-proof-paid.png", full_page=True)

    # and a colleague on a phone reads the same section without scrolling sideways
    phone = open_console(browser, live, shop, viewport=PHONE)
    phone.goto(f"{live[0]}/orders/{order['id']}")
    expect()(phone.locator(".order-money[data-loaded] [data-payment]")).to_have_count(1, timeout=WAIT)
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.screenshot(path=f"{SHOTS}/console-money-phone.png", full_page=True)
