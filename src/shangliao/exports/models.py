"""Exports in the making: who asked for which orders, in what form, how far it has come."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.core import clock
from shangliao.storage.base import Base, IdMixin, ShopScoped
from shangliao.storage.types import BigId, JsonDoc, UTCDateTime

# What an export's query is sealed with (core/keys_data.py lists it: it may hold a phone number).
QUERY_CONTEXT = b"exports.query"


class ExportJob(IdMixin, ShopScoped, Base):
    """One export. ``query_enc`` is the member's order-list query, sealed (a search may be a phone
    number) and dropped once the file is written; ``scope`` their data scope when they asked (the
    worker reads with them, not with today's); ``full`` whether personal data goes in unmasked
    (they held ``customers.pii``). While running, ``lease_until`` is moved on every few seconds: a
    worker that dies leaves it to run out, and another starts the file again as the next
    ``attempt`` (a late write of the earlier one, guarded by its attempt, changes nothing)."""

    __tablename__ = "exports"
    __table_args__ = (
        Index("ix_exports_shop_requester", "shop_id", "requested_by", "id"),
        Index(
            "ix_exports_due",
            "status",
            "id",
            postgresql_where=text("status IN ('queued', 'running')"),
            sqlite_where=text("status IN ('queued', 'running')"),
        ),
    )

    requested_by: Mapped[int | None] = mapped_column(BigId, nullable=True)
    kind: Mapped[str] = mapped_column(String(16), default="orders")
    format: Mapped[str] = mapped_column(String(8))
    query_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    scope: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    # queued, running, done, failed, downloaded, expired
    status: Mapped[str] = mapped_column(String(12), default="queued")
    rows_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
