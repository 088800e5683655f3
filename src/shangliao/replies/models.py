"""Quick-reply templates: a shop's canned answers, typed in the chat composer as ``/shortcode``."""

from __future__ import annotations

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.storage.base import Base, IdMixin, ShopScoped, TimestampMixin


class ReplyTemplate(IdMixin, ShopScoped, TimestampMixin, Base):
    __tablename__ = "reply_templates"
    __table_args__ = (
        # Lookup is case-insensitive ("/DH" finds "dh"), so uniqueness is on the folded form.
        Index("uq_reply_templates_shop_shortcode", "shop_id", "shortcode_key", unique=True),
        Index("ix_reply_templates_shop_category", "shop_id", "category", "position", "id"),
    )

    category: Mapped[str] = mapped_column(String(24))
    shortcode: Mapped[str] = mapped_column(String(16))  # as the merchant wrote it
    shortcode_key: Mapped[str] = mapped_column(String(16))  # lower-cased: unique, searched by prefix
    title: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
