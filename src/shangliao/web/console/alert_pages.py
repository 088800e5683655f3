"""What the console's navigation badges show: pending orders on 订单, unread conversations on 聊天,
unread notifications on 通知.

Every console page asks once when it loads (``alerts.js``), and again whenever the staff socket
says something that may move a count, so the numbers come from the server, never from sums kept in
the browser. The event seq read with the counts is where the page's socket starts listening: nothing
committed between the two is missed.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shangliao.auth.access import signed_in
from shangliao.auth.actor import Actor
from shangliao.chat.inbox import unread_conversations
from shangliao.notifications import service as notifications
from shangliao.orders.counts import tab_counts
from shangliao.orders.state import Status
from shangliao.realtime.feed import head_seq
from shangliao.runtime import Runtime, get_runtime

router = APIRouter(include_in_schema=False)


@router.get("/alerts")
def alert_counts(actor: Actor = Depends(signed_in()), rt: Runtime = Depends(get_runtime)) -> dict:
    """The badges' numbers for this staff member's shop; a count they may not read is ``None``
    (no order count without orders.read, no chat count without chat.read)."""
    with rt.db.read() as session:
        seq = head_seq(session, actor.shop_id)
        orders = (
            tab_counts(session.connection(), actor)[Status.PENDING.value]
            if "orders.read" in actor.permissions
            else None
        )
        chats = unread_conversations(session, actor) if "chat.read" in actor.permissions else None
        notes = notifications.unread_count(session, actor)  # every member has their own
    return {"event_seq": seq, "orders_pending": orders, "chats_unread": chats, "notifications_unread": notes}
