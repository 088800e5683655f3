"""Customers. Phones and addresses are stored encrypted (AES-GCM); phones are found by keyed hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shangliao.storage.base import Base, IdMixin, ShopScoped, TimestampMixin
from shangliao.storage.types import BigId, JsonDoc, UTCDateTime


class Customer(IdMixin, ShopScoped, TimestampMixin, Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_shop_name", "shop_id", "name"),
        Index("ix_customers_shop_last_order", "shop_id", "last_order_at"),
    )

    name: Mapped[str] = mapped_column(String(64))
    tags: Mapped[list] = mapped_column(JsonDoc, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    first_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Orders placed (submitted, i.e. not drafts; cancelled ones included) and money actually paid.
    order_count: Mapped[int] = mapped_column(Integer, default=0)
    total_spent: Mapped[int] = mapped_column(Integer, default=0)

    phones: Mapped[list[CustomerPhone]] = relationship(
        back_populates="customer", order_by="CustomerPhone.id", cascade="all, delete-orphan"
    )
    addresses: Mapped[list[CustomerAddress]] = relationship(
        back_populates="customer", order_by="CustomerAddress.id", cascade="all, delete-orphan"
    )


class CustomerPhone(IdMixin, ShopScoped, Base):
    __tablename__ = "customer_phones"
    __table_args__ = (
        Index("uq_customer_phones_shop_hash", "shop_id", "phone_hash", unique=True),
        Index("ix_customer_phones_shop_last4", "shop_id", "last4_hash"),
        Index("ix_customer_phones_customer", "customer_id"),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    last4_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)

    customer: Mapped[Customer] = relationship(back_populates="phones")


class CustomerAddress(IdMixin, ShopScoped, TimestampMixin, Base):
    """The whole address (receiver, phone, region, detail) is one encrypted JSON document."""

    __tablename__ = "customer_addresses"
    __table_args__ = (Index("ix_customer_addresses_customer", "customer_id"),)

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    data_enc: Mapped[bytes] = mapped_column(LargeBinary)
    label: Mapped[str] = mapped_column(String(32), default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    customer: Mapped[Customer] = relationship(back_populates="addresses")
