"""Shops (tenants) and their per-shop counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.core import clock
from shangliao.storage.base import Base, IdMixin
from shangliao.storage.types import BigId, JsonDoc, UTCDateTime


class Shop(IdMixin, Base):
    __tablename__ = "shops"

    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    settings: Mapped[dict] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ShopCounter(Base):
    """Per-shop sequences, bumped inside the writing transaction.

    The row lock taken by the ``UPDATE … RETURNING`` orders concurrent commits, so a reader that
    replays "events after N" can never miss an event that committed late (rule 8 of docs/architecture.md). Order numbers
    restart every local day, hence ``order_day``.
    """

    __tablename__ = "shop_counters"

    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    event_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    order_day: Mapped[str] = mapped_column(String(6), default="")
    order_seq: Mapped[int] = mapped_column(Integer, default=0)
