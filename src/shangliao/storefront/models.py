"""One-time codes that let a device prove it holds the phone it typed (``storefront/phone_codes.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.core import clock
from shangliao.storage.base import Base, IdMixin, ShopScoped
from shangliao.storage.types import BigId, UTCDateTime


class PhoneCode(IdMixin, ShopScoped, Base):
    """A code sent by SMS to the phone a device claims. Only its keyed hash is stored (whoever reads
    the table cannot use it); it expires, and a few wrong tries use it up. A device's newer code
    replaces its older one."""

    __tablename__ = "phone_codes"
    __table_args__ = (Index("ix_phone_codes_visitor", "visitor_id", "id"),)

    visitor_id: Mapped[int] = mapped_column(BigId, ForeignKey("visitors.id", ondelete="CASCADE"))
    # Whom the code was sent to: the customer who had the claimed phone then. A code is good only
    # while they still have it (a phone moved to someone else since proves nothing about them).
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    phone_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
