"""``record_audit``: the one way any area writes to the audit log, inside the caller's unit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from shangliao.audit.models import AuditEntry
from shangliao.core import clock

if TYPE_CHECKING:
    from shangliao.auth.actor import Actor


def actor_type_of(actor: Actor | None) -> str:
    """The audit log's actor type: a console session is "staff", a token "api", else "system"
    (the shop's automation included)."""
    if actor is None or actor.via == "automation":
        return "system"
    return "staff" if actor.via == "session" else "api"


def record_audit(
    session: Session,
    shop_id: int,
    act: str,
    *,
    actor: Actor | None = None,
    staff_id: int | None = None,
    actor_type: str | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    data: dict[str, Any] | None = None,
    address: str | None = None,
) -> AuditEntry:
    """Append one act (a dotted code, labelled in audit/acts.py) to the shop's audit log.

    Runs in the caller's unit of work, so the act commits or rolls back with the change it
    records (rule 1). ``data`` must hold ids, codes and key names only: never a phone, an
    address, a password or a token (the log is read by everyone holding ``audit.read``).
    ``actor`` gives the staff id and actor type; without one, ``staff_id`` and ``actor_type``
    say who ("cli" for an operator's command, "system" by default).
    """
    entry = AuditEntry(
        shop_id=shop_id,
        at=clock.now(),
        act=act,
        staff_id=actor.staff_id if actor is not None else staff_id,
        actor_type=actor_type
        or (actor_type_of(actor) if actor is not None else ("staff" if staff_id else "system")),
        target_type=target_type,
        target_id=target_id,
        data=dict(data or {}),
        address=address,
    )
    session.add(entry)
    return entry
