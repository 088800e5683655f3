"""Customer use cases: create, read, search and edit customers, their phones and addresses.

Services only flush; the caller (API endpoint, CLI command, test factory) owns the unit of work
(rule 1 of docs/architecture.md). Every change records a domain event carrying ids only, never a phone, name or address
(rule 8 of docs/architecture.md). Phones and addresses are encrypted before they reach the session (rule 12 of docs/architecture.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from shangliao.auth.actor import Actor
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, Invalid, NotFound
from shangliao.core.i18n import N_
from shangliao.core.pagination import decode_cursor, decode_moment, encode_cursor
from shangliao.customers.masking import FULL, PiiView, mask_phone
from shangliao.customers.models import Customer, CustomerAddress, CustomerPhone, CustomerTag
from shangliao.customers.pii import (
    ADDRESS_FIELDS,
    CUSTOMER_ADDRESSES,
    Address,
    decrypt_address,
    decrypt_phone,
    encrypt_address,
    encrypt_phone,
    phone_hashes,
    phone_lookups,
    phone_search,
)
from shangliao.customers.schemas import (
    MAX_ADDRESSES,
    MAX_PHONES,
    AddressIn,
    AddressOut,
    AddressUpdate,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    CustomerSearch,
    CustomerSummary,
    PhoneIn,
    PhoneOut,
)
from shangliao.events.log import DomainEvent, record
from shangliao.stats import segments

# --- access ---------------------------------------------------------------------------------------


def customer_not_found() -> NotFound:
    return NotFound("customer.not_found", N_("No such customer."))


def access_customer(session: Session, shop_id: int, customer_id: int, *, lock: bool = False) -> Customer:
    """The shop's customer; another shop's is simply not found (404).

    ``lock`` takes the row lock on PostgreSQL (SQLite writers are already serialised), so checks
    made on the row — its version, which address is the default — still hold at commit.
    """
    stmt = select(Customer).where(Customer.shop_id == shop_id, Customer.id == customer_id)
    customer = session.scalar(stmt.with_for_update() if lock else stmt)
    if customer is None:
        raise customer_not_found()
    return customer


def _access_phone(customer: Customer, phone_id: int) -> CustomerPhone:
    found = next((p for p in customer.phones if p.id == phone_id), None)
    if found is None:
        raise NotFound("customer.phone_not_found", N_("This customer has no such phone number."))
    return found


def _address_not_found() -> NotFound:
    return NotFound("customer.address_not_found", N_("This customer has no such address."))


def _access_address(customer: Customer, address_id: int) -> CustomerAddress:
    found = next((a for a in customer.addresses if a.id == address_id), None)
    if found is None:
        raise _address_not_found()
    return found


# --- checks (also used by the orders domain) ------------------------------------------------------


def check_can_order(customer: Customer) -> None:
    """A blacklisted customer cannot have orders placed for them."""
    if customer.blocked:
        raise Conflict(
            "customer.blocked",
            N_("This customer is on the blacklist, so orders cannot be placed for them."),
            details={"customer_id": customer.id},
        )


def address_of(
    session: Session, keyring: Keyring, shop_id: int, customer_id: int, address_id: int | None = None
) -> Address | None:
    """One of the customer's addresses, decrypted; ``None`` id means their default (or ``None``).

    One statement on the order-create hot path; the customer is looked up only to tell a missing
    customer (``customer.not_found``) from a missing address.
    """
    stmt = select(CustomerAddress.data_enc).where(
        CustomerAddress.shop_id == shop_id, CustomerAddress.customer_id == customer_id
    )
    if address_id is None:
        stmt = stmt.where(CustomerAddress.is_default.is_(True))
    else:
        stmt = stmt.where(CustomerAddress.id == address_id)
    blob = session.scalar(stmt.limit(1))
    if blob is not None:
        return decrypt_address(keyring, blob, table=CUSTOMER_ADDRESSES)
    access_customer(session, shop_id, customer_id)
    if address_id is not None:
        raise _address_not_found()
    return None


def _phone_taken(owner_id: int | None) -> Conflict:
    return Conflict(
        "customer.phone_taken",
        N_("This phone number already belongs to another customer."),
        details={"customer_id": owner_id} if owner_id is not None else {},
    )


def check_phones_free(
    session: Session, shop_id: int, hashes: list[bytes], *, customer_id: int | None = None
) -> None:
    """Refuse a phone that another customer of the shop already has (the id is in the details)."""
    if not hashes:
        return
    owners = session.scalars(
        select(CustomerPhone.customer_id).where(
            CustomerPhone.shop_id == shop_id, CustomerPhone.phone_hash.in_(hashes)
        )
    )
    other = next((o for o in owners if o != customer_id), None)
    if other is not None:
        raise _phone_taken(other)


def _flush_phones(session: Session) -> None:
    """On PostgreSQL two writers may pass ``check_phones_free`` at once; the unique index decides."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise _phone_taken(None) from exc


# --- serialisation --------------------------------------------------------------------------------


# ``view`` is the reader's (customers/masking.py: ``view_for(actor)`` for a staff route); the
# default reads in full for the system itself and the customer's own data export.
def phone_out(keyring: Keyring, row: CustomerPhone, view: PiiView = FULL) -> PhoneOut:
    return PhoneOut(
        id=row.id, phone=view.phone(decrypt_phone(keyring, row.phone_enc)), is_primary=row.is_primary
    )


def address_out(keyring: Keyring, row: CustomerAddress, view: PiiView = FULL) -> AddressOut:
    address = view.address(decrypt_address(keyring, row.data_enc, table=CUSTOMER_ADDRESSES).model_dump())
    return AddressOut(id=row.id, label=row.label, is_default=row.is_default, **address)


def customer_out(keyring: Keyring, customer: Customer, view: PiiView = FULL) -> CustomerOut:
    return CustomerOut(
        id=customer.id,
        name=customer.name,
        tags=customer.tags,
        note=customer.note,
        blocked=customer.blocked,
        version=customer.version,
        phones=[phone_out(keyring, p, view) for p in customer.phones],
        addresses=[address_out(keyring, a, view) for a in customer.addresses],
        first_order_at=customer.first_order_at,
        last_order_at=customer.last_order_at,
        order_count=customer.order_count,
        total_spent=customer.total_spent,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )


def _primary_phone(customer: Customer) -> CustomerPhone | None:
    return next((p for p in customer.phones if p.is_primary), customer.phones[0] if customer.phones else None)


def customer_summary(keyring: Keyring, customer: Customer) -> CustomerSummary:
    primary = _primary_phone(customer)
    return CustomerSummary(
        id=customer.id,
        name=customer.name,
        tags=customer.tags,
        blocked=customer.blocked,
        # A list row is masked for every reader (customers/masking.py); 显示 is on the profile.
        phone=mask_phone(decrypt_phone(keyring, primary.phone_enc)) if primary else None,
        order_count=customer.order_count,
        total_spent=customer.total_spent,
        last_order_at=customer.last_order_at,
        created_at=customer.created_at,
    )


# --- building blocks ------------------------------------------------------------------------------


def _new_phone(keyring: Keyring, shop_id: int, phone: str, *, primary: bool) -> CustomerPhone:
    full_hash, last4_hash = phone_hashes(keyring, phone)
    return CustomerPhone(
        shop_id=shop_id,
        phone_enc=encrypt_phone(keyring, phone),
        phone_hash=full_hash,
        last4_hash=last4_hash,
        is_primary=primary,
    )


def _as_address(body: Address) -> Address:
    return Address.model_construct(**body.model_dump(include=set(ADDRESS_FIELDS)))


def _set_tags(customer: Customer, tags: list[str]) -> None:
    """Change the tag rows to ``tags``, keeping the rows of tags that stay."""
    wanted = set(tags)
    for row in list(customer.tag_rows):
        if row.tag not in wanted:
            customer.tag_rows.remove(row)
    have = {row.tag for row in customer.tag_rows}
    customer.tag_rows.extend(CustomerTag(shop_id=customer.shop_id, tag=t) for t in tags if t not in have)


def _event(session: Session, actor: Actor, type_: str, customer: Customer, **ids: int) -> None:
    """Ids only in the event data: consumers load what they need and may see (rule 8 of docs/architecture.md)."""
    record(session, actor.shop_id, [DomainEvent(type_, "customer", customer.id, dict(ids))])


def _touch(customer: Customer) -> None:
    """A phone or address changed: the customer was updated (its version guards its own fields)."""
    customer.updated_at = clock.now()


# --- customers ------------------------------------------------------------------------------------


def do_create_customer(session: Session, keyring: Keyring, actor: Actor, body: CustomerIn) -> Customer:
    return do_create_customer_in(session, keyring, actor.shop_id, body)


def do_create_customer_in(session: Session, keyring: Keyring, shop_id: int, body: CustomerIn) -> Customer:
    """:func:`do_create_customer` without a staff member: a customer introducing themselves."""
    phones = [_new_phone(keyring, shop_id, p, primary=i == 0) for i, p in enumerate(body.phones)]
    # Every key's hash: a phone not yet rotated still carries its old key's (core/keys_rotate.py).
    check_phones_free(session, shop_id, [h for p in body.phones for h in phone_lookups(keyring, p)])
    default_index = next((i for i, a in enumerate(body.addresses) if a.is_default), 0)
    customer = Customer(
        shop_id=shop_id,
        name=body.name,
        note=body.note,
        blocked=False,
        order_count=0,
        total_spent=0,
        version=1,
        phones=phones,
        addresses=[
            CustomerAddress(
                shop_id=shop_id,
                data_enc=encrypt_address(keyring, _as_address(a), table=CUSTOMER_ADDRESSES),
                label=a.label,
                is_default=i == default_index,
            )
            for i, a in enumerate(body.addresses)
        ],
        tag_rows=[CustomerTag(shop_id=shop_id, tag=t) for t in body.tags],
    )
    session.add(customer)
    _flush_phones(session)
    record(session, shop_id, [DomainEvent("customer.created", "customer", customer.id, {})])
    return customer


def do_update_customer(session: Session, actor: Actor, customer: Customer, body: CustomerPatch) -> Customer:
    """Apply the fields given; an unchanged value changes nothing and records nothing."""
    if body.version is not None and body.version != customer.version:
        raise Conflict(
            "customer.stale",
            N_("This customer was changed by someone else; reload and try again."),
            details={"version": customer.version},
        )
    changed: list[str] = []
    for name in ("name", "note", "blocked"):
        if name in body.model_fields_set and getattr(body, name) != getattr(customer, name):
            setattr(customer, name, getattr(body, name))
            changed.append(name)
    if "tags" in body.model_fields_set and sorted(body.tags) != customer.tags:
        _set_tags(customer, body.tags)
        changed.append("tags")
    if not changed:
        return customer
    customer.version += 1
    session.flush()
    data = {"fields": changed}
    if "blocked" in changed:
        data["blocked"] = customer.blocked
    record(session, actor.shop_id, [DomainEvent("customer.updated", "customer", customer.id, data)])
    return customer


# --- phones ---------------------------------------------------------------------------------------


def do_add_phone(
    session: Session, keyring: Keyring, actor: Actor, customer: Customer, body: PhoneIn
) -> CustomerPhone:
    """Add a mobile; adding one the customer already has is a no-op (safe to retry)."""
    row = _new_phone(keyring, customer.shop_id, body.phone, primary=body.primary or not customer.phones)
    lookups = phone_lookups(keyring, body.phone)  # every key's hash, as in do_create_customer_in
    existing = next((p for p in customer.phones if p.phone_hash in lookups), None)
    if existing is not None:
        return existing
    check_phones_free(session, customer.shop_id, list(lookups), customer_id=customer.id)
    if len(customer.phones) >= MAX_PHONES:
        raise Invalid(
            "customer.too_many_phones", N_("A customer can have at most {n} phone numbers."), n=MAX_PHONES
        )
    if row.is_primary:
        for other in customer.phones:
            other.is_primary = False
    customer.phones.append(row)
    _touch(customer)
    _flush_phones(session)
    _event(session, actor, "customer.phone_added", customer, phone_id=row.id)
    return row


def do_remove_phone(session: Session, actor: Actor, customer: Customer, phone_id: int) -> None:
    """Remove a phone; if it was the primary one, the oldest remaining phone becomes primary."""
    row = _access_phone(customer, phone_id)
    customer.phones.remove(row)
    if row.is_primary and customer.phones:
        customer.phones[0].is_primary = True
    _touch(customer)
    session.flush()
    _event(session, actor, "customer.phone_removed", customer, phone_id=phone_id)


def do_set_primary_phone(session: Session, actor: Actor, customer: Customer, phone_id: int) -> CustomerPhone:
    row = _access_phone(customer, phone_id)
    if row.is_primary:
        return row
    for other in customer.phones:
        other.is_primary = other is row
    _touch(customer)
    session.flush()
    _event(session, actor, "customer.primary_phone_set", customer, phone_id=phone_id)
    return row


# --- addresses ------------------------------------------------------------------------------------


def do_add_address(
    session: Session, keyring: Keyring, actor: Actor, customer: Customer, body: AddressIn
) -> CustomerAddress:
    """Add an address; the first one, or one marked ``is_default``, becomes the default."""
    if len(customer.addresses) >= MAX_ADDRESSES:
        raise Invalid(
            "customer.too_many_addresses", N_("A customer can have at most {n} addresses."), n=MAX_ADDRESSES
        )
    make_default = body.is_default or not customer.addresses
    if make_default:
        for other in customer.addresses:
            other.is_default = False
    row = CustomerAddress(
        shop_id=customer.shop_id,
        data_enc=encrypt_address(keyring, _as_address(body), table=CUSTOMER_ADDRESSES),
        label=body.label,
        is_default=make_default,
    )
    customer.addresses.append(row)
    _touch(customer)
    session.flush()
    _event(session, actor, "customer.address_added", customer, address_id=row.id)
    return row


def do_update_address(
    session: Session, keyring: Keyring, actor: Actor, customer: Customer, address_id: int, body: AddressUpdate
) -> CustomerAddress:
    """Replace the address. Orders keep their own snapshot, so past orders do not change."""
    row = _access_address(customer, address_id)
    row.data_enc = encrypt_address(keyring, _as_address(body), table=CUSTOMER_ADDRESSES)
    row.label = body.label
    _touch(customer)
    session.flush()
    _event(session, actor, "customer.address_updated", customer, address_id=row.id)
    return row


def do_remove_address(session: Session, actor: Actor, customer: Customer, address_id: int) -> None:
    """Remove an address; if it was the default, the oldest remaining address becomes the default."""
    row = _access_address(customer, address_id)
    customer.addresses.remove(row)
    if row.is_default and customer.addresses:
        customer.addresses[0].is_default = True
    _touch(customer)
    session.flush()
    _event(session, actor, "customer.address_removed", customer, address_id=address_id)


def do_set_default_address(
    session: Session, actor: Actor, customer: Customer, address_id: int
) -> CustomerAddress:
    row = _access_address(customer, address_id)
    if row.is_default:
        return row
    for other in customer.addresses:
        other.is_default = other is row
    _touch(customer)
    session.flush()
    _event(session, actor, "customer.default_address_set", customer, address_id=address_id)
    return row


# --- listing and search ---------------------------------------------------------------------------


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _bad_cursor() -> Invalid:
    return Invalid("pagination.bad_cursor", N_("The page cursor is not valid."))


def _read_cursor(cursor: str, sort: str) -> tuple[datetime | None, int]:
    """``[sort, last_order_at or null, id]``; a cursor from another sort order is refused."""
    cursor_sort, value, row_id = decode_cursor(cursor, 3)
    if cursor_sort != sort or not isinstance(row_id, int) or isinstance(row_id, bool):
        raise _bad_cursor()
    if value is None:
        return None, row_id
    return decode_moment(value), row_id


def _after_cursor(sort: str, moment: datetime | None, row_id: int):
    """Rows strictly after the cursor row in ``sort`` order (the keyset predicate)."""
    if sort == "id":
        return Customer.id > row_id
    if sort == "-id":
        return Customer.id < row_id
    # "-last_order_at": newest order first, customers who never ordered last (NULLS LAST), id breaks ties.
    if moment is None:
        return and_(Customer.last_order_at.is_(None), Customer.id < row_id)
    return or_(
        Customer.last_order_at < moment,
        and_(Customer.last_order_at == moment, Customer.id < row_id),
        Customer.last_order_at.is_(None),
    )


_ORDER_BY = {
    "id": (Customer.id.asc(),),
    "-id": (Customer.id.desc(),),
    "-last_order_at": (Customer.last_order_at.desc().nulls_last(), Customer.id.desc()),
}


def _match(keyring: Keyring, shop_id: int, q: str):
    """A whole mobile or four digits match by keyed hash; any other text, part of the name."""
    found = phone_search(keyring, q)
    if found is None:
        return Customer.name.ilike(f"%{_escape_like(q)}%", escape="\\")
    kind, digests = found  # one per key of the ring (a rotation may be half done)
    column = CustomerPhone.phone_hash if kind == "full" else CustomerPhone.last4_hash
    return Customer.id.in_(
        select(CustomerPhone.customer_id).where(CustomerPhone.shop_id == shop_id, column.in_(digests))
    )


def list_customers(session: Session, keyring: Keyring, shop_id: int, query: CustomerSearch) -> CustomerPage:
    stmt = (
        select(Customer)
        .where(Customer.shop_id == shop_id)
        .options(selectinload(Customer.phones), selectinload(Customer.tag_rows))
    )
    q = (query.q or "").strip()
    if q:
        stmt = stmt.where(_match(keyring, shop_id, q))
    if query.tag is not None:
        stmt = stmt.where(
            Customer.id.in_(
                select(CustomerTag.customer_id).where(
                    CustomerTag.shop_id == shop_id, CustomerTag.tag == query.tag
                )
            )
        )
    if query.blocked is not None:
        stmt = stmt.where(Customer.blocked.is_(query.blocked))
    if query.segment is not None:
        stmt = stmt.where(segments.condition(session.connection(), shop_id, query.segment))
    if query.cursor is not None:
        stmt = stmt.where(_after_cursor(query.sort, *_read_cursor(query.cursor, query.sort)))
    rows = list(session.scalars(stmt.order_by(*_ORDER_BY[query.sort]).limit(query.limit + 1)))
    next_cursor = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        moment = (
            last.last_order_at.isoformat() if last.last_order_at and query.sort == "-last_order_at" else None
        )
        next_cursor = encode_cursor([query.sort, moment, last.id])
    return CustomerPage(
        items=[customer_summary(keyring, c) for c in rows[: query.limit]], next_cursor=next_cursor
    )
