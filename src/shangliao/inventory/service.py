"""Inventory use cases: manual adjustments through the guarded primitive, reading the ledger."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.catalog.models import Product, Variant
from shangliao.catalog.service import access_variant, cursor_id, is_low, low_stock_clause, variant_not_found
from shangliao.core.pagination import encode_cursor
from shangliao.events.log import DomainEvent, record
from shangliao.inventory import stock
from shangliao.inventory.models import StockMovement
from shangliao.inventory.schemas import LowStockItem, MovementOut, StockOut


def stock_out(row: stock.StockRow) -> StockOut:
    return StockOut(
        variant_id=row.variant_id,
        product_id=row.product_id,
        sku=row.sku,
        on_hand=row.on_hand,
        reserved=row.reserved,
        available=row.available,
        backorder=row.backorder,
        low_stock=is_low(row.available, row.low_stock_threshold),
    )


def do_adjust_stock(
    session: Session, actor: Actor, variant_id: int, delta: int, reason: str
) -> tuple[StockMovement, stock.StockRow]:
    """Add or remove ``delta`` units on hand; refused (``stock.insufficient``) below what is reserved.

    Returns the ledger row and the variant's stock afterwards. Records ``stock.adjusted`` and, when
    available stock falls to the product's threshold, ``stock.low``.
    """
    before = stock.load(session, actor.shop_id, [variant_id])  # locks the row on PostgreSQL
    row = before.get(variant_id)
    if row is None:
        raise variant_not_found()
    low = stock.apply(
        session,
        actor.shop_id,
        [stock.Move(variant_id, "adjust", on_hand=delta)],
        actor_id=actor.staff_id,
        reason=reason,
        before=before,
    )
    after = replace(row, on_hand=row.on_hand + delta)
    movement = session.scalars(
        select(StockMovement)
        .where(StockMovement.shop_id == actor.shop_id, StockMovement.variant_id == variant_id)
        .order_by(StockMovement.id.desc())
        .limit(1)
    ).one()
    adjusted = DomainEvent(
        "stock.adjusted",
        "variant",
        variant_id,
        {
            "product_id": row.product_id,
            "movement_id": movement.id,
            "delta": delta,
            "on_hand": after.on_hand,
            "reserved": after.reserved,
            "available": after.available,
        },
    )
    record(session, actor.shop_id, [adjusted, *low])
    return movement, after


def list_movements(
    session: Session, shop_id: int, variant_id: int, *, cursor: str | None, limit: int
) -> tuple[list[MovementOut], str | None]:
    """The variant's ledger, newest first."""
    access_variant(session, shop_id, variant_id)
    stmt = select(StockMovement).where(
        StockMovement.shop_id == shop_id, StockMovement.variant_id == variant_id
    )
    after = cursor_id(cursor)
    if after is not None:
        stmt = stmt.where(StockMovement.id < after)
    rows = list(session.scalars(stmt.order_by(StockMovement.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None
    return [MovementOut.model_validate(r, from_attributes=True) for r in rows[:limit]], next_cursor


def list_low_stock(
    session: Session, shop_id: int, *, cursor: str | None, limit: int
) -> tuple[list[LowStockItem], str | None]:
    """Active variants of active products at or below their product's threshold, by variant id."""
    stmt = (
        select(
            Variant.id,
            Variant.product_id,
            Product.name,
            Variant.sku,
            Variant.spec,
            Variant.on_hand,
            Variant.reserved,
            Product.low_stock_threshold,
        )
        .join(Product, Product.id == Variant.product_id)
        .where(Product.shop_id == shop_id, low_stock_clause(shop_id))
    )
    after = cursor_id(cursor)
    if after is not None:
        stmt = stmt.where(Variant.id > after)
    rows = session.execute(stmt.order_by(Variant.id).limit(limit + 1)).all()
    items = [
        LowStockItem(
            variant_id=r[0],
            product_id=r[1],
            product_name=r[2],
            sku=r[3],
            spec=r[4],
            on_hand=r[5],
            reserved=r[6],
            available=r[5] - r[6],
            threshold=r[7],
        )
        for r in rows[:limit]
    ]
    next_cursor = encode_cursor([rows[limit - 1][0]]) if len(rows) > limit else None
    return items, next_cursor
