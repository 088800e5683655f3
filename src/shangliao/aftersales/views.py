"""After-sales requests as the API answers them (plain data; page modules shape their own)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import object_session

from shangliao.aftersales import words
from shangliao.aftersales.models import AfterSale
from shangliao.orders.couriers import courier_name, tracking_url
from shangliao.orders.models import Order
from shangliao.orders.refund_method import refund_words

# What the shop may do next in each state (the console draws these buttons, the API checks again).
STAFF_STEPS: dict[str, tuple[str, ...]] = {
    "requested": ("approve", "refuse"),
    "approved": ("refund",),
    "awaiting_return": ("arrived",),
    "returned": ("refund", "ship"),
}


def next_step(row: AfterSale) -> str:
    """The code of what the customer waits for: a return with its tracking entered reads
    "return_sent" though the request still awaits the parcel."""
    if row.status == "awaiting_return" and row.return_tracking:
        return "return_sent"
    return row.status


def next_step_text(row: AfterSale, order: Order, step: str, locale: str | None) -> str:
    """The customer's next step in words; a refund says 原路退回 only when it went back the way
    they paid (orders/refund_method.py), else names the channel it took."""
    session = object_session(row)
    if step == "refunded" and session is not None:
        return refund_words(session, order, row.refund_id, locale)
    return words.label(words.NEXT_STEPS, step, locale)


def staff_steps(row: AfterSale) -> list[str]:
    steps = STAFF_STEPS.get(row.status, ())
    if row.status == "returned":
        return ["ship"] if row.kind == "exchange" else ["refund"]
    return list(steps)


def aftersale_dict(row: AfterSale, order: Order, locale: str | None = None) -> dict[str, Any]:
    """What both the shop and the customer see of a request (ids, codes, the customer's own words
    and the shop's message; no address or phone)."""
    items = {i.id: i for i in order.items}
    step = next_step(row)
    return {
        "id": row.id,
        "number": row.number,
        "order_id": order.id,
        "order_number": order.number,
        "kind": row.kind,
        "kind_label": words.label(words.KINDS, row.kind, locale),
        "status": row.status,
        "status_label": words.label(words.STATUSES, row.status, locale),
        "open": row.closed_at is None,
        "next_step": step,
        "next_step_text": next_step_text(row, order, step, locale),
        "reason": row.reason,
        "reason_label": words.label(words.REASONS, row.reason, locale),
        "note": row.customer_note,
        "photos": list(row.photos or []),
        "requested_amount": row.requested_amount,
        "return_carrier": row.return_carrier,
        "return_carrier_name": courier_name(row.return_carrier, locale),
        "return_tracking": row.return_tracking,
        "return_tracking_url": tracking_url(row.return_carrier, row.return_tracking),
        "staff_message": row.staff_message,
        "refund_id": row.refund_id,
        "parcel_id": row.parcel_id,
        "lines": [
            {
                "id": line.id,
                "order_item_id": line.order_item_id,
                "name": items[line.order_item_id].name if line.order_item_id in items else "",
                "spec": items[line.order_item_id].spec if line.order_item_id in items else "",
                "unit_price": items[line.order_item_id].unit_price if line.order_item_id in items else 0,
                "quantity": line.quantity,
                "replacement_variant_id": line.replacement_variant_id,
                "restock": line.restock,
            }
            for line in row.lines
        ],
        "created_at": row.created_at,
        "decided_at": row.decided_at,
        "returned_at": row.returned_at,
        "closed_at": row.closed_at,
        "version": row.version,
    }


def staff_dict(row: AfterSale, order: Order, locale: str | None = None) -> dict[str, Any]:
    return aftersale_dict(row, order, locale) | {"steps": staff_steps(row)}
