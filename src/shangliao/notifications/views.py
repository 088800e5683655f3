"""A notification as the API and the console show it: where it leads, and what it says."""

from __future__ import annotations

from typing import Any

from shangliao.core.i18n import N_, gettext
from shangliao.notifications.models import Notification
from shangliao.orders.state import STATUS_LABELS, Status

_LINKS = {
    "order": "/orders/{id}",
    "conversation": "/inbox/{id}",
    "product": "/products/{id}",
    "payment_notification": "/payments/notifications",
    "automation_rule": "/automation/rules/{id}",
    "webhook": "/settings/webhooks#webhook-{id}",
}
# What each kind says, with the numbers its data holds (never a name: see models.py).
TITLES = {
    "order_new": N_("New pending order {number}"),
    "order_assigned": N_("Order {number} is assigned to you"),
    "conversation_assigned": N_("A conversation is assigned to you"),
    "message": N_("New message in your conversation"),
    "messages": N_("{count} new messages in your conversation"),
    "payment": N_("Payment recorded on order {number}"),
    "payment_proof": N_("Payment proof sent for order {number}"),
    "low_stock": N_("Low stock: {available} left"),
    "order_status": N_("Order {number} is now {status}"),
    "payment_alert": N_("A payment notification for order {number} was not applied: please check"),
    "invoice_requested": N_("An invoice is requested for order {number}"),
    "automation": N_("Automation “{rule}”: order {number}"),
    "automation_failed": N_("Automation “{rule}” could not act: see its log"),
    "webhook_disabled": N_("Webhook {url} failed for {days} days and is switched off"),
}


def link_of(target_type: str, target_id: int) -> str:
    return _LINKS.get(target_type, "/notifications").format(id=target_id)


def title_of(kind: str, data: dict[str, Any], count: int = 1) -> str:
    """The notification's sentence in the reader's language."""
    if kind == "message" and count > 1:
        return gettext(TITLES["messages"], count=count)
    status = data.get("status")
    label = gettext(STATUS_LABELS[Status(status)]) if status in {s.value for s in Status} else (status or "")
    values = {
        "number": data.get("number", ""),
        "available": data.get("available", ""),
        "status": label,
        "rule": data.get("rule", ""),
    }
    return gettext(TITLES.get(kind, N_("Notification")), **values)


def notification_out(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "target_type": n.target_type,
        "target_id": n.target_id,
        "data": n.data or {},
        "count": n.count,
        "created_at": n.created_at,
        "read_at": n.read_at,
        "link": link_of(n.target_type, n.target_id),
    }
