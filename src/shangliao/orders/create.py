"""Placing an order: the hot path, written as a handful of Core statements.

One order with three lines costs, on SQLite: BEGIN IMMEDIATE, read the variants, update the
customer (which also checks it), bump the shop counter, insert the order, its search terms (one
executemany), move the stock (one guarded UPDATE + one ledger INSERT), insert the items, one
timeline row and the event-log rows, and COMMIT. The tab counts follow by trigger
(``orders/counts.py``), without a statement of their own. The ORM is kept off this path on purpose
(docs/architecture.md, "A write, from request to socket", step 3); everything else about orders
uses the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from shangliao.assignment import auto
from shangliao.assignment.apply import check_assignment
from shangliao.assignment.creator import creator_takes
from shangliao.auth.actor import Actor
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, Invalid, NotFound
from shangliao.core.i18n import N_
from shangliao.core.money import MAX_AMOUNT, format_yuan
from shangliao.customers import service as customers
from shangliao.customers.models import Customer
from shangliao.customers.pii import Address, encrypt_address, phone_hashes
from shangliao.events import log
from shangliao.events.log import DomainEvent
from shangliao.inventory import stock
from shangliao.notifications import service as notifications
from shangliao.orders import search_terms
from shangliao.orders.idempotency import fingerprint
from shangliao.orders.models import Order, OrderEvent, OrderItem, OrderTag
from shangliao.orders.numbers import format_number, order_day
from shangliao.orders.schemas import ItemIn, OrderCreate
from shangliao.orders.state import Status
from shangliao.orders.workflow import Workflow, workflow_for
from shangliao.shipping import fees
from shangliao.shops import counters
from shangliao.storage.prepared import Prepared

_orders = Order.__table__
_items = OrderItem.__table__
_tags = OrderTag.__table__
_timeline = OrderEvent.__table__
_customers = Customer.__table__

# Built once at import: on this path, compiling statements per call cost more than running them.
_INSERT_ORDER = Prepared(insert(_orders).returning(_orders.c.id))
# One multi-row INSERT … RETURNING (SQLAlchemy's insertmanyvalues). Rows may come back in any
# order, so ids are matched to lines by position (asking for ordered rows would make SQLite fall
# back to one INSERT per line).
_INSERT_ITEMS = insert(_items).returning(_items.c.id, _items.c.position)
_INSERT_TAGS = insert(_tags)
_INSERT_TIMELINE = Prepared(insert(_timeline))
_COUNT_ON_CUSTOMER = (
    update(_customers)
    .where(
        _customers.c.id == bindparam("cid"),
        _customers.c.shop_id == bindparam("shop"),
        _customers.c.blocked.is_(False),
    )
    .values(
        order_count=_customers.c.order_count + 1,
        last_order_at=bindparam("now"),
        first_order_at=func.coalesce(_customers.c.first_order_at, bindparam("now")),
    )
    .returning(_customers.c.name)
)


# Columns a new order leaves empty, so the in-memory row renders like one read back.
_NOT_YET = dict.fromkeys(
    (
        "carrier_code",
        "tracking_number",
        "cancel_reason",
        "cancel_note",
        "confirmed_at",
        "shipped_at",
        "completed_at",
        "cancelled_at",
        "paid_at",
        "archived_at",
        "delivered_at",
        "invoice_status",
    )
)


@dataclass(frozen=True)
class CreatedOrder:
    """What was written, ready for ``views.order_dict`` (attribute access like the ORM rows)."""

    row: SimpleNamespace
    items: list[SimpleNamespace]
    tags: list[str]
    address: Address | None
    flow: Workflow  # the shop's workflow, for the steps the answer offers


@dataclass(frozen=True)
class PricedLines:
    rows: list[dict[str, Any]]  # order_items rows without order_id
    moves: list[stock.Move]
    items_total: int


def price_lines(
    shop_id: int, lines: list[ItemIn], found: dict[int, stock.StockRow], *, hold: bool
) -> PricedLines:
    """Snapshot each line from the catalog and work out the stock it holds (if ``hold``)."""
    rows, moves, total = [], [], 0
    for position, line in enumerate(lines):
        row = found.get(line.variant_id)
        if row is None:
            raise NotFound(
                "order.unknown_variant",
                N_("Product variant {id} does not exist."),
                id=line.variant_id,
                details={"variant_id": line.variant_id},
            )
        if not (row.active and row.product_active):
            raise Conflict(
                "order.variant_inactive",
                N_("{sku} is no longer on sale."),
                sku=row.sku,
                details={"variant_id": row.variant_id, "sku": row.sku},
            )
        unit = row.price if line.unit_price is None else line.unit_price
        amount = unit * line.quantity
        total += amount
        backorder = line.quantity if row.presale else 0
        rows.append(
            {
                "shop_id": shop_id,
                "variant_id": row.variant_id,
                "product_id": row.product_id,
                "sku": row.sku,
                "name": row.product_name,
                "spec": row.spec_label,
                "unit_price": unit,
                "quantity": line.quantity,
                "amount": amount,
                "backorder": backorder,
                "position": position,
            }
        )
        if hold:
            moves.append(hold_move(row.variant_id, line.quantity, presale=row.presale))
    return PricedLines(rows, moves, total)


def hold_move(variant_id: int, quantity: int, *, presale: bool) -> stock.Move:
    """Presale lines record a backorder instead of a reservation (rule 10 of docs/architecture.md)."""
    if presale:
        return stock.Move(variant_id, "backorder", backorder=quantity)
    return stock.Move(variant_id, "reserve", reserved=quantity)


def check_amounts(items_total: int, shipping_fee: int, discount: int) -> int:
    if items_total + shipping_fee > MAX_AMOUNT:
        # Each price and quantity is bounded, their product is not: caught here, not by the database.
        raise Invalid(
            "order.amount_too_large",
            N_("The order amount is larger than {limit} allows."),
            limit=format_yuan(MAX_AMOUNT),
            details={"items_total": items_total, "shipping_fee": shipping_fee, "max": MAX_AMOUNT},
        )
    total = items_total + shipping_fee - discount
    if total < 0:
        raise Invalid(
            "order.discount_too_large",
            N_("The discount is larger than the order amount."),
            details={"items_total": items_total, "shipping_fee": shipping_fee, "discount": discount},
        )
    return total


@dataclass(frozen=True)
class Quote:
    """What a set of lines costs: the priced lines and the amounts an order of them would carry."""

    found: dict[int, stock.StockRow]
    priced: PricedLines
    shipping_fee: int
    discount: int
    total: int
    # How the shop's 运费模板 priced the fee (not applied when the caller gave it or none applies).
    fee: fees.FeeQuote = fees.NOT_APPLIED


def quote(
    session: Session,
    shop_id: int,
    lines: list[ItemIn],
    shipping_fee: int | None,
    discount: int,
    *,
    hold: bool,
    province: str | None = None,
) -> Quote:
    """Price ``lines`` as an order would be priced. Placing an order and the new-order page's
    running total (``hold=False``, in a read unit: no row locks) both go through here, so the total
    shown is the total charged. ``shipping_fee`` None: the shop's templates price it for
    ``province`` (``shipping/fees.py``; 0 when no template applies)."""
    read = stock.load if hold else stock.peek
    found = read(session, shop_id, [line.variant_id for line in lines])
    priced = price_lines(shop_id, lines, found, hold=hold)
    fee = fees.NOT_APPLIED
    if shipping_fee is None:
        fee = fees.quote_for_order(session, shop_id, priced.rows, found, province)
        shipping_fee = fee.fee
    total = check_amounts(priced.items_total, shipping_fee, discount)
    return Quote(found, priced, shipping_fee, discount, total, fee)


def count_on_customer(session: Session, shop_id: int, customer_id: int, now) -> str:
    """Count a placed order on its customer and return their name.

    One statement that also checks the customer (theirs, not blocked); the refusal is worked out
    only when it matches nothing. Used when an order is placed and when a draft is submitted.
    """
    row = (
        session.connection()
        .execute(_COUNT_ON_CUSTOMER, {"cid": customer_id, "shop": shop_id, "now": now})
        .first()
    )
    if row is not None:
        return row[0]
    customer = customers.access_customer(session, shop_id, customer_id)
    customers.check_can_order(customer)
    return customer.name


def _customer_name(session: Session, shop_id: int, customer_id: int, *, placed: bool, now) -> str:
    if placed:
        return count_on_customer(session, shop_id, customer_id, now)
    customer = customers.access_customer(session, shop_id, customer_id)
    customers.check_can_order(customer)
    return customer.name


def find_by_idempotency_key(session: Session, shop_id: int, key: str) -> Order | None:
    return session.scalar(select(Order).where(Order.shop_id == shop_id, Order.idempotency_key == key))


def _resolve_address(
    session: Session, rt_keyring: Keyring, shop_id: int, body: OrderCreate
) -> Address | None:
    if body.address is not None:
        return body.address
    if body.customer_id is None:
        if body.address_id is not None:
            raise Invalid(
                "order.address_without_customer", N_("An address id needs the customer it belongs to.")
            )
        return None
    return customers.address_of(session, rt_keyring, shop_id, body.customer_id, body.address_id)


def do_create_order(
    session: Session,
    keyring: Keyring,
    actor: Actor,
    body: OrderCreate,
    *,
    idempotency_key: str | None = None,
    conversation_id: int | None = None,
    created_data: dict[str, Any] | None = None,
) -> CreatedOrder:
    """Create an order (pending, or a draft) and return it built in memory for the response.

    ``conversation_id`` links an order born in chat (or on the shop page) to its conversation for
    good; the caller has checked that the conversation is the customer's. ``created_data`` is kept on
    the "created" timeline entry (where an order made from a chat message came from)."""
    shop_id = actor.shop_id
    placed = not body.draft
    now = clock.now()
    # A limited member who names nobody takes the order (draft or not): unassigned, it would be
    # out of their sight at once (assignment/creator.py).
    taken = creator_takes(actor, body.assignee_id)
    named = body.assignee_id if taken is None else taken
    # Round-robin, when the shop turned it on, gives a new pending order nobody was named for.
    # First, before the stock rows' locks: a draft's submission takes the pointer's lock first too.
    assignee_id = auto.auto_assignee(session, shop_id, named) if placed else named
    auto_assigned = assignee_id if assignee_id != named else None
    flow = workflow_for(session, shop_id)
    if body.channel == "manual":  # what the shop asks of an order entered by hand
        flow.check_manual(
            {
                "customer_id": body.customer_id,
                "remark": body.remark,
                "assignee_id": assignee_id,
                "tags": body.tags,
            }
        )
    address = _resolve_address(session, keyring, shop_id, body)
    # A fee the caller gave stands, and stays through later edits; otherwise the templates price it.
    fee_given = "shipping_fee" in body.model_fields_set
    priced_order = quote(
        session,
        shop_id,
        body.items,
        body.shipping_fee if fee_given else None,
        body.discount,
        hold=placed,
        province=address.province if address else None,
    )
    found, priced, total = priced_order.found, priced_order.priced, priced_order.total
    if placed and address is None:
        raise Invalid("order.address_required", N_("An order needs a delivery address."))
    # A new order given to someone: the same rules as assigning it later (assignment/rules.py).
    check_assignment(session, actor, shop_id, "order", None, body.assignee_id)
    customer_name = (
        _customer_name(session, shop_id, body.customer_id, placed=placed, now=now)
        if body.customer_id is not None
        else (address.receiver if address else "")
    )

    low_stock = stock.low_stock_events(found, priced.moves) if placed else []
    status = Status.PENDING if placed else Status.DRAFT
    # The number's day is the counter's (rule 19 of docs/architecture.md), which may be later than
    # today's in the shop's zone: never build it from the clock.
    # The members told of a new pending order: their notifications' events are numbered with the
    # order's, from the same counter bump (one statement fewer on the hot path).
    told = notifications.new_order_recipients(session, shop_id, assignee_id) if placed else []
    slot = counters.bump_order(
        session, shop_id, events=1 + len(low_stock) + len(told), day=order_day(now, actor.timezone)
    )
    full_hash, last4_hash = phone_hashes(keyring, address.phone) if address else (None, None)
    values = {
        "shop_id": shop_id,
        "number": format_number(slot.day, slot.seq),
        "status": status.value,
        "channel": body.channel,
        "customer_id": body.customer_id,
        "conversation_id": conversation_id,
        "customer_name": customer_name,
        "address_enc": encrypt_address(keyring, address) if address else None,
        "phone_hash": full_hash,
        "phone_last4_hash": last4_hash,
        "items_total": priced.items_total,
        "shipping_fee": priced_order.shipping_fee,
        "discount": body.discount,
        "total": total,
        "paid_amount": 0,
        "refunded_amount": 0,
        "shipping_fee_overridden": fee_given,
        "trade_seq": 0,
        "parcels_shipped": 0,
        "aftersales_open": 0,
        "remark": body.remark,
        "assignee_id": assignee_id,
        "version": 1,
        "idempotency_key": idempotency_key,
        "idempotency_hash": fingerprint(body) if idempotency_key else None,
        "created_at": now,
        "updated_at": now,
        "submitted_at": now if placed else None,
    }
    conn = session.connection()
    ((order_id,),) = _INSERT_ORDER.execute(conn, values)
    search_terms.index_order(session, shop_id, order_id, now, values["number"], customer_name)
    stock.apply(
        session,
        shop_id,
        priced.moves,
        order_id=order_id,
        actor_id=actor.staff_id,
        reason="order placed",
        before=found,
    )
    for row in priced.rows:
        row["order_id"] = order_id
    item_ids = {position: item_id for item_id, position in conn.execute(_INSERT_ITEMS, priced.rows)}
    if body.tags:
        conn.execute(_INSERT_TAGS, [{"shop_id": shop_id, "order_id": order_id, "tag": t} for t in body.tags])
    _INSERT_TIMELINE.execute(
        conn,
        {
            "shop_id": shop_id,
            "order_id": order_id,
            "kind": "created",
            "actor_type": actor.actor_type,
            "actor_id": actor.person_id,
            "from_status": None,
            "to_status": status.value,
            "data": {"channel": body.channel, "total": total, **(created_data or {})},
            "created_at": now,
        },
    )
    created = DomainEvent(
        "order.created",
        "order",
        order_id,
        {"number": values["number"], "status": status.value, "total": total},
    )
    for given, by in ((taken, actor), (auto_assigned, None)):
        if given is not None:  # who gave it: the creator themself, or the system (round-robin)
            _INSERT_TIMELINE.execute(
                conn,
                {
                    "shop_id": shop_id,
                    "order_id": order_id,
                    "kind": "assigned",
                    "actor_type": by.actor_type if by else "system",
                    "actor_id": by.person_id if by else None,
                    "from_status": None,
                    "to_status": None,
                    "data": {"from": None, "to": given, **({} if by else {"auto": True})},
                    "created_at": now,
                },
            )
    notes = notifications.insert_notes(
        session, shop_id, told, "order_new", "order", order_id, {"number": values["number"]}
    )
    log.insert_rows(session, log.rows_for(shop_id, slot.last_event_seq, [created, *low_stock, *notes]))
    if auto_assigned is not None:
        auto.tell_auto_assigned(session, shop_id, order_id, auto_assigned, values["number"])
    # The response is built from what was written, without ORM objects or re-reading the row.
    return CreatedOrder(
        row=SimpleNamespace(id=order_id, **_NOT_YET, **values),
        items=[SimpleNamespace(id=item_ids[row["position"]], **row) for row in priced.rows],
        tags=list(body.tags),
        address=address,
        flow=flow,
    )
