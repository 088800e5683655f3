"""The customer's 订单进度: the steps of their order they may read, as an allow-list.

A step names what happened to the customer's own order and parcels, in codes the page words: the
order's status changes and payments, each parcel leaving (with its courier and number) and being
signed for, and each step of an after-sales request (with the money back, and the courier of the
goods going back or the replacement coming). Notes, tags, assignees, the staff who acted, reasons
and messages, and the ids of rows the customer never sees stay out.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shangliao.core.i18n import N_
from shangliao.orders.couriers import courier_name, tracking_url
from shangliao.orders.models import Order, OrderEvent
from shangliao.orders.state import Status
from shangliao.orders.timeline import events_of
from shangliao.shipping.parcels import DELIVERED_KIND, SHIPPED_KIND

# Timeline rows a customer may see; everything else (notes, tags, assignment, edits) is the shop's.
PUBLIC_STEPS = frozenset({"created", "status", "paid", SHIPPED_KIND, DELIVERED_KIND, "aftersale"})

# How each after-sales step (aftersales/service.py record_step) reads to the customer; a step not
# named here is the shop's own business and is not shown.
AFTERSALE_STEPS: dict[str, str] = {
    "requested": N_("After-sales request submitted"),
    "approved": N_("After-sales request approved"),
    "refused": N_("After-sales request declined"),
    "withdrawn": N_("After-sales request withdrawn"),
    "return_sent": N_("Return sent back"),
    "returned": N_("The shop received your return"),
    "refunded": N_("Refund sent to you"),
    "refund_linked": N_("Refund sent to you"),
    "exchanged": N_("Replacement sent"),
    "closed_offline": N_("After-sales settled with the shop"),
}
# Steps whose amount is the customer's money back (shown with them).
_REFUND_STEPS = frozenset({"refunded", "refund_linked"})
# Steps carrying a parcel's courier and number the customer may follow.
_PARCEL_STEPS = frozenset({"return_sent", "exchanged"})


def delivery(carrier_code: str | None, tracking_number: str | None) -> dict[str, Any] | None:
    """A courier and number as the customer's page shows them (both languages: the page picks)."""
    if not tracking_number:
        return None
    return {
        "carrier_code": carrier_code,
        "carrier_zh": courier_name(carrier_code, "zh_CN"),
        "carrier_en": courier_name(carrier_code, "en"),
        "tracking_number": tracking_number,
        "tracking_url": tracking_url(carrier_code, tracking_number),
    }


def public_step(event: OrderEvent) -> dict[str, Any] | None:
    """A timeline row as the customer may read it, or None for the shop's own business.

    ``seq`` is the parcel's number (the last parcel of a split shipment is the order's 已发货 step,
    and says so); ``aftersale_step`` the after-sales step, worded by :data:`AFTERSALE_STEPS`."""
    if event.kind not in PUBLIC_STEPS:
        return None
    data = event.data or {}
    step: dict[str, Any] = {
        "kind": event.kind,
        "status": event.to_status,
        "by": "you" if event.actor_type == "customer" else "shop",
        "at": event.created_at,
        "delivery": None,
        "amount": None,
        "seq": None,
        "aftersale_step": None,
    }
    if event.kind == "status" and event.to_status == Status.SHIPPED.value:
        step["delivery"] = delivery(data.get("carrier_code"), data.get("tracking_number"))
        if (data.get("seq") or 0) > 1:  # the last of several parcels
            step["seq"] = data["seq"]
    elif event.kind == "paid":
        step["amount"] = data.get("amount")
    elif event.kind == SHIPPED_KIND:
        step["seq"] = data.get("seq")
        step["delivery"] = delivery(data.get("carrier_code"), data.get("tracking_number"))
    elif event.kind == DELIVERED_KIND:
        step["seq"] = data.get("seq")
    elif event.kind == "aftersale":
        code = data.get("step")
        if code not in AFTERSALE_STEPS:
            return None
        step["aftersale_step"] = code
        if code in _REFUND_STEPS:
            step["amount"] = data.get("amount")
        if code in _PARCEL_STEPS:
            step["delivery"] = delivery(data.get("carrier_code"), data.get("tracking_number"))
    return step


def public_timeline(session: Session, order: Order) -> list[dict[str, Any]]:
    return [s for s in map(public_step, events_of(session, order)) if s is not None]
