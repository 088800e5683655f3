"""This process's live sockets, fed from the shop's event log once changes have committed.

The bus (in-process, or Redis between processes) only says *that* a shop's log moved: a row may
reach this process before an earlier one, since each commit publishes from its own thread. The
hub does not trust that order. For every shop with a socket here it keeps the last seq it has
delivered, and its single pump task reads the log after it, in seq order: the log is gapless
because seqs commit in order per shop (the counter row's lock), so nothing is skipped, nothing is
sent twice. Each event is offered only to the shop's staff sockets and that one customer's.

The common case needs no read at all: a message committed by this process arrives on the local
bus in order, and ``recent`` holds it, so the pump shows it straight from memory. Anything it
cannot account for that way (a row missing between, a message from another process, an order
change) is read from the log, from the first seq it could not.

A revoked credential (logout, a token revoked, a new password) is a row of the log too, read in
the same order: the staff sockets opened with it are ended at once, here and in every process
that hears the shop's log move (rule 20 of docs/architecture.md). A member's new role
(``auth.staff_changed``) ends their staff sockets too, with "try later": the console reconnects
and is shown what the new role may see. So is a customer merged into
another (a device linked to the customer it claimed to be): that customer's devices are told to
reconnect (1013), and come back as the customer they now belong to, in that conversation.

Typing notices are not in the log; they pass through as they come (a few held, the oldest
dropped: they are worthless a moment later).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from anyio import to_thread

from shangliao.auth.caller_cache import STAFF_CHANGED_EVENT
from shangliao.auth.service import CREDENTIAL_REVOKED
from shangliao.chat.cards import SEALED_ADDRESS
from shangliao.core.crypto import Keyring
from shangliao.customers.merge import MERGED
from shangliao.events.bus import RESYNC, Bus
from shangliao.realtime import recent
from shangliao.realtime.feed import (
    POLICY,
    TRY_LATER,
    Subscriber,
    head_seq,
    log_page,
    message_payload,
    payloads,
)
from shangliao.storage.database import Database
from shangliao.storefront.claims import DETACHED as DEVICES_REVOKED

log = logging.getLogger(__name__)

PAGE = 500  # log rows read in one trip; a shop with more waiting gets another turn at once
TRANSIENT_HELD = 1000
RECEIVED_HELD = 10_000  # rows held per shop for the memory path


class Hub:
    def __init__(self, db: Database, bus: Bus, keyring: Keyring) -> None:
        self.db, self.keyring, self._bus = db, keyring, bus
        self._recent = recent.window(db.writer)
        # Indexed so an event is offered only to those it may concern.
        self._staff: dict[int, set[Subscriber]] = {}
        self._customers: dict[tuple[int, int | None], set[Subscriber]] = {}
        self._sockets_per_shop: Counter[int] = Counter()
        self._delivered: dict[int, int] = {}  # shop -> last seq handed to its sockets here
        self._moved: set[int] = set()  # shops whose log moved since the pump last looked
        self._received: dict[int, dict[int, dict[str, Any]]] = {}  # shop -> seq -> row, not yet shown
        self._signalled: dict[int, int] = {}  # shop -> highest seq heard of
        self._transient: deque[dict[str, Any]] = deque(maxlen=TRANSIENT_HELD)
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pump: asyncio.Task | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def _bind(self) -> None:
        """Listen to the bus and run the pump on the current event loop, from the first socket
        on (a server has one loop; a test client may start one per connection or per session,
        and the pump follows it)."""
        if self._unsubscribe is None:
            self._unsubscribe = self._bus.subscribe(self.on_event)
        loop = asyncio.get_running_loop()
        if loop is self._loop and self._pump is not None and not self._pump.done():
            return
        self._loop, self._wake = loop, asyncio.Event()
        self._pump = loop.create_task(self._run(), name="shangliao-hub")

    def close(self) -> None:
        """Stop listening (the app shuts down); a later socket starts it again."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None

    async def attach(self, subscriber: Subscriber) -> Callable[[], None]:
        """Called on the event loop by each new socket, before it reads its backlog; returns its
        detach. From here on the hub hands it every event after the shop's delivered seq; the
        backlog, read later, holds everything up to it."""
        self._bind()
        shop_id = subscriber.shop_id
        if shop_id not in self._delivered:
            head = await to_thread.run_sync(self._head, shop_id)
            self._delivered.setdefault(shop_id, head)  # another socket of the shop may have set it
        if subscriber.side == "staff":
            index, key = self._staff, shop_id
        else:
            index, key = self._customers, (shop_id, subscriber.customer_id)
        index.setdefault(key, set()).add(subscriber)  # type: ignore[attr-defined]
        self._sockets_per_shop[shop_id] += 1
        return lambda: self._detach(index, key, subscriber)

    def _detach(self, index: dict, key: Any, subscriber: Subscriber) -> None:
        group = index.get(key)
        if group is None or subscriber not in group:
            return
        group.discard(subscriber)
        if not group:
            del index[key]  # the index holds who is connected now, not everyone ever
        shop_id = subscriber.shop_id
        self._sockets_per_shop[shop_id] -= 1
        if self._sockets_per_shop[shop_id] <= 0:
            del self._sockets_per_shop[shop_id]
            self._delivered.pop(shop_id, None)  # the next socket starts from the head again
            self._received.pop(shop_id, None)
            self._signalled.pop(shop_id, None)

    def on_event(self, row: dict[str, Any]) -> None:
        """From any thread: a committed row (or a typing notice) was published."""
        loop = self._loop
        if row.get("type") == RESYNC["type"] and loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._resync)
            return
        if loop is None or self._sockets_per_shop.get(row.get("shop_id"), 0) <= 0:
            return  # nobody here listens to that shop (a stale answer is harmless: see _run)
        with contextlib.suppress(RuntimeError):  # the loop has closed (shutdown, a test client's)
            loop.call_soon_threadsafe(self._arrived, row)

    def _arrived(self, row: dict[str, Any]) -> None:
        if row.get("seq") is None:
            self._transient.append(row)
        else:
            shop_id, seq = row["shop_id"], row["seq"]
            self._moved.add(shop_id)
            self._signalled[shop_id] = max(seq, self._signalled.get(shop_id, 0))
            if shop_id in self._delivered and "type" in row:
                held = self._received.setdefault(shop_id, {})
                if len(held) < RECEIVED_HELD:  # beyond that, the log is read instead
                    held[seq] = row
        if self._wake is not None:
            self._wake.set()

    def _resync(self) -> None:
        """The bus may have missed rows (Redis was away): every shop with sockets here re-reads
        its log after the last seq delivered, as if one more row had been heard of."""
        for shop_id, after in self._delivered.items():
            self._moved.add(shop_id)
            self._signalled[shop_id] = max(after + 1, self._signalled.get(shop_id, 0))
        if self._wake is not None:
            self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._turn()
            except Exception:  # a bad row must not stop every socket's deliveries
                log.exception("delivering events failed")

    async def _turn(self) -> None:
        transient, moved = list(self._transient), self._moved
        self._transient.clear()
        self._moved = set()
        self._offer(transient)
        for shop_id in moved:
            after = self._delivered.get(shop_id)
            if after is None:
                continue  # its sockets have all gone
            after = self._from_memory(shop_id, after)
            if self._signalled.get(shop_id, 0) <= after:
                continue  # everything heard of was shown from memory
            rows, shown, last, full = await to_thread.run_sync(self._load, shop_id, after)
            if self._delivered.get(shop_id) != after:
                continue  # everyone left and someone came back meanwhile: start again from the head
            self._delivered[shop_id] = last
            self._forget(shop_id, last)
            self._end_sockets(shop_id, rows)
            self._offer(shown)
            if full:  # more waiting: another turn right away
                self._arrived({"shop_id": shop_id, "seq": last + 1})

    def _forget(self, shop_id: int, last: int) -> None:
        held = self._received.get(shop_id, {})
        for seq in [s for s in held if s <= last]:
            del held[seq]

    def _from_memory(self, shop_id: int, after: int) -> int:
        """Show the shop's rows that follow ``after`` without a gap and that memory can render
        (messages this process committed); returns the last seq shown."""
        held = self._received.get(shop_id, {})
        shown = []
        while (row := held.get(after + 1)) is not None and row["type"] == "message.created":
            found = self._recent.look_up(row["entity_id"])
            if found is None:
                break
            sent, customer_id, assignee_id = found
            if SEALED_ADDRESS in (sent.data or {}):
                break  # its address opens with its conversation's key, read off the loop (_load)
            if sent.kind != "recall":  # a recall entry shows as the recalled message's own event
                base = {"shop_id": shop_id, "seq": row["seq"], "type": row["type"]}
                shown.append(base | message_payload(None, self.keyring, sent, customer_id, assignee_id))
            after += 1
        self._delivered[shop_id] = after
        self._forget(shop_id, after)
        self._offer(shown)
        return after

    def _offer(self, shown: list[dict[str, Any]]) -> None:
        for payload in shown:
            shop_id = payload.get("shop_id")
            audience = [
                *self._staff.get(shop_id, ()),  # type: ignore[arg-type]
                *self._customers.get((shop_id, payload.get("customer_id")), ()),  # type: ignore[arg-type]
            ]
            for subscriber in audience:
                if subscriber.may_see(payload):
                    subscriber.offer(payload)

    def _end_sockets(self, shop_id: int, rows: list[dict[str, Any]]) -> None:
        """End the shop's sockets here that ``rows`` took the ground from: staff sockets whose
        credential was revoked, devices of a customer merged into another."""
        revoked: set[int] = set()
        changed: set[int] = set()  # members whose role changed: they reconnect with the new one
        for row in rows:
            if row["type"] == CREDENTIAL_REVOKED:
                revoked.update((row.get("data") or {}).get("credential_ids", ()))
            elif row["type"] == STAFF_CHANGED_EVENT:
                changed.add(row["entity_id"])
            elif row["type"] in (MERGED, DEVICES_REVOKED):
                # Revoked devices find their token refused when they reconnect; the others come back.
                for subscriber in self._customers.get((shop_id, row["entity_id"]), ()):
                    subscriber.end(TRY_LATER, "customer merged")
        if revoked:
            for subscriber in self._staff.get(shop_id, ()):
                if subscriber.credential_id in revoked:
                    subscriber.end(POLICY, "signed out")
        if changed:
            for subscriber in self._staff.get(shop_id, ()):
                if subscriber.staff_id in changed:
                    subscriber.end(TRY_LATER, "role changed")

    def _head(self, shop_id: int) -> int:
        with self.db.read() as session:
            return head_seq(session, shop_id)

    def _load(self, shop_id: int, after: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int, bool]:
        """The shop's log rows after ``after``, what its sockets are shown of them, the last seq
        read, and whether the page was full."""
        with self.db.read() as session:
            rows = log_page(session, shop_id, after, PAGE)
            last = rows[-1]["seq"] if rows else after
            return rows, payloads(session, self.keyring, rows), last, len(rows) == PAGE
