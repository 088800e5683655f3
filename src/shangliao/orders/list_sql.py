"""The order list's SQL, built once per *shape* and reused with new values.

Building a SQLAlchemy statement for a filtered, searched page (a dozen comparisons, a union of
index walks) and having ``Connection.execute`` find it in its cache cost about five times the
SQL itself (bench/order_list.py). So a request is first described as plain data, a
:class:`Spec`: which conditions, in which order, with which values. Everything that changes the
SQL text (the kinds of conditions, how many statuses, the sort, whether there is a cursor, the
page size) is the spec's :attr:`~Spec.shape`; the values go in as bound parameters. The
statement for a shape is built and compiled once (:class:`~shangliao.storage.prepared.Prepared`)
and then only handed new values.

Every statement is scoped to the caller's shop (rule 4 of docs/architecture.md): ``:shop_id`` is always bound.
A member whose role sees only what is assigned to them (a *data scope*, auth/scope.py) has
``:scope_staff`` bound too. Their page walks ``ix_orders_shop_assignee`` (shop, assignee, created,
id) in page order, as the owner's walks ``ix_orders_shop_created``: their first page costs what the
owner's does, whatever the shop's size. "Mine or unassigned" is two such walks, each stopped after
a page, merged (an OR would make the database read and sort every row of both).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, or_, select, tuple_, union

from shangliao.customers.models import CustomerPhone
from shangliao.orders.models import Order, OrderSearchTerm, OrderTag
from shangliao.orders.payments import payment_status_sql
from shangliao.orders.search_terms import micros
from shangliao.orders.state import Status
from shangliao.storage.prepared import Prepared

# Table columns, not ORM attributes: one ORM attribute in a statement makes SQLAlchemy compile it
# and load its rows the ORM way.
_orders = Order.__table__
_o = _orders.c
_terms = OrderSearchTerm.__table__.c
_tags = OrderTag.__table__.c
_phones = CustomerPhone.__table__.c

_SHOP = bindparam("shop_id", type_=_o.shop_id.type)
_ME = bindparam("scope_staff", type_=_o.assignee_id.type)
_SORT_COLUMNS = {"created_at": _o.created_at, "updated_at": _o.updated_at, "total": _o.total}

Condition = tuple[str, tuple[Any, ...]]  # a kind from the tables below, and its values


def _customers_with(column: ColumnElement[bytes], value: BindParameter) -> ColumnElement[bool]:
    return _o.customer_id.in_(select(_phones.customer_id).where(_phones.shop_id == _SHOP, column == value))


# Each filter kind: its values (as bound parameters) -> a condition on ``orders``.
FILTERS: dict[str, Callable[..., ColumnElement[bool]]] = {
    "status_in": lambda *statuses: _o.status.in_(statuses),
    "not_draft": lambda: _o.status != Status.DRAFT.value,
    "not_archived": lambda: _o.archived_at.is_(None),
    "archived": lambda: _o.archived_at.is_not(None),
    "created_from": lambda v: _o.created_at >= v,
    "created_before": lambda v: _o.created_at < v,
    "created_to": lambda v: _o.created_at <= v,
    "amount_min": lambda v: _o.total >= v,
    "amount_max": lambda v: _o.total <= v,
    "channel": lambda v: _o.channel == v,
    "payment_status": lambda v: payment_status_sql() == v,
    # Few orders ask for an invoice: ix_orders_shop_invoice holds only theirs, in page order.
    "invoice": lambda v: _o.invoice_status == v,
    # Orders with an open after-sales request: ix_orders_shop_aftersales holds only theirs.
    "aftersales": lambda v: _o.aftersales_open > 0,
    "unassigned": lambda: _o.assignee_id.is_(None),
    "assignee": lambda v: _o.assignee_id == v,
    # The tag's orders from its index, rather than a probe for each order of the shop.
    "tag": lambda v: _o.id.in_(select(_tags.order_id).where(_tags.shop_id == _SHOP, _tags.tag == v)),
    "customer": lambda v: _o.customer_id == v,
}

# Each way a search text can match: a search term (the orders under it, optionally checked
# against the name), or a condition on ``orders`` that one of its indexes answers alone.
TERM_BRANCHES = frozenset({"term", "term_in_name"})
BRANCHES: dict[str, Callable[..., ColumnElement[bool]]] = {
    "term_in_name": lambda _term, pattern: _o.customer_name.icontains(pattern, escape="/"),
    "number_range": lambda low, high: and_(_o.number >= low, _o.number < high),
    "tracking": lambda v: _o.tracking_number == v,
    "phone": lambda v: _o.phone_hash == v,
    "phone_customer": lambda v: _customers_with(_phones.phone_hash, v),
    "last4": lambda v: _o.phone_last4_hash == v,
    "last4_customer": lambda v: _customers_with(_phones.last4_hash, v),
}


@dataclass(frozen=True)
class Spec:
    """One request for the list, as data: conditions and values, no SQL yet."""

    shop_id: int
    filters: tuple[Condition, ...]
    branches: tuple[Condition, ...] | None  # None: no search; empty: a search that cannot match
    sort: str
    after: tuple[Any, int] | None  # the cursor: the last row's sort value and id
    limit: int
    # A limited member's data scope: their staff id, and whether unassigned orders are theirs to
    # see too; None for a caller who sees the whole shop.
    scope: tuple[int, bool] | None = None

    @property
    def shape(self) -> tuple:
        """What decides the SQL text; equal shapes share one compiled statement."""
        return (
            tuple((kind, len(values)) for kind, values in self.filters),
            None if self.branches is None else tuple(kind for kind, _ in self.branches),
            self.sort,
            self.after is not None,
            self.limit,
            None if self.scope is None else self.scope[1],
        )

    def params(self) -> dict[str, Any]:
        values: dict[str, Any] = {"shop_id": self.shop_id}
        if self.scope is not None:
            values["scope_staff"] = self.scope[0]
        for i, (_, vals) in enumerate(self.filters):
            values.update((f"f{i}_{j}", v) for j, v in enumerate(vals))
        for i, (_, vals) in enumerate(self.branches or ()):
            values.update((f"b{i}_{j}", v) for j, v in enumerate(vals))
        if self.after is not None:
            value, last_id = self.after
            values["after_value"], values["after_id"] = value, last_id
            if isinstance(value, datetime):
                values["after_us"] = micros(value)
        return values


def _binds(prefix: str, i: int, values: tuple[Any, ...]) -> list[BindParameter]:
    return [bindparam(f"{prefix}{i}_{j}") for j in range(len(values))]


def _filter_sql(spec: Spec) -> list[ColumnElement[bool]]:
    return [FILTERS[kind](*_binds("f", i, vals)) for i, (kind, vals) in enumerate(spec.filters)]


def _scope_sql(spec: Spec) -> list[ColumnElement[bool]]:
    """The data scope as one condition (for statements that read few rows anyway)."""
    if spec.scope is None:
        return []
    mine = _o.assignee_id == _ME
    return [or_(mine, _o.assignee_id.is_(None)) if spec.scope[1] else mine]


def _narrow(spec: Spec) -> bool:
    """A filter whose own index finds few rows (a customer's orders, a tag's): the scope is then
    checked on those rather than walked."""
    return any(kind in ("customer", "tag") for kind, _ in spec.filters)


def _scope_halves(spec: Spec, filters: list[ColumnElement[bool]]) -> Select:
    """The ids of the first page of "mine" and of "unassigned", each one walk of
    ``ix_orders_shop_assignee`` stopped after a page: the page of both is among them."""
    halves = []
    for assignee in (_o.assignee_id == _ME, _o.assignee_id.is_(None)):
        half = select(_o.id).where(_o.shop_id == _SHOP, assignee, *filters)
        if spec.after is not None:
            half = half.where(_after(spec.sort))
        halves.append(half.order_by(*_ordering(spec.sort)).limit(spec.limit + 1))
    # As in page_statement: a member of a UNION needs a subquery of its own for ORDER BY/LIMIT.
    return union(*(select(h.subquery().c[0]) for h in halves))


def _branch_condition(i: int, kind: str, vals: tuple[Any, ...]) -> ColumnElement[bool] | None:
    return BRANCHES[kind](*_binds("b", i, vals)) if kind in BRANCHES else None


def _branch_ids(i: int, kind: str, vals: tuple[Any, ...]) -> Select:
    """Every order a branch finds, straight from its index, no other filter.

    A condition on ``orders`` stands alone so the database has one index to use for it (with the
    list's filters beside it, SQLite, which keeps no statistics by default, may pick the status
    index instead and read every completed order); the filters are applied to what it finds.
    """
    condition = _branch_condition(i, kind, vals)
    if kind not in TERM_BRANCHES:
        return select(_o.id).where(_o.shop_id == _SHOP, condition)
    stmt = select(_terms.order_id).where(_terms.shop_id == _SHOP, _terms.term == bindparam(f"b{i}_0"))
    if condition is not None:
        stmt = stmt.join(_orders, _o.id == _terms.order_id).where(condition)
    return stmt


def _term_page(
    spec: Spec, i: int, kind: str, vals: tuple[Any, ...], filters: list[ColumnElement[bool]]
) -> Select:
    """The ids of the first page of orders under a search term passing ``filters``, newest (or
    oldest) first, after the cursor.

    A term's orders come out of its index already in creation order, each joined to its order by
    primary key for the filters: a page reads about ``limit`` rows divided by the share of the
    term's orders that pass the filters, never every order with the term (a common surname in a
    big shop has tens of thousands).
    """
    stmt = (
        select(_terms.order_id)
        .join(_orders, _o.id == _terms.order_id)
        .where(_terms.shop_id == _SHOP, _terms.term == bindparam(f"b{i}_0"), _o.shop_id == _SHOP, *filters)
    )
    condition = _branch_condition(i, kind, vals)
    if condition is not None:
        stmt = stmt.where(condition)
    descending = spec.sort.startswith("-")
    if spec.after is not None:
        key = tuple_(_terms.created_us, _terms.order_id)
        start = tuple_(
            bindparam("after_us", type_=_terms.created_us.type), bindparam("after_id", type_=_o.id.type)
        )
        stmt = stmt.where(key < start if descending else key > start)
    ordering = (
        (_terms.created_us.desc(), _terms.order_id.desc())
        if descending
        else (_terms.created_us.asc(), _terms.order_id.asc())
    )
    return stmt.order_by(*ordering).limit(spec.limit + 1)


def _after(sort: str) -> ColumnElement[bool]:
    # A row value, not "a < v OR (a = v AND id < i)": both databases seek an index to it, so
    # page 500 starts where page 499 ended instead of skipping 10,000 rows.
    column = _SORT_COLUMNS[sort.lstrip("-")]
    key = tuple_(column, _o.id)
    start = tuple_(bindparam("after_value", type_=column.type), bindparam("after_id", type_=_o.id.type))
    return key < start if sort.startswith("-") else key > start


def _ordering(sort: str) -> tuple[Any, Any]:
    # The id breaks ties, so rows sharing a sort value keep one fixed place between pages.
    column = _SORT_COLUMNS[sort.lstrip("-")]
    return (column.desc(), _o.id.desc()) if sort.startswith("-") else (column.asc(), _o.id.asc())


def page_statement(spec: Spec) -> Select:
    """The one statement that reads a page of the list (for a spec whose search can match).

    Without a search it walks an index of ``orders`` in page order. With one, each way the text
    can match finds its orders from its own index: the orders of a phone, a tracking number or a
    number's day (a handful to a day's worth) all of them; the orders of a search term, when the
    list is in creation order, only its first page (see :func:`_term_page`). The page is then
    read from that union of ids, filtered and sorted.
    """
    filters = _filter_sql(spec)
    if spec.branches is None and spec.scope is not None and spec.scope[1] and not _narrow(spec):
        # "+ 0" as below: the rows are read by id from the two walks, not by another index.
        ids = _scope_halves(spec, filters)
        stmt = select(_orders).where((_o.shop_id + 0) == _SHOP, _o.id.in_(ids), *filters)
    elif spec.branches is None:
        stmt = select(_orders).where(_o.shop_id == _SHOP, *filters, *_scope_sql(spec))
    else:
        filters += _scope_sql(spec)  # what a search finds is few rows: filtered like the rest
        by_creation = spec.sort.lstrip("-") == "created_at"
        found = [
            _term_page(spec, i, kind, vals, filters)
            if kind in TERM_BRANCHES and by_creation
            else _branch_ids(i, kind, vals)
            for i, (kind, vals) in enumerate(spec.branches)
        ]
        # A member of a UNION cannot have its own ORDER BY and LIMIT on SQLite: each goes inside
        # a subquery of its own.
        ids = found[0] if len(found) == 1 else union(*(select(f.subquery().c[0]) for f in found))
        # "+ 0": the shop still scopes the rows (rule 4 of docs/architecture.md), but no index can be chosen for it, so
        # the database reads the orders by id from the union instead of walking all the shop's.
        stmt = select(_orders).where((_o.shop_id + 0) == _SHOP, _o.id.in_(ids), *filters)
    if spec.after is not None:
        stmt = stmt.where(_after(spec.sort))
    return stmt.order_by(*_ordering(spec.sort)).limit(spec.limit + 1)


def matching_statement(spec: Spec) -> Select:
    """Every order's id the spec matches, unpaged and by the simplest plan (a cross-check)."""
    stmt = select(_o.id).where(_o.shop_id == _SHOP, *_filter_sql(spec), *_scope_sql(spec))
    if spec.branches is None:
        return stmt
    return stmt.where(_o.id.in_(union(*(_branch_ids(i, k, v) for i, (k, v) in enumerate(spec.branches)))))


# Shapes are few (kinds of filters a person combines, times sorts); a flood of odd ones from a
# script only costs rebuilding, never unbounded memory.
_MAX_SHAPES = 512
_PAGES: dict[tuple, Prepared] = {}


def prepared_page(spec: Spec) -> Prepared:
    """The compiled page statement of the spec's shape, built the first time it is asked for."""
    shape = spec.shape
    found = _PAGES.get(shape)
    if found is None:
        if len(_PAGES) >= _MAX_SHAPES:
            _PAGES.clear()
        found = _PAGES[shape] = Prepared(page_statement(spec))
    return found
