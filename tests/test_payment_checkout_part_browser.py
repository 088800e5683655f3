"""On a phone, a payment request for part of what is owed shows and pays that part (bank transfer
amount and WeChat Pay QR), while the order page keeps offering everything owed."""

from __future__ import annotations

from tests import test_payment_checkout_browser as checkout_browser
from tests.support.browser import (  # noqa: F401 (fixtures)
    PHONE,
    browser_fixture,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
)
from tests.support.catalog import make_product
from tests.support.chat_pages import (
    WAIT,
    customer_fixture,  # noqa: F401 (fixture)
    expect,
    introduce,
)
from tests.support.fake_providers import configure_methods
from tests.support.orders import make_order

fake = checkout_browser.fake


def test_a_card_for_part_of_the_money_shows_and_pays_that_part(customer, live, shop, fake):
    # given a shop taking WeChat Pay and bank transfer, and a customer owing ¥118 chatting on a phone
    configure_methods(live[1], shop.id, kinds=("wechat", "bank"), static_codes=False)
    introduce(customer, live, shop)
    conversation_id = shop.api.get("/api/v1/conversations").json()["items"][0]["id"]
    customer_id = shop.api.get(f"/api/v1/conversations/{conversation_id}").json()["customer_id"]
    tee = make_product(live[1], shop, name="纯棉T恤", price=5900, stock=5)
    order = make_order(shop, [(tee.variant_id, 2)], customer_id=customer_id)

    # when the shop asks for a ¥50 deposit and the customer opens the card
    sent = shop.api.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"kind": "payment_request", "order_id": order["id"], "amount": 5000, "body": "先付定金"},
    )
    assert sent.status_code == 201, sent.text
    card = customer.locator("#messages .pay-card")
    card.locator(".pay-toggle").click(timeout=WAIT)

    # then the bank transfer is for ¥50.00, not the ¥118.00 owed
    bank = card.locator(".pay-method[data-kind=bank]")
    expect()(bank).to_contain_text("¥50.00", timeout=WAIT)
    expect()(bank).not_to_contain_text("¥118.00")

    # when the customer taps WeChat Pay on the card
    card.locator(".pay-native[data-kind=wechat]").click()

    # then the QR is for ¥50.00, asked of the provider for 5000 fen
    expect()(card.locator(".pay-method[data-kind=wechat] .pay-qr")).to_contain_text("¥50.00", timeout=WAIT)
    assert fake.requests[-1]["body"]["amount"]["total"] == 5000
    keep_screenshot(customer, "payment-checkout-part-card", PHONE)

    # when the customer opens the order page
    order_page = customer.context.new_page()
    order_page.goto(f"{live[0]}/s/{shop.slug}/orders/{order['id']}")

    # then it offers everything owed
    expect()(order_page.locator("#pay .pay-method[data-kind=bank]")).to_contain_text("¥118.00", timeout=WAIT)
    order_page.close()
