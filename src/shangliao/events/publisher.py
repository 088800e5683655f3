"""Publishing without blocking a commit (rule 18 of docs/architecture.md).

The after-commit hook runs on the thread that committed; on SQLite that is the one writer thread,
so a Redis that hangs for seconds there stalls every write in the shop. Instead the hook only puts
the rows on a bounded in-memory queue, and one publisher thread per process drains it to Redis
with short socket timeouts. When Redis is gone or slow the queue fills and further rows are
dropped and counted, never waited for: the durable event log is the source of truth, so once a
publish succeeds again the publisher announces a *resync* and every consumer re-reads the log
after what it last delivered (nothing published meanwhile is missed, only late).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Rows = list[dict[str, Any]]
CAPACITY = 10_000  # rows waiting to be published; beyond that they are dropped (and counted)
BATCH = 500  # rows sent in one round trip
BACKOFF_START, BACKOFF_MAX = 0.1, 2.0


class Outbox:
    """A bounded queue drained by its own thread through ``send(rows, resync)``.

    ``send`` raises when the rows could not be published; ``resync`` is true when rows were lost
    since the last successful send (dropped on a full queue, or a failed batch), so the receiving
    side must re-read the log instead of trusting that it heard everything.
    """

    def __init__(self, send: Callable[[Rows, bool], None], *, capacity: int = CAPACITY, name: str) -> None:
        self._send = send
        self._capacity = capacity
        self._queue: deque[dict[str, Any]] = deque()
        self._cond = threading.Condition()
        self._stop = False
        # Losses not yet announced by a successful resync send. A count, not a flag: a send covers
        # the losses it saw when its batch was taken; one that happens while it is on the wire
        # (after Redis took it, before we clear) must survive to be announced by the next one.
        self._losses = 0
        self.dropped = 0
        self.failed = 0
        self.healthy = True
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, rows: Rows) -> None:
        """Queue ``rows``; never blocks on the network (the caller may be holding up every write)."""
        with self._cond:
            if self._stop or len(self._queue) + len(rows) > self._capacity:
                self.dropped += len(rows)
                self._losses += 1  # wakes the publisher too: the loss itself must be announced
            else:
                self._queue.extend(rows)
            self._cond.notify()

    def status(self) -> dict[str, Any]:
        with self._cond:
            queued = len(self._queue)
        return {
            "publishing": self.healthy,
            "queued": queued,
            "dropped": self.dropped,
            "failed": self.failed,
            "last_error": self.last_error,
        }

    def _take(self) -> tuple[Rows, int] | None:
        """The next batch and the losses it announces (0: none)."""
        with self._cond:
            while not self._queue and not self._stop and not self._losses:
                self._cond.wait()
            if self._stop and not self._queue:
                return None
            batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
            return batch, self._losses

    def _run(self) -> None:
        backoff = BACKOFF_START
        while (taken := self._take()) is not None:
            batch, covered = taken
            try:
                self._send(batch, covered > 0)
            except Exception as exc:
                with self._cond:
                    self.failed += len(batch)
                    self._losses += 1
                if self.healthy:
                    log.warning("event fan-out degraded: publishing failed (%s); retrying", brief(exc))
                self.healthy, self.last_error = False, brief(exc)
                # Wait before the next try so a dead Redis costs one attempt per backoff, not per row.
                with self._cond:
                    self._cond.wait_for(lambda: self._stop, timeout=backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            with self._cond:
                # Only what this send announced; later losses wait their turn (close() may have
                # zeroed the count meanwhile, hence the floor).
                self._losses = max(0, self._losses - covered)
            if not self.healthy:
                log.warning("event fan-out restored: publishing again")
            self.healthy, self.last_error, backoff = True, None, BACKOFF_START

    def close(self, timeout: float = 2.0) -> None:
        """Stop taking rows; publish what is queued if Redis answers within ``timeout``."""
        with self._cond:
            self._stop = True
            self._losses = 0  # nobody is left to announce a resync to from here
            self._cond.notify_all()
        self._thread.join(timeout=timeout)


def brief(exc: BaseException) -> str:
    """The error's class and first line: enough for the operator, no payload echoed."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200]
