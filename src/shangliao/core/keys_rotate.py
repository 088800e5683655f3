"""``shangliao keys rotate``: every value moved to the ring's current key, a batch at a time.

Each pass walks one table by primary key. A batch is read in a read unit, re-encrypted outside
any transaction, then written in one short write unit (``Database.write``: on SQLite a
``BEGIN IMMEDIATE`` on the command's writer, which the server's writer waits for within its busy
timeout, milliseconds for a batch of 500), so the shop keeps working while it runs. A row is
written only if it still holds what was read (the server may have changed it meanwhile, under the
current key already). At every moment each value is under the old key or the new one, both in the
ring, so nothing is unreadable; a crash (or Ctrl+C) loses at most the batch in flight, and running
the command again skips what is already done and finishes.

Keyed hashes move with their row: a phone's hashes are recomputed from the phone in the same
write as its new ciphertext, and the devices and codes that named the old hash are changed to the
new one in that same transaction, so a device's claim keeps matching its phone. Until the last
row is moved, searches look for the hashes of every key in the ring (``pii.phone_search``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Row, Table, func, select, update
from sqlalchemy.orm import Session

from shangliao.chat import card_keys
from shangliao.chat.models import Visitor
from shangliao.core.crypto import Keyring
from shangliao.core.keys_data import (
    ADDRESS_CHANGED,
    CARDS_LABEL,
    COLUMNS,
    SIGNED,
    TIMELINE_SEALS,
    Usage,
    usage,
)
from shangliao.customers.pii import ORDERS, PHONE_CONTEXT, address_context, phone_hashes
from shangliao.exports.models import QUERY_CONTEXT as EXPORT_QUERY_CONTEXT
from shangliao.exports.models import ExportJob
from shangliao.invoices.models import InvoiceRequest
from shangliao.invoices.service import EMAIL_CONTEXT
from shangliao.orders.models import OrderEvent
from shangliao.orders.timeline import sealed, unseal
from shangliao.payments.methods import SECRETS_CONTEXT
from shangliao.storage.database import Database
from shangliao.storefront.models import PhoneCode
from shangliao.webhooks.models import SECRET_CONTEXT as WEBHOOK_SECRET_CONTEXT
from shangliao.webhooks.models import WebhookSubscription

BATCH = 500
ROTATED_ACT = "keys.rotated"
RETIRED_ACT = "keys.retired"

# Columns added later name their tables themselves (their passes below).
_PHONES, _ADDRESSES, _ORDERS, _DATA_KEYS, _PAYMENT_METHODS, *_ = (c.table for c in COLUMNS)
_ORDER_CONTEXT = address_context(ORDERS)

# (shop_id, old full hash) -> new full hash, for the devices and codes of a batch's phones.
HashMoves = dict[tuple[int, bytes], bytes]


@dataclass(frozen=True)
class Pass:
    """One table's walk: which rows, what to read, how a row is rewritten."""

    label: str
    table: Table
    columns: tuple[str, ...]
    rewrite: Callable[[Keyring, Row], dict[str, Any] | None]  # None: already under the current key
    guard: str | None = None  # written only while this column still holds what was read
    where: Callable[[], ColumnElement[bool]] | None = None

    def select(self, after: int, limit: int):
        t = self.table
        stmt = select(t.c.id, *(t.c[c] for c in self.columns)).where(t.c.id > after)
        if self.where is not None:
            stmt = stmt.where(self.where())
        return stmt.order_by(t.c.id).limit(limit)

    def count(self):
        stmt = select(func.count()).select_from(self.table)
        return stmt.where(self.where()) if self.where is not None else stmt


def _phone(keyring: Keyring, row: Row) -> dict[str, Any] | None:
    if keyring.is_current(row.phone_enc):
        return None
    phone = keyring.decrypt(row.phone_enc, PHONE_CONTEXT).decode()
    full, last4 = phone_hashes(keyring, phone)
    return {
        "phone_enc": keyring.encrypt(phone.encode(), PHONE_CONTEXT),
        "phone_hash": full,
        "last4_hash": last4,
    }


def _address(keyring: Keyring, row: Row) -> dict[str, Any] | None:
    context = address_context(_ADDRESSES.name)
    return (
        None if keyring.is_current(row.data_enc) else {"data_enc": keyring.reencrypt(row.data_enc, context)}
    )


def _order(keyring: Keyring, row: Row) -> dict[str, Any] | None:
    if keyring.is_current(row.address_enc):
        return None
    plain = keyring.decrypt(row.address_enc, _ORDER_CONTEXT)
    new: dict[str, Any] = {"address_enc": keyring.encrypt(plain, _ORDER_CONTEXT)}
    phone = orjson.loads(plain).get("phone")
    if phone:
        new["phone_hash"], new["phone_last4_hash"] = phone_hashes(keyring, phone)
    return new


def _data_key(keyring: Keyring, row: Row) -> dict[str, Any] | None:
    # Re-wrapped only: the data key itself (and so every card sealed under it) stays as it is.
    if keyring.is_current(row.wrapped):
        return None
    return {"wrapped": keyring.reencrypt(row.wrapped, card_keys.wrap_context(row.id))}


def _payment_secrets(keyring: Keyring, row: Row) -> dict[str, Any] | None:
    if keyring.is_current(row.secrets_enc):
        return None
    return {"secrets_enc": keyring.reencrypt(row.secrets_enc, SECRETS_CONTEXT)}


def _export_query(keyring: Keyring, row: Row) -> dict[str, Any] | None:
    if keyring.is_current(row.query_enc):
        return None
    return {"query_enc": keyring.reencrypt(row.query_enc, EXPORT_QUERY_CONTEXT)}


def _webhook_secret(keyring: Keyring, row: Row) -> dict[str, Any] | None:
    if keyring.is_current(row.secret_enc):
        return None
    return {"secret_enc": keyring.reencrypt(row.secret_enc, WEBHOOK_SECRET_CONTEXT)}


def _invoice_email(keyring: Keyring, row: Row) -> dict[str, Any] | None:
    if keyring.is_current(row.email_enc):
        return None
    return {"email_enc": keyring.reencrypt(row.email_enc, EMAIL_CONTEXT)}


def _timeline(keyring: Keyring, row: Row) -> dict[str, Any] | None:
    data = dict(row.data or {})
    changed = False
    for name in TIMELINE_SEALS:
        blob = unseal(data.get(name))
        if blob and not keyring.is_current(blob):
            data[name] = sealed(keyring.reencrypt(blob, _ORDER_CONTEXT))
            changed = True
    return {"data": data} if changed else None


def _resign(message: Callable[[Row], bytes]) -> Callable[[Keyring, Row], dict[str, Any] | None]:
    """Re-sign what an older key of the ring signed. A signature no key made stays as it is, for
    ``shangliao chat verify`` to report."""

    def rewrite(keyring: Keyring, row: Row) -> dict[str, Any] | None:
        data = message(row)
        signer = keyring.signer(data, row.signature)
        if signer is None or signer == keyring.current:
            return None
        return {"signature": keyring.sign(data)}

    return rewrite


def _nullable_sealed_column(
    label: str, table: Table, column: str, rewrite: Callable[[Keyring, Row], dict[str, Any] | None]
) -> Pass:
    """A pass over one sealed column that may be NULL: its NULL rows are not read, and a row is
    written only while the column still holds what was read."""
    return Pass(label, table, (column,), rewrite, guard=column, where=lambda: table.c[column].is_not(None))


PASSES = (
    Pass("customer_phones", _PHONES, ("shop_id", "phone_enc", "phone_hash"), _phone, guard="phone_enc"),
    Pass("customer_addresses", _ADDRESSES, ("data_enc",), _address, guard="data_enc"),
    _nullable_sealed_column("orders", _ORDERS, "address_enc", _order),
    # An erasure empties a wrapped key meanwhile: the guard keeps it erased.
    _nullable_sealed_column("conversation_keys", _DATA_KEYS, "wrapped", _data_key),
    # A merchant may save new credentials meanwhile: the guard keeps what they saved.
    _nullable_sealed_column("payment_methods", _PAYMENT_METHODS, "secrets_enc", _payment_secrets),
    # A customer may change their request meanwhile (or be erased): the guard keeps what they saved.
    _nullable_sealed_column("invoice_requests", InvoiceRequest.__table__, "email_enc", _invoice_email),
    # The worker drops the query when the file is written: the guard keeps it dropped.
    _nullable_sealed_column("exports", ExportJob.__table__, "query_enc", _export_query),
    # A member may rotate the secret meanwhile: the guard keeps the new one.
    Pass(
        "webhook_subscriptions",
        WebhookSubscription.__table__,
        ("secret_enc",),
        _webhook_secret,
        guard="secret_enc",
    ),
    # The timeline is append-only: nothing but this rewrites a row, so no guard is needed.
    Pass(
        "order_events",
        OrderEvent.__table__,
        ("data",),
        _timeline,
        where=lambda: OrderEvent.__table__.c.kind == ADDRESS_CHANGED,
    ),
    # Chat checkpoints and the shops' chain lists: re-signed, counted by signer (``keys_data``).
    *(
        Pass(s.table.name, s.table, (*s.columns, "signature"), _resign(s.message), guard="signature")
        for s in SIGNED
    ),
)


def _move_hashes(session: Session, moves: HashMoves) -> None:
    """Devices' typed and claimed phones and pending codes follow their phone's new hash."""
    by_shop: dict[int, dict[bytes, bytes]] = defaultdict(dict)
    for (shop_id, old), new in moves.items():
        by_shop[shop_id][old] = new
    targets = (
        (Visitor.__table__, "claimed_phone_hash"),
        (Visitor.__table__, "typed_phone_hash"),
        (PhoneCode.__table__, "phone_hash"),
    )
    for shop_id, pairs in by_shop.items():
        for table, name in targets:
            col = table.c[name]
            found = session.execute(
                select(table.c.id, col).where(table.c.shop_id == shop_id, col.in_(list(pairs)))
            ).all()
            for row_id, old in found:
                session.execute(update(table).where(table.c.id == row_id).values({name: pairs[bytes(old)]}))


@dataclass
class Rotation:
    """What a run did and what is left."""

    current: str
    moved: dict[str, int] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)

    @property
    def left(self) -> dict[str, int]:
        """Values under any other key, by key id, leaving out chat cards sealed under the ring
        (never rewritten; cards sealed under data keys count through ``conversation_keys``)."""
        out: Counter[str] = Counter()
        for place, counts in self.usage.by_place.items():
            if place != CARDS_LABEL:
                out.update({kid: n for kid, n in counts.items() if kid != self.current})
        return {kid: n for kid, n in out.items() if n}

    @property
    def legacy_left(self) -> int:
        """Pre-key-id values still to rewrite (even under the current key: they do not name it)."""
        return sum(n for place, n in self.usage.legacy.items() if place != CARDS_LABEL)

    @property
    def done(self) -> bool:
        return not self.left and not self.legacy_left


def total_rows(db: Database) -> int:
    with db.read() as session:
        return sum(session.scalar(p.count()) or 0 for p in PASSES)


def rotate(
    db: Database,
    keyring: Keyring,
    *,
    batch: int = BATCH,
    after_batch: Callable[[str, int], None] | None = None,
) -> Rotation:
    """Move every value to the current key. ``after_batch(pass label, rows looked at)`` runs after
    each committed batch (the progress bar; tests raise from it to crash mid-way)."""
    result = Rotation(keyring.current.hex_id)
    for p in PASSES:
        result.moved[p.label] = _run_pass(db, keyring, p, batch, after_batch)
    with db.read() as session:
        result.usage = usage(session, keyring)
    return result


def _run_pass(
    db: Database,
    keyring: Keyring,
    p: Pass,
    batch: int,
    after_batch: Callable[[str, int], None] | None,
) -> int:
    moved, last = 0, 0
    t = p.table
    while True:
        with db.read() as session:
            rows = session.execute(p.select(last, batch)).all()
        if not rows:
            return moved
        changes = [(row, new) for row in rows if (new := p.rewrite(keyring, row)) is not None]
        if changes:
            with db.write() as session:
                moves: HashMoves = {}
                for row, new in changes:
                    stmt = update(t).where(t.c.id == row.id)
                    if p.guard is not None:
                        stmt = stmt.where(t.c[p.guard] == getattr(row, p.guard))
                    if session.execute(stmt.values(**new)).rowcount:
                        moved += 1
                        if t is _PHONES:
                            moves[(row.shop_id, bytes(row.phone_hash))] = new["phone_hash"]
                if moves:
                    _move_hashes(session, moves)
        last = rows[-1].id
        if after_batch is not None:
            after_batch(p.label, len(rows))


def _record_everywhere(db: Database, act: str, data: dict[str, Any]) -> None:
    """An act about the installation's keys, in every shop's audit log (each owner reads their
    own): ids and counts only."""
    from shangliao.audit.log import record_audit
    from shangliao.shops.models import Shop

    with db.write() as session:
        for shop_id in session.scalars(select(Shop.id)).all():
            record_audit(session, shop_id, act, actor_type="cli", data=data)


def record_rotation(db: Database, result: Rotation) -> None:
    data = {"key_id": result.current, "moved": sum(result.moved.values()), "done": result.done}
    _record_everywhere(db, ROTATED_ACT, data)


def record_retirement(db: Database, key_id: str) -> None:
    _record_everywhere(db, RETIRED_ACT, {"key_id": key_id})
