"""The columns of an orders export, in the layout merchants know from the big platforms: one list
per sheet, each column with its header (a msgid: Chinese for a zh_CN member, English for an en
one) and how its cells are written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shangliao.core.i18n import N_

Kind = Literal["text", "money", "int", "moment"]


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # msgid
    kind: Kind = "text"
    width: int = 12  # characters, for the xlsx sheet


ORDER_COLUMNS = (
    Column("number", N_("Order ID"), width=22),
    Column("created_at", N_("Order time"), "moment", 19),
    Column("paid_at", N_("Payment time"), "moment", 19),
    Column("status", N_("Order status"), width=8),
    Column("payment_status", N_("Payment status"), width=8),
    Column("buyer", N_("Buyer"), width=10),
    Column("receiver", N_("Receiver"), width=10),
    Column("phone", N_("Mobile phone"), width=14),
    Column("province", N_("State/Province"), width=10),
    Column("city", N_("City/Town"), width=10),
    Column("district", N_("County/District"), width=10),
    Column("detail", N_("Street address"), width=28),
    Column("goods", N_("Goods"), width=30),
    Column("quantity", N_("Quantity"), "int", 6),
    Column("items_total", N_("Goods amount"), "money", 10),
    Column("shipping_fee", N_("Shipping fee"), "money", 8),
    Column("discount", N_("Discount"), "money", 8),
    Column("total", N_("Order total"), "money", 10),
    Column("paid_amount", N_("Amount paid"), "money", 10),
    Column("refunded_amount", N_("Amount refunded"), "money", 10),
    Column("carrier", N_("Courier"), width=10),
    Column("tracking_number", N_("Waybill number"), width=18),
    Column("remark", N_("Buyer's message"), width=24),
    Column("notes", N_("Merchant notes"), width=24),
    Column("channel", N_("Channel"), width=8),
    Column("tags", N_("Tags"), width=14),
    Column("shipped_at", N_("Ship time"), "moment", 19),
    Column("completed_at", N_("Completion time"), "moment", 19),
)

ITEM_COLUMNS = (
    Column("number", N_("Order ID"), width=22),
    Column("name", N_("Product"), width=30),
    Column("spec", N_("Specification"), width=16),
    Column("sku", N_("SKU"), width=14),
    Column("quantity", N_("Quantity"), "int", 6),
    Column("unit_price", N_("Unit price"), "money", 10),
    Column("amount", N_("Amount"), "money", 10),
    Column("status", N_("Order status"), width=8),
)

# A CSV has one sheet: a row per order line, the order's columns repeated (the platforms' 订单明细).
CSV_COLUMNS = (
    *ORDER_COLUMNS[:12],
    *(c for c in ITEM_COLUMNS if c.key not in ("number", "status")),
    *(c for c in ORDER_COLUMNS[14:] if c.key != "goods"),
)
