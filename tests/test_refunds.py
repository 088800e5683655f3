"""An order's money by hand: partial payments add up, refunds add up and never pass what was paid,
the payment status is derived right at each step (rule 6 of docs/architecture.md), a refund is
retry-safe like a payment (rule 11), and who may do which."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shangliao.customers.models import Customer
from shangliao.orders.models import OrderEvent, Refund
from tests.support.catalog import make_product
from tests.support.customers import make_customer
from tests.support.orders import make_order
from tests.support.team import make_member


@pytest.fixture
def order(runtime, shop):
    tee = make_product(runtime, shop, name="退款T恤", stock=10, price=5000)
    customer_id, _ = make_customer(runtime, shop, name="退款客", phone="13600007777")
    return make_order(shop, [(tee.variant_id, 2)], customer_id=customer_id)  # total 100.00


def pay(client, order, amount: int, **body):
    return client.post(
        f"/api/v1/orders/{order['id']}/payments", json={"method": "wechat", "amount": amount, **body}
    )


def refund(client, order, amount: int, key: str | None = None, **body):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        json={"method": "wechat", "amount": amount, **body},
        headers=headers,
    )


def money(client, order) -> dict:
    r = client.get(f"/api/v1/orders/{order['id']}/payments")
    assert r.status_code == 200, r.text
    return r.json()


def sums(client, order) -> tuple[int, int, str]:
    m = money(client, order)
    return m["paid_amount"], m["refunded_amount"], m["payment_status"]


def test_partial_payments_and_refunds_add_up_with_the_status_at_each_step(runtime, shop, order):
    total = order["total"]
    assert total == 10000 and sums(shop.api, order) == (0, 0, "unpaid")
    # when the customer pays in two parts
    assert pay(shop.api, order, 3000).status_code == 201
    assert sums(shop.api, order) == (3000, 0, "partially_paid")
    assert pay(shop.api, order, 7000, reference="尾款").status_code == 201
    assert sums(shop.api, order) == (10000, 0, "paid")
    # and the shop gives part of it back, then the rest
    r = refund(shop.api, order, 2500, reference="退差价", note="少发一件")
    assert r.status_code == 201, r.text
    assert (r.json()["refunded_amount"], r.json()["payment_status"]) == (2500, "partially_refunded")
    assert sums(shop.api, order) == (10000, 2500, "partially_refunded")
    assert refund(shop.api, order, 7500).status_code == 201
    assert sums(shop.api, order) == (10000, 10000, "refunded")
    # then the list shows each payment (with its source and out_trade_no) and each refund
    m = money(shop.api, order)
    assert [(p["amount"], p["source"]) for p in m["payments"]] == [(3000, "manual"), (7000, "manual")]
    assert len({p["out_trade_no"] for p in m["payments"]}) == 2
    assert [(r["amount"], r["reference"], r["note"]) for r in m["refunds"]] == [
        (2500, "退差价", "少发一件"),
        (7500, "", ""),
    ]
    assert [r["out_refund_no"] for r in m["refunds"]] == [f"{order['number']}R01", f"{order['number']}R02"]
    assert (m["outstanding"], m["refundable"]) == (0, 0)
    # and the timeline has two refunds, and the order view agrees
    timeline = shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()
    assert [e["data"]["amount"] for e in timeline if e["kind"] == "refunded"] == [2500, 7500]
    view = shop.api.get(f"/api/v1/orders/{order['id']}").json()
    assert (view["paid_amount"], view["refunded_amount"], view["payment_status"]) == (
        10000,
        10000,
        "refunded",
    )
    # and the customer's spending counts what they kept: nothing
    with runtime.db.read() as session:
        assert session.get(Customer, order["customer_id"]).total_spent == 0


def test_a_refund_over_paid_minus_refunded_is_refused_and_changes_nothing(runtime, shop, order):
    # given 60.00 paid and 20.00 already refunded
    assert pay(shop.api, order, 6000).status_code == 201
    assert refund(shop.api, order, 2000).status_code == 201
    # when 40.01 is refunded
    r = refund(shop.api, order, 4001)
    # then it is refused, naming what may still be refunded, and nothing changes
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "refund.exceeds_refundable"
    assert r.json()["error"]["details"] == {"refundable": 4000}
    assert sums(shop.api, order) == (6000, 2000, "partially_refunded")
    # and exactly what is left is taken
    assert refund(shop.api, order, 4000).status_code == 201
    assert sums(shop.api, order) == (6000, 6000, "refunded")


def test_an_unpaid_order_has_nothing_to_refund(shop, order):
    r = refund(shop.api, order, 1)
    assert r.status_code == 409 and r.json()["error"]["code"] == "refund.exceeds_refundable"


def test_a_retried_refund_is_recorded_once(runtime, shop, order):
    assert pay(shop.api, order, order["total"]).status_code == 201
    # given the whole amount refunded with a key
    first = refund(shop.api, order, order["total"], key="refund-9a1c")
    assert first.status_code == 201
    # when the same request is sent again (the answer was lost): nothing refundable is left
    again = refund(shop.api, order, order["total"], key="refund-9a1c")
    # then it is answered with the order, and the money went back once
    assert again.status_code == 200, again.text
    assert (
        again.headers["Idempotent-Replayed"] == "true" and again.json()["refunded_amount"] == order["total"]
    )
    with runtime.db.read() as session:
        refunds = session.scalar(select(func.count(Refund.id)).where(Refund.order_id == order["id"]))
        steps = session.scalar(
            select(func.count(OrderEvent.id)).where(
                OrderEvent.order_id == order["id"], OrderEvent.kind == "refunded"
            )
        )
    assert (refunds, steps) == (1, 1)
    # and the key with another request is refused
    other = refund(shop.api, order, 100, key="refund-9a1c")
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency.key_reused"


@pytest.mark.parametrize(
    "body",
    [
        {"method": "wechat", "amount": 0},
        {"method": "wechat", "amount": -5},
        {"method": "paypal", "amount": 100},
        {"method": "cash", "amount": 100, "surprise": 1},
        {"method": "cash", "amount": 100, "refunded_at": "2026-01-05T14:30:00"},
        {"method": "cash", "amount": 100, "reference": "x" * 65},
    ],
)
def test_a_bad_refund_is_refused_and_changes_nothing(shop, order, body):
    assert pay(shop.api, order, 5000).status_code == 201
    r = shop.api.post(f"/api/v1/orders/{order['id']}/refunds", json=body)
    assert r.status_code == 422, r.text
    assert sums(shop.api, order) == (5000, 0, "partially_paid")


def test_another_shops_order_is_not_found(shop, other_shop, order):
    assert refund(other_shop.api, order, 100).status_code == 404
    assert other_shop.api.get(f"/api/v1/orders/{order['id']}/payments").status_code == 404


def test_an_agent_records_payments_but_only_finance_refunds(runtime, shop, order):
    # given an agent and a finance member
    agent = make_member(runtime, shop, role="agent")
    finance = make_member(runtime, shop, role="finance")
    # when the agent records a payment, then tries a refund
    assert pay(agent, order, 4000).status_code == 201
    refused = refund(agent, order, 1000)
    # then the payment counts and the refund is refused naming the permission
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "auth.forbidden"
    assert "payments.refund" in refused.json()["error"]["message"] or refused.json()["error"]["details"]
    # and finance refunds
    assert refund(finance, order, 1000).status_code == 201
    assert sums(shop.api, order) == (4000, 1000, "partially_refunded")


def test_hand_refunds_are_numbered_past_a_provider_refund_that_took_a_later_number(
    runtime, shop, anon, order
):
    # given an order paid by WeChat Pay, and a refund made in WeChat Pay's console under the number
    # Shangliao would have given the order's second refund
    from tests.support import provider_notify as pn

    pn.configure_all(runtime, shop.id)
    trade_no = pn.open_attempt(runtime, shop.id, order["id"], "wechat", order["total"])
    paid = pn.wechat_sign(pn.wechat_payment(trade_no, order["total"]))
    assert (
        anon.post(pn.url(shop.slug, "wechat"), content=paid.body, headers=paid.all_headers()).status_code
        == 200
    )
    ahead = pn.wechat_refund(trade_no, 1000, order["total"]) | {"out_refund_no": f"{order['number']}R02"}
    told = pn.wechat_sign(ahead, event_type="REFUND.SUCCESS")
    assert (
        anon.post(pn.url(shop.slug, "wechat"), content=told.body, headers=told.all_headers()).status_code
        == 200
    )
    # when staff record two refunds by hand
    for amount in (500, 700):
        r = refund(shop.api, order, amount)
        assert r.status_code == 201, r.text
    # then each takes the next free number after the highest taken, never clashing
    numbers = [r["out_refund_no"] for r in money(shop.api, order)["refunds"]]
    assert sorted(numbers) == [f"{order['number']}R0{n}" for n in (2, 3, 4)]
    assert money(shop.api, order)["refunded_amount"] == 2200
