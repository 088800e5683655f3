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
