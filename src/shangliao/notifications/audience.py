"""Who may be told of a new order, kept for a few seconds per shop and process.

Every new pending order tells the shop's members (notifications/service.py): reading the members,
their roles and their preferences for each order would add a statement to the hottest path for a
list that changes a few times a month. Like the caller cache (auth/caller_cache.py), an entry
lives ``SECONDS`` at most and is dropped at once when a change is heard of: a member's role,
activity or credentials (``auth.*`` events on the bus, from any process) or their preferences
(here, after commit). Only the hot paths read it (a new pending order, a payment recorded:
``service.cached_recipients``); every other notification reads afresh.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_
from sqlalchemy.orm import Session

from shangliao.assignment.members import Member, member_from, member_query
from shangliao.auth.models import Staff
from shangliao.notifications.models import NotificationPreference

SECONDS = 5.0


@dataclass(frozen=True)
class Preferences:
    muted: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()

    def wants(self, kind: str, status: str | None = None) -> bool:
        if kind in self.muted:
            return False
        return kind != "order_status" or status in self.statuses


Audience = list[tuple[Member, Preferences]]


def audience(session: Session, shop_id: int, only: Iterable[int] | None = None) -> Audience:
    """The shop's members (only ``only``) with their preferences, in one query: a new order's
    notifications are on its hot path."""
    pref = NotificationPreference
    query = member_query(shop_id, only, pref.muted, pref.statuses).outerjoin(
        pref, and_(pref.staff_id == Staff.id, pref.shop_id == shop_id)
    )
    return [
        (member_from(row), Preferences(frozenset(row[-2] or ()), frozenset(row[-1] or ())))
        for row in session.execute(query)
    ]


class AudienceCache:
    def __init__(self) -> None:
        self._by_shop: dict[int, tuple[float, Audience]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, shop_id: int) -> Audience:
        now = time.monotonic()
        with self._lock:
            found = self._by_shop.get(shop_id)
        if found is not None and now - found[0] <= SECONDS:
            return found[1]
        fresh = audience(session, shop_id)
        with self._lock:
            self._by_shop[shop_id] = (now, fresh)
        return fresh

    def forget(self, shop_id: int) -> None:
        with self._lock:
            self._by_shop.pop(shop_id, None)

    def on_event(self, row: dict[str, Any]) -> None:
        """A bus handler: a change to a shop's members or their credentials drops its entry."""
        if str(row.get("type", "")).startswith("auth.") and row.get("shop_id") is not None:
            self.forget(int(row["shop_id"]))

    def clear(self) -> None:
        with self._lock:
            self._by_shop.clear()


AUDIENCE = AudienceCache()
