"""The lag half of ``bench/automation.py``: from a payment's commit to its rule's effect's commit,
on a real server with its inline worker, under a steady stream of payments.

A folder is seeded with a shop, the 付款后自动确认 preset and ``rate × seconds`` pending orders.
``shangliao serve`` runs on the server core (``SHANGLIAO_WORKER_POLL_SECONDS=1``); a paced client
on the load core records one full payment per order, ``rate`` a second for ``seconds`` seconds.
The lag of an order is its confirm's timeline row (``order_events.created_at``, written by the
rule) minus its ``order.paid`` event's ``event_log.created_at``: both stamped inside their own
transactions, a few milliseconds before their commits. Run once with the worker woken by commits
and once polling only (``SHANGLIAO_WORKER_WAKE=off``, what a process sees of another's commits
without Redis).
"""

from __future__ import annotations

import http.client
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select

from bench_shop import shop_with_owner
from harness import BenchFailure, serve, server_env
from raw_order import copy_database
from shangliao.automation import presets
from shangliao.catalog.schemas import ProductIn
from shangliao.catalog.service import do_create_product
from shangliao.events.models import EventLogEntry
from shangliao.orders.create import do_create_order
from shangliao.orders.models import Order, OrderEvent
from shangliao.orders.schemas import OrderCreate
from shangliao.storage import migrate

POLL_SECONDS = 1.0
SETTLE_SECONDS = 15.0  # after the last payment, the longest wait for the last confirm


@dataclass(frozen=True)
class Lag:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def seed(folder: Path, runtime_for, address: dict, orders: int) -> tuple[str, list[tuple[int, int]]]:
    """The shop with 付款后自动确认 on and ``orders`` pending orders: the token, (id, total) each."""
    rt = runtime_for(folder)
    migrate.upgrade(rt.settings.resolved_database_url)
    with rt.db.write() as session:
        _shop, actor, token = shop_with_owner(session, "bench-lag", "自动化延迟", "bench")
        product = do_create_product(
            session,
            actor,
            ProductIn(name="帆布包", variants=[{"sku": "LAG-1", "price": 3000, "on_hand": orders}]),
        )
        session.flush()
        variant = product.variants[0].id
        presets.do_switch_on_preset(session, actor, "paid_confirm", presets.PresetIn(), "zh_CN")
    made = []
    for _ in range(orders):
        with rt.db.write() as session:
            body = OrderCreate(items=[{"variant_id": variant, "quantity": 1}], address=address)
            row = do_create_order(session, rt.keyring, actor, body).row
            made.append((row.id, session.get(Order, row.id).total))
    rt.close()
    return token, made


def pay_paced(url: str, token: str, orders: list[tuple[int, int]], rate: float) -> None:
    """One payment per order at ``rate`` a second, on one keep-alive connection; bounded by the
    schedule (a late answer delays the next send, never adds one)."""
    host = urlsplit(url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    start = time.monotonic()
    for i, (order_id, total) in enumerate(orders):
        wait = start + i / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        body = json.dumps({"method": "wechat", "amount": total})
        conn.request("POST", f"/api/v1/orders/{order_id}/payments", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 201:
            raise BenchFailure(f"payment on order {order_id} answered {response.status}")
    conn.close()


def lags(runtime_for, folder: Path, order_ids: list[int]) -> list[float]:
    rt = runtime_for(folder)
    try:
        with rt.db.read() as session:
            paid = dict(
                session.execute(
                    select(EventLogEntry.entity_id, EventLogEntry.created_at).where(
                        EventLogEntry.type == "order.paid"
                    )
                ).all()
            )
            confirmed = dict(
                session.execute(
                    select(OrderEvent.order_id, OrderEvent.created_at).where(
                        OrderEvent.to_status == "confirmed", OrderEvent.actor_type == "automation"
                    )
                ).all()
            )
    finally:
        rt.close()
    missing = [i for i in order_ids if i not in confirmed or i not in paid]
    if missing:
        raise BenchFailure(f"{len(missing)} orders were not confirmed by the rule (first: {missing[:5]})")
    return [(confirmed[i] - paid[i]).total_seconds() * 1000 for i in order_ids]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(
    root: Path, seeded: Path, runtime_for, secret_key: str, orders: list[tuple[int, int]], token: str,
    *, rate: float, wake: bool,
) -> Lag:  # fmt: skip
    """One run on a fresh copy of ``seeded``: serve, pay paced, wait for the confirms, measure."""
    folder = root / f"lag-{'wake' if wake else 'poll'}"
    shutil.copytree(seeded, folder, ignore=shutil.ignore_patterns("shangliao.db*"))
    copy_database(seeded / "shangliao.db", folder / "shangliao.db")
    env = server_env({
        "SHANGLIAO_DATA_DIR": str(folder), "SHANGLIAO_SECRET_KEY": secret_key,
        "SHANGLIAO_SQLITE_SYNCHRONOUS": "FULL", "SHANGLIAO_WORKER": "inline",
        "SHANGLIAO_WORKER_POLL_SECONDS": str(POLL_SECONDS), "SHANGLIAO_WORKER_WAKE": "true" if wake else "false",
    })  # fmt: skip
    ids = [order_id for order_id, _ in orders]
    with serve("shangliao.app:serving_app", env=env, log_path=root / f"{folder.name}.log") as server:
        pay_paced(server.url, token, orders, rate)
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline and not _all_confirmed(runtime_for, folder, ids):
            time.sleep(0.5)
    found = lags(runtime_for, folder, ids)
    return Lag(len(found), percentile(found, 0.5), percentile(found, 0.99), max(found))


def _all_confirmed(runtime_for, folder: Path, ids: list[int]) -> bool:
    rt = runtime_for(folder)
    try:
        with rt.db.read() as session:
            pending = session.scalar(
                select(Order.id).where(Order.id.in_(ids), Order.status != "confirmed").limit(1)
            )
            return pending is None
    finally:
        rt.close()
