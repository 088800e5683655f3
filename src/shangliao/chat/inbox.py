"""The staff inbox: conversations with unread messages first, then by last activity.

Every list and count is of the conversations the caller may see (their role's data scope,
auth/scope.py): a member who sees only what is assigned to them never has another's listed."""

from __future__ import annotations

from sqlalchemy import ColumnElement, case, exists, func, select, tuple_
from sqlalchemy.orm import Session

from shangliao.auth.scope import Viewer, assigned_condition
from shangliao.chat.models import Conversation, Message
from shangliao.core.pagination import bad_cursor, decode_cursor, decode_moment, encode_cursor
from shangliao.customers.models import Customer
from shangliao.orders.models import Order
from shangliao.orders.state import Status

OPEN_ORDER_STATUSES = (
    Status.PENDING.value,
    Status.CONFIRMED.value,
    Status.PREPARING.value,
    Status.SHIPPED.value,
)

_unread_first = case((Conversation.staff_unread > 0, 1), else_=0)


def in_list(who: Viewer, which: str) -> list[ColumnElement[bool]]:
    """What puts a conversation in ``who``'s inbox list ``which``, as SQL conditions."""
    shop_id, staff_id = who.shop_id, who.staff_id or 0
    # Closed conversations have their own list; every other list is of open ones.
    conditions = [
        Conversation.shop_id == shop_id,
        Conversation.status == ("closed" if which == "closed" else "open"),
        # A merged-away conversation is read through the one it was merged into: one entry a person.
        Conversation.merged_into_id.is_(None),
    ]
    scope = assigned_condition(who, Conversation.assignee_id)
    if scope is not None:
        conditions.append(scope)
    if which == "mine":
        conditions.append(Conversation.assignee_id == staff_id)
    elif which == "unassigned":
        conditions.append(Conversation.assignee_id.is_(None))
    elif which == "open_orders":
        conditions.append(
            exists().where(
                Order.shop_id == shop_id,
                Order.customer_id == Conversation.customer_id,
                Order.status.in_(OPEN_ORDER_STATUSES),
                Order.archived_at.is_(None),
            )
        )
    return conditions


def unread_conversations(session: Session, who: Viewer) -> int:
    """How many of the conversations ``who`` may see (as the inbox lists them) hold a customer
    message no staff member has read: the number on the console's 聊天 badge."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(*in_list(who, "all"), Conversation.staff_unread > 0)
        )
        or 0
    )


def inbox(
    session: Session, who: Viewer, which: str, cursor: str | None, limit: int
) -> tuple[list[tuple[Conversation, str, Message | None]], str | None]:
    """A page of ``(conversation, customer name, last message)`` and the next page's cursor."""
    stmt = (
        select(Conversation, Customer.name)
        .join(Customer, Customer.id == Conversation.customer_id)
        .where(*in_list(who, which))
    )
    if cursor:
        flag, moment, last_id = decode_cursor(cursor, 3)
        if flag not in (0, 1) or not isinstance(last_id, int):
            raise bad_cursor()
        key = tuple_(_unread_first, Conversation.last_message_at, Conversation.id)
        stmt = stmt.where(key < (flag, decode_moment(moment), last_id))
    stmt = stmt.order_by(_unread_first.desc(), Conversation.last_message_at.desc(), Conversation.id.desc())
    rows = session.execute(stmt.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = last_messages(session, [c for c, _ in rows])
    page = [(c, name, last.get(c.id)) for c, name in rows]
    next_cursor = None
    if more:
        c = rows[-1][0]
        next_cursor = encode_cursor([1 if c.staff_unread > 0 else 0, c.last_message_at.isoformat(), c.id])
    return page, next_cursor


def last_messages(session: Session, conversations: list[Conversation]) -> dict[int, Message]:
    """Each conversation's newest visible message, in one query."""
    wanted = [(c.id, c.message_count) for c in conversations if c.message_count > 0]
    if not wanted:
        return {}
    found: dict[int, Message] = {}
    # The newest message may be a recall entry: look a few back and keep the newest shown one.
    pairs = [(cid, seq) for cid, count in wanted for seq in range(max(1, count - 2), count + 1)]
    rows = session.scalars(
        select(Message).where(tuple_(Message.conversation_id, Message.seq).in_(pairs)).order_by(Message.seq)
    )
    for m in rows:
        if m.kind != "recall":
            found[m.conversation_id] = m
    return found
