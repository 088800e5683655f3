"""Round-robin for new work, where the shop turned it on (assignment/settings.py).

New pending orders are given as they are made (orders/create.py, and a draft's submission in
orders/actions.py). A conversation counts as new when its customer writes its first message: one
opened by a device that never writes, or by the shop to write first, takes nobody's turn. That
is seen here, on the event rows as they are written (events/log.py ``WATCHERS``), before the
notification centre reads who the conversation's assignee is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.assignment import round_robin
from shangliao.assignment.apply import tell_assignee
from shangliao.assignment.conversations import do_auto_assign_conversation
from shangliao.chat.models import Conversation


def auto_assignee(session: Session, shop_id: int, assignee_id: int | None) -> int | None:
    """Whom a new pending order goes to: the one given, else round-robin's pick (or nobody)."""
    if assignee_id is not None:
        return assignee_id
    return round_robin.pick(session, shop_id, "order")


def tell_auto_assigned(session: Session, shop_id: int, order_id: int, assignee_id: int, number: str) -> None:
    tell_assignee(session, None, shop_id, "order", order_id, assignee_id, {"number": number})


def on_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        data = row.get("data") or {}
        if (
            row["type"] == "message.created"
            and data.get("sender_type") == "customer"
            and data.get("seq") == 1
        ):
            conversation = session.scalar(
                select(Conversation).where(
                    Conversation.id == data.get("conversation_id"), Conversation.shop_id == row["shop_id"]
                )
            )
            if conversation is not None:
                do_auto_assign_conversation(session, conversation)
