"""An order's money in the console (web/console/payment_pages.py): the section beside the order and
in the inbox panel, recording a payment by hand (partial payments add up), recording one from a
proof in one step, dismissing a proof, and a refund; each form answers with the section again."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.support.catalog import make_product
from tests.support.chat import guest_client
from tests.support.console import HTMX
from tests.support.orders import make_order
from tests.support.team import MEMBER_PASSWORD, make_member
from tests.test_payment_proof import screenshot, sent, upload


@pytest.fixture
def guest(app, shop):
    return guest_client(app, shop, "控制台客", "13700004321")


@pytest.fixture
def order(runtime, shop, guest):
    tee = make_product(runtime, shop, name="控制台T恤", stock=10, price=4000)
    return make_order(shop, [(tee.variant_id, 2)], customer_id=guest.customer_id)  # total 80.00


def section(client, order) -> str:
    r = client.get(f"/orders/{order['id']}/money")
    assert r.status_code == 200, r.text
    return r.text


def post(client, order, path: str, **form):
    return client.post(f"/orders/{order['id']}/money/{path}", data=form, headers=HTMX)


def status_of(html: str) -> str:
    return re.search(r'data-payment-status="(\w+)"', html).group(1)


def test_the_order_page_and_the_inbox_panel_hold_the_money_section(console, shop, guest, order):
    # the order page holds its place, loaded by payments.js
    page = console.get(f"/orders/{order['id']}")
    assert f'data-payments-url="/orders/{order["id"]}/money"' in page.text
    assert "/static/console/payments.js" in page.text
    # and so does the inbox's panel, under the order
    inbox = console.get(f"/inbox/{guest.conversation_id}")
    assert inbox.status_code == 200, inbox.text
    assert f'data-payments-url="/orders/{order["id"]}/money"' in inbox.text


def test_partial_payments_recorded_in_the_console_add_up(console, shop, order):
    # given an unpaid order: the form proposes the whole amount owed
    html = section(console, order)
    assert status_of(html) == "unpaid" and 'value="¥80.00"' in html
    # when 30 yuan is recorded, then the rest
    first = post(console, order, "payments", method="cash", amount="30", reference="现金")
    assert first.status_code == 200, first.text
    assert status_of(first.text) == "partially_paid" and 'value="¥50.00"' in first.text
    second = post(
        console, order, "payments", method="bank_transfer", amount="¥50.00", paid_at="2026-12-07T10:30"
    )
    # then the order is paid, both payments are listed with their trade numbers, and no form is left
    assert status_of(second.text) == "paid"
    assert second.text.count("data-payment=") == 2 and f"{order['number']}" in second.text
    assert "/money/payments" not in second.text
    api = shop.api.get(f"/api/v1/orders/{order['id']}/payments").json()
    assert [(p["method"], p["amount"], p["source"]) for p in api["payments"]] == [
        ("cash", 3000, "manual"),
        ("bank_transfer", 5000, "manual"),
    ]
    assert api["payments"][1]["paid_at"].startswith("2026-12-07T02:30")  # 10:30 in Shanghai


def test_a_bad_amount_is_refused_in_words_and_records_nothing(console, shop, order):
    for amount in ("", "0", "abc", "81"):
        r = post(console, order, "payments", method="cash", amount=amount)
        assert r.status_code in (409, 422), (amount, r.text)
        assert r.headers.get("HX-Retarget") == "#toast"
    assert shop.api.get(f"/api/v1/orders/{order['id']}/payments").json()["paid_amount"] == 0


def test_a_proof_is_recorded_from_the_console_in_one_step(console, shop, guest, order):
    proof = sent(upload(guest, shop, order["id"], screenshot()))
    # the section shows the proof's picture and the one-step form
    html = section(console, order)
    assert f'src="/api/v1/attachments/{proof["attachment_id"]}"' in html
    assert f"/money/proofs/{proof['id']}/record" in html
    # when staff record it
    r = post(
        console, order, f"proofs/{proof['id']}/record", method="wechat", amount="80", reference="4200009"
    )
    # then the order is paid from the proof, and the proof reads recorded
    assert r.status_code == 200, r.text
    assert status_of(r.text) == "paid" and f"/money/proofs/{proof['id']}/record" not in r.text
    api = shop.api.get(f"/api/v1/orders/{order['id']}/payments").json()
    assert [(p["source"], p["reference"]) for p in api["payments"]] == [("proof", "4200009")]


def test_a_proof_is_dismissed_from_the_console_with_a_reason(console, shop, guest, order):
    proof = sent(upload(guest, shop, order["id"], screenshot()))
    blank = post(console, order, f"proofs/{proof['id']}/dismiss", reason="  ")
    assert blank.status_code == 422
    r = post(console, order, f"proofs/{proof['id']}/dismiss", reason="金额对不上")
    assert r.status_code == 200, r.text
    assert "金额对不上" in r.text and status_of(r.text) == "unpaid"
    mine = guest.get(f"/s/{shop.slug}/api/orders/{order['id']}/payment-proofs").json()["items"]
    assert (mine[0]["status"], mine[0]["reason"]) == ("dismissed", "金额对不上")


def test_a_refund_from_the_console_is_held_to_what_was_paid(console, shop, order):
    assert post(console, order, "payments", method="wechat", amount="80").status_code == 200
    # the refund form proposes what may be refunded
    html = section(console, order)
    assert "/money/refunds" in html and 'value="¥80.00"' in html
    too_much = post(console, order, "refunds", method="wechat", amount="80.01")
    assert too_much.status_code == 409 and "refund.exceeds_refundable" in too_much.text
    r = post(console, order, "refunds", method="wechat", amount="20", note="运费退回")
    assert r.status_code == 200, r.text
    assert status_of(r.text) == "partially_refunded" and "运费退回" in r.text


def test_an_agent_sees_the_payment_form_but_not_the_refund_form(app, runtime, shop, order):
    # given the order paid in part, and an agent signed in to the console
    assert (
        shop.api.post(
            f"/api/v1/orders/{order['id']}/payments", json={"method": "cash", "amount": 1000}
        ).status_code
        == 201
    )
    agent = make_member(runtime, shop, role="agent")
    client = sign_in_member(app, agent)
    html = section(client, order)
    # then they may record the rest, not refund
    assert "/money/payments" in html and "/money/refunds" not in html
    assert post(client, order, "refunds", method="cash", amount="1").status_code == 403
    finance = sign_in_member(app, make_member(runtime, shop, role="finance"))
    assert "/money/refunds" in section(finance, order)


def sign_in_member(app, member) -> TestClient:
    """The member's console, signed in through the login form."""
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = client.post("/login", data={"username": member.username, "password": MEMBER_PASSWORD})
    assert r.status_code == 303, r.text
    return client
