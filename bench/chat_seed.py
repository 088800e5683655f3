"""The chat bench's data: a seeded data folder, and the database half of its floor (``raw_mps``).

``seed`` makes a migrated SQLite data folder with one shop, its owner's API token and N customers,
each with a visitor token (the shop page's cookie) and a conversation. They are made directly
through the services (``do_register_visitor``): the shop page's HTTP introduction is rate limited
per address, as it should be, and a bench is one address.

``messages_per_second`` is the raw transaction: what one customer's text message costs the database
when sent straight through the bare ``sqlite3`` driver, one thread, one connection configured like
the product's writer (WAL, ``synchronous=FULL``, foreign keys). The statements are the ones
``chat/service.py::do_send`` and ``events/log.py::record`` send, in the same order: look up the
client id (a retry), bump the conversation's counter row, read the previous message's hash, insert
the message (with its chain hash, and a signed checkpoint every ``chain.CHECKPOINT_EVERY``
messages of a conversation), bump the shop's event counter, insert the event-log row. By default
one transaction per message, as a server without group commit would; ``batch`` puts that many
messages in one transaction, as Shangliao's group commit does under load.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event

from bench_shop import connect, shop_with_owner
from shangliao.chat import chain
from shangliao.chat import service as chat
from shangliao.config import Settings
from shangliao.core.crypto import Keyring
from shangliao.runtime import Runtime
from shangliao.storage import migrate
from shangliao.storefront.visitors import do_register_visitor

SLUG = "bench-chat"
BODY = "你好，请问这件T恤还有M码的红色吗？今天下单能发货吗"

BY_CLIENT_ID = (
    "SELECT messages.id, messages.sender_type, messages.sender_id FROM messages "
    "WHERE messages.conversation_id = ? AND messages.client_id = ?"
)
# A send with a client id first locks its conversation (two copies of one retry must not both miss).
LOCK = (
    "SELECT conversations.id, conversations.shop_id, conversations.customer_id FROM conversations "
    "WHERE conversations.id = ? AND conversations.shop_id = ?"
)
NEXT_SEQ = (
    "UPDATE conversations SET status=coalesce(?, conversations.status), "
    "message_count=(conversations.message_count + ?), last_message_at=?, "
    "staff_unread=(conversations.staff_unread + ?), customer_unread=(conversations.customer_unread + ?), "
    "updated_at=? WHERE conversations.id = ? AND conversations.shop_id = ? RETURNING message_count, customer_id"
)
PREVIOUS = "SELECT messages.hash FROM messages WHERE messages.conversation_id = ? AND messages.seq = ?"
INSERT_MESSAGE = (
    "INSERT INTO messages (conversation_id, seq, kind, sender_type, sender_id, client_id, body, data, hash, "
    "created_at, shop_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)
INSERT_CHECKPOINT = (
    "INSERT INTO chain_checkpoints (conversation_id, seq, hash, signature, created_at, shop_id) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
BUMP_EVENTS = (
    "UPDATE shop_counters SET event_seq=(shop_counters.event_seq + ?) WHERE shop_counters.shop_id = ? "
    "RETURNING event_seq, order_seq"
)
INSERT_EVENT = (
    "INSERT INTO event_log (seq, type, entity_type, entity_id, data, created_at, shop_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# What one message sends, in order (BEGIN IMMEDIATE and COMMIT around it; the checkpoint only on
# every CHECKPOINT_EVERY-th message of a conversation).
STATEMENTS = (LOCK, BY_CLIENT_ID, NEXT_SEQ, PREVIOUS, INSERT_MESSAGE, BUMP_EVENTS, INSERT_EVENT)


@dataclass(frozen=True)
class Customer:
    cookie: str  # the raw visitor token, the shop page's cookie
    customer_id: int
    conversation_id: int


@dataclass(frozen=True)
class Seeded:
    slug: str
    shop_id: int
    token: str  # the owner's API token (staff sockets)
    customers: list[Customer]


def seed(data_dir: Path, customers: int) -> Seeded:
    """A migrated data folder: one shop, its owner's token, ``customers`` visitors and conversations."""
    settings = Settings(data_dir=data_dir, database_url=None, secret_key=None, log_sql=False)
    rt = Runtime.build(settings)
    try:
        migrate.upgrade(settings.resolved_database_url)
        with rt.db.write() as session:
            shop, _actor, token = shop_with_owner(session, SLUG, "压测聊天小店", "bench chat")
            made = []
            for i in range(customers):
                cookie, guest = do_register_visitor(session, rt.keyring, shop.id, f"顾客{i}", f"139{i:08d}")
                made.append(Customer(cookie, guest.customer_id, guest.conversation_id))
        return Seeded(SLUG, shop.id, token, made)
    finally:
        rt.close()


def capture_send(data_dir: Path, seeded: Seeded) -> list[str]:
    """Every statement one customer message sends through the product's own ``do_send`` (in-process,
    on a throwaway conversation's second message, caches warm), to check the raw list against."""
    settings = Settings(data_dir=data_dir, database_url=None, secret_key=None, log_sql=False)
    rt = Runtime.build(settings)
    sent: list[str] = []

    def record(_conn, _cursor, sql, _params, _context, _many):
        sent.append(" ".join(sql.split()))

    customer = seeded.customers[-1]
    try:
        for n in range(2):
            sent.clear()
            if n == 1:
                event.listen(rt.db.writer, "before_cursor_execute", record)
            with rt.db.write() as session:
                chat.do_send(
                    session, rt.keyring, seeded.shop_id, customer.conversation_id, sender_type="customer",
                    sender_id=customer.customer_id, kind="text", body=BODY, client_id=f"capture-{n:04d}",
                )  # fmt: skip
        event.remove(rt.db.writer, "before_cursor_execute", record)
    finally:
        rt.close()
    return sent


@dataclass
class _Message:
    """What ``chain.link`` hashes: the same fields as the product's ``Sent``."""

    conversation_id: int
    seq: int
    kind: str
    sender_type: str
    sender_id: int
    client_id: str
    body: str
    data: dict
    created_at: datetime


def send_one(conn: sqlite3.Connection, keyring: Keyring, shop_id: int, c: Customer, client_id: str) -> None:
    """One customer text message, statement for statement as ``do_send`` + ``record`` write it."""
    now = datetime.now(UTC)
    stamp = now.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")  # SQLAlchemy's form
    conn.execute(LOCK, (c.conversation_id, shop_id)).fetchall()
    if conn.execute(BY_CLIENT_ID, (c.conversation_id, client_id)).fetchall():
        raise RuntimeError("a client id was used twice")
    ((seq, _),) = conn.execute(
        NEXT_SEQ, ("open", 1, stamp, 1, 0, stamp, c.conversation_id, shop_id)
    ).fetchall()
    previous = conn.execute(PREVIOUS, (c.conversation_id, seq - 1)).fetchall() if seq > 1 else []
    m = _Message(c.conversation_id, seq, "text", "customer", c.customer_id, client_id, BODY, {}, now)
    digest = chain.link(previous[0][0] if previous else chain.GENESIS, m)
    ((message_id,),) = conn.execute(INSERT_MESSAGE, (
        c.conversation_id, seq, "text", "customer", c.customer_id, client_id, BODY, json.dumps({}), digest,
        stamp, shop_id,
    )).fetchall()  # fmt: skip
    if seq % chain.CHECKPOINT_EVERY == 0:
        signature = chain.checkpoint_signature(keyring, shop_id, c.conversation_id, seq, digest)
        conn.execute(INSERT_CHECKPOINT, (c.conversation_id, seq, digest, signature, stamp, shop_id))
    ((event_seq, _),) = conn.execute(BUMP_EVENTS, (1, shop_id)).fetchall()
    data = {"conversation_id": c.conversation_id, "seq": seq, "kind": "text", "sender_type": "customer"}
    conn.executemany(INSERT_EVENT, [(event_seq, "message.created", "message", message_id, json.dumps(data),
                                     stamp, shop_id)])  # fmt: skip


@dataclass(frozen=True)
class RawResult:
    mps: float
    messages: int
    cpu_ms: float  # this thread's CPU per message (user + system)
    p50_ms: float  # one transaction, BEGIN to COMMIT (fsync included)
    p99_ms: float


def messages_per_second(
    db_path: Path, data_dir: Path, seeded: Seeded, *, seconds: float, prefix: str, batch: int = 1,
    max_messages: int = 1_000_000,
) -> RawResult:  # fmt: skip
    """Send messages round-robin over the customers' conversations for ``seconds`` (or
    ``max_messages``), ``batch`` per transaction."""
    keyring = Keyring.from_settings(Settings(data_dir=data_dir, database_url=None, secret_key=None))
    conn = connect(db_path)
    customers, n, took = seeded.customers, 0, []
    try:
        started, cpu = time.perf_counter(), os.times()
        deadline = started + seconds
        while (began := time.perf_counter()) < deadline and n < max_messages:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for _ in range(batch):
                    send_one(conn, keyring, seeded.shop_id, customers[n % len(customers)], f"{prefix}{n:08d}")
                    n += 1
                conn.execute("COMMIT")
                took.append(time.perf_counter() - began)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        elapsed, used = time.perf_counter() - started, os.times()
    finally:
        conn.close()
    cpu_s = (used.user - cpu.user) + (used.system - cpu.system)
    took.sort()
    return RawResult(
        n / elapsed,
        n,
        cpu_s * 1000 / max(n, 1),
        took[len(took) // 2] * 1000,
        took[int(len(took) * 0.99)] * 1000,
    )
