"""Whether an event's order meets a rule's conditions: products or SKUs on it, its total, its
channel, its customer's tags, the province it goes to, the time of day (in the shop's zone) the
event happened. Conditions see the order as it is when the rule runs, the time of day excepted."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.automation.schemas import (
    AmountCondition,
    ChannelCondition,
    Conditions,
    CustomerTagCondition,
    PaidCondition,
    ProductCondition,
    RegionCondition,
    StatusCondition,
    TimeCondition,
)
from shangliao.core.crypto import Keyring
from shangliao.customers.models import CustomerTag
from shangliao.customers.pii import decrypt_address
from shangliao.orders.models import Order


def met(
    session: Session,
    keyring: Keyring,
    conditions: Conditions,
    order: Order | None,
    at: datetime,
    timezone: str,
) -> bool:
    """All (or any) of ``conditions``; none at all is met. An order condition without an order
    (a stock alert) is not met."""
    if not conditions.items:
        return True
    results = (_one(session, keyring, c, order, at, timezone) for c in conditions.items)
    return all(results) if conditions.match == "all" else any(results)


def _one(session: Session, keyring: Keyring, c, order: Order | None, at: datetime, timezone: str) -> bool:
    if isinstance(c, TimeCondition):
        return _within(at.astimezone(ZoneInfo(timezone)).strftime("%H:%M"), c.start, c.end)
    if order is None:
        return False
    if isinstance(c, ProductCondition):
        return any(i.product_id in c.product_ids or i.sku in c.skus for i in order.items)
    if isinstance(c, AmountCondition):
        return (c.min is None or order.total >= c.min) and (c.max is None or order.total <= c.max)
    if isinstance(c, PaidCondition):
        net = order.paid_amount - order.refunded_amount
        return net >= order.total if c.state == "in_full" else order.paid_amount == 0
    if isinstance(c, StatusCondition):
        return order.status in c.statuses
    if isinstance(c, ChannelCondition):
        return order.channel in c.channels
    if isinstance(c, CustomerTagCondition):
        if order.customer_id is None:
            return False
        tags = session.scalars(
            select(CustomerTag.tag).where(
                CustomerTag.shop_id == order.shop_id, CustomerTag.customer_id == order.customer_id
            )
        )
        return bool(set(tags) & set(c.tags))
    if isinstance(c, RegionCondition):
        if order.address_enc is None:
            return False
        # Opened in memory only: the province is compared, never logged or stored.
        province = decrypt_address(keyring, order.address_enc).province
        return any(province.startswith(p) or p.startswith(province) for p in c.provinces)
    raise TypeError(f"unknown condition {c!r}")


def _within(now: str, start: str, end: str) -> bool:
    return start <= now < end if start <= end else now >= start or now < end
