"""Who a device says it is, and linking it to that customer once someone vouches for it.

A phone number typed on the shop page proves nothing. A device introduced with a phone the shop
already knows therefore gets a customer and a conversation of its own, and keeps the claim (the
phone's keyed hash, ``Visitor.claimed_phone_hash``). Staff see it as "says they are …" with a link
button; a code sent by SMS to that phone links it too (``phone_codes.py``). Linking is a merge of
the device's customer into the claimed one (``customers/merge.py``): the device's chat and orders
move with it, and from then on it is one of that customer's devices.

A number nobody had becomes the typing device's customer's without proof, so whoever types it
first could be a stranger. Vouching therefore marks devices (``Visitor.verified_at``: staff linked
it, or it proved the phone by code), and a code proof revokes the customer's devices nobody vouched
for (``do_prove_device``): the holder of the phone keeps the number, a squatter is signed out.

The claim is resolved when it is read: the customer who has the phone *now* is the one claimed,
so a phone moved or merged since still points at the right person, and one nobody has any more
points at nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.auth.scope import Viewer
from shangliao.chat.models import Conversation, Visitor
from shangliao.chat.service import access_conversation, do_open_conversation
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, Invalid
from shangliao.core.i18n import N_
from shangliao.core.phones import mask_mobile
from shangliao.customers.merge import do_merge_customers
from shangliao.customers.models import Customer, CustomerPhone
from shangliao.customers.pii import decrypt_phone
from shangliao.events.log import DomainEvent, record

LINKED = "customer.device_linked"
DETACHED = "customer.devices_revoked"


@dataclass(frozen=True)
class Claim:
    """A customer the device's customer says they are: who has the claimed phone now."""

    phone_hash: bytes
    customer_id: int
    name: str
    phone_enc: bytes

    def out(self, keyring: Keyring) -> dict:
        """As staff see it: the customer and their number, masked (enough to recognise it)."""
        phone = mask_mobile(decrypt_phone(keyring, self.phone_enc))
        return {"customer_id": self.customer_id, "name": self.name, "phone": phone}


def claimed_hashes(session: Session, shop_id: int, customer_id: int) -> list[bytes]:
    """The phones the customer's devices claimed (a merge may have brought several)."""
    return list(
        session.scalars(
            select(Visitor.claimed_phone_hash)
            .where(
                Visitor.shop_id == shop_id,
                Visitor.customer_id == customer_id,
                Visitor.claimed_phone_hash.is_not(None),
                Visitor.revoked_at.is_(None),
            )
            .distinct()
        )
    )


def resolve(session: Session, shop_id: int, hashes: list[bytes], *, besides: int) -> list[Claim]:
    """Who has each of these phones now, leaving out customer ``besides`` (already them)."""
    if not hashes:
        return []
    rows = session.execute(
        select(CustomerPhone.phone_hash, Customer.id, Customer.name, CustomerPhone.phone_enc)
        .join(Customer, Customer.id == CustomerPhone.customer_id)
        .where(
            CustomerPhone.shop_id == shop_id,
            CustomerPhone.phone_hash.in_(hashes),
            Customer.id != besides,
        )
        .order_by(Customer.id)
    )
    return [Claim(bytes(h), cid, name, enc) for h, cid, name, enc in rows]


def claiming(session: Session, shop_id: int, customer_ids: list[int]) -> set[int]:
    """Which of these customers have a device that says it is another customer (the inbox marks
    their rows): one query for a page of rows, resolved now like ``claims_of``."""
    if not customer_ids:
        return set()
    return set(
        session.scalars(
            select(Visitor.customer_id)
            .join(
                CustomerPhone,
                (CustomerPhone.shop_id == Visitor.shop_id)
                & (CustomerPhone.phone_hash == Visitor.claimed_phone_hash)
                & (CustomerPhone.customer_id != Visitor.customer_id),
            )
            .where(
                Visitor.shop_id == shop_id,
                Visitor.customer_id.in_(customer_ids),
                Visitor.revoked_at.is_(None),
            )
            .distinct()
        )
    )


def device_claim(session: Session, shop_id: int, visitor_id: int, customer_id: int) -> Claim | None:
    """Whom this one device (not its customer's other devices) says it is, resolved now; None when
    it claims nobody, or nobody else has that phone any more (a merge made it theirs, say)."""
    claimed = session.scalar(
        select(Visitor.claimed_phone_hash).where(Visitor.shop_id == shop_id, Visitor.id == visitor_id)
    )
    found = resolve(session, shop_id, [claimed], besides=customer_id) if claimed is not None else []
    return found[0] if found else None


def claims_of(session: Session, shop_id: int, customer_id: int) -> list[Claim]:
    """The other customers this customer's devices say they are."""
    return resolve(session, shop_id, claimed_hashes(session, shop_id, customer_id), besides=customer_id)


def no_claim() -> Conflict:
    return Conflict("chat.no_claim", N_("Nobody in this conversation says they are another customer."))


def stale_claim() -> Conflict:
    return Conflict(
        "chat.claim_stale",
        N_("The customer this device says it is no longer has that phone number. Reload and check."),
    )


def pick_claim(session: Session, shop_id: int, customer_id: int, claimed_id: int | None) -> Claim:
    """The claim to link: the one naming ``claimed_id``, or the only one there is."""
    hashes = claimed_hashes(session, shop_id, customer_id)
    theirs = set(
        session.scalars(
            select(CustomerPhone.phone_hash).where(
                CustomerPhone.shop_id == shop_id,
                CustomerPhone.customer_id == customer_id,
                CustomerPhone.phone_hash.in_(hashes),
            )
        )
    )
    hashes = [h for h in hashes if h not in theirs]  # a number that is theirs now claims nobody
    if not hashes:
        raise no_claim()
    claims = resolve(session, shop_id, hashes, besides=customer_id)
    if claimed_id is not None:
        claims = [c for c in claims if c.customer_id == claimed_id]
    if not claims:
        raise stale_claim()
    if len(claims) > 1:
        raise Invalid(
            "chat.claim_ambiguous",
            N_("Devices in this conversation say they are different customers; choose one."),
            details={"customer_ids": [c.customer_id for c in claims]},
        )
    return claims[0]


def lock_conversation(session: Session, who: Viewer, conversation_id: int) -> Conversation:
    """The conversation whose claim staff link, row-locked before the claim is read: a second link
    of it at the same moment waits for the first, then reads the conversation as the first left it
    (moved to the kept customer, its claim gone) instead of merging a customer just deleted. The
    merge takes its own locks after this one, in its own order."""
    return access_conversation(session, who, conversation_id, lock=True)


def do_link_claim(
    session: Session,
    keyring: Keyring,
    actor: Actor,
    customer_id: int,
    claim: Claim,
    *,
    how: str,
    device: int | None = None,
) -> Conversation:
    """Merge the device's customer into the one it claimed to be, and drop the claim (it is them
    now). ``how`` says who vouched: ``staff`` (for every device of the customer linked) or ``code``
    (for ``device``, which proved the phone: see ``do_prove_device``). Returns the conversation
    that lives on."""
    shop_id = actor.shop_id
    keep = session.get(Customer, claim.customer_id)
    drop = session.get(Customer, customer_id)
    visitors = Visitor.__table__
    if how == "staff":
        # Staff looked at this conversation and said "that is them": its devices stay theirs even
        # when another device proves the phone later.
        session.execute(
            update(visitors)
            .where(
                visitors.c.shop_id == shop_id,
                visitors.c.customer_id == drop.id,
                visitors.c.revoked_at.is_(None),
            )
            .values(verified_at=clock.now())
        )
    do_merge_customers(session, keyring, actor, keep, drop)
    session.execute(
        update(visitors)
        .where(
            visitors.c.shop_id == shop_id,
            visitors.c.customer_id == keep.id,
            visitors.c.claimed_phone_hash == claim.phone_hash,
        )
        .values(claimed_phone_hash=None)
    )
    record(session, shop_id, [DomainEvent(LINKED, "customer", keep.id, {"from_id": customer_id, "by": how})])
    if device is not None:
        do_prove_device(session, shop_id, keep.id, device)
    return do_open_conversation(session, shop_id, keep.id)


def do_prove_device(session: Session, shop_id: int, customer_id: int, visitor_id: int) -> int:
    """The device proved it holds the customer's phone: it is vouched for, and the customer's
    devices nobody vouched for are revoked (they introduce themselves again, and may prove the
    phone too). Typing a number nobody had made a device that number's customer without proof: once
    whoever holds the phone proves it, that device must not go on seeing their chat and orders.
    Returns how many devices were revoked."""
    visitors = Visitor.__table__
    now = clock.now()
    session.execute(
        update(visitors)
        .where(visitors.c.shop_id == shop_id, visitors.c.id == visitor_id)
        .values(verified_at=now, claimed_phone_hash=None)
    )
    revoked = session.execute(
        update(visitors)
        .where(
            visitors.c.shop_id == shop_id,
            visitors.c.customer_id == customer_id,
            visitors.c.id != visitor_id,
            visitors.c.verified_at.is_(None),
            visitors.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    ).rowcount
    if revoked:
        # The hub ends the customer's open sockets on it (rule 20 of docs/architecture.md): the
        # revoked ones cannot come back, the others reconnect.
        record(session, shop_id, [DomainEvent(DETACHED, "customer", customer_id, {"revoked": revoked})])
    return revoked
