"""Finding orders: filters, text search and keyset pagination for the order list.

Every query starts from the caller's shop (rule 4). Archived orders and drafts stay out of the
default list: archived ones are done with, and a draft is not yet an order anyone has to act on
(rule 7). Pages are keyset-paginated on (sort value, id), so page 500 costs what page 1 costs and
rows with the same sort value are neither skipped nor repeated between pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from sqlalchemy import ColumnElement, Connection, Row, Select, and_, false, select, tuple_, union

from shangliao.core.crypto import Keyring
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_
from shangliao.core.money import MAX_AMOUNT
from shangliao.core.pagination import decode_cursor, decode_moment, encode_cursor
from shangliao.core.schemas import MAX_ID, StrictModel
from shangliao.customers.models import CustomerPhone
from shangliao.customers.pii import phone_search
from shangliao.orders import search_terms
from shangliao.orders.couriers import TRACKING_RE
from shangliao.orders.models import Order, OrderItem, OrderSearchTerm, OrderTag
from shangliao.orders.payments import PAYMENT_STATUSES, payment_status_sql
from shangliao.orders.schemas import Channel
from shangliao.orders.search_terms import micros
from shangliao.orders.state import Status

# Table columns, not ORM attributes: one ORM attribute in a statement makes SQLAlchemy compile it
# and load its rows the ORM way, which cost a list page more than its SQL did (bench/order_list.py).
_orders = Order.__table__
_o = _orders.c
_items = OrderItem.__table__
_terms = OrderSearchTerm.__table__.c
_tags = OrderTag.__table__.c
_phones = CustomerPhone.__table__.c

SortKey = Literal["created_at", "-created_at", "updated_at", "-updated_at", "total", "-total"]
PaymentStatus = Literal[PAYMENT_STATUSES]  # type: ignore[valid-type]

_SORT_COLUMNS = {"created_at": _o.created_at, "updated_at": _o.updated_at, "total": _o.total}
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_moment(value: Any) -> Any:
    """``2026-01-05`` stays a date (a whole day in the shop's time zone); anything else is a datetime."""
    if isinstance(value, str):
        text = value.strip()
        if _DATE_ONLY.match(text):
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value


class OrderQuery(StrictModel):
    """The order list's query string. Unknown parameters are refused (rule 14): a misspelt filter
    would otherwise silently return every order."""

    status: list[Status] = Field(
        default_factory=list, description="Repeatable. Without it: every status except draft."
    )
    created_from: date | datetime | None = Field(
        None, description="A date (start of that day in the shop's time zone) or a datetime; inclusive."
    )
    created_to: date | datetime | None = Field(
        None, description="A date (the whole day, in the shop's time zone) or a datetime; inclusive."
    )
    amount_min: int | None = Field(None, ge=0, le=MAX_AMOUNT, description="Minimum order total, in fen.")
    amount_max: int | None = Field(None, ge=0, le=MAX_AMOUNT, description="Maximum order total, in fen.")
    channel: Channel | None = None
    payment_status: PaymentStatus | None = None
    assignee_id: int | None = Field(None, ge=1, le=MAX_ID)
    unassigned: bool = Field(False, description="Only orders nobody is assigned to.")
    tag: str | None = Field(None, min_length=1, max_length=32)
    customer_id: int | None = Field(None, ge=1, le=MAX_ID)
    archived: Literal["false", "true", "all"] = Field(
        "false", description="`false`: hide archived orders; `true`: only archived ones; `all`: both."
    )
    q: str | None = Field(
        None,
        max_length=64,
        description="A mobile number (11 digits), its last 4 digits, an order number (or its start), "
        "a tracking number, or part of the customer's name.",
    )
    sort: SortKey = Field("-created_at", description="A field, `-` in front for descending.")
    cursor: str | None = Field(None, max_length=300, description="`next_cursor` of the previous page.")
    limit: int = Field(20, ge=1, le=100)

    _moments = field_validator("created_from", "created_to", mode="before")(
        classmethod(lambda cls, v: _parse_moment(v))
    )

    @model_validator(mode="after")
    def _consistent(self) -> OrderQuery:
        if self.amount_min is not None and self.amount_max is not None and self.amount_min > self.amount_max:
            raise ValueError("amount_min is larger than amount_max")
        if self.unassigned and self.assignee_id is not None:
            raise ValueError("give either assignee_id or unassigned=true, not both")
        return self


@dataclass(frozen=True)
class Page:
    """One page of the list: each order's columns as a row (attribute access, like an ORM object),
    with its items (in their order) and tags by order id."""

    orders: list[Row]
    items: dict[int, list[Row]]
    tags: dict[int, list[str]]
    next_cursor: str | None


def shop_moment(value: date | datetime, timezone: str, *, end: bool) -> tuple[datetime, bool]:
    """An aware instant for a filter bound, and whether the bound is exclusive.

    A date means a whole day in the shop's time zone: from its midnight, or up to (excluding) the
    next midnight. A datetime without a zone is read in the shop's zone as well.
    """
    zone = ZoneInfo(timezone)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)), False
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time.min, tzinfo=zone), end


@dataclass(frozen=True)
class _Branch:
    """One way a search text can match, each answered by one index: the orders under a search
    term (``term``), and/or a condition on ``orders`` that one of its indexes answers."""

    term: str | None = None
    condition: ColumnElement[bool] | None = None


def _search_branches(keyring: Keyring, shop_id: int, q: str) -> list[_Branch]:
    """A whole mobile matches the order's address phone and the customer's phones; four digits
    match a phone's last four or the end of an order number; other text matches the start of an
    order number, a whole tracking number or part of the customer's name."""
    phone = phone_search(keyring, q)
    if phone is None:
        branches = []
        name = search_terms.name_lookup(q)
        if name is not None:
            check = _o.customer_name.icontains(name.check, autoescape=True) if name.check else None
            branches.append(_Branch(name.term, check))
        if q.isascii() and q.isdigit():  # order numbers are digits only
            term = search_terms.number_start_term(q)
            if term is not None:
                branches.append(_Branch(term))
            else:
                low, high = search_terms.number_range(q)
                branches.append(_Branch(condition=and_(_o.number >= low, _o.number < high)))
        if TRACKING_RE.match(q):
            branches.append(_Branch(condition=_o.tracking_number == q))
        return branches
    kind, lookup = phone
    if kind == "full":
        customers = select(_phones.customer_id).where(
            _phones.shop_id == shop_id, _phones.phone_hash == lookup
        )
        return [
            _Branch(condition=_o.phone_hash == lookup),
            _Branch(condition=_o.customer_id.in_(customers)),
        ]
    customers = select(_phones.customer_id).where(
        _phones.shop_id == shop_id, _phones.last4_hash == lookup
    )
    return [
        _Branch(condition=_o.phone_last4_hash == lookup),
        _Branch(condition=_o.customer_id.in_(customers)),
        _Branch(search_terms.number_end_term(q)),
    ]


def is_full_phone(keyring: Keyring, q: str | None) -> bool:
    """Whether ``q`` is a whole mobile number: PII that must not travel in a URL (rule 12)."""
    found = phone_search(keyring, q) if q else None
    return found is not None and found[0] == "full"


def _filters(shop_id: int, timezone: str, query: OrderQuery) -> list[ColumnElement[bool]]:
    """``query``'s filters on the shop's ``orders``, besides the shop itself and the text search."""
    where: list[ColumnElement[bool]] = []
    if query.status:
        where.append(_o.status.in_([s.value for s in query.status]))
    else:
        where.append(_o.status != Status.DRAFT.value)
    if query.archived == "false":
        where.append(_o.archived_at.is_(None))
    elif query.archived == "true":
        where.append(_o.archived_at.is_not(None))
    if query.created_from is not None:
        start, _ = shop_moment(query.created_from, timezone, end=False)
        where.append(_o.created_at >= start)
    if query.created_to is not None:
        stop, exclusive = shop_moment(query.created_to, timezone, end=True)
        where.append(_o.created_at < stop if exclusive else _o.created_at <= stop)
    if query.amount_min is not None:
        where.append(_o.total >= query.amount_min)
    if query.amount_max is not None:
        where.append(_o.total <= query.amount_max)
    if query.channel is not None:
        where.append(_o.channel == query.channel)
    if query.payment_status is not None:
        where.append(payment_status_sql() == query.payment_status)
    if query.unassigned:
        where.append(_o.assignee_id.is_(None))
    elif query.assignee_id is not None:
        where.append(_o.assignee_id == query.assignee_id)
    if query.tag:
        # The tag's orders from its index, rather than a probe for each order of the shop.
        where.append(
            _o.id.in_(
                select(_tags.order_id).where(_tags.shop_id == shop_id, _tags.tag == query.tag)
            )
        )
    if query.customer_id is not None:
        where.append(_o.customer_id == query.customer_id)
    return where


def _search_text(query: OrderQuery) -> str:
    return (query.q or "").strip()


def filtered(keyring: Keyring, shop_id: int, timezone: str, query: OrderQuery) -> Select:
    """The shop's orders matching ``query``'s filters and search (no order, no page)."""
    stmt = select(_orders).where(_o.shop_id == shop_id, *_filters(shop_id, timezone, query))
    q = _search_text(query)
    if not q:
        return stmt
    branches = _search_branches(keyring, shop_id, q)
    if not branches:
        return stmt.where(false())
    return stmt.where(_o.id.in_(union(*(_branch_ids(shop_id, b) for b in branches))))


def _bad_cursor() -> Invalid:
    return Invalid("pagination.bad_cursor", N_("The page cursor is not valid."))


def _cursor_values(cursor: str, sort: str) -> tuple[Any, int]:
    """The last row's sort value and id; a cursor made for another sort order is refused."""
    name, value, last_id = decode_cursor(cursor, 3)
    if name != sort or not isinstance(last_id, int) or isinstance(last_id, bool):
        raise _bad_cursor()
    if sort.lstrip("-") == "total":
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_AMOUNT:
            raise _bad_cursor()
        return value, last_id
    return decode_moment(value), last_id


def _ordering(sort: str) -> tuple[Any, Any]:
    # The id breaks ties, so rows sharing a sort value keep one fixed place between pages.
    column = _SORT_COLUMNS[sort.lstrip("-")]
    return (column.desc(), _o.id.desc()) if sort.startswith("-") else (column.asc(), _o.id.asc())


def _after(sort: str, value: Any, last_id: int) -> ColumnElement[bool]:
    # A row value, not "a < v OR (a = v AND id < i)": both databases seek an index to it, so
    # page 500 starts where page 499 ended instead of skipping 10,000 rows.
    key = tuple_(_SORT_COLUMNS[sort.lstrip("-")], _o.id)
    return key < (value, last_id) if sort.startswith("-") else key > (value, last_id)


def _branch_ids(shop_id: int, branch: _Branch) -> Select[tuple[int]]:
    """Every order ``branch`` finds, straight from its index, no other filter.

    A condition on ``orders`` stands alone so the database has one index to use for it (with the
    list's filters beside it, SQLite, which keeps no statistics by default, may pick the status
    index instead and read every completed order); the filters are applied to what it finds.
    """
    if branch.term is None:
        return select(_o.id).where(_o.shop_id == shop_id, branch.condition)
    term = _terms
    stmt = select(term.order_id).where(term.shop_id == shop_id, term.term == branch.term)
    if branch.condition is not None:
        stmt = stmt.join(_orders, _o.id == term.order_id).where(branch.condition)
    return stmt


def _term_page(
    shop_id: int,
    filters: list[ColumnElement[bool]],
    branch: _Branch,
    descending: bool,
    after: tuple[Any, int] | None,
    limit: int,
) -> Select[tuple[int]]:
    """The ids of the first ``limit`` orders under ``branch.term`` passing ``filters``, newest
    (or oldest) first, after the cursor.

    A term's orders come out of its index already in creation order, each joined to its order by
    primary key for the filters: a page reads about ``limit`` rows divided by the share of the
    term's orders that pass the filters, never every order with the term (a common surname in a
    big shop has tens of thousands).
    """
    term = _terms
    stmt = (
        select(term.order_id)
        .join(_orders, _o.id == term.order_id)
        .where(term.shop_id == shop_id, term.term == branch.term, _o.shop_id == shop_id, *filters)
    )
    if branch.condition is not None:
        stmt = stmt.where(branch.condition)
    if after is not None:
        key, start = tuple_(term.created_us, term.order_id), (micros(after[0]), after[1])
        stmt = stmt.where(key < start if descending else key > start)
    ordering = (
        (term.created_us.desc(), term.order_id.desc())
        if descending
        else (term.created_us.asc(), term.order_id.asc())
    )
    return stmt.order_by(*ordering).limit(limit)


def page_statement(
    keyring: Keyring, shop_id: int, timezone: str, query: OrderQuery
) -> Select | None:
    """The one statement that reads a page of the list (``None``: the search cannot match).

    Without a search it walks an index of ``orders`` in page order. With one, each way the text
    can match (:func:`_search_branches`) finds its orders from its own index: the orders of a
    phone, a tracking number or a number's day (a handful to a day's worth) all of them; the
    orders of a search term, when the list is in creation order, only its first page (see
    :func:`_term_page`). The page is then read from that union of ids, filtered and sorted.
    """
    filters = _filters(shop_id, timezone, query)
    after = _cursor_values(query.cursor, query.sort) if query.cursor else None
    q = _search_text(query)
    if not q:
        stmt = select(_orders).where(_o.shop_id == shop_id, *filters)
    else:
        branches = _search_branches(keyring, shop_id, q)
        if not branches:
            return None
        by_creation = query.sort.lstrip("-") == "created_at"
        found = [
            _term_page(shop_id, filters, b, query.sort.startswith("-"), after, query.limit + 1)
            if b.term is not None and by_creation
            else _branch_ids(shop_id, b)
            for b in branches
        ]
        # A member of a UNION cannot have its own ORDER BY and LIMIT on SQLite: each goes inside
        # a subquery of its own.
        ids = found[0] if len(found) == 1 else union(*(select(f.subquery().c[0]) for f in found))
        # "+ 0": the shop still scopes the rows (rule 4), but no index can be chosen for it, so
        # the database reads the orders by id from the union instead of walking all the shop's.
        stmt = select(_orders).where((_o.shop_id + 0) == shop_id, _o.id.in_(ids), *filters)
    if after is not None:
        stmt = stmt.where(_after(query.sort, *after))
    return stmt.order_by(*_ordering(query.sort)).limit(query.limit + 1)


def _cursor_for(sort: str, order: Row) -> str:
    value = getattr(order, sort.lstrip("-"))
    return encode_cursor([sort, value.isoformat() if isinstance(value, datetime) else value, order.id])


def list_orders(conn: Connection, keyring: Keyring, shop_id: int, timezone: str, query: OrderQuery) -> Page:
    """One page of the shop's orders, with their items and tags in two more queries (no N+1)."""
    stmt = page_statement(keyring, shop_id, timezone, query)
    if stmt is None:
        return Page([], {}, {}, None)
    rows = conn.execute(stmt).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    ids = [r.id for r in rows]
    items: dict[int, list[Row]] = {i: [] for i in ids}
    tags: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        item_rows = conn.execute(
            select(_items)
            .where(_items.c.shop_id == shop_id, _items.c.order_id.in_(ids))
            .order_by(_items.c.order_id, _items.c.position)
        )
        for item in item_rows:
            items[item.order_id].append(item)
        tag_rows = conn.execute(
            select(_tags.order_id, _tags.tag)
            .where(_tags.shop_id == shop_id, _tags.order_id.in_(ids))
            .order_by(_tags.order_id, _tags.tag)
        )
        for order_id, tag in tag_rows:
            tags[order_id].append(tag)
    return Page(rows, items, tags, _cursor_for(query.sort, rows[-1]) if more else None)


def matching_ids(conn: Connection, keyring: Keyring, shop_id: int, timezone: str, query: OrderQuery) -> list[int]:
    """The ids of the first ``query.limit`` orders the list would show (nothing else is read)."""
    stmt = page_statement(keyring, shop_id, timezone, query)
    if stmt is None:
        return []
    return list(conn.scalars(stmt.with_only_columns(_o.id).limit(query.limit)))
