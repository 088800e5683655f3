"""Round-robin: a new pending order (or a new conversation) goes to the next online member whose
role may take it, in turn by member id, after the one who got the last (a pointer per shop and
kind, moved under its row lock in the same transaction). Nobody online: it stays unassigned."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shangliao.assignment import presence
from shangliao.assignment.members import members
from shangliao.assignment.models import AssignPointer
from shangliao.assignment.rules import TAKES, Target
from shangliao.assignment.settings import ROUND_ROBIN, rule_for


def next_after(candidates: list[int], last: int | None) -> int | None:
    """The first id after ``last`` in ascending ``candidates``, wrapping around."""
    if not candidates:
        return None
    if last is not None:
        for staff_id in candidates:
            if staff_id > last:
                return staff_id
    return candidates[0]


def _locked_pointer(session: Session, shop_id: int, target: str) -> AssignPointer:
    """The pointer row, made on first use and locked until commit (two new orders committing at
    once on PostgreSQL take turns here, so they never go to the same member by accident)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(AssignPointer)
        .values(shop_id=shop_id, target=target, last_staff_id=None)
        .on_conflict_do_nothing(index_elements=["shop_id", "target"])
    )
    return session.scalar(
        select(AssignPointer)
        .where(AssignPointer.shop_id == shop_id, AssignPointer.target == target)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def pick(session: Session, shop_id: int, target: Target, *, forced: bool = False) -> int | None:
    """Whom a new ``target`` goes to under the shop's setting (None: off, or nobody online), and
    move the pointer to them. ``forced`` (an automation rule's "assign round-robin"): take turns
    even while the shop's own setting is off, among the roles it names."""
    rule = rule_for(session, shop_id, target)
    if rule.mode != ROUND_ROBIN and not forced:
        return None
    online = presence.online_ids(session, shop_id)
    if not online:
        return None
    permission = TAKES[target]
    candidates = [
        m.id
        for m in members(session, shop_id, online).values()
        if m.may_take(permission) and rule.admits(m.role, m.role_id)
    ]
    if not candidates:
        return None
    pointer = _locked_pointer(session, shop_id, target)
    chosen = next_after(candidates, pointer.last_staff_id)
    pointer.last_staff_id = chosen
    session.flush()
    return chosen
