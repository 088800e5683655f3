"""What a socket is shown of the shop's event log, and who may see what.

``Subscriber`` is one socket (staff, or a customer's device) with its bounded queue: one that does
not keep up is ended (its socket closed, its slot freed), so memory stays bounded whatever a client
does; its reconnect replays what it missed from the durable log (``events_after``). A customer's
replay reads only that device's own rows (its conversation after its join point, its orders): the
database filters, so other customers' messages are never loaded or decrypted for it. ``payloads``
turns committed log rows into what sockets show. The hub that feeds live sockets is in ``hub.py``.

A member whose role sees only what is assigned to them (auth/scope.py) is shown the events of
those orders and conversations only: every order, conversation, message and typing payload carries
its row's ``assignee_id`` (read with the batch), and an assignment also its
``previous_assignee_id``, so the member it was taken from is shown that one event (their screen
drops the row) and the member it was given to is shown it (it appears). A payload for one member
(``staff_id``: a notification) is shown to that member only.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from shangliao.auth.permissions import SCOPE_ALL
from shangliao.chat.cards import SEALED_ADDRESS, opened_message, order_summary
from shangliao.chat.models import Conversation, Message
from shangliao.chat.views import message_out
from shangliao.core.crypto import Keyring
from shangliao.customers.masking import MASKED, PiiView
from shangliao.events.bus import to_wire
from shangliao.events.models import EventLogEntry
from shangliao.orders.couriers import tracking_url
from shangliao.orders.models import Order
from shangliao.orders.state import Status
from shangliao.storage.database import Database

QUEUE_SIZE = 256
# Why a socket is ended (WebSocket close codes): the client reconnects after TRY_LATER (and
# replays), not after POLICY (signed out, broke the rules).
POLICY = 1008
TRY_LATER = 1013
# A reconnect replays the shop's log in pages; a client further behind than REPLAY_MAX events is
# told to reload instead (a "resync" frame), which is cheaper than streaming a day of a busy shop.
REPLAY_PAGE = 1000
REPLAY_MAX = 10_000
# What a customer's order card hears about: changes they can see on it. Not notes, assignments or
# tags (the shop's own business: even the bare fact of a note must not reach the customer).
CUSTOMER_ORDER_EVENTS = frozenset(
    {"order.created", "order.paid", "order.items_changed", "order.price_changed", "order.address_changed"}
    | {"order.aftersale"}  # an after-sales step: its card redraws (aftersales/)
    # Parcels leaving and arriving (shipping/parcels.py): the card shows each.
    | {"order.parcel_shipped", "order.parcel_delivered"}
    # The card's money, and a payment proof the shop turned down (payments/proofs.py).
    | {"order.refunded", "order.proof_dismissed"}
    # The invoice issued, or cancelled with its order (invoices/service.py): the order page's 发票
    # redraws from its own read; the frame carries the order's card state only, no title or email.
    | {"order.invoice_issued", "order.invoice_cancelled"}
    | {f"order.{status.value}" for status in Status}
)


@dataclass(eq=False)
class Subscriber:
    """One socket: whose it is and the events waiting to be sent to it."""

    shop_id: int
    side: str  # "staff" | "customer"
    customer_id: int | None = None
    can_see_chats: bool = True  # a staff socket's: conversations, messages, typing (chat.read)
    can_see_orders: bool = True  # ... and order events (orders.read)
    since_seq: int = 0  # a customer's device sees its conversation's messages after this seq
    joined_at: datetime | None = None  # ... and the orders placed from this moment on
    conversation_id: int | None = None  # a customer's: the one conversation their replay reads
    credential_id: int | None = None  # a staff socket's: revoking that credential ends the socket
    staff_id: int | None = None  # a staff socket's member: a change of their role ends the socket
    # A staff socket's data scope (auth/scope.py): "all", or "assigned" to ``staff_id`` (plus the
    # unassigned rows with ``sees_unassigned``).
    data_scope: str = SCOPE_ALL
    sees_unassigned: bool = False
    # A console session's socket is shown its member's notifications; an API token's is not (an
    # integration, maybe given fewer permissions than the person: it reads GET /notifications).
    hears_notifications: bool = False
    # How a staff socket's member reads a card as the customer saw it (chat/cards.py ``card_view``).
    view: PiiView = MASKED
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    # Set once when the socket must go (fell behind, signed out, ...): its session closes it with
    # ``end_code`` at once, even while a send to it is stuck.
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    end_code: int = 0
    end_reason: str = ""

    def may_see(self, payload: dict[str, Any]) -> bool:
        if payload.get("shop_id") != self.shop_id:
            return False
        if self.side == "staff":
            if "staff_id" in payload:  # for one member only (a notification), in their console
                return self.hears_notifications and payload["staff_id"] == self.staff_id
            # Everything but an order's event that a socket is shown is the chat's.
            allowed = self.can_see_orders if payload["type"].startswith("order.") else self.can_see_chats
            return allowed and self._in_scope(payload)
        audience = payload.get("customer_id")
        if audience != self.customer_id:
            return False
        message = payload.get("message")
        if message is not None and message["seq"] <= self.since_seq:
            return False
        kind = payload["type"]
        if kind.startswith("order."):
            # A phone number proves nothing: a device that joined with a known number hears about
            # the orders placed since then, not the customer's older ones.
            placed = payload["placed_at"]
            return kind in CUSTOMER_ORDER_EVENTS and (self.joined_at is None or placed >= self.joined_at)
        # A customer hears the shop typing, never themselves echoed; never the shop's assignments.
        return kind not in ("conversation.assigned", "conversation.status") and not (
            kind == "typing" and payload.get("side") == "customer"
        )

    def shown(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload`` (one it ``may_see``) as this socket sends it: a customer's device is never
        told which member works the row; a member who may not read personal data in full is
        sent the message with the card's receiver masked."""
        if self.side != "staff":
            return {k: v for k, v in payload.items() if k not in STAFF_ONLY_KEYS and k != MASKED_MESSAGE}
        if MASKED_MESSAGE not in payload:
            return payload
        masked = payload[MASKED_MESSAGE]
        shown = {k: v for k, v in payload.items() if k != MASKED_MESSAGE}
        return shown if self.view.full else shown | {"message": masked}

    def _in_scope(self, payload: dict[str, Any]) -> bool:
        if self.data_scope == SCOPE_ALL:
            return True
        if "assignee_id" not in payload:  # a row whose assignee is not known is not shown
            return False
        if self._sees(payload["assignee_id"]):
            return True
        # Assigned away from them: the one event that takes the row off their screen.
        return payload["type"] in ASSIGNMENT_EVENTS and self._sees(payload.get("previous_assignee_id", 0))

    def _sees(self, assignee_id: int | None) -> bool:
        return assignee_id == self.staff_id or (assignee_id is None and self.sees_unassigned)

    def offer(self, payload: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(payload)
        except asyncio.QueueFull:
            self.end(TRY_LATER, "fell behind")

    def end(self, code: int, reason: str) -> None:
        """On the event loop: the socket must close with ``code`` (the first reason given wins)."""
        if not self.ended.is_set():
            self.end_code, self.end_reason = code, reason
            self.ended.set()


def message_payload(
    session: Session | None, keyring: Keyring, m: Message, customer_id: int, assignee_id: int | None
) -> dict[str, Any]:
    # One payload goes to the shop's sockets and the customer's alike: a card's address shows as the
    # customer may see it (staff read it whole over HTTP). The conversation's assignee decides which
    # limited members see it (their socket drops it before sending; the customer's never sends it).
    # A card with an address also carries it as a member without customers.pii reads it (the
    # receiver masked): each socket sends the one its reader may see (``Subscriber.shown``).
    out = message_out(m)
    payload = {
        "message": opened_message(session, keyring, out, public=True),
        "customer_id": customer_id,
        "assignee_id": assignee_id,
    }
    if SEALED_ADDRESS in (m.data or {}):
        payload[MASKED_MESSAGE] = opened_message(session, keyring, out, public=True, view=MASKED)
    return payload


def order_card_state(order: Order) -> dict[str, Any]:
    """What both sides may see of an order on its card: never notes, never the address."""
    return {
        **order_summary(order),
        "carrier_code": order.carrier_code,
        "tracking_number": order.tracking_number,
        "tracking_url": tracking_url(order.carrier_code, order.tracking_number),
        # More than one: the card reads each parcel's number (inbox.js, shop.js), not the first's alone.
        "parcels_shipped": order.parcels_shipped,
        "archived": order.archived_at is not None,
    }


MESSAGE_EVENTS = ("message.created", "message.recalled")
CONVERSATION_EVENTS = ("conversation.read", "conversation.assigned", "conversation.status")
ASSIGNMENT_EVENTS = frozenset({"conversation.assigned", "order.assigned"})
# What only the shop's sockets use (which member a row is assigned to): never sent to a customer.
STAFF_ONLY_KEYS = ("assignee_id", "previous_assignee_id")
# A message as a member without customers.pii is shown it (see ``message_payload``): never sent
# as such, it replaces ``message`` for them.
MASKED_MESSAGE = "masked_message"


def _ids(rows: list[dict[str, Any]], wanted) -> set[int]:
    return {row["entity_id"] for row in rows if wanted(row["type"])}


def _by_id(session: Session, model: Any, ids: set[int]) -> dict[int, Any]:
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}


def payloads(session: Session, keyring: Keyring, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What sockets show for committed event rows (rows of other kinds are left out). Each kind of
    row is loaded with one query for the whole batch: the pump hands over up to a hundred at once."""
    message_ids = _ids(rows, MESSAGE_EVENTS.__contains__)
    conversation_ids = _ids(rows, CONVERSATION_EVENTS.__contains__)
    order_ids = _ids(rows, lambda kind: kind.startswith("order."))
    messages = {
        m.id: (m, customer_id, assignee_id)
        for m, customer_id, assignee_id in (
            session.execute(
                select(Message, Conversation.customer_id, Conversation.assignee_id)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Message.id.in_(message_ids))
            )
            if message_ids
            else ()
        )
    }
    conversations = _by_id(session, Conversation, conversation_ids)
    orders = _by_id(session, Order, order_ids)
    out = []
    for row in rows:
        base = {"shop_id": row["shop_id"], "seq": row["seq"], "type": row["type"]}
        kind, data, entity_id = row["type"], row.get("data") or {}, row["entity_id"]
        if kind in MESSAGE_EVENTS:
            message, customer_id, assignee_id = messages.get(entity_id, (None, None, None))
            if message is None or message.shop_id != row["shop_id"]:
                continue
            if kind == "message.created" and message.kind == "recall":
                continue  # a recall entry shows as the recalled message's own event
            out.append(base | message_payload(session, keyring, message, customer_id, assignee_id))
        elif kind in CONVERSATION_EVENTS:
            conversation = conversations.get(entity_id)
            if conversation is None or conversation.shop_id != row["shop_id"]:
                continue
            # The read event's own "seq" is a message seq: renamed, so it can't mask the event's.
            extra = {("read_seq" if k == "seq" else k): v for k, v in data.items()}
            # The assignee as it is now; an assignment's own data (the new and the previous
            # assignee) comes after it and wins.
            shown = {"conversation_id": conversation.id, "customer_id": conversation.customer_id}
            out.append(base | shown | {"assignee_id": conversation.assignee_id} | extra)
        elif kind.startswith("order."):
            order = orders.get(entity_id)
            if order is None or order.shop_id != row["shop_id"]:
                continue
            assignment = (
                {k: data[k] for k in STAFF_ONLY_KEYS if k in data} if kind in ASSIGNMENT_EVENTS else {}
            )
            out.append(
                base
                | {"order": order_card_state(order), "customer_id": order.customer_id}
                | {"placed_at": order.created_at, "assignee_id": order.assignee_id}
                | assignment
                | ({"aftersale": data} if kind == "order.aftersale" else {})
            )
        elif kind == "notification.created":
            # For its member only (``staff_id``, see may_see): what it is about, ids and numbers.
            out.append(base | {"notification_id": entity_id} | data)
    return out


@dataclass(frozen=True)
class Replay:
    """A reconnect's backlog; ``resync_seq`` set when it was too far behind to replay (the client
    reloads what it shows and goes on from that seq)."""

    payloads: list[dict[str, Any]]
    resync_seq: int | None = None


def log_page(
    session: Session, shop_id: int, after_seq: int, limit: int, *only: ColumnElement[bool]
) -> list[dict[str, Any]]:
    """Up to ``limit`` rows of the shop's event log after ``after_seq`` (and matching ``only``), in
    order, as the bus carries them. Gapless: seqs commit in order per shop (the counter row's lock)."""
    rows = session.scalars(
        select(EventLogEntry)
        .where(EventLogEntry.shop_id == shop_id, EventLogEntry.seq > after_seq, *only)
        .order_by(EventLogEntry.seq)
        .limit(limit)
    ).all()
    return [
        to_wire({c: getattr(r, c) for c in ("shop_id", "seq", "type", "entity_type", "entity_id", "data")})
        for r in rows
    ]


def head_seq(session: Session, shop_id: int) -> int:
    """The shop's newest committed event (all before it have committed too)."""
    return session.scalar(select(func.max(EventLogEntry.seq)).where(EventLogEntry.shop_id == shop_id)) or 0


def own_rows(subscriber: Subscriber) -> tuple[ColumnElement[bool], ...]:
    """The log rows a customer's device may be shown, as a filter for the database: the messages
    of its conversation after its join point, that conversation's own events, and the customer's
    orders placed since it joined. For staff the shop's rows of the kinds they may see: one who
    may read orders but not chats has no message loaded or opened for them."""
    if subscriber.side == "staff":
        if subscriber.can_see_chats:
            return () if subscriber.can_see_orders else (EventLogEntry.entity_type != "order",)
        # ... and their own notifications (may_see keeps another member's out).
        seen = EventLogEntry.entity_type.in_(("order", "notification"))
        return (seen,) if subscriber.can_see_orders else (false(),)
    entry = EventLogEntry
    messages = select(Message.id).where(
        Message.conversation_id == subscriber.conversation_id, Message.seq > subscriber.since_seq
    )
    orders = select(Order.id).where(
        Order.shop_id == subscriber.shop_id, Order.customer_id == subscriber.customer_id
    )
    if subscriber.joined_at is not None:
        orders = orders.where(Order.created_at >= subscriber.joined_at)
    return (
        or_(
            and_(entry.entity_type == "message", entry.entity_id.in_(messages)),
            and_(entry.entity_type == "conversation", entry.entity_id == subscriber.conversation_id),
            and_(entry.entity_type == "order", entry.entity_id.in_(orders)),
        ),
    )


def events_after(db: Database, keyring: Keyring, subscriber: Subscriber, after_seq: int) -> Replay:
    """What ``subscriber`` may see of the shop's log after ``after_seq``, every page of it. A
    customer's pages hold only their own rows, so ``REPLAY_MAX`` counts what they would be shown,
    not how busy the shop was meanwhile."""
    out: list[dict[str, Any]] = []
    scanned = 0
    only = own_rows(subscriber)
    with db.read() as session:
        while True:
            rows = log_page(session, subscriber.shop_id, after_seq, REPLAY_PAGE, *only)
            out += [p for p in payloads(session, keyring, rows) if subscriber.may_see(p)]
            scanned += len(rows)
            if len(rows) < REPLAY_PAGE:
                return Replay(out)
            if scanned >= REPLAY_MAX:
                return Replay([], resync_seq=head_seq(session, subscriber.shop_id))
            after_seq = rows[-1]["seq"]
