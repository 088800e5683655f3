"""API shapes for orders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from shangliao.core.schemas import MAX_ID, RowRef, StrictModel
from shangliao.customers.pii import Address

Fen = Annotated[int, Field(ge=0, le=100_000_000)]
Channel = Literal["manual", "chat", "product_link", "quote"]


def clean_tags(tags: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        tag = tag.strip()
        if not tag or len(tag) > 32:
            raise ValueError("a tag is 1-32 characters")
        seen.setdefault(tag, None)
    return list(seen)


class ItemIn(StrictModel):
    variant_id: RowRef
    quantity: int = Field(gt=0, le=9999)
    unit_price: int | None = Field(
        default=None,
        ge=0,
        le=100_000_000,
        description="Negotiated price in fen; omitted = the catalog price.",
    )


class OrderCreate(StrictModel):
    customer_id: RowRef | None = None
    address_id: RowRef | None = Field(
        default=None, description="One of the customer's addresses; omitted = their default one."
    )
    address: Address | None = None
    items: list[ItemIn] = Field(min_length=1, max_length=100)
    shipping_fee: int = Field(default=0, ge=0, le=100_000_000)
    discount: int = Field(default=0, ge=0, le=100_000_000)
    remark: str = Field(default="", max_length=500)
    channel: Channel = "manual"
    tags: list[str] = Field(default_factory=list, max_length=10)
    assignee_id: RowRef | None = None
    draft: bool = Field(default=False, description="Keep as a draft: editable, reserves no stock.")

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, tags: list[str]) -> list[str]:
        return clean_tags(tags)


class TransitionIn(StrictModel):
    version: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Refused with 409 if the order changed since."
    )
    reason: str | None = Field(
        default=None,
        max_length=32,
        description="cancel: a reason code: changed_mind, out_of_stock, not_paid, duplicate, "
        "undeliverable, or other (with reason_note). Any other value is refused (422 "
        "`order.unknown_cancel_reason`).",
    )
    reason_note: str | None = Field(
        default=None, max_length=200, description="cancel: the words for `other` (optional with the others)."
    )
    carrier_code: str | None = Field(default=None, max_length=16)
    tracking_number: str | None = Field(default=None, max_length=40)


class AddressEdit(StrictModel):
    version: int | None = Field(default=None, ge=1, le=MAX_ID)
    address: Address


class ItemsEdit(StrictModel):
    version: int | None = Field(default=None, ge=1, le=MAX_ID)
    items: list[ItemIn] = Field(min_length=1, max_length=100)


class PriceEdit(StrictModel):
    """改价: change item prices, the shipping fee or the discount before the order is paid."""

    version: int | None = Field(default=None, ge=1, le=MAX_ID)
    item_prices: dict[RowRef, Fen] | None = Field(
        default=None, description="Order item id → new unit price in fen.", max_length=100
    )
    shipping_fee: int | None = Field(default=None, ge=0, le=100_000_000)
    discount: int | None = Field(default=None, ge=0, le=100_000_000)
    reason: str = Field(default="", max_length=200)


class PaymentIn(StrictModel):
    method: Literal["wechat", "alipay", "bank_transfer", "cash", "other"]
    amount: int = Field(gt=0, le=100_000_000)
    reference: str = Field(default="", max_length=64)
    note: str = Field(default="", max_length=200)
    # With a zone (e.g. "2026-01-05T14:30:00+08:00"): a bare time would be ambiguous.
    paid_at: AwareDatetime | None = None


class NoteIn(StrictModel):
    body: str = Field(min_length=1, max_length=2000)


class AssignIn(StrictModel):
    version: int | None = Field(default=None, ge=1, le=MAX_ID)
    assignee_id: RowRef | None = Field(description="A staff member of the shop; null to unassign.")


class TagsIn(StrictModel):
    add: list[str] = Field(default_factory=list, max_length=10)
    remove: list[str] = Field(default_factory=list, max_length=10)

    @field_validator("add", "remove")
    @classmethod
    def _unique_tags(cls, tags: list[str]) -> list[str]:
        return clean_tags(tags)


class ItemOut(BaseModel):
    id: int | None
    variant_id: int | None
    product_id: int | None
    sku: str
    name: str
    spec: str
    unit_price: int
    quantity: int
    amount: int
    backorder: int


class OrderOut(BaseModel):
    id: int
    number: str
    status: str
    channel: str
    customer_id: int | None
    conversation_id: int | None = Field(description="The conversation the order belongs to, for good.")
    customer_name: str
    address: Address | None
    items: list[ItemOut]
    items_total: int
    shipping_fee: int
    discount: int
    total: int
    paid_amount: int
    refunded_amount: int
    payment_status: str
    remark: str
    tags: list[str]
    assignee_id: int | None
    carrier_code: str | None
    tracking_number: str | None
    tracking_url: str | None
    partly_shipped: bool = Field(description="部分发货: confirmed or preparing, some parcels already sent.")
    cancel_reason: str | None = Field(description="A cancel reason code (see the cancel route).")
    cancel_note: str | None
    version: int
    archived: bool
    allowed_actions: list[str]
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    confirmed_at: datetime | None
    shipped_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    paid_at: datetime | None
    archived_at: datetime | None


class OrderEventOut(BaseModel):
    id: int
    kind: str
    actor_type: str = Field(
        description="`staff`, `api`, `customer`, `system`, or `automation` (then `data.automation` names "
        "the rule or scheduled step)."
    )
    actor_id: int | None
    from_status: str | None
    to_status: str | None
    data: dict
    created_at: datetime


class NoteOut(BaseModel):
    id: int
    author_id: int | None
    body: str
    created_at: datetime
