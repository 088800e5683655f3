"""Notifications and each member's preferences."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.core import clock
from shangliao.storage.base import Base, IdMixin, ShopScoped
from shangliao.storage.types import BigId, JsonDoc, UTCDateTime


class Notification(IdMixin, ShopScoped, Base):
    """Something one member should know: ``kind`` about the row ``target_type``/``target_id``.

    ``data`` holds ids, numbers and statuses, never personal data (the list page reads names
    when it shows them). ``count`` grows while a "new message" notification stays unread: one
    per conversation, not one per message.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        # The member's list, newest first (keyset-paged on id; an index reads backwards as well).
        Index("ix_notifications_staff_id", "staff_id", "id"),
        # Their unread ones: the badge's count, and the coalescing of new messages.
        Index(
            "ix_notifications_unread",
            "staff_id",
            "target_type",
            "target_id",
            sqlite_where=text("read_at IS NULL"),
            postgresql_where=text("read_at IS NULL"),
        ),
    )

    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(BigId)
    data: Mapped[dict] = mapped_column(JsonDoc, default=dict)
    count: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class NotificationPreference(ShopScoped, Base):
    """What a member chose to hear: the kinds they muted, and the order statuses they follow.
    No row: the defaults (every kind on, no statuses)."""

    __tablename__ = "notification_preferences"

    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    muted: Mapped[list] = mapped_column(JsonDoc, default=list)
    statuses: Mapped[list] = mapped_column(JsonDoc, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
