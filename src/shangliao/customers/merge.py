"""Merging two records of one person: everything of the dropped customer moves to the kept one.

Duplicates happen: a customer ordered once under a nickname, once under their real name, or staff
created them twice. A merge, in one unit of work (rule 1 of docs/architecture.md):

- moves the dropped customer's orders (``orders.customer_id``). The name on each order stays the
  snapshot it was placed with: history is not rewritten;
- moves their phones (a phone the kept customer already has is not copied) and addresses (an
  address identical to one the kept customer has is not copied). The rows move as they are, still
  encrypted: their ciphertexts are bound to their table, not to the customer (``pii.py``);
- moves their chat (rule 17 of docs/architecture.md: evidence moves, it is never dropped): their
  conversation, with its messages, files and checkpoints, and their devices. When both chatted,
  the dropped conversation keeps its own hash chain (a message's hash covers its conversation id)
  and is marked merged into the kept one: the inbox shows one entry, whose history is both, and
  the dropped devices write into the kept conversation, seeing it from the merge on;
- adds their tags, appends their note, adds up order count and money spent, keeps the earliest
  first order and the latest last order, and keeps the blacklist flag if either was blacklisted;
- records ``customer.merged`` (ids and counts only, rule 8 of docs/architecture.md) and deletes the dropped customer.

Why delete rather than keep a marked row: the schema has no "merged into" column, and a dropped
row left in place would show up in every list, search and phone lookup. The event is the
tombstone instead: :func:`merged_into` follows it, so an old link to the dropped customer still
leads to the kept one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.chat.models import Conversation, Visitor
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, Invalid
from shangliao.core.i18n import N_
from shangliao.customers.models import Customer, CustomerAddress, CustomerPhone, CustomerTag
from shangliao.customers.pii import CUSTOMER_ADDRESSES, decrypt_address
from shangliao.customers.schemas import MAX_ADDRESSES, MAX_PHONES, MAX_TAGS
from shangliao.customers.service import customer_not_found
from shangliao.events.log import DomainEvent, record
from shangliao.events.models import EventLogEntry
from shangliao.orders.models import Order

MERGED = "customer.merged"
# The longest note a person can save (``schemas.Note``): a merged note must stay editable.
MAX_NOTE = 2000
# How many merges in a row an old link follows (A → B, then B → C …) before giving up.
MAX_HOPS = 10


@dataclass(frozen=True)
class MergePlan:
    """What a merge would do, worked out without changing anything (the console's preview)."""

    phone_ids: tuple[int, ...]  # the dropped customer's phones that move
    duplicate_phone_ids: tuple[int, ...]  # ... and those the kept customer already has
    address_ids: tuple[int, ...]
    duplicate_address_ids: tuple[int, ...]
    tags_added: tuple[str, ...]
    note: str
    order_count: int
    total_spent: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    blocked: bool


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(a, b) if a and b else a or b


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(a, b) if a and b else a or b


def merged_note(kept: str, dropped: str) -> str:
    """The kept note with the dropped one appended (once: merging twice does not repeat it)."""
    extra = dropped.strip()
    if not extra or extra in kept:
        return kept
    return f"{kept.rstrip()}\n\n{extra}" if kept.strip() else extra


def _address_key(keyring: Keyring, row: CustomerAddress) -> tuple[str, ...]:
    address = decrypt_address(keyring, row.data_enc, table=CUSTOMER_ADDRESSES)
    return tuple(str(value).strip() for value in address.model_dump().values())


def _too_many(what: str, total: int, most: int) -> Invalid:
    messages = {
        "phones": N_(
            "Together these customers have {total} phone numbers; one customer can have at most "
            "{most}. Remove some first."
        ),
        "addresses": N_(
            "Together these customers have {total} addresses; one customer can have at most {most}. "
            "Remove some first."
        ),
        "tags": N_(
            "Together these customers have {total} tags; one customer can have at most {most}. "
            "Remove some first."
        ),
        "note": N_(
            "Together the notes of these customers are {total} characters long; a note can have at "
            "most {most}. Shorten one first."
        ),
    }
    return Invalid(
        "customer.merge_too_large",
        messages[what],
        details={"field": what, "total": total, "max": most},
        total=total,
        most=most,
    )


def plan_merge(keyring: Keyring, keep: Customer, drop: Customer) -> MergePlan:
    """What merging ``drop`` into ``keep`` changes; refuses (422) a result over the customer limits."""
    kept_hashes = {p.phone_hash for p in keep.phones}
    phones = [p.id for p in drop.phones if p.phone_hash not in kept_hashes]
    kept_addresses = {_address_key(keyring, a) for a in keep.addresses}
    addresses, duplicates = [], []
    for row in drop.addresses:
        key = _address_key(keyring, row)
        (duplicates if key in kept_addresses else addresses).append(row.id)
        kept_addresses.add(key)  # two identical addresses of the dropped customer move once
    tags_added = tuple(sorted(set(drop.tags) - set(keep.tags)))
    note = merged_note(keep.note, drop.note)
    for what, total, most in (
        ("phones", len(keep.phones) + len(phones), MAX_PHONES),
        ("addresses", len(keep.addresses) + len(addresses), MAX_ADDRESSES),
        ("tags", len(keep.tags) + len(tags_added), MAX_TAGS),
        ("note", len(note), MAX_NOTE),
    ):
        if total > most:
            raise _too_many(what, total, most)
    return MergePlan(
        phone_ids=tuple(phones),
        duplicate_phone_ids=tuple(p.id for p in drop.phones if p.id not in phones),
        address_ids=tuple(addresses),
        duplicate_address_ids=tuple(duplicates),
        tags_added=tags_added,
        note=note,
        order_count=keep.order_count + drop.order_count,
        total_spent=keep.total_spent + drop.total_spent,
        first_order_at=_earliest(keep.first_order_at, drop.first_order_at),
        last_order_at=_latest(keep.last_order_at, drop.last_order_at),
        blocked=keep.blocked or drop.blocked,
    )


def orders_of(session: Session, shop_id: int, customer_id: int) -> int:
    """How many orders (drafts and archived ones included) point at the customer."""
    return session.scalar(
        select(func.count(Order.id)).where(Order.shop_id == shop_id, Order.customer_id == customer_id)
    )


def check_can_merge(actor: Actor, keep: Customer, drop: Customer) -> None:
    """Both customers of the caller's shop (404 otherwise), and two different ones."""
    if keep.shop_id != actor.shop_id or drop.shop_id != actor.shop_id:
        raise customer_not_found()
    if keep.id == drop.id:
        raise Invalid("customer.merge_self", N_("A customer cannot be merged into themselves."))


def _check_version(customer: Customer, version: int | None) -> None:
    if version is not None and version != customer.version:
        raise Conflict(
            "customer.stale",
            N_("This customer was changed by someone else; reload and try again."),
            details={"customer_id": customer.id, "version": customer.version},
        )


def _lock(session: Session, keep: Customer, drop: Customer) -> None:
    """Row locks (PostgreSQL; SQLite writers are serialised already), re-reading both customers.

    The dropped customer's orders are locked before the customers: recording a payment locks its
    order, then updates the customer's total, and taking locks in the same order cannot deadlock
    with it. The customers go in id order, so two opposite merges cannot deadlock either.
    """
    session.execute(
        select(Order.id).where(Order.shop_id == drop.shop_id, Order.customer_id == drop.id).with_for_update()
    ).all()
    for customer in sorted((keep, drop), key=lambda c: c.id):
        session.refresh(customer, with_for_update=True)


def _move(session: Session, table, ids: tuple[int, ...], keep: Customer, **values) -> None:
    if ids:
        session.execute(
            update(table)
            .where(table.c.shop_id == keep.shop_id, table.c.id.in_(ids))
            .values(customer_id=keep.id, **values)
        )


def _one_flagged(rows: list, flag: str) -> None:
    """Keep exactly one primary phone (default address) when there are any."""
    if rows and not any(getattr(r, flag) for r in rows):
        setattr(rows[0], flag, True)


def do_merge_customers(
    session: Session,
    keyring: Keyring,
    actor: Actor,
    keep: Customer,
    drop: Customer,
    *,
    keep_version: int | None = None,
    drop_version: int | None = None,
) -> Customer:
    """Merge ``drop`` into ``keep`` (see the module's docstring) and return ``keep``.

    ``keep_version`` / ``drop_version``, when given, refuse the merge (409) if either customer
    changed since the caller looked at them.
    """
    check_can_merge(actor, keep, drop)
    _lock(session, keep, drop)
    _check_version(keep, keep_version)
    _check_version(drop, drop_version)
    plan = plan_merge(keyring, keep, drop)
    shop_id, keep_id, drop_id = actor.shop_id, keep.id, drop.id
    session.flush()  # the caller's pending changes reach the database before the expiry below

    moved_orders = session.execute(
        update(Order.__table__)
        .where(Order.shop_id == shop_id, Order.customer_id == drop_id)
        .values(customer_id=keep_id)
    ).rowcount
    moved_conversations = _move_chat(session, shop_id, keep_id, drop_id)

    # A customer without phones (addresses) takes the dropped one's primary (default) as theirs.
    phone_flags = {"is_primary": False} if keep.phones else {}
    address_flags = {"is_default": False} if keep.addresses else {}
    _move(session, CustomerPhone.__table__, plan.phone_ids, keep, **phone_flags)
    _move(session, CustomerAddress.__table__, plan.address_ids, keep, **address_flags)
    # The rows moved behind the ORM's back: read both customers' collections afresh.
    session.expire_all()

    _one_flagged(keep.phones, "is_primary")
    _one_flagged(keep.addresses, "is_default")
    keep.tag_rows.extend(CustomerTag(shop_id=shop_id, tag=t) for t in plan.tags_added)
    keep.note = plan.note
    keep.order_count = plan.order_count
    keep.total_spent = plan.total_spent
    keep.first_order_at = plan.first_order_at
    keep.last_order_at = plan.last_order_at
    keep.blocked = plan.blocked
    keep.version += 1
    keep.updated_at = clock.now()
    # What is left of the dropped customer (duplicate phones and addresses, tags) goes with them.
    session.delete(drop)
    session.flush()
    data = {
        "into_id": keep_id,
        "orders": moved_orders,
        "conversations": moved_conversations,
        "phones": len(plan.phone_ids),
        "addresses": len(plan.address_ids),
    }
    record(session, shop_id, [DomainEvent(MERGED, "customer", drop_id, data)])
    return keep


def _move_chat(session: Session, shop_id: int, keep_id: int, drop_id: int) -> int:
    """Hand the dropped customer's conversations and devices to the kept one; returns how many
    conversations moved. Both live conversations are locked first: a send racing the merge either
    lands before it (and is counted) or after it (in the conversation that lives on)."""
    conv = Conversation.__table__
    live = {
        row.customer_id: row
        for row in session.execute(
            select(conv)
            .where(
                conv.c.shop_id == shop_id,
                conv.c.customer_id.in_((keep_id, drop_id)),
                conv.c.merged_into_id.is_(None),
            )
            .order_by(conv.c.id)
            .with_for_update()
        )
    }
    kept, dropped = live.get(keep_id), live.get(drop_id)
    devices = {"customer_id": keep_id}
    if kept is not None and dropped is not None:
        # One hop: what was merged into the dropped conversation now belongs to the kept one.
        session.execute(
            update(conv)
            .where(conv.c.shop_id == shop_id, conv.c.merged_into_id == dropped.id)
            .values(merged_into_id=kept.id)
        )
        # Its unread messages are counted on the entry the inbox shows (and nowhere else, so the
        # unread badge does not count them twice); a closed entry opens if the other one was open.
        session.execute(
            update(conv)
            .where(conv.c.id == dropped.id)
            .values(customer_id=keep_id, merged_into_id=kept.id, staff_unread=0)
        )
        session.execute(
            update(conv)
            .where(conv.c.id == kept.id)
            .values(
                staff_unread=kept.staff_unread + dropped.staff_unread,
                last_message_at=max(kept.last_message_at, dropped.last_message_at),
                status="open" if "open" in (kept.status, dropped.status) else kept.status,
            )
        )
        # A device sees the conversation it writes to from when it joined it (``Visitor``): for
        # the dropped devices that is now.
        devices["since_seq"] = kept.message_count
    moved = session.execute(
        update(conv)
        .where(conv.c.shop_id == shop_id, conv.c.customer_id == drop_id)
        .values(customer_id=keep_id)
    ).rowcount
    visitors = Visitor.__table__
    session.execute(
        update(visitors)
        .where(visitors.c.shop_id == shop_id, visitors.c.customer_id == drop_id)
        .values(**devices)
    )
    return moved + (1 if kept is not None and dropped is not None else 0)


def merged_into(session: Session, shop_id: int, customer_id: int) -> int | None:
    """The customer a merged-away one now lives on (following later merges), or None.

    Only for a customer that no longer exists: reads the shop's ``customer.merged`` events.
    """
    current, found = customer_id, None
    for _ in range(MAX_HOPS):
        data = session.scalar(
            select(EventLogEntry.data)
            .where(
                EventLogEntry.shop_id == shop_id,
                EventLogEntry.type == MERGED,
                EventLogEntry.entity_type == "customer",
                EventLogEntry.entity_id == current,
            )
            .order_by(EventLogEntry.seq.desc())
            .limit(1)
        )
        into = data.get("into_id") if isinstance(data, dict) else None
        if not isinstance(into, int):
            break
        current = found = into
    if found is None:
        return None
    exists = session.scalar(select(Customer.id).where(Customer.shop_id == shop_id, Customer.id == found))
    return exists
