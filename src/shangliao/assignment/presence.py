"""Who is online: a member seen in the last ``ONLINE_WITHIN`` (a console request, or their open
staff socket's periodic credential check, web/ws.py), in any process.

Each process writes a member's ``last_seen_at`` at most once per ``WRITE_EVERY``; the write is
its own small unit submitted after the answer went out (web/presence.py), so no request waits on
the writer for it, and a busy member costs the writer one short statement a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shangliao.assignment.models import StaffPresence
from shangliao.core import clock
from shangliao.storage.database import Database

log = logging.getLogger(__name__)

WRITE_EVERY = 60.0  # seconds between two writes of one member's presence by one process
ONLINE_WITHIN = timedelta(minutes=3)  # the socket checks every 30 s: three missed checks = away

_last_written: dict[int, float] = {}
_lock = threading.Lock()


def due(staff_id: int, *, now: float | None = None) -> bool:
    """True (once per ``WRITE_EVERY``) when this process should write ``staff_id``'s presence."""
    now = time.monotonic() if now is None else now
    with _lock:
        last = _last_written.get(staff_id)
        if last is not None and now - last < WRITE_EVERY:
            return False
        _last_written[staff_id] = now
        return True


def forget() -> None:
    """Tests: every member is due again."""
    with _lock:
        _last_written.clear()


def do_touch(session: Session, shop_id: int, staff_id: int, at: datetime | None = None) -> None:
    """Record that ``staff_id`` is online now (one row per member, made on first sight)."""
    at = at or clock.now()
    changed = session.execute(
        update(StaffPresence)
        .where(StaffPresence.staff_id == staff_id, StaffPresence.shop_id == shop_id)
        .values(last_seen_at=at)
    ).rowcount
    if not changed:
        session.add(StaffPresence(staff_id=staff_id, shop_id=shop_id, last_seen_at=at))
        session.flush()


async def touch(db: Database, shop_id: int, staff_id: int) -> None:
    """Write the member's presence if due (the staff socket's periodic check awaits this)."""
    if due(staff_id):
        await _write(db, shop_id, staff_id)


async def _write(db: Database, shop_id: int, staff_id: int) -> None:
    try:
        await db.submit(lambda session: do_touch(session, shop_id, staff_id))
    except Exception:  # presence is a hint: never let it fail what the member was doing
        with _lock:
            _last_written.pop(staff_id, None)
        log.warning("presence of staff %s not written", staff_id, exc_info=True)


def online_ids(session: Session, shop_id: int, now: datetime | None = None) -> set[int]:
    """The members of the shop seen within ``ONLINE_WITHIN``."""
    since = (now or clock.now()) - ONLINE_WITHIN
    return set(
        session.scalars(
            select(StaffPresence.staff_id).where(
                StaffPresence.shop_id == shop_id, StaffPresence.last_seen_at >= since
            )
        )
    )
