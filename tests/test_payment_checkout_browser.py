"""The customer pays from the chat on a phone: the payment-request card opens to the bank details
(with the order number for the transfer note) and the shop's 收款码, WeChat Pay draws a QR of the
fake provider's code_url, and once the shop records the money the card and the order page say
已付款 without a reload. Staff see on their card which ways of paying were offered."""

from __future__ import annotations

import hashlib
import io

import pytest
import segno

from shangliao.chat.attachments import shop_folder
from shangliao.payments.methods import find_method
from tests.support.browser import (  # noqa: F401 (fixtures)
    PHONE,
    browser_fixture,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    open_console,
)
from tests.support.catalog import make_product
from tests.support.chat_pages import (
    WAIT,
    customer_fixture,  # noqa: F401 (fixture)
    expect,
    introduce,
    open_chat,
)
from tests.support.fake_providers import BANK, configure_methods, fake_providers, point_settings_at
from tests.support.orders import make_order


@pytest.fixture
def fake(live):
    settings = live[1].settings
    with fake_providers() as providers:
        old = point_settings_at(settings, providers)
        yield providers
        for name, value in old.items():
            setattr(settings, name, value)


def place_static_code(runtime, shop_id: int, kind: str) -> None:
    """The 收款码 picture the merchant uploaded, on disk where the settings keep it, with its digest."""
    buffer = io.BytesIO()
    segno.make("wxp://f2f0static-code-of-the-shop").save(buffer, kind="png", scale=4)
    picture = buffer.getvalue()
    with runtime.db.write() as session:
        method = find_method(session, shop_id, kind)
        code = {**method.settings["static_code"], "sha256": hashlib.sha256(picture).hexdigest()}
        method.settings = {**method.settings, "static_code": code}
    path = shop_folder(runtime.settings.uploads_dir, shop_id) / code["key"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(picture)


@pytest.fixture
def staff(browser, live, shop):
    page = open_console(browser, live, shop)
    yield page
    page.context.close()


def test_the_customer_pays_from_the_payment_request_card(customer, staff, live, shop, fake):
    # given a shop taking WeChat Pay, Alipay and bank transfer, and a customer chatting on a phone
    configure_methods(live[1], shop.id)
    for kind in ("wechat", "alipay"):
        place_static_code(live[1], shop.id, kind)
    introduce(customer, live, shop)
    conversation_id = shop.api.get("/api/v1/conversations").json()["items"][0]["id"]
    customer_id = shop.api.get(f"/api/v1/conversations/{conversation_id}").json()["customer_id"]
    tee = make_product(live[1], shop, name="纯棉T恤", price=5900, stock=5)
    order = make_order(shop, [(tee.variant_id, 2)], customer_id=customer_id)
    open_chat(staff, live, conversation_id)

    # when the shop sends the order's card and a payment request
    for kind, body in (("order_card", "您的订单"), ("payment_request", "麻烦付一下款")):
        sent = shop.api.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"kind": kind, "order_id": order["id"], "body": body},
        )
        assert sent.status_code == 201, sent.text

    # then the staff's card names the ways of paying the customer was offered
    expect()(staff.locator("#chat-list .card-payment .card-methods")).to_have_text(
        "已提供的付款方式：微信支付、支付宝、银行转账", timeout=WAIT
    )

    # when the customer opens the payment request on the phone (the order's card offers the same)
    order_card = customer.locator("#messages .order-card[data-order]")
    customer.reload()  # the order's card knows it is unpaid from the customer's orders, read at start
    expect()(order_card.locator(".pay-toggle")).to_be_visible(timeout=WAIT)
    card = customer.locator("#messages .pay-card")
    card.locator(".pay-toggle").click()

    # then it shows the bank account, the amount and the order number to write in the transfer note
    bank = card.locator(".pay-method[data-kind=bank]")
    expect()(bank).to_contain_text(BANK["account_number"], timeout=WAIT)
    expect()(bank).to_contain_text(BANK["account_name"])
    expect()(bank).to_contain_text("¥118.00")
    expect()(bank.locator("dd", has_text=order["number"])).to_be_visible()
    # and the shop's 收款码 image
    static = card.locator(".pay-method[data-kind=wechat] img.pay-static")
    expect()(static).to_be_visible()
    assert "/api/payment-codes/wechat" in static.get_attribute("src")
    customer.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=static.element_handle())

    # when the customer taps WeChat Pay
    card.locator(".pay-native[data-kind=wechat]").click()

    # then a QR drawn by the server from the provider's code_url appears, for what is owed
    qr = card.locator(".pay-qr-code svg")
    expect()(qr).to_be_visible(timeout=WAIT)
    expect()(card.locator(".pay-method[data-kind=wechat] .pay-qr")).to_contain_text("¥118.00")
    (code_url,) = fake.answered
    expected = segno.make(code_url, error="m").svg_inline(
        scale=1, border=4, omitsize=True, dark="#000", light="#fff"
    )
    drawn = qr.locator("path.qrline").get_attribute("d")
    assert drawn and f'd="{drawn}"' in expected
    box = qr.bounding_box()
    assert box and box["width"] >= 150 and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    keep_screenshot(customer, "payment-checkout-card", PHONE)

    # when the customer also opens the order page, and the shop records the money
    order_page = customer.context.new_page()
    order_page.goto(f"{live[0]}/s/{shop.slug}/orders/{order['id']}")
    expect()(order_page.locator("#pay .pay-method[data-kind=bank]")).to_contain_text(order["number"])
    keep_screenshot(order_page, "payment-checkout-order", PHONE)
    paid = shop.api.post(
        f"/api/v1/orders/{order['id']}/payments", json={"method": "bank_transfer", "amount": 11800}
    )
    assert paid.status_code in (200, 201), paid.text

    # then the card and the order page give way to 已付款, without a reload
    expect()(card.locator(".pay-done")).to_have_text("已付款", timeout=WAIT)
    expect()(card.locator(".pay-method")).to_have_count(0)
    expect()(card.locator(".pay-toggle")).to_be_hidden()
    expect()(order_card.locator(".pay-toggle")).to_be_hidden()
    expect()(order_page.locator("#pay .pay-done")).to_have_text("已付款", timeout=WAIT)
    expect()(order_page.locator("#pay .pay-method")).to_have_count(0)
