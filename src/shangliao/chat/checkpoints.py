"""Dispute checkpoints of an order: what the shop told the customer, kept as chat messages.

When a customer disputes an order ("you never told me", "it came broken"), the shop shows four
things, each a message in the order's conversation: the order details sent for the customer to
check after confirming, photos of the goods before shipping, the tracking number after shipping,
and a reminder to inspect the parcel on delivery. A checkpoint is done by the earliest message
from the shop (staff or system) whose data names the order and the checkpoint and which was not
recalled; sending it again is allowed, the earliest counts. Photos are images the shop sends with
the order's id (the attachments upload); the rest are sent from here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from shangliao.assignment.conversations import claim_opened_conversation
from shangliao.auth.actor import Actor
from shangliao.auth.scope import Scope, Viewer
from shangliao.chat import cards, service
from shangliao.chat.models import Conversation, Message
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, Invalid
from shangliao.core.i18n import DEFAULT_LOCALE, N_, SUPPORTED_LOCALES, Msg, gettext
from shangliao.orders.models import Order
from shangliao.orders.state import STATUS_LABELS, Status, partly_shipped
from shangliao.shipping.parcels import parcels_of
from shangliao.shops.models import Shop

CHECKPOINTS: tuple[tuple[str, str], ...] = (
    ("details", N_("Order details sent for the customer to check")),
    ("photos", N_("Product photos sent before shipping")),
    ("tracking", N_("Tracking number sent")),
    ("inspect", N_("Reminder to inspect on delivery")),
)
KINDS = tuple(kind for kind, _ in CHECKPOINTS)
# Photos are pictures, sent from the chat's attachment upload with the order's id.
SENDABLE = ("details", "tracking", "inspect")

_SHIPPED = frozenset({Status.SHIPPED, Status.COMPLETED})
_CONFIRMED = frozenset({Status.CONFIRMED, Status.PREPARING, *_SHIPPED})
# When each checkpoint is expected: the order page asks for it from then on.
DUE: dict[str, frozenset[Status]] = {
    "details": _CONFIRMED,
    "photos": frozenset({Status.CONFIRMED, Status.PREPARING}),
    "tracking": _SHIPPED,
    "inspect": _SHIPPED,
}
# Nothing to tell the customer about an order they have not placed, or one that is off.
_SILENT = frozenset({Status.DRAFT, Status.CANCELLED})

DETAILS_NOTE = N_(
    "Please check your order: the items, the amount and the delivery address. "
    "If anything is wrong, tell us before we ship."
)
TRACKING_NOTE = N_("Your order has shipped with {carrier}, tracking number {number}.")
TRACKING_NOTE_PARCELS = N_("Your order was sent in {count} parcels; each one's tracking number is below.")
INSPECT_NOTE = N_(
    "When your parcel arrives, please open it and check the goods in front of the courier before "
    "signing for it. If anything is damaged or missing, refuse it or tell us right away."
)


def conversation_id_of(session: Session, order: Order) -> int | None:
    """The order's conversation (or the one it was merged into, where the talk goes on); before it
    has one, its customer's (if they ever chatted)."""
    if order.conversation_id is not None:
        return service.live_conversation_id(session, order.shop_id, order.conversation_id)
    if order.customer_id is None:
        return None
    return session.scalar(
        select(Conversation.id).where(
            Conversation.shop_id == order.shop_id,
            Conversation.customer_id == order.customer_id,
            Conversation.merged_into_id.is_(None),
        )
    )


def _evidence(session: Session, order: Order, conversation_id: int) -> dict[str, Message]:
    """The earliest counting message of each checkpoint, in the conversation and in those merged
    into it (what was sent before two customers were merged still counts)."""
    history = [
        conversation_id,
        *service.merged_ids(session, order.shop_id, [conversation_id])[conversation_id],
    ]
    messages = session.scalars(
        select(Message)
        .where(
            Message.shop_id == order.shop_id,
            Message.conversation_id.in_(history),
            Message.data["order_id"].as_integer() == order.id,
            Message.sender_type.in_(("staff", "system")),
            Message.recalled_at.is_(None),
            Message.kind != "recall",
        )
        .order_by(Message.id)  # seqs of two conversations do not compare; ids go up with time
    )
    found: dict[str, Message] = {}
    for message in messages:
        kind = message.data.get("checkpoint")
        if kind in KINDS:
            found.setdefault(kind, message)
    return found


def checkpoints_of(session: Session, viewer: Viewer, order: Order) -> list[dict[str, Any]]:
    """The four checkpoints in order: done (with the message), due now, sendable from here now.
    Whether one was sent, and when, is the order's; which conversation and message hold it only
    ``viewer`` who may open that conversation is told (the order may be theirs, the talk a
    colleague's: rule 21 of docs/architecture.md)."""
    conversation_id = conversation_id_of(session, order)
    evidence = _evidence(session, order, conversation_id) if conversation_id else {}
    if conversation_id is not None and not service.may_open_conversation(session, viewer, conversation_id):
        conversation_id = None
    status = Status(order.status)
    out = []
    for kind, label in CHECKPOINTS:
        found = evidence.get(kind)
        message = found if conversation_id is not None else None
        out.append(
            {
                "kind": kind,
                "label": gettext(label),
                "done": found is not None,
                "due": status in DUE[kind],
                "message_id": message.id if message else None,
                "seq": message.seq if message else None,
                "at": found.created_at if found else None,
                "conversation_id": message.conversation_id if message else conversation_id,
                "can_send": _refusal(order, kind) is None,
            }
        )
    return out


def _refusal(order: Order, kind: str) -> Invalid | Conflict | None:
    """Why ``kind`` cannot be sent for ``order`` now (None: it can)."""
    if kind not in SENDABLE:
        if kind == "photos":
            return Invalid(
                "chat.checkpoint_photos",
                N_("Product photos are sent as pictures from the chat, with the order chosen."),
            )
        return Invalid("chat.unknown_checkpoint", N_("Unknown checkpoint {kind}."), kind=kind)
    status = Status(order.status)
    if status in _SILENT:
        return Conflict(
            "chat.checkpoint_not_now",
            N_("Nothing can be sent to the customer for an order that is {status}."),
            status=Msg(STATUS_LABELS[status]),
            details={"status": status.value},
        )
    # A parcel that left ahead of the rest (部分发货) has its number to send already.
    shipped = status in _SHIPPED or partly_shipped(status.value, order.parcels_shipped)
    if kind == "tracking" and (not shipped or not order.tracking_number):
        return Conflict(
            "chat.checkpoint_not_shipped",
            N_("This order has not been shipped yet, so there is no tracking number to send."),
            details={"status": status.value},
        )
    if order.customer_id is None and order.conversation_id is None:
        return Conflict(
            "chat.order_without_customer",
            N_("This order has no customer, so there is nobody to send it to."),
        )
    return None


def may_send(session: Session, viewer: Viewer, order: Order, kind: str, conversation_id: int) -> bool:
    """Whether ``viewer`` may send ``kind`` for ``order`` into its conversation now (a button shows)."""
    return (
        order.archived_at is None
        and _refusal(order, kind) is None
        and service.may_open_conversation(session, viewer, conversation_id)
    )


def check_sendable(order: Order, kind: str) -> None:
    refusal = _refusal(order, kind)
    if refusal is not None:
        raise refusal


def shop_locale(session: Session, shop_id: int) -> str:
    """The language messages to the shop's customers are written in (stored as sent)."""
    settings = session.scalar(select(Shop.settings).where(Shop.id == shop_id)) or {}
    locale = settings.get("locale")
    return locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE


def ensure_conversation(session: Session, order: Order) -> int:
    """The order's conversation, opening the customer's and linking it the first time.

    An order keeps its link for good once set; only an order without one gets it here, by a
    conditional UPDATE that leaves the version alone (a link is no edit a staff member could lose).
    """
    if order.conversation_id is not None:
        return service.live_conversation_id(session, order.shop_id, order.conversation_id)
    conversation = service.do_open_conversation(session, order.shop_id, order.customer_id)  # type: ignore[arg-type]
    orders = Order.__table__
    session.execute(
        update(orders)
        .where(orders.c.id == order.id, orders.c.shop_id == order.shop_id, orders.c.conversation_id.is_(None))
        .values(conversation_id=conversation.id)
    )
    linked = session.scalar(select(orders.c.conversation_id).where(orders.c.id == order.id))
    set_committed_value(order, "conversation_id", linked)
    return linked  # type: ignore[return-value]


def do_send_checkpoint(
    session: Session, keyring: Keyring, actor: Actor, order: Order, kind: str
) -> service.Sent:
    """Send the order details, the tracking number or the inspection reminder to the customer."""
    check_sendable(order, kind)
    conversation_id = ensure_conversation(session, order)
    # It is written into the conversation: one out of the member's scope is not found (rule 21),
    # even for their own order; one just opened for them (nobody's, empty) is theirs, as when
    # they open it to write first.
    conversation = service.access_conversation(session, Scope.whole_shop(order.shop_id), conversation_id)
    claim_opened_conversation(session, actor, conversation)
    service.access_conversation(session, actor, conversation_id)
    locale = shop_locale(session, order.shop_id)
    # The language it was written in: the card's lines are drawn in it on both sides, for good.
    mark = {"order_id": order.id, "checkpoint": kind, "locale": locale}
    if kind == "details":
        data = cards.details_card(session, keyring, order, conversation_id)
        message_kind, body = "order_card", gettext(DETAILS_NOTE, locale)
    elif kind == "tracking":
        sent = parcels_of(session, order)
        data = cards.tracking_card(order, locale, sent)
        message_kind = "order_card"
        if len(sent) > 1:  # the card lists each parcel's number (cards.shown_parts)
            body = gettext(TRACKING_NOTE_PARCELS, locale, count=len(sent))
        else:
            body = gettext(TRACKING_NOTE, locale, carrier=data["carrier_name"], number=order.tracking_number)
    else:
        message_kind, body, data = "text", gettext(INSPECT_NOTE, locale), {}
    return service.do_send(
        session,
        keyring,
        order.shop_id,
        conversation_id,
        sender_type="staff",
        sender_id=actor.staff_id,
        kind=message_kind,
        body=body,
        data={**data, **mark},
    )
