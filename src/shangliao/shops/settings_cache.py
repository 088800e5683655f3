"""One cached read of ``shops.settings`` per shop, shared by every setting kept there.

Hot paths ask for a shop's settings on every request (a new order reads its auto-assignment and
its workflow): each process keeps the JSON, and what each reader parsed out of it, for a few
seconds (like the caller cache, auth/caller_cache.py). A save drops the shop's entry at once
after commit (``forget_after_commit``) and tells other processes through the bus
(``shop.settings_changed``, handled by ``on_event``, which also drops the shop's cached callers); without a bus they see it within
``CACHE_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from shangliao.auth.caller_cache import SHOP_CHANGED_EVENT
from shangliao.events.log import DomainEvent, record
from shangliao.shops.models import Shop
from shangliao.storage.hooks import after_commit

T = TypeVar("T")

CACHE_SECONDS = 5.0


class _Entry:
    __slots__ = ("at", "parsed", "raw")

    def __init__(self, at: float, raw: dict[str, Any]) -> None:
        self.at = at
        self.raw = raw
        self.parsed: dict[Callable[[dict[str, Any]], Any], Any] = {}


_cache: dict[int, _Entry] = {}
_lock = threading.Lock()


def setting(session: Session | Connection, shop_id: int, parse: Callable[[dict[str, Any]], T]) -> T:
    """``parse(shop.settings)``, read and parsed at most once per shop every few seconds."""
    now = time.monotonic()
    with _lock:
        entry = _cache.get(shop_id)
    if entry is None or now - entry.at > CACHE_SECONDS:
        raw = session.scalar(select(Shop.settings).where(Shop.id == shop_id)) or {}
        entry = _Entry(now, raw)
        with _lock:
            _cache[shop_id] = entry
    try:
        return entry.parsed[parse]
    except KeyError:
        value = entry.parsed[parse] = parse(entry.raw)
        return value


def forget(shop_id: int) -> None:
    with _lock:
        _cache.pop(shop_id, None)


def clear() -> None:
    with _lock:
        _cache.clear()


def saved(session: Session, shop: Shop, key: str, value: Any) -> None:
    """Store ``value`` under ``key`` of the shop's settings and drop every process's copy once
    the transaction commits."""
    # A new dict: the JSON column notices an assignment, not a change inside the old one.
    shop.settings = {**(shop.settings or {}), key: value}
    session.flush()
    record(session, shop.id, [DomainEvent(SHOP_CHANGED_EVENT, "shop", shop.id, {"changed": [key]})])
    shop_id = shop.id
    after_commit(session, lambda: forget(shop_id))


def on_event(row: dict[str, Any]) -> None:
    """A bus handler: a shop's settings committed in another process."""
    if row.get("type") == SHOP_CHANGED_EVENT and row.get("shop_id") is not None:
        forget(int(row["shop_id"]))
