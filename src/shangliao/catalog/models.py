"""Products and their sellable variants (each variant is a SKU with its own price and stock)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shangliao.core import clock
from shangliao.storage.base import Base, IdMixin, ShopScoped, TimestampMixin
from shangliao.storage.types import BigId, JsonDoc, UTCDateTime


class Product(IdMixin, ShopScoped, TimestampMixin, Base):
    __tablename__ = "products"
    __table_args__ = (
        Index("ix_products_shop_active", "shop_id", "active", "id"),
        Index("uq_products_share_token", "share_token", unique=True),
    )

    name: Mapped[str] = mapped_column(String(120))
    # Merchant's other names for the product ("纸巾", "卷纸"), one per line: the chat recogniser and
    # the product search use them. One text, not a JSON list, so the same LIKE finds an alias on
    # both databases (SQLite keeps JSON text with \u escapes, which a search for 纸巾 cannot match).
    aliases: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    images: Mapped[list] = mapped_column(JsonDoc, default=list)
    # Option names in display order, e.g. ["颜色", "尺码"]; a product without options has one variant.
    options: Mapped[list] = mapped_column(JsonDoc, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    presale: Mapped[bool] = mapped_column(Boolean, default=False)
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=0)
    # Random token for the customer-facing share link (/s/<shop>/p/<token>); not guessable from ids.
    share_token: Mapped[str] = mapped_column(String(32))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # 运费模板 (shipping/fees.py); None = the shop's default template.
    shipping_template_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("shipping_templates.id", ondelete="SET NULL"), nullable=True
    )

    variants: Mapped[list[Variant]] = relationship(
        back_populates="product", order_by="Variant.position", cascade="all, delete-orphan"
    )
    # Uploaded photos in the merchant's order; the first is the cover (``catalog/images.py``).
    photos: Mapped[list[ProductImage]] = relationship(
        order_by="ProductImage.position", cascade="all, delete-orphan"
    )

    @property
    def alias_list(self) -> list[str]:
        return alias_list(self.aliases)


class Variant(IdMixin, ShopScoped, TimestampMixin, Base):
    """A SKU. Stock counters are 64-bit so repeated restocking can never overflow them. Stock lives here: ``available = on_hand - reserved`` and is never negative (rule 10 of docs/architecture.md)."""

    __tablename__ = "variants"
    __table_args__ = (
        Index("uq_variants_shop_sku", "shop_id", "sku", unique=True),
        Index("ix_variants_product", "product_id", "position"),
        CheckConstraint("on_hand >= 0", name="on_hand_nonnegative"),
        CheckConstraint("reserved >= 0", name="reserved_nonnegative"),
        CheckConstraint("backorder >= 0", name="backorder_nonnegative"),
        CheckConstraint("on_hand >= reserved", name="available_nonnegative"),
        CheckConstraint("price >= 0", name="price_nonnegative"),
    )

    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(64))
    # Option values keyed by option name, e.g. {"颜色": "红色", "尺码": "M"}; {} for a single SKU.
    spec: Mapped[dict] = mapped_column(JsonDoc, default=dict)
    price: Mapped[int] = mapped_column(Integer)
    on_hand: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    # Presale quantity ordered but not yet covered by stock (no reservation is made for it).
    backorder: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Grams, for a weight-based shipping template (shipping/fees.py); 0 = not weighed.
    weight_g: Mapped[int] = mapped_column(Integer, default=0)

    product: Mapped[Product] = relationship(back_populates="variants")

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def spec_label(self) -> str:
        return spec_label(self.product.options, self.spec)


def spec_label(options: list[str], spec: dict | None) -> str:
    """A variant's values in its product's option order ("红色 / M"), the same on every database:
    PostgreSQL's JSONB keeps a dict's keys in an order of its own (shortest first)."""
    spec = spec or {}
    ordered = [o for o in options if o in spec] + [k for k in spec if k not in options]
    return " / ".join(str(spec[k]) for k in ordered)


ALIAS_SEPARATOR = "\n"


def alias_list(stored: str | None) -> list[str]:
    """The aliases as stored (one per line) as a list; "" is none."""
    return stored.split(ALIAS_SEPARATOR) if stored else []


class ProductImage(IdMixin, ShopScoped, Base):
    """An uploaded product photo, stored re-encoded (EXIF gone, orientation applied) beside the chat
    attachments: ``uploads/<shop_id>/<storage_key>`` and its thumbnail ``<thumb_key>``. Both keys are
    random and made by the server. ``variant_id`` ties a photo to one variant (the red one); a photo
    without it shows the whole product. ``position`` 0 is the cover."""

    __tablename__ = "product_images"
    __table_args__ = (
        Index("ix_product_images_product", "product_id", "position"),
        Index("uq_product_images_storage_key", "storage_key", unique=True),
        Index("uq_product_images_thumb_key", "thumb_key", unique=True),
    )

    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"))
    variant_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("variants.id", ondelete="SET NULL"), nullable=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    mime: Mapped[str] = mapped_column(String(32))  # of both files: what we encoded, never the client's
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    thumb_key: Mapped[str] = mapped_column(String(64))
    thumb_sha256: Mapped[str] = mapped_column(String(64))
    thumb_width: Mapped[int] = mapped_column(Integer)
    thumb_height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
