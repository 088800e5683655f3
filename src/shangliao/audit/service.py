"""Reading the audit log: the shop's acts newest first, filtered and keyset-paged like the order
list (core/pagination.py), so a page deep in a long log costs what the first one does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.audit.acts import label
from shangliao.audit.models import AuditEntry
from shangliao.auth.models import Staff
from shangliao.core.pagination import bad_cursor, decode_cursor, encode_cursor
from shangliao.core.schemas import MAX_ID, StrictModel
from shangliao.orders.listing import shop_moment

ACT_PATTERN = r"^[a-z0-9_]+(\.[a-z0-9_]+)*\.?$"


class AuditQuery(StrictModel):
    """The audit log's filters. Unknown parameters are refused (rule 14 of docs/architecture.md)."""

    staff_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Acts by (or, for sign-ins, as) this member."
    )
    act: str | None = Field(
        None,
        max_length=64,
        pattern=ACT_PATTERN,
        description="An act (`auth.signed_in`), or a prefix ending in a dot (`auth.`, `team.`) for all under it.",
    )
    date_from: date | None = Field(None, description="From the start of this day, in the shop's time zone.")
    date_to: date | None = Field(None, description="To the end of this day, in the shop's time zone.")
    cursor: str | None = Field(None, max_length=300, description="`next_cursor` of the previous page.")
    limit: int = Field(50, ge=1, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> AuditQuery:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")
        return self


@dataclass(frozen=True)
class AuditPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def _after_id(cursor: str) -> int:
    (last_id,) = decode_cursor(cursor, 1)
    if not isinstance(last_id, int) or isinstance(last_id, bool):
        raise bad_cursor()
    return last_id


def _escaped(prefix: str) -> str:
    """``prefix`` as a LIKE pattern matching itself only (act codes hold ``_``, a LIKE wildcard)."""
    return prefix.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def list_audit(session: Session, shop_id: int, timezone: str, query: AuditQuery) -> AuditPage:
    """One page of the shop's audit log, newest first (rule 4: always scoped by ``shop_id``)."""
    entry = AuditEntry
    stmt = (
        select(entry, Staff.display_name)
        .outerjoin(Staff, Staff.id == entry.staff_id)
        .where(entry.shop_id == shop_id)
        .order_by(entry.id.desc())
        .limit(query.limit + 1)
    )
    if query.staff_id is not None:
        stmt = stmt.where(entry.staff_id == query.staff_id)
    if query.act:
        if query.act.endswith("."):
            stmt = stmt.where(entry.act.like(_escaped(query.act), escape="/"))
        else:
            stmt = stmt.where(entry.act == query.act)
    if query.date_from is not None:
        stmt = stmt.where(entry.at >= shop_moment(query.date_from, timezone, end=False)[0])
    if query.date_to is not None:
        stmt = stmt.where(entry.at < shop_moment(query.date_to, timezone, end=True)[0])
    if query.cursor:
        stmt = stmt.where(entry.id < _after_id(query.cursor))
    rows = session.execute(stmt).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    names = _staff_names(session, shop_id, {row.target_id for row, _ in rows if row.target_type == "staff"})
    items = [
        entry_dict(row, name, names.get(row.target_id) if row.target_type == "staff" else None)
        for row, name in rows
    ]
    return AuditPage(items, encode_cursor([rows[-1][0].id]) if more else None)


def _staff_names(session: Session, shop_id: int, ids: set[int | None]) -> dict[int, str]:
    """The display names of the members a page's acts were done to (one query per page)."""
    ids.discard(None)
    if not ids:
        return {}
    rows = session.execute(
        select(Staff.id, Staff.display_name).where(Staff.shop_id == shop_id, Staff.id.in_(ids))
    )
    return {staff_id: name for staff_id, name in rows}


def entry_dict(row: AuditEntry, who: str | None, target_name: str | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at,
        "act": row.act,
        "label": label(row.act),
        "staff_id": row.staff_id,
        "who": who,
        "actor_type": row.actor_type,
        "target_type": row.target_type,
        "target_id": row.target_id,
        "target_name": target_name,
        "data": row.data or {},
        "address": row.address,
    }


def members(session: Session, shop_id: int) -> list[tuple[int, str]]:
    """The shop's members (active or not: the log outlives them), for the member filter."""
    rows = session.execute(
        select(Staff.id, Staff.display_name)
        .where(Staff.shop_id == shop_id)
        .order_by(Staff.display_name, Staff.id)
    )
    return [(staff_id, name) for staff_id, name in rows]
