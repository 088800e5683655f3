"""Customers on the shop page: introduced once by name and phone, then known by a device token.

The token is random (256 bits), handed to the browser once as an HttpOnly cookie and stored only
as its SHA-256, like staff sessions. A typed phone proves nothing: one that matches a customer the
shop already has gives the device a customer and conversation of its own, with the claim recorded
(``Visitor.claimed_phone_hash``) for staff, or a code sent to that phone, to link (``claims.py``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.chat.models import Conversation, Message, Visitor
from shangliao.chat.service import do_open_conversation
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.errors import NotFound
from shangliao.core.i18n import N_
from shangliao.customers.models import Customer, CustomerPhone
from shangliao.customers.pii import decrypt_phone, phone_hashes, phone_lookups
from shangliao.customers.schemas import CustomerIn
from shangliao.customers.service import do_create_customer_in
from shangliao.shops.service import access_shop_by_slug

VISITOR_COOKIE = "sl_visitor"


def digest(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


@dataclass(frozen=True)
class Guest:
    """A resolved visitor: the customer they are, their conversation, what they may see of it."""

    visitor_id: int
    shop_id: int
    customer_id: int
    conversation_id: int
    since_seq: int
    joined_at: datetime  # the device sees the customer's orders placed from then on
    claimed: bool = False  # it says it is a customer the shop knows, and nobody has confirmed it yet
    verified: bool = False  # it proved its customer's phone by a code, or staff linked it by hand
    typed_phone_hash: bytes | None = None  # the mobile it typed to introduce itself (keyed hash)


def phone_owner(session: Session, shop_id: int, phone_hash: bytes | tuple[bytes, ...]) -> int | None:
    """The customer who has the phone with this keyed hash (or any of these: one per key of the
    ring while a rotation runs), if any."""
    hashes = phone_hash if isinstance(phone_hash, tuple) else (phone_hash,)
    return session.scalar(
        select(CustomerPhone.customer_id)
        .where(CustomerPhone.shop_id == shop_id, CustomerPhone.phone_hash.in_(hashes))
        .limit(1)
    )


def do_register_visitor(
    session: Session, keyring: Keyring, shop_id: int, name: str, phone: str
) -> tuple[str, Guest]:
    """A new device token, for a new customer. A phone nobody has becomes theirs; a phone the shop
    already knows stays with its customer and is recorded as this device's claim (``claims.py``):
    the device sees and acts on nothing of theirs until the claim is linked."""
    full_hash, _ = phone_hashes(keyring, phone)
    if phone_owner(session, shop_id, phone_lookups(keyring, phone)) is None:
        customer = do_create_customer_in(session, keyring, shop_id, CustomerIn(name=name, phones=[phone]))
        return do_add_device(session, shop_id, customer.id, typed_phone_hash=full_hash)
    customer = do_create_customer_in(session, keyring, shop_id, CustomerIn(name=name))
    return do_add_device(
        session, shop_id, customer.id, claimed_phone_hash=full_hash, typed_phone_hash=full_hash
    )


def do_add_device(
    session: Session,
    shop_id: int,
    customer_id: int,
    *,
    claimed_phone_hash: bytes | None = None,
    typed_phone_hash: bytes | None = None,
) -> tuple[str, Guest]:
    """A new device token for this customer, seeing their conversation from now on."""
    conversation = do_open_conversation(session, shop_id, customer_id)
    raw = secrets.token_urlsafe(32)
    visitor = Visitor(
        shop_id=shop_id,
        customer_id=customer_id,
        token_hash=digest(raw),
        since_seq=conversation.message_count,
        created_at=clock.now(),
        last_seen_at=clock.now(),
        claimed_phone_hash=claimed_phone_hash,
        typed_phone_hash=typed_phone_hash,
    )
    session.add(visitor)
    session.flush()
    return raw, Guest(
        visitor.id,
        shop_id,
        customer_id,
        conversation.id,
        visitor.since_seq,
        visitor.created_at,
        claimed_phone_hash is not None,
        typed_phone_hash=typed_phone_hash,
    )


def do_backdate_visitor(session: Session, guest: Guest, *, since_seq: int, joined_at: datetime) -> Guest:
    """Let a device see its conversation from ``since_seq`` and its customer's orders from
    ``joined_at`` on: only for what the caller has proved the device did itself."""
    visitor = session.get(Visitor, guest.visitor_id)
    visitor.since_seq = since_seq
    visitor.created_at = joined_at
    session.flush()
    return replace(guest, since_seq=since_seq, joined_at=joined_at)


def guest_for(session: Session, shop_id: int, raw: str | None) -> Guest | None:
    """The visitor behind a token, on this shop only; None for an unknown or revoked one."""
    if not raw:
        return None
    found = session.execute(
        select(Visitor, Conversation.id)
        .join(
            Conversation,
            (Conversation.customer_id == Visitor.customer_id)
            & (Conversation.shop_id == Visitor.shop_id)
            & Conversation.merged_into_id.is_(None),  # after a merge, the conversation that lives on
        )
        .where(Visitor.token_hash == digest(raw), Visitor.shop_id == shop_id, Visitor.revoked_at.is_(None))
    ).first()
    if found is None:
        return None
    visitor, conversation_id = found
    return Guest(
        visitor.id,
        shop_id,
        visitor.customer_id,
        conversation_id,
        visitor.since_seq,
        visitor.created_at,
        visitor.claimed_phone_hash is not None,
        visitor.verified_at is not None,
        visitor.typed_phone_hash,
    )


def guest_contact(session: Session, keyring: Keyring, guest: Guest) -> dict[str, str]:
    """The name and mobile this device's customer gave (the receiver an order form starts with), so
    a customer is not asked for their phone twice. A device nobody vouched for is shown only the
    number it typed itself (rule of ``customers.pii.public_address``): staff may have added the real
    owner's phone to the customer a stranger's device made, and a claim's number is another
    customer's, so it is on none of this customer's phones."""
    customer = session.get(Customer, guest.customer_id)
    if customer is None or customer.shop_id != guest.shop_id:
        return {"name": "", "phone": ""}
    phones = sorted(customer.phones, key=lambda p: (not p.is_primary, p.id))
    if not guest.verified:
        phones = [p for p in phones if guest.typed_phone_hash and p.phone_hash == guest.typed_phone_hash]
    phone = decrypt_phone(keyring, phones[0].phone_enc) if phones else ""
    return {"name": customer.name, "phone": phone}


def guest_at(session: Session, shop_slug: str, raw: str | None) -> Guest | None:
    """The visitor behind a cookie on the shop page of ``shop_slug`` (an unknown shop: 404)."""
    return guest_for(session, access_shop_by_slug(session, shop_slug).id, raw)


def access_guest_message(session: Session, guest: Guest, message_id: int) -> Message:
    """A message of the guest's conversation that this device has seen (said since it joined)."""
    message = session.scalar(
        select(Message).where(
            Message.id == message_id,
            Message.conversation_id == guest.conversation_id,
            Message.seq > guest.since_seq,
        )
    )
    if message is None:
        raise NotFound("chat.message_not_found", N_("This message does not exist."))
    return message
