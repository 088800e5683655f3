"""Conversations for the demo shop: what a day in the inbox looks like.

A few customers ask, order in their own words, wait for parcels and complain; the shop answers
with product cards and order cards, and one order is born in the chat and followed to shipping.
Everything goes through the chat and order services, with the clock set to when it "happened".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select

from shangliao.auth.actor import Actor
from shangliao.catalog.models import Product
from shangliao.chat import cards, checkpoints, service
from shangliao.core import clock
from shangliao.orders import actions
from shangliao.orders.create import do_create_order
from shangliao.orders.models import Order
from shangliao.orders.schemas import OrderCreate
from shangliao.orders.timeline import access_order
from shangliao.runtime import Runtime

# One conversation: (minutes after its start, who, what). "what" is a text, or a callable that
# sends something richer (a card, an order) and gets (session, conversation) to do it.
Step = tuple[int, str, "str | Callable"]


def _conversations(rt: Runtime, actor: Actor, products: dict[str, Product]) -> list[list[Step]]:
    tee, water = products["纯棉圆领T恤"], products["农夫山泉 550ml 整箱"]
    tea = products["明前龙井 预售"]

    def product_card(product: Product) -> Callable:
        def send(session, conversation) -> None:
            data = cards.product_card(session, actor.shop_id, product.id)
            _send(rt, session, actor, conversation, "product_card", "", data)

        return send

    def order_from_chat(session, conversation) -> None:
        """The shop turns the customer's message into an order, sends the card and ships it."""
        _after_the_last_order(session, actor.shop_id)
        red_m = next(v for v in tee.variants if v.spec == {"颜色": "红色", "尺码": "M"})
        body = OrderCreate(
            customer_id=conversation.customer_id,
            channel="chat",
            items=[
                {"variant_id": red_m.id, "quantity": 2},
                {"variant_id": water.variants[0].id, "quantity": 1},
            ],
        )
        created = do_create_order(session, rt.keyring, actor, body, conversation_id=conversation.id)
        session.flush()
        data = cards.order_card(session, actor, created.row.id)
        _send(rt, session, actor, conversation, "order_card", "这是您的订单，请核对一下～", data)
        order = access_order(session, actor, created.row.id)
        actions.do_transition(session, actor, order, "confirm", {})
        checkpoints.do_send_checkpoint(session, rt.keyring, actor, order, "details")
        actions.do_transition(session, actor, order, "prepare", {})
        actions.do_transition(
            session, actor, order, "ship", {"carrier_code": "SF", "tracking_number": "SF1432209876512"}
        )
        for kind in ("tracking", "inspect"):  # the dispute checkpoints after shipping
            checkpoints.do_send_checkpoint(session, rt.keyring, actor, order, kind)

    return [
        [
            (0, "customer", "龙井什么时候发货？"),
            (5, "staff", "明前龙井是预售，清明后一周内陆续发出"),
            (6, "staff", product_card(tea)),
            (30, "customer", "好的，250g的先给我留一罐"),
        ],
        [
            (0, "customer", "我上周买的曲奇怎么还没到"),
            (4, "staff", "抱歉久等了，我马上帮您查一下物流"),
            (20, "staff", "快递显示明天派送，到了有问题随时找我"),
        ],
        [
            (0, "customer", "你好，请问可以开发票吗？"),
        ],
        [
            (0, "customer", "帆布包藏青色还有吗"),
            (1, "customer", "想送朋友，能帮忙包装一下吗"),
        ],
        [
            (0, "customer", "老板在吗？T恤有红色M码吗"),
            (2, "staff", "在的亲，红色M码有货"),
            (3, "staff", product_card(tee)),
            (9, "customer", "我要两件红色M码的T恤，再来一箱矿泉水"),
            (12, "staff", order_from_chat),
            (40, "customer", "收到啦，谢谢老板"),
        ],
    ]


def _after_the_last_order(session, shop_id: int) -> None:
    """Order numbers count per day and never go back a day: the demo's orders reach up to now, so
    the order born in chat is placed just after the last of them if that is later."""
    latest = session.scalar(select(func.max(Order.created_at)).where(Order.shop_id == shop_id))
    if latest is not None and latest >= clock.now():
        clock.freeze(latest + timedelta(seconds=1))


def _send(rt: Runtime, session, actor: Actor, conversation, kind: str, body: str, data=None) -> None:
    """The shop sends something; having answered, it has read everything before it."""
    sent = service.do_send(
        session, rt.keyring, actor.shop_id, conversation.id,
        sender_type="staff", sender_id=actor.staff_id, kind=kind, body=body, data=data,
    )  # fmt: skip
    service.do_mark_read(session, actor.shop_id, conversation.id, side="staff", seq=sent.seq)


def seed_chats(rt: Runtime, actor: Actor, customer_ids: list[int], now: datetime) -> None:
    """Five conversations of the last two days (the one with an order the most recent); in four of
    them the customer spoke last."""
    with rt.db.read() as session:
        products = {p.name: p for p in session.query(Product).filter(Product.shop_id == actor.shop_id)}
        for p in products.values():
            _ = p.variants  # loaded now: the scripts read them in later units of work
        session.expunge_all()
    scripts = _conversations(rt, actor, products)
    try:
        for n, (script, customer_id) in enumerate(zip(scripts, customer_ids, strict=False)):
            start = now - timedelta(hours=40 - n * 9)
            for minutes, who, what in script:
                clock.freeze(start + timedelta(minutes=minutes))
                with rt.db.write() as session:
                    conversation = service.do_open_conversation(session, actor.shop_id, customer_id)
                    if callable(what):
                        what(session, conversation)
                    elif who == "staff":
                        _send(rt, session, actor, conversation, "text", what)
                    else:
                        service.do_send(
                            session, rt.keyring, actor.shop_id, conversation.id,
                            sender_type="customer", sender_id=customer_id, kind="text", body=what,
                        )  # fmt: skip
    finally:
        clock.freeze(None)
