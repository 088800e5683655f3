"""A conversation's messages as lines a person reads: who, when, and the text or what a card or a
file was. The order page's chat panel and the evidence pack (documents/evidence.py) draw the same
lines, so what the pack prints is what the merchant saw on screen."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shangliao.chat.cards import shown_parts
from shangliao.chat.models import Message
from shangliao.core.crypto import Keyring
from shangliao.core.i18n import N_
from shangliao.core.money import format_yuan
from shangliao.customers.masking import PiiView

CARD_NAMES = {
    "product_card": N_("Product card"),
    "order_card": N_("Order card"),
    "payment_request": N_("Payment request"),
    "quote_card": N_("Quote"),
    "order_request": N_("Order request"),
}


def line_of(
    session: Session,
    keyring: Keyring,
    m: Message,
    customer_name: str,
    staff_names: dict[int, str],
    view: PiiView,
) -> dict[str, Any]:
    """One message as a line: who (``None`` for the system), when, and its text or a summary of
    its card; a checkpoint, the lines the inbox and the customer's page draw (``shown_parts``), so
    every page shows what the customer saw, read by ``view`` (``cards.card_view``)."""
    if m.sender_type == "customer":
        who = customer_name
    elif m.sender_type == "staff":
        who = staff_names.get(m.sender_id or 0, "")
    else:
        who = None
    data = m.data or {}
    return {
        "seq": m.seq,
        "who": who,
        "side": m.sender_type,
        "at": m.created_at,
        "recalled": m.recalled_at is not None,
        "kind": m.kind,
        "text": m.body,
        "card": CARD_NAMES.get(m.kind),
        "summary": summary_of(m.kind, data),
        "shown": shown_parts(session, keyring, data, m.body, view=view)
        if m.kind == "order_card" and data.get("checkpoint")
        else None,
        "number": data.get("number", ""),
        "attachment_id": data.get("attachment_id"),
        "link": f"/api/v1/attachments/{data['attachment_id']}" if "attachment_id" in data else None,
        "name": data.get("name", ""),
        "sha256": data.get("sha256", ""),
    }


def summary_of(kind: str, data: dict[str, Any]) -> str:
    """A card in a few words: an order's number and total, a product's name, a request's items."""
    if kind in ("order_card", "payment_request", "quote_card") and "number" in data:
        return f"{data['number']} · {format_yuan(int(data.get('total', 0)))}"
    if kind == "product_card":
        return str(data.get("name", ""))
    if kind == "order_request":
        return " / ".join(f"{i.get('name', '')} × {i.get('quantity', '')}" for i in data.get("items", []))
    return ""
