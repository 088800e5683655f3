"""Where committed events go next. In-process for one process; Redis fan-out comes with chat."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]


class MemoryBus:
    """Synchronous in-process fan-out of committed event-log rows to subscribers."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []
        self._lock = threading.Lock()

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        with self._lock:
            self._handlers.append(handler)

        def unsubscribe() -> None:
            with self._lock:
                if handler in self._handlers:
                    self._handlers.remove(handler)

        return unsubscribe

    def publish_many(self, rows: list[dict[str, Any]]) -> None:
        with self._lock:
            handlers = list(self._handlers)
        for row in rows:
            for handler in handlers:
                try:
                    handler(row)
                except Exception:
                    log.exception("event handler failed for %s", row.get("type"))
