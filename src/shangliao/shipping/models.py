"""Parcels: an order ships in one or several, each with its courier, number and items."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.core import clock
from shangliao.storage.base import Base, EvidenceScoped, IdMixin, ShopScoped, TimestampMixin
from shangliao.storage.types import BigId, JsonDoc, UTCDateTime


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


class ShippingTemplate(IdMixin, ShopScoped, TimestampMixin, Base):
    """运费模板: how a group of products is charged for delivery (``shipping/fees.py`` works it out).

    ``basis`` "piece" counts pieces, "weight" grams. The default rule charges ``first_fee`` for the
    first ``first_units`` and ``further_fee`` for each started ``further_units`` after that;
    ``province_rules`` (``[{"provinces": ["330000", …], "first_fee": …, "further_fee": …}]``)
    replace the two fees for their provinces (GB/T 2260 province codes, ``addresses/divisions.py``).
    Settings, not evidence: an order keeps the fee it was charged, so a template may be deleted."""

    __tablename__ = "shipping_templates"
    __table_args__ = (
        Index("uq_shipping_templates_shop_name", "shop_id", "name", unique=True),
        CheckConstraint(
            "first_units > 0 AND further_units > 0 AND first_fee >= 0 AND further_fee >= 0",
            name="shipping_template_units",
        ),
    )

    name: Mapped[str] = mapped_column(String(40))
    basis: Mapped[str] = mapped_column(String(8), default="piece")
    first_units: Mapped[int] = mapped_column(Integer, default=1)
    first_fee: Mapped[int] = mapped_column(Integer, default=0)
    further_units: Mapped[int] = mapped_column(Integer, default=1)
    further_fee: Mapped[int] = mapped_column(Integer, default=0)
    province_rules: Mapped[list] = mapped_column(JsonDoc, default=list)
    # 包邮: free when the group's goods reach this amount (fen) or this many pieces; None = never.
    free_over_amount: Mapped[int | None] = mapped_column(Integer, nullable=True)
    free_over_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # 不配送地区: province codes an order of these goods cannot be sent to.
    excluded_provinces: Mapped[list] = mapped_column(JsonDoc, default=list)
    # The shop's default: charged for products that name no template (one per shop at most).
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
