"""What every assignment does besides setting ``assignee_id``: check who may assign whom, and
tell the new assignee (unless they took it themselves)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shangliao.assignment.rules import Target, check_assignee, check_may_assign
from shangliao.auth.actor import Actor
from shangliao.notifications import service as notifications

_KIND = {"order": "order_assigned", "conversation": "conversation_assigned"}


def check_assignment(
    session: Session, actor: Actor | None, shop_id: int, target: Target, current: int | None, new: int | None
) -> None:
    """403 when ``actor`` may not make this move, 404/422 when ``new`` may not take the row.
    ``actor`` None: the system (round-robin), which only assigns whom it chose among the able."""
    if current == new:
        return
    if actor is not None:
        check_may_assign(actor, current, new)
    check_assignee(session, shop_id, target, new)


def tell_assignee(
    session: Session,
    actor: Actor | None,
    shop_id: int,
    target: Target,
    target_id: int,
    assignee_id: int | None,
    data: dict[str, Any] | None = None,
) -> None:
    if assignee_id is None or (actor is not None and actor.staff_id == assignee_id):
        return
    kind = _KIND[target]
    told = notifications.recipients(session, shop_id, kind, assignee_id=assignee_id, only=[assignee_id])
    by = {"by": actor.staff_id} if actor is not None and actor.staff_id is not None else {}
    notifications.notify(session, shop_id, told, kind, target, target_id, {**(data or {}), **by})
