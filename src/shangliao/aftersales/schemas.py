"""Request shapes of after-sales (unknown fields refused, rule 14 of docs/architecture.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shangliao.core.schemas import MAX_ID, RowRef, StrictModel

Kind = Literal["refund_only", "return_refund", "exchange"]
Reason = Literal["unwanted", "quality", "wrong_item", "missing", "size", "other"]
Version = Field(default=None, ge=1, le=MAX_ID, description="The request's version: a stale one is a 409.")


class LineIn(StrictModel):
    order_item_id: RowRef
    quantity: int = Field(gt=0, le=999)
    # An exchange's replacement (another size, say); omitted: the same variant again.
    replacement_variant_id: RowRef | None = None


class AfterSaleIn(StrictModel):
    """The customer's request on one of their orders."""

    kind: Kind
    reason: Reason
    note: str = Field("", max_length=500)
    lines: list[LineIn] = Field(min_length=1, max_length=50)
    # Fen; omitted: the value of the lines, up to what was paid and not yet refunded.
    amount: int | None = Field(None, gt=0, le=100_000_000)
    # Photos the customer sent in the conversation (attachment ids), e.g. of the damage.
    photos: list[RowRef] = Field(default_factory=list, max_length=9)


class DecisionIn(StrictModel):
    message: str = Field("", max_length=500)
    version: int | None = Version


class ReplacementIn(StrictModel):
    line_id: RowRef
    variant_id: RowRef


class ApproveIn(DecisionIn):
    # An exchange: the shop may send another variant than the customer named (any on sale; a
    # price difference is settled by hand, ``aftersales/exchange.py choose_replacements``).
    replacements: list[ReplacementIn] = Field(default_factory=list, max_length=50)


class LinkRefundIn(StrictModel):
    """Settle the request with a refund already recorded on the order that no request claimed."""

    refund_id: RowRef
    version: int | None = Version


class CloseIn(StrictModel):
    """Close the request with no money through Shangliao (settled outside it); ``message`` says how."""

    message: str = Field("", max_length=500)  # required: the use case says so (aftersale.message_required)
    version: int | None = Version


class ReturnIn(StrictModel):
    carrier_code: str = Field(min_length=1, max_length=16)
    tracking_number: str = Field(min_length=1, max_length=40)
    version: int | None = Version


class ArrivalLine(StrictModel):
    line_id: RowRef
    restock: bool


class ArrivalIn(StrictModel):
    """Per line: back on the shelf, or not (damaged)."""

    lines: list[ArrivalLine] = Field(min_length=1, max_length=50)
    version: int | None = Version


class RefundIn(StrictModel):
    method: Literal["wechat", "alipay", "bank_transfer", "cash", "other"]
    # Fen; omitted: the amount the customer asked for.
    amount: int | None = Field(None, gt=0, le=100_000_000)
    reference: str = Field("", max_length=64)
    note: str = Field("", max_length=200)
    version: int | None = Version


class ShipIn(StrictModel):
    carrier_code: str = Field(min_length=1, max_length=16)
    tracking_number: str = Field(min_length=1, max_length=40)
    version: int | None = Version


class GuestVersionIn(StrictModel):
    version: int | None = Version
