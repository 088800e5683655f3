"""Where committed events go next: handlers in this process, or every process through Redis.

Rows are handed over in wire form (JSON-ready: times as ISO strings), the same for both buses, so a
consumer cannot tell which one it is attached to.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
CHANNEL_PREFIX = "shangliao:events:"


def to_wire(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


class Bus(Protocol):
    def subscribe(self, handler: Handler) -> Callable[[], None]: ...
    def publish_many(self, rows: list[dict[str, Any]]) -> None: ...
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

    def close(self) -> None:
        pass


class RedisBus:
    """Several processes: rows are published on a per-shop channel; every process listens to all.

    Pub/sub is fire-and-forget, which is enough because the durable event log stays the source of
    truth: a consumer that missed something replays "events after N" from the database.
    """

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self._handlers = _Handlers()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._start_lock = threading.Lock()

    def publish_many(self, rows: list[dict[str, Any]]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for row in rows:
            pipe.publish(f"{CHANNEL_PREFIX}{row['shop_id']}", json.dumps(to_wire(row), ensure_ascii=False))
        pipe.execute()

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        remove = self._handlers.add(handler)
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._listen, name="shangliao-redis-bus", daemon=True)
                self._thread.start()
        self._ready.wait(timeout=10)
        return remove

    def _listen(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
        self._ready.set()
        try:
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message and message.get("type") == "pmessage":
                    self._handlers.deliver(json.loads(message["data"]))
        except Exception:
            log.exception("redis event listener stopped")
        finally:
            pubsub.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._redis.close()


def make_bus(redis_url: str | None) -> MemoryBus | RedisBus:
    return RedisBus(redis_url) if redis_url else MemoryBus()
