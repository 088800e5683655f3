"""After-sales requests and their lines. Both are evidence of what was promised to a customer, so
their keys are RESTRICT (rule 17 of docs/architecture.md) and nothing deletes them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shangliao.core import clock
from shangliao.storage.base import Base, EvidenceScoped, IdMixin
from shangliao.storage.types import BigId, JsonDoc, UTCDateTime


class AfterSale(IdMixin, EvidenceScoped, Base):
    """One request: what the customer asked for, what the shop decided, the return parcel and how
    it was settled (``aftersales/service.py`` holds the states)."""

    __tablename__ = "aftersales"
    __table_args__ = (
        Index("uq_aftersales_shop_number", "shop_id", "number", unique=True),
        Index("ix_aftersales_order", "order_id", "id"),
        # The console's 售后 tab and its count read the shop's open requests through this.
        Index("ix_aftersales_shop_status", "shop_id", "status", "id"),
        CheckConstraint("requested_amount >= 0", name="aftersale_amount_nonnegative"),
    )

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="RESTRICT"))
    conversation_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="RESTRICT"), nullable=True
    )
    # The order's number and "A01", "A02" …: what the customer and the shop quote to each other.
    number: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))  # refund_only | return_refund | exchange
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(24))
    customer_note: Mapped[str] = mapped_column(Text, default="")
    # Attachment ids of photos the customer sent in the conversation (the chat's photo pipeline).
    photos: Mapped[list] = mapped_column(JsonDoc, default=list)
    requested_amount: Mapped[int] = mapped_column(Integer, default=0)
    return_carrier: Mapped[str | None] = mapped_column(String(16), nullable=True)
    return_tracking: Mapped[str | None] = mapped_column(String(40), nullable=True)
    refund_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("refunds.id", ondelete="RESTRICT"), nullable=True
    )
    parcel_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("parcels.id", ondelete="RESTRICT"), nullable=True
    )
    # What the shop told the customer with its decision (shown on the card).
    staff_message: Mapped[str] = mapped_column(String(500), default="")
    # The live card in the conversation: it redraws from this row whenever the request changes.
    card_message_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    decided_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="RESTRICT"))
    received_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    return_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    # A stale version is a 409 (rule 11 of docs/architecture.md), as for orders.
    __mapper_args__ = {"version_id_col": version}

    lines: Mapped[list[AfterSaleLine]] = relationship(order_by="AfterSaleLine.id")


class AfterSaleLine(IdMixin, EvidenceScoped, Base):
    """How many of one order line the request covers; an exchange names the replacement variant,
    and arrival records whether the returned goods went back on the shelf."""

    __tablename__ = "aftersale_lines"
    __table_args__ = (
        Index("ix_aftersale_lines_request", "aftersale_id"),
        Index("ix_aftersale_lines_item", "order_item_id"),
        CheckConstraint("quantity > 0", name="aftersale_quantity_positive"),
    )

    aftersale_id: Mapped[int] = mapped_column(BigId, ForeignKey("aftersales.id", ondelete="RESTRICT"))
    order_item_id: Mapped[int] = mapped_column(BigId, ForeignKey("order_items.id", ondelete="RESTRICT"))
    quantity: Mapped[int] = mapped_column(Integer)
    replacement_variant_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("variants.id", ondelete="SET NULL"), nullable=True
    )
    # Decided when the return arrives: back into stock, or not (damaged).
    restock: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
