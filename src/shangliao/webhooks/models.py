"""Outbound webhooks: the shop's subscriptions, each delivery of an event to one, and each try."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.core import clock
from shangliao.storage.base import Base, IdMixin, ShopScoped
from shangliao.storage.types import BigId, JsonDoc, UTCDateTime

# What a secret is sealed with (core/keys_data.py lists it, so key rotation re-seals it).
SECRET_CONTEXT = b"webhook_subscriptions.secret"


class WebhookSubscription(IdMixin, ShopScoped, Base):
    """An endpoint of the shop's and the topics it hears. ``secret_enc`` is the signing secret
    sealed under the key ring (shown once, when made or rotated). ``failing_since`` is set by the
    first failure after a success; a subscription failing for ``webhook_disable_after_days`` is
    switched off (``disabled_reason`` "failing") and the owner told."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (Index("ix_webhook_subscriptions_shop", "shop_id", "id"),)

    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(64), default="")
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    topics: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    active_from_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int | None] = mapped_column(BigId, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    __mapper_args__ = {"version_id_col": version}


class WebhookDelivery(IdMixin, ShopScoped, Base):
    """One event on its way to one subscription, with a frozen ``payload`` (the body less its
    ``delivery`` part, added per try). ``dedupe_key`` makes the consumer's insert exactly once:
    ``e<seq>`` for a subscription's topic, ``e<seq>.r<rule>.a<i>`` for a rule's action; a ping and
    a redelivery have none. While ``sending``, ``next_attempt_at`` is the end of the send's lease: a
    worker that dies mid-send leaves it to run out, and the delivery is sent again (same event id)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("uq_webhook_deliveries_key", "subscription_id", "dedupe_key", unique=True),
        Index("ix_webhook_deliveries_sub", "shop_id", "subscription_id", "id"),
        Index(
            "ix_webhook_deliveries_due",
            "status",
            "next_attempt_at",
            postgresql_where=text("status IN ('pending', 'sending')"),
            sqlite_where=text("status IN ('pending', 'sending')"),
        ),
    )

    subscription_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    dedupe_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    event_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    redelivery_of: Mapped[int | None] = mapped_column(BigId, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    # pending, sending, succeeded, dead
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookAttempt(IdMixin, ShopScoped, Base):
    """One try: the response status (none when no answer came), how long it took, what went wrong.
    Nothing of the response body is kept. Pruned after 30 days."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        Index("ix_webhook_attempts_delivery", "delivery_id", "id"),
        Index("ix_webhook_attempts_at", "at"),
    )

    delivery_id: Mapped[int] = mapped_column(BigId, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
