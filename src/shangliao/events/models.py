"""The durable event log: one row per domain change, numbered per shop (rule 8 of docs/architecture.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.core import clock
from shangliao.storage.base import Base, IdMixin, ShopScoped
from shangliao.storage.types import BigId, JsonDoc, UTCDateTime


class EventLogEntry(IdMixin, ShopScoped, Base):
    """Ids and types only, never PII (rule 8 of docs/architecture.md): consumers load what they need and may see."""

    __tablename__ = "event_log"
    __table_args__ = (Index("uq_event_log_shop_seq", "shop_id", "seq", unique=True),)

    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    data: Mapped[dict] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
