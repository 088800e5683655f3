"""HTTP routes of the inventory domain (thin: validate, open the unit of work, call the service)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.schemas import PathId
from shangliao.inventory import service
from shangliao.inventory.schemas import (
    LowStockPage,
    MovementOut,
    MovementPage,
    StockAdjustmentIn,
    StockAdjustmentOut,
)
from shangliao.runtime import Runtime, get_runtime

router = APIRouter(tags=["inventory"])


@router.post("/variants/{variant_id}/stock-adjustments", response_model=StockAdjustmentOut, status_code=201)
def adjust_stock(
    variant_id: PathId,
    body: StockAdjustmentIn,
    actor: Actor = Depends(staff("inventory.adjust")),
    rt: Runtime = Depends(get_runtime),
):
    """Add or remove stock on hand (stocktake, delivery, damage). Refused if it would go below reserved."""
    with rt.db.write() as session:
        movement, after = service.do_adjust_stock(session, actor, variant_id, body.delta, body.reason)
        return StockAdjustmentOut(
            movement=MovementOut.model_validate(movement, from_attributes=True),
            stock=service.stock_out(after),
        )


@router.get("/variants/{variant_id}/movements", response_model=MovementPage)
def list_movements(
    variant_id: PathId,
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=100),
    actor: Actor = Depends(staff("catalog.read")),
    rt: Runtime = Depends(get_runtime),
):
    """The stock ledger of one variant, newest first."""
    with rt.db.read() as session:
        items, next_cursor = service.list_movements(
            session, actor.shop_id, variant_id, cursor=cursor, limit=limit
        )
        return MovementPage(items=items, next_cursor=next_cursor)


@router.get("/inventory/low-stock", response_model=LowStockPage)
def low_stock(
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=100),
    actor: Actor = Depends(staff("catalog.read")),
    rt: Runtime = Depends(get_runtime),
):
    """Variants whose available stock is at or below their product's threshold."""
    with rt.db.read() as session:
        items, next_cursor = service.list_low_stock(session, actor.shop_id, cursor=cursor, limit=limit)
        return LowStockPage(items=items, next_cursor=next_cursor)
