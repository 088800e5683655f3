"""How the customer pays an order: the how-to-pay view and native QR codes asked of a fake WeChat Pay
and Alipay that check every request's signature (tests/support/fake_providers.py)."""

from __future__ import annotations

import pytest
import segno
from sqlalchemy import select

from shangliao.payments import checkout, native
from shangliao.payments.models import PaymentAttempt, PaymentMethod
from tests.support import provider_notify as pn
from tests.support.chat import guest_client
from tests.support.fake_providers import (
    ALIPAY_PUBLIC,
    BANK,
    MERCHANT_PRIVATE,
    PLATFORM_SERIAL,
    configure_methods,
    fake_providers,
    point_settings_at,
    static_code,
)
from tests.support.orders import make_order


@pytest.fixture
def fake(runtime):
    with fake_providers() as providers:
        old = point_settings_at(runtime.settings, providers)
        yield providers
        for name, value in old.items():
            setattr(runtime.settings, name, value)


@pytest.fixture
def guest(app, shop):
    return guest_client(app, shop, "小红", "13700001234")


@pytest.fixture
def order(shop, tee, guest):
    """Two T-shirts the guest owes ¥118.00 for."""
    return make_order(shop, [(tee.variant_id, 2)], customer_id=guest.customer_id)


def attempts(runtime, order_id: int) -> list[PaymentAttempt]:
    with runtime.db.read() as session:
        rows = session.scalars(
            select(PaymentAttempt).where(PaymentAttempt.order_id == order_id).order_by(PaymentAttempt.id)
        )
        return [(a.method, a.out_trade_no, a.amount, a.status, a.code_url, a.error) for a in rows]


def pay(shop, guest, order, method: str):
    return guest.post(f"/s/{shop.slug}/api/orders/{order['id']}/pay/{method}")


def test_wechat_native_request_is_signed_and_its_code_drawn_as_a_qr(runtime, shop, guest, order, fake):
    # given a shop taking WeChat Pay with complete merchant credentials
    configure_methods(runtime, shop.id)
    # when the customer asks to pay with WeChat Pay
    r = pay(shop, guest, order, "wechat")
    # then the fake provider received a request signed with the merchant key, for what is owed
    assert r.status_code == 200, r.text
    (seen,) = fake.requests
    assert seen["signed"] is True
    assert seen["auth"]["mchid"] == "1900000109"
    body = seen["body"]
    assert body["amount"] == {"total": 11800, "currency": "CNY"}
    assert body["appid"] == "wxd678efh567hg6787" and body["mchid"] == "1900000109"
    assert body["notify_url"].endswith(f"/api/v1/providers/{shop.slug}/wechat")
    assert body["out_trade_no"].startswith(order["number"])
    assert order["number"] in body["description"]
    # and the customer gets the attempt's number and a QR of exactly the provider's code_url
    out = r.json()
    assert out["out_trade_no"] == body["out_trade_no"] and out["amount"] == 11800
    assert out["code_url"] == fake.answered[0]
    same = segno.make(fake.answered[0], error="m").svg_inline(
        scale=1, border=4, omitsize=True, dark="#000", light="#fff"
    )
    assert out["qr_svg"] == same and out["qr_svg"].startswith("<svg")
    # and the attempt is kept open with its code
    assert attempts(runtime, order["id"]) == [
        ("wechat", out["out_trade_no"], 11800, "open", out["code_url"], None)
    ]


def test_alipay_precreate_is_signed_and_its_answer_verified(runtime, shop, guest, order, fake):
    # given a shop taking Alipay
    configure_methods(runtime, shop.id)
    # when the customer asks to pay with Alipay
    r = pay(shop, guest, order, "alipay")
    # then the gateway got an RSA2-signed precreate for the amount in yuan
    assert r.status_code == 200, r.text
    (seen,) = fake.requests
    assert seen["signed"] is True
    assert seen["params"]["method"] == "alipay.trade.precreate"
    assert seen["params"]["notify_url"].endswith(f"/api/v1/providers/{shop.slug}/alipay")
    assert seen["biz"]["total_amount"] == "118.00"
    assert seen["biz"]["out_trade_no"] == r.json()["out_trade_no"]
    # and the answer, whose signature checked out with the Alipay public key, is the QR
    assert r.json()["code_url"] == fake.answered[0] and r.json()["code_url"].startswith(
        "https://qr.alipay.com/"
    )


def test_a_tampered_alipay_answer_is_refused(runtime, shop, guest, order, fake):
    # given a gateway whose answer was changed after Alipay signed it
    configure_methods(runtime, shop.id)
    fake.mode = "tampered"
    # when the customer asks for the QR
    r = pay(shop, guest, order, "alipay")
    # then no code is shown and the attempt says why
    assert r.status_code == 502
    assert r.json()["error"]["code"] == "payment.qr_unavailable"
    assert r.json()["error"]["message"] == "暂时无法生成付款码，请用其他方式付款。"
    (row,) = attempts(runtime, order["id"])
    assert row[3:] == ("failed", None, "alipay.bad_signature")


@pytest.mark.parametrize(
    ("mode", "error"), [("error", "wechat.PARAM_ERROR: 参数错误"), ("garbage", "wechat.no_code_url")]
)
def test_a_bad_provider_answer_is_a_clear_error_recorded_on_the_attempt(
    runtime, shop, guest, order, fake, mode, error
):
    # given WeChat Pay answering an error (or something that is not its API at all)
    configure_methods(runtime, shop.id)
    fake.mode = mode
    # when the customer asks for the QR
    r = pay(shop, guest, order, "wechat")
    # then they are told to pay another way, and the attempt failed with the provider's reason
    assert r.status_code == 502 and r.json()["error"]["code"] == "payment.qr_unavailable"
    (row,) = attempts(runtime, order["id"])
    assert row[3:] == ("failed", None, error)
    # and the next request asks again under a new out_trade_no
    fake.mode = "ok"
    again = pay(shop, guest, order, "wechat")
    assert again.status_code == 200 and again.json()["out_trade_no"] != row[1]


def test_a_provider_that_does_not_answer_in_time_is_given_up(runtime, shop, guest, order, fake, monkeypatch):
    # given WeChat Pay hanging longer than we wait
    configure_methods(runtime, shop.id)
    monkeypatch.setattr(native, "TIMEOUT", 0.3)
    fake.mode, fake.delay = "slow", 1.5
    # when the customer asks for the QR
    r = pay(shop, guest, order, "wechat")
    # then the answer is a clear error and the attempt records the timeout
    assert r.status_code == 502 and r.json()["error"]["code"] == "payment.qr_unavailable"
    assert attempts(runtime, order["id"])[0][3:] == ("failed", None, "provider.timeout")


def test_an_open_code_is_reused_and_closed_when_the_amount_changes(runtime, shop, guest, order, fake):
    # given a QR already asked for the whole amount
    configure_methods(runtime, shop.id)
    first = pay(shop, guest, order, "wechat").json()
    # when the customer asks again
    second = pay(shop, guest, order, "wechat").json()
    # then the same attempt is shown without asking the provider again
    assert second["out_trade_no"] == first["out_trade_no"] and second["code_url"] == first["code_url"]
    assert fake.calls == 1
    # when the shop records part of the money and the customer asks once more
    r = shop.api.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "cash", "amount": 1800})
    assert r.status_code in (200, 201), r.text
    third = pay(shop, guest, order, "wechat").json()
    # then a new attempt asks for what is still owed, and the old code is closed
    assert third["amount"] == 10000 and third["out_trade_no"] != first["out_trade_no"]
    assert fake.requests[-1]["body"]["amount"]["total"] == 10000
    rows = attempts(runtime, order["id"])
    assert [(r[1], r[3]) for r in rows] == [
        (first["out_trade_no"], "closed"),
        (third["out_trade_no"], "open"),
    ]
    # and an Alipay code beside it leaves the WeChat one open (the customer picks either)
    pay(shop, guest, order, "alipay")
    assert [r[3] for r in attempts(runtime, order["id"])] == ["closed", "open", "open"]


def test_how_to_pay_shows_bank_details_with_the_order_number_and_the_codes(runtime, shop, guest, order, fake):
    # given a shop with bank transfer and 收款码 images (and the server's public address, set by `fake`)
    configure_methods(runtime, shop.id)
    # when the customer reads how to pay
    r = guest.get(f"/s/{shop.slug}/api/orders/{order['id']}/pay")
    # then they see what is owed, the order number for the transfer note and each way to pay
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["payable"] is True and view["outstanding"] == 11800
    assert view["transfer_note"] == order["number"]
    by_kind = {m["kind"]: m for m in view["methods"]}
    assert by_kind["bank"]["bank"] == BANK
    code = static_code("wechat")["sha256"][:12]
    assert by_kind["wechat"] == {
        "kind": "wechat",
        "label": "WeChat Pay",
        "native": True,
        "static_code_url": f"/s/{shop.slug}/api/payment-codes/wechat?v={code}",
        "bank": None,
    }
    assert by_kind["alipay"]["native"] is True
    # and nothing of the merchant's account leaves the server
    text = r.text
    for secret in ("1900000109", "wxd678efh567hg6787", "PRIVATE KEY", "PUBLIC KEY", "2088102147948060"):
        assert secret not in text


def test_a_paid_order_offers_no_way_to_pay(runtime, shop, guest, order, fake):
    # given an order paid in full
    configure_methods(runtime, shop.id)
    r = shop.api.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "cash", "amount": 11800})
    assert r.status_code in (200, 201), r.text
    # when the customer looks, or asks for a QR
    view = guest.get(f"/s/{shop.slug}/api/orders/{order['id']}/pay").json()
    refused = pay(shop, guest, order, "wechat")
    # then nothing is owed and no provider is asked
    assert view["payable"] is False and view["methods"] == [] and view["payment_status"] == "paid"
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "payment.not_payable"
    assert fake.calls == 0


def test_a_method_switched_off_or_never_set_is_refused(runtime, shop, guest, order, fake):
    # given a shop that takes only bank transfer, and WeChat Pay configured but switched off
    configure_methods(runtime, shop.id, kinds=("wechat", "bank"))
    with runtime.db.write() as session:
        row = session.scalar(
            select(PaymentMethod).where(PaymentMethod.shop_id == shop.id, PaymentMethod.kind == "wechat")
        )
        row.enabled = False
    # when the customer asks for a WeChat Pay or Alipay QR, or names no provider at all
    off, unset, unknown = (pay(shop, guest, order, m) for m in ("wechat", "alipay", "paypal"))
    # then each is refused and no provider is asked
    assert off.status_code == 404 and off.json()["error"]["code"] == "payment.method_unavailable"
    assert unset.status_code == 404 and unset.json()["error"]["code"] == "payment.method_unavailable"
    assert unknown.status_code == 422
    assert fake.calls == 0 and attempts(runtime, order["id"]) == []
    # and the how-to-pay view lists only the bank
    view = guest.get(f"/s/{shop.slug}/api/orders/{order['id']}/pay").json()
    assert [m["kind"] for m in view["methods"]] == ["bank"]


def test_another_customers_order_is_not_found(app, runtime, shop, order, fake):
    # given another customer's device on the same shop
    configure_methods(runtime, shop.id)
    stranger = guest_client(app, shop, "小明", "13700009999")
    # when it asks how to pay the first customer's order, or for its QR
    view = stranger.get(f"/s/{shop.slug}/api/orders/{order['id']}/pay")
    qr = pay(shop, stranger, order, "wechat")
    # then both are 404 and nothing was asked or recorded
    assert view.status_code == 404 and qr.status_code == 404
    assert qr.json()["error"]["code"] == "order.not_found"
    assert fake.calls == 0 and attempts(runtime, order["id"]) == []


def test_the_payment_request_card_keeps_the_methods_offered(runtime, shop, guest, order):
    # given a shop taking WeChat Pay and bank transfer
    configure_methods(runtime, shop.id, kinds=("wechat", "bank"))
    # when staff send a payment request in the customer's conversation
    r = shop.api.post(
        f"/api/v1/conversations/{guest.conversation_id}/messages",
        json={"kind": "payment_request", "order_id": order["id"], "body": "请付款"},
    )
    # then the card names the ways of paying the customer was offered
    assert r.status_code == 201, r.text
    assert r.json()["data"]["methods"] == ["wechat", "bank"]
    assert r.json()["data"]["amount"] == 11800


def test_the_order_page_carries_the_how_to_pay_block(runtime, shop, guest, order):
    # given a shop taking bank transfer
    configure_methods(runtime, shop.id, kinds=("bank",))
    # when the customer opens the order page
    page = guest.get(f"/s/{shop.slug}/orders/{order['id']}")
    # then it holds the how-to-pay data and the script that draws it
    assert page.status_code == 200
    assert 'id="pay"' in page.text and "/static/shop/pay.js" in page.text
    assert "6214 8312 3456 7890" in page.text and "怎么付款" in page.text


def test_outstanding_is_total_less_paid():
    # given an order of ¥118 with ¥18 paid (and a refund, which owes nothing new)
    class Row:
        total, paid_amount, refunded_amount, status, archived_at = 11800, 1800, 500, "confirmed", None

    # then ¥100 is owed and it can be paid
    assert checkout.outstanding(Row) == 10000 and checkout.is_payable(Row)


def test_a_verified_notification_for_the_qr_pays_the_order(runtime, app, shop, guest, order, fake, anon):
    # given a shop whose WeChat Pay can both draw a QR and verify its notifications
    configure_methods(runtime, shop.id, kinds=("bank",))
    platform = {"serial": pn.SERIAL, "public_key": pn.public_pem(pn.private_key("platform"))}
    answers = {"serial": PLATFORM_SERIAL, "public_key": ALIPAY_PUBLIC}  # the fake's answers' key
    settings = {
        "mchid": pn.MCHID,
        "appid": pn.APPID,
        "merchant_serial": pn.SERIAL,
        "platform_keys": [platform, answers],
    }
    secrets = {"apiv3_key": pn.APIV3_KEY, "merchant_private_key": MERCHANT_PRIVATE}
    pn.set_method(runtime, shop.id, "wechat", {**settings, "secrets_set": sorted(secrets)}, secrets)
    # when the customer asks for the QR and WeChat Pay says it was paid
    trade_no = pay(shop, guest, order, "wechat").json()["out_trade_no"]
    signed = pn.wechat_sign(pn.wechat_payment(trade_no, 11800, transaction_id="4200000077"))
    told = anon.post(pn.url(shop.slug, "wechat"), content=signed.body, headers=signed.all_headers())
    # then the order is paid through that attempt, and nothing is left to pay
    assert told.status_code == 200, told.text
    assert attempts(runtime, order["id"])[0][3] == "paid"
    view = guest.get(f"/s/{shop.slug}/api/orders/{order['id']}/pay").json()
    assert view["payable"] is False and view["payment_status"] == "paid"


def test_an_alipay_public_key_pasted_bare_still_verifies_the_answer(runtime, shop, guest, order, fake):
    # given the Alipay public key kept as Alipay's console shows it (base64, no PEM lines)
    configure_methods(runtime, shop.id, kinds=("alipay",))
    with runtime.db.write() as session:
        row = session.scalar(
            select(PaymentMethod).where(PaymentMethod.shop_id == shop.id, PaymentMethod.kind == "alipay")
        )
        bare = "".join(row.settings["alipay_public_key"].strip().splitlines()[1:-1])
        row.settings = {**row.settings, "alipay_public_key": bare}
    # when the customer asks for the Alipay QR
    r = pay(shop, guest, order, "alipay")
    # then the answer's signature checks out and the code is shown
    assert r.status_code == 200, r.text
    assert r.json()["code_url"] == fake.answered[0]
