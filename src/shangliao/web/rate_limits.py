"""Rate limits for what anyone may call without an account (the shop page's sign-up).

Counted in Redis when ``SHANGLIAO_REDIS_URL`` is set, so every process shares one count; otherwise
in this process (one process is all SQLite runs).

A Redis that is down or hung must not turn a sign-in or a socket connect into a 500 (or a wait):
with short socket timeouts, a failed count falls back to counting in this process, for a while,
before Redis is tried again. Limits are then per process, looser by the number of processes, which
beats refusing everyone; ``/readyz`` and the log say so.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from limits import errors, parse, storage, strategies

from shangliao.core.errors import TooManyRequests
from shangliao.core.i18n import N_

log = logging.getLogger(__name__)

REDIS_TIMEOUT = 0.5  # seconds a count may wait for Redis before this process counts alone
RETRY_REDIS_AFTER = 5.0  # seconds counted in this process before Redis is tried again


class RateLimits:
    def __init__(self, redis_url: str | None) -> None:
        self._shared: strategies.MovingWindowRateLimiter | None = None
        if redis_url:
            store = storage.RedisStorage(
                redis_url,
                wrap_exceptions=True,
                socket_connect_timeout=REDIS_TIMEOUT,
                socket_timeout=REDIS_TIMEOUT,
            )
            self._shared = strategies.MovingWindowRateLimiter(store)
        self._local = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self._fallback_until = 0.0  # monotonic time until which Redis is not asked
        self._lock = threading.Lock()

    @property
    def shared(self) -> bool:
        """Counted in Redis (a check may wait on the network: keep it off the event loop)."""
        return self._shared is not None

    @property
    def degraded(self) -> bool:
        return self._shared is not None and time.monotonic() < self._fallback_until

    def status(self) -> dict[str, object]:
        kind = "memory" if self._shared is None else "redis"
        return {"kind": kind, "degraded": self.degraded}

    def check(self, rule: str, *key: str, count: bool = True, cost: int = 1) -> None:
        """Count one attempt of ``key`` against ``rule`` ("30/hour"); refuse it (429) when over.
        ``count=False`` only asks whether ``key`` is over already (counted elsewhere, e.g. failures).
        ``cost``: what the attempt weighs (a print of 50 orders is 50), refused whole past the rule."""
        item = parse(rule)
        limiter = self._local if self._shared is None or self.degraded else self._shared
        try:
            allowed = (limiter.hit if count else limiter.test)(item, *key, cost=cost)
            reset = None if allowed else limiter.get_window_stats(item, *key).reset_time
        except errors.StorageError as exc:
            self._fall_back(exc)
            limiter = self._local
            allowed = (limiter.hit if count else limiter.test)(item, *key, cost=cost)
            reset = None if allowed else limiter.get_window_stats(item, *key).reset_time
        if allowed:
            return
        wait = max(1, math.ceil(reset - time.time()))
        raise TooManyRequests(
            "rate.limited",
            N_("Too many attempts. Try again in {seconds} seconds."),
            retry_after=wait,
            seconds=wait,
        )

    def _fall_back(self, exc: errors.StorageError) -> None:
        with self._lock:
            first = not self.degraded
            self._fallback_until = time.monotonic() + RETRY_REDIS_AFTER
        if first:
            cause = exc.storage_error if hasattr(exc, "storage_error") else exc
            log.warning(
                "rate limits degraded: redis unreachable (%s); counting in this process",
                type(cause).__name__,
            )
