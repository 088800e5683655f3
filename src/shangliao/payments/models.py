"""A shop's payment methods and the attempts to collect an order's money through a provider."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.core import clock
from shangliao.storage.base import Base, EvidenceScoped, IdMixin, ShopScoped, TimestampMixin
from shangliao.storage.types import BigId, JsonDoc, UTCDateTime

# The kinds a shop may configure, one row each (payments/methods.py says what each holds).
METHOD_KINDS = ("wechat", "alipay", "bank", "gateway")


class PaymentMethod(IdMixin, ShopScoped, TimestampMixin, Base):
    """One way a shop takes money. ``settings`` holds what may be shown to staff (merchant ids,
    the bank account, a static 收款码 image, the platform public keys); ``secrets_enc`` holds what
    must never leave the server (the APIv3 key, private keys, a gateway's HMAC secret), sealed
    with the shop's keyring (rule 12 of docs/architecture.md) and never answered by the API."""

    __tablename__ = "payment_methods"
    __table_args__ = (Index("uq_payment_methods_shop_kind", "shop_id", "kind", unique=True),)

    kind: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    settings: Mapped[dict] = mapped_column(JsonDoc, default=dict)
    secrets_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class PaymentAttempt(IdMixin, EvidenceScoped, Base):
    """One request for an order's money through a provider, with its own ``out_trade_no`` (rule 6
    of docs/architecture.md): a native QR asked of WeChat Pay or Alipay, or a gateway's checkout.
    A verified notification finds its order and expected amount here."""

    __tablename__ = "payment_attempts"
    __table_args__ = (
        Index("uq_payment_attempts_shop_trade_no", "shop_id", "out_trade_no", unique=True),
        Index("ix_payment_attempts_order", "order_id", "id"),
        CheckConstraint("amount > 0", name="attempt_amount_positive"),
    )

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="RESTRICT"))
    method: Mapped[str] = mapped_column(String(16))
    out_trade_no: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    # "open" (waiting for the customer), "paid", "closed" (superseded or expired), "failed"
    status: Mapped[str] = mapped_column(String(16), default="open")
    # What the provider answered to draw as a QR (WeChat ``code_url``, Alipay ``qr_code``).
    code_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# What became of a provider's notification (payments/notifications.py).
NOTIFICATION_OUTCOMES = (
    "applied",
    "duplicate",
    "bad_signature",
    "stale",
    "mismatch",
    "unknown_trade",
    "malformed",
    "ignored",  # verified, but of a trade or refund that did not succeed: nothing to apply
)


class PaymentNotification(IdMixin, ShopScoped, Base):
    """One notification a provider (or someone pretending to be one) sent to a shop's URL, and
    what became of it: finance reads why an order was or was not marked paid. Never the raw body
    nor anything personal: the ids, the amount, the sender's address and a digest of the body."""

    __tablename__ = "payment_notifications"
    __table_args__ = (
        Index("ix_payment_notifications_shop", "shop_id", "id"),
        Index("ix_payment_notifications_shop_outcome", "shop_id", "outcome", "id"),
    )

    provider: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    outcome: Mapped[str] = mapped_column(String(16))
    # "payment" or "refund" once the body could be read.
    kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    out_trade_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    amount: Mapped[int | None] = mapped_column(Integer, nullable=True)
    order_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    remote_address: Mapped[str] = mapped_column(String(64), default="")
    body_digest: Mapped[str] = mapped_column(String(64), default="")
    # A dotted code saying why it was refused or not applied ("notify.amount_mismatch" …).
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)


# A proof's review: waiting for staff, recorded as a payment, or dismissed (the customer may send another).
PROOF_STATUSES = ("pending", "recorded", "dismissed")


class PaymentProof(IdMixin, EvidenceScoped, Base):
    """A payment screenshot a customer sent for their order (payments/proofs.py). The picture is a
    file of the conversation (an ``Attachment`` of the message that showed it to the shop), so it
    is kept and served like any chat photo; this row is its review: recorded as ``payment_id``, or
    dismissed with a reason the customer reads. Evidence: every key is RESTRICT (rule 17)."""

    __tablename__ = "payment_proofs"
    __table_args__ = (
        Index("ix_payment_proofs_order", "order_id", "id"),
        Index("ix_payment_proofs_shop_status", "shop_id", "status", "id"),
    )

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="RESTRICT"))
    # Who sent it is the attachment's sender (the order's customer then): no key to customers, so a
    # merge of two customers moves nothing here.
    attachment_id: Mapped[int] = mapped_column(BigId, ForeignKey("attachments.id", ondelete="RESTRICT"))
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="RESTRICT"), nullable=True
    )
    note: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    payment_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("payments.id", ondelete="RESTRICT"), nullable=True
    )
    reviewed_by: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("staff.id", ondelete="RESTRICT"), nullable=True
    )
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
