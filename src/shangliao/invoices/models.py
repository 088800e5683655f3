"""An order's invoice request (发票): what the customer asked for, and what staff issued.

Evidence (rule 17 of docs/architecture.md): an issued invoice is a tax document, so its rows are
never deleted with the shop and a cancelled request stays as it was. The email is the customer's
personal data, sealed with the keyring like their phone (rule 12; ``invoices/service.py``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.core import clock
from shangliao.storage.base import Base, EvidenceScoped, IdMixin
from shangliao.storage.types import BigId, UTCDateTime

TITLE_TYPES = ("personal", "company")
INVOICE_STATUSES = ("requested", "issued", "cancelled")


class InvoiceRequest(IdMixin, EvidenceScoped, Base):
    """One request for an order's invoice. At most one per order is open (requested or issued):
    a cancelled one stays as evidence and a new request starts a new row."""

    __tablename__ = "invoice_requests"
    __table_args__ = (
        Index(
            "uq_invoice_requests_open_order",
            "order_id",
            unique=True,
            postgresql_where=text("status <> 'cancelled'"),
            sqlite_where=text("status <> 'cancelled'"),
        ),
        Index("ix_invoice_requests_order", "order_id", "id"),
        CheckConstraint("title_type IN ('personal', 'company')", name="title_type_known"),
        CheckConstraint("status IN ('requested', 'issued', 'cancelled')", name="status_known"),
    )

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="RESTRICT"))
    title_type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(100))
    # A company's unified social credit code or taxpayer id; None for a personal title.
    tax_id: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # Sealed (invoices/service.py EMAIL_CONTEXT); rotated by ``shangliao keys rotate``; None once
    # the customer was erased (privacy/erase.py).
    email_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    # "customer" or "staff": who asked (staff may enter a request on the customer's behalf).
    requested_by: Mapped[str] = mapped_column(String(16), default="customer")
    invoice_number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    issued_by: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("staff.id", ondelete="RESTRICT"), nullable=True
    )
    # The order's paid − refunded when it was issued, in fen.
    amount: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
