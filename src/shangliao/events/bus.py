"""Where committed events go next: handlers in this process, or every process through Redis.

Rows are handed over in wire form (JSON-ready: times as ISO strings), the same for both buses, so a
consumer cannot tell which one it is attached to.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from shangliao.events.publisher import BACKOFF_MAX, BACKOFF_START, Outbox, brief

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
CHANNEL_PREFIX = "shangliao:events:"
RESYNC_CHANNEL = f"{CHANNEL_PREFIX}resync"
# Told to every handler when events may have been missed: re-read each shop's log after the last
# seq you delivered. No shop and no seq, so a consumer filtering by shop simply passes it by.
RESYNC: dict[str, Any] = {"type": "bus.resync", "shop_id": None, "seq": None}
SOCKET_TIMEOUT = 1.0  # seconds: a hung Redis costs the publisher thread this much, nobody else
PING_EVERY = 5.0  # seconds between the listener's PINGs when nothing else arrives


def to_wire(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


class Bus(Protocol):
    def subscribe(self, handler: Handler) -> Callable[[], None]: ...
    def publish_many(self, rows: list[dict[str, Any]]) -> None: ...
    def status(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


class _Handlers:
    def __init__(self) -> None:
        self._handlers: list[Handler] = []
        self._lock = threading.Lock()

    def add(self, handler: Handler) -> Callable[[], None]:
        with self._lock:
            self._handlers.append(handler)

        def remove() -> None:
            with self._lock:
                if handler in self._handlers:
                    self._handlers.remove(handler)

        return remove

    def deliver(self, row: dict[str, Any]) -> None:
        with self._lock:
            handlers = list(self._handlers)
        for handler in handlers:
            try:
                handler(row)
            except Exception:  # one broken consumer must not starve the others
                log.exception("event handler failed for %s", row.get("type"))


class MemoryBus:
    """One process: committed rows go straight to this process's handlers."""

    def __init__(self) -> None:
        self._handlers = _Handlers()

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        return self._handlers.add(handler)

    def publish_many(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self._handlers.deliver(to_wire(row))

    def status(self) -> dict[str, Any]:
        return {"kind": "memory", "degraded": False}

    def close(self) -> None:
        pass


class RedisBus:
    """Several processes: rows are published on a per-shop channel; every process listens to all.

    Pub/sub is fire-and-forget, which is enough because the durable event log stays the source of
    truth: a consumer that missed something replays "events after N" from the database. Whenever
    something may have been missed (the listener lost its connection, or a publisher dropped rows
    while Redis was away), handlers get a :data:`RESYNC` notice and re-read every shop's log.

    Neither direction may hold up the application (rule 18 of docs/architecture.md): publishing
    goes through an :class:`~shangliao.events.publisher.Outbox`, and the listener reconnects on its
    own thread, with backoff, for as long as the process lives.
    """

    def __init__(self, url: str, *, ping_every: float = PING_EVERY) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No silent retries inside redis-py: the pub/sub client would reconnect and re-subscribe
        # behind our back, and the handlers would never learn that they must catch up.
        options = {
            "socket_connect_timeout": SOCKET_TIMEOUT,
            "socket_timeout": SOCKET_TIMEOUT,
            "retry": Retry(NoBackoff(), 0),
        }
        self._redis = redis.Redis.from_url(url, **options)
        self._listen_redis = redis.Redis.from_url(url, **options)
        self._handlers = _Handlers()
        self._outbox = Outbox(self._send, name="shangliao-redis-publisher")
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._start_lock = threading.Lock()
        self._ping_every = ping_every
        self.listening = False
        self.reconnects = 0

    def publish_many(self, rows: list[dict[str, Any]]) -> None:
        self._outbox.put(rows)

    def _send(self, rows: list[dict[str, Any]], resync: bool) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for row in rows:
            pipe.publish(f"{CHANNEL_PREFIX}{row['shop_id']}", json.dumps(to_wire(row), ensure_ascii=False))
        if resync:  # after the rows: a consumer that re-reads the log then finds them all there
            pipe.publish(RESYNC_CHANNEL, json.dumps(RESYNC))
        pipe.execute()

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        remove = self._handlers.add(handler)
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._listen, name="shangliao-redis-bus", daemon=True)
                self._thread.start()
        self._ready.wait(timeout=2 * SOCKET_TIMEOUT)  # the first attempt, whatever its outcome
        return remove

    def _listen(self) -> None:
        backoff, missed = BACKOFF_START, False
        while not self._stop.is_set():
            pubsub = self._listen_redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
                self.listening = True
                self._ready.set()
                if missed:  # whatever was published while we were away is only in the log now
                    self.reconnects += 1
                    log.warning("event fan-out restored: listening to redis again; catching up")
                    self._handlers.deliver(dict(RESYNC))
                backoff, missed = BACKOFF_START, False
                self._hear(pubsub)
            except Exception as exc:
                if self.listening or not missed:
                    log.warning("event fan-out degraded: redis listener lost (%s); reconnecting", brief(exc))
                self.listening, missed = False, True
                self._ready.set()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
            finally:
                with contextlib.suppress(Exception):
                    pubsub.close()
        self.listening = False

    def _hear(self, pubsub: Any) -> None:
        """Deliver what arrives until the connection fails. A Redis that hangs does not close the
        connection, it only goes quiet: a PING every ``ping_every`` seconds that gets no answer
        within three of them counts as a lost connection (reconnect, then resync)."""
        heard = pinged = time.monotonic()
        while not self._stop.is_set():
            message = pubsub.get_message(timeout=min(0.5, self._ping_every))
            now = time.monotonic()
            if message:
                heard = now
                if message.get("type") == "pmessage":
                    self._handlers.deliver(json.loads(message["data"]))
            if now - pinged >= self._ping_every:
                pubsub.ping()
                pinged = now
            if now - heard > 3 * self._ping_every:
                raise TimeoutError("redis stopped answering")

    def status(self) -> dict[str, Any]:
        listening = self.listening or self._thread is None  # nobody subscribed: nothing to hear
        state = {"kind": "redis", "listening": listening, "reconnects": self.reconnects}
        state |= self._outbox.status()
        state["degraded"] = not (listening and state["publishing"])
        return state

    def close(self) -> None:
        self._outbox.close()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._redis.close()
        self._listen_redis.close()


def make_bus(redis_url: str | None) -> MemoryBus | RedisBus:
    return RedisBus(redis_url) if redis_url else MemoryBus()
