"""Payment proofs: the customer's screenshot of a transfer, and the shop's review of it.

A customer who paid outside Shangliao (a static 收款码, a bank transfer) sends a screenshot from
their order. It is received like any photo (``chat/attachments.py``: streamed under the size
limit, its type judged from its bytes), then re-encoded like a product photo (``catalog/images.py``:
turned upright, its EXIF, GPS and other metadata dropped) outside the writer (rule 16 of
docs/architecture.md). The picture becomes a photo message of the customer's conversation, so the
staff reading the chat see it and it is kept and served as chat evidence (rule 17); the
``PaymentProof`` row beside it is its review:

- **recorded**: staff record the payment from it in one step (``do_mark_paid(source="proof")``),
  and the proof names that payment;
- **dismissed**: staff say why; the customer reads that the shop did not confirm it and may send
  another.

Each step is on the order's timeline (``order.proof_*`` events: the staff's order panels redraw,
and a dismissal redraws the customer's card).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.catalog import images
from shangliao.chat import service as chat
from shangliao.chat.attachments import Upload, message_data, place_file
from shangliao.chat.models import Attachment
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.digests import file_sha256
from shangliao.core.errors import Conflict, Invalid, NotFound
from shangliao.core.i18n import N_
from shangliao.orders import actions
from shangliao.orders.models import Order, Payment
from shangliao.orders.state import Status
from shangliao.orders.timeline import check_not_archived, record_change
from shangliao.payments.models import PaymentProof
from shangliao.storefront.orders import access_guest_order
from shangliao.storefront.visitors import Guest

# Proofs waiting for review on one order: a customer who sent one too few may send another, a
# script cannot fill the order page with them.
MAX_PENDING = 3
# The message data's key naming the proof (the inbox and the chat show it as a payment proof).
PROOF_KEY = "payment_proof"


def proof_not_found() -> NotFound:
    return NotFound("payment_proof.not_found", N_("No such payment proof."))


# --- receiving (outside the writer) -----------------------------------------------------------------


@dataclass
class ProofPhoto:
    """A proof re-encoded into a temporary file; :meth:`discard` removes whatever of it exists."""

    path: Path
    mime: str
    width: int
    height: int
    size: int
    sha256: str
    placed: Path | None = None

    def discard(self) -> None:
        for path in (self.path, self.placed):
            if path is not None:
                path.unlink(missing_ok=True)


def encode_proof(upload: Upload, uploads_dir: Path) -> ProofPhoto:
    """The upload as a clean photo (no metadata), or a refusal that names a proof, not a product."""
    try:
        encoded = images.encode(upload, uploads_dir)
    except Invalid as exc:
        if exc.code == "product_image.too_many_pixels":
            raise Invalid(
                "payment_proof.too_many_pixels",
                N_("The picture is too large: at most {megapixels} megapixels."),
                megapixels=images.MAX_PIXELS // 1_000_000,
            ) from None
        raise Invalid(
            "payment_proof.not_image",
            N_("A payment proof must be a picture (JPEG, PNG, GIF or WebP): a screenshot of the payment."),
        ) from None
    photo, thumb = encoded.files
    thumb.unlink(missing_ok=True)  # the chat shows the photo itself: no thumbnail is kept
    width, height = encoded.sizes[0]
    return ProofPhoto(
        path=photo,
        mime=encoded.mime,
        width=width,
        height=height,
        size=photo.stat().st_size,
        sha256=file_sha256(photo),
    )


# --- the customer's side ------------------------------------------------------------------------------


def check_takes_proof(session: Session, order: Order) -> None:
    """A proof is for money still owed, on an order that can take a payment."""
    if order.status in (Status.DRAFT, Status.CANCELLED) or order.archived_at is not None:
        raise Conflict("payment_proof.order_not_payable", N_("This order cannot take a payment."))
    if order.paid_amount >= order.total:
        raise Conflict("payment_proof.nothing_owed", N_("This order is already paid."))
    pending = session.scalar(
        select(func.count())
        .select_from(PaymentProof)
        .where(PaymentProof.order_id == order.id, PaymentProof.status == "pending")
    )
    if pending >= MAX_PENDING:
        raise Conflict(
            "payment_proof.too_many_pending",
            N_("The shop has not yet looked at the proofs you sent. Please wait for them."),
        )


def do_upload_proof(
    session: Session,
    keyring: Keyring,
    uploads_dir: Path,
    guest: Guest,
    timezone: str,
    order_id: int,
    photo: ProofPhoto,
    note: str,
) -> PaymentProof:
    """Keep ``photo`` as the proof of ``order_id`` (one of the visitor's orders, else 404), show it
    in the conversation and on the timeline. The file is placed before the caller commits: if the
    commit fails the caller must :meth:`ProofPhoto.discard` it."""
    order = access_guest_order(session, guest, order_id, lock=True)
    check_takes_proof(session, order)
    # Locked before the message is numbered, as an attachment's send does.
    chat.lock_conversation(session, guest.shop_id, guest.conversation_id)
    now = clock.now()
    attachment = Attachment(
        shop_id=guest.shop_id,
        conversation_id=guest.conversation_id,
        sender_type="customer",
        sender_id=guest.customer_id,
        kind="image",
        mime=photo.mime,
        size=photo.size,
        sha256=photo.sha256,
        storage_key=secrets.token_hex(16),
        name=f"{order.number}-payment.{'png' if photo.mime == 'image/png' else 'jpg'}",
        width=photo.width,
        height=photo.height,
        created_at=now,
    )
    session.add(attachment)
    proof = PaymentProof(
        shop_id=order.shop_id, order_id=order.id, note=note, status="pending", created_at=now
    )
    session.flush()
    proof.attachment_id = attachment.id
    session.add(proof)
    session.flush()
    photo.placed = place_file(photo.path, uploads_dir, guest.shop_id, attachment.storage_key)
    sent = chat.do_send(
        session,
        keyring,
        guest.shop_id,
        guest.conversation_id,
        sender_type="customer",
        sender_id=guest.customer_id,
        kind="image",
        data=message_data(attachment) | {"order_id": order.id, PROOF_KEY: proof.id},
    )
    attachment.message_id = sent.id
    proof.message_id = sent.id
    record_change(
        session,
        order,
        Actor.customer(guest.shop_id, guest.customer_id, timezone),
        "proof_uploaded",
        data={"proof_id": proof.id, "attachment_id": attachment.id},
        event_data={"proof_id": proof.id},
    )
    return proof


def guest_proofs(session: Session, guest: Guest, order_id: int) -> list[PaymentProof]:
    order = access_guest_order(session, guest, order_id)
    return proofs_of(session, order)


def public_proof(proof: PaymentProof) -> dict[str, Any]:
    """What the customer reads of their proof: its review, never who reviewed it."""
    return {
        "id": proof.id,
        "status": proof.status,
        "attachment_id": proof.attachment_id,
        "note": proof.note,
        "reason": proof.reason if proof.status == "dismissed" else "",
        "created_at": proof.created_at,
        "reviewed_at": proof.reviewed_at,
    }


# --- the shop's side ----------------------------------------------------------------------------------


def proofs_of(session: Session, order: Order) -> list[PaymentProof]:
    return list(
        session.scalars(
            select(PaymentProof)
            .where(PaymentProof.shop_id == order.shop_id, PaymentProof.order_id == order.id)
            .order_by(PaymentProof.id.desc())
        )
    )


def access_proof(session: Session, order: Order, proof_id: int, *, lock: bool = False) -> PaymentProof:
    """A proof of ``order`` (which the caller loaded in their scope); any other is 404."""
    stmt = select(PaymentProof).where(
        PaymentProof.id == proof_id,
        PaymentProof.shop_id == order.shop_id,
        PaymentProof.order_id == order.id,
    )
    proof = session.scalar(stmt.with_for_update() if lock else stmt)
    if proof is None:
        raise proof_not_found()
    return proof


def _check_pending(proof: PaymentProof) -> None:
    if proof.status != "pending":
        raise Conflict("payment_proof.already_reviewed", N_("This payment proof was already reviewed."))


def do_record_from_proof(
    session: Session,
    actor: Actor,
    order: Order,
    proof: PaymentProof,
    *,
    method: str,
    amount: int,
    reference: str,
    note: str,
    paid_at: datetime | None,
) -> Payment:
    """Record the payment the proof shows (the caller locked the order): one step, the proof
    linked to it. More than is owed is refused by ``do_record_payment`` and nothing changes."""
    _check_pending(proof)
    actions.do_mark_paid(
        session,
        actor,
        order,
        method=method,
        amount=amount,
        reference=reference,
        note=note,
        paid_at=paid_at,
        source="proof",
    )
    # The payment just written: the newest of this order, under its lock.
    payment = session.scalar(
        select(Payment).where(Payment.order_id == order.id).order_by(Payment.id.desc()).limit(1)
    )
    assert payment is not None
    _review(proof, actor, "recorded")
    proof.payment_id = payment.id
    record_change(
        session,
        order,
        actor,
        "proof_recorded",
        data={"proof_id": proof.id, "payment_id": payment.id},
        event_data={"proof_id": proof.id, "payment_id": payment.id},
    )
    return payment


def do_dismiss_proof(session: Session, actor: Actor, order: Order, proof: PaymentProof, reason: str) -> None:
    """The shop could not find this money: the customer reads why and may send another proof."""
    check_not_archived(order)
    _check_pending(proof)
    reason = reason.strip()
    if not reason:
        raise Invalid("payment_proof.reason_required", N_("Say why, so the customer knows what to do."))
    _review(proof, actor, "dismissed")
    proof.reason = reason
    record_change(
        session,
        order,
        actor,
        "proof_dismissed",
        data={"proof_id": proof.id, "reason": reason},
        event_data={"proof_id": proof.id},
    )


def _review(proof: PaymentProof, actor: Actor, status: str) -> None:
    proof.status = status
    proof.reviewed_by = actor.staff_id
    proof.reviewed_at = clock.now()


def proof_dict(proof: PaymentProof) -> dict[str, Any]:
    """A proof as staff read it (the picture is ``GET /api/v1/attachments/{attachment_id}``)."""
    return {
        "id": proof.id,
        "order_id": proof.order_id,
        "status": proof.status,
        "attachment_id": proof.attachment_id,
        "message_id": proof.message_id,
        "note": proof.note,
        "payment_id": proof.payment_id,
        "reviewed_by": proof.reviewed_by,
        "reviewed_at": proof.reviewed_at,
        "reason": proof.reason,
        "created_at": proof.created_at,
    }
