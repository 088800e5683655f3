"""Which events of the shop's log tell members something, and whom.

``on_rows`` sees every batch of event rows as it is written (events/log.py ``WATCHERS``), in the
same transaction: a notification commits or rolls back with the change it tells of. It reads only
what it needs, and nothing at all for the events it does not watch (most of them).

- a draft submitted (a new pending order; one placed directly is told by orders/create.py, whose
  events are numbered together): members who may see it;
- a payment recorded: told by whoever records it (orders/actions.py ``do_mark_paid``, and a
  provider's notification in payments/applied.py), from the cached audience and numbered with the
  payment's own event, so its hot path pays no read here;
- an order reaching a status: the members who follow that status and may see the order;
- a new invoice request (invoices/service.py): the members who issue invoices and may see the order;
- low stock: members who may see products;
- a customer's message: the conversation's assignee, one notification per conversation while
  unread (later messages count into it).

Assignments are told by the assigning code itself (assignment/apply.py): only it knows who did it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.chat.models import Conversation
from shangliao.notifications import service
from shangliao.orders.models import Order

STATUS_EVENTS = {f"order.{status}": status for status in service.FOLLOWABLE}
# A new order's own notifications are made by orders/create.py (numbered with its events), a
# payment's by the code recording it ("order.paid": orders/actions.py, payments/applied.py); a
# submitted draft's ("order.pending") here.
ORDER_EVENTS = {"order.pending", "order.proof_uploaded", *STATUS_EVENTS}
# A new invoice request (invoices/service.py): told to the members who issue invoices.
ORDER_EVENTS |= {"order.invoice_requested"}
WATCHED = ORDER_EVENTS | {"stock.low", "message.created"}


def _order_kinds(row: dict[str, Any]) -> list[tuple[str, str | None]]:
    kind = row["type"]
    if kind == "order.pending":
        return [("order_new", None)]
    if kind == "order.proof_uploaded":
        return [("payment_proof", None)]
    if kind == "order.invoice_requested":
        return [("invoice_requested", None)]
    return [("order_status", STATUS_EVENTS[kind])]


def on_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    watched = [
        r
        for r in rows
        if r["type"] in WATCHED
        and not (r["type"] == "message.created" and (r.get("data") or {}).get("sender_type") != "customer")
    ]
    if not watched:
        return
    shop_id = watched[0]["shop_id"]
    order_ids = {r["entity_id"] for r in watched if r["type"] in ORDER_EVENTS}
    orders: dict[int, tuple[int | None, str]] = {}
    if order_ids:
        orders = {
            oid: (assignee_id, number)
            for oid, assignee_id, number in session.execute(
                select(Order.id, Order.assignee_id, Order.number).where(
                    Order.shop_id == shop_id, Order.id.in_(order_ids)
                )
            )
        }
    everyone = (
        service.audience(session, shop_id) if orders or any(r["type"] == "stock.low" for r in watched) else []
    )
    for row in watched:
        if row["type"] == "message.created":
            _message(session, shop_id, row)
        elif row["type"] == "stock.low":
            data = row.get("data") or {}
            told = service.recipients(session, shop_id, "low_stock", scoped=False, among=everyone)
            service.notify(
                session,
                shop_id,
                told,
                "low_stock",
                "product",
                data.get("product_id") or 0,
                {"variant_id": row["entity_id"], "available": data.get("available")},
            )
        elif row["entity_id"] in orders:
            assignee_id, number = orders[row["entity_id"]]
            for kind, status in _order_kinds(row):
                told = service.recipients(
                    session, shop_id, kind, assignee_id=assignee_id, status=status, among=everyone
                )
                data = {"number": number, **({"status": status} if status else {})}
                service.notify(session, shop_id, told, kind, "order", row["entity_id"], data)


def _message(session: Session, shop_id: int, row: dict[str, Any]) -> None:
    conversation_id = (row.get("data") or {}).get("conversation_id")
    assignee_id = session.scalar(
        select(Conversation.assignee_id).where(
            Conversation.id == conversation_id, Conversation.shop_id == shop_id
        )
    )
    if assignee_id is None:
        return
    if service.add_to_unread(session, assignee_id, "message", "conversation", conversation_id):
        return
    told = service.recipients(session, shop_id, "message", assignee_id=assignee_id, only=[assignee_id])
    service.notify(session, shop_id, told, "message", "conversation", conversation_id)
