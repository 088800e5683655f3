"""Loading orders for a change, and writing what changed: the timeline row and the domain event."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.auth.scope import Viewer
from shangliao.core import clock
from shangliao.core.errors import Conflict, NotFound
from shangliao.core.i18n import N_, current_locale, gettext
from shangliao.core.money import format_yuan
from shangliao.events import log
from shangliao.events.log import DomainEvent
from shangliao.orders.cancel_reasons import reason_text
from shangliao.orders.couriers import courier_name
from shangliao.orders.models import Order, OrderEvent, OrderNote
from shangliao.orders.state import STATUS_LABELS, Status


def access_order(session: Session, who: Viewer, order_id: int, *, lock: bool = False) -> Order:
    """The shop's order, if it is in ``who``'s data scope (404 for anyone else's and for one
    assigned to someone else, rule 3 of docs/architecture.md); ``lock`` holds the row until commit."""
    stmt = select(Order).where(Order.id == order_id, Order.shop_id == who.shop_id)
    if lock:
        stmt = stmt.with_for_update()
    order = session.scalar(stmt)
    if order is None or not who.may_see_assignee(order.assignee_id):
        raise NotFound("order.not_found", N_("No such order."))
    return order


def check_version(order: Order, expected: int | None) -> None:
    if expected is not None and order.version != expected:
        raise Conflict(
            "order.version_conflict",
            N_("Someone else changed this order meanwhile. Reload it and try again."),
            details={"current_version": order.version, "your_version": expected},
        )


def check_not_archived(order: Order) -> None:
    if order.archived_at is not None:
        raise Conflict("order.archived", N_("This order is archived and can no longer change."))


def sealed(blob: bytes | None) -> str | None:
    """An encrypted snapshot as text for a JSON timeline row (it stays encrypted, rule 12 of docs/architecture.md)."""
    return base64.b64encode(blob).decode() if blob else None


def unseal(text: str | None) -> bytes | None:
    return base64.b64decode(text) if text else None


def record_change(
    session: Session,
    order: Order,
    actor: Actor | None,
    kind: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    data: dict[str, Any] | None = None,
    event_type: str | None = None,
    event_data: dict[str, Any] | None = None,
) -> None:
    """Append the timeline row and the domain event for a change of ``order`` (same transaction).

    ``data`` is for the timeline (staff see it; encrypted where it holds PII); ``event_data`` goes
    to the event log and must hold no PII.
    """
    now = clock.now()
    order.updated_at = now
    if actor is not None and actor.via == "automation":  # which rule or sweep, for author_of
        data = {**(data or {}), "automation": actor.display_name}
    session.add(
        OrderEvent(
            shop_id=order.shop_id,
            order_id=order.id,
            kind=kind,
            actor_type=actor.actor_type if actor else "system",
            actor_id=actor.person_id if actor else None,
            from_status=from_status,
            to_status=to_status,
            data=data or {},
            created_at=now,
        )
    )
    session.flush()
    log.record(
        session,
        order.shop_id,
        [
            DomainEvent(
                event_type or f"order.{kind}",
                "order",
                order.id,
                {
                    "number": order.number,
                    "status": order.status,
                    "version": order.version,
                    **(event_data or {}),
                },
            )
        ],
    )


def events_of(session: Session, order: Order) -> list[OrderEvent]:
    """The order's timeline, oldest first."""
    return list(
        session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id))
    )


def notes_of(session: Session, order: Order) -> list[OrderNote]:
    """The team's internal notes on the order, oldest first."""
    return list(
        session.scalars(select(OrderNote).where(OrderNote.order_id == order.id).order_by(OrderNote.id))
    )


# --- how a timeline row reads ---------------------------------------------------------------------

# What each kind of row is called (the order page's timeline, the evidence pack's).
EVENT_LABELS = {
    "created": N_("Order created"),
    "status": N_("Status changed"),
    "note": N_("Note added"),
    "assigned": N_("Assignee changed"),
    "tagged": N_("Tags changed"),
    "address_changed": N_("Address changed"),
    "items_changed": N_("Items changed"),
    "price_changed": N_("Price changed"),
    "paid": N_("Payment recorded"),
    "refunded": N_("Refund recorded"),
    "proof_uploaded": N_("Payment proof sent"),
    "proof_recorded": N_("Payment proof recorded"),
    "proof_dismissed": N_("Payment proof dismissed"),
    "parcel_shipped": N_("Parcel shipped"),
    "parcel_delivered": N_("Parcel signed for"),
    "archived": N_("Archived"),
    "restored": N_("Restored from the archive"),
    "invoice_requested": N_("Invoice requested"),
    "invoice_updated": N_("Invoice request changed"),
    "invoice_issued": N_("Invoice issued"),
    "invoice_cancelled": N_("Invoice cancelled"),
    "aftersale": N_("After-sales service"),
}
LAST_PARCEL_SHIPPED = N_("Last parcel shipped, the whole order has shipped")
PARCEL_N = N_("Parcel {n}")
FROM_TO = N_("{old} → {new}")
NOBODY = N_("Nobody")
TAGS_ADDED = N_("Added: {tags}")
TAGS_REMOVED = N_("Removed: {tags}")
CANCEL_REASON = N_("Reason: {reason}")
BY_SYSTEM = N_("System")
BY_AUTOMATION = N_("Automation: {name}")
BY_API = N_("API")
BY_API_OF = N_("{name} (API)")
BY_CUSTOMER = N_("Customer")
BY_CUSTOMER_NAMED = N_("Customer {name}")
FORMER_STAFF = N_("A former colleague")
INVOICE_NUMBER = N_("No. {number}")
# A payment or refund recorded by nobody: a provider's verified notification (payments/).
BY_PROVIDER = {
    "wechat": N_("WeChat Pay notification"),
    "alipay": N_("Alipay notification"),
    "gateway": N_("Payment gateway notification"),
}


def author_of(row: dict[str, Any], staff_names: dict[int, str], customer_name: str | None) -> str:
    """Who made a change, as the reader says it. ``actor_id`` means a staff member only for staff
    and API rows: for a customer's own step (an order placed from the shop page, a receipt) it is
    the customer's id, never to be looked up among staff."""
    kind, person = row["actor_type"], row["actor_id"]
    if kind == "customer":
        return gettext(BY_CUSTOMER_NAMED, name=customer_name) if customer_name else gettext(BY_CUSTOMER)
    if kind == "staff" and person is not None:
        return staff_names.get(person) or gettext(FORMER_STAFF)
    if kind == "api":
        name = staff_names.get(person) if person is not None else None
        return gettext(BY_API_OF, name=name) if name else gettext(BY_API)
    if kind == "automation":
        return gettext(BY_AUTOMATION, name=gettext((row.get("data") or {}).get("automation") or ""))
    provider = (row.get("data") or {}).get("method") if row["kind"] in ("paid", "refunded") else None
    return gettext(BY_PROVIDER.get(provider) or BY_SYSTEM)


def details_of(row: dict[str, Any], staff_names: dict[int, str]) -> list[str]:
    """What changed, in the reader's language: statuses, the parcel, the cancel reason, the
    assignee from → to, the tags added and removed."""

    def status(value: str) -> str:
        known = value in {s.value for s in Status}
        return gettext(STATUS_LABELS[Status(value)]) if known else value

    data = row.get("data") or {}
    parts: list[str] = []
    if row.get("from_status") and row.get("to_status"):
        parts.append(gettext(FROM_TO, old=status(row["from_status"]), new=status(row["to_status"])))
    elif row.get("to_status"):
        parts.append(status(row["to_status"]))
    if data.get("tracking_number"):
        carrier = courier_name(data.get("carrier_code"), current_locale.get()) or ""
        parts.append(f"{carrier} {data['tracking_number']}".strip())
    if data.get("parcel_id") and data.get("items"):  # a parcel's step (shipping/parcels.py): what it held
        parts.append("、".join(f"{i['name']} × {i['quantity']}" for i in data["items"]))
    if row["kind"] == "status" and data.get("reason"):
        parts.append(gettext(CANCEL_REASON, reason=reason_text(data["reason"], data.get("reason_note"))))
    if row["kind"] == "assigned":

        def who(staff_id: int | None) -> str:
            if staff_id is None:
                return gettext(NOBODY)
            return staff_names.get(staff_id) or gettext(FORMER_STAFF)

        parts.append(gettext(FROM_TO, old=who(data.get("from")), new=who(data.get("to"))))
    if row["kind"] in ("paid", "refunded") and data.get("amount"):
        parts.append(format_yuan(data["amount"]))
    if row["kind"] == "proof_dismissed" and data.get("reason"):
        parts.append(data["reason"])
    if row["kind"] == "invoice_issued" and data.get("invoice_number"):
        parts.append(gettext(INVOICE_NUMBER, number=data["invoice_number"]))
    if row["kind"] == "aftersale":  # aftersales/: the request's number and its step
        from shangliao.aftersales.words import STEPS, label

        parts.append(f"{data.get('number', '')} {label(STEPS, data.get('step'))}".strip())
    if row["kind"] == "tagged":
        if data.get("added"):
            parts.append(gettext(TAGS_ADDED, tags="、".join(data["added"])))
        if data.get("removed"):
            parts.append(gettext(TAGS_REMOVED, tags="、".join(data["removed"])))
    return parts


def worded(
    row: dict[str, Any], at: Any, authors: dict[int, str], customer_name: str | None
) -> dict[str, Any]:
    """A timeline row (``views.event_dict``) with who did it and what changed, worded for the
    reader: ``label`` (a msgid), ``author`` and ``details`` (translated), ``at``."""
    details = details_of(row, authors)
    label = EVENT_LABELS.get(row["kind"], row["kind"])
    seq = (row.get("data") or {}).get("seq")
    if row["kind"] == "status" and row.get("to_status") == Status.SHIPPED.value and seq and seq > 1:
        # The last parcel of a split shipment is the order's own 已发货 step (shipping/parcels.py):
        # it reads as that parcel leaving, and the order now shipped whole.
        label, details = LAST_PARCEL_SHIPPED, [gettext(PARCEL_N, n=seq), *details]
    return {
        **row,
        "at": at,
        "author": author_of(row, authors, customer_name),
        "details": details,
        "label": label,
    }
