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
from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import Session, selectinload

from shangliao.core.crypto import Keyring
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_
from shangliao.core.money import MAX_AMOUNT
from shangliao.core.pagination import decode_cursor, decode_moment, encode_cursor
from shangliao.core.schemas import MAX_ID, StrictModel
from shangliao.customers.models import CustomerPhone
from shangliao.customers.pii import phone_search
from shangliao.orders.models import Order, OrderTag
from shangliao.orders.payments import PAYMENT_STATUSES, payment_status_sql
from shangliao.orders.schemas import Channel
from shangliao.orders.state import Status

SortKey = Literal["created_at", "-created_at", "updated_at", "-updated_at", "total", "-total"]
PaymentStatus = Literal[PAYMENT_STATUSES]  # type: ignore[valid-type]

_SORT_COLUMNS = {"created_at": Order.created_at, "updated_at": Order.updated_at, "total": Order.total}
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
    orders: list[Order]
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


def _search_clause(keyring: Keyring, shop_id: int, q: str) -> ColumnElement[bool]:
    """A whole mobile matches the order's address phone and the customer's phones; four digits
    match a phone's last four or the end of an order number; other text matches the start of an
    order number, a whole tracking number or part of the customer's name."""
    phone = phone_search(keyring, q)
    if phone is None:
        return or_(
            Order.number.startswith(q, autoescape=True),
            Order.tracking_number == q,
            Order.customer_name.icontains(q, autoescape=True),
        )
    kind, lookup = phone
    if kind == "full":
        customers = select(CustomerPhone.customer_id).where(
            CustomerPhone.shop_id == shop_id, CustomerPhone.phone_hash == lookup
        )
        return or_(Order.phone_hash == lookup, Order.customer_id.in_(customers))
    customers = select(CustomerPhone.customer_id).where(
        CustomerPhone.shop_id == shop_id, CustomerPhone.last4_hash == lookup
    )
    return or_(
        Order.phone_last4_hash == lookup,
        Order.customer_id.in_(customers),
        Order.number.endswith(q, autoescape=True),
    )


def is_full_phone(keyring: Keyring, q: str | None) -> bool:
    """Whether ``q`` is a whole mobile number: PII that must not travel in a URL (rule 12)."""
    found = phone_search(keyring, q) if q else None
    return found is not None and found[0] == "full"


def filtered(keyring: Keyring, shop_id: int, timezone: str, query: OrderQuery) -> Select[tuple[Order]]:
    """The shop's orders matching ``query``'s filters (no order, no page)."""
    stmt = select(Order).where(Order.shop_id == shop_id)
    if query.status:
        stmt = stmt.where(Order.status.in_([s.value for s in query.status]))
    else:
        stmt = stmt.where(Order.status != Status.DRAFT.value)
    if query.archived == "false":
        stmt = stmt.where(Order.archived_at.is_(None))
    elif query.archived == "true":
        stmt = stmt.where(Order.archived_at.is_not(None))
    if query.created_from is not None:
        start, _ = shop_moment(query.created_from, timezone, end=False)
        stmt = stmt.where(Order.created_at >= start)
    if query.created_to is not None:
        stop, exclusive = shop_moment(query.created_to, timezone, end=True)
        stmt = stmt.where(Order.created_at < stop if exclusive else Order.created_at <= stop)
    if query.amount_min is not None:
        stmt = stmt.where(Order.total >= query.amount_min)
    if query.amount_max is not None:
        stmt = stmt.where(Order.total <= query.amount_max)
    if query.channel is not None:
        stmt = stmt.where(Order.channel == query.channel)
    if query.payment_status is not None:
        stmt = stmt.where(payment_status_sql() == query.payment_status)
    if query.unassigned:
        stmt = stmt.where(Order.assignee_id.is_(None))
    elif query.assignee_id is not None:
        stmt = stmt.where(Order.assignee_id == query.assignee_id)
    if query.tag:
        stmt = stmt.where(
            exists().where(
                OrderTag.shop_id == shop_id, OrderTag.order_id == Order.id, OrderTag.tag == query.tag
            )
        )
    if query.customer_id is not None:
        stmt = stmt.where(Order.customer_id == query.customer_id)
    if query.q:
        stmt = stmt.where(_search_clause(keyring, shop_id, query.q))
    return stmt


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


def _after(sort: str, value: Any, last_id: int) -> ColumnElement[bool]:
    column = _SORT_COLUMNS[sort.lstrip("-")]
    if sort.startswith("-"):
        return or_(column < value, and_(column == value, Order.id < last_id))
    return or_(column > value, and_(column == value, Order.id > last_id))


def _cursor_for(sort: str, order: Order) -> str:
    value = getattr(order, sort.lstrip("-"))
    return encode_cursor([sort, value.isoformat() if isinstance(value, datetime) else value, order.id])


def list_orders(session: Session, keyring: Keyring, shop_id: int, timezone: str, query: OrderQuery) -> Page:
    """One page of the shop's orders, items and tags loaded in two more queries (no N+1)."""
    stmt = filtered(keyring, shop_id, timezone, query)
    if query.cursor:
        stmt = stmt.where(_after(query.sort, *_cursor_values(query.cursor, query.sort)))
    column = _SORT_COLUMNS[query.sort.lstrip("-")]
    # The id breaks ties, so rows sharing a sort value keep one fixed place between pages.
    ordering = (
        (column.desc(), Order.id.desc()) if query.sort.startswith("-") else (column.asc(), Order.id.asc())
    )
    rows = list(
        session.scalars(
            stmt.order_by(*ordering)
            .limit(query.limit + 1)
            .options(selectinload(Order.items), selectinload(Order.tag_rows))
        )
    )
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return Page(rows, _cursor_for(query.sort, rows[-1]) if more else None)
