"""A payment request asking for part of what is owed: its how-to-pay block and its native QR are
for that part; the order page stays with everything owed; a part larger than what is owed now
(paid meanwhile) falls back to what is owed (payments/checkout.py ``to_pay``)."""

from __future__ import annotations

from tests import test_payment_checkout as checkout_tests
from tests.support.fake_providers import configure_methods

# The checkout tests' fixtures: a fake WeChat Pay/Alipay, a guest, and the ¥118 order they owe.
fake, guest, order = checkout_tests.fake, checkout_tests.guest, checkout_tests.order
attempts = checkout_tests.attempts


def view(shop, guest, order, amount=None):
    query = f"?amount={amount}" if amount is not None else ""
    r = guest.get(f"/s/{shop.slug}/api/orders/{order['id']}/pay{query}")
    assert r.status_code == 200, r.text
    return r.json()


def qr(shop, guest, order, amount=None):
    query = f"?amount={amount}" if amount is not None else ""
    return guest.post(f"/s/{shop.slug}/api/orders/{order['id']}/pay/wechat{query}")


def request_card(shop, guest, order, amount):
    r = shop.api.post(
        f"/api/v1/conversations/{guest.conversation_id}/messages",
        json={"kind": "payment_request", "order_id": order["id"], "amount": amount},
    )
    assert r.status_code == 201, r.text
    return r.json()["data"]


def test_a_card_asking_for_a_part_shows_and_pays_that_part(runtime, shop, guest, order, fake):
    # given a shop taking WeChat Pay and bank transfer, and a payment request for ¥50 of the ¥118 owed
    configure_methods(runtime, shop.id, kinds=("wechat", "bank"))
    card = request_card(shop, guest, order, 5000)
    assert card["amount"] == 5000 and card["part"] is True
    # when the customer opens the card's how-to-pay block
    shown = view(shop, guest, order, card["amount"])
    # then the transfer is for the card's ¥50, and the order still owes ¥118
    assert shown["amount"] == 5000 and shown["outstanding"] == 11800 and shown["payable"]
    # when they ask for a WeChat Pay QR from the card
    r = qr(shop, guest, order, card["amount"])
    # then the provider is asked for ¥50 and the attempt is kept for ¥50
    assert r.status_code == 200, r.text
    assert r.json()["amount"] == 5000
    assert fake.requests[-1]["body"]["amount"] == {"total": 5000, "currency": "CNY"}
    assert [(a[2], a[3]) for a in attempts(runtime, order["id"])] == [(5000, "open")]


def test_the_order_page_keeps_offering_everything_owed(runtime, shop, guest, order, fake):
    # given a shop taking WeChat Pay, and a card for a part already sent and its QR asked
    configure_methods(runtime, shop.id, kinds=("wechat", "bank"))
    request_card(shop, guest, order, 5000)
    assert qr(shop, guest, order, 5000).status_code == 200
    # when the customer pays from the order page (no amount given)
    shown = view(shop, guest, order)
    r = qr(shop, guest, order)
    # then the block and the QR are for all ¥118, and the part's code is closed
    assert shown["amount"] == shown["outstanding"] == 11800
    assert r.status_code == 200, r.text
    assert r.json()["amount"] == 11800
    assert fake.requests[-1]["body"]["amount"]["total"] == 11800
    assert [(a[2], a[3]) for a in attempts(runtime, order["id"])] == [(5000, "closed"), (11800, "open")]
    # and the order page's own block offers everything owed
    page = guest.get(f"/s/{shop.slug}/orders/{order['id']}")
    assert '"amount": 11800' in page.text


def test_a_part_larger_than_what_is_owed_now_falls_back_to_what_is_owed(runtime, shop, guest, order, fake):
    # given a card for ¥50 of the ¥118, and ¥80 paid by hand meanwhile (¥38 owed now)
    configure_methods(runtime, shop.id, kinds=("wechat", "bank"))
    card = request_card(shop, guest, order, 5000)
    paid = shop.api.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "cash", "amount": 8000})
    assert paid.status_code in (200, 201), paid.text
    # when the customer opens the card and asks for its QR
    shown = view(shop, guest, order, card["amount"])
    r = qr(shop, guest, order, card["amount"])
    # then both are for the ¥38 still owed, never the card's ¥50
    assert shown["amount"] == shown["outstanding"] == 3800
    assert r.status_code == 200, r.text
    assert r.json()["amount"] == 3800 and fake.requests[-1]["body"]["amount"]["total"] == 3800


def test_a_nonsense_amount_is_refused_and_asks_nothing(runtime, shop, guest, order, fake):
    # given a shop taking WeChat Pay
    configure_methods(runtime, shop.id, kinds=("wechat",))
    # when the customer's page asks for a QR of zero fen
    r = qr(shop, guest, order, 0)
    # then it is refused with a clear error and no provider is asked
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"]
    assert fake.calls == 0 and attempts(runtime, order["id"]) == []
