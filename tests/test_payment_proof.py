"""Payment proofs (payments/proofs.py): the customer sends a screenshot of their payment from their
order; it is kept re-encoded without metadata, shown in the conversation and on the timeline;
staff record the payment from it in one step or dismiss it with a reason the customer reads."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from shangliao.chat.attachments import INCOMING
from shangliao.chat.models import Attachment, Message
from shangliao.notifications.models import Notification
from shangliao.orders.models import OrderEvent
from shangliao.payments.models import PaymentProof
from tests.support.catalog import make_product
from tests.support.chat import guest_client
from tests.support.orders import make_order
from tests.support.team import make_member


def screenshot(*, exif: bool = True, size=(60, 120)) -> bytes:
    """A phone's screenshot as a JPEG, with an EXIF block naming the phone (and a GPS tag)."""
    out = io.BytesIO()
    image = Image.new("RGB", size, (20, 160, 60))
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "PhoneMaker"  # Make
        tags[0x8825] = {2: (30.0, 15.0, 0.0)}  # GPSInfo
        image.save(out, "JPEG", exif=tags)
    else:
        image.save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def guest(app, shop):
    return guest_client(app, shop, "付款人", "13700005678")


@pytest.fixture
def order(runtime, shop, guest):
    tee = make_product(runtime, shop, name="凭证T恤", stock=10, price=5000)
    return make_order(shop, [(tee.variant_id, 2)], customer_id=guest.customer_id)


def upload(guest, shop, order_id: int, content: bytes, name: str = "截图.jpg", **form):
    return guest.post(
        f"/s/{shop.slug}/api/orders/{order_id}/payment-proofs",
        files={"file": (name, content, "image/jpeg")},
        data=form,
    )


def sent(r) -> dict:
    assert r.status_code == 201, r.text
    return r.json()


def kept(runtime, shop) -> dict:
    """What an upload could leave behind: proof rows, attachments, messages, files."""
    uploads = runtime.settings.uploads_dir
    with runtime.db.read() as session:
        proofs = session.scalar(select(func.count(PaymentProof.id)).where(PaymentProof.shop_id == shop.id))
        files = session.scalar(select(func.count(Attachment.id)).where(Attachment.shop_id == shop.id))
        messages = session.scalar(select(func.count(Message.id)).where(Message.shop_id == shop.id))
    folder = uploads / str(shop.id)
    return {
        "proofs": proofs,
        "attachments": files,
        "messages": messages,
        "files": len(list(folder.iterdir())) if folder.exists() else 0,
        "incoming": len(list((uploads / INCOMING).glob("*"))),
    }


def money(shop, order) -> dict:
    r = shop.api.get(f"/api/v1/orders/{order['id']}/payments")
    assert r.status_code == 200, r.text
    return r.json()


# --- the customer sends a proof ---------------------------------------------------------------------


def test_a_proof_reaches_the_shop_in_the_chat_on_the_timeline_and_as_a_notification(
    runtime, shop, guest, order
):
    # when the customer sends a screenshot with a word for the shop
    proof = sent(upload(guest, shop, order["id"], screenshot(), note="已转账"))
    # then it waits for review, and the shop sees it beside the order
    assert proof["status"] == "pending" and proof["note"] == "已转账"
    listed = shop.api.get(f"/api/v1/orders/{order['id']}/payment-proofs").json()["items"]
    assert [p["id"] for p in listed] == [proof["id"]] and listed[0]["status"] == "pending"
    # and in the conversation, as the customer's photo naming the order and the proof
    messages = shop.api.get(f"/api/v1/conversations/{guest.conversation_id}/messages").json()
    photo = messages[-1]
    assert photo["sender_type"] == "customer" and photo["kind"] == "image"
    assert photo["data"]["order_id"] == order["id"] and photo["data"]["payment_proof"] == proof["id"]
    assert photo["data"]["attachment_id"] == proof["attachment_id"] == listed[0]["attachment_id"]
    # and on the order's timeline, as the customer's
    timeline = shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()
    step = next(e for e in timeline if e["kind"] == "proof_uploaded")
    assert step["actor_type"] == "customer" and step["data"]["proof_id"] == proof["id"]
    # and the owner is told
    with runtime.db.read() as session:
        told = session.scalars(
            select(Notification.kind).where(
                Notification.staff_id == shop.owner_id,
                Notification.target_type == "order",
                Notification.target_id == order["id"],
            )
        ).all()
    assert "payment_proof" in told


def test_the_kept_picture_has_no_metadata_and_both_sides_can_open_it(shop, guest, order):
    # given a screenshot carrying the phone's EXIF (maker, GPS)
    original = screenshot()
    assert b"PhoneMaker" in original
    # when it is sent as a proof
    proof = sent(upload(guest, shop, order["id"], original))
    # then the shop opens it, re-encoded without the EXIF block, upright at its size
    staff_copy = shop.api.get(f"/api/v1/attachments/{proof['attachment_id']}")
    assert staff_copy.status_code == 200 and staff_copy.headers["content-type"] == "image/jpeg"
    assert b"PhoneMaker" not in staff_copy.content and b"Exif" not in staff_copy.content
    assert Image.open(io.BytesIO(staff_copy.content)).size == (60, 120)
    # and so does the customer, from their conversation
    mine = guest.get(f"/s/{shop.slug}/api/attachments/{proof['attachment_id']}")
    assert mine.status_code == 200 and mine.content == staff_copy.content


def test_what_is_not_a_picture_is_refused_and_nothing_is_kept(runtime, shop, guest, order):
    before = kept(runtime, shop)
    # when the customer sends a PDF, then a text file named like a photo
    for content, name in ((b"%PDF-1.4\n%%EOF\n", "回单.pdf"), ("转账成功".encode(), "截图.jpg")):
        r = upload(guest, shop, order["id"], content, name)
        # then each is refused, saying a proof is a picture
        assert r.status_code == 422 and r.json()["error"]["code"] == "payment_proof.not_image", r.text
    # and nothing is left behind
    assert kept(runtime, shop) == before


def test_an_oversized_proof_is_refused_and_nothing_is_kept(runtime, shop, guest, order, monkeypatch):
    # given a small upload limit
    monkeypatch.setattr(runtime.settings, "max_upload_bytes", 2048)
    before = kept(runtime, shop)
    # when the customer sends a picture larger than it
    big = screenshot(exif=False, size=(400, 400)) + b"\0" * 4096
    r = upload(guest, shop, order["id"], big)
    # then it is refused as too large, and nothing is left behind
    assert r.status_code == 413 and r.json()["error"]["code"] == "attachment.too_large"
    assert kept(runtime, shop) == before


def test_another_customers_order_is_not_found(app, runtime, shop, order):
    # given another customer's device on the shop page
    stranger = guest_client(app, shop, "路人", "13700009999")
    before = kept(runtime, shop)
    # when it sends a proof for an order that is not theirs, or lists its proofs
    r = upload(stranger, shop, order["id"], screenshot())
    listed = stranger.get(f"/s/{shop.slug}/api/orders/{order['id']}/payment-proofs")
    # then the order does not exist for it, and nothing is kept
    assert r.status_code == 404 and r.json()["error"]["code"] == "order.not_found"
    assert listed.status_code == 404
    assert kept(runtime, shop) == before


def test_without_a_visitor_cookie_a_proof_is_refused(app, shop, order):
    anonymous = TestClient(app, raise_server_exceptions=False)
    r = upload(anonymous, shop, order["id"], screenshot())
    assert r.status_code == 401


def test_a_paid_order_takes_no_proof(shop, guest, order):
    # given the order paid in full
    r = shop.api.post(
        f"/api/v1/orders/{order['id']}/payments", json={"method": "cash", "amount": order["total"]}
    )
    assert r.status_code == 201, r.text
    # when the customer sends a proof
    r = upload(guest, shop, order["id"], screenshot())
    # then there is nothing to prove
    assert r.status_code == 409 and r.json()["error"]["code"] == "payment_proof.nothing_owed"


def test_a_customer_cannot_pile_up_proofs_waiting_for_review(shop, guest, order):
    for _ in range(3):
        sent(upload(guest, shop, order["id"], screenshot()))
    r = upload(guest, shop, order["id"], screenshot())
    assert r.status_code == 409 and r.json()["error"]["code"] == "payment_proof.too_many_pending"


# --- the shop records or dismisses it -----------------------------------------------------------------


def record(client, order, proof, **body):
    return client.post(
        f"/api/v1/orders/{order['id']}/payment-proofs/{proof['id']}/record",
        json={"method": "wechat", "amount": order["total"], **body},
    )


def test_recording_from_a_proof_pays_the_order_and_links_the_proof(shop, guest, order):
    proof = sent(upload(guest, shop, order["id"], screenshot()))
    # when staff record the payment it shows, in one step
    r = record(shop.api, order, proof, reference="4200001234")
    # then the order is paid, and the proof is recorded and names the payment
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["status"] == "recorded" and answer["payment_id"] is not None
    assert answer["order"]["payment_status"] == "paid" and answer["order"]["paid_amount"] == order["total"]
    paid = money(shop, order)["payments"]
    assert [(p["id"], p["source"], p["reference"]) for p in paid] == [
        (answer["payment_id"], "proof", "4200001234")
    ]
    assert paid[0]["out_trade_no"].startswith(order["number"])
    # and the timeline says paid and recorded from the proof
    kinds = [e["kind"] for e in shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()]
    assert "paid" in kinds and "proof_recorded" in kinds
    # and the customer reads the proof recorded, the order paid
    mine = guest.get(f"/s/{shop.slug}/api/orders/{order['id']}/payment-proofs").json()["items"]
    assert mine[0]["status"] == "recorded"
    assert guest.get(f"/s/{shop.slug}/api/orders/{order['id']}").json()["payment_status"] == "paid"


def test_recording_more_than_is_owed_is_refused_and_changes_nothing(shop, guest, order):
    proof = sent(upload(guest, shop, order["id"], screenshot()))
    # when staff record more than the order still owes
    r = record(shop.api, order, proof, amount=order["total"] + 1)
    # then it is refused, the proof still waits and nothing is paid
    assert r.status_code == 409 and r.json()["error"]["code"] == "payment.exceeds_outstanding"
    listed = shop.api.get(f"/api/v1/orders/{order['id']}/payment-proofs").json()["items"]
    assert listed[0]["status"] == "pending" and listed[0]["payment_id"] is None
    assert money(shop, order)["paid_amount"] == 0


def test_a_reviewed_proof_is_not_reviewed_twice(shop, guest, order):
    proof = sent(upload(guest, shop, order["id"], screenshot()))
    assert record(shop.api, order, proof, amount=1000).status_code == 200
    # when it is recorded again, or dismissed afterwards
    again = record(shop.api, order, proof, amount=1000)
    dismissed = shop.api.post(
        f"/api/v1/orders/{order['id']}/payment-proofs/{proof['id']}/dismiss", json={"reason": "重复"}
    )
    # then both are refused and the money is counted once
    assert again.status_code == 409 and again.json()["error"]["code"] == "payment_proof.already_reviewed"
    assert dismissed.status_code == 409
    assert money(shop, order)["paid_amount"] == 1000


def test_a_dismissed_proof_tells_the_customer_why_and_they_may_send_another(runtime, shop, guest, order):
    proof = sent(upload(guest, shop, order["id"], screenshot()))
    # when staff dismiss it with a reason
    r = shop.api.post(
        f"/api/v1/orders/{order['id']}/payment-proofs/{proof['id']}/dismiss",
        json={"reason": "未收到这笔转账"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dismissed" and r.json()["order"]["paid_amount"] == 0
    # then the customer reads it dismissed with the reason
    mine = guest.get(f"/s/{shop.slug}/api/orders/{order['id']}/payment-proofs").json()["items"]
    assert (mine[0]["status"], mine[0]["reason"]) == ("dismissed", "未收到这笔转账")
    # and the dismissal is on the timeline
    with runtime.db.read() as session:
        steps = session.scalars(
            select(OrderEvent.kind).where(
                OrderEvent.order_id == order["id"], OrderEvent.kind == "proof_dismissed"
            )
        ).all()
    assert steps == ["proof_dismissed"]
    # and they may send another one
    assert sent(upload(guest, shop, order["id"], screenshot()))["status"] == "pending"


def test_a_proof_of_another_order_is_not_found(runtime, shop, guest, order):
    proof = sent(upload(guest, shop, order["id"], screenshot()))
    tee = make_product(runtime, shop, name="另一件", stock=5, price=1000)
    other = make_order(shop, [(tee.variant_id, 1)])
    r = record(shop.api, other, proof, amount=100)
    assert r.status_code == 404 and r.json()["error"]["code"] == "payment_proof.not_found"


def test_an_agent_records_from_a_proof_and_a_warehouse_member_may_not(runtime, shop, guest, order):
    proof = sent(upload(guest, shop, order["id"], screenshot()))
    warehouse = make_member(runtime, shop, role="warehouse")
    refused = record(warehouse, order, proof, amount=100)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "auth.forbidden"
    agent = make_member(runtime, shop, role="agent")
    assert record(agent, order, proof, amount=100).status_code == 200
