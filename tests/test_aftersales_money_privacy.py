"""After-sales refunds are retry-safe like the order's own refunds (``Idempotency-Key``), and the
customer's note on a request follows the privacy law: it is in their export, gone after erasure."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from shangliao.aftersales.models import AfterSale
from shangliao.orders.models import Refund
from tests.support.aftersales import buy
from tests.support.orders import act

NOTE = "收到时袖口开线，请联系 13900001111"


def refund_only(runtime, app, shop):
    bought = buy(runtime, app, shop, ship=False)
    item = bought.lines[0]
    asked = bought.asked(
        kind="refund_only",
        reason="quality",
        note=NOTE,
        lines=[{"order_item_id": item["id"], "quantity": item["quantity"]}],
    )
    bought.done(asked, "approve")
    return bought, asked


def refund(shop, asked, key: str | None, **body):
    headers = {"Idempotency-Key": key} if key else {}
    return shop.api.post(
        f"/api/v1/aftersales/{asked['id']}/refund", json={"method": "wechat", **body}, headers=headers
    )


def refunds_of(runtime, order_id: int) -> int:
    with runtime.db.read() as session:
        return session.scalar(select(func.count()).select_from(Refund).where(Refund.order_id == order_id))


def test_a_retried_aftersale_refund_records_the_money_once(runtime, app, shop):
    # given an approved refund-only request for ¥100
    bought, asked = refund_only(runtime, app, shop)
    # when the refund is sent, then sent again with the same key (the answer was lost)
    first = refund(shop, asked, "as-refund-1")
    again = refund(shop, asked, "as-refund-1")
    # then the first settles the request and the retry answers it as it is, recording nothing more
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "refunded"
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true", again.text
    assert again.json()["refund_id"] == first.json()["refund_id"]
    assert refunds_of(runtime, bought.order["id"]) == 1
    assert bought.order_now()["refunded_amount"] == 10000


def test_the_same_key_with_another_body_is_refused(runtime, app, shop):
    # given a refund recorded with a key
    bought, asked = refund_only(runtime, app, shop)
    assert refund(shop, asked, "as-refund-2", amount=4000).status_code == 200
    # when the key comes back with another amount
    other = refund(shop, asked, "as-refund-2", amount=5000)
    # then it is refused and nothing more is recorded
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency.key_reused"
    assert refunds_of(runtime, bought.order["id"]) == 1
    assert bought.order_now()["refunded_amount"] == 4000


def test_concurrent_copies_of_a_keyed_refund_record_it_once(runtime, app, shop):
    # given an approved request
    bought, asked = refund_only(runtime, app, shop)
    answers: list = []

    def send():
        answers.append(refund(shop, asked, "as-refund-race"))

    # when four copies of the keyed refund arrive at once
    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then every copy gets a 200 and the money moved once
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 3
    assert refunds_of(runtime, bought.order["id"]) == 1


def test_the_note_is_exported_then_blanked_by_erasure(runtime, app, shop):
    # given a customer's refund-only request with a note, refunded, the order cancelled since
    bought, asked = refund_only(runtime, app, shop)
    assert refund(shop, asked, None).status_code == 200
    act(shop, bought.order, "cancel", reason="duplicate")
    customer_id = bought.order["customer_id"]
    # when the owner exports the customer's data
    data = shop.api.get(f"/api/v1/customers/{customer_id}/export").json()
    # then the request is there with the customer's own words
    [order] = [o for o in data["orders"] if o["id"] == bought.order["id"]]
    [exported] = order["aftersales"]
    assert (exported["number"], exported["note"], exported["status"]) == (asked["number"], NOTE, "refunded")
    # when the customer is erased
    r = shop.api.post(
        f"/api/v1/customers/{customer_id}/erase", json={"confirm": "删除", "reason": "customer_request"}
    )
    assert r.status_code == 200, r.text
    # then the request stays (evidence) but its note is blank, for the shop and in a new export
    with runtime.db.read() as session:
        row = session.get(AfterSale, asked["id"])
        assert (row.status, row.customer_note, row.requested_amount) == ("refunded", "", 10000)
    assert shop.api.get(f"/api/v1/aftersales/{asked['id']}").json()["note"] == ""
    again = shop.api.get(f"/api/v1/customers/{customer_id}/export").json()
    assert NOTE not in str(again)
