"""Invoices, the follow-ups: a cancelled order takes its waiting invoice request with it, a new
request tells the members who issue invoices, and the customer's socket hears the invoice issued
(with no personal data in the frame)."""

from __future__ import annotations

import json

from sqlalchemy import select

from shangliao.invoices.models import InvoiceRequest
from shangliao.notifications.models import Notification
from shangliao.realtime.feed import Subscriber, events_after
from tests import test_invoices as base
from tests.support.orders import act
from tests.support.team import make_member

COMPANY, EMAIL, TAX_ID, PERSONAL = base.COMPANY, base.EMAIL, base.TAX_ID, base.PERSONAL
ask, issue, paid, steps, invoice_status = base.ask, base.issue, base.paid, base.steps, base.invoice_status
# The invoice tests' fixtures: a staff order, a guest with a visitor cookie and their order.
order, guest, guest_order = base.order, base.guest, base.guest_order


def request_rows(runtime, order_id: int) -> list[str]:
    with runtime.db.read() as session:
        return list(
            session.scalars(
                select(InvoiceRequest.status)
                .where(InvoiceRequest.order_id == order_id)
                .order_by(InvoiceRequest.id)
            )
        )


def told(runtime, staff_id: int) -> list[tuple[str, str, int, dict]]:
    with runtime.db.read() as session:
        rows = session.scalars(
            select(Notification).where(Notification.staff_id == staff_id).order_by(Notification.id)
        )
        return [(n.kind, n.target_type, n.target_id, n.data) for n in rows]


# --- a cancelled order ------------------------------------------------------------------------------


def test_cancelling_the_order_cancels_its_waiting_invoice_request(runtime, shop, order):
    # given an order whose customer asked for an invoice nobody issued yet
    assert ask(shop.api, order, COMPANY).status_code == 200
    # when the order is cancelled
    act(shop, order, "cancel", reason="duplicate")
    # then the request is cancelled with it, the order no longer waits for an invoice
    assert request_rows(runtime, order["id"]) == ["cancelled"]
    assert invoice_status(runtime, order["id"]) is None
    assert shop.api.get(f"/api/v1/orders/{order['id']}/invoice").json()["invoice"] is None
    # and the timeline says so as its own step, after the cancellation, without the email
    kinds = [(kind, data.get("was"), data.get("by")) for kind, _actor, data in steps(runtime, order["id"])]
    assert kinds == [
        ("invoice_requested", None, "staff"),
        ("invoice_cancelled", "requested", "order_cancelled"),
    ]
    assert EMAIL not in json.dumps([list(s) for s in steps(runtime, order["id"])], ensure_ascii=False)


def test_an_order_cancelled_without_a_request_records_no_invoice_step(runtime, shop, order):
    # given an order nobody asked an invoice for
    # when it is cancelled
    act(shop, order, "cancel", reason="duplicate")
    # then no invoice step is written and nothing is requested
    assert steps(runtime, order["id"]) == [] and request_rows(runtime, order["id"]) == []


def test_an_issued_invoice_stays_when_the_order_is_cancelled(runtime, shop, order):
    # given a paid order whose invoice was issued
    assert ask(shop.api, order, PERSONAL).status_code == 200
    paid(shop, order)
    assert issue(shop.api, order).status_code == 200
    # when the order is cancelled (refunded outside)
    r = shop.api.post(f"/api/v1/orders/{order['id']}/cancel", json={"reason": "duplicate"})
    # then the issued invoice is kept as it is (voiding it happens outside, then staff cancel it)
    if r.status_code == 200:
        assert request_rows(runtime, order["id"]) == ["issued"]
        assert invoice_status(runtime, order["id"]) == "issued"
    else:  # a paid order may not be cancelled here at all: the invoice is untouched either way
        assert request_rows(runtime, order["id"]) == ["issued"]


# --- who is told of a new request ---------------------------------------------------------------------


def test_a_new_request_tells_the_members_who_issue_invoices(runtime, shop, guest, guest_order):
    # given finance (invoices.manage) and an agent (no invoices.manage) in the shop
    finance = make_member(runtime, shop, role="finance")
    agent = make_member(runtime, shop, role="agent")
    # when the customer asks for an invoice on their order
    r = ask(guest, guest_order, PERSONAL, prefix=f"/s/{shop.slug}/api")
    assert r.status_code == 200, r.text
    # then finance is told, with the order's number and no personal data; the agent is not
    (note,) = [n for n in told(runtime, finance.staff_id) if n[0] == "invoice_requested"]
    assert note[1:] == ("order", guest_order["id"], {"number": guest_order["number"]})
    assert [n for n in told(runtime, agent.staff_id) if n[0] == "invoice_requested"] == []
    # and the notification reads in Chinese and leads to the order
    (item,) = [
        n for n in finance.get("/api/v1/notifications").json()["items"] if n["kind"] == "invoice_requested"
    ]
    assert item["link"] == f"/orders/{guest_order['id']}"
    # when the customer fixes a typo in the request
    fixed = ask(guest, guest_order, {**PERSONAL, "title": "王小满"}, prefix=f"/s/{shop.slug}/api")
    assert fixed.status_code == 200, fixed.text
    # then finance is not told again (only a new request is news)
    assert len([n for n in told(runtime, finance.staff_id) if n[0] == "invoice_requested"]) == 1


def test_a_member_may_mute_invoice_requests(runtime, shop, guest, guest_order):
    # given finance muting invoice requests
    finance = make_member(runtime, shop, role="finance")
    r = finance.put(
        "/api/v1/notifications/preferences", json={"muted": ["invoice_requested"], "statuses": []}
    )
    assert r.status_code == 200, r.text
    # when the customer asks for an invoice
    assert ask(guest, guest_order, PERSONAL, prefix=f"/s/{shop.slug}/api").status_code == 200
    # then finance is not told
    assert [n for n in told(runtime, finance.staff_id) if n[0] == "invoice_requested"] == []


# --- the customer's page hears it -----------------------------------------------------------------------


def test_the_customers_socket_hears_the_invoice_issued_without_personal_data(
    runtime, shop, guest, guest_order
):
    # given the customer's request on their order, paid
    assert ask(guest, guest_order, COMPANY, prefix=f"/s/{shop.slug}/api").status_code == 200
    paid(shop, guest_order)
    device = Subscriber(
        shop.id, "customer", customer_id=guest.customer_id, conversation_id=guest.conversation_id
    )
    start = events_after(runtime.db, runtime.keyring, device, 0).payloads
    after = max([p["seq"] for p in start], default=0)
    # when staff mark the invoice issued
    assert issue(shop.api, guest_order).status_code == 200
    # then the customer's device is sent the order's "invoice issued" frame
    frames = [device.shown(p) for p in events_after(runtime.db, runtime.keyring, device, after).payloads]
    (frame,) = [f for f in frames if f["type"] == "order.invoice_issued"]
    assert frame["order"]["order_id"] == guest_order["id"]
    # and it carries no title, tax id or email, nor which member works the order
    text = json.dumps(frame, default=str, ensure_ascii=False)
    assert EMAIL not in text and TAX_ID not in text and COMPANY["title"] not in text
    assert "assignee_id" not in frame
