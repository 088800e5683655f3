"""Finding orders: filters, text search and keyset pagination for the order list.

Every query starts from the caller's shop (rule 4 of docs/architecture.md). Archived orders and drafts stay out of the
default list: archived ones are done with, and a draft is not yet an order anyone has to act on
(rule 7 of docs/architecture.md). Pages are keyset-paginated on (sort value, id), so page 500 costs what page 1 costs and
rows with the same sort value are neither skipped nor repeated between pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from sqlalchemy import Connection, bindparam, select

from shangliao.auth.scope import Viewer
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_
from shangliao.core.money import MAX_AMOUNT
from shangliao.core.pagination import decode_cursor, decode_moment, encode_cursor
from shangliao.core.schemas import MAX_ID, StrictModel
from shangliao.customers.pii import phone_search
from shangliao.orders import list_sql, search_terms
from shangliao.orders.couriers import TRACKING_RE
from shangliao.orders.list_sql import Condition, Spec
from shangliao.orders.models import OrderItem, OrderTag
from shangliao.orders.payments import PAYMENT_STATUSES
from shangliao.orders.schemas import Channel
from shangliao.orders.state import Status
from shangliao.storage.prepared import Prepared

SortKey = Literal["created_at", "-created_at", "updated_at", "-updated_at", "total", "-total"]
PaymentStatus = Literal[PAYMENT_STATUSES]  # type: ignore[valid-type]

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
    """The order list's query string. Unknown parameters are refused (rule 14 of docs/architecture.md): a misspelt filter
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
    invoice: Literal["requested", "issued"] | None = Field(
        None, description="`requested`: an invoice asked for, not issued yet (待开票); `issued`: 已开票."
    )
    aftersales: Literal["open"] | None = Field(
        None, description="`open`: only orders with an open after-sales request (售后)."
    )
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
    """One page of the list: each order's columns as a named tuple (read by attribute, like an
    ORM object), with its items (in their order) and tags by order id."""

    orders: list[Any]
    items: dict[int, list[Any]]
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


def _like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern matching itself only (``/`` escapes; see ``list_sql``)."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _search_branches(keyring: Keyring, q: str) -> list[Condition]:
    """A whole mobile matches the order's address phone and the customer's phones; four digits
    match a phone's last four or the end of an order number; other text matches the start of an
    order number, a whole tracking number or part of the customer's name."""
    phone = phone_search(keyring, q)
    if phone is None:
        branches: list[Condition] = []
        name = search_terms.name_lookup(q)
        if name is not None:
            branches.append(
                ("term_in_name", (name.term, _like_pattern(name.check)))
                if name.check
                else ("term", (name.term,))
            )
        if q.isascii() and q.isdigit():  # order numbers are digits only
            term = search_terms.number_start_term(q)
            branches.append(
                ("term", (term,)) if term is not None else ("number_range", search_terms.number_range(q))
            )
        if TRACKING_RE.match(q):
            branches.append(("tracking", (q,)))
        return branches
    # One branch per key of the ring: while a rotation runs, a row may still carry an older
    # key's hash (core/keys_rotate.py); after it there is one key and one branch again.
    kind, lookups = phone
    if kind == "full":
        return [(branch, (h,)) for h in lookups for branch in ("phone", "phone_customer")]
    return [
        *((branch, (h,)) for h in lookups for branch in ("last4", "last4_customer")),
        ("term", (search_terms.number_end_term(q),)),
    ]


def is_full_phone(keyring: Keyring, q: str | None) -> bool:
    """Whether ``q`` is a whole mobile number: PII that must not travel in a URL (rule 12 of docs/architecture.md)."""
    found = phone_search(keyring, q) if q else None
    return found is not None and found[0] == "full"


def _filters(timezone: str, query: OrderQuery) -> list[Condition]:
    """``query``'s filters on the shop's ``orders``, besides the shop itself and the text search."""
    where: list[Condition] = []
    if query.status:
        where.append(("status_in", tuple(s.value for s in query.status)))
    else:
        where.append(("not_draft", ()))
    if query.archived == "false":
        where.append(("not_archived", ()))
    elif query.archived == "true":
        where.append(("archived", ()))
    if query.created_from is not None:
        start, _ = shop_moment(query.created_from, timezone, end=False)
        where.append(("created_from", (start,)))
    if query.created_to is not None:
        stop, exclusive = shop_moment(query.created_to, timezone, end=True)
        where.append(("created_before" if exclusive else "created_to", (stop,)))
    optional = (
        ("amount_min", query.amount_min),
        ("amount_max", query.amount_max),
        ("channel", query.channel),
        ("payment_status", query.payment_status),
        ("invoice", query.invoice),
        ("aftersales", query.aftersales),
        ("assignee", query.assignee_id),
        ("tag", query.tag or None),
        ("customer", query.customer_id),
    )
    where.extend((kind, (value,)) for kind, value in optional if value is not None)
    if query.unassigned:
        where.append(("unassigned", ()))
    return where


def spec_for(keyring: Keyring, who: Viewer, timezone: str, query: OrderQuery) -> Spec:
    """``query`` as a :class:`~shangliao.orders.list_sql.Spec` for the caller's shop, within the
    caller's data scope (auth/scope.py)."""
    q = (query.q or "").strip()
    after = _cursor_values(query.cursor, query.sort) if query.cursor else None
    return Spec(
        shop_id=who.shop_id,
        # A member without a staff id (none today) would see nothing rather than everything.
        scope=(who.staff_id or 0, who.sees_unassigned) if who.limited else None,
        filters=tuple(_filters(timezone, query)),
        branches=tuple(_search_branches(keyring, q)) if q else None,
        sort=query.sort,
        after=after,
        limit=query.limit,
    )


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


def _cursor_for(sort: str, order: Any) -> str:
    value = getattr(order, sort.lstrip("-"))
    return encode_cursor([sort, value.isoformat() if isinstance(value, datetime) else value, order.id])


class _Lines:
    """A page's rows from a table of order lines (items, tags), in one statement compiled once per
    page size: ``order_id IN (:o0, … :oN)`` within the shop."""

    def __init__(self, table: Any, columns: list[Any], order_by: tuple[Any, ...]) -> None:
        self.table, self.columns, self.order_by = table, columns, order_by
        self._by_count: dict[int, Prepared] = {}  # at most one per page size (1 … 101)

    def _statement(self, count: int) -> Prepared:
        found = self._by_count.get(count)
        if found is None:
            c = self.table.c
            ids = [bindparam(f"o{i}", type_=c.order_id.type) for i in range(count)]
            shop = bindparam("shop_id", type_=c.shop_id.type)
            stmt = (
                select(*self.columns).where(c.shop_id == shop, c.order_id.in_(ids)).order_by(*self.order_by)
            )
            found = self._by_count[count] = Prepared(stmt)
        return found

    def of(self, conn: Connection, shop_id: int, order_ids: list[int]) -> dict[int, list[Any]]:
        params = {f"o{i}": order_id for i, order_id in enumerate(order_ids)} | {"shop_id": shop_id}
        found: dict[int, list[Any]] = {order_id: [] for order_id in order_ids}
        for row in self._statement(len(order_ids)).rows(conn, params):
            found[row.order_id].append(row)
        return found


_items = OrderItem.__table__
_tags = OrderTag.__table__
_ITEMS = _Lines(_items, [_items], (_items.c.order_id, _items.c.position))
_TAGS = _Lines(_tags, [_tags.c.order_id, _tags.c.tag], (_tags.c.order_id, _tags.c.tag))


def list_orders(conn: Connection, keyring: Keyring, who: Viewer, timezone: str, query: OrderQuery) -> Page:
    """One page of the shop's orders ``who`` may see, with their items and tags in two more
    queries (no N+1)."""
    shop_id = who.shop_id
    spec = spec_for(keyring, who, timezone, query)
    if spec.branches == ():
        return Page([], {}, {}, None)
    rows = list_sql.prepared_page(spec).rows(conn, spec.params())
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    if not rows:
        return Page([], {}, {}, None)
    ids = [r.id for r in rows]
    tags = {order_id: [t.tag for t in found] for order_id, found in _TAGS.of(conn, shop_id, ids).items()}
    return Page(
        rows, _ITEMS.of(conn, shop_id, ids), tags, _cursor_for(query.sort, rows[-1]) if more else None
    )


def matching_ids(
    conn: Connection, keyring: Keyring, who: Viewer, timezone: str, query: OrderQuery
) -> list[int]:
    """The ids of the first ``query.limit`` orders the list would show (nothing else is read)."""
    spec = spec_for(keyring, who, timezone, query)
    if spec.branches == ():
        return []
    rows = list_sql.prepared_page(spec).rows(conn, spec.params())
    return [r.id for r in rows[: query.limit]]


def all_matching_ids(
    conn: Connection, keyring: Keyring, who: Viewer, timezone: str, query: OrderQuery
) -> set[int]:
    """Every order ``query`` matches, unpaged, by the simplest plan: what the pages must add up to."""
    spec = spec_for(keyring, who, timezone, query)
    if spec.branches == ():
        return set()
    return set(conn.scalars(list_sql.matching_statement(spec), spec.params()))
