"""Events per second through the rules engine against the same effects applied directly, in one
run (issue 14).

    .venv/bin/python bench/automation.py [--orders 2000]

1. Seeds a fresh SQLite data folder (``synchronous=FULL``): a shop, a product X and another, the
   four presets switched on (付款后自动确认, X → tag + note, tracking when shipped, the 2-hour unpaid
   reminder), then ``--orders`` orders with the worker off: half of them with X, every one paid in
   full, a quarter shipped by hand after confirming. The clock is then moved 2 hours on, so the
   reminders' delayed runs are due too (and find the orders paid).
2. The folder is copied twice.
3. ``engine_eps``: on copy A, a worker drains the log (pinned to core 0): every trigger event
   through the rules consumer, the delayed runs through the queue.
4. ``direct_eps``: on copy B, one unit of work per trigger event, in order, calling the functions
   the rules call (``do_transition``, ``do_tag`` + ``do_add_note``, ``do_send_checkpoint``).
5. The two copies must hold the same effects (statuses, tags, notes, tracking messages), or the run
   fails. It prints ``ratio=engine_eps/direct_eps`` (target >= 0.5).
6. The lag (``automation_lag.py``): a real server with its inline worker polling every second gets
   ``--rate`` payments a second for ``--seconds`` seconds; each order's lag is its payment's commit
   to the rule's confirm. Run woken by commits, then polling only. It prints ``lag_p99_ms`` and
   ``lag_p99_ratio`` = p99 / the 1 s poll (target <= 2) for each.

``docs/benchmarks.md`` records results. Never run in CI.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

import automation_lag
from bench_shop import shop_with_owner
from harness import LOAD_CORE, SERVER_CORE, BenchFailure, warn_if_busy
from raw_order import copy_database
from shangliao.auth.actor import Actor
from shangliao.automation import presets
from shangliao.automation.engine import NAME, triggers_of
from shangliao.catalog.schemas import ProductIn
from shangliao.catalog.service import do_create_product
from shangliao.chat.checkpoints import do_send_checkpoint
from shangliao.chat.models import Message
from shangliao.config import Settings
from shangliao.core import clock
from shangliao.customers.schemas import CustomerIn
from shangliao.customers.service import do_create_customer
from shangliao.events.models import EventLogEntry
from shangliao.jobs import periodic
from shangliao.jobs.models import ConsumerCursor
from shangliao.jobs.worker import Worker
from shangliao.orders import actions
from shangliao.orders.create import do_create_order
from shangliao.orders.models import Order, OrderNote, OrderTag
from shangliao.orders.schemas import OrderCreate
from shangliao.runtime import Runtime
from shangliao.storage import migrate

SLUG = "bench-auto"
SHIP = {"carrier_code": "SF", "tracking_number": "SF1234567890"}
ADDRESS = {"receiver": "张三", "phone": "13812345678", "province": "浙江省", "city": "杭州市",
           "district": "西湖区", "detail": "文三路100号"}  # fmt: skip
TAG, NOTE = "易碎", "加气泡膜"


SECRET_KEY = "22" * 32


def runtime_for(folder: Path) -> Runtime:
    settings = Settings(data_dir=folder, secret_key=SECRET_KEY, sqlite_synchronous="FULL", worker="off")
    return Runtime.build(settings)


def seed(folder: Path, orders: int) -> int:
    """The shop, its presets and ``orders`` orders; returns how many trigger events they made."""
    rt = runtime_for(folder)
    migrate.upgrade(rt.settings.resolved_database_url)
    with rt.db.write() as session:
        shop, actor, _token = shop_with_owner(session, SLUG, "自动化测速", "bench")
        stocked = orders * 2
        products = [
            do_create_product(
                session,
                actor,
                ProductIn(name=name, variants=[{"sku": sku, "price": 3000, "on_hand": stocked}]),
            )
            for name, sku in (("帆布包", "BAG-1"), ("马克杯", "MUG-1"))
        ]
        customer = do_create_customer(
            session, rt.keyring, actor, CustomerIn(name="李四", phones=["13700001111"])
        )
        session.flush()
        x, other = (p.variants[0].id for p in products)
        x_product, customer_id = products[0].id, customer.id
    with rt.db.write() as session:
        for key, body in (
            ("paid_confirm", presets.PresetIn()),
            ("product_tag_note", presets.PresetIn(product_ids=[x_product], tag=TAG, note=NOTE)),
            ("shipped_tracking", presets.PresetIn()),
            ("unpaid_reminder", presets.PresetIn()),
        ):
            presets.do_switch_on_preset(session, actor, key, body, "zh_CN")
    for i in range(orders):
        with rt.db.write() as session:
            lines = [{"variant_id": x if i % 2 == 0 else other, "quantity": 1}]
            body = OrderCreate(items=lines, address=ADDRESS, customer_id=customer_id)
            row = do_create_order(session, rt.keyring, actor, body).row
            order = session.get(Order, row.id)
            actions.do_mark_paid(
                session,
                actor,
                order,
                method="wechat",
                amount=order.total,
                reference="",
                note="",
                paid_at=None,
            )
        if i % 4 == 0:  # shipped by hand: confirmed first (the engine would too, but later)
            with rt.db.write() as session:
                order = session.get(Order, row.id)
                actions.do_transition(session, actor, order, "confirm", {})
                actions.do_transition(session, actor, order, "ship", dict(SHIP))
    with rt.db.read() as session:
        events = session.scalars(select(EventLogEntry).where(EventLogEntry.shop_id == shop.id)).all()
        triggers = sum(1 for e in events if triggers_of(e))
    rt.close()
    return triggers


def drain_engine(folder: Path) -> float:
    rt = runtime_for(folder)
    periodic.TASKS.clear()  # the rules only
    worker = Worker(rt)
    started = time.perf_counter()
    while worker.run_once() or behind(rt):
        pass
    elapsed = time.perf_counter() - started
    rt.close()
    return elapsed


def behind(rt: Runtime) -> bool:
    with rt.db.read() as session:
        cursor = session.scalar(select(ConsumerCursor.last_seq).where(ConsumerCursor.consumer == NAME))
        head = session.scalar(select(func.max(EventLogEntry.seq)))
        return (cursor or 0) < (head or 0)


def apply_directly(folder: Path) -> float:
    """The same effects, one unit per trigger event, by calling the rules' functions."""
    rt = runtime_for(folder)
    with rt.db.read() as session:
        cursor = session.scalar(select(ConsumerCursor.last_seq).where(ConsumerCursor.consumer == NAME))
        shop_id = session.scalar(select(ConsumerCursor.shop_id).where(ConsumerCursor.consumer == NAME))
    started = time.perf_counter()
    seq = cursor
    while True:
        with rt.db.write() as session:
            event = session.scalar(
                select(EventLogEntry)
                .where(EventLogEntry.shop_id == shop_id, EventLogEntry.seq > seq)
                .order_by(EventLogEntry.seq)
                .limit(1)
            )
            if event is None:
                break
            seq = event.seq
            fired = triggers_of(event)
            if not fired:
                continue
            order = session.get(Order, event.entity_id) if event.entity_type == "order" else None
            actor = Actor.automation(shop_id, "bench", "Asia/Shanghai")
            session.info["automation_depth"] = int((event.data or {}).get("auto") or 0) + 1
            if "order_paid" in fired and order.status == "pending" and order.paid_amount >= order.total:
                actions.do_transition(session, actor, order, "confirm", {})
            if event.type == "order.created" and any(i.sku == "BAG-1" for i in order.items):
                actions.do_tag(session, actor, order, [TAG], [])
                actions.do_add_note(session, actor, order, NOTE)
            if "order_shipped" in fired:
                do_send_checkpoint(session, rt.keyring, actor, order, "tracking")
    elapsed = time.perf_counter() - started
    rt.close()
    return elapsed


def effects(folder: Path) -> tuple:
    rt = runtime_for(folder)
    with rt.db.read() as session:
        statuses = tuple(
            session.execute(select(Order.status, func.count()).group_by(Order.status).order_by(Order.status))
        )
        tags = session.scalar(select(func.count()).select_from(OrderTag).where(OrderTag.tag == TAG))
        notes = session.scalar(select(func.count()).select_from(OrderNote).where(OrderNote.body == NOTE))
        cards = session.scalar(select(func.count()).select_from(Message).where(Message.kind == "order_card"))
    rt.close()
    return tuple(map(tuple, statuses)), tags, notes, cards


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20.0, help="payments a second (lag half)")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long they come (lag half)")
    parser.add_argument("--lag-only", action="store_true")
    args = parser.parse_args()
    warn_if_busy()
    root = Path(tempfile.mkdtemp(prefix="bench-automation-"))
    try:
        if not args.lag_only:
            engine_half(root, args.orders)
        lag_half(root, args.rate, args.seconds)
        return 0
    except BenchFailure as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        clock.freeze(None)
        shutil.rmtree(root, ignore_errors=True)


def engine_half(root: Path, orders: int) -> None:
    os.sched_setaffinity(0, {int(SERVER_CORE)})
    try:
        seeded = root / "seed"
        triggers = seed(seeded, orders)
        clock.freeze(clock.now() + timedelta(hours=2, minutes=1))  # the reminders are due
        copies = {}
        for name in ("engine", "direct"):
            # The data folder as it is (keys and all), the database through SQLite's backup.
            shutil.copytree(seeded, root / name, ignore=shutil.ignore_patterns("shangliao.db*"))
            copy_database(seeded / "shangliao.db", root / name / "shangliao.db")
            copies[name] = root / name
        engine_s = drain_engine(copies["engine"])
        direct_s = apply_directly(copies["direct"])
        engine_effects, direct_effects = effects(copies["engine"]), effects(copies["direct"])
        if engine_effects != direct_effects:
            raise BenchFailure(f"the effects differ: engine {engine_effects}, direct {direct_effects}")
        engine_eps, direct_eps = triggers / engine_s, triggers / direct_s
        print(f"trigger_events={triggers} effects={engine_effects}")
        print(f"engine_eps={engine_eps:.0f} direct_eps={direct_eps:.0f}")
        print(f"ratio={engine_eps / direct_eps:.2f}")
    finally:
        clock.freeze(None)


def lag_half(root: Path, rate: float, seconds: float) -> None:
    """The server on its core, this process (the paced client) on the load core."""
    os.sched_setaffinity(0, {int(LOAD_CORE)})
    seeded = root / "lag-seed"
    token, orders = automation_lag.seed(seeded, runtime_for, ADDRESS, int(rate * seconds))
    print(f"lag: {len(orders)} payments at {rate:.0f}/s, worker poll {automation_lag.POLL_SECONDS:.0f} s")
    for wake in (True, False):
        lag = automation_lag.measure(
            root, seeded, runtime_for, SECRET_KEY, orders, token, rate=rate, wake=wake
        )
        mode = "woken" if wake else "polling_only"
        print(
            f"{mode}: orders={lag.count} lag_p50_ms={lag.p50_ms:.0f} lag_p99_ms={lag.p99_ms:.0f} "
            f"lag_max_ms={lag.max_ms:.0f} lag_p99_ratio={lag.p99_ms / 1000 / automation_lag.POLL_SECONDS:.2f}"
        )


if __name__ == "__main__":
    sys.exit(main())
