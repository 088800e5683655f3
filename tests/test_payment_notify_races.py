"""The same provider notification sent several times at once (WeChat retries, a proxy replays)
pays the order once, and every copy is acknowledged: against a live server, on SQLite and
PostgreSQL."""

from __future__ import annotations

import threading

import httpx
import pytest

from shangliao.payments import notify_api
from tests.support import provider_notify as pn
from tests.support.live import serve
from tests.support.orders import make_order


@pytest.fixture
def live_url(app):
    with serve(app) as url:
        yield url


def _send_at_once(url: str, signed: pn.Signed, copies: int) -> list[httpx.Response]:
    start = threading.Barrier(copies)
    answers: list[httpx.Response] = []

    def send() -> None:
        with httpx.Client(timeout=30) as client:
            start.wait()
            answers.append(client.post(url, content=signed.body, headers=signed.all_headers()))

    threads = [threading.Thread(target=send) for _ in range(copies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


@pytest.mark.parametrize("kind", ["wechat", "alipay"])
def test_five_copies_at_once_pay_the_order_once(runtime, shop, tee, live_url, kind):
    # given an order with an attempt to pay it whole
    pn.configure_all(runtime, shop.id)
    order = make_order(shop, [(tee.variant_id, 3)])
    trade_no = pn.open_attempt(runtime, shop.id, order["id"], kind, order["total"])
    if kind == "wechat":
        signed = pn.wechat_sign(pn.wechat_payment(trade_no, order["total"]))
    else:
        yuan = f"{order['total'] // 100}.{order['total'] % 100:02d}"
        signed = pn.alipay_sign(pn.alipay_payment(trade_no, yuan))
    # when five copies of its notification arrive at once
    answers = _send_at_once(live_url + pn.url(shop.slug, kind), signed, 5)
    # then every copy is acknowledged, one payment is recorded, the rest are duplicates
    assert [a.status_code for a in answers] == [200] * 5
    now = shop.api.get(f"/api/v1/orders/{order['id']}").json()
    assert now["paid_amount"] == order["total"] and now["payment_status"] == "paid"
    outcomes = sorted(x["outcome"] for x in shop.api.get("/api/v1/payment-notifications").json()["items"])
    assert outcomes == ["applied"] + ["duplicate"] * 4
    timeline = shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()
    assert [e["actor_type"] for e in timeline if e["kind"] == "paid"] == ["system"]


def test_a_flood_of_forgeries_is_logged_only_up_to_the_limit(runtime, app, shop, tee, monkeypatch):
    # given a shop whose refusals are logged at most 3 a minute
    monkeypatch.setattr(notify_api, "REFUSALS_LOGGED", "3/minute")
    pn.configure_all(runtime, shop.id)
    forged = pn.wechat_sign({}, key=pn.private_key("attacker"))
    # when ten forgeries arrive
    for _ in range(10):
        r = shop.api.post(pn.url(shop.slug, "wechat"), content=forged.body, headers=forged.all_headers())
        assert r.status_code == 401
    # then each was refused, and only three were written
    assert len(shop.api.get("/api/v1/payment-notifications").json()["items"]) == 3
