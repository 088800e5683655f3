"""Orders, their item snapshots, timeline, internal notes, tags and payments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shangliao.core import clock
from shangliao.storage.base import Base, EvidenceScoped, IdMixin, ShopScoped, TimestampMixin
from shangliao.storage.types import BigId, JsonDoc, UTCDateTime


class Order(IdMixin, ShopScoped, TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("uq_orders_shop_number", "shop_id", "number", unique=True),
        Index("uq_orders_shop_idempotency", "shop_id", "idempotency_key", unique=True),
        Index("ix_orders_shop_status_created", "shop_id", "status", "created_at", "id"),
        Index("ix_orders_shop_created", "shop_id", "created_at", "id"),
        Index("ix_orders_shop_customer", "shop_id", "customer_id"),
        Index("ix_orders_shop_phone", "shop_id", "phone_hash"),
        Index("ix_orders_shop_last4", "shop_id", "phone_last4_hash"),
        Index("ix_orders_shop_tracking", "shop_id", "tracking_number"),
        # A member who sees only their own orders (data scope "assigned") walks this in page
        # order, like everyone else walks ix_orders_shop_created (orders/list_sql.py).
        Index("ix_orders_shop_assignee", "shop_id", "assignee_id", "created_at", "id"),
        # ... and a tab of it (the console opens on 待确认), in page order like the shop's tab is
        # on ix_orders_shop_status_created: without it the walk above filtered the status, reading
        # 25 orders for each pending one, all of the member's when none was pending.
        Index("ix_orders_shop_assignee_status", "shop_id", "assignee_id", "status", "created_at", "id"),
        # The list's 售后 tab: only the orders with an open after-sales request (aftersales/).
        Index(
            "ix_orders_shop_aftersales",
            "shop_id",
            "created_at",
            "id",
            postgresql_where=text("aftersales_open > 0"),
            sqlite_where=text("aftersales_open > 0"),
        ),
        # The list's 发票 filter (待开票 / 已开票): only the orders that asked for an invoice.
        Index(
            "ix_orders_shop_invoice",
            "shop_id",
            "invoice_status",
            "created_at",
            "id",
            postgresql_where=text("invoice_status IS NOT NULL"),
            sqlite_where=text("invoice_status IS NOT NULL"),
        ),
        # ... and the unassigned ones, for a member who may pick them up: PostgreSQL does not walk
        # "assignee_id IS NULL" of the index above in page order (it walks the shop's orders
        # instead, reading every assigned one it passes), so they have a small index of their own.
        Index(
            "ix_orders_shop_unassigned",
            "shop_id",
            "created_at",
            "id",
            postgresql_where=text("assignee_id IS NULL"),
            sqlite_where=text("assignee_id IS NULL"),
        ),
        Index(
            "ix_orders_shop_unassigned_status",
            "shop_id",
            "status",
            "created_at",
            "id",
            postgresql_where=text("assignee_id IS NULL"),
            sqlite_where=text("assignee_id IS NULL"),
        ),
        CheckConstraint("total >= 0", name="total_nonnegative"),
        CheckConstraint("discount >= 0 AND shipping_fee >= 0", name="fees_nonnegative"),
    )

    number: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id", ondelete="SET NULL"))
    # The conversation the order belongs to, for good: the order page shows it, the chat its orders.
    conversation_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="RESTRICT"), nullable=True
    )
    # Snapshot for lists and search; the customer may be renamed later without rewriting history.
    customer_name: Mapped[str] = mapped_column(String(64), default="")
    # Encrypted address snapshot (receiver, phone, region, detail) and keyed hashes of its phone.
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    phone_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    phone_last4_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    items_total: Mapped[int] = mapped_column(Integer, default=0)
    shipping_fee: Mapped[int] = mapped_column(Integer, default=0)
    discount: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    paid_amount: Mapped[int] = mapped_column(Integer, default=0)
    refunded_amount: Mapped[int] = mapped_column(Integer, default=0)
    remark: Mapped[str] = mapped_column(Text, default="")
    assignee_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="SET NULL"))
    # The first parcel's courier and number (shipping/parcels.py keeps them): lists, search and
    # the tracking card read them here; every parcel is a row of ``parcels``.
    carrier_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    tracking_number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Set by a hand price change (改价) of the fee: the shipping template no longer recomputes it.
    shipping_fee_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    # How many payment attempts and hand-recorded payments the order has had: each takes the next
    # out_trade_no suffix (rule 6 of docs/architecture.md, orders/payments.py next_trade_no).
    trade_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Parcels of the order's own items sent so far (shipping/parcels.py ship_parcel counts them):
    # lists and the API read 部分发货 from this and the status without reading the parcels.
    parcels_shipped: Mapped[int] = mapped_column(Integer, default=0)
    # After-sales requests still open (aftersales/): while any is, the order is not completed.
    aftersales_open: Mapped[int] = mapped_column(Integer, default=0)
    # None, "requested" or "issued" (invoices/): the list's invoice filter reads it.
    invoice_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # A code of orders/cancel_reasons.py (shown in the reader's language); "other" comes with the
    # words staff typed in cancel_note, which any listed reason may carry too.
    cancel_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    cancel_note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # Hash of the creating request: a replay with the same key but another body is refused.
    idempotency_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the last parcel was signed for (by hand, or the customer's 确认收货).
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set when someone brings an archived order back: the archive job leaves it alone from then on.
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    # The ORM adds "AND version = :old" to every UPDATE and bumps it: a lost update becomes a 409.
    __mapper_args__ = {"version_id_col": version}

    items: Mapped[list[OrderItem]] = relationship(order_by="OrderItem.position", cascade="all, delete-orphan")
    tag_rows: Mapped[list[OrderTag]] = relationship(order_by="OrderTag.tag", cascade="all, delete-orphan")

    @property
    def tags(self) -> list[str]:
        return [t.tag for t in self.tag_rows]


class OrderItem(IdMixin, ShopScoped, Base):
    """What was sold, frozen at order time: later catalog edits never rewrite an order."""

    __tablename__ = "order_items"
    __table_args__ = (
        Index("ix_order_items_order", "order_id", "position"),
        Index("ix_order_items_variant", "shop_id", "variant_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_nonnegative"),
    )

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"))
    variant_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("variants.id", ondelete="SET NULL"))
    product_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("products.id", ondelete="SET NULL"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    # The variant's option values joined by " / ": up to 5 values of 40 characters (catalog limits).
    spec: Mapped[str] = mapped_column(String(255), default="")
    unit_price: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(Integer)
    # How much of the quantity is presale (backordered) rather than reserved from stock.
    backorder: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)


class OrderTag(ShopScoped, Base):
    __tablename__ = "order_tags"
    __table_args__ = (Index("ix_order_tags_shop_tag", "shop_id", "tag", "order_id"),)

    order_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(32), primary_key=True)


class ShopTag(Base):
    """A tag of the shop's palette (orders/tag_palette.py): its colour and place in the list.
    Orders keep their tags as free text; a tag not in the palette is drawn grey."""

    __tablename__ = "shop_tags"

    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    color: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)


class OrderEvent(IdMixin, EvidenceScoped, Base):
    """The timeline: append-only, one row per change, with who, when, from, to and what."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order", "order_id", "id"),)

    # Evidence (rule 17 of docs/architecture.md): an order with a timeline or payments cannot be deleted.
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(32))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    data: Mapped[dict] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class OrderNote(IdMixin, ShopScoped, Base):
    """Internal, team-only notes ("急需发货", "需特殊包装"); never shown to customers."""

    __tablename__ = "order_notes"
    __table_args__ = (Index("ix_order_notes_order", "order_id", "id"),)

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Payment(IdMixin, EvidenceScoped, Base):
    """A recorded payment. Each attempt has its own out_trade_no: order number + suffix (rule 6 of docs/architecture.md)."""

    __tablename__ = "payments"
    __table_args__ = (
        Index("uq_payments_shop_trade_no", "shop_id", "out_trade_no", unique=True),
        Index("uq_payments_shop_idempotency", "shop_id", "idempotency_key", unique=True),
        Index("ix_payments_order", "order_id"),
        # A provider's transaction is recorded once, however often it is notified (payments/).
        Index("uq_payments_shop_transaction", "shop_id", "method", "transaction_id", unique=True),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="RESTRICT"))
    method: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(64), default="")
    out_trade_no: Mapped[str] = mapped_column(String(32))
    recorded_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="RESTRICT"))
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    note: Mapped[str] = mapped_column(Text, default="")
    # A retried request finds its payment by key; the hash refuses the key with another request
    # (orders/idempotency.py, as for an order).
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    idempotency_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    # "manual" (recorded by staff), "proof" (from the customer's screenshot, recorded by staff) or
    # "provider" (a verified notification; ``transaction_id`` is the provider's id).
    source: Mapped[str] = mapped_column(String(16), default="manual")
    transaction_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempt_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("payment_attempts.id", ondelete="RESTRICT"), nullable=True
    )


class Refund(IdMixin, EvidenceScoped, Base):
    """Money given back (orders/refunds.py): by hand, or from a provider's refund notification.
    The order's ``refunded_amount`` is their sum and never exceeds what was paid."""

    __tablename__ = "refunds"
    __table_args__ = (
        Index("ix_refunds_order", "order_id"),
        # Per order: a number typed in a provider's console (WeChat Pay, Alipay) need not name the
        # order, so two orders may each carry a refund "1" (orders/refunds.py numbers the rest).
        Index("uq_refunds_order_out_refund_no", "shop_id", "order_id", "out_refund_no", unique=True),
        Index("uq_refunds_shop_idempotency", "shop_id", "idempotency_key", unique=True),
        Index("uq_refunds_shop_transaction", "shop_id", "method", "transaction_id", unique=True),
        CheckConstraint("amount > 0", name="refund_amount_positive"),
    )

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="RESTRICT"))
    # The after-sales request it settles, if any (aftersales/).
    aftersale_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    method: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    # Providers send up to 64 characters (payments/notice.py reads it with that limit).
    out_refund_no: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16), default="manual")
    transaction_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The provider trade (payment attempt) the money went back through, when known: Alipay says
    # how much was refunded per trade in all, so its new refund is that less this trade's refunds.
    attempt_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("payment_attempts.id", ondelete="RESTRICT"), nullable=True
    )
    recorded_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="RESTRICT"))
    refunded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    idempotency_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)


class OrderSearchTerm(ShopScoped, Base):
    """The order list's text search, as rows an index can find (``orders/search_terms.py``).

    One row per term of an order: each single character and each pair of characters of the
    customer's name, each start of the order number up to the day (``yyMMdd``), and its last four
    digits. Never a phone or an address (rule 12 of docs/architecture.md): those are found by keyed hash on ``orders``.

    ``created_us`` (the order's ``created_at`` in microseconds) sits in the key so one term's
    orders come out of the index newest first: the first page of a search reads a page's worth
    of rows however many orders share the term. The name is a snapshot on the order that never
    changes, so the rows are written once, with the order, and go with their shop.

    No foreign key to ``orders``: checking it on delete would need an index on ``order_id`` alone
    (a second copy of the table), orders are never deleted one by one, and a row whose order is
    gone never matches the join that reads it.
    """

    __tablename__ = "order_search_terms"
    __table_args__ = {"sqlite_with_rowid": False}

    shop_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    term: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_us: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    order_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)


class OrderStatusCount(ShopScoped, Base):
    """How many of a shop's orders are in each status (archived apart), for the list's tabs.

    Kept by database triggers on ``orders`` (``orders/counts.py``), in the transaction that changes
    an order, whatever code changed it: reading the tabs costs a handful of rows, not a count over
    every order.
    """

    __tablename__ = "order_status_counts"

    shop_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    archived: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class OrderAssigneeCount(ShopScoped, Base):
    """The same counts per assignee (``assignee_key`` 0: nobody's), for a limited member's tabs.

    Kept by the triggers that keep ``order_status_counts`` (``orders/counts.py``), so a member who
    sees only their own orders (and maybe the unassigned) reads a few rows too, however many
    orders they hold. 0 rather than NULL: a primary key column cannot be NULL, and staff ids
    start at 1.
    """

    __tablename__ = "order_assignee_counts"

    shop_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    assignee_key: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    archived: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)
