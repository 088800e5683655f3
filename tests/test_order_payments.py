"""Recording a payment is retry-safe (rule 11 of docs/architecture.md): with an Idempotency-Key, a
retried request records nothing more and is answered with the order."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from shangliao.orders.models import OrderEvent, Payment
from tests.support.catalog import make_product
from tests.support.live import serve
from tests.support.orders import make_order


@pytest.fixture
def order(runtime, shop):
    tee = make_product(runtime, shop, name="纯棉T恤", stock=10, price=5900)
    return make_order(shop, [(tee.variant_id, 1)])


def pay(shop, order, key: str | None, **body):
    headers = {"Idempotency-Key": key} if key else {}
    payment = {"method": "wechat", "amount": 2000, **body}
    return shop.api.post(f"/api/v1/orders/{order['id']}/payments", json=payment, headers=headers)


def recorded(runtime, order) -> tuple[int, int]:
    """(payments, "paid" timeline entries) of the order."""
    with runtime.db.read() as session:
        payments = session.scalar(select(func.count(Payment.id)).where(Payment.order_id == order["id"]))
        steps = session.scalar(
            select(func.count(OrderEvent.id)).where(
                OrderEvent.order_id == order["id"], OrderEvent.kind == "paid"
            )
        )
    return payments, steps


def test_a_retried_partial_payment_is_recorded_once(runtime, shop, order):
    # given a partial payment recorded with a key
    first = pay(shop, order, "pay-7f3a")
    assert first.status_code == 201 and first.json()["paid_amount"] == 2000
    # when the same request is sent again (the answer was lost on the way)
    again = pay(shop, order, "pay-7f3a")
    # then it is answered with the order, and the money is counted once
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["paid_amount"] == 2000 and again.json()["payment_status"] == "partially_paid"
    assert recorded(runtime, order) == (1, 1)


def test_a_retried_payment_that_settled_the_order_is_answered_not_refused(runtime, shop, order):
    # given the whole amount paid with a key
    assert pay(shop, order, "pay-all", amount=order["total"]).status_code == 201
    # when the request is retried (nothing is outstanding any more)
    again = pay(shop, order, "pay-all", amount=order["total"])
    # then it is a replay, not "more than what is owed"
    assert again.status_code == 200, again.text
    assert again.json()["payment_status"] == "paid"
    assert recorded(runtime, order) == (1, 1)


def test_payments_without_a_key_are_each_recorded(runtime, shop, order):
    assert pay(shop, order, None).status_code == 201
    assert pay(shop, order, None).status_code == 201
    assert recorded(runtime, order) == (2, 2)


def test_a_key_reused_for_another_payment_is_refused(runtime, shop, order):
    # given a payment recorded with a key
    assert pay(shop, order, "pay-1").status_code == 201
    # when the key comes with another amount
    other = pay(shop, order, "pay-1", amount=1000)
    # then it is refused, and nothing more is recorded
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency.key_reused"
    assert recorded(runtime, order) == (1, 1)


def test_a_key_reused_on_another_order_is_refused(runtime, shop, order):
    # given a payment recorded with a key on one order
    assert pay(shop, order, "pay-2").status_code == 201
    second = make_order(shop, [(order["items"][0]["variant_id"], 1)])
    # when the same key and body are sent for another order
    r = pay(shop, second, "pay-2")
    # then it is refused: the key names the first request, and the second order stays unpaid
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency.key_reused"
    assert recorded(runtime, second) == (0, 0)


@pytest.fixture(scope="session")
def live_url(app):
    with serve(app) as url:
        yield url


def test_copies_of_one_payment_sent_at_once_record_it_once(runtime, shop, order, live_url):
    """On PostgreSQL the copies really run at the same moment; SQLite's single writer runs them
    one after the other."""
    copies = 3
    start = threading.Barrier(copies)

    def one(_):
        with httpx.Client(
            base_url=live_url, headers={"Authorization": f"Bearer {shop.token}"}, timeout=60
        ) as c:
            start.wait()
            return c.post(
                f"/api/v1/orders/{order['id']}/payments",
                json={"method": "wechat", "amount": 2000},
                headers={"Idempotency-Key": "pay-at-once"},
            )

    # given copies of one payment, released together
    with ThreadPoolExecutor(copies) as pool:
        answers = list(pool.map(one, range(copies)))

    # then one records it and the others are answered with the same order; the money counts once
    assert sorted(r.status_code for r in answers) == [200] * (copies - 1) + [201], [r.text for r in answers]
    assert {r.json()["paid_amount"] for r in answers} == {2000}
    assert recorded(runtime, order) == (1, 1)
