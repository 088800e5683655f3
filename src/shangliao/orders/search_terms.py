"""The order list's search terms: what is written with an order, and what a search looks up.

A portable inverted index (``order_search_terms``), the same on SQLite and PostgreSQL and plain
to migrate, instead of SQLite FTS5 on one side and ``pg_trgm`` on the other. Each term is one
letter saying what it indexes, then the text:

- ``n`` + each character and each pair of adjacent characters of the customer's name, ASCII
  letters lowered. A search of one or two characters is one term; a longer one reads the term of
  its first pair and checks the whole text against the name (so any substring matches, and
  "王小明" still finds 王小明 among the 王小… orders);
- ``#`` + each start of the order number up to its day (``2``, ``26``, … ``261126``); a longer
  start is a short range of the number's own unique index (one day's orders at most);
- ``e`` + the number's last four digits (four digits typed also mean a phone's last four).

Phones and addresses never go in here (rule 12 of docs/architecture.md); they are found by keyed hash on ``orders``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from shangliao.orders.models import OrderSearchTerm
from shangliao.storage.prepared import Prepared

NAME, NUMBER, NUMBER_END = "n", "#", "e"
# Starts of the number up to this length are terms; longer ones are a range of the number index.
NUMBER_PREFIX_TERMS = 6

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

_terms = OrderSearchTerm.__table__
_INSERT = Prepared(insert(_terms))


def micros(moment: datetime) -> int:
    """``created_at`` as whole microseconds since 1970 (exact: no float on the way)."""
    return (moment - _EPOCH) // _MICROSECOND


def fold(text: str) -> str:
    """ASCII letters lowered, nothing else: what SQLite's ``lower()`` does, on both databases."""
    return text.translate(_ASCII_LOWER)


def name_terms(name: str) -> set[str]:
    """Each character and each adjacent pair of the name, leaving out blanks."""
    text = fold(name)
    return {NAME + g for g in (*_singles(text), *_pairs(text))}


def _singles(text: str) -> list[str]:
    return [c for c in text if not c.isspace()]


def _pairs(text: str) -> list[str]:
    return [a + b for a, b in pairwise(text) if not (a.isspace() or b.isspace())]


def number_start_terms(number: str) -> list[str]:
    """``#2``, ``#26`` … up to ``#261126``: the same for every order of a day."""
    return [NUMBER + number[:k] for k in range(1, min(len(number), NUMBER_PREFIX_TERMS) + 1)]


def number_terms(number: str) -> list[str]:
    terms = number_start_terms(number)
    if len(number) >= 4:
        terms.append(number_end_term(number[-4:]))
    return terms


def terms_for(number: str, customer_name: str) -> list[str]:
    return [*number_terms(number), *sorted(name_terms(customer_name))]


def rows_for(
    shop_id: int, order_id: int, created_at: datetime, number: str, customer_name: str
) -> list[dict[str, Any]]:
    us = micros(created_at)
    return [
        {"shop_id": shop_id, "term": term, "created_us": us, "order_id": order_id}
        for term in terms_for(number, customer_name)
    ]


def index_order(
    session: Session, shop_id: int, order_id: int, created_at: datetime, number: str, customer_name: str
) -> None:
    """Write a new order's terms (one ``executemany``), in the transaction that creates it."""
    _INSERT.executemany(session.connection(), rows_for(shop_id, order_id, created_at, number, customer_name))


# --- what a search text looks up ------------------------------------------------------------------


@dataclass(frozen=True)
class NameLookup:
    term: str
    # The whole text must also be part of the name (when it is longer than one term holds).
    check: str | None


def name_lookup(q: str) -> NameLookup | None:
    """The term that finds names containing ``q``, and the check the rows must still pass."""
    text = fold(q)
    if len(text) <= 2 and not any(c.isspace() for c in text):
        return NameLookup(NAME + text, None)
    pairs, singles = _pairs(text), _singles(text)
    if pairs:
        return NameLookup(NAME + pairs[0], q)
    return NameLookup(NAME + singles[0], q) if singles else None


def number_start_term(q: str) -> str | None:
    """The term for an order number starting with ``q`` when the start is short enough to have one."""
    return NUMBER + q if len(q) <= NUMBER_PREFIX_TERMS else None


def number_range(q: str) -> tuple[str, str]:
    """``[low, high)``: every string starting with ``q`` (digits), as a range of the number index."""
    return q, q[:-1] + chr(ord(q[-1]) + 1)


def number_end_term(q: str) -> str:
    return NUMBER_END + q
