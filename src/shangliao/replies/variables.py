"""The variables a quick reply may hold, and their values from the conversation's current order.

A template names them in braces, in Chinese as merchants write them (``{客户名}``) or by an English
alias an integrator may prefer (``{customer}``). Values are plain text computed here; filling them
into a template is ``service.render``, which never evaluates anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from shangliao.auth.scope import Viewer, assigned_condition
from shangliao.core.errors import NotFound
from shangliao.core.i18n import N_
from shangliao.core.money import format_yuan
from shangliao.customers.models import Customer
from shangliao.orders.couriers import courier_name
from shangliao.orders.models import Order, OrderItem
from shangliao.orders.state import Status

# In the order a composer lists them.
NAMES: tuple[str, ...] = ("客户名", "订单号", "金额", "商品", "快递公司", "物流单号")
ALIASES: dict[str, str] = {
    "customer": "客户名",
    "order_number": "订单号",
    "amount": "金额",
    "items": "商品",
    "carrier": "快递公司",
    "tracking_number": "物流单号",
}
# What the management page fills a preview with when no conversation is at hand.
SAMPLE: dict[str, str] = {
    "客户名": "王小姐",
    "订单号": "2406180015",
    "金额": "¥128.00",
    "商品": "纯棉圆领T恤 白色/M ×2，冻干咖啡 24颗 ×1",
    "快递公司": "顺丰速运",
    "物流单号": "SF1234567890",
}
# A long order is summed up rather than listed in full: the message stays readable.
ITEMS_SHOWN = 10


def canonical(name: str) -> str | None:
    """The Chinese name of a variable written either way (aliases in any case); None if unknown."""
    return name if name in NAMES else ALIASES.get(name.lower())


def items_text(items: Sequence[OrderItem]) -> str:
    """``T恤 红色/M ×2，矿泉水 ×1``: name, compact spec, quantity."""
    parts = []
    for item in items[:ITEMS_SHOWN]:
        spec = item.spec.replace(" / ", "/").strip()
        parts.append(f"{item.name} {spec} ×{item.quantity}" if spec else f"{item.name} ×{item.quantity}")
    text = "，".join(parts)
    if len(items) > ITEMS_SHOWN:
        text += f" 等{len(items)}种商品"
    return text


def order_values(order: Order) -> dict[str, str]:
    values = {"订单号": order.number, "金额": format_yuan(order.total)}
    if order.items:
        values["商品"] = items_text(order.items)
    if order.carrier_code:
        values["快递公司"] = courier_name(order.carrier_code, "zh_CN")  # the templates are Chinese
    if order.tracking_number:
        values["物流单号"] = order.tracking_number
    return values


def current_order(
    session: Session, who: Viewer, customer_id: int, order_id: int | None = None
) -> Order | None:
    """``order_id`` when it is this customer's order in this shop and in ``who``'s data scope (404
    otherwise); without it, the customer's most recent such order still in play: not cancelled,
    not archived, unfinished ones first."""
    assigned = assigned_condition(who, Order.assignee_id)
    scope = (Order.shop_id == who.shop_id, Order.customer_id == customer_id)
    scope += () if assigned is None else (assigned,)
    if order_id is not None:
        order = session.scalar(select(Order).where(Order.id == order_id, *scope))
        if order is None:
            raise NotFound("order.not_found", N_("No such order."))
        return order
    finished_last = case((Order.status == Status.COMPLETED.value, 1), else_=0)
    return session.scalar(
        select(Order)
        .where(*scope, Order.status != Status.CANCELLED.value, Order.archived_at.is_(None))
        .order_by(finished_last, Order.created_at.desc(), Order.id.desc())
        .limit(1)
    )


def customer_values(session: Session, conversation: Any) -> dict[str, str]:
    """What the conversation itself tells: the customer's name, if known."""
    customer = session.get(Customer, conversation.customer_id)
    return {"客户名": customer.name} if customer is not None and customer.name else {}


def values_for(
    session: Session, who: Viewer, conversation: Any, order_id: int | None = None
) -> tuple[dict[str, str], Order | None]:
    """The values known for ``conversation`` (a chat ``Conversation`` the caller ``who`` may see)
    and the order they came from (one ``who`` may see). Variables without a value are left out."""
    values = customer_values(session, conversation)
    order = current_order(session, who, conversation.customer_id, order_id)
    if order is None:
        return values, None
    if "客户名" not in values and order.customer_name:
        values["客户名"] = order.customer_name
    values.update(order_values(order))
    return values, order
