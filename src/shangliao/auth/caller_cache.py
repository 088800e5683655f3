"""Who a credential belongs to, remembered for a few seconds (rule 16 of docs/architecture.md).

Every authenticated request needs its caller before it may queue work for the single writer: a
junk or revoked token must be refused on a read, never inside a write unit (a failing unit rolls
its whole group-commit batch back and replays it with savepoints). Looking the credential up for
every request costs a read and a worker-thread trip; this cache answers repeat callers from memory.

A cached caller must never outlive its credential:
- every revocation records ``auth.credential_revoked`` with the credential ids; the app subscribes
  :meth:`CallerCache.on_event` to the bus, so each process drops them once the revocation commits;
- revocations this process commits also drop their entries directly after commit (the bus may
  deliver from a queue, a moment later);
- a missed bus message (another process on SQLite has no bus; Redis can drop a publication)
  keeps a revoked credential alive for at most :data:`TTL_SECONDS`;
- an entry is checked against the credential's expiry time on every hit.

A caller carries its member's role, so a change of role (or of a custom role's grant) drops that
member's callers the same way: ``auth.staff_changed`` through the bus, and directly after commit in
the process that made it (auth/team.py).

A caller carries its shop's settings (the time zone orders are dated in), so a change of them
drops the shop's callers the same way: ``shop.settings_changed`` through the bus, and directly after
commit in the process that made it.

Keys are the SHA-256 of 256-bit random secrets, so one process-wide cache serves every database
the process talks to (tests use two); dropping by credential id may drop an unrelated entry of
another database with the same id, which costs that caller one extra read and nothing else.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shangliao.auth.actor import Actor
from shangliao.core import clock

TTL_SECONDS = 5.0
MAX_CALLERS = 20_000  # live credentials remembered; the least recently used go first
MAX_UNKNOWN = 2_000  # secrets known to be invalid, so that one client repeating one is cheap
REVOKED_EVENT = "auth.credential_revoked"
SHOP_CHANGED_EVENT = "shop.settings_changed"
STAFF_CHANGED_EVENT = "auth.staff_changed"


@dataclass(frozen=True)
class Found:
    """A live credential: its caller, its id (what revocations name) and when it expires."""

    actor: Actor
    credential_id: int
    expires_at: datetime | None


class _Lru:
    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[bytes, tuple[float, Any]] = OrderedDict()

    def get(self, key: bytes, now: float) -> tuple[bool, Any]:
        hit = self.items.get(key)
        if hit is None:
            return False, None
        if hit[0] <= now:
            del self.items[key]
            return False, None
        self.items.move_to_end(key)
        return True, hit[1]

    def put(self, key: bytes, value: Any, until: float) -> None:
        self.items[key] = (until, value)
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)


class CallerCache:
    def __init__(self, ttl: float = TTL_SECONDS, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._callers = _Lru(MAX_CALLERS)
        self._unknown = _Lru(MAX_UNKNOWN)
        self._by_id: dict[int, set[bytes]] = {}
        self._by_shop: dict[int, set[bytes]] = {}
        self._by_staff: dict[int, set[bytes]] = {}
        # Bumped by every revocation: a lookup that began before one must not store what it read.
        self.generation = 0

    def get(self, key: bytes) -> tuple[bool, Actor | None]:
        """``(True, actor)`` or ``(True, None)`` (known invalid) from memory; ``(False, None)``:
        look it up."""
        known, found = self.get_found(key)
        return known, (found.actor if found else None)

    def get_found(self, key: bytes) -> tuple[bool, Found | None]:
        """:meth:`get` with the credential's id and expiry (what a socket keeps)."""
        now = self._monotonic()
        with self._lock:
            hit, found = self._callers.get(key, now)
            if hit:
                if found.expires_at is not None and found.expires_at <= clock.now():
                    self._forget_key(key, found)
                    return True, None
                return True, found
            hit, _ = self._unknown.get(key, now)
            return (True, None) if hit else (False, None)

    def put(self, key: bytes, found: Found | None, *, seen: int) -> None:
        """Remember what a lookup begun at generation ``seen`` read (nothing if a revocation
        committed meanwhile: the read may predate it)."""
        until = self._monotonic() + self.ttl
        with self._lock:
            if seen != self.generation:
                return
            if found is None:
                self._unknown.put(key, None, until)
                return
            self._callers.put(key, found, until)
            self._by_id.setdefault(found.credential_id, set()).add(key)
            self._by_shop.setdefault(found.actor.shop_id, set()).add(key)
            if found.actor.staff_id is not None:
                self._by_staff.setdefault(found.actor.staff_id, set()).add(key)
            if len(self._by_id) > 2 * MAX_CALLERS:  # ids of entries evicted meanwhile
                self._by_id = self._live(self._by_id)
                self._by_shop = self._live(self._by_shop)
                self._by_staff = self._live(self._by_staff)

    def _live(self, index: dict[int, set[bytes]]) -> dict[int, set[bytes]]:
        live = self._callers.items.keys()
        return {i: keys & live for i, keys in index.items() if keys & live}

    def forget(self, credential_ids: Iterable[int]) -> None:
        """Drop the callers of these credentials: they were revoked."""
        with self._lock:
            self.generation += 1
            for cred_id in credential_ids:
                for key in self._by_id.pop(cred_id, ()):
                    self._callers.items.pop(key, None)

    def forget_shop(self, shop_id: int) -> None:
        """Drop every caller of this shop: its settings changed (the zone its orders are dated in)."""
        with self._lock:
            self.generation += 1  # a lookup begun before the change may hold the old settings
            for key in self._by_shop.pop(shop_id, ()):
                self._callers.items.pop(key, None)

    def forget_staff(self, staff_ids: Iterable[int]) -> None:
        """Drop every caller of these members: their role (or its grant) changed."""
        with self._lock:
            self.generation += 1  # a lookup begun before the change may hold the old role
            for staff_id in staff_ids:
                for key in self._by_staff.pop(staff_id, ()):
                    self._callers.items.pop(key, None)

    def on_event(self, row: dict[str, Any]) -> None:
        """A bus handler: revocations and shop settings committed anywhere drop their callers here."""
        if row.get("type") == REVOKED_EVENT:
            ids = (row.get("data") or {}).get("credential_ids") or []
            self.forget(int(i) for i in ids)
        elif row.get("type") == SHOP_CHANGED_EVENT and row.get("shop_id") is not None:
            self.forget_shop(int(row["shop_id"]))
        elif row.get("type") == STAFF_CHANGED_EVENT:
            staff_id = (row.get("data") or {}).get("staff_id")
            if staff_id is not None:
                self.forget_staff([int(staff_id)])

    def clear(self) -> None:
        with self._lock:
            self._callers.items.clear()
            self._unknown.items.clear()
            self._by_id.clear()
            self._by_shop.clear()
            self._by_staff.clear()

    def _forget_key(self, key: bytes, found: Found) -> None:
        self._callers.items.pop(key, None)
        self._by_id.get(found.credential_id, set()).discard(key)
        self._by_shop.get(found.actor.shop_id, set()).discard(key)
        if found.actor.staff_id is not None:
            self._by_staff.get(found.actor.staff_id, set()).discard(key)


# One per process: see the module docstring for why one serves every database.
CALLERS = CallerCache()
