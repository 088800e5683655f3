"""Invoices (发票): the customer asks on their order, staff mark it issued; masked email and tax id,
the timeline, the order list's filter, other shops and other customers kept out, the sealed email."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from shangliao.core import keys_rotate
from shangliao.core.crypto import Keyring
from shangliao.core.keys_data import COLUMNS
from shangliao.events.models import EventLogEntry as Event
from shangliao.invoices.models import InvoiceRequest
from shangliao.invoices.service import EMAIL_CONTEXT
from shangliao.orders.models import Order, OrderEvent
from tests.support.chat import guest_client
from tests.support.orders import act, make_order
from tests.support.team import make_member

EMAIL = "zhangsan@example.com"
TAX_ID = "91330106MA2AXXXX1Q"
COMPANY = {"title_type": "company", "title": "杭州小满贸易有限公司", "tax_id": TAX_ID, "email": EMAIL}
PERSONAL = {"title_type": "personal", "title": "张三", "email": EMAIL}


@pytest.fixture
def order(shop, tee):
    return make_order(shop, [(tee.variant_id, 2)])


def paid(shop, order, amount=None) -> dict:
    r = shop.api.post(
        f"/api/v1/orders/{order['id']}/payments",
        json={"method": "wechat", "amount": amount or order["total"]},
    )
    assert r.status_code == 201, r.text
    return r.json()


def ask(client, order, body, *, prefix="/api/v1"):
    return client.post(f"{prefix}/orders/{order['id']}/invoice", json=body)


def issue(client, order, number="25332000000012345678", **body):
    return client.post(f"/api/v1/orders/{order['id']}/invoice/issue", json={"invoice_number": number, **body})


def invoice_status(runtime, order_id: int) -> str | None:
    with runtime.db.read() as session:
        return session.get(Order, order_id).invoice_status


def steps(runtime, order_id: int) -> list:
    """The order's invoice timeline rows: ``(kind, actor_type, data)``."""
    with runtime.db.read() as session:
        return session.execute(
            select(OrderEvent.kind, OrderEvent.actor_type, OrderEvent.data)
            .where(OrderEvent.order_id == order_id, OrderEvent.kind.like("invoice_%"))
            .order_by(OrderEvent.id)
        ).all()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**COMPANY, "tax_id": ""}, "invoice.tax_id_required"),
        ({**COMPANY, "tax_id": "9133010"}, "invoice.bad_tax_id"),  # too short
        ({**COMPANY, "tax_id": "91330106MA2AXXXX1Q123"}, "request.invalid"),  # 21: over the limit
        ({**COMPANY, "tax_id": "91330106MA2A-XXX1Q"}, "invoice.bad_tax_id"),  # a dash
        ({**COMPANY, "tax_id": "91330106马2AXXXX1Q"}, "invoice.bad_tax_id"),
        ({**PERSONAL, "tax_id": TAX_ID}, "invoice.tax_id_personal"),
        ({**PERSONAL, "email": "zhangsan.example.com"}, "invoice.bad_email"),
        ({**PERSONAL, "email": "zhang san@example.com"}, "invoice.bad_email"),
        ({**PERSONAL, "email": "zhangsan@localhost"}, "invoice.bad_email"),
        ({**PERSONAL, "title": "   "}, "request.invalid"),
        ({**PERSONAL, "title": "张" * 101}, "request.invalid"),
        ({**PERSONAL, "title_type": "government"}, "request.invalid"),
        ({**PERSONAL, "bank": "招商银行"}, "request.invalid"),  # unknown fields are refused
    ],
)
def test_a_bad_request_is_refused_with_its_code_and_changes_nothing(runtime, shop, order, body, code):
    # when staff send a request with a bad field
    r = ask(shop.api, order, body)
    # then it is refused with a dotted code, and the order has no invoice
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code
    assert invoice_status(runtime, order["id"]) is None
    assert steps(runtime, order["id"]) == []


def test_a_tax_id_typed_in_small_letters_and_spaces_is_kept_in_capitals(runtime, shop, order):
    # when a company's tax id is typed in small letters with spaces
    r = ask(shop.api, order, {**COMPANY, "tax_id": "91330106 ma2axxxx1q"})
    # then it is kept as the tax office writes it
    assert r.status_code == 200, r.text
    assert r.json()["invoice"]["tax_id"] == TAX_ID


def test_request_edit_issue_on_the_timeline_without_the_email(runtime, shop, order):
    # given a paid order and a personal request
    paid(shop, order)
    r = ask(shop.api, order, PERSONAL)
    assert r.status_code == 200, r.text
    assert r.json()["invoice"]["status"] == "requested"
    assert invoice_status(runtime, order["id"]) == "requested"
    # when it is changed to a company title, then issued
    changed = ask(shop.api, order, COMPANY)
    assert changed.status_code == 200 and changed.json()["invoice"]["id"] == r.json()["invoice"]["id"]
    done = issue(shop.api, order, issued_at="2026-12-01T10:00:00+08:00")
    # then the invoice carries its number, the date and the amount paid
    assert done.status_code == 200, done.text
    invoice = done.json()["invoice"]
    assert invoice["status"] == "issued" and invoice["invoice_number"] == "25332000000012345678"
    assert invoice["amount"] == order["total"]
    assert datetime.fromisoformat(invoice["issued_at"]) == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert invoice_status(runtime, order["id"]) == "issued"
    # and every step is on the timeline and in the event log, the email in neither
    kinds = [kind for kind, _, _ in steps(runtime, order["id"])]
    assert kinds == ["invoice_requested", "invoice_updated", "invoice_issued"]
    with runtime.db.read() as session:
        events = session.execute(
            select(Event.type, Event.data)
            .where(Event.shop_id == shop.id, Event.type.like("order.invoice%"))
            .order_by(Event.id)
        ).all()
    assert [t for t, _ in events] == [
        "order.invoice_requested",
        "order.invoice_updated",
        "order.invoice_issued",
    ]
    for data in [d for _, _, d in steps(runtime, order["id"])] + [d for _, d in events]:
        assert EMAIL not in str(data) and "zhangsan" not in str(data)
    # and the staff timeline reads the number
    timeline = shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()
    assert (
        timeline[-1]["kind"] == "invoice_issued"
        and timeline[-1]["data"]["invoice_number"] == "25332000000012345678"
    )


def test_the_email_is_sealed_at_rest(runtime, shop, order):
    # when a request is saved
    assert ask(shop.api, order, PERSONAL).status_code == 200
    # then the row holds ciphertext the keyring opens, never the address itself
    with runtime.db.read() as session:
        blob = session.scalar(select(InvoiceRequest.email_enc).where(InvoiceRequest.order_id == order["id"]))
    assert EMAIL.encode() not in blob
    assert runtime.keyring.decrypt(blob, EMAIL_CONTEXT).decode() == EMAIL


def test_an_issued_invoice_no_longer_changes(runtime, shop, order):
    # given an issued invoice
    paid(shop, order)
    assert ask(shop.api, order, PERSONAL).status_code == 200
    assert issue(shop.api, order).status_code == 200
    # when it is edited or issued again
    edited, again = ask(shop.api, order, COMPANY), issue(shop.api, order, "X1")
    # then both are refused and it stays as issued
    assert edited.status_code == 409 and edited.json()["error"]["code"] == "invoice.already_issued"
    assert again.status_code == 409 and again.json()["error"]["code"] == "invoice.already_issued"
    assert shop.api.get(f"/api/v1/orders/{order['id']}/invoice").json()["invoice"]["invoice_number"] == (
        "25332000000012345678"
    )


def test_issuing_needs_a_request_and_money_paid(runtime, shop, order):
    # nothing requested
    r = issue(shop.api, order)
    assert r.status_code == 409 and r.json()["error"]["code"] == "invoice.not_requested"
    # requested, nothing paid
    assert ask(shop.api, order, PERSONAL).status_code == 200
    r = issue(shop.api, order)
    assert r.status_code == 409 and r.json()["error"]["code"] == "invoice.nothing_paid"
    # a bad number
    paid(shop, order)
    r = issue(shop.api, order, "发票一号")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invoice.bad_number"
    assert invoice_status(runtime, order["id"]) == "requested"


def test_the_amount_is_paid_less_refunded(runtime, shop, order):
    # given a paid order with part refunded
    paid(shop, order)
    with runtime.db.write() as session:
        from shangliao.orders import actions

        o = session.get(Order, order["id"])
        actions.do_refund(session, shop.actor, o, method="wechat", amount=1000, reference="", note="")
    assert ask(shop.api, order, PERSONAL).status_code == 200
    # when it is issued
    r = issue(shop.api, order)
    # then the invoice is for what the customer kept paid
    assert r.json()["invoice"]["amount"] == order["total"] - 1000


def test_cancel_clears_the_status_and_the_customer_may_ask_again(runtime, shop, order):
    # given a request
    first = ask(shop.api, order, PERSONAL).json()["invoice"]
    # when staff cancel it
    r = shop.api.post(f"/api/v1/orders/{order['id']}/invoice/cancel")
    # then the order has no invoice status, the row stays as evidence, and a new request starts anew
    assert r.status_code == 200 and r.json()["invoice"]["status"] == "cancelled"
    assert invoice_status(runtime, order["id"]) is None
    assert shop.api.get(f"/api/v1/orders/{order['id']}/invoice").json()["invoice"] is None
    again = ask(shop.api, order, COMPANY).json()["invoice"]
    assert again["id"] != first["id"] and invoice_status(runtime, order["id"]) == "requested"
    with runtime.db.read() as session:
        statuses = session.scalars(
            select(InvoiceRequest.status)
            .where(InvoiceRequest.order_id == order["id"])
            .order_by(InvoiceRequest.id)
        ).all()
    assert statuses == ["cancelled", "requested"]
    # and a second cancel of nothing is refused
    shop.api.post(f"/api/v1/orders/{order['id']}/invoice/cancel")
    r = shop.api.post(f"/api/v1/orders/{order['id']}/invoice/cancel")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invoice.not_requested"


def test_a_cancelled_order_cannot_ask_for_an_invoice(runtime, shop, order):
    act(shop, order, "cancel", reason="duplicate")
    r = ask(shop.api, order, PERSONAL)
    assert r.status_code == 409 and r.json()["error"]["code"] == "invoice.order_not_open"


def test_email_and_tax_id_are_whole_for_invoices_manage_and_masked_for_others(runtime, shop, order):
    # given a company request, finance (invoices.manage, no customers.pii) and an agent (neither)
    assert ask(shop.api, order, COMPANY).status_code == 200
    finance = make_member(runtime, shop, role="finance")
    agent = make_member(runtime, shop, role="agent")
    # when finance, the agent and the owner's token read it
    sender = finance.get(f"/api/v1/orders/{order['id']}/invoice").json()["invoice"]
    masked = agent.get(f"/api/v1/orders/{order['id']}/invoice").json()["invoice"]
    whole = shop.api.get(f"/api/v1/orders/{order['id']}/invoice").json()["invoice"]
    # then finance reads the email and tax id it sends the invoice with, the agent masks
    assert sender["email"] == EMAIL and sender["tax_id"] == TAX_ID
    assert masked["email"] == "zh****@example.com" and masked["tax_id"] == "9133****1Q"
    assert whole["email"] == EMAIL and whole["tax_id"] == TAX_ID
    # and finance issues it, answered whole
    paid(shop, order)
    r = issue(finance, order)
    assert r.status_code == 200 and r.json()["invoice"]["email"] == EMAIL
    # and the bound is the invoice: finance still may not 显示 through the reveal route (no customers.pii)
    assert finance.post(f"/api/v1/orders/{order['id']}/invoice/reveal").status_code == 403


def test_an_agent_reads_but_may_not_issue(runtime, shop, order):
    assert ask(shop.api, order, PERSONAL).status_code == 200
    agent = make_member(runtime, shop, role="agent")
    paid(shop, order)
    r = issue(agent, order)
    assert r.status_code == 403 and "invoices.manage" in r.text
    assert invoice_status(runtime, order["id"]) == "requested"


def test_reveal_is_audited_without_the_values(runtime, shop, order, console):
    from shangliao.audit.models import AuditEntry

    assert ask(shop.api, order, COMPANY).status_code == 200
    r = console.post(f"/api/v1/orders/{order['id']}/invoice/reveal")
    assert r.status_code == 200, r.text
    assert r.json()["invoice"] == {"email": EMAIL, "tax_id": TAX_ID}
    with runtime.db.read() as session:
        data = session.scalar(
            select(AuditEntry.data).where(AuditEntry.shop_id == shop.id, AuditEntry.act == "pii.revealed")
        )
    assert data == {"fields": ["email", "tax_id"]}


def test_another_shop_gets_404(runtime, shop, other_shop, order):
    for r in (
        other_shop.api.get(f"/api/v1/orders/{order['id']}/invoice"),
        ask(other_shop.api, order, PERSONAL),
        issue(other_shop.api, order),
        other_shop.api.post(f"/api/v1/orders/{order['id']}/invoice/cancel"),
    ):
        assert r.status_code == 404, r.text
    assert invoice_status(runtime, order["id"]) is None


# --- the customer's side ---------------------------------------------------------------------------


@pytest.fixture
def guest(app, shop):
    return guest_client(app, shop, "王小满", "13900002222")


@pytest.fixture
def guest_order(shop, tee, guest):
    return make_order(shop, [(tee.variant_id, 1)], customer_id=guest.customer_id)


def test_the_customer_asks_edits_and_reads_the_number(runtime, shop, guest, guest_order):
    prefix = f"/s/{shop.slug}/api"
    # given nothing asked yet
    first = guest.get(f"{prefix}/orders/{guest_order['id']}/invoice").json()
    assert first == {"invoice": None, "can_request": True}
    # when the customer asks and then fixes the title
    assert ask(guest, guest_order, PERSONAL, prefix=prefix).status_code == 200
    r = ask(guest, guest_order, {**PERSONAL, "title": "王小满"}, prefix=prefix)
    assert r.status_code == 200, r.text
    assert r.json()["invoice"]["title"] == "王小满" and r.json()["invoice"]["email"] == EMAIL
    assert r.json()["invoice"]["requested_by"] == "customer"
    # and the timeline says the customer did it
    assert [(kind, who) for kind, who, _ in steps(runtime, guest_order["id"])] == [
        ("invoice_requested", "customer"),
        ("invoice_updated", "customer"),
    ]
    # when the shop issues it
    paid(shop, guest_order)
    assert issue(shop.api, guest_order, "044002400111").status_code == 200
    # then the customer reads the number and may no longer change it
    shown = guest.get(f"{prefix}/orders/{guest_order['id']}/invoice").json()
    assert shown["invoice"]["invoice_number"] == "044002400111" and shown["can_request"] is False
    r = ask(guest, guest_order, PERSONAL, prefix=prefix)
    assert r.status_code == 409 and r.json()["error"]["code"] == "invoice.already_issued"


def test_the_customer_gets_the_same_refusals(shop, guest, guest_order):
    r = ask(guest, guest_order, {**COMPANY, "tax_id": "123"}, prefix=f"/s/{shop.slug}/api")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invoice.bad_tax_id"


def test_another_customers_order_is_404(app, shop, tee, guest_order):
    # given another customer's device
    other = guest_client(app, shop, "李四", "13900003333")
    prefix = f"/s/{shop.slug}/api"
    # when it reads or asks for an invoice of the first customer's order
    read = other.get(f"{prefix}/orders/{guest_order['id']}/invoice")
    asked = ask(other, guest_order, PERSONAL, prefix=prefix)
    # then both are 404, like any order it cannot see
    assert read.status_code == 404 and asked.status_code == 404


def test_a_device_without_a_visitor_cookie_is_refused(anon, shop, guest_order):
    r = anon.get(f"/s/{shop.slug}/api/orders/{guest_order['id']}/invoice")
    assert r.status_code == 401


# --- the order list's filter ------------------------------------------------------------------------


def test_the_list_filters_to_invoice_and_invoiced(runtime, shop, tee):
    # given three orders: one asked for an invoice, one issued, one without
    asked, issued_order, plain = (make_order(shop, [(tee.variant_id, 1)]) for _ in range(3))
    assert ask(shop.api, asked, PERSONAL).status_code == 200
    assert ask(shop.api, issued_order, PERSONAL).status_code == 200
    paid(shop, issued_order)
    assert issue(shop.api, issued_order).status_code == 200

    # when the list is filtered
    def ids(**params):
        r = shop.api.get("/api/v1/orders", params=params)
        assert r.status_code == 200, r.text
        return [o["id"] for o in r.json()["items"]]

    # then each filter finds its own
    assert ids(invoice="requested") == [asked["id"]]
    assert ids(invoice="issued") == [issued_order["id"]]
    assert plain["id"] in ids()
    bad = shop.api.get("/api/v1/orders", params={"invoice": "maybe"})
    assert bad.status_code == 422


def test_the_filter_survives_paging(runtime, shop, tee):
    # given three orders waiting for an invoice and one without
    wanted = [make_order(shop, [(tee.variant_id, 1)]) for _ in range(3)]
    make_order(shop, [(tee.variant_id, 1)])
    for o in wanted:
        assert ask(shop.api, o, PERSONAL).status_code == 200
    # when the filtered list is read a page of two at a time
    first = shop.api.get("/api/v1/orders", params={"invoice": "requested", "limit": 2}).json()
    second = shop.api.get(
        "/api/v1/orders", params={"invoice": "requested", "limit": 2, "cursor": first["next_cursor"]}
    ).json()
    # then the pages hold exactly the three, none twice
    found = [o["id"] for o in first["items"] + second["items"]]
    assert sorted(found) == sorted(o["id"] for o in wanted) and second["next_cursor"] is None


# --- the sealed email and key rotation ---------------------------------------------------------------


def test_the_sealed_email_is_registered_for_key_rotation():
    assert "invoice_requests.email_enc" in {c.label for c in COLUMNS}
    assert "invoice_requests" in {p.label for p in keys_rotate.PASSES}


def test_a_rotation_moves_the_email_to_the_new_key():
    # given an email sealed under an old key
    old = Keyring.from_master(os.urandom(32))
    blob = old.encrypt(EMAIL.encode(), EMAIL_CONTEXT)
    rows = [p for p in keys_rotate.PASSES if p.label == "invoice_requests"]

    class Row:
        email_enc = blob

    # when the rotation rewrites the row
    ring = Keyring([*Keyring.from_master(os.urandom(32)).keys, *old.keys])
    new = rows[0].rewrite(ring, Row)
    # then the email is under the current key and reads the same
    assert ring.is_current(new["email_enc"])
    assert ring.decrypt(new["email_enc"], EMAIL_CONTEXT).decode() == EMAIL
    Row.email_enc = new["email_enc"]
    assert rows[0].rewrite(ring, Row) is None  # done: nothing more to move


# --- the customer's data (PIPL) ---------------------------------------------------------------------


def test_the_export_holds_the_request_and_an_erasure_removes_the_email_and_name(
    runtime, shop, guest, guest_order
):
    # given the customer's personal request, on an order since cancelled
    assert (
        ask(guest, guest_order, {**PERSONAL, "title": "王小满"}, prefix=f"/s/{shop.slug}/api").status_code
        == 200
    )
    act(shop, guest_order, "cancel", reason="duplicate")
    # when the owner exports the customer's data
    data = shop.api.get(f"/api/v1/customers/{guest.customer_id}/export").json()
    # then the request is in it, email and all (cancelled with its order)
    [exported] = [o for o in data["orders"] if o["id"] == guest_order["id"]]
    [invoice] = exported["invoices"]
    assert invoice["email"] == EMAIL and invoice["title"] == "王小满" and invoice["status"] == "cancelled"
    # when the customer is erased
    r = shop.api.post(
        f"/api/v1/customers/{guest.customer_id}/erase",
        json={"confirm": "王小满", "reason": "customer_request"},
    )
    assert r.status_code == 200, r.text
    # then the request keeps its place without the email or their name
    with runtime.db.read() as session:
        row = session.execute(
            select(InvoiceRequest.email_enc, InvoiceRequest.title).where(
                InvoiceRequest.order_id == guest_order["id"]
            )
        ).one()
    assert row.email_enc is None and row.title == "已删除"
