"""Fixes from the issue 13 walkthrough, in Chromium at phone size: the return parcel reads as sent
with 修改 reopening the form, and an order card in the chat shows its 运费 line."""

from __future__ import annotations

from tests.support.aftersales import RETURN, shipped_order
from tests.support.browser import (  # noqa: F401 (fixtures)
    browser_fixture,
    customer_phone,
    fits,
    live_fixture,
    live_shop_fixture,
    live_tee_fixture,
    staff_api_fixture,
)
from tests.support.chat import Device
from tests.support.orders import ADDRESS


def placed(staff, device: Device, tee, **fields) -> dict:
    body = {"items": [{"variant_id": tee.variant_id, "quantity": 2}], "customer_id": device.customer_id}
    r = staff.post("/api/v1/orders", json={**body, "address": ADDRESS, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def test_a_sent_return_reads_as_sent_and_can_be_changed(browser, live, shop, tee, staff):
    # given a shipped order whose return the shop approved, and the customer sent the parcel
    device = Device(live[0], shop.slug, "寄回客", "13900008888")
    order = shipped_order(staff, tee, device, quantity=2)
    lines = [{"order_item_id": order["items"][0]["id"], "quantity": 2}]
    r = device.http.post(
        f"/s/{shop.slug}/api/orders/{order['id']}/aftersales",
        json={"kind": "return_refund", "reason": "size", "lines": lines},
    )
    assert r.status_code == 201, r.text
    asked = r.json()
    assert staff.post(f"/api/v1/aftersales/{asked['id']}/approve", json={}).status_code == 200
    r = device.http.post(f"/s/{shop.slug}/api/aftersales/{asked['id']}/return", json=RETURN)
    assert r.status_code == 200, r.text
    # when the customer opens the order page
    phone = customer_phone(browser, live, device)
    phone.goto(f"{live[0]}/s/{shop.slug}/orders/{order['id']}")
    sent = phone.locator("#aftersales .aftersale-return-sent")
    sent.wait_for()
    # then it says the parcel was sent, the form closed
    assert sent.inner_text().startswith("退货已寄出：中通快递 ZT7788990011")
    assert phone.locator("#aftersales form.aftersale-return").is_hidden()
    fits(phone)
    # when they press 修改, then the form opens with the parcel filled in
    phone.click("#aftersales .aftersale-return-change")
    form = phone.locator("#aftersales form.aftersale-return")
    assert form.is_visible() and sent.is_hidden()
    assert form.locator("input[name=tracking_number]").input_value() == "ZT7788990011"


def test_the_order_card_in_the_chat_shows_its_shipping_line(browser, live, shop, tee, staff):
    # given an order with a ¥15 shipping fee, its card sent to the customer
    device = Device(live[0], shop.slug, "运费客", "13900009999")
    order = placed(staff, device, tee, shipping_fee=1500)
    r = staff.post(
        f"/api/v1/conversations/{device.conversation_id}/messages",
        json={"kind": "order_card", "order_id": order["id"]},
    )
    assert r.status_code == 201, r.text
    # when the customer opens the chat
    phone = customer_phone(browser, live, device)
    phone.goto(f"{live[0]}/s/{shop.slug}")
    card = phone.locator(f".order-card[data-order='{order['id']}']").last
    card.wait_for()
    # then the card reads 运费 ¥15.00 between the items and the total
    assert "运费" in card.locator(".line.extra").inner_text()
    assert "¥15.00" in card.locator(".line.extra").inner_text()
