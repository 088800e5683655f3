"""Verified provider notifications (payments/wechat.py, alipay.py, gateway.py, notifications.py):
a signed notification pays the order once; anything forged, tampered, stale, for another merchant,
amount or currency changes nothing, and every one is in the shop's log."""

from __future__ import annotations

import json
import time

import pytest

from tests.support import provider_notify as pn
from tests.support.orders import make_order
from tests.support.team import make_member


@pytest.fixture
def order(runtime, shop, tee):
    pn.configure_all(runtime, shop.id)
    return make_order(shop, [(tee.variant_id, 2)])


def post(client, slug: str, kind: str, signed: pn.Signed):
    return client.post(pn.url(slug, kind), content=signed.body, headers=signed.all_headers())


def order_now(shop, order_id: int) -> dict:
    r = shop.api.get(f"/api/v1/orders/{order_id}")
    assert r.status_code == 200, r.text
    return r.json()


def log(shop, **query) -> list[dict]:
    r = shop.api.get("/api/v1/payment-notifications", params=query)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_signed_wechat_notification_pays_the_order(runtime, shop, anon, order):
    # given an attempt for the whole order
    trade_no = pn.open_attempt(runtime, shop.id, order["id"], "wechat", order["total"])
    signed = pn.wechat_sign(pn.wechat_payment(trade_no, order["total"], transaction_id="4200000001"))
    # when WeChat Pay notifies it
    r = post(anon, shop.slug, "wechat", signed)
    # then it is acknowledged as WeChat expects, and the order is paid by the provider
    assert r.status_code == 200 and r.json() == {"code": "SUCCESS"}
    now = order_now(shop, order["id"])
    assert now["payment_status"] == "paid" and now["paid_amount"] == order["total"]
    rows = log(shop)
    assert [(x["outcome"], x["transaction_id"], x["amount"]) for x in rows] == [
        ("applied", "4200000001", order["total"])
    ]
    assert rows[0]["order_number"] == order["number"] and len(rows[0]["body_digest"]) == 64
    # and the timeline says WeChat Pay's notification did it
    page = shop.api.get(f"/orders/{order['id']}")
    assert page.status_code in (200, 303)


def test_the_timeline_names_the_provider(runtime, shop, console, order):
    trade_no = pn.open_attempt(runtime, shop.id, order["id"], "wechat", order["total"])
    post(console, shop.slug, "wechat", pn.wechat_sign(pn.wechat_payment(trade_no, order["total"])))
    # when the owner opens the order page
    page = console.get(f"/orders/{order['id']}")
    # then the payment's author reads 微信支付通知
    assert page.status_code == 200
    assert "微信支付通知" in page.text


@pytest.mark.parametrize(
    "tamper, outcome, status",
    [
        ("forged", "bad_signature", 401),
        ("body", "bad_signature", 401),
        ("serial", "bad_signature", 401),
        ("stale", "stale", 401),
        ("future", "stale", 401),
        ("unsigned", "bad_signature", 401),
        ("apiv3", "bad_signature", 401),
    ],
)
def test_untrusted_wechat_notifications_change_nothing(runtime, shop, anon, order, tamper, outcome, status):
    trade_no = pn.open_attempt(runtime, shop.id, order["id"], "wechat", order["total"])
    resource = pn.wechat_payment(trade_no, order["total"])
    # given a notification that is not WeChat's as sent
    if tamper == "forged":
        signed = pn.wechat_sign(resource, key=pn.private_key("attacker"))
    elif tamper == "body":
        signed = pn.wechat_sign(resource)
        signed.body = signed.body.replace(b'"summary"', b'"summary" ', 1)
    elif tamper == "serial":
        signed = pn.wechat_sign(resource, serial="UNKNOWN-SERIAL")
    elif tamper == "stale":
        signed = pn.wechat_sign(resource, timestamp=int(time.time()) - 301)
    elif tamper == "future":
        signed = pn.wechat_sign(resource, timestamp=int(time.time()) + 400)
    elif tamper == "unsigned":
        signed = pn.wechat_sign(resource)
        del signed.headers["Wechatpay-Signature"]
    else:  # sealed with another APIv3 key but signed by the platform key
        signed = pn.wechat_sign(resource, apiv3_key="f" * 32)
    # when it arrives
    r = post(anon, shop.slug, "wechat", signed)
    # then it is refused in WeChat's words, the order stays unpaid, and the log says why
    assert r.status_code == status and r.json()["code"] == "FAIL"
    assert order_now(shop, order["id"])["paid_amount"] == 0
    assert [x["outcome"] for x in log(shop)] == [outcome]


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"amount": 1}, "notify.amount_mismatch"),
        ({"currency": "USD"}, "notify.currency_mismatch"),
        ({"mchid": "1900000999"}, "notify.mchid_mismatch"),
        ({"appid": "wx0000000000000000"}, "notify.appid_mismatch"),
    ],
)
def test_a_mismatched_notification_alerts_finance_and_pays_nothing(
    runtime, app, shop, anon, order, change, reason
):
    # given a finance member, and a genuine notification that is not what the shop asked for
    finance = make_member(runtime, shop, role="finance")
    trade_no = pn.open_attempt(runtime, shop.id, order["id"], "wechat", order["total"])
    change = dict(change)  # the parameter is shared by both backends' runs
    amount = change.pop("amount", order["total"])
    resource = pn.wechat_payment(trade_no, amount, **change)
    # when it arrives twice
    for _ in range(2):
        r = post(anon, shop.slug, "wechat", pn.wechat_sign(resource))
        assert r.status_code == 200
    # then the order is not paid; the log holds both, and finance was alerted once
    assert order_now(shop, order["id"])["paid_amount"] == 0
    rows = log(shop)
    assert [(x["outcome"], x["reason"]) for x in rows] == [("mismatch", reason)] * 2
    notes = finance.get("/api/v1/notifications").json()["items"]
    alerts = [n for n in notes if n["kind"] == "payment_alert"]
    assert len(alerts) == 1 and alerts[0]["link"] == f"/orders/{order['id']}"
    audit = shop.api.get("/api/v1/audit", params={"act": "payments.notification_mismatch"}).json()["items"]
    assert len(audit) == 1 and audit[0]["data"]["reason"] == reason


def test_more_than_is_owed_is_refused_and_alerted(runtime, shop, anon, order):
    # given two attempts for the whole order, the first one paid
    first = pn.open_attempt(runtime, shop.id, order["id"], "wechat", order["total"])
    second = pn.open_attempt(runtime, shop.id, order["id"], "wechat", order["total"])
    assert (
        post(anon, shop.slug, "wechat", pn.wechat_sign(pn.wechat_payment(first, order["total"]))).status_code
        == 200
    )
    # when the second is paid too
    r = post(anon, shop.slug, "wechat", pn.wechat_sign(pn.wechat_payment(second, order["total"])))
    # then the overpayment is a human decision: not recorded, alerted
    assert r.status_code == 200
    assert order_now(shop, order["id"])["paid_amount"] == order["total"]
    assert [x["reason"] for x in log(shop, outcome="mismatch")] == ["notify.exceeds_outstanding"]


def test_partial_payments_add_up(runtime, shop, anon, order):
    # given the order split in two attempts
    part = order["total"] // 3
    a = pn.open_attempt(runtime, shop.id, order["id"], "wechat", part)
    b = pn.open_attempt(runtime, shop.id, order["id"], "alipay", order["total"] - part)
    # when WeChat pays the first part
    post(anon, shop.slug, "wechat", pn.wechat_sign(pn.wechat_payment(a, part)))
    # then the order is partially paid
    assert order_now(shop, order["id"])["payment_status"] == "partially_paid"
    # and when Alipay pays the rest, in yuan
    rest = order["total"] - part
    r = post(
        anon, shop.slug, "alipay", pn.alipay_sign(pn.alipay_payment(b, f"{rest // 100}.{rest % 100:02d}"))
    )
    assert r.status_code == 200 and r.text == "success"
    # then it is paid, by two provider payments
    now = order_now(shop, order["id"])
    assert now["payment_status"] == "paid" and now["paid_amount"] == order["total"]
    assert [x["outcome"] for x in log(shop)] == ["applied", "applied"]


def test_unknown_trade_another_shop_and_malformed(runtime, app, shop, other_shop, anon, order):
    trade_no = pn.open_attempt(runtime, shop.id, order["id"], "wechat", order["total"])
    # an out_trade_no the shop never issued
    r = post(anon, shop.slug, "wechat", pn.wechat_sign(pn.wechat_payment("NOSUCHTRADE01", 100)))
    assert r.status_code == 404 and r.json()["code"] == "FAIL"
    # this shop's genuine notification sent to another shop's URL (configured with other keys)
    pn.set_method(runtime, other_shop.id, "wechat", {"mchid": "1", "appid": "x", "platform_keys": []}, {})
    r = post(anon, other_shop.slug, "wechat", pn.wechat_sign(pn.wechat_payment(trade_no, order["total"])))
    assert r.status_code == 401
    # a shop that does not exist: refused, logged nowhere
    assert post(anon, "no-such-shop", "wechat", pn.wechat_sign({})).status_code == 404
    # a body that is not JSON, signed all the same
    broken = pn.wechat_sign({})
    broken.body = b"{not json"
    r = post(anon, shop.slug, "wechat", broken)
    assert r.status_code == 401  # the signature covered the body
    # the signature holds but the resource is junk
    signed = pn.wechat_sign({"out_trade_no": trade_no, "amount": {"total": "lots"}})
    assert post(anon, shop.slug, "wechat", signed).status_code == 400
    # a form that is not a form
    assert anon.post(pn.url(shop.slug, "alipay"), content=b"a=1&a=2&sign=x").status_code == 400
    # then nothing was paid, and each shop's log holds its own
    assert order_now(shop, order["id"])["paid_amount"] == 0
    assert [x["outcome"] for x in log(shop)] == ["malformed", "malformed", "bad_signature", "unknown_trade"]
    assert [x["outcome"] for x in log(other_shop)] == ["bad_signature"]


def test_a_refund_notification_records_a_refund_once(runtime, shop, anon, order):
    # given a paid order
    trade_no = pn.open_attempt(runtime, shop.id, order["id"], "wechat", order["total"])
    post(anon, shop.slug, "wechat", pn.wechat_sign(pn.wechat_payment(trade_no, order["total"])))
    # when WeChat tells of a partial refund, twice
    refund = pn.wechat_refund(trade_no, 500, order["total"], refund_id="50300001")
    for _ in range(2):
        r = post(anon, shop.slug, "wechat", pn.wechat_sign(refund, event_type="REFUND.SUCCESS"))
        assert r.status_code == 200
    # then one refund is recorded
    now = order_now(shop, order["id"])
    assert now["refunded_amount"] == 500 and now["payment_status"] == "partially_refunded"
    assert [x["outcome"] for x in log(shop)] == ["duplicate", "applied", "applied"]
    assert [x["kind"] for x in log(shop)] == ["refund", "refund", "payment"]


def test_alipay_refund_fee_is_the_total_refunded(runtime, shop, anon, order):
    trade_no = pn.open_attempt(runtime, shop.id, order["id"], "alipay", order["total"])
    yuan = f"{order['total'] // 100}.{order['total'] % 100:02d}"
    post(anon, shop.slug, "alipay", pn.alipay_sign(pn.alipay_payment(trade_no, yuan)))
    # when Alipay tells of two refunds, each with the total refunded so far
    for biz_no, total in (("RF1", "1.00"), ("RF2", "3.50")):
        body = pn.alipay_payment(
            trade_no, yuan, refund_fee=total, out_biz_no=biz_no, gmt_refund="2026-12-07 12:10:00"
        )
        assert post(anon, shop.slug, "alipay", pn.alipay_sign(body)).text == "success"
    # then 3.50 is refunded in all
    assert order_now(shop, order["id"])["refunded_amount"] == 350


@pytest.mark.parametrize("amount", ["1.005", "-1.00", "1e2", "", "abc"])
def test_alipay_amounts_are_exact_yuan(runtime, shop, anon, order, amount):
    trade_no = pn.open_attempt(runtime, shop.id, order["id"], "alipay", order["total"])
    r = post(anon, shop.slug, "alipay", pn.alipay_sign(pn.alipay_payment(trade_no, amount)))
    assert r.status_code == 400 and r.text == "fail"
    assert order_now(shop, order["id"])["paid_amount"] == 0


def test_alipay_forged_and_wrong_seller(runtime, shop, anon, order):
    trade_no = pn.open_attempt(runtime, shop.id, order["id"], "alipay", order["total"])
    yuan = f"{order['total'] // 100}.{order['total'] % 100:02d}"
    forged = pn.alipay_sign(pn.alipay_payment(trade_no, yuan), key=pn.private_key("attacker"))
    assert post(anon, shop.slug, "alipay", forged).text == "fail"
    other = pn.alipay_sign(pn.alipay_payment(trade_no, yuan, seller_id="2088999999999999"))
    assert post(anon, shop.slug, "alipay", other).text == "success"  # acknowledged, alerted
    assert order_now(shop, order["id"])["paid_amount"] == 0
    assert [(x["outcome"], x["reason"]) for x in log(shop)] == [
        ("mismatch", "notify.seller_id_mismatch"),
        ("bad_signature", "notify.bad_signature"),
    ]


def test_gateway_notifications(runtime, shop, anon, order):
    trade_no = pn.open_attempt(runtime, shop.id, order["id"], "gateway", order["total"])
    body = {
        "type": "payment.succeeded",
        "transaction_id": "gw_1",
        "out_trade_no": trade_no,
        "amount": order["total"],
        "currency": "CNY",
    }
    # a stale signature and a wrong secret are refused
    assert (
        post(anon, shop.slug, "gateway", pn.gateway_sign(body, timestamp=int(time.time()) - 600)).status_code
        == 401
    )
    assert post(anon, shop.slug, "gateway", pn.gateway_sign(body, secret="guess")).status_code == 401
    # the right one pays, and its copy is a duplicate
    for _ in range(2):
        r = post(anon, shop.slug, "gateway", pn.gateway_sign(body))
        assert r.status_code == 200 and r.json() == {"received": True}
    assert order_now(shop, order["id"])["payment_status"] == "paid"
    assert [x["outcome"] for x in log(shop)] == ["duplicate", "applied", "bad_signature", "stale"]
    # a refund by the gateway
    refund = {**body, "type": "refund.succeeded", "transaction_id": "gw_r1", "amount": 100}
    assert post(anon, shop.slug, "gateway", pn.gateway_sign(refund)).status_code == 200
    assert order_now(shop, order["id"])["refunded_amount"] == 100


def test_the_log_is_for_finance_and_filters(runtime, app, shop, anon, order):
    post(anon, shop.slug, "wechat", pn.wechat_sign({}, key=pn.private_key("attacker")))
    agent = make_member(runtime, shop, permissions=["orders.read"])
    finance = make_member(runtime, shop, role="finance")
    # a member without payments.record may not read it; finance may, filtered by outcome
    assert agent.get("/api/v1/payment-notifications").status_code == 403
    assert len(finance.get("/api/v1/payment-notifications").json()["items"]) == 1
    assert log(shop, outcome="applied") == []
    assert shop.api.get("/api/v1/payment-notifications", params={"outcome": "nope"}).status_code == 422
    # no body, no personal data: only what the log's columns hold
    row = log(shop)[0]
    assert "openid" not in json.dumps(row, default=str)
