"""Provider notifications after the issue-13 security review: Alipay's running refund total is
counted per trade against every refund recorded on it, a provider's refund number is matched within
its order, a provider payment keeps the number the provider was told, and the notification log
follows the member's data scope (rule 21 of docs/architecture.md)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shangliao.auth.permissions import SCOPE_ASSIGNED
from tests.support import provider_notify as pn
from tests.support.orders import make_order
from tests.support.team import MEMBER_PASSWORD, make_member


@pytest.fixture
def order(runtime, shop, tee):
    pn.configure_all(runtime, shop.id)
    return make_order(shop, [(tee.variant_id, 2)])


def post(client, slug: str, kind: str, signed: pn.Signed):
    return client.post(pn.url(slug, kind), content=signed.body, headers=signed.all_headers())


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def alipay_paid(runtime, shop, anon, order, amount: int) -> str:
    """An Alipay trade for ``amount`` of the order, paid; its out_trade_no."""
    trade_no = pn.open_attempt(runtime, shop.id, order["id"], "alipay", amount)
    assert (
        post(anon, shop.slug, "alipay", pn.alipay_sign(pn.alipay_payment(trade_no, yuan(amount)))).text
        == "success"
    )
    return trade_no


def alipay_refund(shop, anon, trade_no: str, amount: int, refunded_so_far: str, out_biz_no: str) -> str:
    body = pn.alipay_payment(trade_no, yuan(amount), refund_fee=refunded_so_far, out_biz_no=out_biz_no)
    return post(anon, shop.slug, "alipay", pn.alipay_sign(body)).text


def console_of(app, member) -> TestClient:
    """The member's console, signed in through the login form."""
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = client.post("/login", data={"username": member.username, "password": MEMBER_PASSWORD})
    assert r.status_code == 303, r.text
    return client


def money(shop, order) -> dict:
    r = shop.api.get(f"/api/v1/orders/{order['id']}/payments")
    assert r.status_code == 200, r.text
    return r.json()


def hand_refund(shop, order, amount: int) -> str:
    r = shop.api.post(f"/api/v1/orders/{order['id']}/refunds", json={"method": "alipay", "amount": amount})
    assert r.status_code == 201, r.text
    return money(shop, order)["refunds"][-1]["out_refund_no"]


def test_alipay_total_less_a_hand_refund_it_matched_is_not_counted_twice(runtime, shop, anon, order):
    # given an order paid through one Alipay trade, and a 1.00 refund staff recorded by hand
    trade_no = alipay_paid(runtime, shop, anon, order, order["total"])
    r01 = hand_refund(shop, order, 100)
    # when Alipay tells of that refund under Shangliao's number (1.00 so far), then of a second
    # refund done in Alipay itself (3.50 so far)
    assert alipay_refund(shop, anon, trade_no, order["total"], "1.00", r01) == "success"
    assert alipay_refund(shop, anon, trade_no, order["total"], "3.50", "RF2") == "success"
    # then 3.50 is refunded in all: the second refund is 2.50, the hand one counted once
    refunds = money(shop, order)["refunds"]
    assert money(shop, order)["refunded_amount"] == 350
    assert sorted(r["amount"] for r in refunds) == [100, 250]


def test_alipay_total_counts_a_hand_refund_before_its_own_notification_arrives(runtime, shop, anon, order):
    # given an order paid through one Alipay trade and a 1.00 hand refund through Alipay
    trade_no = alipay_paid(runtime, shop, anon, order, order["total"])
    r01 = hand_refund(shop, order, 100)
    # when a later refund's notification (3.50 so far) arrives before the hand refund's own
    assert alipay_refund(shop, anon, trade_no, order["total"], "3.50", "RF2") == "success"
    assert alipay_refund(shop, anon, trade_no, order["total"], "1.00", r01) == "success"
    # then the hand refund was already counted against the trade: 3.50 in all
    assert money(shop, order)["refunded_amount"] == 350


def test_alipay_totals_of_two_trades_of_one_order_are_apart(runtime, shop, anon, order):
    # given an order paid in two Alipay trades
    half = order["total"] // 2
    first = alipay_paid(runtime, shop, anon, order, half)
    second = alipay_paid(runtime, shop, anon, order, order["total"] - half)
    # when each trade refunds once: 1.00 of the first, 2.00 of the second (each its own total)
    assert alipay_refund(shop, anon, first, half, "1.00", "A1") == "success"
    assert alipay_refund(shop, anon, second, order["total"] - half, "2.00", "B1") == "success"
    # then 3.00 is refunded: the second trade's total is not reduced by the first trade's refund
    assert money(shop, order)["refunded_amount"] == 300


def test_a_provider_refund_number_is_matched_within_its_order(runtime, shop, anon, tee, order):
    # given two orders paid by WeChat Pay, and a refund numbered "1" in WeChat Pay's console on the first
    other = make_order(shop, [(tee.variant_id, 1)])
    trades = {}
    for o in (order, other):
        trades[o["id"]] = pn.open_attempt(runtime, shop.id, o["id"], "wechat", o["total"])
        assert (
            post(
                anon, shop.slug, "wechat", pn.wechat_sign(pn.wechat_payment(trades[o["id"]], o["total"]))
            ).status_code
            == 200
        )
    first = pn.wechat_refund(trades[order["id"]], 500, order["total"], refund_id="5030000101") | {
        "out_refund_no": "1"
    }
    assert (
        post(anon, shop.slug, "wechat", pn.wechat_sign(first, event_type="REFUND.SUCCESS")).status_code == 200
    )
    # when the second order's refund arrives under the same number
    second = pn.wechat_refund(trades[other["id"]], 300, other["total"], refund_id="5030000102") | {
        "out_refund_no": "1"
    }
    r = post(anon, shop.slug, "wechat", pn.wechat_sign(second, event_type="REFUND.SUCCESS"))
    # then it is its own refund, recorded on its own order
    assert r.status_code == 200, r.text
    assert money(shop, order)["refunded_amount"] == 500
    assert money(shop, other)["refunded_amount"] == 300


def test_a_provider_payment_keeps_the_attempts_out_trade_no(runtime, shop, anon, order):
    # given an attempt the provider was told about
    trade_no = pn.open_attempt(runtime, shop.id, order["id"], "wechat", order["total"])
    # when its payment is notified
    assert (
        post(
            anon, shop.slug, "wechat", pn.wechat_sign(pn.wechat_payment(trade_no, order["total"]))
        ).status_code
        == 200
    )
    # then the payment carries that number (reconciling reads one number on both sides)
    payment = money(shop, order)["payments"][0]
    assert payment["source"] == "provider" and payment["out_trade_no"] == trade_no
    # and a payment recorded by hand afterwards takes the next number, not the attempt's
    other = pn.open_attempt(runtime, shop.id, order["id"], "wechat", 100)
    assert other not in (p["out_trade_no"] for p in money(shop, order)["payments"])


def test_the_log_shows_a_limited_member_only_their_orders(runtime, app, shop, anon, tee, order):
    # given a member who sees only orders assigned to them, one order of theirs and one not
    limited = make_member(
        runtime, shop, permissions=["orders.read", "payments.record"], data_scope=SCOPE_ASSIGNED
    )
    mine = make_order(shop, [(tee.variant_id, 1)])
    assert (
        shop.api.put(
            f"/api/v1/orders/{mine['id']}/assignee", json={"assignee_id": limited.staff_id}
        ).status_code
        == 200
    )
    for o in (order, mine):
        trade_no = pn.open_attempt(runtime, shop.id, o["id"], "wechat", o["total"])
        assert (
            post(
                anon, shop.slug, "wechat", pn.wechat_sign(pn.wechat_payment(trade_no, o["total"]))
            ).status_code
            == 200
        )
    # and a notification naming no order (a forged one)
    post(anon, shop.slug, "wechat", pn.wechat_sign({}, key=pn.private_key("attacker")))
    # when each reads the log
    theirs = limited.get("/api/v1/payment-notifications").json()["items"]
    everything = shop.api.get("/api/v1/payment-notifications").json()["items"]
    # then the limited member sees their order's row only; the owner sees all three
    assert [(r["order_id"], r["order_number"]) for r in theirs] == [(mine["id"], mine["number"])]
    assert {r["order_id"] for r in everything} == {order["id"], mine["id"], None}
    # and the console page shows them the same
    page = console_of(app, limited).get("/payments/notifications")
    assert page.status_code == 200
    assert mine["number"] in page.text and order["number"] not in page.text


def test_members_who_record_payments_find_the_log(runtime, app, shop):
    # given a member who records payments but manages neither payments nor settings
    clerk = console_of(app, make_member(runtime, shop, permissions=["orders.read", "payments.record"]))
    # when they open the console
    home = clerk.get("/orders")
    hub = clerk.get("/settings")
    # then the navigation leads to the settings hub, which links the notification log
    assert home.status_code == 200 and 'href="/settings"' in home.text
    assert hub.status_code == 200 and 'href="/payments/notifications"' in hub.text
    assert 'href="/settings/payments"' not in hub.text
