"""After-sales use cases (issue 13).

States::

    requested ─┬─ approve ─→ approved (refund only) ──────────────── refund ─→ refunded
               │           → awaiting_return ─ arrived ─→ returned ─┬ refund ─→ refunded
               │             (customer: courier + number)            └ ship ───→ exchanged
               ├─ refuse ──→ refused
               └─ withdraw (customer, before the goods are back) ─→ withdrawn

A request waiting for its refund whose money went back another way is settled in
``aftersales/settle.py``: link an unclaimed refund (→ refunded) or close it (→ settled_offline).

Every step locks the order first (``access_order(..., lock=True)``), so two steps on one order
run one after the other; it is recorded on the order's timeline (``order.aftersale`` event) and
the request's card in the conversation redraws from the row. ``Order.aftersales_open`` counts
the open requests in the same unit: an order is not completed while one is open.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from shangliao.aftersales import words
from shangliao.aftersales.models import AfterSale, AfterSaleLine
from shangliao.aftersales.schemas import AfterSaleIn
from shangliao.auth.actor import Actor
from shangliao.auth.scope import Viewer, within_scope
from shangliao.chat.models import Attachment
from shangliao.chat.service import do_send
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, Invalid, NotFound, ShangliaoError
from shangliao.core.i18n import DEFAULT_LOCALE, N_, gettext
from shangliao.core.money import format_yuan
from shangliao.events import log
from shangliao.inventory import stock
from shangliao.orders.couriers import check_tracking
from shangliao.orders.models import Order, OrderItem, Refund
from shangliao.orders.refunds import refundable
from shangliao.orders.state import Status
from shangliao.orders.timeline import access_order, check_not_archived, record_change
from shangliao.storage.prepared import Prepared

OPEN = ("requested", "approved", "awaiting_return", "returned")
# "settled_offline": closed with no money through Shangliao (aftersales/settle.py).
CLOSED = ("refunded", "exchanged", "refused", "withdrawn", "settled_offline")
# What a refund may settle: a refund-only request once approved, a return once it is back.
REFUNDABLE = {"refund_only": "approved", "return_refund": "returned"}
GOODS_BACK = ("return_refund", "exchange")
RETURNABLE_FROM = (Status.SHIPPED, Status.COMPLETED)
CARD_KIND = "aftersale_card"


def blocks_completion(order: Order) -> bool:
    """Whether an open after-sales request keeps ``order`` from being completed (automation asks
    this before completing shipped orders on its own)."""
    return order.aftersales_open > 0


_o = Order.__table__
_OPEN = (_o.c.aftersales_open > 0, _o.c.archived_at.is_(None))
# The whole shop's count, read on every order list and dashboard: prepared (storage/prepared.py).
_SHOP_OPEN = Prepared(select(func.count()).where(_o.c.shop_id == bindparam("shop"), *_OPEN))


def open_orders(conn: Connection, who: Viewer) -> int:
    """The 售后 tab's count: ``who``'s orders with an open request (a partial index holds only
    those, so it reads a few rows however many orders the shop has)."""
    if not who.limited:
        return _SHOP_OPEN.rows(conn, {"shop": who.shop_id})[0][0]
    stmt = select(func.count()).where(
        _o.c.shop_id == who.shop_id, *_OPEN, *within_scope(who, _o.c.assignee_id)
    )
    return conn.execute(stmt).scalar_one()


def not_found() -> NotFound:
    return NotFound("aftersale.not_found", N_("No such after-sales request."))


# --- loading --------------------------------------------------------------------------------------


def _row(session: Session, shop_id: int, aftersale_id: int) -> AfterSale:
    row = session.scalar(select(AfterSale).where(AfterSale.id == aftersale_id, AfterSale.shop_id == shop_id))
    if row is None:
        raise not_found()
    return row


def access_aftersale(
    session: Session, who: Viewer, aftersale_id: int, *, lock: bool = False
) -> tuple[AfterSale, Order]:
    """A request of the caller's shop on an order in their data scope (404 otherwise, rule 21);
    ``lock`` locks its order, which orders every step on it."""
    row = _row(session, who.shop_id, aftersale_id)
    try:
        order = access_order(session, who, row.order_id, lock=lock)
    except NotFound:
        raise not_found() from None
    return row, order


def of_order(session: Session, order: Order) -> list[AfterSale]:
    return list(
        session.scalars(select(AfterSale).where(AfterSale.order_id == order.id).order_by(AfterSale.id))
    )


def changed_meanwhile(details: dict[str, Any] | None = None) -> Conflict:
    """The request changed since the caller read it: an older ``version``, or a write that met
    another (``StaleDataError``, answered so by the staff's and the customer's routes)."""
    return Conflict(
        "aftersale.version_conflict",
        N_("Someone else changed this after-sales request meanwhile. Reload it and try again."),
        details=details,
    )


def check_version(row: AfterSale, expected: int | None) -> None:
    if expected is not None and expected != row.version:
        raise changed_meanwhile({"version": row.version})


def check_status(row: AfterSale, *allowed: str) -> None:
    if row.status not in allowed:
        raise Conflict(
            "aftersale.invalid_step",
            N_("This cannot be done while the request is “{status}”."),
            status=words.label(words.STATUSES, row.status),
            details={"status": row.status, "allowed_from": list(allowed)},
        )


# --- the customer's request ------------------------------------------------------------------------


def _check_kind(order: Order, kind: str) -> None:
    if order.status == Status.DRAFT or order.archived_at is not None:
        raise Conflict(
            "aftersale.order_not_eligible",
            N_("After-sales cannot be requested for this order."),
            details={"status": order.status},
        )
    if kind in GOODS_BACK and Status(order.status) not in RETURNABLE_FROM:
        raise Conflict(
            "aftersale.not_shipped",
            N_("Goods can be returned or exchanged only once the order has shipped."),
            details={"status": order.status},
        )
    if kind != "exchange" and refundable(order) <= 0:
        raise Conflict(
            "aftersale.nothing_to_refund",
            N_("Nothing was paid for this order that could be refunded."),
            details={"refundable": 0},
        )


def _taken(session: Session, order: Order) -> tuple[set[int], dict[int, int]]:
    """Order lines with an open request, and how many of each line earlier requests (not refused
    or withdrawn) already cover."""
    rows = session.execute(
        select(AfterSaleLine.order_item_id, AfterSaleLine.quantity, AfterSale.status)
        .join(AfterSale, AfterSale.id == AfterSaleLine.aftersale_id)
        .where(AfterSale.order_id == order.id, AfterSale.status.not_in(("refused", "withdrawn")))
    ).all()
    open_items = {item for item, _, status in rows if status in OPEN}
    used: dict[int, int] = {}
    for item, quantity, _ in rows:
        used[item] = used.get(item, 0) + quantity
    return open_items, used


def request_options(session: Session, order: Order) -> dict[str, Any]:
    """What the customer's form may offer: the kinds this order allows now, and per line how many
    may still be asked about (none while the line has an open request)."""
    kinds = []
    for kind in ("refund_only", "return_refund", "exchange"):
        try:
            _check_kind(order, kind)
        except ShangliaoError:
            continue
        kinds.append(kind)
    open_items, used = _taken(session, order)
    lines = [
        {
            "order_item_id": i.id,
            "name": i.name,
            "spec": i.spec,
            "unit_price": i.unit_price,
            "variant_id": i.variant_id,
            "left": 0 if i.id in open_items else i.quantity - used.get(i.id, 0),
        }
        for i in order.items
    ]
    return {"kinds": kinds if any(line["left"] for line in lines) else [], "lines": lines}


def _check_lines(session: Session, order: Order, body: AfterSaleIn) -> list[tuple[OrderItem, Any]]:
    items = {i.id: i for i in order.items}
    ids = [line.order_item_id for line in body.lines]
    if len(set(ids)) != len(ids):
        raise Invalid("aftersale.duplicate_line", N_("Each order line may appear once."))
    open_items, used = _taken(session, order)
    picked = []
    for line in body.lines:
        item = items.get(line.order_item_id)
        if item is None:
            raise Invalid(
                "aftersale.unknown_line",
                N_("This order has no such line."),
                details={"order_item_id": line.order_item_id},
            )
        if item.id in open_items:
            raise Conflict(
                "aftersale.line_open",
                N_("{name} already has an open after-sales request."),
                name=item.name,
                details={"order_item_id": item.id},
            )
        left = item.quantity - used.get(item.id, 0)
        if line.quantity > left:
            raise Invalid(
                "aftersale.quantity_exceeds",
                N_("Only {left} of {name} can still be returned or refunded."),
                left=left,
                name=item.name,
                details={"order_item_id": item.id, "available": left},
            )
        if line.replacement_variant_id is not None and body.kind != "exchange":
            raise Invalid(
                "aftersale.replacement_not_exchange",
                N_("Only an exchange names a replacement."),
            )
        picked.append((item, line))
    if body.kind == "exchange":
        _check_replacements(session, order.shop_id, picked)
    return picked


def _check_replacements(session: Session, shop_id: int, picked: list[tuple[OrderItem, Any]]) -> None:
    """The customer may swap for another variant of the same product at the same unit price (what
    they paid, or what their own variant costs now): a dearer or another product is the shop's
    call, made when approving (``exchange.choose_replacements``)."""
    wanted = [(item, line.replacement_variant_id or item.variant_id) for item, line in picked]
    ids = {v for _, v in wanted if v is not None} | {i.variant_id for i, _ in picked if i.variant_id}
    found = stock.peek(session, shop_id, ids)
    for item, variant_id in wanted:
        row = found.get(variant_id) if variant_id is not None else None
        if row is None or not (row.active and row.product_active):
            raise Invalid(
                "aftersale.unknown_replacement",
                N_("The replacement product is not on sale."),
                details={"variant_id": variant_id},
            )
        own = found.get(item.variant_id) if item.variant_id is not None else None
        if variant_id != item.variant_id and (
            row.product_id != item.product_id or row.price not in {item.unit_price, own and own.price}
        ):
            raise Invalid(
                "aftersale.replacement_mismatch",
                N_("An exchange is for another variant of {name} at the same price."),
                name=item.name,
                details={"order_item_id": item.id, "variant_id": variant_id},
            )


def _amount(order: Order, body: AfterSaleIn, picked: list[tuple[OrderItem, Any]]) -> int:
    if body.kind == "exchange":
        if body.amount is not None:
            raise Invalid("aftersale.exchange_amount", N_("An exchange asks for no money back."))
        return 0
    left = refundable(order)
    if body.amount is None:
        return min(sum(item.unit_price * line.quantity for item, line in picked), left)
    if body.amount > left:
        raise Conflict(
            "aftersale.amount_exceeds_refundable",
            N_("The amount is more than what was paid and not yet refunded ({refundable})."),
            refundable=format_yuan(left),
            details={"refundable": left},
        )
    return body.amount


def _check_photos(session: Session, shop_id: int, conversation_id: int, photos: list[int]) -> list[int]:
    """Only photos the customer sent in their own conversation (the chat's upload pipeline)."""
    ids = list(dict.fromkeys(photos))
    if not ids:
        return []
    found = set(
        session.scalars(
            select(Attachment.id).where(
                Attachment.id.in_(ids),
                Attachment.shop_id == shop_id,
                Attachment.conversation_id == conversation_id,
                Attachment.sender_type == "customer",
                Attachment.kind == "image",
            )
        )
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise Invalid("aftersale.unknown_photo", N_("A photo was not found."), details={"photos": missing})
    return ids


def do_request(
    session: Session,
    keyring: Keyring,
    customer: Actor,
    order: Order,
    body: AfterSaleIn,
    conversation_id: int,
) -> AfterSale:
    """The customer asks for after-sales on their (locked) order; the card goes to the chat."""
    _check_kind(order, body.kind)
    if body.reason == "other" and not body.note:
        raise Invalid(
            "aftersale.note_required",
            N_("Say in a few words what is wrong when the reason is “other”."),
            details={"fields": ["note"]},
        )
    picked = _check_lines(session, order, body)
    amount = _amount(order, body, picked)
    photos = _check_photos(session, order.shop_id, conversation_id, body.photos)
    count = session.scalar(select(func.count()).where(AfterSale.order_id == order.id)) or 0
    now = clock.now()
    row = AfterSale(
        shop_id=order.shop_id,
        order_id=order.id,
        conversation_id=conversation_id,
        number=f"{order.number}A{count + 1:02d}",
        kind=body.kind,
        status="requested",
        reason=body.reason,
        customer_note=body.note,
        photos=photos,
        requested_amount=amount,
        created_at=now,
        updated_at=now,
        lines=[
            AfterSaleLine(
                shop_id=order.shop_id,
                order_item_id=item.id,
                quantity=line.quantity,
                replacement_variant_id=(line.replacement_variant_id or item.variant_id)
                if body.kind == "exchange"
                else None,
            )
            for item, line in picked
        ],
    )
    session.add(row)
    order.aftersales_open += 1
    session.flush()
    sent = do_send(
        session,
        keyring,
        order.shop_id,
        conversation_id,
        sender_type="customer",
        sender_id=customer.customer_id,
        kind=CARD_KIND,
        body=gettext(words.CARD_TITLE, DEFAULT_LOCALE, number=row.number),
        data={"aftersale_id": row.id, "order_id": order.id, "number": row.number, "kind": row.kind},
    )
    row.card_message_id = sent.id
    record_step(session, customer, order, row, "requested", amount=amount)
    return row


def record_step(
    session: Session, actor: Actor | None, order: Order, row: AfterSale, step: str, **data: Any
) -> None:
    """The timeline row and the event both pages redraw the request's card from (ids, codes and
    amounts only: the event log holds no personal data)."""
    row.updated_at = clock.now()
    session.flush()
    record_change(
        session,
        order,
        actor,
        "aftersale",
        data={"aftersale_id": row.id, "number": row.number, "step": step, **data},
        event_type="order.aftersale",
        event_data={"aftersale_id": row.id, "aftersale_status": row.status, "step": step},
    )


def close_request(order: Order, row: AfterSale, status: str) -> None:
    row.status = status
    row.closed_at = clock.now()
    order.aftersales_open = max(order.aftersales_open - 1, 0)


# --- the customer's later steps --------------------------------------------------------------------


def do_withdraw(
    session: Session, customer: Actor, order: Order, row: AfterSale, version: int | None
) -> AfterSale:
    """The customer takes their request back, as long as the goods are not back at the shop."""
    check_version(row, version)
    check_status(row, "requested", "approved", "awaiting_return")
    close_request(order, row, "withdrawn")
    record_step(session, customer, order, row, "withdrawn")
    return row


def do_send_return(
    session: Session,
    customer: Actor,
    order: Order,
    row: AfterSale,
    carrier: str,
    tracking: str,
    version: int | None,
) -> AfterSale:
    """The customer posted the goods back: courier and number (entered again to correct them)."""
    check_version(row, version)
    check_status(row, "awaiting_return")
    check_tracking(carrier, tracking)
    row.return_carrier, row.return_tracking = carrier, tracking
    row.return_sent_at = clock.now()
    record_step(session, customer, order, row, "return_sent", carrier_code=carrier, tracking_number=tracking)
    return row


# --- the shop's steps ------------------------------------------------------------------------------


def do_approve(
    session: Session, actor: Actor, order: Order, row: AfterSale, message: str, version: int | None
) -> AfterSale:
    check_version(row, version)
    check_not_archived(order)
    check_status(row, "requested")
    row.status = "approved" if row.kind == "refund_only" else "awaiting_return"
    row.staff_message, row.decided_by, row.decided_at = message, actor.staff_id, clock.now()
    record_step(session, actor, order, row, "approved")
    return row


def do_refuse(
    session: Session, actor: Actor, order: Order, row: AfterSale, message: str, version: int | None
) -> AfterSale:
    check_version(row, version)
    check_status(row, "requested")
    if not message:
        raise Invalid(
            "aftersale.message_required",
            N_("Tell the customer why the request is refused."),
            details={"fields": ["message"]},
        )
    row.staff_message, row.decided_by, row.decided_at = message, actor.staff_id, clock.now()
    close_request(order, row, "refused")
    record_step(session, actor, order, row, "refused")
    return row


def do_confirm_arrival(
    session: Session,
    actor: Actor,
    order: Order,
    row: AfterSale,
    restock: dict[int, bool],
    version: int | None,
) -> AfterSale:
    """The returned parcel arrived: each line back into stock (a ``return`` ledger row) or not
    (damaged goods stay off the shelf)."""
    check_version(row, version)
    check_status(row, "awaiting_return")
    known = {line.id for line in row.lines}
    if set(restock) != known:
        raise Invalid(
            "aftersale.restock_lines",
            N_("Say for every line whether it goes back into stock."),
            details={"lines": sorted(known)},
        )
    items = {i.id: i for i in order.items}
    moves = []
    for line in row.lines:
        line.restock = restock[line.id]
        variant_id = items[line.order_item_id].variant_id
        if line.restock and variant_id is not None:
            moves.append(stock.Move(variant_id, "return", on_hand=line.quantity))
    low = stock.apply(
        session,
        order.shop_id,
        moves,
        order_id=order.id,
        actor_id=actor.staff_id,
        reason=f"return {row.number}",
    )
    log.record(session, order.shop_id, low)
    row.status, row.received_by, row.returned_at = "returned", actor.staff_id, clock.now()
    record_step(
        session, actor, order, row, "returned", restocked=[line.id for line in row.lines if line.restock]
    )
    return row


def check_refundable(row: AfterSale) -> None:
    if row.kind not in REFUNDABLE:
        raise Conflict("aftersale.not_refundable", N_("An exchange is settled by shipping the replacement."))
    check_status(row, REFUNDABLE[row.kind])


def do_refund_request(
    session: Session,
    actor: Actor,
    order: Order,
    row: AfterSale,
    *,
    method: str,
    amount: int | None,
    reference: str = "",
    note: str = "",
    version: int | None = None,
    idempotency_key: str | None = None,
    idempotency_hash: bytes | None = None,
) -> None:
    """Record the money given back for ``row`` (by default what the customer asked for) through
    ``orders.actions.do_refund``, which settles the request (``settle_refund``). A retry with an
    ``idempotency_key`` is answered by the caller before this (``orders/idempotency.py``)."""
    from shangliao.aftersales.settle import check_not_covered  # late: settle builds on this module
    from shangliao.orders.actions import do_refund  # late: orders.actions calls back into this module

    check_version(row, version)
    check_refundable(row)
    check_not_covered(session, order, row)
    amount = amount or row.requested_amount
    if amount <= 0:
        raise Invalid(
            "aftersale.amount_required", N_("Say how much is refunded."), details={"fields": ["amount"]}
        )
    do_refund(
        session,
        actor,
        order,
        method=method,
        amount=amount,
        reference=reference,
        note=note,
        aftersale_id=row.id,
        idempotency_key=idempotency_key,
        idempotency_hash=idempotency_hash,
    )


def settle_refund(session: Session, actor: Actor | None, order: Order, refund: Refund) -> None:
    """A refund naming an after-sales request landed (by hand, or a provider's notification routed
    to ``orders.actions.do_refund``): the request is settled. The money moved whatever state the
    request was in, so any open one closes; a closed one is left as it is."""
    if refund.aftersale_id is None:
        return
    row = session.scalar(
        select(AfterSale).where(AfterSale.id == refund.aftersale_id, AfterSale.order_id == order.id)
    )
    if row is None or row.status not in OPEN:
        return
    row.refund_id = refund.id
    close_request(order, row, "refunded")
    record_step(session, actor, order, row, "refunded", refund_id=refund.id, amount=refund.amount)
