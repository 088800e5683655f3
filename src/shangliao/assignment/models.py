"""Presence (who is online) and the round-robin pointers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.storage.base import Base, ShopScoped
from shangliao.storage.types import BigId, UTCDateTime


class StaffPresence(ShopScoped, Base):
    """When a member was last seen (a request or their socket's periodic check), written at most
    once a minute per member and process (assignment/presence.py), never on a request's path."""

    __tablename__ = "staff_presence"
    __table_args__ = (Index("ix_staff_presence_shop_seen", "shop_id", "last_seen_at"),)

    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AssignPointer(ShopScoped, Base):
    """Whom round-robin gave the last new order (or conversation) to: the next goes to the next
    online member after them. Moved in the transaction that assigns, under this row's lock."""

    __tablename__ = "assign_pointers"

    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    target: Mapped[str] = mapped_column(String(16), primary_key=True)  # "order" | "conversation"
    # A plain id, not a key: a member deleted meanwhile only means the turn goes to the next one.
    last_staff_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
