"""Customers. Phones and addresses are stored encrypted (AES-GCM); phones are found by keyed hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shangliao.storage.base import Base, IdMixin, ShopScoped, TimestampMixin
from shangliao.storage.types import BigId, UTCDateTime


class Customer(IdMixin, ShopScoped, TimestampMixin, Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_shop_id", "shop_id", "id"),
        Index("ix_customers_shop_name", "shop_id", "name"),
        Index("ix_customers_shop_last_order", "shop_id", "last_order_at"),
        # The dashboard's top buyers (stats/customers.py): read in order, never sorted.
        Index("ix_customers_shop_spent", "shop_id", "total_spent"),
    )

    name: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    first_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Orders placed (submitted, i.e. not drafts; cancelled ones included) and money actually paid.
    order_count: Mapped[int] = mapped_column(Integer, default=0)
    total_spent: Mapped[int] = mapped_column(BigInteger, default=0)
    # Bumped by every edit of name, tags, note or blocked; a PATCH carrying an older one gets 409
    # (rule 11 of docs/architecture.md). Checked under a row lock in the service rather than with the ORM's version_id_col,
    # so the orders domain's counter updates never fail with a stale-data error.
    version: Mapped[int] = mapped_column(Integer, default=1)

    phones: Mapped[list[CustomerPhone]] = relationship(
        back_populates="customer", order_by="CustomerPhone.id", cascade="all, delete-orphan"
    )
    addresses: Mapped[list[CustomerAddress]] = relationship(
        back_populates="customer", order_by="CustomerAddress.id", cascade="all, delete-orphan"
    )
    tag_rows: Mapped[list[CustomerTag]] = relationship(
        order_by="CustomerTag.tag", cascade="all, delete-orphan"
    )

    @property
    def tags(self) -> list[str]:
        # Sorted here, not only by the relationship's ORDER BY: the list is also read right after an
        # edit, before any reload, and database collations sort Chinese differently.
        return sorted(t.tag for t in self.tag_rows)


class CustomerTag(ShopScoped, Base):
    """One row per tag (as ``order_tags``): "customers tagged VIP" is an index lookup on both databases."""

    __tablename__ = "customer_tags"
    __table_args__ = (Index("ix_customer_tags_shop_tag", "shop_id", "tag", "customer_id"),)

    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(32), primary_key=True)


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
