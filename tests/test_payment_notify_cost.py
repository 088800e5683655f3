"""What an applied provider notification costs the writer (payments/applied.py): a pinned number of
statements, none through the ORM's order load, and every row a payment recorded by hand writes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shangliao.events.models import EventLogEntry
from shangliao.notifications.models import Notification
from tests.support import provider_notify as pn
from tests.support.customers import make_customer
from tests.support.orders import make_order
from tests.support.sql import statements_sent

# Attempt and order (one read), payment, attempt, order, customer's total, timeline, counter,
# members' notifications, event log, the notification's log row.
APPLIED = 10
# The attempt and order, whether the paid attempt's payment is this one, the log row.
COPY = 3


def _notify(runtime, shop, anon, order: dict, transaction_id: str) -> tuple[pn.Signed, list[str]]:
    trade_no = pn.open_attempt(runtime, shop.id, order["id"], "wechat", order["total"])
    signed = pn.wechat_sign(pn.wechat_payment(trade_no, order["total"], transaction_id=transaction_id))
    return signed, _send(runtime, shop, anon, signed)


def _send(runtime, shop, anon, signed: pn.Signed) -> list[str]:
    with statements_sent(runtime.db.writer) as sent:
        r = anon.post(pn.url(shop.slug, "wechat"), content=signed.body, headers=signed.all_headers())
    assert r.status_code == 200 and r.json() == {"code": "SUCCESS"}, r.text
    # SQLite's writer opens each transaction with a statement of its own; PostgreSQL's does not.
    return [s for s in sent if not s.startswith("BEGIN")]


@pytest.fixture
def customer_order(runtime, shop, tee):
    pn.configure_all(runtime, shop.id)
    customer_id, _ = make_customer(runtime, shop)
    return make_order(shop, [(tee.variant_id, 1)], customer_id=customer_id, address=None)


def test_an_applied_notification_costs_a_pinned_number_of_statements(
    runtime, shop, anon, tee, customer_order
):
    # given a shop whose method and members were read once (the 5 s caches of a burst)
    _notify(runtime, shop, anon, make_order(shop, [(tee.variant_id, 1)]), "4200000000")
    # when a notification pays an order of a customer
    signed, sent = _notify(runtime, shop, anon, customer_order, "4200000001")
    # then the writer ran the pinned statements, the order never loaded whole through the ORM
    assert len(sent) == APPLIED, "\n".join(sent)
    assert sum(s.lstrip().upper().startswith("SELECT") for s in sent) == 1
    # and everything a payment writes is there: the order paid, the customer's total, the timeline
    order = shop.api.get(f"/api/v1/orders/{customer_order['id']}").json()
    assert (order["paid_amount"], order["payment_status"]) == (customer_order["total"], "paid")
    assert order["paid_at"] and order["version"] > customer_order["version"]
    customer = shop.api.get(f"/api/v1/customers/{customer_order['customer_id']}").json()
    assert customer["total_spent"] == customer_order["total"]
    timeline = shop.api.get(f"/api/v1/orders/{customer_order['id']}/timeline").json()
    paid = [e for e in timeline if e["kind"] == "paid"]
    assert len(paid) == 1 and paid[0]["actor_type"] == "system"
    assert (paid[0]["data"]["method"], paid[0]["data"]["amount"]) == ("wechat", customer_order["total"])
    # and the owner is told once, its event numbered right after the payment's
    with runtime.db.read() as session:
        told = session.scalars(
            select(Notification.staff_id).where(
                Notification.shop_id == shop.id,
                Notification.kind == "payment",
                Notification.target_id == customer_order["id"],
            )
        ).all()
        events = session.execute(
            select(EventLogEntry.type, EventLogEntry.entity_id, EventLogEntry.data)
            .where(EventLogEntry.shop_id == shop.id)
            .order_by(EventLogEntry.seq.desc())
            .limit(2)
        ).all()
    assert told == [shop.owner_id]
    assert [e.type for e in reversed(events)] == ["order.paid", "notification.created"]
    assert events[1].data["version"] == order["version"] and events[1].entity_id == customer_order["id"]
    # when the same notification comes again, it costs three statements and changes nothing
    again = _send(runtime, shop, anon, signed)
    assert len(again) == COPY, "\n".join(again)
    outcomes = [x["outcome"] for x in shop.api.get("/api/v1/payment-notifications").json()["items"]]
    assert outcomes == ["duplicate", "applied", "applied"]
    assert (
        shop.api.get(f"/api/v1/orders/{customer_order['id']}").json()["paid_amount"]
        == customer_order["total"]
    )


def test_a_unit_sharing_the_session_reads_the_order_as_the_notification_left_it(runtime, shop, tee):
    # given an order and a verified notice for it, and a session already holding the order (an
    # earlier unit of the same group commit loaded it)
    from shangliao.orders.models import Order
    from shangliao.payments.notice import Notice
    from shangliao.payments.notifications import apply_notice

    pn.configure_all(runtime, shop.id)
    order = make_order(shop, [(tee.variant_id, 1)])
    trade_no = pn.open_attempt(runtime, shop.id, order["id"], "wechat", order["total"])
    notice = Notice("wechat", "payment", trade_no, "4200000009", order["total"])
    with runtime.db.write() as session:
        held = session.get(Order, order["id"])
        # when the notification is applied in that session, and a later change edits the order
        done = apply_notice(session, shop.id, notice, address="127.0.0.1", digest="0" * 64)
        held.remark = "后来的备注"
        session.flush()
        # then the later change saw the payment (no lost update, no stale version)
        assert done["outcome"] == "applied" and held.paid_amount == order["total"]
    after = shop.api.get(f"/api/v1/orders/{order['id']}").json()
    assert (after["paid_amount"], after["remark"]) == (order["total"], "后来的备注")
