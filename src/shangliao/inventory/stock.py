"""Stock movements (rule 10 of docs/architecture.md): one guarded UPDATE for all lines, one ledger INSERT, checked by rowcount.

Every movement — reserve, release, deduct on shipping, manual adjust, presale backorder — is a set of
deltas on (on_hand, reserved, backorder). The UPDATE only applies where the result stays valid
(available = on_hand − reserved ≥ 0, nothing negative); if fewer rows changed than asked, the whole
unit of work is refused with ``stock.insufficient`` naming the SKU and what is available.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, exists, insert, select, update
from sqlalchemy.orm import Session

from shangliao.catalog.models import Product, Variant, spec_label
from shangliao.core import clock
from shangliao.core.errors import Conflict
from shangliao.core.i18n import N_
from shangliao.events.log import DomainEvent
from shangliao.inventory.models import StockMovement
from shangliao.shipping.models import ShippingTemplate
from shangliao.storage.prepared import Prepared

_v = Variant.__table__
_p = Product.__table__
_ledger = StockMovement.__table__
_INSERT_LEDGER = Prepared(insert(_ledger))


@dataclass(frozen=True)
class Move:
    variant_id: int
    kind: str  # reserve | release | deduct | adjust | backorder | backorder_release
    on_hand: int = 0
    reserved: int = 0
    backorder: int = 0


@dataclass(frozen=True)
class StockRow:
    """A variant with what order-taking needs from its product, read in the writing transaction."""

    variant_id: int
    product_id: int
    sku: str
    spec: dict
    price: int
    on_hand: int
    reserved: int
    backorder: int
    active: bool
    product_name: str
    product_active: bool
    presale: bool
    low_stock_threshold: int
    options: list
    # For the shipping fee (shipping/fees.py), read here so placing an order in a shop without
    # templates costs no statement more.
    weight_g: int = 0
    shipping_template_id: int | None = None
    shop_has_templates: bool = False

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def spec_label(self) -> str:
        return spec_label(self.options or [], self.spec)


_READ = (
    select(
        _v.c.id,
        _v.c.product_id,
        _v.c.sku,
        _v.c.spec,
        _v.c.price,
        _v.c.on_hand,
        _v.c.reserved,
        _v.c.backorder,
        _v.c.active,
        _p.c.name,
        _p.c.active,
        _p.c.presale,
        _p.c.low_stock_threshold,
        _p.c.options,
        _v.c.weight_g,
        _p.c.shipping_template_id,
        exists().where(ShippingTemplate.__table__.c.shop_id == bindparam("shop_id")),
    )
    .join(_p, _p.c.id == _v.c.product_id)
    .where(_v.c.shop_id == bindparam("shop_id"), _v.c.id.in_(bindparam("ids", expanding=True)))
)
# PostgreSQL: lock the rows so the low-stock check below sees the values it updates.
# SQLite ignores FOR UPDATE; its single writer already serialises these transactions.
_LOAD = _READ.with_for_update(of=_v)

# One statement for every kind of movement; the WHERE clause is the no-oversell guard.
_APPLY = Prepared(
    update(_v)
    .where(
        _v.c.id == bindparam("vid"),
        _v.c.shop_id == bindparam("sid"),
        and_(
            _v.c.on_hand + bindparam("dh") >= _v.c.reserved + bindparam("dr"),
            _v.c.reserved + bindparam("dr") >= 0,
            _v.c.backorder + bindparam("db") >= 0,
        ),
    )
    .values(
        on_hand=_v.c.on_hand + bindparam("dh"),
        reserved=_v.c.reserved + bindparam("dr"),
        backorder=_v.c.backorder + bindparam("db"),
        updated_at=bindparam("now"),
    )
)


def load(session: Session, shop_id: int, variant_ids: Iterable[int]) -> dict[int, StockRow]:
    """The shop's variants among ``variant_ids`` (others are simply absent: 404 for the caller)."""
    ids = sorted(set(variant_ids))  # a stable lock order avoids deadlocks between two orders
    rows = session.connection().execute(_LOAD, {"shop_id": shop_id, "ids": ids}).all()
    return {r[0]: StockRow(*r) for r in rows}


def peek(session: Session, shop_id: int, variant_ids: Iterable[int]) -> dict[int, StockRow]:
    """``load`` without the row locks, for a read unit (a price preview moves no stock)."""
    rows = session.connection().execute(_READ, {"shop_id": shop_id, "ids": sorted(set(variant_ids))}).all()
    return {r[0]: StockRow(*r) for r in rows}


def _merge(moves: Iterable[Move]) -> list[Move]:
    """One move per variant, so each row is updated once and rowcount equals the number of rows."""
    merged: dict[int, Move] = {}
    for m in moves:
        prev = merged.get(m.variant_id)
        merged[m.variant_id] = (
            m
            if prev is None
            else Move(
                m.variant_id,
                prev.kind,
                prev.on_hand + m.on_hand,
                prev.reserved + m.reserved,
                prev.backorder + m.backorder,
            )
        )
    return [merged[k] for k in sorted(merged)]


def apply(
    session: Session,
    shop_id: int,
    moves: list[Move],
    *,
    order_id: int | None = None,
    actor_id: int | None = None,
    reason: str = "",
    before: dict[int, StockRow] | None = None,
) -> list[DomainEvent]:
    """Apply ``moves`` atomically and write their ledger rows; returns low-stock events to record.

    ``before`` (from :func:`load` in this transaction) lets the caller skip a second read; the
    low-stock event fires when available stock falls to or below the product's threshold.
    """
    moves = [m for m in moves if m.on_hand or m.reserved or m.backorder]
    if not moves:
        return []
    now = clock.now()
    applied = _merge(moves)
    conn = session.connection()  # Core on the hot path: no ORM bookkeeping per statement
    updated = _APPLY.executemany(
        conn,
        [
            {
                "vid": m.variant_id,
                "sid": shop_id,
                "dh": m.on_hand,
                "dr": m.reserved,
                "db": m.backorder,
                "now": now,
            }
            for m in applied
        ],
    )
    if updated != len(applied):
        raise_insufficient(session, shop_id, applied, now)
    _INSERT_LEDGER.executemany(
        conn,
        [
            {
                "shop_id": shop_id,
                "variant_id": m.variant_id,
                "kind": m.kind,
                "on_hand_delta": m.on_hand,
                "reserved_delta": m.reserved,
                "backorder_delta": m.backorder,
                "reason": reason[:200],
                "order_id": order_id,
                "actor_id": actor_id,
                "created_at": now,
            }
            for m in moves
        ],
    )
    if before is None:
        before = load(session, shop_id, [m.variant_id for m in applied])
        # ``load`` ran after the update: turn it back into the "before" picture.
        before = {m.variant_id: _undo(before[m.variant_id], m) for m in applied if m.variant_id in before}
    return low_stock_events(before, applied)


def _undo(row: StockRow, m: Move) -> StockRow:
    return StockRow(
        **{
            **row.__dict__,
            "on_hand": row.on_hand - m.on_hand,
            "reserved": row.reserved - m.reserved,
            "backorder": row.backorder - m.backorder,
        }
    )


def low_stock_events(before: dict[int, StockRow], applied: list[Move]) -> list[DomainEvent]:
    events = []
    for m in applied:
        row = before.get(m.variant_id)
        if row is None or row.low_stock_threshold <= 0:
            continue
        after = row.available + m.on_hand - m.reserved
        if row.available > row.low_stock_threshold >= after:
            events.append(
                DomainEvent(
                    "stock.low",
                    "variant",
                    m.variant_id,
                    {"product_id": row.product_id, "available": after, "threshold": row.low_stock_threshold},
                )
            )
    return events


def raise_insufficient(session: Session, shop_id: int, applied: list[Move], now) -> None:
    """Explain the first move that could not apply; the caller's transaction is then rolled back.

    The same UPDATE may already have applied other lines (stamped with ``now``): their deltas are
    taken back out so each line is judged against the stock it actually saw.
    """
    current = {
        r.id: r
        for r in session.execute(
            select(_v.c.id, _v.c.sku, _v.c.on_hand, _v.c.reserved, _v.c.backorder, _v.c.updated_at).where(
                _v.c.shop_id == shop_id, _v.c.id.in_([m.variant_id for m in applied])
            )
        )
    }
    for m in applied:
        row = current.get(m.variant_id)
        if row is None:
            raise Conflict(
                "stock.unknown_variant",
                N_("This product variant no longer exists."),
                details={"variant_id": m.variant_id},
            )
        if row.updated_at == now:  # this line went through; it is not the one to blame
            continue
        available = row.on_hand - row.reserved
        if row.reserved + m.reserved < 0:
            raise Conflict(
                "stock.not_reserved",
                N_("Only {reserved} of {sku} are reserved; cannot take {needed}."),
                sku=row.sku,
                reserved=row.reserved,
                needed=-m.reserved,
                details={"sku": row.sku, "variant_id": m.variant_id, "reserved": row.reserved},
            )
        if row.on_hand + m.on_hand < row.reserved + m.reserved:
            needed = m.reserved - m.on_hand
            raise Conflict(
                "stock.insufficient",
                N_("Not enough stock for {sku}: {available} available, {needed} needed."),
                sku=row.sku,
                available=available,
                needed=needed,
                details={
                    "sku": row.sku,
                    "variant_id": m.variant_id,
                    "available": available,
                    "requested": needed,
                },
            )
        if row.backorder + m.backorder < 0:
            raise Conflict(
                "stock.backorder_mismatch",
                N_("The presale quantity of {sku} does not match."),
                sku=row.sku,
                details={"sku": row.sku, "variant_id": m.variant_id, "backorder": row.backorder},
            )
    raise Conflict("stock.changed", N_("Stock changed while saving; please try again."))
