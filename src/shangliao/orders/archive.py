"""Archiving finished orders in bulk (`shangliao orders archive --older-than 30d`).

Orders completed or cancelled before the cutoff get ``archived_at``, each through
``actions.do_archive`` so it has its timeline row and its event like a manual archive (actor:
the system, or the shop's automation for its auto-archive). Work goes in chunks
(``orders/chunked.py``); running it again simply carries on.

An archived order can be restored (:func:`do_restore`): it goes back to the list under the status
it kept while archived, and its timeline says who brought it back. A restored order gets
``restored_at`` and the job never archives it again (someone wanted it on the list, and a final
order does not change any more, so "until it changes" would mean the same); archiving it by hand
still works.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import and_, or_
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.core import clock
from shangliao.core.errors import Conflict
from shangliao.core.i18n import N_
from shangliao.orders.actions import do_archive
from shangliao.orders.chunked import CHUNK, each_in_chunks
from shangliao.orders.models import Order
from shangliao.orders.state import Status
from shangliao.orders.timeline import record_change
from shangliao.storage.database import Database


def archivable(shop_id: int | None, cutoff: datetime):
    """Completed or cancelled, not yet archived, never restored, with no open after-sales request,
    and finished before ``cutoff`` (a SQL predicate)."""
    clause = and_(
        Order.archived_at.is_(None),
        Order.restored_at.is_(None),
        Order.aftersales_open == 0,  # an open after-sales request is settled first
        or_(
            and_(Order.status == Status.COMPLETED.value, Order.completed_at < cutoff),
            and_(Order.status == Status.CANCELLED.value, Order.cancelled_at < cutoff),
        ),
    )
    return clause if shop_id is None else and_(Order.shop_id == shop_id, clause)


def archive_older_than(
    db: Database,
    shop_id: int | None,
    cutoff: datetime,
    *,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
    actor: Actor | None = None,
) -> int:
    """Archive the final orders of ``shop_id`` (every shop when ``None``) finished before ``cutoff``,
    in chunks (orders/chunked.py), as ``actor`` (the system when None, the shop's automation for
    its own auto-archive). Returns how many were archived; ``progress`` is called with the running
    total after each chunk (the CLI's progress bar).
    """
    if cutoff.tzinfo is None:
        raise ValueError("cutoff must be timezone-aware")
    return each_in_chunks(
        db, archivable(shop_id, cutoff), lambda session, order: do_archive(session, actor, order),
        chunk=chunk, progress=progress,
    )  # fmt: skip


def check_restorable(order: Order) -> None:
    if order.archived_at is None:
        raise Conflict("order.not_archived", N_("This order is not archived."))


def do_restore(session: Session, actor: Actor | None, order: Order) -> Order:
    """Bring an archived order back to the list. Archiving never changed its status, so it returns
    under the status it had; the triggers move its count from the archived tab back to that one."""
    check_restorable(order)
    order.archived_at = None
    order.restored_at = clock.now()
    record_change(session, order, actor, "restored", data={"status": order.status})
    return order
