"""A large synthetic shop (``shangliao seed --orders N``) written with bulk Core inserts.

Going through the services would take hours at a million orders, so this writes the same rows
the services would — orders, items, timeline, event log, ledger — in batches, and settles the
aggregates (stock, customer statistics, counters) once at the end so every invariant still holds:
the ledger sums to the stock, the event sequence has no gaps, numbers follow the daily sequence.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, insert, select, update

from shangliao.auth import service as auth_service
from shangliao.auth.actor import Actor
from shangliao.auth.permissions import permissions_for
from shangliao.catalog.models import Variant
from shangliao.catalog.schemas import ProductIn
from shangliao.catalog.service import do_create_product
from shangliao.core import clock
from shangliao.customers.models import Customer, CustomerAddress, CustomerPhone
from shangliao.customers.pii import (
    CUSTOMER_ADDRESSES,
    Address,
    encrypt_address,
    encrypt_phone,
    phone_hashes,
)
from shangliao.demo import names
from shangliao.events.models import EventLogEntry
from shangliao.inventory.models import StockMovement
from shangliao.orders.models import Order, OrderEvent, OrderItem
from shangliao.orders.numbers import format_number, order_day
from shangliao.runtime import Runtime
from shangliao.shops.models import ShopCounter
from shangliao.shops.service import do_create_shop

BATCH = 2000
DAYS = 90
STATUS_WEIGHTS = {
    "pending": 4,
    "confirmed": 4,
    "preparing": 3,
    "shipped": 8,
    "completed": 70,
    "cancelled": 8,
    "draft": 1,
}
HELD = {"pending", "confirmed", "preparing"}
SHIPPED = {"shipped", "completed"}
BULK_PASSWORD = "shangliao-demo"


def _owner_actor(rt: Runtime, slug: str) -> Actor:
    with rt.db.write() as session:
        shop = do_create_shop(
            session, slug=slug, name=f"压测店铺 {slug[-6:]}", timezone=rt.settings.default_timezone
        )
        owner = auth_service.do_create_staff(
            session, shop.id, username=f"{slug}-owner", password=BULK_PASSWORD
        )
        return Actor(
            shop.id, owner.id, "owner", permissions_for("owner"), "session", owner.display_name, shop.timezone
        )


def _catalog(rt: Runtime, actor: Actor, rng: random.Random) -> list[tuple[int, int, str, str, str]]:
    """50 products with 1-4 variants; returns (variant_id, product_id, sku, name, spec label, price)."""
    out = []
    with rt.db.write() as session:
        for p in range(50):
            sizes = ["S", "M", "L", "XL"][: rng.randint(1, 4)]
            options = ["尺码"] if len(sizes) > 1 else []
            product = do_create_product(
                session,
                actor,
                ProductIn(
                    name=f"商品{p + 1:03d}",
                    options=options,
                    variants=[
                        {
                            "sku": f"B{p:03d}-{s}",
                            "spec": {"尺码": s} if options else {},
                            "price": rng.randrange(990, 39900, 100),
                            "on_hand": 10**7,
                        }
                        for s in sizes
                    ],
                ),
            )
            session.flush()
            out += [(v.id, product.id, v.sku, product.name, v.spec_label, v.price) for v in product.variants]
    return out


def _customers(
    rt: Runtime, actor: Actor, rng: random.Random, count: int
) -> list[tuple[int, str, bytes, bytes, bytes]]:
    """Returns (id, name, address blob for orders, phone hash, last-4 hash) per customer."""
    now, kr, out, used = clock.now(), rt.keyring, [], set()
    with rt.db.write() as session:
        while len(out) < count:
            name, phone = names.person(rng), names.mobile(rng)
            if phone in used:
                continue
            used.add(phone)
            cid = session.execute(
                insert(Customer).returning(Customer.id),
                {
                    "shop_id": actor.shop_id,
                    "name": name,
                    "note": "",
                    "blocked": False,
                    "order_count": 0,
                    "total_spent": 0,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                },
            ).scalar_one()
            full, last4 = phone_hashes(kr, phone)
            session.execute(
                insert(CustomerPhone),
                {
                    "shop_id": actor.shop_id,
                    "customer_id": cid,
                    "phone_enc": encrypt_phone(kr, phone),
                    "phone_hash": full,
                    "last4_hash": last4,
                    "is_primary": True,
                },
            )
            address = Address(**names.address(rng, name, phone))
            session.execute(
                insert(CustomerAddress),
                {
                    "shop_id": actor.shop_id,
                    "customer_id": cid,
                    "label": "家",
                    "is_default": True,
                    "data_enc": encrypt_address(kr, address, table=CUSTOMER_ADDRESSES),
                    "created_at": now,
                    "updated_at": now,
                },
            )
            out.append((cid, name, encrypt_address(kr, address), full, last4))
    return out


def seed_bulk(rt: Runtime, *, orders: int, progress: Callable[[int], None], seed: int = 7) -> str:
    rng = random.Random(seed)
    slug = f"bulk-{uuid.uuid4().hex[:8]}"
    actor = _owner_actor(rt, slug)
    variants = _catalog(rt, actor, rng)
    people = _customers(rt, actor, rng, max(50, orders // 15))
    statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    now = clock.now()
    moments = sorted(now - timedelta(seconds=rng.uniform(0, DAYS * 86400)) for _ in range(orders))
    held, shipped = Counter(), Counter()
    with rt.db.read() as session:  # creating the catalog already used some event numbers
        seq = session.scalar(select(ShopCounter.event_seq).where(ShopCounter.shop_id == actor.shop_id))
    day, day_seq, done = "", 0, 0
    for start in range(0, orders, BATCH):
        order_rows, lines_per_order = [], []
        for moment in moments[start : start + BATCH]:
            d = order_day(moment, actor.timezone)
            day_seq = day_seq + 1 if d == day else 1
            day = d
            status = rng.choices(statuses, weights)[0]
            cid, cname, address_blob, phone_full, phone_last4 = rng.choice(people)
            lines = [(v, rng.choice((1, 1, 2, 3))) for v in rng.sample(variants, k=rng.choice((1, 1, 2, 3)))]
            items_total = sum(v[5] * q for v, q in lines)
            total = items_total + rng.choice((0, 0, 800))
            paid = total if status in SHIPPED or (status in HELD and rng.random() < 0.7) else 0
            order_rows.append(
                {
                    "shop_id": actor.shop_id,
                    "number": format_number(d, day_seq),
                    "status": status,
                    "channel": rng.choice(("manual", "chat", "product_link", "quote")),
                    "customer_id": cid,
                    "customer_name": cname,
                    "address_enc": address_blob,
                    "phone_hash": phone_full,
                    "phone_last4_hash": phone_last4,
                    "items_total": items_total,
                    "shipping_fee": total - items_total,
                    "discount": 0,
                    "total": total,
                    "paid_amount": paid,
                    "refunded_amount": 0,
                    "remark": "",
                    "version": 1,
                    "created_at": moment,
                    "updated_at": moment,
                    "submitted_at": None if status == "draft" else moment,
                    "paid_at": moment if paid else None,
                    "carrier_code": "SF" if status in SHIPPED else None,
                    "tracking_number": f"SF{rng.randrange(10**12):012d}" if status in SHIPPED else None,
                    "cancel_reason": "Customer changed their mind" if status == "cancelled" else None,
                }
            )
            lines_per_order.append(lines)
            for v, q in lines:
                if status in HELD:
                    held[v[0]] += q
                elif status in SHIPPED:
                    shipped[v[0]] += q
        with rt.db.write() as session:
            # Rows come back in any order; numbers are unique, so they pair ids with rows.
            by_number = dict(
                (n, i)
                for i, n in session.execute(
                    insert(Order.__table__).returning(Order.id, Order.number), order_rows
                )
            )
            ids = [by_number[r["number"]] for r in order_rows]
            items, timeline, events = [], [], []
            for order_id, row, lines in zip(ids, order_rows, lines_per_order, strict=True):
                for position, (v, q) in enumerate(lines):
                    items.append(
                        {
                            "shop_id": actor.shop_id,
                            "order_id": order_id,
                            "variant_id": v[0],
                            "product_id": v[1],
                            "sku": v[2],
                            "name": v[3],
                            "spec": v[4],
                            "unit_price": v[5],
                            "quantity": q,
                            "amount": v[5] * q,
                            "backorder": 0,
                            "position": position,
                        }
                    )
                first = "draft" if row["status"] == "draft" else "pending"
                timeline.append(
                    {
                        "shop_id": actor.shop_id,
                        "order_id": order_id,
                        "kind": "created",
                        "actor_type": "staff",
                        "actor_id": actor.staff_id,
                        "from_status": None,
                        "to_status": first,
                        "data": {},
                        "created_at": row["created_at"],
                    }
                )
                if row["status"] != first:
                    timeline.append(
                        {
                            "shop_id": actor.shop_id,
                            "order_id": order_id,
                            "kind": "status",
                            "actor_type": "staff",
                            "actor_id": actor.staff_id,
                            "from_status": first,
                            "to_status": row["status"],
                            "data": {},
                            "created_at": row["created_at"],
                        }
                    )
                seq += 1
                events.append(
                    {
                        "shop_id": actor.shop_id,
                        "seq": seq,
                        "type": "order.created",
                        "entity_type": "order",
                        "entity_id": order_id,
                        "data": {"number": row["number"], "status": first, "total": row["total"]},
                        "created_at": row["created_at"],
                    }
                )
            session.execute(insert(OrderItem), items)
            session.execute(insert(OrderEvent), timeline)
            session.execute(insert(EventLogEntry), events)
        done += len(order_rows)
        progress(done)
    _settle(rt, actor, held, shipped, day, day_seq, seq)
    return slug


def _settle(
    rt: Runtime, actor: Actor, held: Counter, shipped: Counter, day: str, day_seq: int, seq: int
) -> None:
    """Stock, ledger, customer statistics and counters that the batches above imply."""
    now = clock.now()
    with rt.db.write() as session:
        moves = [
            {
                "shop_id": actor.shop_id,
                "variant_id": v,
                "kind": "reserve",
                "on_hand_delta": 0,
                "reserved_delta": q,
                "backorder_delta": 0,
                "reason": "seed",
                "created_at": now,
            }
            for v, q in held.items()
        ]
        moves += [
            {
                "shop_id": actor.shop_id,
                "variant_id": v,
                "kind": "deduct",
                "on_hand_delta": -q,
                "reserved_delta": 0,
                "backorder_delta": 0,
                "reason": "seed",
                "created_at": now,
            }
            for v, q in shipped.items()
        ]
        if moves:
            session.execute(insert(StockMovement), moves)
        for v in set(held) | set(shipped):
            session.execute(
                update(Variant)
                .where(Variant.id == v)
                .values(reserved=Variant.reserved + held[v], on_hand=Variant.on_hand - shipped[v])
            )
        placed = select(func.count(Order.id)).where(Order.customer_id == Customer.id, Order.status != "draft")
        session.execute(
            update(Customer)
            .where(Customer.shop_id == actor.shop_id)
            .values(
                order_count=placed.scalar_subquery(),
                total_spent=select(func.coalesce(func.sum(Order.paid_amount), 0))
                .where(Order.customer_id == Customer.id)
                .scalar_subquery(),
                first_order_at=select(func.min(Order.created_at))
                .where(Order.customer_id == Customer.id)
                .scalar_subquery(),
                last_order_at=select(func.max(Order.created_at))
                .where(Order.customer_id == Customer.id)
                .scalar_subquery(),
            )
        )
        session.execute(
            update(ShopCounter)
            .where(ShopCounter.shop_id == actor.shop_id)
            .values(event_seq=seq, order_day=day, order_seq=day_seq)
        )
