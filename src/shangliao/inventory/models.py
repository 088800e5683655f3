"""The stock ledger: one row per movement, so on-hand and reserved can be re-derived and audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.core import clock
from shangliao.storage.base import Base, IdMixin, ShopScoped
from shangliao.storage.types import BigId, UTCDateTime


class StockMovement(IdMixin, ShopScoped, Base):
    """``sum(on_hand_delta)`` equals the variant's on_hand, likewise reserved and backorder."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_variant", "variant_id", "id"),
        Index("ix_stock_movements_order", "order_id"),
    )

    variant_id: Mapped[int] = mapped_column(BigId, ForeignKey("variants.id", ondelete="CASCADE"))
    # reserve | release | deduct | adjust | backorder | backorder_release
    kind: Mapped[str] = mapped_column(String(24))
    on_hand_delta: Mapped[int] = mapped_column(Integer, default=0)
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    backorder_delta: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(200), default="")
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
