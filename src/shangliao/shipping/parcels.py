"""Split shipments: an order leaves in one or several parcels, each signed for on its own.

Each parcel holds some quantity of some order lines (``ParcelItem``); what a line still waits for
is its quantity less what its parcels hold. "Partly shipped" is derived from the status and the
order's count of parcels (``Order.parcels_shipped``, kept here), so a list needs no parcel read. Shipping
a parcel deducts the held stock of exactly its items; the order becomes shipped with the parcel
that holds the last of them (``orders/actions.py do_transition`` runs the lifecycle step, this
module the parcel). Completion always comes after delivery: completing an order signs for the
parcels nobody signed for yet, on the timeline, and ``Order.delivered_at`` is the last signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.core import clock
from shangliao.core.errors import Conflict, Invalid, NotFound
from shangliao.core.i18n import N_
from shangliao.events import log
from shangliao.inventory import stock
from shangliao.orders.couriers import courier_name, tracking_url
from shangliao.orders.models import Order, OrderItem
from shangliao.orders.state import FINAL, Status, partly_shipped
from shangliao.orders.timeline import check_not_archived, record_change
from shangliao.shipping.models import Parcel, ParcelItem

# Timeline kinds (orders/timeline.py rows) and the events their steps publish.
SHIPPED_KIND = "parcel_shipped"
DELIVERED_KIND = "parcel_delivered"
DELIVERED_BY = ("staff", "customer")


@dataclass(frozen=True)
class Line:
    """One order line of a parcel, with the quantity it takes."""

    item: OrderItem
    quantity: int


def parcels_of(session: Session, order: Order) -> list[Parcel]:
    """The order's parcels, first shipped first."""
    return list(session.scalars(select(Parcel).where(Parcel.order_id == order.id).order_by(Parcel.seq)))


def items_of(session: Session, parcels: list[Parcel]) -> dict[int, list[ParcelItem]]:
    """Each parcel's items (one query for them all), in the order they were packed."""
    out: dict[int, list[ParcelItem]] = {p.id: [] for p in parcels}
    if parcels:
        rows = session.scalars(
            select(ParcelItem).where(ParcelItem.parcel_id.in_(list(out))).order_by(ParcelItem.id)
        )
        for row in rows:
            out[row.parcel_id].append(row)
    return out


def shipped_by_line(session: Session, order: Order) -> dict[int, int]:
    """How many of each order line its parcels hold already (lines not shipped are absent)."""
    rows = session.execute(
        select(ParcelItem.order_item_id, func.sum(ParcelItem.quantity))
        .join(Parcel, Parcel.id == ParcelItem.parcel_id)
        .where(Parcel.order_id == order.id, ParcelItem.order_item_id.is_not(None))
        .group_by(ParcelItem.order_item_id)
    )
    return {item_id: int(total) for item_id, total in rows}


def remaining_by_line(order: Order, shipped: dict[int, int]) -> dict[int, int]:
    """What each line still waits for, by order line id (zero for a line shipped whole)."""
    return {i.id: i.quantity - shipped.get(i.id, 0) for i in order.items}


def check_nothing_shipped(session: Session, order: Order) -> None:
    """Cancelling is for before shipping: a partly shipped order has goods on the road."""
    if session.scalar(select(Parcel.id).where(Parcel.order_id == order.id).limit(1)) is not None:
        raise Conflict(
            "order.partly_shipped",
            N_("Part of this order has been shipped, so it can no longer be cancelled."),
        )


def check_lines(order: Order, shipped: dict[int, int], asked: list[dict[str, int]] | None) -> list[Line]:
    """The parcel's lines: ``asked`` ([{order_item_id, quantity}]) checked against what remains,
    or everything that remains when nothing is asked. Refused whole, before anything moves."""
    remaining = remaining_by_line(order, shipped)
    by_id = {i.id: i for i in order.items}
    if asked is None:
        lines = [Line(by_id[i], q) for i, q in remaining.items() if q > 0]
    else:
        wanted: dict[int, int] = {}
        for entry in asked:
            item_id, quantity = int(entry["order_item_id"]), int(entry["quantity"])
            if item_id not in by_id:
                # Another order's line (or none at all) is not this order's to ship.
                raise Invalid(
                    "parcel.unknown_item",
                    N_("Item {id} is not in this order."),
                    id=item_id,
                    details={"order_item_id": item_id},
                )
            if quantity < 1:
                raise Invalid("parcel.bad_quantity", N_("A parcel holds at least one of each item it names."))
            wanted[item_id] = wanted.get(item_id, 0) + quantity
        for item_id, quantity in wanted.items():
            if quantity > remaining[item_id]:
                raise Conflict(
                    "parcel.exceeds_remaining",
                    N_("Only {remaining} of {name} are left to ship; this parcel names {quantity}."),
                    name=by_id[item_id].name,
                    remaining=remaining[item_id],
                    quantity=quantity,
                    details={
                        "order_item_id": item_id,
                        "remaining": remaining[item_id],
                        "requested": quantity,
                    },
                )
        lines = [Line(by_id[i], q) for i, q in wanted.items()]
    if not lines:
        raise Conflict("parcel.nothing_left", N_("Every item of this order has been shipped already."))
    return lines


def deduct_moves(lines: list[Line], shipped: dict[int, int]) -> list[stock.Move]:
    """What leaving the warehouse moves for these lines: the goods come off hand, first out of
    the line's reservation, then out of its presale backlog, so parcels of one line add up to the
    line's whole hold (``orders/actions.py held_moves``) whatever way it is split."""
    moves = []
    for line in lines:
        item = line.item
        if item.variant_id is None:  # a product deleted since: nothing left to move
            continue
        reserved = item.quantity - item.backorder
        before = shipped.get(item.id, 0)
        from_reserved = min(before + line.quantity, reserved) - min(before, reserved)
        moves.append(
            stock.Move(
                item.variant_id,
                "deduct",
                on_hand=-line.quantity,
                reserved=-from_reserved,
                backorder=-(line.quantity - from_reserved),
            )
        )
    return moves


def _line_data(lines: list[Line]) -> list[dict[str, Any]]:
    return [
        {"order_item_id": ln.item.id, "name": ln.item.name, "spec": ln.item.spec, "quantity": ln.quantity}
        for ln in lines
    ]


def ship_parcel(session: Session, actor: Actor, order: Order, params: dict[str, Any]) -> tuple[dict, bool]:
    """Send a parcel of ``params["items"]`` (all that remains when absent) with its courier and
    number; the lifecycle step (its state, guard and permission) was checked by the caller.

    Returns the step's timeline data and whether every item is now shipped. A parcel that leaves
    items behind is recorded here as its own step; the last one is the caller's status change.
    """
    shipped = shipped_by_line(session, order)
    lines = check_lines(order, shipped, params.get("items"))
    seq = (session.scalar(select(func.max(Parcel.seq)).where(Parcel.order_id == order.id)) or 0) + 1
    parcel = Parcel(
        shop_id=order.shop_id,
        order_id=order.id,
        seq=seq,
        kind="order",
        carrier_code=params["carrier_code"],
        tracking_number=params["tracking_number"],
        shipped_by=actor.staff_id,
        shipped_at=clock.now(),
    )
    session.add(parcel)
    order.parcels_shipped = (order.parcels_shipped or 0) + 1  # 部分发货 in lists (orders/state.py)
    session.flush()
    session.add_all(
        ParcelItem(
            shop_id=order.shop_id,
            parcel_id=parcel.id,
            order_item_id=ln.item.id,
            variant_id=ln.item.variant_id,
            name=ln.item.name,
            spec=ln.item.spec,
            quantity=ln.quantity,
        )
        for ln in lines
    )
    low = stock.apply(
        session,
        order.shop_id,
        deduct_moves(lines, shipped),
        order_id=order.id,
        actor_id=actor.staff_id,
        reason=f"order {order.number} parcel {seq}",
    )
    log.record(session, order.shop_id, low)
    if order.tracking_number is None:  # lists, search and the tracking card read the first parcel's
        order.carrier_code, order.tracking_number = parcel.carrier_code, parcel.tracking_number
    data = {
        "carrier_code": parcel.carrier_code,
        "tracking_number": parcel.tracking_number,
        "parcel_id": parcel.id,
        "seq": seq,
        "items": _line_data(lines),
    }
    for ln in lines:
        shipped[ln.item.id] = shipped.get(ln.item.id, 0) + ln.quantity
    done = all(q <= 0 for q in remaining_by_line(order, shipped).values())
    if not done:
        record_change(
            session,
            order,
            actor,
            SHIPPED_KIND,
            data=data,
            event_type=f"order.{SHIPPED_KIND}",
            event_data=event_data(data),
        )
    return data, done


def event_data(data: dict[str, Any]) -> dict[str, Any]:
    """A parcel step as the event log carries it: ids and the courier, not the items."""
    return {k: v for k, v in data.items() if k != "items"}


def access_parcel(session: Session, order: Order, parcel_id: int) -> Parcel:
    """One of ``order``'s parcels; another order's (or shop's) is 404."""
    parcel = session.scalar(select(Parcel).where(Parcel.id == parcel_id, Parcel.order_id == order.id))
    if parcel is None:
        raise NotFound("parcel.not_found", N_("No such parcel."))
    return parcel


def _sign_for(
    session: Session, actor: Actor | None, order: Order, parcel: Parcel, by: str, now: datetime
) -> None:
    parcel.delivered_at, parcel.delivered_by = now, by
    data = {
        "parcel_id": parcel.id,
        "seq": parcel.seq,
        "carrier_code": parcel.carrier_code,
        "tracking_number": parcel.tracking_number,
        "delivered_by": by,
    }
    record_change(
        session,
        order,
        actor,
        DELIVERED_KIND,
        data=data,
        event_type=f"order.{DELIVERED_KIND}",
        event_data=data,
    )


def _by(actor: Actor | None) -> str:
    return "customer" if actor is not None and actor.via == "visitor" else "staff"


def _settle_delivery(session: Session, order: Order, now: datetime) -> None:
    """``delivered_at``: when the last parcel of a shipped order was signed for."""
    if Status(order.status) != Status.SHIPPED:
        return
    waiting = session.scalar(
        select(func.count())
        .select_from(Parcel)
        .where(Parcel.order_id == order.id, Parcel.delivered_at.is_(None))
    )
    if not waiting and order.delivered_at is None:
        order.delivered_at = now


def do_mark_delivered(session: Session, actor: Actor, order: Order, parcel_id: int) -> Parcel:
    """已签收: ``parcel`` arrived (staff, or the customer on their card: ``actor.via`` says which).
    The order itself completes only by its own step (the customer's receipt completes it when
    every parcel has arrived: ``storefront/orders.py do_confirm_receipt``)."""
    check_not_archived(order)
    parcel = access_parcel(session, order, parcel_id)
    if not still_open(order):
        raise Conflict("parcel.order_closed", N_("This order is closed; its parcels can no longer change."))
    if parcel.delivered_at is not None:
        raise Conflict("parcel.already_delivered", N_("This parcel was signed for already."))
    now = clock.now()
    _sign_for(session, actor, order, parcel, _by(actor), now)
    session.flush()
    _settle_delivery(session, order, now)
    return parcel


def deliver_rest(session: Session, actor: Actor | None, order: Order) -> None:
    """Before an order completes: every parcel not yet signed for is, by whoever completes it,
    each on the timeline, so completion always comes after delivery."""
    now = clock.now()
    for parcel in parcels_of(session, order):
        if parcel.delivered_at is None:
            _sign_for(session, actor, order, parcel, _by(actor), now)
    if order.delivered_at is None:
        order.delivered_at = now


def still_open(order: Order) -> bool:
    """Whether the order's parcels may still be signed for."""
    return order.archived_at is None and Status(order.status) not in FINAL


def ready_to_complete(session: Session, order: Order) -> bool:
    """The customer's last 确认收货 completes the order: shipped whole, every parcel signed for,
    and no after-sales request open (that blocks completing, and must not undo the signature)."""
    if Status(order.status) != Status.SHIPPED or order.aftersales_open:
        return False
    parcels = parcels_of(session, order)
    return bool(parcels) and all(p.delivered_at is not None for p in parcels)


def parcel_dict(parcel: Parcel, items: list[ParcelItem], locale: str | None = None) -> dict[str, Any]:
    """A parcel as staff and its customer read it: courier, number, items and whether it arrived."""
    return {
        "id": parcel.id,
        "seq": parcel.seq,
        "kind": parcel.kind,
        "carrier_code": parcel.carrier_code,
        "carrier_name": courier_name(parcel.carrier_code, locale) if locale else None,
        "tracking_number": parcel.tracking_number,
        "tracking_url": tracking_url(parcel.carrier_code, parcel.tracking_number),
        "shipped_at": parcel.shipped_at,
        "delivered_at": parcel.delivered_at,
        "delivered_by": parcel.delivered_by,
        "items": [
            {"order_item_id": i.order_item_id, "name": i.name, "spec": i.spec, "quantity": i.quantity}
            for i in items
        ],
    }


def shipment_view(session: Session, order: Order, locale: str | None = None) -> dict[str, Any]:
    """The order's parcels and what each line still waits for (the ship dialog proposes it)."""
    parcels = parcels_of(session, order)
    items = items_of(session, parcels)
    shipped = shipped_by_line(session, order)
    remaining = remaining_by_line(order, shipped)
    return {
        "parcels": [parcel_dict(p, items[p.id], locale) for p in parcels],
        "partly_shipped": partly_shipped(order.status, order.parcels_shipped),
        "lines": [
            {
                "order_item_id": i.id,
                "name": i.name,
                "spec": i.spec,
                "quantity": i.quantity,
                "shipped": shipped.get(i.id, 0),
                "remaining": remaining[i.id],
            }
            for i in order.items
        ],
    }


def public_parcels(session: Session, order: Order) -> list[dict[str, Any]]:
    """The parcels as the customer's page shows them: courier names in both languages (the page
    picks one), tracking, items, and whether each has arrived."""
    parcels = parcels_of(session, order)
    items = items_of(session, parcels)
    return [
        parcel_dict(p, items[p.id])
        | {
            "carrier_zh": courier_name(p.carrier_code, "zh_CN"),
            "carrier_en": courier_name(p.carrier_code, "en"),
        }
        for p in parcels
    ]
