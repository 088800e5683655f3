"""Which stored values depend on the key ring, which keys they use, and the start-up check.

Encrypted columns (each names its key, ``core/crypto.py``): customer phones and addresses, the
order's address snapshot, the address snapshots in the order timeline (``address_changed``), and
the data keys of conversations (``chat/card_keys.py``, wrapped), and the sealed address of a chat
details card sent before data keys existed. Keyed hashes follow the ciphertext of their own row
(phones, orders) or are rewritten with it (devices' typed and claimed phones, phone codes), see
``keys_rotate.py``. Chat checkpoints and the shops' chain lists are signed under a key too: an
HMAC names no key, so each signature is checked against the ring's keys to find its signer
(``SIGNED``); a key that signed any stays in use, or ``shangliao chat verify`` would report them.

A chat card's sealed address is hashed into its conversation's chain as sent (rule 13 of
docs/architecture.md), so no rotation rewrites it. A card sealed under its conversation's data key
depends on the ring only through the wrapped key, which a rotation re-wraps; a card sealed before
(under the ring itself) keeps naming its master key, and that key stays in the ring while any such
card needs it (``keys retire`` says so).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import Engine, Row, Table, case, func, inspect, select
from sqlalchemy.orm import Session

from shangliao.chat import card_keys
from shangliao.chat.cards import SEALED_ADDRESS
from shangliao.chat.chain import checkpoint_message, manifest_message
from shangliao.chat.models import ChainCheckpoint, ChainManifest, ConversationKey, Message
from shangliao.core.crypto import LEGACY, KeyMissing, Keyring, blob_key_id
from shangliao.core.i18n import N_
from shangliao.customers.models import CustomerAddress, CustomerPhone
from shangliao.customers.pii import CUSTOMER_ADDRESSES, ORDERS, PHONE_CONTEXT, address_context
from shangliao.exports.models import QUERY_CONTEXT as EXPORT_QUERY_CONTEXT
from shangliao.exports.models import ExportJob
from shangliao.invoices.models import InvoiceRequest
from shangliao.invoices.service import EMAIL_CONTEXT
from shangliao.orders.models import Order, OrderEvent
from shangliao.orders.timeline import unseal
from shangliao.payments.methods import SECRETS_CONTEXT
from shangliao.payments.models import PaymentMethod
from shangliao.webhooks.models import SECRET_CONTEXT as WEBHOOK_SECRET_CONTEXT
from shangliao.webhooks.models import WebhookSubscription

UNKNOWN_ID = "unknown"  # a pre-key-id value no key of the ring opens
ADDRESS_CHANGED = "address_changed"
TIMELINE_SEALS = ("old", "new")
SAMPLE = 12  # rows read from each end of an encrypted table, and probes spread between them


@dataclass(frozen=True)
class Column:
    """An encrypted column: where it is, and the associated data its blobs are bound to."""

    table: Table
    name: str
    context: bytes

    @property
    def label(self) -> str:
        return f"{self.table.name}.{self.name}"

    @property
    def column(self):
        return self.table.c[self.name]


COLUMNS = (
    Column(CustomerPhone.__table__, "phone_enc", PHONE_CONTEXT),
    Column(CustomerAddress.__table__, "data_enc", address_context(CUSTOMER_ADDRESSES)),
    Column(Order.__table__, "address_enc", address_context(ORDERS)),
    # Each row's blob is bound to its own conversation id too (``card_keys.wrap_context``); the
    # context here only serves pre-key-id values, which wrapped keys never are.
    Column(ConversationKey.__table__, "wrapped", card_keys.WRAPPED_LABEL.encode()),
    # A shop's payment credentials (APIv3 key, private keys, gateway secret): payments/methods.py.
    Column(PaymentMethod.__table__, "secrets_enc", SECRETS_CONTEXT),
    # The email an invoice is sent to (invoices/service.py).
    Column(InvoiceRequest.__table__, "email_enc", EMAIL_CONTEXT),
    # An export's query while it waits to be written (exports/service.py): a search may be a phone.
    Column(ExportJob.__table__, "query_enc", EXPORT_QUERY_CONTEXT),
    # Webhooks' signing secrets (webhooks/service.py).
    Column(WebhookSubscription.__table__, "secret_enc", WEBHOOK_SECRET_CONTEXT),
)
TIMELINE_LABEL = "order_events.data"
CARDS_LABEL = "messages.data"


@dataclass(frozen=True)
class Signed:
    """A signed table: the columns its signed message is made of, and how it is made."""

    table: Table
    columns: tuple[str, ...]
    message: Callable[[Row], bytes]

    @property
    def label(self) -> str:
        return f"{self.table.name}.signature"


SIGNED = (
    Signed(
        ChainCheckpoint.__table__,
        ("shop_id", "conversation_id", "seq", "hash"),
        lambda r: checkpoint_message(r.shop_id, r.conversation_id, r.seq, r.hash),
    ),
    Signed(
        ChainManifest.__table__,
        ("shop_id", "generation", "heads"),
        lambda r: manifest_message(r.shop_id, r.generation, r.heads),
    ),
)
SIGNED_LABELS = tuple(s.label for s in SIGNED)


def key_of(keyring: Keyring, blob: bytes, context: bytes) -> str:
    """The id of the key a value is under. A pre-key-id value does not say: the ring's key that
    opens it is the one (``UNKNOWN_ID`` when none does)."""
    kid = blob_key_id(blob)
    if kid is not None:
        return kid
    for key in keyring.keys:
        if Keyring([key]).opens(blob, context):
            return key.hex_id
    return UNKNOWN_ID


# --- which keys the data uses ---------------------------------------------------------------------


@dataclass
class Usage:
    """How many values use each key id, per place (``legacy`` counts pre-key-id values, whatever
    their key: a rotation rewrites them; ``unsigned`` counts signatures no key of the ring made,
    forged or by a retired key, which no rotation mends: ``shangliao chat verify`` reports them)."""

    by_place: dict[str, Counter[str]] = field(default_factory=dict)
    legacy: Counter[str] = field(default_factory=Counter)
    unsigned: Counter[str] = field(default_factory=Counter)

    def add(self, place: str, kid: str, n: int = 1) -> None:
        self.by_place.setdefault(place, Counter())[kid] += n

    def total(self, kid: str, *, besides: tuple[str, ...] = ()) -> int:
        return sum(c[kid] for place, c in self.by_place.items() if place not in besides)

    @property
    def key_ids(self) -> set[str]:
        return {kid for c in self.by_place.values() for kid, n in c.items() if n}


def _prefix(col) -> object:
    """The version byte and key id of each blob; a legacy blob is its version byte alone (its
    next bytes are a random nonce, one group per row otherwise)."""
    return case((func.substr(col, 1, 1) == LEGACY, func.substr(col, 1, 1)), else_=func.substr(col, 1, 5))


def usage(session: Session, keyring: Keyring) -> Usage:
    """Every value that depends on a key, counted by key (full scans: a maintenance command's)."""
    found = Usage()
    for c in COLUMNS:
        prefix = _prefix(c.column)
        rows = session.execute(select(prefix, func.count()).where(c.column.is_not(None)).group_by(prefix))
        for head, n in rows:
            if bytes(head) != LEGACY:
                found.add(c.label, blob_key_id(bytes(head)) or UNKNOWN_ID, n)
        legacy = session.scalars(select(c.column).where(func.substr(c.column, 1, 1) == LEGACY))
        for blob in legacy:
            _add(found, keyring, c.label, bytes(blob), c.context)
    for blob in timeline_seals(session):
        _add(found, keyring, TIMELINE_LABEL, blob, address_context(ORDERS))
    for blob in card_seals(session):
        _add(found, keyring, CARDS_LABEL, blob, address_context(ORDERS))
    for s in SIGNED:
        _count_signers(session, keyring, found, s)
    return found


def _count_signers(session: Session, keyring: Keyring, found: Usage, s: Signed) -> None:
    # Current key first in the ring: once rotated, one HMAC a row.
    stmt = select(*(s.table.c[c] for c in s.columns), s.table.c.signature)
    for row in session.execute(stmt.execution_options(yield_per=1000)):
        signer = keyring.signer(s.message(row), bytes(row.signature))
        if signer is None:
            found.unsigned[s.label] += 1
        else:
            found.add(s.label, signer.hex_id)


def _add(found: Usage, keyring: Keyring, place: str, blob: bytes, context: bytes) -> None:
    found.add(place, key_of(keyring, blob, context))
    if blob[:1] == LEGACY:
        found.legacy[place] += 1


def timeline_seals(session: Session) -> Iterator[bytes]:
    for data in session.scalars(select(OrderEvent.data).where(OrderEvent.kind == ADDRESS_CHANGED)):
        for name in TIMELINE_SEALS:
            blob = unseal((data or {}).get(name))
            if blob:
                yield blob


def card_seals(session: Session) -> Iterator[bytes]:
    """The cards' addresses sealed under the ring itself (before data keys): those pin their key."""
    for data in session.scalars(select(Message.data).where(Message.kind == "order_card")):
        blob = unseal((data or {}).get(SEALED_ADDRESS))
        if blob and not card_keys.is_card_blob(blob):
            yield blob


# --- start-up: refuse to run without the keys the data needs --------------------------------------


def _sample(session: Session, c: Column) -> list[bytes]:
    """A few blobs from both ends of the table and spread between: cheap (index seeks on the
    primary key), and a half-done rotation shows both keys (it moves the oldest rows first)."""
    pk = c.table.c.id
    present = c.column.is_not(None)
    picked: list[bytes] = []
    for order in (pk.asc(), pk.desc()):
        picked += session.scalars(select(c.column).where(present).order_by(order).limit(SAMPLE))
    low, high = session.execute(select(func.min(pk), func.max(pk)).where(present)).one()
    if low is not None and high - low > 2 * SAMPLE:
        step = (high - low) // (SAMPLE + 1)
        for i in range(1, SAMPLE + 1):
            blob = session.scalar(select(c.column).where(present, pk >= low + i * step).order_by(pk).limit(1))
            if blob is not None:
                picked.append(blob)
    return [bytes(b) for b in picked]


def check_keys(session: Session, keyring: Keyring) -> None:
    """Raise :class:`KeyMissing` when sampled data names a key the ring lacks, or is a pre-key-id
    value none of its keys opens (the key file was replaced)."""
    for c in COLUMNS:
        for blob in _sample(session, c):
            kid = blob_key_id(blob)
            if kid is not None:
                keyring.key(bytes.fromhex(kid))
            else:
                keyring.decrypt(blob, c.context)  # raises KeyMissing(None) when no key opens it


class MissingKeyError(RuntimeError):
    """Start-up refused: the data needs a key the ring lacks. ``message`` (an ``N_`` text) and
    ``params`` say which key and where to restore it; ``str()`` is the English text."""

    def __init__(self, exc: KeyMissing, source: str) -> None:
        if exc.key_id is not None:
            self.message = N_(
                "Stored customer data was encrypted with key {key_id}, which is not in the key ring "
                "({source}). Restore the key file (or SHANGLIAO_SECRET_KEY and SHANGLIAO_OLD_SECRET_KEYS) "
                "from a backup that holds key {key_id}; `shangliao keys status` lists every key the "
                "data uses. Shangliao will not start without it: the phones and addresses would be "
                "unreadable."
            )
        else:
            self.message = N_(
                "Stored customer data was encrypted with a key that is not in the key ring ({source}): "
                "the key file was replaced or lost. Restore the original key file (or "
                "SHANGLIAO_SECRET_KEY) from your backup. Shangliao will not start without it: the "
                "phones and addresses would be unreadable."
            )
        self.params = {"key_id": exc.key_id or "", "source": source}
        super().__init__(self.message.format(**self.params))


def refuse_missing_keys(engine: Engine, keyring: Keyring, source: str) -> None:
    """Raise :class:`MissingKeyError` unless the ring opens the data (a database not initialised
    yet has nothing to open)."""
    if not inspect(engine).has_table(CustomerPhone.__tablename__):
        return
    with Session(engine) as session:
        try:
            check_keys(session, keyring)
        except KeyMissing as exc:
            raise MissingKeyError(exc, source) from None
