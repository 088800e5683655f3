"""Shipping an exchange's replacement (``aftersales/service.py`` holds the other steps): its own
parcel of kind "exchange", stock taken with the no-oversell update (rule 10 of
docs/architecture.md), the request closed."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shangliao.aftersales import service
from shangliao.aftersales.models import AfterSale
from shangliao.aftersales.service import check_status, check_version, close_request, record_step
from shangliao.auth.actor import Actor
from shangliao.core import clock
from shangliao.core.errors import Conflict, Invalid
from shangliao.core.i18n import N_
from shangliao.events import log
from shangliao.inventory import stock
from shangliao.orders.couriers import check_tracking
from shangliao.orders.models import Order
from shangliao.shipping.models import Parcel, ParcelItem


def do_approve(
    session: Session,
    actor: Actor,
    order: Order,
    row: AfterSale,
    message: str,
    version: int | None,
    replacements: dict[int, int],
) -> AfterSale:
    """Approve, first putting the shop's choice of replacement (line id → variant id) on the lines."""
    check_version(row, version)
    check_status(row, "requested")
    choose_replacements(session, order, row, replacements)
    return service.do_approve(session, actor, order, row, message, version)


def choose_replacements(session: Session, order: Order, row: AfterSale, replacements: dict[int, int]) -> None:
    """The shop may send another variant than the customer named: any on sale in the shop (another
    size, or what the customer agreed to in the chat). Unlike the customer's own choice it may
    cost more or less; that difference is settled by hand (a payment or a refund recorded on the
    order), never here."""
    if not replacements:
        return
    if row.kind != "exchange":
        raise Invalid("aftersale.replacement_not_exchange", N_("Only an exchange names a replacement."))
    lines = {line.id: line for line in row.lines}
    unknown = sorted(set(replacements) - set(lines))
    if unknown:
        raise Invalid(
            "aftersale.unknown_line", N_("This request has no such line."), details={"lines": unknown}
        )
    found = stock.peek(session, order.shop_id, replacements.values())
    for line_id, variant_id in replacements.items():
        variant = found.get(variant_id)
        if variant is None or not (variant.active and variant.product_active):
            raise Invalid(
                "aftersale.unknown_replacement",
                N_("The replacement product is not on sale."),
                details={"variant_id": variant_id},
            )
        lines[line_id].replacement_variant_id = variant_id


def do_ship_exchange(
    session: Session,
    actor: Actor,
    order: Order,
    row: AfterSale,
    carrier: str,
    tracking: str,
    version: int | None,
) -> AfterSale:
    """Send the replacement: its own parcel (kind "exchange"), stock taken with the no-oversell
    update (rule 10), the request closed."""
    check_version(row, version)
    if row.kind != "exchange":
        raise Conflict("aftersale.not_exchange", N_("Only an exchange ships a replacement."))
    check_status(row, "returned")
    check_tracking(carrier, tracking)
    found = stock.load(
        session,
        order.shop_id,
        [line.replacement_variant_id for line in row.lines if line.replacement_variant_id],
    )
    moves = []
    for line in row.lines:
        if line.replacement_variant_id not in found:
            raise Conflict(
                "aftersale.unknown_replacement",
                N_("The replacement product is not on sale."),
                details={"variant_id": line.replacement_variant_id},
            )
        moves.append(stock.Move(line.replacement_variant_id, "exchange", on_hand=-line.quantity))
    low = stock.apply(
        session,
        order.shop_id,
        moves,
        order_id=order.id,
        actor_id=actor.staff_id,
        reason=f"exchange {row.number}",
        before=found,
    )
    log.record(session, order.shop_id, low)
    parcel = make_exchange_parcel(session, actor, order, row, carrier, tracking, found)
    row.parcel_id = parcel.id
    close_request(order, row, "exchanged")
    record_step(session, actor, order, row, "exchanged", carrier_code=carrier, tracking_number=tracking)
    return row


def make_exchange_parcel(
    session: Session,
    actor: Actor,
    order: Order,
    row: AfterSale,
    carrier: str,
    tracking: str,
    found: dict[int, stock.StockRow],
) -> Parcel:
    """The replacement's parcel, numbered after the order's other parcels, with a snapshot of
    what it holds (no order line: the replacement was never sold as one)."""
    seq = session.scalar(select(func.coalesce(func.max(Parcel.seq), 0)).where(Parcel.order_id == order.id))
    parcel = Parcel(
        shop_id=order.shop_id,
        order_id=order.id,
        seq=(seq or 0) + 1,
        kind="exchange",
        aftersale_id=row.id,
        carrier_code=carrier,
        tracking_number=tracking,
        shipped_by=actor.staff_id,
        shipped_at=clock.now(),
    )
    session.add(parcel)
    session.flush()
    for line in row.lines:
        variant = found[line.replacement_variant_id]
        session.add(
            ParcelItem(
                shop_id=order.shop_id,
                parcel_id=parcel.id,
                order_item_id=None,
                variant_id=variant.variant_id,
                name=variant.product_name[:120],
                spec=variant.spec_label[:255],
                quantity=line.quantity,
            )
        )
    session.flush()
    return parcel
