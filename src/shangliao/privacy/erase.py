"""Erasing a customer on request (PIPL art. 47): who they are is removed, what happened stays.

Anonymised: the customer's name (to :data:`PLACEHOLDER`) and note; their phones and address book
(rows deleted, so the ciphertexts and the keyed lookup hashes go with them); on each of their
orders the name snapshot, the encrypted address snapshot and its phone hashes; the address
snapshots of the timeline's ``address_changed`` entries; the order list's name search terms; their
shop-page devices (revoked, the phone hashes they typed or claimed cleared), other devices'
claims on their phones, the phone codes sent for them, and the data keys of their conversations
(``chat/card_keys.py``): the addresses the order cards sent to them carry are sealed under those
keys, so with the keys gone no one can open them, while the cards themselves stay as sent.

Kept: the customer row itself (orders and conversations point at it), order amounts, items,
statuses and every timeline entry (its PII fields read ``None`` and the entry says ``erased``), and
the conversations as they are. Chat messages are evidence: each message's hash covers its body
and data (``chat/chain.py``), so editing a body would break the chain that ``shangliao chat
verify`` checks. What the customer typed into the chat therefore stays, and so do the order
cards' sealed addresses, unreadable once their keys are gone (crypto-shredding, docs/chat.md
"Erasure"); the record that says who they are does not. A card sent before data keys existed is
sealed under the key ring and still opens: its address outlives the erasure until that key is
retired.

Refused while the customer has an order between pending and shipped: the shop still needs the
address to deliver it (and the customer to receive it). Drafts are erased with the rest.

Idempotent: a second erasure finds nothing more to remove and changes nothing but the audit log,
which records every request (``customer.erased``, with counts and the reason's code, no PII).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from shangliao.aftersales.privacy import erase_notes
from shangliao.audit.log import record_audit
from shangliao.auth.actor import Actor
from shangliao.chat import card_keys
from shangliao.chat.models import Conversation, Visitor
from shangliao.core import clock
from shangliao.core.errors import Conflict, Invalid
from shangliao.core.i18n import N_
from shangliao.customers import service as customers
from shangliao.customers.models import Customer
from shangliao.events.log import DomainEvent, record
from shangliao.invoices.service import erase_requests
from shangliao.orders.models import Order, OrderEvent, OrderSearchTerm
from shangliao.orders.search_terms import NAME
from shangliao.orders.state import Status
from shangliao.storefront.models import PhoneCode

# What an erased customer is called everywhere their name was (data, not UI text: it is stored).
PLACEHOLDER = "已删除"
# Typed to confirm, besides the customer's own name (which a staff member may not know how to type).
CONFIRM_WORD = "删除"

# Why the shop erases: a code, never free text (the audit log holds no personal data).
REASONS: dict[str, str] = {
    "customer_request": N_("The customer asked for their data to be deleted"),
    "consent_withdrawn": N_("The customer withdrew their consent"),
    "no_longer_needed": N_("The data is no longer needed for the purpose it was collected for"),
}
Reason = Literal["customer_request", "consent_withdrawn", "no_longer_needed"]

OPEN_STATUSES = (Status.PENDING, Status.CONFIRMED, Status.PREPARING, Status.SHIPPED)

ERASED = "customer.erased"


@dataclass(frozen=True)
class Erasure:
    """What one erasure removed (counts only): the answer, and the audit entry's data."""

    customer_id: int
    phones: int
    addresses: int
    orders: int
    timeline_entries: int
    devices: int
    phone_codes: int
    card_keys: int


def check_confirmation(customer: Customer, confirm: str, reason: str) -> None:
    """The request names the customer (or says 删除) and gives a reason from :data:`REASONS`."""
    typed = confirm.strip()
    if not typed or typed not in {customer.name, CONFIRM_WORD}:
        raise Invalid(
            "privacy.confirm_mismatch",
            N_("To erase this customer, type their name exactly, or 删除."),
            details={"field": "confirm"},
        )
    if reason not in REASONS:
        raise Invalid(
            "privacy.bad_reason", N_("Choose why this customer is erased."), details={"field": "reason"}
        )


def check_no_open_orders(session: Session, shop_id: int, customer_id: int) -> None:
    numbers = list(
        session.scalars(
            select(Order.number)
            .where(
                Order.shop_id == shop_id, Order.customer_id == customer_id, Order.status.in_(OPEN_STATUSES)
            )
            .order_by(Order.id)
            .limit(5)
        )
    )
    if numbers:
        raise Conflict(
            "privacy.open_orders",
            N_(
                "This customer still has orders on their way ({numbers}): the shop needs the "
                "address to deliver them. Complete or cancel them first, then erase the customer."
            ),
            numbers=", ".join(numbers),
            details={"orders": numbers},
        )


def _erase_orders(session: Session, shop_id: int, customer_id: int) -> tuple[int, int]:
    # Only orders still naming them: a repeated erasure leaves erased orders (and versions) alone.
    order_ids = list(
        session.scalars(
            select(Order.id).where(
                Order.shop_id == shop_id,
                Order.customer_id == customer_id,
                or_(
                    Order.customer_name != PLACEHOLDER,
                    Order.address_enc.is_not(None),
                    Order.phone_hash.is_not(None),
                ),
            )
        )
    )
    if not order_ids:
        return 0, 0
    # Core, not the ORM: the bumped version still turns a concurrent edit into a 409 (rule 11).
    session.execute(
        update(Order)
        .where(Order.shop_id == shop_id, Order.id.in_(order_ids))
        .values(
            customer_name=PLACEHOLDER,
            address_enc=None,
            phone_hash=None,
            phone_last4_hash=None,
            version=Order.version + 1,
            updated_at=clock.now(),
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(OrderSearchTerm).where(
            OrderSearchTerm.shop_id == shop_id,
            OrderSearchTerm.order_id.in_(order_ids),
            OrderSearchTerm.term.startswith(NAME, autoescape=True),
        )
    )
    entries = session.scalars(
        select(OrderEvent).where(
            OrderEvent.shop_id == shop_id,
            OrderEvent.order_id.in_(order_ids),
            OrderEvent.kind == "address_changed",
        )
    ).all()
    for entry in entries:
        # The entry keeps its place, kind, actor and time; only the sealed snapshots go.
        entry.data = {**entry.data, "old": None, "new": None, "erased": True}
    erase_requests(session, shop_id, order_ids, PLACEHOLDER)  # invoices: the email, a personal title
    erase_notes(session, shop_id, order_ids)  # after-sales: the note the customer typed
    return len(order_ids), len(entries)


def _erase_devices(session: Session, shop_id: int, customer_id: int, hashes: list[bytes]) -> tuple[int, int]:
    now = clock.now()
    devices = session.execute(
        update(Visitor)
        .where(
            Visitor.shop_id == shop_id,
            Visitor.customer_id == customer_id,
            or_(
                Visitor.revoked_at.is_(None),
                Visitor.claimed_phone_hash.is_not(None),
                Visitor.typed_phone_hash.is_not(None),
            ),
        )
        .values(
            claimed_phone_hash=None,
            typed_phone_hash=None,
            revoked_at=func.coalesce(Visitor.revoked_at, now),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if hashes:
        # Another customer's device that typed or claimed one of these phones stops pointing here.
        session.execute(
            update(Visitor)
            .where(Visitor.shop_id == shop_id, Visitor.claimed_phone_hash.in_(hashes))
            .values(claimed_phone_hash=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Visitor)
            .where(Visitor.shop_id == shop_id, Visitor.typed_phone_hash.in_(hashes))
            .values(typed_phone_hash=None)
            .execution_options(synchronize_session=False)
        )
    codes = session.execute(
        delete(PhoneCode).where(
            PhoneCode.shop_id == shop_id,
            or_(PhoneCode.customer_id == customer_id, PhoneCode.phone_hash.in_(hashes or [b""])),
        )
    ).rowcount
    return devices, codes


def do_erase_customer(
    session: Session, actor: Actor, customer_id: int, *, confirm: str, reason: str
) -> Erasure:
    """Anonymise the customer everywhere (see the module's docstring) and record it."""
    customer = customers.access_customer(session, actor.shop_id, customer_id, lock=True)
    check_confirmation(customer, confirm, reason)
    check_no_open_orders(session, actor.shop_id, customer_id)
    hashes = [p.phone_hash for p in customer.phones]
    phones, addresses = len(customer.phones), len(customer.addresses)
    if phones or addresses or customer.name != PLACEHOLDER or customer.note:
        customer.name, customer.note = PLACEHOLDER, ""
        customer.phones.clear()
        customer.addresses.clear()
        customer.version += 1  # an edit made on the page before the erasure is refused (409)
        customer.updated_at = clock.now()
        session.flush()
    orders, entries = _erase_orders(session, actor.shop_id, customer_id)
    devices, codes = _erase_devices(session, actor.shop_id, customer_id, hashes)
    conversations = session.scalars(
        select(Conversation.id).where(
            Conversation.shop_id == actor.shop_id, Conversation.customer_id == customer_id
        )
    ).all()
    keys = card_keys.erase(session, actor.shop_id, list(conversations))
    erasure = Erasure(customer_id, phones, addresses, orders, entries, devices, codes, keys)
    # Consoles showing the customer or their orders re-read them; the log entry holds ids only.
    record(session, actor.shop_id, [DomainEvent(ERASED, "customer", customer_id, {})])
    record_audit(
        session,
        actor.shop_id,
        ERASED,
        actor=actor,
        target_type="customer",
        target_id=customer_id,
        data={"reason": reason, **{k: v for k, v in asdict(erasure).items() if k != "customer_id"}},
    )
    return erasure
