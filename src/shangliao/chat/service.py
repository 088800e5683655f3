"""Use cases of a conversation: open it, send, recall, read (assigning: assignment/conversations.py).

Sending is a hot path (every chat message), so it runs as Core statements compiled once: look up a
retried client id (holding the conversation's row lock), take the next ``seq`` under that lock
(which also bumps the other side's unread count), read the previous link, insert the message, log
the event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from shangliao.auth.scope import Viewer
from shangliao.chat import chain
from shangliao.chat.models import ChainCheckpoint, Conversation, Message
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, Forbidden, NotFound
from shangliao.core.i18n import N_
from shangliao.customers.models import Customer
from shangliao.events.log import DomainEvent, record
from shangliao.realtime import recent
from shangliao.storage.hooks import after_commit
from shangliao.storage.prepared import Prepared

Side = Literal["customer", "staff", "system"]
KINDS = (
    "text", "image", "file", "product_card", "order_card", "payment_request", "quote_card", "system", "recall",
    "order_request", "aftersale_card",
)  # fmt: skip
# Like the chat apps customers know: a message can be taken back for two minutes.
RECALL_WINDOW = timedelta(minutes=2)

_conv = Conversation.__table__
_msg = Message.__table__
_ckpt = ChainCheckpoint.__table__

# The conversation's row lock: whoever holds it is the only writer of its messages until commit.
_LOCK = Prepared(
    select(_conv.c.id, _conv.c.shop_id, _conv.c.customer_id)
    .where(_conv.c.id == bindparam("conversation_id"), _conv.c.shop_id == bindparam("shop_id"))
    .with_for_update()
)
_BY_CLIENT_ID = Prepared(
    select(_msg.c.id, _msg.c.sender_type, _msg.c.sender_id).where(
        _msg.c.conversation_id == bindparam("conversation_id"), _msg.c.client_id == bindparam("client_id")
    )
)
_NEXT_SEQ = Prepared(
    update(_conv)
    .where(
        _conv.c.id == bindparam("conversation_id"),
        _conv.c.shop_id == bindparam("shop_id"),
        _conv.c.merged_into_id.is_(None),  # a merged-away conversation is history only
    )
    .values(
        message_count=_conv.c.message_count + 1,
        last_message_at=bindparam("now"),
        updated_at=bindparam("now"),
        staff_unread=_conv.c.staff_unread + bindparam("to_staff"),
        customer_unread=_conv.c.customer_unread + bindparam("to_customer"),
        # Someone wrote: a closed conversation is open again (a system notice leaves it be).
        status=func.coalesce(bindparam("reopen"), _conv.c.status),
    )
    .returning(_conv.c.message_count, _conv.c.customer_id, _conv.c.assignee_id)
)
_PREVIOUS = Prepared(
    select(_msg.c.hash).where(
        _msg.c.conversation_id == bindparam("conversation_id"), _msg.c.seq == bindparam("seq")
    )
)
_INSERT = Prepared(insert(_msg).returning(_msg.c.id))
_CHECKPOINT = Prepared(insert(_ckpt))


@dataclass(frozen=True)
class Sent:
    """A message as written (``replayed``: a retried send that found its first attempt)."""

    id: int
    conversation_id: int
    seq: int
    kind: str
    sender_type: str
    sender_id: int | None
    client_id: str | None
    body: str
    data: dict[str, Any]
    created_at: Any
    replayed: bool = False
    recalled_at: Any = None


def lock_conversation(session: Session, shop_id: int, conversation_id: int) -> Any:
    """Lock the conversation's row (``SELECT … FOR UPDATE``) until the transaction ends; returns its
    ``id``, ``shop_id`` and ``customer_id``. A retry that looks for its first attempt (by client id)
    must hold it first: two copies of one request then run one after the other, and the second
    finds what the first wrote instead of racing it into the unique index. (SQLite has one writer
    at a time anyway: the lock is PostgreSQL's.)"""
    found = _LOCK.rows(session.connection(), {"conversation_id": conversation_id, "shop_id": shop_id})
    if not found:
        raise NotFound("chat.conversation_not_found", N_("This conversation does not exist."))
    return found[0]


def do_open_conversation(session: Session, shop_id: int, customer_id: int) -> Conversation:
    """The customer's conversation with the shop, made the first time it is needed."""
    customer = session.scalar(select(Customer).where(Customer.id == customer_id, Customer.shop_id == shop_id))
    if customer is None:
        raise NotFound("customer.not_found", N_("This customer does not exist."))
    found = session.scalar(
        select(Conversation).where(
            Conversation.shop_id == shop_id,
            Conversation.customer_id == customer_id,
            Conversation.merged_into_id.is_(None),
        )
    )
    if found is not None:
        return found
    conversation = Conversation(shop_id=shop_id, customer_id=customer_id, last_message_at=clock.now())
    session.add(conversation)
    session.flush()
    return conversation


def do_send(
    session: Session,
    keyring: Keyring,
    shop_id: int,
    conversation_id: int,
    *,
    sender_type: Side,
    sender_id: int | None,
    kind: str,
    body: str = "",
    data: dict[str, Any] | None = None,
    client_id: str | None = None,
) -> Sent:
    """Append a message (idempotent per ``client_id``: a retry returns the first attempt)."""
    conn = session.connection()
    if client_id is not None:
        # A first send with no client id needs no lock up front (``_NEXT_SEQ`` takes it): the
        # lookup of a retry does, or two copies of it both miss and collide on insert.
        lock_conversation(session, shop_id, conversation_id)
        earlier = _BY_CLIENT_ID.rows(conn, {"conversation_id": conversation_id, "client_id": client_id})
        if earlier:
            return _replayed(session, shop_id, earlier[0], sender_type, sender_id)
    now = clock.now()
    to_customer = 0 if sender_type == "customer" else 1
    bumped = _NEXT_SEQ.execute(
        conn,
        {
            "conversation_id": conversation_id,
            "shop_id": shop_id,
            "now": now,
            "to_staff": 1 - to_customer,
            "to_customer": to_customer,
            "reopen": None if sender_type == "system" else "open",
        },
    )
    if not bumped:
        raise _not_writable(session, shop_id, conversation_id)
    seq, customer_id, assignee_id = bumped[0]
    previous = _PREVIOUS.rows(conn, {"conversation_id": conversation_id, "seq": seq - 1}) if seq > 1 else []
    sent = Sent(0, conversation_id, seq, kind, sender_type, sender_id, client_id, body, data or {}, now)
    row = {
        "shop_id": shop_id,
        "conversation_id": conversation_id,
        "seq": seq,
        "kind": kind,
        "sender_type": sender_type,
        "sender_id": sender_id,
        "client_id": client_id,
        "body": body,
        "data": sent.data,
        "hash": chain.link(previous[0].hash if previous else chain.GENESIS, sent),
        "created_at": now,
    }
    ((message_id,),) = _INSERT.execute(conn, row)
    if seq % chain.CHECKPOINT_EVERY == 0:
        _sign(conn, keyring, shop_id, conversation_id, seq, row["hash"], now)
    sent = Sent(**{**sent.__dict__, "id": message_id})
    # Before the event's own hook (hooks run in order), so this process's sockets are shown the
    # message as soon as they hear of it, without reading it back.
    memory = recent.window(session.get_bind())
    after_commit(session, lambda: memory.remember(sent, customer_id, assignee_id))
    record(
        session,
        shop_id,
        [
            DomainEvent(
                "message.created",
                "message",
                message_id,
                {"conversation_id": conversation_id, "seq": seq, "kind": kind, "sender_type": sender_type},
            )
        ],
    )
    return sent


def _not_writable(session: Session, shop_id: int, conversation_id: int) -> NotFound | Conflict:
    """Why nothing could be appended: no such conversation, or it was merged into another one."""
    into = session.scalar(
        select(Conversation.merged_into_id).where(
            Conversation.id == conversation_id, Conversation.shop_id == shop_id
        )
    )
    if into is None:
        return NotFound("chat.conversation_not_found", N_("This conversation does not exist."))
    return Conflict(
        "chat.conversation_merged",
        N_("This conversation was merged into another one; reply there."),
        details={"conversation_id": conversation_id, "merged_into_id": into},
    )


def live_conversation_id(session: Session, shop_id: int, conversation_id: int) -> int:
    """Where a conversation's talk goes on: itself, or the one it was merged into."""
    into = session.scalar(
        select(Conversation.merged_into_id).where(
            Conversation.id == conversation_id, Conversation.shop_id == shop_id
        )
    )
    return into or conversation_id


def merged_ids(session: Session, shop_id: int, conversation_ids: list[int]) -> dict[int, list[int]]:
    """The conversations merged into each of these (oldest first): the rest of their history."""
    found: dict[int, list[int]] = {cid: [] for cid in conversation_ids}
    if conversation_ids:
        rows = session.execute(
            select(Conversation.merged_into_id, Conversation.id)
            .where(Conversation.shop_id == shop_id, Conversation.merged_into_id.in_(conversation_ids))
            .order_by(Conversation.id)
        )
        for into, cid in rows:
            found[into].append(cid)
    return found


def _sign(conn, keyring: Keyring, shop_id: int, conversation_id: int, seq: int, head: bytes, now) -> None:
    _CHECKPOINT.execute(
        conn,
        {
            "shop_id": shop_id,
            "conversation_id": conversation_id,
            "seq": seq,
            "hash": head,
            "signature": chain.checkpoint_signature(keyring, shop_id, conversation_id, seq, head),
            "created_at": now,
        },
    )


def _replayed(session: Session, shop_id: int, earlier: Any, sender_type: str, sender_id: int | None) -> Sent:
    if earlier.sender_type != sender_type or earlier.sender_id != sender_id:
        raise Conflict(
            "chat.client_id_taken", N_("This message id was already used by someone else. Send it again.")
        )
    message = session.scalar(select(Message).where(Message.id == earlier.id, Message.shop_id == shop_id))
    if message is None:  # the conversation was looked up in the caller's shop; this cannot happen
        raise NotFound("chat.message_not_found", N_("This message does not exist."))
    return sent_from(message, replayed=True)


def sent_from(message: Message, *, replayed: bool = False) -> Sent:
    return Sent(
        message.id,
        message.conversation_id,
        message.seq,
        message.kind,
        message.sender_type,
        message.sender_id,
        message.client_id,
        message.body,
        message.data,
        message.created_at,
        replayed,
        message.recalled_at,
    )


def access_conversation(
    session: Session, who: Viewer, conversation_id: int, *, lock: bool = False
) -> Conversation:
    """The shop's conversation, if it is in ``who``'s data scope (404 otherwise, like another
    shop's); ``lock`` holds its row until the transaction ends and reads it afresh, as whoever
    held the lock before left it."""
    query = select(Conversation).where(
        Conversation.id == conversation_id, Conversation.shop_id == who.shop_id
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    conversation = session.scalar(query)
    if conversation is None or not who.may_see_assignee(conversation.assignee_id):
        raise NotFound("chat.conversation_not_found", N_("This conversation does not exist."))
    return conversation


def may_open_conversation(session: Session, who: Viewer, conversation_id: int) -> bool:
    """Whether ``access_conversation`` would let ``who`` open it: for what an order shows of its
    chat (the order may be in a member's scope while its conversation is a colleague's)."""
    try:
        access_conversation(session, who, conversation_id)
    except NotFound:
        return False
    return True


def do_recall(
    session: Session,
    keyring: Keyring,
    shop_id: int,
    conversation_id: int,
    message_id: int,
    *,
    by_type: Side,
    by_id: int | None,
) -> Sent:
    """Hide a message from view, keeping it for evidence: a ``recall`` entry joins the chain."""
    message = session.scalar(
        select(Message)
        .where(
            Message.id == message_id, Message.shop_id == shop_id, Message.conversation_id == conversation_id
        )
        .with_for_update()
    )
    if message is None or message.kind == "recall":
        raise NotFound("chat.message_not_found", N_("This message does not exist."))
    if by_type == "customer" and (message.sender_type != "customer" or message.sender_id != by_id):
        raise Forbidden("chat.recall_not_yours", N_("Only your own messages can be recalled."))
    if by_type == "staff" and message.sender_type == "customer":
        raise Forbidden("chat.recall_not_yours", N_("A customer's message cannot be recalled by the shop."))
    if by_type == "customer" and message.kind in ("order_card", "aftersale_card"):  # likewise a request's
        # The card of an order the customer placed is the order's record in the chat: hiding it
        # would not undo the order (cancelling does).
        raise Conflict(
            "chat.order_card_kept", N_("An order's card cannot be recalled; cancel the order instead.")
        )
    if message.recalled_at is not None:
        return sent_from(message)
    if clock.now() - message.created_at > RECALL_WINDOW:
        raise Conflict(
            "chat.recall_too_late",
            N_("A message can only be recalled within {minutes} minutes of sending."),
            minutes=int(RECALL_WINDOW.total_seconds() // 60),
        )
    do_send(
        session,
        keyring,
        shop_id,
        message.conversation_id,
        sender_type=by_type,
        sender_id=by_id,
        kind="recall",
        data={"message_id": message.id},
    )
    message.recalled_at = clock.now()
    session.flush()
    record(
        session,
        shop_id,
        [
            DomainEvent(
                "message.recalled",
                "message",
                message.id,
                {"conversation_id": message.conversation_id, "seq": message.seq},
            )
        ],
    )
    return sent_from(message)


def messages_of(
    session: Session, conversation: Conversation, after_seq: int | None, before_seq: int | None, limit: int
) -> list[Message]:
    """Up to ``limit`` shown messages (recall entries left out), oldest first: after ``after_seq``,
    else before ``before_seq``, else the newest."""
    stmt = select(Message).where(
        Message.conversation_id == conversation.id,
        Message.shop_id == conversation.shop_id,
        Message.kind != "recall",
    )
    if after_seq is not None:
        return list(session.scalars(stmt.where(Message.seq > after_seq).order_by(Message.seq).limit(limit)))
    if before_seq is not None:
        stmt = stmt.where(Message.seq < before_seq)
    newest = list(session.scalars(stmt.order_by(Message.seq.desc()).limit(limit)))
    return newest[::-1]


def do_mark_read(
    session: Session, shop_id: int, conversation_id: int, *, side: Side, seq: int
) -> Conversation:
    """``side`` has read up to ``seq``: its unread count drops to what came after."""
    # Counted under the conversation's row lock: a message sent meanwhile waits for this commit and
    # then adds itself to the count, instead of committing between the count and its write and
    # being overwritten by a count made without it. Re-read under the lock (populate_existing),
    # so the counts are not those of an earlier look in this session.
    lock_conversation(session, shop_id, conversation_id)
    conversation = session.get(Conversation, conversation_id, populate_existing=True)
    seq = min(seq, conversation.message_count)
    read_attr, unread_attr, other = (
        ("staff_read_seq", "staff_unread", "customer")
        if side == "staff"
        else ("customer_read_seq", "customer_unread", "staff")
    )
    if seq <= getattr(conversation, read_attr):
        return conversation
    senders = ("customer",) if other == "customer" else ("staff", "system")
    unread = session.scalar(
        select(func.count(Message.id)).where(
            Message.conversation_id == conversation_id,
            Message.seq > seq,
            Message.sender_type.in_(senders),
            Message.kind != "recall",
        )
    )
    setattr(conversation, read_attr, seq)
    setattr(conversation, unread_attr, unread or 0)
    session.flush()
    record(
        session,
        shop_id,
        [DomainEvent("conversation.read", "conversation", conversation_id, {"side": side, "seq": seq})],
    )
    return conversation


def do_set_status(session: Session, who: Viewer, conversation_id: int, status: str) -> Conversation:
    """Close a conversation that needs nothing more (it leaves the inbox's open lists), or reopen
    it. A new message from either side reopens it on its own (see ``_NEXT_SEQ``)."""
    shop_id = who.shop_id
    conversation = access_conversation(session, who, conversation_id)
    if conversation.status != status:
        conversation.status = status
        conversation.updated_at = clock.now()
        session.flush()
        record(
            session,
            shop_id,
            [DomainEvent("conversation.status", "conversation", conversation_id, {"status": status})],
        )
    return conversation
