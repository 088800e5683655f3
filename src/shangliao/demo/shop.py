"""The demo shop: a small grocery-and-clothes shop with 90 days of orders in every state.

Everything goes through the real services (so stock, ledger, timelines and events are all
consistent), with the clock moved back to when each step "happened".
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import update

from shangliao.auth import service as auth_service
from shangliao.auth.actor import Actor
from shangliao.auth.permissions import permissions_for
from shangliao.catalog.schemas import ProductIn
from shangliao.catalog.service import do_create_product
from shangliao.core import clock
from shangliao.core.errors import ShangliaoError
from shangliao.core.i18n import N_
from shangliao.customers.pii import Address
from shangliao.customers.schemas import CustomerIn
from shangliao.customers.service import do_create_customer
from shangliao.demo import names
from shangliao.demo.chats import seed_chats
from shangliao.demo.payments import seed_payments
from shangliao.demo.team import seed_team
from shangliao.notifications.models import Notification
from shangliao.orders import actions, edits
from shangliao.orders.archive import archive_older_than
from shangliao.orders.cancel_reasons import CANCEL_REASONS, OTHER
from shangliao.orders.create import do_create_order
from shangliao.orders.schemas import OrderCreate
from shangliao.orders.tag_palette import Palette, PaletteTag, do_set_palette
from shangliao.orders.timeline import access_order
from shangliao.runtime import Runtime
from shangliao.shops.service import do_create_shop
from shangliao.stats.rebuild import rebuild

# (name, options, [(spec values, price fen, stock)], presale, low-stock threshold)
CATALOG = [
    (
        "纯棉圆领T恤",
        ["颜色", "尺码"],
        [((c, s), 5900, 400) for c in ("白色", "黑色", "红色") for s in ("S", "M", "L", "XL")],
        False,
        10,
    ),
    ("农夫山泉 550ml 整箱", [], [((), 3600, 900)], False, 20),
    (
        "手工黄油曲奇 罐装",
        ["口味"],
        [(("原味",), 6800, 300), (("抹茶",), 7200, 250), (("巧克力",), 7200, 260)],
        False,
        15,
    ),
    ("明前龙井 预售", ["规格"], [(("100g",), 16800, 0), (("250g",), 39800, 0)], True, 0),
    ("帆布托特包", ["颜色"], [(("米白",), 8900, 14), (("藏青",), 8900, 9)], False, 8),
    ("冻干咖啡 24颗", [], [((), 9900, 600)], False, 30),
    ("速干运动短裤", ["尺码"], [((s,), 7900, 200) for s in ("M", "L", "XL")], False, 10),
    ("云南小粒咖啡豆 500g", [], [((), 12800, 5)], False, 6),
]

NOTES = ["急需发货", "需特殊包装", "客户要求周末送达", "老客户，送小样", "发票抬头已确认", "先发顺丰"]
REMARKS = ["", "", "", "请尽快发货", "周末在家", "不要放快递柜", "送人的，请不要放价格单"]
CARRIERS = ["SF", "ZTO", "YTO", "YD", "JTSD", "JD"]

DemoProgress = Callable[[str, int, int], None]
"""Called as ``progress(step, done, total)``: the step is an ``N_``-marked message for the reader.

Seeding takes about a minute (thousands of orders played through the real services, each step a
commit), so ``shangliao demo`` shows which step it is on and how far the orders are."""
STEP_CATALOG = N_("Products and customers")
STEP_ORDERS = N_("Orders of the last 90 days")
STEP_TIDY = N_("Archiving finished orders, sample chats")


def _no_progress(step: str, done: int, total: int) -> None:
    pass


def _make_catalog(rt: Runtime, actor: Actor) -> list[tuple[int, bool]]:
    """Returns ``(variant_id, presale)`` for every SKU."""
    sellable = []
    with rt.db.write() as session:
        for n, (name, options, variants, presale, threshold) in enumerate(CATALOG, start=1):
            product = do_create_product(
                session,
                actor,
                ProductIn(
                    name=name,
                    options=options,
                    presale=presale,
                    low_stock_threshold=threshold,
                    description=f"{name}，店主精选。",
                    variants=[
                        {
                            "sku": f"D{n:02d}-{i + 1:02d}",
                            "spec": dict(zip(options, values, strict=True)),
                            "price": price,
                            "on_hand": stock,
                        }
                        for i, (values, price, stock) in enumerate(variants)
                    ],
                ),
            )
            session.flush()
            sellable += [(v.id, presale) for v in product.variants]
    return sellable


def _make_customers(rt: Runtime, actor: Actor, rng: random.Random, count: int) -> list[int]:
    ids, used = [], set()
    with rt.db.write() as session:
        while len(ids) < count:
            name, phone = names.person(rng), names.mobile(rng)
            if phone in used:
                continue
            used.add(phone)
            tags = rng.sample(["老客户", "批发", "VIP", "团购", "同城"], k=rng.choice((0, 0, 1, 2)))
            customer = do_create_customer(
                session,
                rt.keyring,
                actor,
                CustomerIn(
                    name=name,
                    phones=[phone],
                    tags=tags,
                    addresses=[{**names.address(rng, name, phone), "label": "家", "is_default": True}],
                ),
            )
            ids.append(customer.id)
    return ids


# The shop's order tags and their colours (设置 → 流程设置), some orders carrying one.
ORDER_TAGS = {"加急": "red", "大客户": "orange", "赠品": "green", "预售": "purple"}


def _make_tag_palette(rt: Runtime, actor: Actor) -> None:
    with rt.db.write() as session:
        do_set_palette(
            session, actor, Palette(items=[PaletteTag(name=n, color=c) for n, c in ORDER_TAGS.items()])
        )


# How far an order of a given age (days) has got: older orders are mostly finished.
def _destiny(rng: random.Random, age_days: float) -> list[str]:
    if rng.random() < 0.01:
        return ["draft"]
    if rng.random() < 0.08:
        return ["cancel"]
    path = ["confirm", "prepare", "ship", "complete"]
    if age_days > 10:
        return path
    reached = min(len(path), int(age_days / 2.5) + rng.choice((0, 0, 1)))
    return path[:reached]


def _play(rt: Runtime, actor: Actor, rng: random.Random, order_id: int, steps: list[str], start, now) -> None:
    moment = start
    for step in steps:
        moment += timedelta(hours=rng.uniform(1, 30))
        if moment > now:  # that step has not happened yet
            return
        clock.freeze(moment)
        try:
            _step(rt, actor, rng, order_id, step)
        except ShangliaoError:  # e.g. a presale item cannot ship before its stock arrives
            return
        finally:
            clock.freeze(None)


def _step(rt: Runtime, actor: Actor, rng: random.Random, order_id: int, step: str) -> None:
    with rt.db.write() as session:
        order = access_order(session, actor, order_id, lock=True)
        if step == "confirm" and rng.random() < 0.9:
            method = rng.choice(["wechat", "wechat", "alipay", "bank_transfer"])
            actions.do_mark_paid(
                session, actor, order, method=method, amount=order.total, reference="", note="", paid_at=None
            )
        params = {}
        if step == "ship":
            params = {
                "carrier_code": rng.choice(CARRIERS),
                "tracking_number": f"{rng.randrange(10**12):012d}",
            }
        elif step == "cancel":
            params = {"reason": rng.choice([c for c in CANCEL_REASONS if c != OTHER])}
        actions.do_transition(session, actor, order, step, params)
        if rng.random() < 0.08:
            actions.do_add_note(session, actor, order, rng.choice(NOTES))


def _place(
    rt: Runtime, actor: Actor, rng: random.Random, sellable, customer_id: int, draft: bool, tags: list[str]
) -> int | None:
    lines = rng.sample(sellable, k=rng.choice((1, 1, 1, 2, 2, 3)))
    body = OrderCreate(
        customer_id=customer_id,
        tags=tags,
        draft=draft,
        remark=rng.choice(REMARKS),
        channel=rng.choice(["manual", "manual", "chat", "product_link"]),
        shipping_fee=rng.choice((0, 0, 800, 1200)),
        items=[
            {"variant_id": variant_id, "quantity": rng.choice((1, 1, 1, 2, 3))} for variant_id, _ in lines
        ],
    )
    try:
        with rt.db.write() as session:
            order = do_create_order(session, rt.keyring, actor, body).row
            if rng.random() < 0.05:  # the customer asked for another address before it shipped
                moved = access_order(session, actor, order.id)
                src = names.address(rng, order.customer_name, names.mobile(rng))
                edits.do_change_address(session, rt.keyring, actor, moved, Address(**src))
            return order.id
    except ShangliaoError:  # sold out: real shops see that too
        return None


def seed_demo(
    rt: Runtime,
    *,
    slug: str,
    username: str,
    password: str,
    customers: int = 200,
    orders: int = 3000,
    days: int = 90,
    seed: int = 2026,
    progress: DemoProgress = _no_progress,
) -> None:
    rng = random.Random(seed)
    progress(STEP_CATALOG, 0, 2)
    with rt.db.write() as session:
        shop = do_create_shop(session, slug=slug, name="小满杂货铺", timezone=rt.settings.default_timezone)
        owner = auth_service.do_create_staff(
            session, shop.id, username=username, password=password, display_name="店主小满"
        )
        actor = Actor(
            shop.id, owner.id, "owner", permissions_for("owner"), "session", "店主小满", shop.timezone
        )
    sellable = _make_catalog(rt, actor)
    progress(STEP_CATALOG, 1, 2)
    customer_ids = _make_customers(rt, actor, rng, customers)
    progress(STEP_CATALOG, 2, 2)
    _make_tag_palette(rt, actor)
    # Tags drawn apart from the orders' own dice, so the rest of the demo stays as it was.
    tagger = random.Random(seed + 14)
    now = clock.now()
    starts = sorted(now - timedelta(days=rng.uniform(0, days)) for _ in range(orders))
    try:
        for done, start in enumerate(starts):
            progress(STEP_ORDERS, done, orders)
            clock.freeze(start)
            steps = _destiny(rng, (now - start).total_seconds() / 86400)
            tags = tagger.sample(list(ORDER_TAGS), k=tagger.choice((0, 0, 0, 0, 1)))
            order_id = _place(
                rt, actor, rng, sellable, rng.choice(customer_ids), draft=steps == ["draft"], tags=tags
            )
            if order_id is not None and steps != ["draft"]:
                _play(rt, actor, rng, order_id, steps, start, now)
    finally:
        clock.freeze(None)
    progress(STEP_ORDERS, orders, orders)
    progress(STEP_TIDY, 0, 3)
    # Orders finished two months ago are out of the way, as a tidy merchant would have them.
    archive_older_than(rt.db, actor.shop_id, now - timedelta(days=60))
    progress(STEP_TIDY, 1, 3)
    seed_chats(rt, actor, customer_ids[:5], now)
    progress(STEP_TIDY, 2, 3)
    seed_team(rt, actor, username, password)
    seed_payments(rt, actor)  # bank details and a 收款码 for the customer's side
    _read_old_notifications(rt, actor.shop_id, now - timedelta(days=1))
    # Ninety days of orders wait in the log for the stats consumer: the dashboard opens on them at
    # once instead (the consumer goes on from the head; the orders were dated with a moved clock).
    rebuild(rt.db, actor.shop_id)
    progress(STEP_TIDY, 3, 3)


def _read_old_notifications(rt: Runtime, shop_id: int, before: datetime) -> None:
    """Ninety days of orders told the owner of each one; a merchant who worked through them has
    read all but the last day's, so the demo opens with a badge that means something."""
    with rt.db.write() as session:
        session.execute(
            update(Notification)
            .where(
                Notification.shop_id == shop_id,
                Notification.created_at < before,
                Notification.read_at.is_(None),
            )
            .values(read_at=clock.now())
        )
