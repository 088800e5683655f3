"""Parcels: an order ships in one or several, each with its courier, number and items."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.core import clock
from shangliao.storage.base import Base, EvidenceScoped, IdMixin
from shangliao.storage.types import BigId, UTCDateTime


class Parcel(IdMixin, EvidenceScoped, Base):
    """One parcel sent for an order: its share of the order's items (``kind`` "order"), or the
    replacement of an exchange (``kind`` "exchange", ``aftersale_id`` set). Evidence of what left
    the shop, so it is never deleted with its order."""

    __tablename__ = "parcels"
    __table_args__ = (
        Index("ix_parcels_order", "order_id", "seq"),
        Index("uq_parcels_order_seq", "order_id", "seq", unique=True),
        Index("ix_parcels_shop_tracking", "shop_id", "tracking_number"),
    )

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="RESTRICT"))
    # 1, 2, … within the order: "包裹 2".
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), default="order")
    aftersale_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    carrier_code: Mapped[str] = mapped_column(String(16))
    tracking_number: Mapped[str] = mapped_column(String(40))
    shipped_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="RESTRICT"))
    shipped_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Signed for: by staff (``delivered_by`` "staff") or the customer's 确认收货 ("customer").
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_by: Mapped[str | None] = mapped_column(String(16), nullable=True)


class ParcelItem(IdMixin, EvidenceScoped, Base):
    """How many of an order line a parcel holds (an exchange's replacement names its variant and
    carries a snapshot instead, with no order line)."""

    __tablename__ = "parcel_items"
    __table_args__ = (
        Index("ix_parcel_items_parcel", "parcel_id"),
        Index("ix_parcel_items_order_item", "order_item_id"),
        CheckConstraint("quantity > 0", name="parcel_quantity_positive"),
    )

    parcel_id: Mapped[int] = mapped_column(BigId, ForeignKey("parcels.id", ondelete="RESTRICT"))
    order_item_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("order_items.id", ondelete="RESTRICT"), nullable=True
    )
    variant_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("variants.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(120))
    spec: Mapped[str] = mapped_column(String(255), default="")
    quantity: Mapped[int] = mapped_column(Integer)
