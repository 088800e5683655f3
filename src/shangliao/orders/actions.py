"""Moving an order through its lifecycle, and the small changes beside it (notes, assignee, tags,
archive, payments). Each ``do_*`` changes state and records it (rule 3 of docs/architecture.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shangliao.assignment.apply import check_assignment, tell_assignee
from shangliao.assignment.auto import auto_assignee, tell_auto_assigned
from shangliao.auth.access import check_permission
from shangliao.auth.actor import Actor
from shangliao.core import clock
from shangliao.core.errors import Conflict, Invalid, NotFound
from shangliao.core.i18n import N_
from shangliao.events import log
from shangliao.inventory import stock
from shangliao.invoices.service import cancel_with_order
from shangliao.notifications import service as notifications
from shangliao.orders.cancel_reasons import check_cancel_reason
from shangliao.orders.create import count_on_customer, hold_move
from shangliao.orders.models import Order, OrderItem, OrderNote, OrderTag
from shangliao.orders.payments import do_record_payment
from shangliao.orders.refunds import do_record_refund
from shangliao.orders.state import FINAL, HOLDS_STOCK, Status, Transition, transition_for
from shangliao.orders.timeline import check_not_archived, check_version, record_change
from shangliao.orders.workflow import DEFAULT as DEFAULT_FLOW
from shangliao.orders.workflow import FLOW_ACTIONS, paid_in_full, workflow_for
from shangliao.shipping import parcels

_STAMP = {
    Status.PENDING: "submitted_at",
    Status.CONFIRMED: "confirmed_at",
    Status.SHIPPED: "shipped_at",
    Status.COMPLETED: "completed_at",
    Status.CANCELLED: "cancelled_at",
}


def _check_customer_step(actor: Actor, order: Order, t: Transition) -> None:
    """A customer acts only on their own order, and only where the lifecycle lets customers."""
    if order.customer_id != actor.customer_id or order.shop_id != actor.shop_id:
        raise NotFound("order.not_found", N_("No such order."))
    if not t.by_customer:
        check_permission(actor, t.permission)  # refused: a customer holds no staff permission


def held_moves(items: list[OrderItem], kind: str) -> list[stock.Move]:
    """What undoing (``release``) or fulfilling (``deduct``) each line's hold moves in stock."""
    moves = []
    for item in items:
        if item.variant_id is None:
            continue
        reserved = item.quantity - item.backorder
        if kind == "release":
            moves.append(
                stock.Move(item.variant_id, "release", reserved=-reserved, backorder=-item.backorder)
            )
        else:  # deduct: the goods leave the warehouse, from the reservation or the presale backlog
            moves.append(
                stock.Move(
                    item.variant_id,
                    "deduct",
                    on_hand=-item.quantity,
                    reserved=-reserved,
                    backorder=-item.backorder,
                )
            )
    return moves


def _count_on_customer(session: Session, order: Order, now: datetime) -> None:
    """A submitted draft counts on its customer, like an order placed directly."""
    if order.customer_id is not None:
        count_on_customer(session, order.shop_id, order.customer_id, now)


def check_still_on_sale(session: Session, order: Order) -> None:
    """A draft keeps its lines while the catalog moves on: a variant taken off sale (or deleted)
    since is refused at submission, as a new order of it would be (the draft's page warned)."""
    ids = [i.variant_id for i in order.items if i.variant_id is not None]
    found = stock.load(session, order.shop_id, ids)
    for item in order.items:
        row = found.get(item.variant_id) if item.variant_id is not None else None
        if row is None or not (row.active and row.product_active):
            raise Conflict(
                "order.variant_inactive",
                N_("{sku} is no longer on sale."),
                sku=item.sku,
                details={"variant_id": item.variant_id, "sku": item.sku},
            )


def _stock_effects(session: Session, actor: Actor, order: Order, target: Status) -> None:
    moves: list[stock.Move] = []
    if target == Status.PENDING:  # submitting a draft: hold stock now
        check_still_on_sale(session, order)
        for item in order.items:
            if item.variant_id is not None:
                moves.append(hold_move(item.variant_id, item.quantity, presale=item.backorder > 0))
    elif target == Status.CANCELLED and Status(order.status) in HOLDS_STOCK:
        moves = held_moves(order.items, "release")
    if not moves:
        return
    low = stock.apply(
        session,
        order.shop_id,
        moves,
        order_id=order.id,
        actor_id=actor.staff_id,
        reason=f"order {order.number} {target.value}",
    )
    log.record(session, order.shop_id, low)


def do_transition(
    session: Session,
    actor: Actor,
    order: Order,
    action: str,
    params: dict[str, Any],
    *,
    version: int | None = None,
) -> Order:
    """Apply lifecycle ``action`` with its guard, stock effect, timestamps and records."""
    check_version(order, version)
    check_not_archived(order)
    current = Status(order.status)
    # Only the steps a shop's workflow may close read its settings (cached; rarely a statement).
    flow = workflow_for(session, order.shop_id) if action in FLOW_ACTIONS else DEFAULT_FLOW
    t = transition_for(action, current, params, flow, paid_in_full=paid_in_full(order))
    if actor.via == "visitor":
        _check_customer_step(actor, order, t)
    else:
        check_permission(actor, t.permission)
    if t.target == Status.CANCELLED:  # checked before anything moves: a bad code changes nothing
        cancel_code, cancel_note = check_cancel_reason(params.get("reason"), params.get("reason_note"))
        parcels.check_nothing_shipped(session, order)  # cancel is for before shipping
    if t.target == Status.COMPLETED and order.aftersales_open > 0:  # aftersales/ settles it first
        raise Conflict(
            "order.aftersales_open",
            N_("This order has an open after-sales request; settle it before completing the order."),
            details={"aftersales_open": order.aftersales_open},
        )
    now = clock.now()
    auto_assigned = None
    if t.target == Status.PENDING:
        if order.address_enc is None:
            raise Invalid("order.address_required", N_("An order needs a delivery address."))
        if not order.items:
            raise Invalid("order.no_items", N_("An order needs at least one item."))
        _count_on_customer(session, order, now)
        # A submitted draft is a new pending order: round-robin's turn, when the shop has it on
        # (before the stock rows' locks, as for a new order: orders/create.py).
        if order.assignee_id is None:
            auto_assigned = order.assignee_id = auto_assignee(session, order.shop_id, None)
    _stock_effects(session, actor, order, t.target)
    data: dict[str, Any] = {}
    if t.target == Status.SHIPPED:
        # shipping/parcels.py: a parcel of the items asked (all that is left by default) deducts
        # their stock; one leaving items behind is its own step and the order waits for the rest.
        data, done = parcels.ship_parcel(session, actor, order, params)
        if not done:
            return order
    elif t.target == Status.COMPLETED:
        parcels.deliver_rest(session, actor, order)  # completion always comes after delivery
    elif t.target == Status.CANCELLED:
        order.cancel_reason, order.cancel_note = cancel_code, cancel_note
        data = {"reason": cancel_code, **({"reason_note": cancel_note} if cancel_note else {})}
    order.status = t.target.value
    stamp = _STAMP.get(t.target)
    if stamp:
        setattr(order, stamp, now)
    record_change(
        session,
        order,
        actor,
        "status",
        from_status=current.value,
        to_status=t.target.value,
        data=data,
        event_type=f"order.{t.target.value}",
        event_data=parcels.event_data(data),
    )
    if t.target == Status.CANCELLED:  # an invoice still to issue goes with the order (its own step)
        cancel_with_order(session, actor, order)
    if auto_assigned is not None:  # set above, so the new order's notifications see its assignee
        record_change(
            session,
            order,
            None,
            "assigned",
            data={"from": None, "to": auto_assigned, "auto": True},
            event_data={"assignee_id": auto_assigned, "previous_assignee_id": None},
        )
        tell_auto_assigned(session, order.shop_id, order.id, auto_assigned, order.number)
    return order


def check_archivable(order: Order) -> None:
    check_not_archived(order)
    if Status(order.status) not in FINAL:
        raise Conflict("order.not_archivable", N_("Only completed or cancelled orders can be archived."))
    if order.aftersales_open > 0:  # archived, its after-sales could no longer be settled
        raise Conflict(
            "order.aftersales_open_archive",
            N_("This order has an open after-sales request; settle it before archiving the order."),
            details={"aftersales_open": order.aftersales_open},
        )


def do_archive(session: Session, actor: Actor | None, order: Order) -> Order:
    check_archivable(order)
    order.archived_at = clock.now()
    record_change(session, order, actor, "archived")
    return order


def do_add_note(session: Session, actor: Actor, order: Order, body: str) -> OrderNote:
    note = OrderNote(
        shop_id=order.shop_id, order_id=order.id, author_id=actor.staff_id, body=body, created_at=clock.now()
    )
    session.add(note)
    session.flush()
    record_change(
        session,
        order,
        actor,
        "note",
        data={"note_id": note.id},
        event_type="order.note_added",
        event_data={"note_id": note.id},
    )
    return note


def do_assign(
    session: Session, actor: Actor, order: Order, assignee_id: int | None, *, version: int | None = None
) -> Order:
    """Give the order to ``assignee_id`` (None: nobody), under assignment/rules.py: another
    member's work needs orders.assign, and the assignee's role must see orders. The timeline
    keeps from → to; the new assignee is notified."""
    check_version(order, version)
    if order.assignee_id == assignee_id:
        return order
    check_assignment(session, actor, order.shop_id, "order", order.assignee_id, assignee_id)
    previous, order.assignee_id = order.assignee_id, assignee_id
    record_change(
        session,
        order,
        actor,
        "assigned",
        data={"from": previous, "to": assignee_id},
        event_data={"assignee_id": assignee_id, "previous_assignee_id": previous},
    )
    tell_assignee(session, actor, order.shop_id, "order", order.id, assignee_id, {"number": order.number})
    return order


def do_tag(session: Session, actor: Actor, order: Order, add: list[str], remove: list[str]) -> Order:
    current = {row.tag: row for row in order.tag_rows}
    added = [t for t in add if t not in current]
    removed = [t for t in remove if t in current and t not in add]
    if len(current) + len(added) - len(removed) > 20:
        raise Invalid("order.too_many_tags", N_("An order can have at most {n} tags."), n=20)
    if not added and not removed:
        return order
    for tag in added:
        order.tag_rows.append(OrderTag(shop_id=order.shop_id, order_id=order.id, tag=tag))
    for tag in removed:
        order.tag_rows.remove(current[tag])
    record_change(
        session,
        order,
        actor,
        "tagged",
        data={"added": added, "removed": removed},
        event_data={"added": added, "removed": removed},
    )
    return order


def do_mark_paid(session: Session, actor: Actor | None, order: Order, **payment: Any) -> Order:
    """Record a payment of ``order`` on its timeline and tell the members who may see it: by staff
    (or a provider's notification when ``actor`` is None; an applied one takes the Core path of
    payments/applied.py, which writes the same rows)."""
    check_not_archived(order)
    before, unpaid = order.paid_amount, order.paid_at is None
    p = do_record_payment(session, order, actor_id=actor.staff_id if actor else None, **payment)
    session.flush()
    record_change(
        session,
        order,
        actor,
        "paid",
        data={
            "payment_id": p.id,
            "method": p.method,
            "amount": p.amount,
            "reference": p.reference,
            "out_trade_no": p.out_trade_no,
            "paid_before": before,
            "paid_after": order.paid_amount,
        },
        event_data={
            "payment_id": p.id,
            "amount": p.amount,
            "paid_amount": order.paid_amount,
            # This payment paid the order in full (it set paid_at): the dashboard counts it paid.
            "paid_in_full": unpaid and order.paid_at is not None,
        },
    )
    # Told here, not by notifications/triggers.py: the provider's path numbers them with its event.
    told = notifications.cached_recipients(session, order.shop_id, "payment", order.assignee_id)
    notifications.notify(session, order.shop_id, told, "payment", "order", order.id, {"number": order.number})
    return order


def do_refund(session: Session, actor: Actor | None, order: Order, **refund: Any) -> Order:
    """Record a refund of ``order`` (by staff, or a provider's notification when ``actor`` is None)
    on its timeline; ``refund`` are ``do_record_refund``'s fields (an ``aftersale_id`` among them
    when an after-sales request settles)."""
    check_not_archived(order)
    before = order.refunded_amount
    r = do_record_refund(session, order, actor_id=actor.staff_id if actor else None, **refund)
    session.flush()
    record_change(
        session,
        order,
        actor,
        "refunded",
        data={
            "refund_id": r.id,
            "method": r.method,
            "amount": r.amount,
            "reference": r.reference,
            "out_refund_no": r.out_refund_no,
            "aftersale_id": r.aftersale_id,
            "refunded_before": before,
            "refunded_after": order.refunded_amount,
        },
        event_data={
            "refund_id": r.id,
            "amount": r.amount,
            "refunded_amount": order.refunded_amount,
            "aftersale_id": r.aftersale_id,
        },
    )
    if r.aftersale_id is not None:  # late import: aftersales builds on this module
        from shangliao.aftersales.service import settle_refund

        settle_refund(session, actor, order, r)
    return order
