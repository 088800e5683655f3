"""What a webhook says: the topics a shop subscribes to, and the versioned JSON of an event.

Version 1: ``{"id": "evt_<n>", "api_version": 1, "type", "created_at", "shop": {id, slug}, "seq",
"entity": {type, id}, "data", "delivery": {id, attempt}}``. ``data`` is the event log's (ids,
statuses, numbers and amounts, never personal data: rule 8 of docs/architecture.md); a receiver
that needs more asks the REST API with its own token. ``id`` names the event: a redelivery or a
retry carries the same one, so a receiver deduplicates by it (delivery is at least once).
"""

from __future__ import annotations

from typing import Any

import orjson

from shangliao.events.models import EventLogEntry

API_VERSION = 1
TOPICS = ("order", "payment", "aftersales", "message", "stock")
_PAYMENT_TYPES = {"order.paid", "order.refunded"}


def topic_of(event_type: str) -> str | None:
    """The topic an event type belongs to (None: no webhook hears it, e.g. a read receipt)."""
    if event_type in _PAYMENT_TYPES or event_type.startswith("order.proof_"):
        return "payment"
    if event_type == "order.aftersale":
        return "aftersales"
    if event_type.startswith("order."):
        return "order"
    if event_type in ("message.created", "message.recalled"):
        return "message"
    if event_type.startswith("stock."):
        return "stock"
    return None


def event_payload(event: EventLogEntry, slug: str, *, rule: dict[str, Any] | None = None) -> dict[str, Any]:
    """The frozen part of a delivery's body (the ``delivery`` part is added per try)."""
    data = {k: v for k, v in (event.data or {}).items() if k != "auto"}
    body: dict[str, Any] = {
        "id": f"evt_{event.id}",
        "api_version": API_VERSION,
        "type": event.type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "shop": {"id": event.shop_id, "slug": slug},
        "seq": event.seq,
        "entity": {"type": event.entity_type, "id": event.entity_id},
        "data": data,
    }
    if rule is not None:  # sent by a rule's "call a webhook" action
        body["rule"] = rule
    return body


def body_of(payload: dict[str, Any], delivery_id: int, attempt: int) -> bytes:
    return orjson.dumps({**payload, "delivery": {"id": delivery_id, "attempt": attempt}})
