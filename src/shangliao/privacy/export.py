"""Everything the shop holds about one customer, decrypted, as plain JSON-ready data.

PIPL art. 45: a person may ask for a copy of their personal information. The copy is what the
shop's tables say about them: profile, phones, addresses, orders (items, amounts, the status
timeline), conversations with every message and attachment's metadata, the devices they used on
the shop page, and the phones those devices claimed. Attachment bytes are not inlined (a
conversation may hold gigabytes of video); their names, types, sizes and SHA-256 are, so a file
handed over separately can be matched.

The console renders the same dict as a printable page (``web/console/privacy_pages.py``); the API
answers it as JSON. Reading it is recorded in the audit log by the caller (``customer.exported``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.aftersales.privacy import requests_of as aftersale_requests
from shangliao.chat.cards import open_card
from shangliao.chat.models import Attachment, Conversation, Message, Visitor
from shangliao.chat.views import message_out
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.customers import service as customers
from shangliao.invoices.service import requests_of
from shangliao.orders.models import Order
from shangliao.orders.timeline import events_of
from shangliao.orders.views import event_dict, order_dict

FORMAT = "shangliao.customer-export/1"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _profile(keyring: Keyring, customer) -> dict[str, Any]:
    out = customers.customer_out(keyring, customer).model_dump(mode="json")
    return {
        "profile": {k: out[k] for k in ("id", "name", "tags", "note", "blocked", "created_at", "updated_at")}
        | {k: out[k] for k in ("first_order_at", "last_order_at", "order_count", "total_spent")},
        "phones": out["phones"],
        "addresses": out["addresses"],
    }


def _orders(session: Session, keyring: Keyring, shop_id: int, customer_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Order).where(Order.shop_id == shop_id, Order.customer_id == customer_id).order_by(Order.id)
    )
    out = []
    for order in rows:
        data = order_dict(order, keyring)
        data = {k: _iso(v) if isinstance(v, datetime) else v for k, v in data.items()}
        data.pop("allowed_actions", None)
        data["timeline"] = [event_dict(e, keyring) for e in events_of(session, order)]
        data["invoices"] = requests_of(session, keyring, order)
        data["aftersales"] = aftersale_requests(session, order)  # with the customer's own notes
        out.append(data)
    return out


def _attachment(a: Attachment) -> dict[str, Any]:
    return {
        "id": a.id,
        "message_id": a.message_id,
        "sender_type": a.sender_type,
        "kind": a.kind,
        "name": a.name,
        "mime": a.mime,
        "size": a.size,
        "sha256": a.sha256,
        "created_at": _iso(a.created_at),
    }


def _message(session: Session, keyring: Keyring, m: Message) -> dict[str, Any]:
    """As staff read it, an order card's sealed address opened (the person gets their address,
    not ciphertext)."""
    out = {k: _iso(v) if isinstance(v, datetime) else v for k, v in message_out(m).items() if k != "replayed"}
    out["data"] = open_card(session, keyring, out["data"])
    return out


def _conversations(
    session: Session, keyring: Keyring, shop_id: int, customer_id: int
) -> list[dict[str, Any]]:
    out = []
    conversations = session.scalars(
        select(Conversation)
        .where(Conversation.shop_id == shop_id, Conversation.customer_id == customer_id)
        .order_by(Conversation.id)
    )
    for c in conversations:
        messages = session.scalars(
            select(Message).where(Message.conversation_id == c.id).order_by(Message.seq)
        )
        attachments = session.scalars(
            select(Attachment).where(Attachment.conversation_id == c.id).order_by(Attachment.id)
        )
        out.append(
            {
                "id": c.id,
                "status": c.status,
                "merged_into_id": c.merged_into_id,
                "last_message_at": _iso(c.last_message_at),
                "messages": [_message(session, keyring, m) for m in messages],
                "attachments": [_attachment(a) for a in attachments],
            }
        )
    return out


def _devices(session: Session, shop_id: int, customer_id: int) -> list[dict[str, Any]]:
    """The customer's devices on the shop page. Tokens and phone hashes are keyed digests that
    mean nothing outside the shop's key, so they are left out; whether a device claimed another
    customer's phone, and whether it was vouched for, is what the person can act on."""
    rows = session.scalars(
        select(Visitor)
        .where(Visitor.shop_id == shop_id, Visitor.customer_id == customer_id)
        .order_by(Visitor.id)
    )
    return [
        {
            "id": v.id,
            "created_at": _iso(v.created_at),
            "last_seen_at": _iso(v.last_seen_at),
            "revoked_at": _iso(v.revoked_at),
            "verified_at": _iso(v.verified_at),
            "claims_a_known_phone": v.claimed_phone_hash is not None,
        }
        for v in rows
    ]


def customer_export(session: Session, keyring: Keyring, shop_id: int, customer_id: int) -> dict[str, Any]:
    """The customer's data (404 for another shop's customer, like every tenant read)."""
    customer = customers.access_customer(session, shop_id, customer_id)
    return {
        "format": FORMAT,
        "shop_id": shop_id,
        "exported_at": _iso(clock.now()),
        **_profile(keyring, customer),
        "orders": _orders(session, keyring, shop_id, customer_id),
        "conversations": _conversations(session, keyring, shop_id, customer_id),
        "devices": _devices(session, shop_id, customer_id),
    }
