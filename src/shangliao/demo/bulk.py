"""A large synthetic shop (``shangliao seed --orders N``) written with bulk inserts.

Going through the services would take hours at a million orders, so this writes the same rows
the services would — orders, their search terms, items, timeline, event log, ledger — in big
batches, and settles the aggregates (stock, customer statistics, counters) once at the end so
every invariant still holds: the ledger sums to the stock, the event sequence has no gaps,
numbers follow the daily sequence, each order has the search terms ``orders/create.py`` gives it,
and the tab counts (kept by trigger, ``orders/counts.py``) equal a real count.

What makes it fast (a million orders: ~800 orders/s before, ~7,700/s now on SQLite and
~4,300/s on PostgreSQL; docs/benchmarks.md):

- rows are tuples handed to the driver (SQLite's ``executemany``, PostgreSQL's ``COPY``) instead
  of dicts through SQLAlchemy, whose per-row work cost more than SQLite's; ids are reserved up
  front, so no ``RETURNING`` is needed to pair items, timeline and terms with their order;
- what repeats is computed once: a customer's encrypted address, phone hashes and name terms
  (every order of a customer ships to their address), a moment's stored form, the day's number;
- on SQLite the writer connection gets a large page cache for the load, so the many indexes of
  ``orders`` and the search terms are updated in memory between commits; batches are large
  (one commit each, the progress bar moves after each).
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Connection, Table, bindparam, func, insert, select, text, update
from sqlalchemy.engine import Dialect

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
from shangliao.orders.models import Order, OrderEvent, OrderItem, OrderSearchTerm
from shangliao.orders.numbers import format_number
from shangliao.orders.search_terms import micros, name_terms, number_end_term, number_start_terms
from shangliao.runtime import Runtime
from shangliao.shops.models import ShopCounter
from shangliao.shops.service import do_create_shop
from shangliao.stats.rebuild import rebuild
from shangliao.storage.database import Database
from shangliao.storage.types import UTCDateTime

BATCH = 50_000
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
CHANNELS = ("manual", "chat", "product_link", "quote")
# The timestamp each status sets (as ``actions._STAMP``): a seeded order reached its status at once.
STAMPS = {
    "pending": (),
    "confirmed": ("confirmed_at",),
    "preparing": ("confirmed_at",),
    "shipped": ("confirmed_at", "shipped_at"),
    "completed": ("confirmed_at", "shipped_at", "completed_at"),
    "cancelled": ("cancelled_at",),
    "draft": (),
}
BULK_PASSWORD = "shangliao-demo"
# SQLite page cache for the load, in KiB (negative cache_size): the working set of the indexes.
BULK_CACHE_KIB = 1_048_576

ORDER_COLUMNS = (
    "id", "shop_id", "number", "status", "channel", "customer_id", "customer_name", "address_enc",
    "phone_hash", "phone_last4_hash", "items_total", "shipping_fee", "discount", "total",
    "paid_amount", "refunded_amount", "remark", "version", "created_at", "updated_at",
    "submitted_at", "paid_at", "confirmed_at", "shipped_at", "completed_at", "cancelled_at",
    "carrier_code", "tracking_number", "cancel_reason", "shipping_fee_overridden", "trade_seq",
    "parcels_shipped", "aftersales_open",
)  # fmt: skip
ITEM_COLUMNS = (
    "shop_id", "order_id", "variant_id", "product_id", "sku", "name", "spec", "unit_price",
    "quantity", "amount", "backorder", "position",
)  # fmt: skip
TIMELINE_COLUMNS = (
    "shop_id", "order_id", "kind", "actor_type", "actor_id", "from_status", "to_status", "data",
    "created_at",
)  # fmt: skip
EVENT_COLUMNS = ("shop_id", "seq", "type", "entity_type", "entity_id", "data", "created_at")
TERM_COLUMNS = ("shop_id", "term", "created_us", "order_id")


# --- writing many rows ----------------------------------------------------------------------------


class _Rows:
    """``INSERT`` of many rows given as tuples in ``columns`` order.

    ``ids`` names the columns that hold a row's position in the batch (0, 1, …) instead of the id
    of its order: the batch is made before its ids are known, outside the transaction that
    reserves them and writes it (which keeps SQLite's write lock short). On SQLite the tuples go
    straight to the driver's ``executemany`` (values already in stored form, see
    :class:`_Stored`), the first id added by the statement itself, so no row is rebuilt. On
    PostgreSQL they go through ``COPY … FROM STDIN`` (row triggers fire for it as for INSERT),
    ids looked up.
    """

    def __init__(
        self, conn: Connection, table: Table, columns: Sequence[str], ids: tuple[str, ...] = ()
    ) -> None:
        self.conn, self.table, self.columns, self.ids = conn, table, tuple(columns), ids
        self.sqlite = conn.dialect.name == "sqlite"

    def put(self, rows: list[tuple], reserved: Sequence[int] = ()) -> None:
        if not rows:
            return
        if not self.sqlite:
            self._copy(rows, reserved)
            return
        # An int from our own reservation, not input: safe to write into the statement.
        first = int(reserved[0]) if self.ids else 0
        marks = ", ".join(f"? + {first}" if c in self.ids else "?" for c in self.columns)
        sql = f"INSERT INTO {self.table.name} ({', '.join(self.columns)}) VALUES ({marks})"
        cursor = self.conn.connection.cursor()
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()

    def _copy(self, rows: list[tuple], reserved: Sequence[int]) -> None:
        at = [self.columns.index(name) for name in self.ids]
        sql = f"COPY {self.table.name} ({', '.join(self.columns)}) FROM STDIN"
        cursor = self.conn.connection.cursor()
        try:
            with cursor.copy(sql) as copy:
                for row in rows:
                    if at:
                        row = list(row)
                        for i in at:
                            row[i] = reserved[row[i]]
                    copy.write_row(row)
        finally:
            cursor.close()


class _Stored:
    """Values in the form the database stores them: computed once, reused by every row.

    SQLite gets the text SQLAlchemy would have written (its own bind processors); PostgreSQL gets
    what ``COPY`` takes: aware datetimes, JSON as text.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.sqlite = dialect.name == "sqlite"
        self._moment = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        self._json = JSON().dialect_impl(dialect).bind_processor(dialect)

    def moment(self, value: datetime | None) -> Any:
        return self._moment(value) if self.sqlite and value is not None and self._moment else value

    def json(self, value: dict) -> str:
        return self._json(value) if self.sqlite and self._json else json.dumps(value)

    @staticmethod
    def created_event(number: str, status: str, total: int) -> str:
        """An order.created event's data, as ``json.dumps`` writes it (digits and ASCII words need
        no escaping), without its cost per order."""
        return f'{{"number": "{number}", "status": "{status}", "total": {total}}}'


def _reserve_ids(conn: Connection, table: Table, n: int) -> list[int]:
    """``n`` ids for new rows of ``table``, so children can name their parent without RETURNING.

    SQLite: past the largest id, under the write lock this transaction holds (BEGIN IMMEDIATE).
    PostgreSQL: from the column's own sequence, safe beside concurrent inserts.
    """
    if conn.dialect.name == "sqlite":
        last = conn.execute(select(func.max(table.c.id))).scalar() or 0
        return list(range(last + 1, last + n + 1))
    return list(
        conn.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table.name, "n": n},
        ).scalars()
    )


@contextmanager
def _bulk_pragmas(db: Database) -> Iterator[None]:
    """A large page cache on SQLite's writer connection for the load, the default back after."""
    if not db.is_sqlite:
        yield
        return
    with db.writer.connect() as conn:
        raw = conn.connection.driver_connection
        (previous,) = raw.execute("PRAGMA cache_size").fetchone()
        raw.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
        raw.execute("PRAGMA temp_store=MEMORY")
    try:
        yield
    finally:
        with db.writer.connect() as conn:
            raw = conn.connection.driver_connection
            raw.execute(f"PRAGMA cache_size={previous}")
            raw.execute("PRAGMA temp_store=DEFAULT")


# --- the shop, its catalog and customers ----------------------------------------------------------


@dataclass(frozen=True)
class _Product:
    variant_id: int
    product_id: int
    sku: str
    name: str
    spec: str
    price: int


@dataclass(frozen=True)
class _Person:
    id: int
    name: str
    address_enc: bytes  # encrypted for the orders table: every order ships to the same address
    phone_hash: bytes
    last4_hash: bytes
    terms: tuple[str, ...]  # the name's search terms, the same on each of their orders


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


def _catalog(rt: Runtime, actor: Actor, rng: random.Random) -> list[_Product]:
    """50 products with 1-4 variants each, through the catalog service."""
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
            out += [
                _Product(v.id, product.id, v.sku, product.name, v.spec_label, v.price)
                for v in product.variants
            ]
    return out


def _customers(rt: Runtime, actor: Actor, rng: random.Random, count: int) -> list[_Person]:
    """``count`` customers, each with a phone and a default address, in batches."""
    kr, shop_id, out, used = rt.keyring, actor.shop_id, [], set()
    for start in range(0, count, BATCH):
        batch = []
        while len(batch) < min(BATCH, count - start):
            name, phone = names.person(rng), names.mobile(rng)
            if phone not in used:
                used.add(phone)
                batch.append((name, phone, Address(**names.address(rng, name, phone))))
        with rt.db.write() as session:
            conn = session.connection()
            now = _Stored(conn.dialect).moment(clock.now())
            ids = _reserve_ids(conn, Customer.__table__, len(batch))
            customers, phones, addresses = [], [], []
            for cid, (name, phone, address) in zip(ids, batch, strict=True):
                full, last4 = phone_hashes(kr, phone)
                customers.append((cid, shop_id, name, "", False, 0, 0, 1, now, now))
                phones.append((shop_id, cid, encrypt_phone(kr, phone), full, last4, True))
                blob = encrypt_address(kr, address, table=CUSTOMER_ADDRESSES)
                addresses.append((shop_id, cid, "家", True, blob, now, now))
                terms = tuple(sorted(name_terms(name)))
                out.append(_Person(cid, name, encrypt_address(kr, address), full, last4, terms))
            _Rows(conn, Customer.__table__, (
                "id", "shop_id", "name", "note", "blocked", "order_count", "total_spent", "version",
                "created_at", "updated_at",
            )).put(customers)  # fmt: skip
            _Rows(conn, CustomerPhone.__table__, (
                "shop_id", "customer_id", "phone_enc", "phone_hash", "last4_hash", "is_primary",
            )).put(phones)  # fmt: skip
            _Rows(conn, CustomerAddress.__table__, (
                "shop_id", "customer_id", "label", "is_default", "data_enc", "created_at", "updated_at",
            )).put(addresses)  # fmt: skip
    return out


# --- orders ---------------------------------------------------------------------------------------


@dataclass
class _Totals:
    """What the batches imply for stock, customers and counters, settled at the end."""

    seq: int  # the last event sequence number used
    held: Counter = field(default_factory=Counter)
    shipped: Counter = field(default_factory=Counter)
    # customer id -> [orders placed, paid, first placed, last placed]
    customers: dict[int, list] = field(default_factory=dict)
    day: str = ""
    day_seq: int = 0


class _Days:
    """The shop's local day (``yyMMdd``) of ascending moments, worked out once per day, with the
    search terms every number of the day starts with."""

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self.day, self.until = "", datetime.min.replace(tzinfo=UTC)
        self.terms: list[str] = []

    def of(self, moment: datetime) -> str:
        if moment >= self.until:
            local = moment.astimezone(self.zone)
            self.day = local.strftime("%y%m%d")
            midnight = datetime.combine(
                local.date() + timedelta(days=1), datetime.min.time(), tzinfo=self.zone
            )
            self.until = midnight.astimezone(UTC)
            self.terms = number_start_terms(self.day)
        return self.day


@dataclass(frozen=True)
class _Basket:
    """The lines of one order: picked once into a pool, then reused by many orders."""

    lines: tuple[tuple, ...]  # order_items columns from variant_id on
    items_total: int
    quantities: tuple[tuple[int, int], ...]  # (variant id, quantity)


def _baskets(rng: random.Random, variants: list[_Product], count: int = 4096) -> list[_Basket]:
    """``count`` baskets of 1-3 distinct variants, 1-3 units each (one line most often)."""
    out = []
    for _ in range(count):
        picked = rng.sample(variants, k=rng.choice((1, 1, 2, 3)))
        sized = [(v, rng.choice((1, 1, 2, 3))) for v in picked]
        lines = tuple(
            (v.variant_id, v.product_id, v.sku, v.name, v.spec, v.price, q, v.price * q, 0, position)
            for position, (v, q) in enumerate(sized)
        )
        total = sum(v.price * q for v, q in sized)
        out.append(_Basket(lines, total, tuple((v.variant_id, q) for v, q in sized)))
    return out


def _moments(rng: random.Random, now: datetime, count: int) -> list[datetime]:
    """``count`` creation moments over the last ``DAYS`` days, oldest first, whole microseconds."""
    span = DAYS * 86_400 * 10**6
    now_us = micros(now)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    offsets = sorted((int(rng.random() * span) for _ in range(count)), reverse=True)
    return [epoch + timedelta(microseconds=now_us - o) for o in offsets]


@dataclass
class _Batch:
    """One transaction's rows, each order named by its position in the batch (ids come later)."""

    orders: list[tuple] = field(default_factory=list)
    items: list[tuple] = field(default_factory=list)
    timeline: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)
    terms: list[tuple] = field(default_factory=list)


def _make_batch(
    stored: _Stored,
    actor: Actor,
    rng: random.Random,
    moments: list[datetime],
    days: _Days,
    people: list[_Person],
    baskets: list[_Basket],
    totals: _Totals,
) -> _Batch:
    """The rows of one batch of orders (pure Python, before the transaction that writes them)."""
    shop_id, staff_id, n = actor.shop_id, actor.staff_id, len(moments)
    statuses = rng.choices(list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()), k=n)
    buyers = rng.choices(people, k=n)
    picked = rng.choices(baskets, k=n)
    channels = rng.choices(CHANNELS, k=n)
    fees = rng.choices((0, 0, 800), k=n)
    no_data = stored.json({})
    out = _Batch()
    for at, (moment, status, person, basket) in enumerate(
        zip(moments, statuses, buyers, picked, strict=True)
    ):
        day = days.of(moment)
        totals.day_seq = 1 if day != totals.day else totals.day_seq + 1
        totals.day = day
        number = format_number(day, totals.day_seq)
        when = stored.moment(moment)
        items_total = basket.items_total
        total = items_total + fees[at]
        held, shipped = status in HELD, status in SHIPPED
        paid = total if shipped or (held and rng.random() < 0.7) else 0
        stamps = STAMPS[status]
        out.orders.append((
            at, shop_id, number, status, channels[at], person.id, person.name, person.address_enc,
            person.phone_hash, person.last4_hash, items_total, fees[at], 0, total, paid, 0, "", 1,
            when, when, None if status == "draft" else when, when if paid else None,
            when if "confirmed_at" in stamps else None, when if "shipped_at" in stamps else None,
            when if "completed_at" in stamps else None, when if "cancelled_at" in stamps else None,
            "SF" if shipped else None, f"SF{rng.randrange(10**12):012d}" if shipped else None,
            "changed_mind" if status == "cancelled" else None,  # a code of orders/cancel_reasons.py
            # A shipped order keeps its tracking on the order only: the bulk shop has no parcel rows
            # (shipping/parcels.py), which the measured order list and search never read.
            False, 0, 0, 0,
        ))  # fmt: skip
        out.items += [(shop_id, at, *line) for line in basket.lines]
        if held or shipped:
            moved = totals.held if held else totals.shipped
            for variant_id, q in basket.quantities:
                moved[variant_id] += q
        first = "draft" if status == "draft" else "pending"
        out.timeline.append((shop_id, at, "created", "staff", staff_id, None, first, no_data, when))
        if status != first:
            out.timeline.append((shop_id, at, "status", "staff", staff_id, first, status, no_data, when))
        totals.seq += 1
        data = stored.created_event(number, first, total)
        out.events.append((shop_id, totals.seq, "order.created", "order", at, data, when))
        # The order's terms, as orders/search_terms.py gives them: the day's, its end, its name's.
        us = micros(moment)
        out.terms += [(shop_id, t, us, at) for t in days.terms]
        out.terms.append((shop_id, number_end_term(number[-4:]), us, at))
        out.terms += [(shop_id, t, us, at) for t in person.terms]
        if status != "draft":
            stats = totals.customers.get(person.id)
            if stats is None:
                totals.customers[person.id] = [1, paid, moment, moment]
            else:
                stats[0] += 1
                stats[1] += paid
                stats[3] = moment
    # In index order: neighbouring inserts land on the same pages of the term index.
    out.terms.sort()
    return out


def _write_batch(rt: Runtime, batch: _Batch) -> None:
    """One transaction: reserve the orders' ids, then write every row of the batch."""
    with rt.db.write() as session:
        conn = session.connection()
        ids = _reserve_ids(conn, Order.__table__, len(batch.orders))
        _Rows(conn, Order.__table__, ORDER_COLUMNS, ("id",)).put(batch.orders, ids)
        _Rows(conn, OrderItem.__table__, ITEM_COLUMNS, ("order_id",)).put(batch.items, ids)
        _Rows(conn, OrderEvent.__table__, TIMELINE_COLUMNS, ("order_id",)).put(batch.timeline, ids)
        _Rows(conn, EventLogEntry.__table__, EVENT_COLUMNS, ("entity_id",)).put(batch.events, ids)
        _Rows(conn, OrderSearchTerm.__table__, TERM_COLUMNS, ("order_id",)).put(batch.terms, ids)


def seed_bulk(rt: Runtime, *, orders: int, progress: Callable[[int], None], seed: int = 7) -> str:
    """A new shop with ``orders`` synthetic orders; returns its slug. ``progress(done)`` per batch."""
    rng = random.Random(seed)
    slug = f"bulk-{uuid.uuid4().hex[:8]}"
    actor = _owner_actor(rt, slug)
    with _bulk_pragmas(rt.db):
        variants = _catalog(rt, actor, rng)
        people = _customers(rt, actor, rng, max(50, orders // 15))
        moments = _moments(rng, clock.now(), orders)
        with rt.db.read() as session:  # creating the catalog already used some event numbers
            seq = session.scalar(select(ShopCounter.event_seq).where(ShopCounter.shop_id == actor.shop_id))
        totals, days = _Totals(seq=seq), _Days(actor.timezone)
        stored = _Stored(rt.db.writer.dialect)
        baskets = _baskets(rng, variants)
        batches = [moments[start : start + BATCH] for start in range(0, orders, BATCH)]

        done = 0
        for moments_of_batch in batches:
            batch = _make_batch(stored, actor, rng, moments_of_batch, days, people, baskets, totals)
            _write_batch(rt, batch)
            done += len(moments_of_batch)
            progress(done)
        _settle(rt, actor, totals)
    _analyze(rt.db)
    # The rows above were written past the services, their events with them: the dashboard's
    # figures are made from the orders in one go, and the stats consumer goes on from the head.
    rebuild(rt.db, actor.shop_id)
    return slug


def _analyze(db: Database) -> None:
    """Give the query planner statistics of the new data.

    SQLite keeps none until ANALYZE runs: without them, a list filtered by customer walks the
    shop's orders by date instead of reading the customer's few from their index (measured at a
    million orders: 540 ms against 2 ms). ``analysis_limit`` keeps it to a sample, under a second.
    PostgreSQL's autovacuum would get there later; the big tables are analysed now.
    """
    with db.write() as session:
        conn = session.connection()
        if db.is_sqlite:
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("ANALYZE")
        else:
            for table in ("orders", "order_search_terms", "order_items", "customers", "customer_phones"):
                conn.exec_driver_sql(f"ANALYZE {table}")


def _settle(rt: Runtime, actor: Actor, totals: _Totals) -> None:
    """Stock, ledger, customer statistics and counters that the batches above imply."""
    now = clock.now()
    shop_id = actor.shop_id
    with rt.db.write() as session:
        moves = [
            {
                "shop_id": shop_id,
                "variant_id": v,
                "kind": "reserve",
                "on_hand_delta": 0,
                "reserved_delta": q,
                "backorder_delta": 0,
                "reason": "seed",
                "created_at": now,
            }
            for v, q in totals.held.items()
        ]
        moves += [
            {
                "shop_id": shop_id,
                "variant_id": v,
                "kind": "deduct",
                "on_hand_delta": -q,
                "reserved_delta": 0,
                "backorder_delta": 0,
                "reason": "seed",
                "created_at": now,
            }
            for v, q in totals.shipped.items()
        ]
        if moves:
            session.execute(insert(StockMovement), moves)
        for v in set(totals.held) | set(totals.shipped):
            session.execute(
                update(Variant)
                .where(Variant.id == v)
                .values(
                    reserved=Variant.reserved + totals.held[v], on_hand=Variant.on_hand - totals.shipped[v]
                )
            )
        customers = Customer.__table__
        if totals.customers:
            session.connection().execute(
                update(customers)
                .where(customers.c.id == bindparam("cid"))
                .values(
                    order_count=bindparam("placed"),
                    total_spent=bindparam("spent"),
                    first_order_at=bindparam("first"),
                    last_order_at=bindparam("last"),
                ),
                [
                    {"cid": cid, "placed": placed, "spent": spent, "first": first, "last": last}
                    for cid, (placed, spent, first, last) in totals.customers.items()
                ],
            )
        session.execute(
            update(ShopCounter)
            .where(ShopCounter.shop_id == shop_id)
            .values(event_seq=totals.seq, order_day=totals.day, order_seq=totals.day_seq)
        )
