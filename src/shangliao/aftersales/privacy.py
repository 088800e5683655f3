"""A customer's after-sales requests under the privacy law (privacy/export.py, privacy/erase.py):
the request in full goes into their export; erasure blanks the free text they typed (the note may
name them, their address or phone), while the request itself stays as evidence (rule 17)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shangliao.aftersales.models import AfterSale
from shangliao.aftersales.views import aftersale_dict
from shangliao.orders.models import Order


def requests_of(session: Session, order: Order) -> list[dict[str, Any]]:
    """Every request of the order, closed ones too, with the customer's note: the data export."""
    rows = session.scalars(
        select(AfterSale)
        .where(AfterSale.order_id == order.id, AfterSale.shop_id == order.shop_id)
        .order_by(AfterSale.id)
    )
    return [
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in aftersale_dict(row, order).items()}
        for row in rows
    ]


def erase_notes(session: Session, shop_id: int, order_ids: list[int]) -> int:
    """Blank the customer's notes on these orders' requests; the version moves so a form opened
    before the erasure is refused rather than writing the old text back (rule 11)."""
    if not order_ids:
        return 0
    return session.execute(
        update(AfterSale)
        .where(AfterSale.shop_id == shop_id, AfterSale.order_id.in_(order_ids), AfterSale.customer_note != "")
        .values(customer_note="", version=AfterSale.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
