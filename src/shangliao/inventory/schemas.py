"""API shapes of inventory: manual stock adjustments, the movement ledger, the low-stock list."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from shangliao.core.schemas import StrictModel


class StockAdjustmentIn(StrictModel):
    delta: int = Field(
        ge=-10_000_000, le=10_000_000, description="Units to add (positive) or remove (negative); not 0."
    )
    reason: str = Field(min_length=1, max_length=200, description="Why: stocktake, damage, delivery…")

    @field_validator("delta")
    @classmethod
    def not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("an adjustment changes stock by at least one unit")
        return value


class MovementOut(BaseModel):
    id: int
    variant_id: int
    kind: str
    on_hand_delta: int
    reserved_delta: int
    backorder_delta: int
    reason: str
    order_id: int | None
    actor_id: int | None
    created_at: datetime


class StockOut(BaseModel):
    variant_id: int
    product_id: int
    sku: str
    on_hand: int
    reserved: int
    available: int
    backorder: int
    low_stock: bool


class StockAdjustmentOut(BaseModel):
    movement: MovementOut
    stock: StockOut


class MovementPage(BaseModel):
    items: list[MovementOut]
    next_cursor: str | None


class LowStockItem(BaseModel):
    variant_id: int
    product_id: int
    product_name: str
    sku: str
    spec: dict[str, str]
    on_hand: int
    reserved: int
    available: int
    threshold: int


class LowStockPage(BaseModel):
    items: list[LowStockItem]
    next_cursor: str | None
