"""What the order page shows of an order's invoice (plain data; the console's page renders it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.core.crypto import Keyring
from shangliao.customers.masking import may_reveal
from shangliao.invoices.service import current_request, invoice_dict, reader_view
from shangliao.orders.models import Order


def invoice_context(session: Session, keyring: Keyring, actor: Actor, order: Order) -> dict[str, Any]:
    """The order's open invoice request for ``orders/_invoice.html``: its email and tax id masked
    unless the reader issues invoices or sees personal data in full, and whether 显示 may lift the
    masks."""
    row = current_request(session, order)
    view = reader_view(actor)
    return {
        "invoice": invoice_dict(keyring, row, view),
        "invoice_can_reveal": row is not None and may_reveal(actor) and not view.full,
    }
