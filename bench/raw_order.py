"""The database half of the order-create floor: the same SQL transaction through the bare sqlite3 driver.

One thread, one connection, WAL and ``synchronous=FULL`` like the product's writer, looping for a fixed
time. The statements are the ones Shangliao's order-create request sends (``order_create.py --verbose``
prints both lists; the bench flags any difference), including one multi-row ``INSERT … RETURNING``
for the order items. The credential lookup runs inside the write transaction here, since one
connection does everything. No Python beyond building parameters runs in the loop: this is the cost
of the SQL and the fsyncs alone.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from bench_shop import connect
from shangliao.orders import search_terms

LOOKUP = (
    "SELECT credentials.kind, credentials.scopes, credentials.expires_at, staff.id, staff.shop_id, "
    "staff.role, staff.display_name, shops.timezone FROM credentials "
    "JOIN staff ON staff.id = credentials.staff_id JOIN shops ON shops.id = staff.shop_id "
    "WHERE credentials.token_hash = ? AND credentials.revoked_at IS NULL AND staff.active IS 1"
)
LOAD_VARIANTS = (
    "SELECT variants.id, variants.product_id, variants.sku, variants.spec, variants.price, "
    "variants.on_hand, variants.reserved, variants.backorder, variants.active, products.name, "
    "products.active AS active_1, products.presale, products.low_stock_threshold "
    "FROM variants JOIN products ON products.id = variants.product_id "
    "WHERE variants.shop_id = ? AND variants.id IN ({marks})"
)
BUMP_COUNTER = (
    "UPDATE shop_counters SET event_seq=(shop_counters.event_seq + ?), order_day=?, "
    "order_seq=CASE WHEN (shop_counters.order_day = ?) THEN shop_counters.order_seq + ? ELSE ? END "
    "WHERE shop_counters.shop_id = ? RETURNING event_seq, order_seq"
)
INSERT_ORDER = (
    "INSERT INTO orders (number, status, channel, customer_id, customer_name, address_enc, phone_hash, "
    "phone_last4_hash, items_total, shipping_fee, discount, total, paid_amount, refunded_amount, remark, "
    "assignee_id, version, idempotency_key, idempotency_hash, submitted_at, shop_id, created_at, "
    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)
INSERT_TERMS = "INSERT INTO order_search_terms (shop_id, term, created_us, order_id) VALUES (?, ?, ?, ?)"
MOVE_STOCK = (
    "UPDATE variants SET on_hand=(variants.on_hand + ?), reserved=(variants.reserved + ?), "
    "backorder=(variants.backorder + ?), updated_at=? WHERE variants.id = ? AND variants.shop_id = ? "
    "AND variants.on_hand + ? >= variants.reserved + ? AND variants.reserved + ? >= ? "
    "AND variants.backorder + ? >= ?"
)
INSERT_MOVEMENTS = (
    "INSERT INTO stock_movements (variant_id, kind, on_hand_delta, reserved_delta, backorder_delta, "
    "reason, order_id, actor_id, created_at, shop_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_ITEMS = (
    "INSERT INTO order_items (order_id, variant_id, product_id, sku, name, spec, unit_price, quantity, "
    "amount, backorder, position, shop_id) VALUES {rows} RETURNING id, position"
)
INSERT_TIMELINE = (
    "INSERT INTO order_events (order_id, kind, actor_type, actor_id, from_status, to_status, data, "
    "created_at, shop_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_EVENT = (
    "INSERT INTO event_log (seq, type, entity_type, entity_id, data, created_at, shop_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class RawOrder:
    """What one order carries, worked out once outside the timed loop (encryption is not SQL)."""

    token_hash: bytes
    shop_id: int
    staff_id: int
    variant_ids: list[int]
    order_day: str
    customer_name: str
    address_enc: bytes
    phone_hash: bytes
    phone_last4_hash: bytes


@cache
def statements(lines: int) -> tuple[tuple[str, bool], ...]:
    """``(sql, executemany)`` for one transaction, in order, as the loop below sends them."""
    return (
        ("BEGIN IMMEDIATE", False),
        (LOOKUP, False),
        (LOAD_VARIANTS.format(marks=", ".join("?" * lines)), False),
        (BUMP_COUNTER, False),
        (INSERT_ORDER, False),
        (INSERT_TERMS, True),
        (MOVE_STOCK, True),
        (INSERT_MOVEMENTS, True),
        (INSERT_ITEMS.format(rows=", ".join(["(" + ", ".join("?" * 12) + ")"] * lines)), False),
        (INSERT_TIMELINE, False),
        (INSERT_EVENT, False),
        ("COMMIT", False),
    )


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (WAL included), via the backup API."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _stamp() -> str:
    # How SQLAlchemy stores our UTC datetimes in SQLite.
    return datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def place_order(conn: sqlite3.Connection, o: RawOrder) -> int:
    """One order of one unit per variant, the way Shangliao's create path writes it."""
    sql = statements(len(o.variant_ids))  # built once, then cached
    now = _stamp()
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute(LOOKUP, (o.token_hash,)).fetchone() is None:
            raise RuntimeError("the bench token is unknown")
        variants = conn.execute(sql[2][0], (o.shop_id, *sorted(o.variant_ids))).fetchall()
        by_id = {v[0]: v for v in variants}
        rows, total = [], 0
        for position, vid in enumerate(o.variant_ids):
            v = by_id[vid]
            spec_label = " / ".join(str(x) for x in json.loads(v[3] or "{}").values())
            total += v[4]
            rows.append((vid, v[1], v[2], v[9], spec_label, v[4], 1, v[4], 0, position, o.shop_id))
        last_seq, day_seq = conn.execute(
            BUMP_COUNTER, (1, o.order_day, o.order_day, 1, 1, o.shop_id)
        ).fetchone()
        number = f"{o.order_day}{day_seq:05d}"
        (order_id,) = conn.execute(INSERT_ORDER, (
            number, "pending", "manual", None, o.customer_name, o.address_enc, o.phone_hash,
            o.phone_last4_hash, total, 0, 0, total, 0, 0, "", None, 1, None, None, now, o.shop_id, now, now,
        )).fetchone()  # fmt: skip
        # The search terms: the same rows the product writes (computing them is parameter building).
        created_us = search_terms.micros(datetime.fromisoformat(now).replace(tzinfo=UTC))
        conn.executemany(INSERT_TERMS, [
            (o.shop_id, term, created_us, order_id) for term in search_terms.terms_for(number, o.customer_name)
        ])  # fmt: skip
        moved = conn.executemany(
            MOVE_STOCK, [(0, 1, 0, now, vid, o.shop_id, 0, 1, 1, 0, 0, 0) for vid in sorted(o.variant_ids)]
        ).rowcount
        if moved != len(o.variant_ids):
            raise RuntimeError("stock ran out: give the bench products more stock")
        conn.executemany(INSERT_MOVEMENTS, [
            (vid, "reserve", 0, 1, 0, "order placed", order_id, o.staff_id, now, o.shop_id)
            for vid in o.variant_ids
        ])  # fmt: skip
        params = [p for row in rows for p in (order_id, *row)]
        item_ids = conn.execute(sql[8][0], params).fetchall()
        if len(item_ids) != len(rows):
            raise RuntimeError("order items were not all inserted")
        conn.execute(INSERT_TIMELINE, (
            order_id, "created", "api", o.staff_id, None, "pending",
            json.dumps({"channel": "manual", "total": total}), now, o.shop_id,
        ))  # fmt: skip
        conn.execute(INSERT_EVENT, (
            last_seq, "order.created", "order", order_id,
            json.dumps({"number": number, "status": "pending", "total": total}), now, o.shop_id,
        ))  # fmt: skip
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return order_id


@dataclass(frozen=True)
class RawResult:
    rps: float
    user_ms: float  # CPU per order, in this process
    system_ms: float


def orders_per_second(db_path: Path, order: RawOrder, *, seconds: float, warmup: float = 0.5) -> RawResult:
    """Place orders back to back for ``seconds`` (after a short warm-up)."""
    conn = connect(db_path)
    try:
        deadline = time.perf_counter() + warmup
        while time.perf_counter() < deadline:
            place_order(conn, order)
        count, start, cpu = 0, time.perf_counter(), os.times()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            place_order(conn, order)
            count += 1
        elapsed, used = time.perf_counter() - start, os.times()
        return RawResult(
            count / elapsed, (used.user - cpu.user) * 1000 / count, (used.system - cpu.system) * 1000 / count
        )
    finally:
        conn.close()
